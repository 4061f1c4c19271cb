/**
 * `infra apply` and `infra destroy`: execute a fresh plan idempotently. Only resources tagged as ours are written
 * or deleted; foreign ones are reported and left alone. Partial PutTargets/RemoveTargets failures are retried with
 * bounded backoff and then reported rather than thrown.
 */
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  type EventBridgeClient,
  PutRuleCommand,
  type PutRuleCommandInput,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type Tag,
  TagResourceCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { ReasonedError } from "../../shared/errors";
import { logger } from "../../shared/log";
import { EVENTBRIDGE_BATCH_LIMIT } from "./contract";
import type { InfraDefinitions, RuleDefinition, TargetDefinition } from "./definitions";
import { awsError } from "./observe";
import { type InfraPlan, planDestroy, planInfra, type RuleChange } from "./plan";
import { chunk, type EntryFailure, type RetryOptions, retryOptions, sendWithRetry } from "./retry";

export type ApplyOptions = Partial<RetryOptions>;

/** A target entry EventBridge still refused after every retry. */
export interface FailedTargetEntry {
  readonly rule: string;
  readonly eventBusName: string;
  readonly targetId: string;
  readonly operation: "PutTargets" | "RemoveTargets";
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface ApplyResult {
  /** The plan that was executed. */
  readonly plan: InfraPlan;
  /** Human-readable log of the writes made, in order. */
  readonly performed: readonly string[];
  readonly failed: readonly FailedTargetEntry[];
  /** Foreign resources that were seen and deliberately not touched. */
  readonly leftAlone: readonly string[];
  /** False when some entry still failed; the caller should exit non-zero. */
  readonly ok: boolean;
}

/**
 * Converges EventBridge to `defs`: creates the bus if missing, puts rules (tagged ours) and targets, removes
 * targets and rules of ours that are no longer defined. Running it twice makes no writes the second time.
 * @throws ReasonedError `InvalidInfraDefinitions` before any AWS call, or `EventBridgeCallFailed` when a call
 * itself fails (details carry what was already performed).
 */
export async function applyInfra(
  client: EventBridgeClient,
  defs: InfraDefinitions,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return executePlan(client, await planInfra(client, defs), retryOptions(options));
}

/** Removes our rules (and their targets) and our bus when nothing foreign remains on it. Foreign ones stay. */
export async function destroyInfra(
  client: EventBridgeClient,
  defs: InfraDefinitions,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return executePlan(client, await planDestroy(client, defs), retryOptions(options));
}

async function executePlan(
  client: EventBridgeClient,
  plan: InfraPlan,
  retry: RetryOptions,
): Promise<ApplyResult> {
  const log = logger("infra-aws", { mode: plan.mode });
  const performed: string[] = [];
  const failed: FailedTargetEntry[] = [];
  const write = async <T>(operation: string, resource: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      const error = awsError(operation, resource, err);
      throw new ReasonedError(error.reason, error.message, {
        retryable: error.retryable,
        status: error.status,
        cause: err,
        details: { ...error.details, performed: [...performed] },
      });
    }
  };
  const done = (line: string): void => {
    performed.push(line);
    log.info({ action: line }, "eventbridge change applied");
  };

  if (plan.bus.action === "create") {
    await write("CreateEventBus", plan.bus.name, () =>
      client.send(new CreateEventBusCommand({ Name: plan.bus.name, Tags: toTags(plan.bus.tags) })),
    );
    done(`created event bus ${plan.bus.name}`);
  }

