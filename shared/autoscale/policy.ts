/**
 * The policy side of a decision, all pure: which HorizontalPodAutoscaler governs a pool (the one whose
 * scaleTargetRef names it, as `kubectl autoscale vmpool|vmirs` creates), whether we must stand down for another
 * autoscaler (KEDA, or an in-cluster HPA controller that writes its status), the pool's step-scaling config for
 * value-less alerts (HPA annotations), and how signal values map onto the HPA's metrics.
 */
import type { ObjectOf } from "../kube";
import type { Note } from "../planning";
import type { ObservedMetric } from "../planning/hpa";
import { metricKey } from "../planning/hpa";
import type { PoolRef } from "../reconcile";
import { type HpaSpecV2, type StepScalingConfig, StepScalingConfigSchema } from "../schemas";
import type { Signal } from "./signal";

/** An HPA as read through shared/kube (autoscaling/v2). */
export type HpaObject = ObjectOf<"HorizontalPodAutoscaler">;

/** `"false"` on an HPA: never act on it; `"true"`: act even where another autoscaler seems active. */
export const AUTOSCALE_ANNOTATION = "vmpool-functions.io/autoscale";
/** Step scaling for alerts without a value: `"+2"` or `"+50%"` while an alert fires. */
export const STEP_UP_ANNOTATION = "vmpool-functions.io/step-up";
/** Optional: `"-1"` or `"-25%"` once the alert resolves. */
export const STEP_DOWN_ANNOTATION = "vmpool-functions.io/step-down";
/** Optional: seconds between steps (default 300). */
export const STEP_COOLDOWN_ANNOTATION = "vmpool-functions.io/step-cooldown-seconds";
/** The label KEDA puts on the HPA it creates for a ScaledObject. */
export const KEDA_SCALED_OBJECT_LABEL = "scaledobject.keda.sh/name";

const API_GROUPS: Readonly<Record<PoolRef["kind"], string>> = {
  VirtualMachinePool: "pool.kubevirt.io",
  VirtualMachineInstanceReplicaSet: "kubevirt.io",
};

/** True when the HPA's scaleTargetRef names the pool: same kind, name and API group (any version). */
export function targetsPool(hpa: HpaObject, ref: PoolRef): boolean {
  const target = hpa.spec.scaleTargetRef;
  if (target.kind !== ref.kind || target.name !== ref.name) return false;
  const apiVersion = target.apiVersion ?? "";
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
  return group === API_GROUPS[ref.kind];
}

interface ManagedFieldsEntry {
  readonly manager: string;
  readonly subresource?: string;
  readonly time: Date;
}

function managedFieldsOf(hpa: HpaObject): ManagedFieldsEntry[] {
  const raw = (hpa.metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(raw)) return [];
  const entries: ManagedFieldsEntry[] = [];
  for (const entry of raw) {
    if (entry === null || typeof entry !== "object") continue;
    const { manager, subresource, time } = entry as Record<string, unknown>;
    if (typeof manager !== "string" || typeof time !== "string") continue;
    const at = new Date(time);
    if (Number.isNaN(at.getTime())) continue;
    entries.push({ manager, time: at, ...(typeof subresource === "string" ? { subresource } : {}) });
  }
  return entries;
}

/**
 * Undefined when we may act on this HPA; otherwise why we stand down. KEDA owns HPAs it labels or owns through a
 * ScaledObject. An in-cluster HPA controller shows itself by writing the HPA's status (subresource `status` in
 * managedFields) under another manager name, e.g. `kube-controller-manager`, within `windowMs`.
 */
