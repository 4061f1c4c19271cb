/**
 * HPA-compatible scale decisions for a stateless function: `decide` makes the decision the Kubernetes
 * HorizontalPodAutoscaler controller would (per-metric proposals, tolerance, stabilization, scaling policies,
 * min/max, conditions), `decideStep` handles value-less threshold alerts, and the history codec carries the
 * controller's in-memory state in a bounded annotation on the HPA object. Pure: no I/O, `now` injected.
 */
export type { ConditionStatus, HpaCondition, HpaConditionType, StoredCondition } from "./conditions";
export { mergeConditions } from "./conditions";
export type { DecideInput, Decision, HpaEvent } from "./decide";
export { decide, rescaleFailed } from "./decide";
export type { DecodedHistory, History, TimedValue } from "./history";
export {
  decodeHistory,
  EMPTY_HISTORY,
  encodeHistory,
  HISTORY_ANNOTATION,
  holdLatestRecommendation,
  onlyRefreshed,
} from "./history";
export type {
  MetricProposal,
  MetricStatus,
  MetricValueStatus,
  ObservedMetric,
  ResourcePodSamples,
} from "./metrics";
export { describeMetric, metricKey, toMilli } from "./metrics";
export type { StepDecision, StepInput } from "./step";
export { decideStep, stepSize } from "./step";
