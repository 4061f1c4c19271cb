/**
 * Turning the raw metric proposal into the replica count to set, as upstream `normalizeDesiredReplicas*` does:
 * stabilization over the recommendation history, then rate limits from the scale-event history and the policies,
 * then the [minReplicas, maxReplicas] clamp — or, for an HPA without spec.behavior, the older fixed rules.
 */
import type { NormalizedBehavior, NormalizedScalingRules } from "../../schemas/hpa";
import { DEFAULT_DOWNSCALE_STABILIZATION_SECONDS } from "../../schemas/hpa";
import type { ConditionStatus } from "./conditions";
import type { History, TimedValue } from "./history";
import { changeWithinPeriod, recordRecommendation } from "./history";

/** The outcome of normalization with the condition texts upstream sets. */
export interface Normalized {
  readonly replicas: number;
  /** The stabilized recommendation (before rate limits and clamping). */
  readonly stabilized: number;
  /** AbleToScale reason: ScaleUpStabilized, ScaleDownStabilized or ReadyForNewScale. */
  readonly ableToScale: { readonly reason: string; readonly message: string };
  /** ScalingLimited: True when the rate limit or min/max changed the stabilized value. */
  readonly limited: { readonly status: ConditionStatus; readonly reason: string; readonly message: string };
  /** History with the raw recommendation recorded. */
  readonly history: History;
}

/** What normalization needs. */
export interface NormalizeArgs {
  readonly currentReplicas: number;
  readonly proposal: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly history: History;
  readonly now: number;
}

const READY = { reason: "ReadyForNewScale", message: "recommended size matches current size" };
const UP_STABILIZED = {
  reason: "ScaleUpStabilized",
  message: "recent recommendations were lower than current one, applying the lowest recent recommendation",
};
const DOWN_STABILIZED = {
  reason: "ScaleDownStabilized",
  message: "recent recommendations were higher than current one, applying the highest recent recommendation",
};
const WITHIN_RANGE = {
  reason: "DesiredWithinRange",
  message: "the desired count is within the acceptable range",
};
const UP_LIMIT = {
  reason: "ScaleUpLimit",
  message: "the desired replica count is increasing faster than the maximum scale rate",
};
const TOO_MANY = {
  reason: "TooManyReplicas",
  message: "the desired replica count is more than the maximum replica count",
};
const DOWN_LIMIT = {
  reason: "ScaleDownLimit",
  message: "the desired replica count is decreasing faster than the maximum scale rate",
};
const TOO_FEW = {
  reason: "TooFewReplicas",
  message: "the desired replica count is less than the minimum replica count",
};

/** The longest stabilization window the history must cover. */
export function longestWindowSeconds(behavior: NormalizedBehavior | null): number {
  if (behavior === null) return DEFAULT_DOWNSCALE_STABILIZATION_SECONDS;
  return Math.max(behavior.scaleUp.stabilizationWindowSeconds, behavior.scaleDown.stabilizationWindowSeconds);
}

/** Longest policy period per direction (upstream `getLongestPolicyPeriod`); null without behavior (no events kept). */
export function longestPeriods(behavior: NormalizedBehavior | null): { up: number; down: number } | null {
  if (behavior === null) return null;
  const longest = (rules: NormalizedScalingRules) =>
    Math.max(0, ...rules.policies.map((policy) => policy.periodSeconds));
  return { up: longest(behavior.scaleUp), down: longest(behavior.scaleDown) };
}

/** Upstream `normalizeDesiredReplicasWithBehaviors`. */
export function normalizeWithBehavior(args: NormalizeArgs, behavior: NormalizedBehavior): Normalized {
  const { currentReplicas: current, proposal, now } = args;
  const stabilized = stabilizeWithBehavior(args.history.recommendations, behavior, current, proposal, now);
  const ableToScale = stabilized === proposal ? READY : proposal >= current ? UP_STABILIZED : DOWN_STABILIZED;
  const { replicas, reason, message } = limitRate(args, stabilized, behavior);
  return {
    replicas,
    stabilized,
    ableToScale,
    limited: { status: replicas === stabilized ? "False" : "True", reason, message },
    history: recordRecommendation(args.history, proposal, now, longestWindowSeconds(behavior)),
  };
}

