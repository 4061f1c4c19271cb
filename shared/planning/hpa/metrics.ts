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
  /**
   * `fetch` (default): `error` is why the metrics API could not be read, wrapped as upstream wraps fetch errors
   * ("unable to get metrics for resource cpu: …"); `compute`: the calculator's own error, used as is ("missing
   * request for cpu in container compute of Pod …").
   */
  readonly errorStage?: "fetch" | "compute";
  /**
   * Resource and ContainerResource metrics: what the HPA controller itself sees, pod by pod. When set, the
   * proposal is computed from it exactly as upstream `GetResourceReplicas` / `GetRawResourceReplicas` do, and
   * `value`, `averageUsage` and the pod counts are ignored.
   */
  readonly pods?: ResourcePodSamples;
}

/**
 * A Resource metric per pod, in milli-units, grouped as upstream `groupPods` groups them: ready pods with a sample
 * (usage and request), running pods without one (missing), and pending pods or CPU samples taken before a pod was
 * ready (unready). Deleted and failed pods are left out.
 */
export interface ResourcePodSamples {
  readonly ready: readonly { readonly usage: number; readonly request: number }[];
  readonly missing: readonly { readonly request: number }[];
  readonly unready: readonly { readonly request: number }[];
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
  if (observed?.error !== undefined) {
    return failure(metric, key, observed.error, observed.errorStage !== "compute", context);
  }
  if (observed?.pods !== undefined && (metric.type === "Resource" || metric.type === "ContainerResource")) {
    return fromPodSamples(metric, key, observed.pods, context);
  }
  if (observed?.value === undefined || !Number.isFinite(observed.value)) {
    return failure(metric, key, defaultFetchError(metric), true, context);
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

const NO_READY_METRICS = "did not receive metrics for targeted pods (pods might be unready)";

type PodMetric = { readonly usage: number; readonly request: number };

/** Upstream `GetResourceUtilizationRatio`: integer utilization of summed usage over summed requests. */
function utilizationRatio(
  samples: readonly PodMetric[],
  target: number,
): { ratio: number; utilization: number; raw: number } | undefined {
  const usage = samples.reduce((sum, sample) => sum + sample.usage, 0);
  const requests = samples.reduce((sum, sample) => sum + sample.request, 0);
  if (requests === 0) return undefined;
  const utilization = Math.trunc((usage * 100) / requests);
  return { ratio: utilization / target, utilization, raw: Math.trunc(usage / samples.length) };
}

/** Upstream `GetMetricUsageRatio`: the integer average usage over the target. */
function usageRatio(samples: readonly PodMetric[], target: number): { ratio: number; usage: number } {
  const usage = Math.trunc(samples.reduce((sum, sample) => sum + sample.usage, 0) / samples.length);
  return { ratio: usage / target, usage };
}

/**
 * Upstream `GetResourceReplicas` (Utilization) and `calcPlainMetricReplicas` (AverageValue) over per-pod samples:
 * missing pods count as the fallback (a scale-down) or 0 (a scale-up), unready pods as 0 on a scale-up, and the
 * recomputed ratio must leave the tolerance without flipping direction.
 */
function fromPodSamples(
  metric: Extract<NormalizedMetric, { type: "Resource" | "ContainerResource" }>,
  key: string,
  pods: ResourcePodSamples,
  context: MetricContext,
): MetricProposal {
  const tolerances = context.hpa.tolerance;
  const current = context.currentReplicas;
  const target = metric.target;
  if (pods.ready.length === 0) return failure(metric, key, NO_READY_METRICS, false, context);
  if (target.type !== "Utilization" && target.type !== "AverageValue") {
    return failure(
      metric,
      key,
      "invalid metric source: neither an average utilization target nor an average value target was set",
      false,
      context,
    );
  }
  const goal = target.type === "Utilization" ? target.averageUtilization : target.averageValue.milli;
  const ratioOf = (samples: readonly PodMetric[]) =>
    target.type === "Utilization" ? utilizationRatio(samples, goal)?.ratio : usageRatio(samples, goal).ratio;
  const first =
    target.type === "Utilization"
      ? utilizationRatio(pods.ready, goal)
      : { ...usageRatio(pods.ready, goal), utilization: 0, raw: 0 };
  if (first === undefined)
    return failure(metric, key, "no metrics returned matched known pods", false, context);
  const status: MetricValueStatus =
    target.type === "Utilization"
      ? {
          averageUtilization: first.utilization,
          averageValue: formatQuantity(first.raw, quantityFormat(metric)),
        }
      : { averageValue: formatQuantity(usageRatio(pods.ready, goal).usage, quantityFormat(metric)) };
  const done = (replicas: number) => success(metric, key, replicas, status);
  const ratio = first.ratio;
  const scaleUpWithUnready = pods.unready.length > 0 && ratio > 1;
  if (!scaleUpWithUnready && pods.missing.length === 0) {
    return done(isWithinTolerance(ratio, tolerances) ? current : Math.ceil(ratio * pods.ready.length));
  }
  const samples: PodMetric[] = [...pods.ready];
  if (ratio < 1) {
    // Utilization: a missing pod uses max(100, target)% of its request; AverageValue: exactly the target.
    const fallback = (request: number) =>
      target.type === "Utilization" ? Math.trunc((request * Math.max(100, goal)) / 100) : goal;
    for (const pod of pods.missing) samples.push({ usage: fallback(pod.request), request: pod.request });
  } else if (ratio > 1) {
    for (const pod of pods.missing) samples.push({ usage: 0, request: pod.request });
  }
  if (scaleUpWithUnready) for (const pod of pods.unready) samples.push({ usage: 0, request: pod.request });
  const newRatio = ratioOf(samples);
  if (newRatio === undefined)
    return failure(metric, key, "no metrics returned matched known pods", false, context);
  const flipped = (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1);
  if (isWithinTolerance(newRatio, tolerances) || flipped) return done(current);
  const replicas = Math.ceil(newRatio * samples.length);
  const wrongWay = (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current);
  return done(wrongWay ? current : replicas);
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
