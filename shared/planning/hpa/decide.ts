/**
 * `decide`: one pass of upstream `reconcileAutoscaler` as a pure function — current replicas, observed metrics and
 * the persisted history in; the replica count to set, the conditions, metric statuses, events and the history to
 * persist out. The scale write and the status/annotation writes belong to the caller.
 */
import type { HpaSpecV2 } from "../../schemas/hpa";
import type { HpaCondition } from "./conditions";
import { ConditionSet, kubeTime } from "./conditions";
import type { History } from "./history";
import { recordScale, seedHistory } from "./history";
import type { Normalized } from "./limits";
import { longestPeriods, normalizeLegacy, normalizeWithBehavior } from "./limits";
import type { MetricContext, MetricProposal, MetricStatus, ObservedMetric } from "./metrics";
import { metricKey, proposeForMetric } from "./metrics";

/** Everything one decision needs; all of it observed by the caller. */
export interface DecideInput {
  readonly hpa: HpaSpecV2;
  /** The target's scale subresource `spec.replicas`. */
  readonly currentReplicas: number;
  /** The scale subresource `status.replicas` (Object/External AverageValue use it); defaults to currentReplicas. */
  readonly statusReplicas?: number;
  /** Running and Ready pods of the target (ratio × ready pods); defaults to currentReplicas. */
  readonly readyPodCount?: number;
  /** Observations keyed by `metricKey(metric)`; a missing key is a metric that could not be read. */
  readonly metrics: Readonly<Record<string, ObservedMetric | undefined>>;
  readonly history: History;
  readonly now: Date;
}

/** A Kubernetes Event the pass should emit (source component horizontal-pod-autoscaler). */
export interface HpaEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** The outcome of one decision. */
export interface Decision {
  readonly currentReplicas: number;
  /** The replica count to set (equal to currentReplicas when nothing changes). */
  readonly desiredReplicas: number;
  readonly changed: boolean;
  /** PascalCase: SuccessfulRescale when changed, else why not (ScaleDownStabilized, ScalingDisabled, …). */
  readonly reason: string;
  readonly message: string;
  /** Upstream's rescale reason ("cpu resource utilization (percentage of request) above target"); "" if unchanged. */
  readonly rescaleReason: string;
  /** Conditions set by this pass (merge into status with `mergeConditions`). Assume the scale write succeeds. */
  readonly conditions: readonly HpaCondition[];
  /** status.currentMetrics, one per spec metric (`{type: ""}` where the metric failed). */
  readonly currentMetrics: readonly MetricStatus[];
  readonly proposals: readonly MetricProposal[];
  readonly events: readonly HpaEvent[];
  /** status.lastScaleTime after this pass (RFC 3339), or null if never scaled. */
  readonly lastScaleTime: string | null;
  /** Persist this when the scale write succeeded or nothing had to be written. */
  readonly history: History;
  /** Persist this instead when the scale write failed (no scale event recorded). */
  readonly historyIfScaleFails: History;
}

const GOT_SCALE = "the HPA controller was able to get the target's current scale";

/** Decides like the Kubernetes HPA controller would for this target right now. */
export function decide(input: DecideInput): Decision {
  const now = input.now.getTime();
  const { hpa, currentReplicas: current } = input;
  const conditions = new ConditionSet();
  conditions.set("AbleToScale", "True", "SucceededGetScale", GOT_SCALE);
  const history = seedHistory(input.history, current, now);
  const base = { hpa, current, now, conditions, history };

  if (current === 0) {
    // A target parked at zero by hand pauses the HPA (HPAScaleToZero, alpha, is not emulated).
    const message = "scaling is disabled since the replica count of the target is zero";
    conditions.set("ScalingActive", "False", "ScalingDisabled", message);
    return unchanged(base, { reason: "ScalingDisabled", message }, [], [], []);
  }
  if (current > hpa.maxReplicas) {
    return rescaled(
      base,
      hpa.maxReplicas,
      "Current number of replicas above Spec.MaxReplicas",
      history,
      [],
      [],
      [],
    );
  }
  if (current < hpa.minReplicas) {
    return rescaled(
      base,
      hpa.minReplicas,
      "Current number of replicas below Spec.MinReplicas",
      history,
      [],
      [],
      [],
    );
  }

  const context: MetricContext = {
    hpa,
    currentReplicas: current,
    statusReplicas: input.statusReplicas ?? current,
    readyPodCount: input.readyPodCount ?? current,
  };
  const proposals = hpa.metrics.map((metric) =>
    proposeForMetric(metric, input.metrics[metricKey(metric)], context),
  );
  const statuses = proposals.map((proposal) => proposal.status);
  const failures = proposals.filter((proposal) => !proposal.ok);
  const metricEvents: HpaEvent[] = failures.map((failed) => ({
    type: "Warning",
    reason: failed.reason,
    message: failed.error,
  }));
  const best = largestProposal(proposals);

  // Failed metrics may only block a scale-down, never an up-scale (horizontal.go computeReplicasForMetrics).
  const [firstFailure] = failures;
  if (firstFailure && (best === null || best.replicas < current)) {
    conditions.set(
      "ScalingActive",
      "False",
      firstFailure.reason,
      `the HPA was unable to compute the replica count: ${firstFailure.error}`,
    );
    const message = `invalid metrics (${failures.length} invalid out of ${proposals.length}), first error is: ${firstFailure.wrapped}`;
    const events: HpaEvent[] = [
      ...metricEvents,
      { type: "Warning", reason: "FailedComputeMetricsReplicas", message },
    ];
    return unchanged(base, { reason: "FailedComputeMetricsReplicas", message }, statuses, proposals, events);
  }
  if (best === null) {
    // Unreachable: normalizeHpa always yields at least one metric.
    return unchanged(
      base,
      { reason: "ReadyForNewScale", message: "no metrics" },
      statuses,
      proposals,
      metricEvents,
    );
  }
  conditions.set(
    "ScalingActive",
    "True",
    "ValidMetricFound",
    `the HPA was able to successfully calculate a replica count from ${best.description}`,
  );

  const proposal = Math.max(best.replicas, 0);
  const rescaleReason =
    proposal > current
      ? `${best.description} above target`
      : proposal < current
        ? "All metrics below target"
        : "";
  const args = {
    currentReplicas: current,
    proposal,
    minReplicas: hpa.minReplicas,
    maxReplicas: hpa.maxReplicas,
    history,
    now,
  };
  const normalized =
    hpa.behavior === null ? normalizeLegacy(args) : normalizeWithBehavior(args, hpa.behavior);
  conditions.set("AbleToScale", "True", normalized.ableToScale.reason, normalized.ableToScale.message);
  conditions.set(
    "ScalingLimited",
    normalized.limited.status,
    normalized.limited.reason,
    normalized.limited.message,
  );

  if (normalized.replicas !== current) {
    return rescaled(
      base,
      normalized.replicas,
      rescaleReason,
      normalized.history,
      statuses,
      proposals,
      metricEvents,
    );
  }
  const settled = { ...base, history: normalized.history };
  return unchanged(settled, whyUnchanged(normalized), statuses, proposals, metricEvents);
}

