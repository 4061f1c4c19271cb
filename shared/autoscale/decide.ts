/**
 * One pool's decision from the signals of one delivery, pure: observations go through the HPA algorithm
 * (`decide`), value-less alerts through step scaling (`decideStep`) with the pool's step annotations, and the
 * outcome is the HPA status to write (merged conditions, metric statuses, replica counts, last scale time).
 * Signals that cannot be decided (a metric the HPA lacks, no step config) say why instead.
 */
import {
  type Decision,
  decide,
  decideStep,
  type History,
  type HpaCondition,
  type MetricStatus,
  mergeConditions,
  type ObservedMetric,
  type StepDecision,
} from "../planning/hpa";
import type { HpaSpecV2, StepScalingConfig } from "../schemas";
import { type HpaObject, metricNames, observationsFor, STEP_UP_ANNOTATION, stepConfigOf } from "./policy";
import type { Signal } from "./signal";

export interface PoolDecisionInput {
  readonly hpa: HpaObject;
  readonly spec: HpaSpecV2;
  /** Scale subresource `spec.replicas`. */
  readonly currentReplicas: number;
  /** Scale subresource `status.replicas`. */
  readonly statusReplicas: number;
  /** The delivery's signals for this pool that are neither repeats nor ignored. */
  readonly signals: readonly Signal[];
  readonly history: History;
  readonly now: Date;
  /** Hard ceiling on replicas any alert may set (`VMPOOL_MAX_REPLICAS`). */
  readonly ceiling: number;
  /**
   * What the pull sources read for this HPA, keyed by `metricKey` (undefined: no pull source is configured or
   * handles any of its metrics). A signal's value fills a metric only where this has none.
   */
  readonly pulled?: Readonly<Record<string, ObservedMetric>>;
  /** Running and Ready pods of the target, when a pull source saw them. */
  readonly readyPodCount?: number;
  /**
   * Mean request per running pod of the target (base units), keyed by `metricKey`, for Utilization metrics an
   * alert reports: status `averageValue` is then the usage the percentage means, as the HPA controller writes it.
   */
  readonly meanRequests?: Readonly<Record<string, number>>;
}

/** A decision in HPA terms, from metrics or from a step. */
export type Decided = Decision & { readonly mode: "metrics" | "step" };

export type PoolDecision =
  | { readonly kind: "decided"; readonly decision: Decided }
  | {
      readonly kind: "skipped";
      readonly outcome: "Unchanged" | "Ignored";
      readonly reason: string;
      readonly message: string;
    };

/** Decides for one pool. */
export function decidePool(input: PoolDecisionInput): PoolDecision {
  const spec = withCeiling(input.spec, input.ceiling);
  const observations = input.signals.filter((signal) => signal.kind === "observation");
  if (observations.length > 0 || input.pulled !== undefined)
    return decideFromObservations(input, spec, observations);
  const firing = input.signals.some((signal) => signal.kind === "firing");
  const step = stepConfigOf(input.hpa);
  if (step.kind === "invalid") {
    return { kind: "skipped", outcome: "Unchanged", reason: "InvalidStepConfig", message: step.message };
  }
  if (step.kind === "absent") {
    return firing
      ? {
          kind: "skipped",
          outcome: "Unchanged",
          reason: "NoStepConfig",
          message: `the alert carries no value and ${hpaName(input.hpa)} has no ${STEP_UP_ANNOTATION} annotation`,
        }
      : {
          kind: "skipped",
          outcome: "Ignored",
          reason: "Resolved",
          message: "the alert resolved; nothing to do",
        };
  }
  const decision = decideStep({
    hpa: spec,
    currentReplicas: input.currentReplicas,
    alert: firing ? "firing" : "resolved",
    config: step.config,
    history: input.history,
    now: input.now,
  });
  return { kind: "decided", decision: fromStep(decision, step.config, input) };
}

/** `VMPOOL_MAX_REPLICAS` lowers maxReplicas (never below minReplicas), so the HPA's own limits report it. */
function withCeiling(spec: HpaSpecV2, ceiling: number): HpaSpecV2 {
  const max = Math.max(spec.minReplicas, Math.min(spec.maxReplicas, ceiling));
  return max === spec.maxReplicas ? spec : { ...spec, maxReplicas: max };
}

