/**
 * Version conversion for kinds served at more than one version, one object seen through all of them:
 * HorizontalPodAutoscaler autoscaling/v1 ⇄ autoscaling/v2 (stored as v2, converted like kube-apiserver's
 * `pkg/apis/autoscaling/v1/conversion.go`, with v2-only data carried in `autoscaling.alpha.kubernetes.io/*`
 * annotations on v1), and the KubeVirt CRDs whose versions share one schema (only apiVersion changes).
 */
import type { ResourceDef } from "./resources";
import { groupVersion } from "./resources";
import type { KObject } from "./store";

type Json = Record<string, unknown>;

const ANN_METRICS = "autoscaling.alpha.kubernetes.io/metrics";
const ANN_BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior";
const ANN_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions";
const ANN_CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics";
const DEFAULT_CPU_UTILIZATION = 80;

/** Converts an object received at `version` into the storage version. */
export function toStorage(def: ResourceDef, obj: KObject, version: string): KObject {
  const storageApiVersion = groupVersion(def.group, def.storageVersion);
  if (def.kind === "HorizontalPodAutoscaler") {
    const v2 = version === "v1" ? hpaV1ToV2(obj) : obj;
    return defaultHpaV2({ ...v2, apiVersion: storageApiVersion, kind: def.kind });
  }
  return withApiVersion(obj, storageApiVersion, def.kind);
}

/** Converts a stored object to the requested served version. */
export function fromStorage(def: ResourceDef, obj: KObject, version: string): KObject {
  if (version === def.storageVersion) return obj;
  if (def.kind === "HorizontalPodAutoscaler" && version === "v1") return hpaV2ToV1(obj);
  return withApiVersion(obj, groupVersion(def.group, version), def.kind);
}

/**
 * The stored JSON text seen at `version`: for kinds whose versions differ only in apiVersion this rewrites the
 * text instead of re-serializing (lists of thousands of objects stay cheap).
 */
export function jsonAtVersion(def: ResourceDef, obj: KObject, json: string, version: string): string {
  if (version === def.storageVersion) return json;
  if (def.kind === "HorizontalPodAutoscaler") return JSON.stringify(fromStorage(def, obj, version));
  const from = JSON.stringify(groupVersion(def.group, def.storageVersion));
  const to = JSON.stringify(groupVersion(def.group, version));
  const at = json.indexOf(`"apiVersion":${from}`);
  if (at < 0) return JSON.stringify(fromStorage(def, obj, version));
  return `${json.slice(0, at)}"apiVersion":${to}${json.slice(at + 13 + from.length)}`;
}

function withApiVersion(obj: KObject, apiVersion: string, kind: string): KObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion, kind, ...rest } as KObject;
}

