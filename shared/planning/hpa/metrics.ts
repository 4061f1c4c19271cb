/**
 * Per-metric replica proposals as upstream `replica_calculator.go` computes them, from aggregated observations
 * (an average utilization, an average or total value, pod counts) instead of per-pod samples; plus the metric's
 * status entry, its description in messages, and the errors and conditions of a metric that could not be read.
 */
import type { HpaSpecV2, NormalizedMetric } from "../../schemas/hpa";
import { formatQuantity } from "../../schemas/hpa";
import type { LabelSelector } from "../../schemas/kubevirt";

/**
 * What was observed for one metric of the HPA, keyed in the decision input by `metricKey(metric)`.
 * `value` means, by target type: Utilization → average utilization (% of request) across the ready pods that
 * reported; AverageValue on Resource/ContainerResource/Pods → average per reporting pod; AverageValue or Value on
 * Object → the object's value; on External → the sum of all returned series. Units are base units (cores, bytes).
 */
export interface ObservedMetric {
  readonly value?: number;
  /** Utilization targets only: average raw usage per pod, reported as status `averageValue`. */
  readonly averageUsage?: number;
  /** Per-pod metrics: pods whose samples formed `value` (default: the decision's readyPodCount). */
  readonly readyPods?: number;
  /** Per-pod metrics: running pods that reported no sample (assumed at target/100% on a scale-down, 0 on a scale-up). */
  readonly missingPods?: number;
  /** Per-pod metrics: pods not ready yet (counted as 0 usage when the metric says scale up). */
  readonly unreadyPods?: number;
  /** Why the metric could not be read (the value is then ignored). */
  readonly error?: string;
}

/** autoscaling/v2 MetricValueStatus with quantities printed. */
export interface MetricValueStatus {
  readonly value?: string;
  readonly averageValue?: string;
  readonly averageUtilization?: number;
}

/** autoscaling/v2 MetricStatus entry for `status.currentMetrics` (`{type: ""}` for a metric that failed). */
export type MetricStatus = { readonly type: string } & Readonly<Record<string, unknown>>;

/** The outcome for one metric. */
export type MetricProposal =
  | {
      readonly ok: true;
      readonly key: string;
      readonly replicas: number;
      /** Upstream's metric description, e.g. "cpu resource utilization (percentage of request)". */
      readonly description: string;
      readonly status: MetricStatus;
    }
  | {
      readonly ok: false;
      readonly key: string;
      /** Condition reason, e.g. FailedGetResourceMetric. */
      readonly reason: string;
      /** The calculator's error, used in the condition and the Warning event. */
      readonly error: string;
      /** The error as wrapped for the FailedComputeMetricsReplicas message. */
      readonly wrapped: string;
      readonly status: MetricStatus;
    };

/** Tolerances per direction: no change while 1 − scaleDown ≤ ratio ≤ 1 + scaleUp. */
export interface Tolerances {
  readonly scaleUp: number;
  readonly scaleDown: number;
}

/** Context shared by all metrics of one decision. */
export interface MetricContext {
  readonly hpa: HpaSpecV2;
  readonly currentReplicas: number;
  readonly statusReplicas: number;
  readonly readyPodCount: number;
}

const MAX_INT32 = 2_147_483_647;

/** The key under which a metric's observation is passed to `decide`. */
export function metricKey(metric: NormalizedMetric): string {
  switch (metric.type) {
    case "Resource":
      return `Resource/${metric.name}`;
    case "ContainerResource":
      return `ContainerResource/${metric.container}/${metric.name}`;
    case "Pods":
      return `Pods/${metric.name}`;
    case "Object":
      return `Object/${metric.describedObject.kind}/${metric.describedObject.name}/${metric.name}`;
    case "External":
      return `External/${metric.name}`;
  }
}

/** Upstream `Tolerances.isWithin`. */
export function isWithinTolerance(ratio: number, tolerances: Tolerances): boolean {
  return 1 - tolerances.scaleDown <= ratio && ratio <= 1 + tolerances.scaleUp;
}

/** Base units → milli-units rounded up like Quantity.MilliValue (rounding to micro first absorbs float noise). */
export function toMilli(value: number): number {
  return Math.ceil(Math.round(value * 1e6) / 1e3);
}