/** Upstream keeps the first largest valid proposal (a later one replaces it only when strictly larger, or from 0). */
function largestProposal(proposals: readonly MetricProposal[]) {
  let best: Extract<MetricProposal, { ok: true }> | null = null;
  for (const proposal of proposals) {
    if (proposal.ok && (best === null || best.replicas === 0 || proposal.replicas > best.replicas))
      best = proposal;
  }
  return best;
}

function whyUnchanged(normalized: Normalized): { reason: string; message: string } {
  if (normalized.limited.status === "True") return normalized.limited;
  return normalized.ableToScale;
}

interface PassState {
  readonly hpa: HpaSpecV2;
  readonly current: number;
  readonly now: number;
  readonly conditions: ConditionSet;
  readonly history: History;
}

function unchanged(
  state: PassState,
  why: { reason: string; message: string },
  currentMetrics: readonly MetricStatus[],
  proposals: readonly MetricProposal[],
  events: readonly HpaEvent[],
): Decision {
  const last = state.history.lastScaleTime;
  return {
    currentReplicas: state.current,
    desiredReplicas: state.current,
    changed: false,
    reason: why.reason,
    message: why.message,
    rescaleReason: "",
    conditions: state.conditions.list(),
    currentMetrics,
    proposals,
    events,
    lastScaleTime: last === null ? null : kubeTime(last),
    history: state.history,
    historyIfScaleFails: state.history,
  };
}

function rescaled(
  state: PassState,
  desired: number,
  rescaleReason: string,
  historyBeforeScale: History,
  currentMetrics: readonly MetricStatus[],
  proposals: readonly MetricProposal[],
  events: readonly HpaEvent[],
): Decision {
  const { conditions, current, now, hpa } = state;
  conditions.set(
    "AbleToScale",
    "True",
    "SucceededRescale",
    `the HPA controller was able to update the target scale to ${desired}`,
  );
  const message = `New size: ${desired}; reason: ${rescaleReason}`;
  return {
    currentReplicas: current,
    desiredReplicas: desired,
    changed: true,
    reason: "SuccessfulRescale",
    message,
    rescaleReason,
    conditions: conditions.list(),
    currentMetrics,
    proposals,
    events: [...events, { type: "Normal", reason: "SuccessfulRescale", message }],
    lastScaleTime: kubeTime(now),
    history: recordScale(historyBeforeScale, current, desired, now, longestPeriods(hpa.behavior)),
    historyIfScaleFails: historyBeforeScale,
  };
}

/**
 * What to report instead when the scale write failed: AbleToScale False FailedUpdateScale and a FailedRescale
 * Warning (persist `decision.historyIfScaleFails`).
 */
export function rescaleFailed(
  decision: Decision,
  error: string,
): { conditions: HpaCondition[]; events: HpaEvent[] } {
  const failed: HpaCondition = {
    type: "AbleToScale",
    status: "False",
    reason: "FailedUpdateScale",
    message: `the HPA controller was unable to update the target scale: ${error}`,
  };
  return {
    conditions: decision.conditions.map((condition) =>
      condition.type === "AbleToScale" ? failed : condition,
    ),
    events: [
      ...decision.events.filter((event) => event.reason !== "SuccessfulRescale"),
      {
        type: "Warning",
        reason: "FailedRescale",
        message: `New size: ${decision.desiredReplicas}; reason: ${decision.rescaleReason}; error: ${error}`,
      },
    ],
  };
}