// The result is pulled into [min of recent up-window recommendations, max of recent down-window ones], starting
// from the current count; entries count when strictly newer than the cutoff.
function stabilizeWithBehavior(
  recommendations: readonly TimedValue[],
  behavior: NormalizedBehavior,
  current: number,
  proposal: number,
  now: number,
): number {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let upRecommendation = proposal;
  let downRecommendation = proposal;
  for (const entry of recommendations) {
    if (entry.at > upCutoff) upRecommendation = Math.min(upRecommendation, entry.value);
    if (entry.at > downCutoff) downRecommendation = Math.max(downRecommendation, entry.value);
  }
  return Math.min(Math.max(current, upRecommendation), downRecommendation);
}

// Upstream `convertDesiredReplicasWithBehaviorRate`.
function limitRate(args: NormalizeArgs, desired: number, behavior: NormalizedBehavior) {
  const { currentReplicas: current, history, now } = args;
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, history, behavior.scaleUp, now));
    const [allowed, why] = args.maxReplicas > limit ? [limit, UP_LIMIT] : [args.maxReplicas, TOO_MANY];
    if (desired > allowed) return { replicas: allowed, ...why };
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, history, behavior.scaleDown, now));
    const [allowed, why] = args.minReplicas < limit ? [limit, DOWN_LIMIT] : [args.minReplicas, TOO_FEW];
    if (desired < allowed) return { replicas: allowed, ...why };
  }
  return { replicas: desired, ...WITHIN_RANGE };
}

/**
 * Upstream `calculateScaleUpLimitWithScalingRules`: per policy, the count at the start of its period
 * (current − added + removed within it) plus Pods, or times (1 + Percent/100) rounded up; Max takes the largest,
 * Min the smallest, Disabled allows nothing.
 */
export function scaleUpLimit(
  current: number,
  history: History,
  rules: NormalizedScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  const proposals = rules.policies.map((policy) => {
    const start = periodStart(current, history, policy.periodSeconds, now);
    return policy.type === "Pods" ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
  });
  return rules.selectPolicy === "Min" ? Math.min(...proposals) : Math.max(...proposals);
}

/**
 * Upstream `calculateScaleDownLimitWithBehaviors`: per policy, the period-start count minus Pods, or times
 * (1 − Percent/100) truncated; Max takes the lowest floor (largest change), Min the highest, Disabled keeps current.
 */
export function scaleDownLimit(
  current: number,
  history: History,
  rules: NormalizedScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  const proposals = rules.policies.map((policy) => {
    const start = periodStart(current, history, policy.periodSeconds, now);
    return policy.type === "Pods" ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
  });
  return rules.selectPolicy === "Min" ? Math.max(...proposals) : Math.min(...proposals);
}

function periodStart(current: number, history: History, periodSeconds: number, now: number): number {
  const added = changeWithinPeriod(history.scaleUpEvents, periodSeconds, now);
  const removed = changeWithinPeriod(history.scaleDownEvents, periodSeconds, now);
  return current - added + removed;
}

/**
 * Upstream `normalizeDesiredReplicas` for HPAs without spec.behavior: take the highest recommendation of the last
 * 300 s (entries at the cutoff count), then clamp to minReplicas and to min(maxReplicas, max(2 × current, 4)).
 */
export function normalizeLegacy(args: NormalizeArgs): Normalized {
  const { currentReplicas: current, proposal, now } = args;
  const cutoff = now - DEFAULT_DOWNSCALE_STABILIZATION_SECONDS * 1000;
  const stabilized = args.history.recommendations.reduce(
    (highest, entry) => (entry.at >= cutoff ? Math.max(highest, entry.value) : highest),
    proposal,
  );
  const ableToScale = stabilized === proposal ? READY : DOWN_STABILIZED;
  const upCap = Math.max(2 * current, 4);
  const [maxAllowed, overMax] = args.maxReplicas > upCap ? [upCap, UP_LIMIT] : [args.maxReplicas, TOO_MANY];
  let outcome = { replicas: stabilized, ...WITHIN_RANGE };
  if (stabilized < args.minReplicas) outcome = { replicas: args.minReplicas, ...TOO_FEW };
  else if (stabilized > maxAllowed) outcome = { replicas: maxAllowed, ...overMax };
  const { replicas, reason, message } = outcome;
  return {
    replicas,
    stabilized,
    ableToScale,
    limited: { status: replicas === stabilized ? "False" : "True", reason, message },
    history: recordRecommendation(args.history, proposal, now, DEFAULT_DOWNSCALE_STABILIZATION_SECONDS),
  };
}