function decideFromObservations(
  input: PoolDecisionInput,
  spec: HpaSpecV2,
  observations: readonly Signal[],
): PoolDecision {
  const pushed = observationsFor(spec, observations);
  const { unmatched } = pushed;
  // Pulled observations win; a signal's value fills in where the pull source has none (or could not read it).
  const metrics: Record<string, ObservedMetric> = {};
  for (const [key, observed] of Object.entries(pushed.metrics)) {
    const request = input.meanRequests?.[key];
    metrics[key] =
      request === undefined || observed.value === undefined
        ? observed
        : { ...observed, averageUsage: (observed.value / 100) * request };
  }
  for (const [key, observed] of Object.entries(input.pulled ?? {})) {
    if (observed.error === undefined || metrics[key] === undefined) metrics[key] = observed;
  }
  if (Object.keys(metrics).length === 0) {
    return {
      kind: "skipped",
      outcome: "Unchanged",
      reason: "MetricNotInPolicy",
      message: `${hpaName(input.hpa)} has no metric named ${unmatched.join(", ")} (its metrics: ${metricNames(spec)})`,
    };
  }
  const decision = decide({
    hpa: spec,
    currentReplicas: input.currentReplicas,
    statusReplicas: input.statusReplicas,
    ...(input.readyPodCount === undefined ? {} : { readyPodCount: input.readyPodCount }),
    metrics,
    history: input.history,
    now: input.now,
  });
  return { kind: "decided", decision: { ...decision, mode: "metrics" } };
}

function fromStep(step: StepDecision, config: StepScalingConfig, input: PoolDecisionInput): Decided {
  const rescaleReason = step.changed ? step.message.replace(/^New size: \d+; reason: /, "") : "";
  return {
    mode: "step",
    currentReplicas: step.currentReplicas,
    desiredReplicas: step.desiredReplicas,
    changed: step.changed,
    reason: step.reason,
    message: step.message,
    rescaleReason,
    conditions: stepConditions(step, config),
    currentMetrics: (input.hpa.status?.currentMetrics ?? []) as MetricStatus[],
    proposals: [],
    events: step.changed ? [{ type: "Normal", reason: "SuccessfulRescale", message: step.message }] : [],
    lastScaleTime: step.lastScaleTime,
    history: step.history,
    historyIfScaleFails: step.historyIfScaleFails,
  };
}

const LIMIT_REASONS = new Set(["TooManyReplicas", "TooFewReplicas", "ScaleUpLimit", "ScaleDownLimit"]);

/** The conditions a step decision implies, in the HPA controller's vocabulary. */
function stepConditions(step: StepDecision, config: StepScalingConfig): HpaCondition[] {
  const able: HpaCondition = step.changed
    ? {
        type: "AbleToScale",
        status: "True",
        reason: "SucceededRescale",
        message: `the HPA controller was able to update the target scale to ${step.desiredReplicas}`,
      }
    : step.reason === "ScaleDownStabilized"
      ? { type: "AbleToScale", status: "True", reason: step.reason, message: step.message }
      : { type: "AbleToScale", status: "True", reason: "ReadyForNewScale", message: step.message };
  const stepText = config.stepDown === undefined ? "step-up" : "step-up/step-down";
  const active: HpaCondition = {
    type: "ScalingActive",
    status: "True",
    reason: "ValidMetricFound",
    message: `the HPA was able to successfully calculate a replica count from threshold alert steps (${stepText} annotations)`,
  };
  const limited: HpaCondition = LIMIT_REASONS.has(step.reason)
    ? { type: "ScalingLimited", status: "True", reason: step.reason, message: step.message }
    : {
        type: "ScalingLimited",
        status: "False",
        reason: "DesiredWithinRange",
        message: "the desired count is within the acceptable range",
      };
  return [able, active, limited];
}

function hpaName(hpa: HpaObject): string {
  return `HorizontalPodAutoscaler ${hpa.metadata.namespace ?? ""}/${hpa.metadata.name}`;
}

/** The HPA status after a decision: what the controller's `setStatus` + `setConditions` would write. */
export function statusAfter(
  hpa: HpaObject,
  decision: Pick<Decision, "currentReplicas" | "desiredReplicas" | "currentMetrics" | "lastScaleTime">,
  conditions: readonly HpaCondition[],
  now: Date,
): NonNullable<HpaObject["status"]> {
  const previous = hpa.status ?? {};
  const generation = hpa.metadata.generation;
  return {
    ...previous,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    currentReplicas: decision.currentReplicas,
    desiredReplicas: decision.desiredReplicas,
    currentMetrics: decision.currentMetrics.map((metric) => ({ ...metric })),
    conditions: mergeConditions(previous.conditions ?? [], conditions, now).map((condition) => ({
      ...condition,
      lastTransitionTime: condition.lastTransitionTime ?? null,
    })),
    ...(decision.lastScaleTime === null ? {} : { lastScaleTime: decision.lastScaleTime }),
  };
}