/** Computes one metric's proposal. */
export function proposeForMetric(
  metric: NormalizedMetric,
  observed: ObservedMetric | undefined,
  context: MetricContext,
): MetricProposal {
  const key = metricKey(metric);
  if (observed?.error !== undefined || observed?.value === undefined || !Number.isFinite(observed.value)) {
    return failure(metric, key, observed?.error ?? defaultFetchError(metric), true, context);
  }
  const value = observed.value;
  const tolerances = context.hpa.tolerance;
  const target = metric.target;
  if (metric.type === "Resource" || metric.type === "ContainerResource" || metric.type === "Pods") {
    const ready = observed.readyPods ?? context.readyPodCount;
    if (ready <= 0)
      return failure(
        metric,
        key,
        "did not receive metrics for targeted pods (pods might be unready)",
        false,
        context,
      );
    const pods = { ready, missing: observed.missingPods ?? 0, unready: observed.unreadyPods ?? 0 };
    if (target.type === "Utilization") {
      const utilization = Math.trunc(value);
      const replicas = perPodReplicas(
        utilization,
        target.averageUtilization,
        Math.max(100, target.averageUtilization),
        pods,
        context.currentReplicas,
        tolerances,
      );
      const current: MetricValueStatus =
        observed.averageUsage === undefined
          ? { averageUtilization: utilization }
          : {
              averageUtilization: utilization,
              averageValue: formatQuantity(toMilli(observed.averageUsage), quantityFormat(metric)),
            };
      return success(metric, key, replicas, current);
    }
    if (target.type !== "AverageValue") {
      return failure(
        metric,
        key,
        "invalid metric source: neither an average utilization target nor an average value target was set",
        false,
        context,
      );
    }
    const targetMilli = target.averageValue.milli;
    const usage = toMilli(value);
    const replicas = perPodReplicas(
      usage,
      targetMilli,
      targetMilli,
      pods,
      context.currentReplicas,
      tolerances,
    );
    return success(metric, key, replicas, { averageValue: formatQuantity(usage, quantityFormat(metric)) });
  }
  const usage = toMilli(value);
  if (target.type === "AverageValue") {
    const replicas = perPodTargetReplicas(
      usage,
      target.averageValue.milli,
      context.statusReplicas,
      tolerances,
    );
    const perPod = context.statusReplicas === 0 ? 0 : Math.ceil(usage / context.statusReplicas);
    return success(metric, key, replicas, { averageValue: formatQuantity(perPod) });
  }
  if (target.type !== "Value") {
    return failure(
      metric,
      key,
      "invalid metric source: neither a value target nor an average value target was set",
      false,
      context,
    );
  }
  const ratio = usage / target.value.milli;
  const replicas = isWithinTolerance(ratio, tolerances)
    ? context.currentReplicas
    : Math.min(MAX_INT32, Math.ceil(ratio * context.readyPodCount));
  return success(metric, key, replicas, { value: formatQuantity(usage) });
}

interface PodCounts {
  readonly ready: number;
  readonly missing: number;
  readonly unready: number;
}

/**
 * Upstream GetResourceReplicas / calcPlainMetricReplicas on averages: `usage` is the truncated average over the
 * ready pods (utilization % or milli-value). Missing pods count as `fillOnScaleDown` on a scale-down and 0 on a
 * scale-up, unready pods as 0 on a scale-up; the recomputed ratio must stay out of tolerance and keep direction.
 * Re-averaging assumes equal requests per pod (per-pod requests are not observed here).
 */
function perPodReplicas(
  usage: number,
  target: number,
  fillOnScaleDown: number,
  pods: PodCounts,
  currentReplicas: number,
  tolerances: Tolerances,
): number {
  const ratio = usage / target;
  const scaleUpWithUnready = pods.unready > 0 && ratio > 1;
  if (!scaleUpWithUnready && pods.missing === 0) {
    return isWithinTolerance(ratio, tolerances) ? currentReplicas : Math.ceil(ratio * pods.ready);
  }
  let total = usage * pods.ready;
  let counted = pods.ready;
  if (pods.missing > 0 && ratio < 1) {
    total += fillOnScaleDown * pods.missing;
    counted += pods.missing;
  } else if (pods.missing > 0 && ratio > 1) {
    counted += pods.missing;
  }
  if (scaleUpWithUnready) counted += pods.unready;
  const newRatio = Math.trunc(total / counted) / target;
  const flipped = (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1);
  if (isWithinTolerance(newRatio, tolerances) || flipped) return currentReplicas;
  const newReplicas = Math.ceil(newRatio * counted);
  const wrongWay =
    (newRatio < 1 && newReplicas > currentReplicas) || (newRatio > 1 && newReplicas < currentReplicas);
  return wrongWay ? currentReplicas : newReplicas;
}

/** Upstream GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas: ceil(total / target per pod). */
function perPodTargetReplicas(
  usage: number,
  targetPerPod: number,
  statusReplicas: number,
  tolerances: Tolerances,
) {
  const ratio = usage / (targetPerPod * statusReplicas);
  if (isWithinTolerance(ratio, tolerances)) return statusReplicas;
  return Math.min(MAX_INT32, Math.ceil(usage / targetPerPod));
}

function quantityFormat(metric: NormalizedMetric): "DecimalSI" | "BinarySI" {
  const isMemory =
    (metric.type === "Resource" || metric.type === "ContainerResource") && metric.name === "memory";
  return isMemory ? "BinarySI" : "DecimalSI";
}

function success(
  metric: NormalizedMetric,
  key: string,
  replicas: number,
  current: MetricValueStatus,
): MetricProposal {
  return {
    ok: true,
    key,
    replicas,
    description: describeMetric(metric),
    status: metricStatus(metric, current),
  };
}

