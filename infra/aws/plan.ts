/**
 * `infra plan`: compares the definitions with what EventBridge holds and says, per bus, rule and target, whether it
 * will be created, updated, deleted, left as is, or left alone because it is not ours. The diff itself is pure;
 * `planInfra`/`planDestroy` add the reads.
 */
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { MANAGED_BY_TAG } from "./contract";
import {
  type InfraDefinitions,
  type RuleDefinition,
  type TargetDefinition,
  validateDefinitions,
} from "./definitions";
import {
  listRuleNames,
  type ObservedBus,
  type ObservedInfra,
  type ObservedRule,
  type ObservedTarget,
  observeInfra,
} from "./observe";

export type ChangeAction = "create" | "update" | "delete" | "no-op" | "foreign";

export interface TargetChange {
  readonly id: string;
  readonly action: Exclude<ChangeAction, "foreign">;
  readonly reasons: readonly string[];
  /** What to put (create/update). */
  readonly desired?: TargetDefinition;
}

export interface RuleChange {
  readonly name: string;
  readonly eventBusName: string;
  readonly action: ChangeAction;
  readonly reasons: readonly string[];
  /** What to put (create/update). */
  readonly desired?: RuleDefinition;
  /** The existing rule's ARN, when it exists. */
  readonly arn?: string;
  /** Desired tags missing or different on an existing rule (PutRule ignores tags on update). */
  readonly tagsToSet: Readonly<Record<string, string>>;
  readonly targets: readonly TargetChange[];
}

export interface BusChange {
  readonly name: string;
  readonly action: "create" | "delete" | "no-op" | "foreign";
  readonly reasons: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly unchanged: number;
  readonly foreign: number;
}

export interface InfraPlan {
  readonly mode: "apply" | "destroy";
  readonly namePrefix: string;
  readonly bus: BusChange;
  readonly rules: readonly RuleChange[];
  readonly summary: PlanSummary;
  /** True when applying would call a write API. */
  readonly hasChanges: boolean;
}

/**
 * Validates `defs` (before any call), reads the account and returns what `applyInfra` would do.
 * @throws ReasonedError `InvalidInfraDefinitions` before any AWS call; `EventBridgeCallFailed` on a failed read.
 */
export async function planInfra(client: EventBridgeClient, defs: InfraDefinitions): Promise<InfraPlan> {
  const valid = validateDefinitions(defs);
  return diffInfra(valid, await observeInfra(client, valid));
}

/**
 * Validates `defs`, reads the account and returns what `destroyInfra` would remove: our rules and targets, and
 * our bus once nothing foreign remains on it.
 */
export async function planDestroy(client: EventBridgeClient, defs: InfraDefinitions): Promise<InfraPlan> {
  const valid = validateDefinitions(defs);
  const observed = await observeInfra(client, valid);
  const allOnBus =
    observed.bus === undefined ? [] : await listRuleNames(client, observed.bus.name, undefined);
  return diffDestroy(valid, observed, allOnBus);
}

/** True when the resource carries our ownership tag. */
export function isOurs(tags: Readonly<Record<string, string>>): boolean {
  return tags[MANAGED_BY_TAG.key] === MANAGED_BY_TAG.value;
}

const NOT_OURS = `not tagged ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}; foreign, left alone`;

/** The converge diff: desired definitions against observed state. Pure. */
export function diffInfra(defs: InfraDefinitions, observed: ObservedInfra): InfraPlan {
  const bus = diffBus(defs, observed.bus);
  const byKey = new Map(observed.rules.map((rule) => [ruleKey(rule.eventBusName, rule.name), rule]));
  const rules: RuleChange[] = defs.rules.map((rule) => {
    const actual = byKey.get(ruleKey(rule.eventBusName, rule.name));
    byKey.delete(ruleKey(rule.eventBusName, rule.name));
    return diffRule(rule, actual);
  });
  for (const leftover of byKey.values()) rules.push(removeOrLeave(leftover, "no longer defined"));
  return finish("apply", defs.namePrefix, bus, rules);
}

/** The destroy diff: every rule of ours under the prefix goes; the bus goes if ours and then empty. Pure. */
export function diffDestroy(
  defs: InfraDefinitions,
  observed: ObservedInfra,
  allRulesOnBus: readonly string[],
): InfraPlan {
  const rules = observed.rules.map((rule) => removeOrLeave(rule, "destroy"));
  const deleted = new Set(
    rules.filter((r) => r.action === "delete" && r.eventBusName === observed.bus?.name).map((r) => r.name),
  );
  const remaining = allRulesOnBus.filter((name) => !deleted.has(name));
  const bus = destroyBus(defs.eventBus.name, observed.bus, remaining);
  return finish("destroy", defs.namePrefix, bus, rules);
}