export function standDownReason(
  hpa: HpaObject,
  ourManager: string,
  now: Date,
  windowMs: number,
): Note | undefined {
  const flag = hpa.metadata.annotations?.[AUTOSCALE_ANNOTATION];
  const name = `HorizontalPodAutoscaler ${hpa.metadata.namespace ?? ""}/${hpa.metadata.name}`;
  if (flag === "false") {
    return {
      reason: "OptedOut",
      message: `${name} has ${AUTOSCALE_ANNOTATION}="false": left to another autoscaler`,
    };
  }
  if (flag === "true") return undefined;
  const scaledObject =
    hpa.metadata.labels?.[KEDA_SCALED_OBJECT_LABEL] ??
    hpa.metadata.ownerReferences?.find((owner) => owner.kind === "ScaledObject")?.name;
  if (scaledObject !== undefined) {
    return {
      reason: "KedaScaledObject",
      message: `${name} belongs to KEDA ScaledObject ${scaledObject}: KEDA scales this target (annotate ${AUTOSCALE_ANNOTATION}="true" to take over)`,
    };
  }
  const foreign = managedFieldsOf(hpa)
    .filter((entry) => entry.subresource === "status" && entry.manager !== ourManager)
    .sort((a, b) => b.time.getTime() - a.time.getTime())[0];
  if (foreign && now.getTime() - foreign.time.getTime() < windowMs) {
    return {
      reason: "HpaControllerActive",
      message: `${foreign.manager} wrote the status of ${name} at ${foreign.time.toISOString()}: an in-cluster HPA controller scales this target (annotate ${AUTOSCALE_ANNOTATION}="true" to take over)`,
    };
  }
  return undefined;
}

/** The pool's step config: absent (no step-up annotation), invalid (with why), or parsed. */
export type StepConfigLookup =
  | { readonly kind: "absent" }
  | { readonly kind: "invalid"; readonly message: string }
  | { readonly kind: "ok"; readonly config: StepScalingConfig };

/** Reads the step-scaling annotations of an HPA. */
export function stepConfigOf(hpa: HpaObject): StepConfigLookup {
  const annotations = hpa.metadata.annotations ?? {};
  const stepUp = annotations[STEP_UP_ANNOTATION];
  if (stepUp === undefined) return { kind: "absent" };
  const cooldown = annotations[STEP_COOLDOWN_ANNOTATION];
  const stepDown = annotations[STEP_DOWN_ANNOTATION];
  const parsed = StepScalingConfigSchema.safeParse({
    stepUp,
    ...(stepDown === undefined ? {} : { stepDown }),
    ...(cooldown === undefined ? {} : { cooldownSeconds: Number(cooldown) }),
  });
  if (parsed.success) return { kind: "ok", config: parsed.data };
  const issue = parsed.error.issues[0];
  const field =
    { stepUp: STEP_UP_ANNOTATION, stepDown: STEP_DOWN_ANNOTATION }[String(issue?.path[0])] ??
    STEP_COOLDOWN_ANNOTATION;
  return { kind: "invalid", message: `annotation ${field}: ${issue?.message ?? "invalid"}` };
}

/** The name a signal's `metric` is matched against: the resource name, or the custom metric's name. */
function metricName(metric: HpaSpecV2["metrics"][number]): string {
  return metric.name.toLowerCase();
}

/**
 * The observations a set of signals gives the HPA's metrics, keyed by `metricKey`. The last signal for a metric
 * wins. `unmatched` lists signal metrics the HPA does not have.
 */
export function observationsFor(
  spec: HpaSpecV2,
  signals: readonly Signal[],
): { metrics: Record<string, ObservedMetric>; unmatched: string[] } {
  const metrics: Record<string, ObservedMetric> = {};
  const unmatched: string[] = [];
  for (const signal of signals) {
    if (signal.value === undefined) continue;
    const matches = spec.metrics.filter((metric) => metricName(metric) === signal.metric.toLowerCase());
    if (matches.length === 0 && !unmatched.includes(signal.metric)) unmatched.push(signal.metric);
    for (const metric of matches) metrics[metricKey(metric)] = { value: signal.value };
  }
  return { metrics, unmatched };
}

/** `cpu, memory, queue_depth`: the metric names of an HPA, for messages. */
export function metricNames(spec: HpaSpecV2): string {
  return spec.metrics.map((metric) => metric.name).join(", ");
}
