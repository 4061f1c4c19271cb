/**
 * Reads what exists in EventBridge for our definitions: the custom bus, every rule under our name prefix on the
 * buses we use (paginated), each rule's details, targets (paginated) and tags. Read-only.
 */
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  type EventBridgeClient,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  type Tag,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { ReasonedError } from "../../shared/errors";
import { DEFAULT_BUS, type InfraDefinitions } from "./definitions";

export interface ObservedTarget {
  readonly id: string;
  readonly arn: string;
  readonly input: string | undefined;
  readonly maximumRetryAttempts: number | undefined;
  readonly maximumEventAgeInSeconds: number | undefined;
  readonly deadLetterArn: string | undefined;
  /** Settings we never define (RoleArn, InputPath, InputTransformer…) present on the target. */
  readonly extraSettings: readonly string[];
}

export interface ObservedRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly scheduleExpression: string | undefined;
  readonly eventPattern: string | undefined;
  readonly state: string | undefined;
  readonly description: string | undefined;
  /** Set on rules another AWS service manages for us; never ours to change. */
  readonly managedBy: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly targets: readonly ObservedTarget[];
}

export interface ObservedBus {
  readonly name: string;
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface ObservedInfra {
  readonly bus: ObservedBus | undefined;
  /** Rules named with our prefix on the default bus and on our bus, whoever owns them. */
  readonly rules: readonly ObservedRule[];
}

/** Reads the current state relevant to `defs`. */
export async function observeInfra(
  client: EventBridgeClient,
  defs: InfraDefinitions,
): Promise<ObservedInfra> {
  const bus = await describeBus(client, defs.eventBus.name);
  const buses = [DEFAULT_BUS, ...(bus === undefined ? [] : [bus.name])];
  const rules: ObservedRule[] = [];
  for (const busName of buses) {
    for (const name of await listRuleNames(client, busName, defs.namePrefix)) {
      const rule = await describeRule(client, busName, name);
      if (rule !== undefined) rules.push(rule);
    }
  }
  return { bus, rules };
}

/** Names of rules on `busName`, optionally only those starting with `prefix`, following every NextToken. */
export async function listRuleNames(
  client: EventBridgeClient,
  busName: string,
  prefix: string | undefined,
): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call("ListRules", busName, () =>
      client.send(
        new ListRulesCommand({
          EventBusName: busName,
          ...(prefix === undefined ? {} : { NamePrefix: prefix }),
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      ),
    );
    if (page === undefined) return names;
    for (const rule of page.Rules ?? []) if (rule.Name !== undefined) names.push(rule.Name);
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return names;
}

async function describeBus(client: EventBridgeClient, name: string): Promise<ObservedBus | undefined> {
  const bus = await call("DescribeEventBus", name, () =>
    client.send(new DescribeEventBusCommand({ Name: name })),
  );
  if (bus?.Arn === undefined) return undefined;
  return { name, arn: bus.Arn, tags: await readTags(client, bus.Arn) };
}

/** A rule that disappears between listing and describing is treated as absent. */
async function describeRule(
  client: EventBridgeClient,
  busName: string,
  name: string,
): Promise<ObservedRule | undefined> {
  const rule = await call("DescribeRule", name, () =>
    client.send(new DescribeRuleCommand({ Name: name, EventBusName: busName })),
  );
  if (rule?.Arn === undefined) return undefined;
  const tags = await readTags(client, rule.Arn);
  const targets = await listTargets(client, busName, name);
  return {
    name,
    arn: rule.Arn,
    eventBusName: busName,
    scheduleExpression: rule.ScheduleExpression,
    eventPattern: rule.EventPattern,
    state: rule.State,
    description: rule.Description,
    managedBy: rule.ManagedBy,
    tags,
    targets,
  };
}

async function listTargets(
  client: EventBridgeClient,
  busName: string,
  rule: string,
): Promise<ObservedTarget[]> {
  const targets: ObservedTarget[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call("ListTargetsByRule", rule, () =>
      client.send(
        new ListTargetsByRuleCommand({
          Rule: rule,
          EventBusName: busName,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      ),
    );
    if (page === undefined) return targets;
    for (const target of page.Targets ?? []) targets.push(toObservedTarget(target));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return targets;
}

function toObservedTarget(target: Target): ObservedTarget {
  const extraSettings = (
    [
      "RoleArn",
      "InputPath",
      "InputTransformer",
      "HttpParameters",
      "SqsParameters",
      "AppSyncParameters",
    ] as const
  ).filter((key) => target[key] !== undefined);
  return {
    id: target.Id ?? "",
    arn: target.Arn ?? "",
    input: target.Input,
    maximumRetryAttempts: target.RetryPolicy?.MaximumRetryAttempts,
    maximumEventAgeInSeconds: target.RetryPolicy?.MaximumEventAgeInSeconds,
    deadLetterArn: target.DeadLetterConfig?.Arn,
    extraSettings,
  };
}

async function readTags(client: EventBridgeClient, arn: string): Promise<Record<string, string>> {
  const result = await call("ListTagsForResource", arn, () =>
    client.send(new ListTagsForResourceCommand({ ResourceARN: arn })),
  );
  return tagsToRecord(result?.Tags ?? []);
}

function tagsToRecord(tags: readonly Tag[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? "";
  return out;
}

/**
 * Runs one read; `ResourceNotFoundException` becomes `undefined` (absent), anything else a reason-coded error
 * naming the operation and resource.
 */
async function call<T>(operation: string, resource: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await send();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw awsError(operation, resource, err);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === "ResourceNotFoundException";
}

/** Wraps an SDK failure; the SDK marks throttling and 5xx as retryable via `$retryable`. */
export function awsError(operation: string, resource: string, err: unknown): ReasonedError {
  const name = err instanceof Error ? err.name : "UnknownError";
  const retryable = typeof err === "object" && err !== null && "$retryable" in err && Boolean(err.$retryable);
  return new ReasonedError("EventBridgeCallFailed", `${operation} ${resource} failed: ${name}`, {
    retryable,
    status: 502,
    cause: err,
    details: { operation, resource, errorName: name },
  });
}