function asRecord(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function parseAnnotation(annotations: Record<string, string>, key: string): unknown {
  const text = annotations[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isCpuUtilization(metric: unknown): boolean {
  const m = asRecord(metric);
  const resource = asRecord(m?.resource);
  return (
    m?.type === "Resource" && resource?.name === "cpu" && asRecord(resource.target)?.type === "Utilization"
  );
}

function hpaV1ToV2(obj: KObject): KObject {
  const spec = asRecord(obj.spec) ?? {};
  const status = asRecord(obj.status);
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  const extraMetrics = parseAnnotation(annotations, ANN_METRICS);
  const behavior = parseAnnotation(annotations, ANN_BEHAVIOR);
  const conditions = parseAnnotation(annotations, ANN_CONDITIONS);
  const currentExtra = parseAnnotation(annotations, ANN_CURRENT_METRICS);
  for (const key of [ANN_METRICS, ANN_BEHAVIOR, ANN_CONDITIONS, ANN_CURRENT_METRICS]) delete annotations[key];

  const metrics: unknown[] = [];
  if (typeof spec.targetCPUUtilizationPercentage === "number") {
    metrics.push({
      type: "Resource",
      resource: {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: spec.targetCPUUtilizationPercentage },
      },
    });
  }
  if (Array.isArray(extraMetrics)) metrics.push(...extraMetrics.filter((m) => !isCpuUtilization(m)));

  const v2Spec: Json = {
    scaleTargetRef: spec.scaleTargetRef,
    ...(spec.minReplicas === undefined ? {} : { minReplicas: spec.minReplicas }),
    maxReplicas: spec.maxReplicas,
    ...(metrics.length > 0 ? { metrics } : {}),
    ...(asRecord(behavior) ? { behavior } : {}),
  };

  let v2Status: Json | undefined;
  if (status) {
    const currentMetrics: unknown[] = [];
    if (typeof status.currentCPUUtilizationPercentage === "number") {
      currentMetrics.push({
        type: "Resource",
        resource: { name: "cpu", current: { averageUtilization: status.currentCPUUtilizationPercentage } },
      });
    }
    if (Array.isArray(currentExtra)) currentMetrics.push(...currentExtra);
    const { currentCPUUtilizationPercentage: _c, currentReplicas, ...restStatus } = status;
    // v2's currentReplicas is omitempty, desiredReplicas and currentMetrics are not (nil list: null).
    v2Status = {
      ...restStatus,
      ...(typeof currentReplicas === "number" && currentReplicas !== 0 ? { currentReplicas } : {}),
      desiredReplicas: typeof restStatus.desiredReplicas === "number" ? restStatus.desiredReplicas : 0,
      currentMetrics: currentMetrics.length > 0 ? currentMetrics : null,
      ...(Array.isArray(conditions) ? { conditions } : {}),
    };
  }

  const metadata = { ...obj.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata,
    spec: v2Spec,
    ...(v2Status ? { status: v2Status } : {}),
  } as KObject;
}

function hpaV2ToV1(obj: KObject): KObject {
  const spec = asRecord(obj.spec) ?? {};
  const status = asRecord(obj.status);
  const annotations: Record<string, string> = { ...(obj.metadata.annotations ?? {}) };
  const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => !isCpuUtilization(m));
  if (others.length > 0) annotations[ANN_METRICS] = JSON.stringify(others);
  if (asRecord(spec.behavior)) annotations[ANN_BEHAVIOR] = JSON.stringify(spec.behavior);

  const v1Spec: Json = {
    scaleTargetRef: spec.scaleTargetRef,
    ...(spec.minReplicas === undefined ? {} : { minReplicas: spec.minReplicas }),
    maxReplicas: spec.maxReplicas,
  };
  const cpuTarget = asRecord(asRecord(asRecord(cpu)?.resource)?.target);
  if (typeof cpuTarget?.averageUtilization === "number") {
    v1Spec.targetCPUUtilizationPercentage = cpuTarget.averageUtilization;
  }

  let v1Status: Json | undefined;
  if (status) {
    const { currentMetrics, conditions, ...rest } = status;
    // v1's currentReplicas and desiredReplicas are not omitempty.
    v1Status = {
      ...rest,
      currentReplicas: typeof rest.currentReplicas === "number" ? rest.currentReplicas : 0,
      desiredReplicas: typeof rest.desiredReplicas === "number" ? rest.desiredReplicas : 0,
    };
    const current = Array.isArray(currentMetrics) ? currentMetrics : [];
    const cpuCurrent = current.find((m) => {
      const r = asRecord(asRecord(m)?.resource);
      return asRecord(m)?.type === "Resource" && r?.name === "cpu";
    });
    const cpuValue = asRecord(asRecord(asRecord(cpuCurrent)?.resource)?.current)?.averageUtilization;
    if (typeof cpuValue === "number") v1Status.currentCPUUtilizationPercentage = cpuValue;
    const otherCurrent = current.filter((m) => m !== cpuCurrent);
    if (otherCurrent.length > 0) annotations[ANN_CURRENT_METRICS] = JSON.stringify(otherCurrent);
    if (Array.isArray(conditions) && conditions.length > 0)
      annotations[ANN_CONDITIONS] = JSON.stringify(conditions);
  }

  const metadata = { ...obj.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  return {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata,
    spec: v1Spec,
    ...(v1Status ? { status: v1Status } : {}),
  } as KObject;
}

/** autoscaling/v2 defaulting (`SetDefaults_HorizontalPodAutoscaler`): minReplicas 1, CPU 80% when no metrics. */
function defaultHpaV2(obj: KObject): KObject {
  const spec = { ...(asRecord(obj.spec) ?? {}) };
  if (spec.minReplicas === undefined) spec.minReplicas = 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: "Resource",
        resource: {
          name: "cpu",
          target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION },
        },
      },
    ];
  }
  return { ...obj, spec };
}