  for (const change of plan.rules) {
    if (change.action === "foreign" || change.action === "delete") continue;
    const desired = change.desired;
    if (desired === undefined) continue;
    if (change.action === "create" || change.action === "update") {
      const put = await write("PutRule", change.name, () =>
        client.send(new PutRuleCommand(toPutRule(desired))),
      );
      done(
        `${change.action === "create" ? "created" : "updated"} rule ${change.name} on ${change.eventBusName}`,
      );
      const arn = change.arn ?? put.RuleArn;
      if (change.action === "update" && Object.keys(change.tagsToSet).length > 0 && arn !== undefined) {
        await write("TagResource", change.name, () =>
          client.send(new TagResourceCommand({ ResourceARN: arn, Tags: toTags(change.tagsToSet) })),
        );
        done(`tagged rule ${change.name}`);
      }
    }
    const upserts = change.targets.flatMap((t) =>
      t.action === "create" || t.action === "update" ? [t] : [],
    );
    const upsertTargets = upserts.flatMap((t) => (t.desired === undefined ? [] : [t.desired]));
    if (upsertTargets.length > 0) {
      const failures = await putTargets(client, change, upsertTargets, retry, write);
      failed.push(...failures);
      const failedIds = new Set(failures.map((f) => f.targetId));
      for (const target of upsertTargets) {
        if (!failedIds.has(target.id)) done(`put target ${target.id} on rule ${change.name} → ${target.arn}`);
      }
    }
    const removals = change.targets.filter((t) => t.action === "delete").map((t) => t.id);
    if (removals.length > 0) {
      const failures = await removeTargets(client, change, removals, retry, write);
      failed.push(...failures);
      reportRemovals(change, removals, failures, done);
    }
  }

  const blockedOnBus = new Set<string>();
  for (const change of plan.rules) {
    if (change.action !== "delete") continue;
    const ids = change.targets.map((t) => t.id);
    const failures = ids.length > 0 ? await removeTargets(client, change, ids, retry, write) : [];
    failed.push(...failures);
    reportRemovals(change, ids, failures, done);
    // DeleteRule requires the rule to have no targets left.
    if (failures.length > 0) {
      blockedOnBus.add(change.eventBusName);
      continue;
    }
    await write("DeleteRule", change.name, () =>
      client.send(new DeleteRuleCommand({ Name: change.name, EventBusName: change.eventBusName })),
    );
    done(`deleted rule ${change.name} on ${change.eventBusName}`);
  }

  if (plan.bus.action === "delete" && !blockedOnBus.has(plan.bus.name)) {
    await write("DeleteEventBus", plan.bus.name, () =>
      client.send(new DeleteEventBusCommand({ Name: plan.bus.name })),
    );
    done(`deleted event bus ${plan.bus.name}`);
  }

  const leftAlone = [
    ...(plan.bus.action === "foreign" ? [`event bus ${plan.bus.name}: ${plan.bus.reasons.join("; ")}`] : []),
    ...plan.rules
      .filter((rule) => rule.action === "foreign")
      .map((rule) => `rule ${rule.name} on ${rule.eventBusName}: ${rule.reasons.join("; ")}`),
  ];
  for (const failure of failed) log.warn({ failure }, "eventbridge target entry failed after retries");
  return { plan, performed, failed, leftAlone, ok: failed.length === 0 };
}

type Write = <T>(operation: string, resource: string, send: () => Promise<T>) => Promise<T>;

async function putTargets(
  client: EventBridgeClient,
  change: RuleChange,
  targets: readonly TargetDefinition[],
  retry: RetryOptions,
  write: Write,
): Promise<FailedTargetEntry[]> {
  const failures: EntryFailure<TargetDefinition>[] = [];
  for (const batch of chunk(targets, EVENTBRIDGE_BATCH_LIMIT)) {
    const send = async (pending: readonly TargetDefinition[]): Promise<EntryFailure<TargetDefinition>[]> => {
      const result = await write("PutTargets", change.name, () =>
        client.send(
          new PutTargetsCommand({
            Rule: change.name,
            EventBusName: change.eventBusName,
            Targets: pending.map(toSdkTarget),
          }),
        ),
      );
      return matchFailures(pending, (t) => t.id, result.FailedEntries ?? []);
    };
    failures.push(...(await sendWithRetry(batch, send, retry)));
  }
  return failures.map((f) => toFailedEntry(change, "PutTargets", f.entry.id, f));
}

