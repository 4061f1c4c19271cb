/**
 * HorizontalPodAutoscalers as chat sees them: which one targets a pool, the object `autoscale` creates (the one
 * `kubectl autoscale <kind> <name> --min --max --cpu-percent` creates since kubectl 1.33: autoscaling/v2, named
 * after the target, scale target at the pool's served apiVersion, one CPU Utilization metric), the in-place update
 * of an existing one, who manages it, and its summary for `status`. Pure.
 * Source: reference/scaling-triggers.md §1.9; test/fixtures/protobuf (bodies captured from kubectl 1.33).
 */
import type { HpaMetricSpec } from "../schemas";
import type { Autoscaler, NewAutoscaler, PoolSnapshot } from "./port";
import type { AutoscalerSummary } from "./render";

/** What `autoscale <pool> --min --max --cpu-percent` asks for. */
export interface AutoscaleSpec {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuPercent: number;
}

/** The target's bounds while an HPA manages it (`minReplicas` defaults to 1 server-side). */
export interface AutoscalerBounds {
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** True when the HPA's scale target is this pool (any served version of its group). */
export function targetsPool(hpa: Autoscaler, pool: PoolSnapshot): boolean {
  const ref = hpa.spec.scaleTargetRef;
  if (ref.kind !== pool.id.kind || ref.name !== pool.id.name) return false;
  return !ref.apiVersion || groupOf(ref.apiVersion) === groupOf(pool.apiVersion);
}

/**
 * The HPA acting on the pool, if any. Two HPAs on one target is a misconfiguration the HPA controller refuses
 * to act on (`AmbiguousSelector`); the first by name is reported so the reply still names one.
 */
export function findAutoscaler(hpas: readonly Autoscaler[], pool: PoolSnapshot): Autoscaler | undefined {
  return hpas
    .filter((hpa) => hpa.metadata.namespace === undefined || hpa.metadata.namespace === pool.id.namespace)
    .filter((hpa) => targetsPool(hpa, pool))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
}

/** The bounds an HPA holds its target within. */
export function autoscalerBounds(hpa: Autoscaler): AutoscalerBounds {
  return {
    name: hpa.metadata.name,
    minReplicas: hpa.spec.minReplicas ?? 1,
    maxReplicas: hpa.spec.maxReplicas,
  };
}

/**
 * The controller that owns the HPA (`ScaledObject web` for KEDA's), or undefined when nobody does. Chat must
 * not edit or delete such an HPA: its owner would put it back.
 */
export function autoscalerManager(hpa: Autoscaler): string | undefined {
  const owner =
    (hpa.metadata.ownerReferences ?? []).find((ref) => ref.controller) ?? hpa.metadata.ownerReferences?.[0];
  return owner ? `${owner.kind} ${owner.name}` : undefined;
}

function cpuMetric(cpuPercent: number): HpaMetricSpec {
  return {
    type: "Resource",
    resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpuPercent } },
  };
}

function isCpuMetric(metric: HpaMetricSpec): boolean {
  return metric.type === "Resource" && metric.resource.name === "cpu";
}

/** The HPA `kubectl autoscale` would create for the pool. */
export function buildAutoscaler(pool: PoolSnapshot, spec: AutoscaleSpec): NewAutoscaler {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: pool.id.name, namespace: pool.id.namespace },
    spec: {
      scaleTargetRef: { apiVersion: pool.apiVersion, kind: pool.id.kind, name: pool.id.name },
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      metrics: [cpuMetric(spec.cpuPercent)],
    },
  };
}

/**
 * An existing HPA with the new bounds and CPU target. Its other metrics and its behavior stay: the command only
 * speaks about CPU, and dropping a memory or external metric would silently change how the pool scales.
 */
export function withAutoscaleSpec(hpa: Autoscaler, spec: AutoscaleSpec): Autoscaler {
  const others = (hpa.spec.metrics ?? []).filter((metric) => !isCpuMetric(metric));
  return {
    ...hpa,
    spec: {
      ...hpa.spec,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      metrics: [cpuMetric(spec.cpuPercent), ...others],
    },
  };
}

/** True when the HPA already has exactly these bounds and CPU target. */
export function hasAutoscaleSpec(hpa: Autoscaler, spec: AutoscaleSpec): boolean {
  const cpu = (hpa.spec.metrics ?? []).find(isCpuMetric);
  return (
    (hpa.spec.minReplicas ?? 1) === spec.minReplicas &&
    hpa.spec.maxReplicas === spec.maxReplicas &&
    cpu?.type === "Resource" &&
    cpu.resource.target.type === "Utilization" &&
    cpu.resource.target.averageUtilization === spec.cpuPercent
  );
}

/** What `status` shows about the HPA. */
export function summarizeAutoscaler(hpa: Autoscaler): AutoscalerSummary {
  const bounds = autoscalerBounds(hpa);
  const cpu = (hpa.spec.metrics ?? []).find(isCpuMetric);
  const cpuPercent =
    cpu?.type === "Resource" ? (cpu.resource.target.averageUtilization ?? undefined) : undefined;
  const currentCpuPercent = currentCpu(hpa.status?.currentMetrics);
  const desired = hpa.status?.desiredReplicas ?? undefined;
  const managedBy = autoscalerManager(hpa);
  return {
    ...bounds,
    ...(cpuPercent === undefined ? {} : { cpuPercent }),
    ...(currentCpuPercent === undefined ? {} : { currentCpuPercent }),
    ...(desired === undefined ? {} : { desiredReplicas: desired }),
    ...(managedBy === undefined ? {} : { managedBy }),
  };
}

/** `status.currentMetrics[type=Resource, resource.name=cpu].resource.current.averageUtilization`. */
function currentCpu(metrics: ReadonlyArray<Record<string, unknown>> | null | undefined): number | undefined {
  for (const metric of metrics ?? []) {
    if (metric.type !== "Resource") continue;
    const resource = metric.resource as
      | { name?: unknown; current?: { averageUtilization?: unknown } }
      | undefined;
    const value = resource?.current?.averageUtilization;
    if (resource?.name === "cpu" && typeof value === "number") return value;
  }
  return undefined;
}