function diffBus(defs: InfraDefinitions, actual: ObservedBus | undefined): BusChange {
  const { name, tags } = defs.eventBus;
  if (actual === undefined) return { name, action: "create", reasons: ["not found"], tags };
  if (!isOurs(actual.tags)) {
    return {
      name,
      action: "foreign",
      reasons: ["exists but is not tagged ours; our rules use it as is"],
      tags,
    };
  }
  return { name, action: "no-op", reasons: [], tags };
}

function destroyBus(name: string, actual: ObservedBus | undefined, remaining: readonly string[]): BusChange {
  if (actual === undefined) return { name, action: "no-op", reasons: ["not found"], tags: {} };
  if (!isOurs(actual.tags)) return { name, action: "foreign", reasons: [NOT_OURS], tags: actual.tags };
  if (remaining.length > 0) {
    return {
      name,
      action: "foreign",
      reasons: [`still has rules we do not own (${remaining.join(", ")}); left alone`],
      tags: actual.tags,
    };
  }
  return { name, action: "delete", reasons: ["destroy"], tags: actual.tags };
}

function diffRule(desired: RuleDefinition, actual: ObservedRule | undefined): RuleChange {
  const base = { name: desired.name, eventBusName: desired.eventBusName };
  if (actual === undefined) {
    return {
      ...base,
      action: "create",
      reasons: ["not found"],
      desired,
      tagsToSet: {},
      targets: desired.targets.map((target) => ({
        id: target.id,
        action: "create",
        reasons: [],
        desired: target,
      })),
    };
  }
  if (!isOurs(actual.tags) || actual.managedBy !== undefined) {
    const why = actual.managedBy === undefined ? NOT_OURS : `managed by ${actual.managedBy}; left alone`;
    return { ...base, action: "foreign", reasons: [why], arn: actual.arn, tagsToSet: {}, targets: [] };
  }
  const reasons = ruleDifferences(desired, actual);
  const tagsToSet = missingTags(desired.tags, actual.tags);
  if (Object.keys(tagsToSet).length > 0) {
    reasons.push(
      `tags: set ${Object.entries(tagsToSet)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}`,
    );
  }
  return {
    ...base,
    action: reasons.length > 0 ? "update" : "no-op",
    reasons,
    desired,
    arn: actual.arn,
    tagsToSet,
    targets: diffTargets(desired.targets, actual.targets),
  };
}

function removeOrLeave(actual: ObservedRule, why: string): RuleChange {
  const base = { name: actual.name, eventBusName: actual.eventBusName, arn: actual.arn, tagsToSet: {} };
  if (!isOurs(actual.tags) || actual.managedBy !== undefined) {
    return { ...base, action: "foreign", reasons: [NOT_OURS], targets: [] };
  }
  return {
    ...base,
    action: "delete",
    reasons: [why],
    targets: actual.targets.map((target) => ({ id: target.id, action: "delete", reasons: [why] })),
  };
}

function ruleDifferences(desired: RuleDefinition, actual: ObservedRule): string[] {
  const reasons: string[] = [];
  const compare = (field: string, want: string | undefined, have: string | undefined): void => {
    if (want !== have) reasons.push(`${field}: ${show(have)} → ${show(want)}`);
  };
  compare("ScheduleExpression", desired.scheduleExpression, actual.scheduleExpression);
  const wantPattern = desired.eventPattern === undefined ? undefined : canonicalJson(desired.eventPattern);
  const havePattern = actual.eventPattern === undefined ? undefined : canonicalJsonText(actual.eventPattern);
  compare("EventPattern", wantPattern, havePattern);
  compare("State", desired.state, actual.state);
  compare("Description", desired.description, actual.description);
  return reasons;
}

function diffTargets(
  desired: readonly TargetDefinition[],
  actual: readonly ObservedTarget[],
): TargetChange[] {
  const byId = new Map(actual.map((target) => [target.id, target]));
  const changes: TargetChange[] = desired.map((target) => {
    const existing = byId.get(target.id);
    byId.delete(target.id);
    if (existing === undefined)
      return { id: target.id, action: "create", reasons: ["not found"], desired: target };
    const reasons = targetDifferences(target, existing);
    return { id: target.id, action: reasons.length > 0 ? "update" : "no-op", reasons, desired: target };
  });
  for (const extra of byId.values())
    changes.push({ id: extra.id, action: "delete", reasons: ["not defined"] });
  return changes;
}