async function removeTargets(
  client: EventBridgeClient,
  change: RuleChange,
  ids: readonly string[],
  retry: RetryOptions,
  write: Write,
): Promise<FailedTargetEntry[]> {
  const failures: EntryFailure<string>[] = [];
  for (const batch of chunk(ids, EVENTBRIDGE_BATCH_LIMIT)) {
    const send = async (pending: readonly string[]): Promise<EntryFailure<string>[]> => {
      const result = await write("RemoveTargets", change.name, () =>
        client.send(
          new RemoveTargetsCommand({
            Rule: change.name,
            EventBusName: change.eventBusName,
            Ids: [...pending],
          }),
        ),
      );
      return matchFailures(pending, (id) => id, result.FailedEntries ?? []);
    };
    failures.push(...(await sendWithRetry(batch, send, retry)));
  }
  return failures.map((f) => toFailedEntry(change, "RemoveTargets", f.entry, f));
}

/** Pairs `FailedEntries` (keyed by TargetId) with the entries that were sent. */
function matchFailures<T>(
  sent: readonly T[],
  idOf: (entry: T) => string,
  failedEntries: readonly {
    TargetId?: string | undefined;
    ErrorCode?: string | undefined;
    ErrorMessage?: string | undefined;
  }[],
): EntryFailure<T>[] {
  const failures: EntryFailure<T>[] = [];
  for (const failedEntry of failedEntries) {
    const entry = sent.find((candidate) => idOf(candidate) === failedEntry.TargetId);
    if (entry === undefined) continue;
    failures.push({
      entry,
      errorCode: failedEntry.ErrorCode ?? "Unknown",
      errorMessage: failedEntry.ErrorMessage ?? "",
    });
  }
  return failures;
}

function toFailedEntry(
  change: RuleChange,
  operation: FailedTargetEntry["operation"],
  targetId: string,
  failure: EntryFailure<unknown>,
): FailedTargetEntry {
  return {
    rule: change.name,
    eventBusName: change.eventBusName,
    targetId,
    operation,
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
  };
}

function reportRemovals(
  change: RuleChange,
  ids: readonly string[],
  failures: readonly FailedTargetEntry[],
  done: (line: string) => void,
): void {
  const failedIds = new Set(failures.map((f) => f.targetId));
  for (const id of ids) if (!failedIds.has(id)) done(`removed target ${id} from rule ${change.name}`);
}

function toPutRule(rule: RuleDefinition): PutRuleCommandInput {
  return {
    Name: rule.name,
    EventBusName: rule.eventBusName,
    State: rule.state,
    Description: rule.description,
    ...(rule.scheduleExpression === undefined ? {} : { ScheduleExpression: rule.scheduleExpression }),
    ...(rule.eventPattern === undefined ? {} : { EventPattern: JSON.stringify(rule.eventPattern) }),
    // Honoured on create only; updates go through TagResource (PutRule API reference).
    Tags: toTags(rule.tags),
  };
}

function toSdkTarget(target: TargetDefinition): Target {
  return {
    Id: target.id,
    Arn: target.arn,
    RetryPolicy: {
      MaximumRetryAttempts: target.retryPolicy.maximumRetryAttempts,
      MaximumEventAgeInSeconds: target.retryPolicy.maximumEventAgeInSeconds,
    },
    DeadLetterConfig: { Arn: target.deadLetterArn },
    ...(target.input === undefined ? {} : { Input: target.input }),
  };
}

function toTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Key, Value]) => ({ Key, Value }));
}

/** Renders an apply/destroy result for the CLI: what was done, what failed, what was left alone. */
export function formatApplyResult(result: ApplyResult): string {
  const lines: string[] = [];
  if (result.performed.length === 0 && result.failed.length === 0) lines.push("No changes applied.");
  for (const line of result.performed) lines.push(`  ✓ ${line}`);
  for (const f of result.failed) {
    lines.push(
      `  ✗ ${f.operation} ${f.targetId} on rule ${f.rule}: ${f.errorCode} ${f.errorMessage}`.trimEnd(),
    );
  }
  for (const line of result.leftAlone) lines.push(`  ! ${line}`);
  lines.push(result.ok ? "Done." : `Finished with ${result.failed.length} failed target entries.`);
  return lines.join("\n");
}
