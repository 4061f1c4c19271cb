/**
 * shared/autoscale turns metric alerts into HPA-compatible scale decisions for KubeVirt pools: signal sources
 * (Alertmanager, Grafana, CloudWatch via EventBridge, a plain metric push) registered in one map, the pure
 * per-pool decision on top of shared/planning/hpa, and the use-case that persists history and delivery keys on
 * the HPA, writes the scale subresource, the HPA status and Events, and requests a reconcile; pull sources (the
 * resource metrics API, …) and `autoscaleAll`, the scheduled pass that reads them for every HPA like the HPA
 * controller's sync loop. Also the local demo's alert emitter and the CPU-load setter behind `vmpool load`.
 */

export { type AutoscaleAllReport, autoscaleAll, type HpaPassResult, targetOf } from "./all";
export { grafanaSignature, type HmacConfig } from "./auth";
export {
  type AutoscaleConfig,
  autoscaleConfigFromEnv,
  autoscaleEnvSchema,
  DEFAULT_AUTOSCALE_INTERVAL_SECONDS,
} from "./config";
export { type Decided, decidePool, type PoolDecision, type PoolDecisionInput, statusAfter } from "./decide";
export {
  type AlertEmitter,
  type AlertEmitterOptions,
  CPU_LOAD_ANNOTATION,
  type EmitterTick,
  type PoolCpuLoad,
  poolCpuLoads,
  setPoolCpuLoad,
  startAlertEmitter,
} from "./emitter";
export { DELIVERIES_ANNOTATION, MAX_DELIVERY_KEYS } from "./ledger";
export {
  AUTOSCALE_ANNOTATION,
  KEDA_SCALED_OBJECT_LABEL,
  STEP_COOLDOWN_ANNOTATION,
  STEP_DOWN_ANNOTATION,
  STEP_UP_ANNOTATION,
} from "./policy";
export {
  type AlertMapping,
  AlertMappingSchema,
  DEFAULT_ALERT_MAPPING,
  type Signal,
  type SignalKind,
  type SourceName,
} from "./signal";
export {
  alarmSignal,
  type Delivery,
  PULL_SOURCES,
  type PullContext,
  type PullObservation,
  type PullSource,
  type PullSourceName,
  type PullTarget,
  type SignalSource,
  SOURCES,
  type SourceContext,
} from "./sources";
export {
  type AlertOutcome,
  type AlertResult,
  type AutoscaleDeps,
  type AutoscaleOptions,
  type AutoscaleReport,
  autoscale,
  HPA_COMPONENT,
} from "./usecase";