/** Upstream's metric description used in ValidMetricFound and "… above target" (wording copied, quirks included). */
export function describeMetric(metric: NormalizedMetric): string {
  const utilization = metric.target.type === "Utilization";
  switch (metric.type) {
    case "Resource":
      return utilization
        ? `${metric.name} resource utilization (percentage of request)`
        : `${metric.name} resource`;
    case "ContainerResource":
      return utilization
        ? `${metric.name} container resource utilization (percentage of request)`
        : `${metric.name} resource`;
    case "Pods":
      return `pods metric ${metric.name}`;
    case "Object":
      // Upstream labels an Object AverageValue metric "external metric"; kept so messages match kubectl describe.
      return metric.target.type === "Value"
        ? `${metric.describedObject.kind} metric ${metric.name}`
        : `external metric ${metric.name}(${goLabelSelector(metric.selector)})`;
    case "External":
      return `external metric ${metric.name}(${goLabelSelector(metric.selector)})`;
  }
}

function metricStatus(metric: NormalizedMetric, current: MetricValueStatus): MetricStatus {
  switch (metric.type) {
    case "Resource":
      return { type: "Resource", resource: { name: metric.name, current } };
    case "ContainerResource":
      return {
        type: "ContainerResource",
        containerResource: { name: metric.name, container: metric.container, current },
      };
    case "Pods":
      return { type: "Pods", pods: { metric: metricIdentifier(metric.name, metric.selector), current } };
    case "Object":
      return {
        type: "Object",
        object: {
          describedObject: metric.describedObject,
          metric: metricIdentifier(metric.name, metric.selector),
          current,
        },
      };
    case "External":
      return {
        type: "External",
        external: { metric: metricIdentifier(metric.name, metric.selector), current },
      };
  }
}

function metricIdentifier(name: string, selector: LabelSelector | null): Record<string, unknown> {
  return selector === null ? { name } : { name, selector };
}

function defaultFetchError(metric: NormalizedMetric): string {
  switch (metric.type) {
    case "Resource":
    case "ContainerResource":
      return "no metrics returned from resource metrics API";
    case "Pods":
    case "Object":
      return "no metrics returned from custom metrics API";
    case "External":
      return "no metrics returned from external metrics API";
  }
}

const FAILURE_REASONS: Readonly<Record<NormalizedMetric["type"], string>> = {
  Resource: "FailedGetResourceMetric",
  ContainerResource: "FailedGetContainerResourceMetric",
  Pods: "FailedGetPodsMetric",
  Object: "FailedGetObjectMetric",
  External: "FailedGetExternalMetric",
};

// Error texts follow the wrapping in horizontal.go/replica_calculator.go so events read like the real controller's.
function failure(
  metric: NormalizedMetric,
  key: string,
  detail: string,
  fetchFailed: boolean,
  context: MetricContext,
): MetricProposal {
  const namespace = context.hpa.namespace;
  let error: string;
  let wrapped: string;
  switch (metric.type) {
    case "Resource":
    case "ContainerResource": {
      const inner = fetchFailed ? `unable to get metrics for resource ${metric.name}: ${detail}` : detail;
      const what = metric.target.type === "Utilization" ? "utilization" : "usage";
      error = `failed to get ${metric.name} ${what}: ${inner}`;
      wrapped =
        metric.type === "Resource"
          ? `failed to get ${metric.name} resource metric value: ${error}`
          : `failed to get ${metric.container} container metric value: ${error}`;
      break;
    }
    case "Pods":
      error = fetchFailed ? `unable to get metric ${metric.name}: ${detail}` : detail;
      wrapped = `failed to get pods metric value: ${error}`;
      break;
    case "Object": {
      const { kind, name } = metric.describedObject;
      error = fetchFailed
        ? `unable to get metric ${metric.name} on ${kind} ${namespace}/${name}: ${detail}`
        : detail;
      const middle =
        metric.target.type === "Value" ? error : `failed to get ${metric.name} object metric: ${error}`;
      wrapped = `failed to get object metric value: ${middle}`;
      break;
    }
    case "External": {
      const selector = goLabelSelector(metric.selector);
      error = fetchFailed
        ? `unable to get external metric ${namespace}/${metric.name}/${selector}: ${detail}`
        : detail;
      const middle =
        metric.target.type === "Value"
          ? `failed to get external metric ${metric.name}: ${error}`
          : `failed to get ${metric.name} external metric: ${error}`;
      wrapped = `failed to get ${metric.name} external metric value: ${middle}`;
      break;
    }
  }
  return { ok: false, key, reason: FAILURE_REASONS[metric.type], error, wrapped, status: { type: "" } };
}

/** Go's `%+v` of a *metav1.LabelSelector (its generated String()), as embedded in upstream messages. */
export function goLabelSelector(selector: LabelSelector | null): string {
  if (selector === null) return "nil";
  const labels = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}: ${value},`)
    .join("");
  const expressions = (selector.matchExpressions ?? [])
    .map(
      (requirement) =>
        `LabelSelectorRequirement{Key:${requirement.key},Operator:${requirement.operator},Values:[${(requirement.values ?? []).join(" ")}],},`,
    )
    .join("");
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${expressions}},}`;
}