function targetDifferences(desired: TargetDefinition, actual: ObservedTarget): string[] {
  const reasons: string[] = [];
  const compare = (
    field: string,
    want: string | number | undefined,
    have: string | number | undefined,
  ): void => {
    if (want !== have) reasons.push(`${field}: ${show(have)} → ${show(want)}`);
  };
  compare("Arn", desired.arn, actual.arn);
  compare("Input", desired.input, actual.input);
  compare(
    "RetryPolicy.MaximumRetryAttempts",
    desired.retryPolicy.maximumRetryAttempts,
    actual.maximumRetryAttempts,
  );
  compare(
    "RetryPolicy.MaximumEventAgeInSeconds",
    desired.retryPolicy.maximumEventAgeInSeconds,
    actual.maximumEventAgeInSeconds,
  );
  compare("DeadLetterConfig.Arn", desired.deadLetterArn, actual.deadLetterArn);
  if (actual.extraSettings.length > 0) reasons.push(`remove ${actual.extraSettings.join(", ")}`);
  return reasons;
}

/** Desired tags absent or different on the resource; extra tags others added are kept. */
function missingTags(
  desired: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(desired).filter(([key, value]) => actual[key] !== value));
}

function finish(mode: InfraPlan["mode"], namePrefix: string, bus: BusChange, rules: RuleChange[]): InfraPlan {
  const summary = { create: 0, update: 0, delete: 0, unchanged: 0, foreign: 0 };
  const count = (action: ChangeAction): void => {
    if (action === "no-op") summary.unchanged++;
    else summary[action]++;
  };
  count(bus.action);
  for (const rule of rules) {
    count(rule.action);
    // Target changes under a rule that is itself created or deleted are part of that rule's change.
    if (rule.action === "update" || rule.action === "no-op") {
      for (const target of rule.targets) if (target.action !== "no-op") count(target.action);
    }
  }
  const hasChanges = summary.create + summary.update + summary.delete > 0;
  return { mode, namePrefix, bus, rules, summary, hasChanges };
}

function ruleKey(bus: string, name: string): string {
  return `${bus}/${name}`;
}

function show(value: string | number | undefined): string {
  return value === undefined ? "(none)" : typeof value === "number" ? String(value) : JSON.stringify(value);
}

/** JSON with object keys sorted, so patterns compare by meaning rather than by AWS's key order or spacing. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function canonicalJsonText(text: string): string {
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return text;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return Object.fromEntries(entries.map(([key, inner]) => [key, sortKeys(inner)]));
  }
  return value;
}

const SYMBOL: Record<ChangeAction, string> = {
  create: "+",
  update: "~",
  delete: "-",
  "no-op": "=",
  foreign: "!",
};

/** Renders a plan in the spirit of `terraform plan`: one line per change with its reasons, then a summary. */
export function formatPlan(plan: InfraPlan): string {
  const lines: string[] = [];
  const verb = plan.mode === "destroy" ? "destroy" : "apply";
  lines.push(`EventBridge ${verb} plan (rules named "${plan.namePrefix}*", bus "${plan.bus.name}")`, "");
  if (plan.bus.action !== "no-op" || plan.mode === "destroy") {
    lines.push(`  ${SYMBOL[plan.bus.action]} event bus ${plan.bus.name}${suffix(plan.bus.reasons)}`);
  }
  for (const rule of plan.rules) {
    const changedTargets = rule.targets.filter((target) => target.action !== "no-op");
    if (rule.action === "no-op" && changedTargets.length === 0) continue;
    const head = rule.action === "no-op" ? "=" : SYMBOL[rule.action];
    const what = describeRule(rule);
    const reasons = rule.action === "update" ? "" : suffix(rule.reasons);
    lines.push(`  ${head} rule ${rule.name} on ${rule.eventBusName}${what}${reasons}`);
    if (rule.action === "update") for (const reason of rule.reasons) lines.push(`      ~ ${reason}`);
    for (const target of changedTargets) {
      const arn = target.desired === undefined ? "" : ` → ${target.desired.arn}`;
      const why = target.action === "update" ? "" : suffix(target.reasons);
      lines.push(`      ${SYMBOL[target.action]} target ${target.id}${arn}${why}`);
      if (target.action === "update")
        for (const reason of target.reasons) lines.push(`          ~ ${reason}`);
    }
  }
  if (!plan.hasChanges) lines.push("  No changes. EventBridge matches the definitions.");
  const { create, update, delete: del, unchanged, foreign } = plan.summary;
  lines.push(
    "",
    `Plan: ${create} to create, ${update} to update, ${del} to delete, ${unchanged} unchanged, ${foreign} foreign left alone.`,
  );
  return lines.join("\n");
}

function describeRule(rule: RuleChange): string {
  if (rule.action !== "create" || rule.desired === undefined) return "";
  if (rule.desired.scheduleExpression !== undefined) return ` (${rule.desired.scheduleExpression})`;
  return rule.desired.eventPattern === undefined
    ? ""
    : ` (pattern ${canonicalJson(rule.desired.eventPattern)})`;
}

function suffix(reasons: readonly string[]): string {
  return reasons.length === 0 ? "" : `  [${reasons.join("; ")}]`;
}
