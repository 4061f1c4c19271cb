/**
 * What the HPA controller does with per-pod resource samples, for any source that has them (Prometheus' KubeVirt
 * series, the resource metrics API): group the target's pods into ready / unready / missing / ignored
 * (`groupPods`), sum the requests from the pod specs (`calculatePodRequests`: a container without a request is an
 * error), and turn the ready pods' samples into the Utilization or AverageValue observation `decide` takes
 * (`GetResourceUtilizationRatio`, `GetMetricUsageRatio`). Pure. Upstream: kubernetes
 * `pkg/controller/podautoscaler/replica_calculator.go` and `metrics/utilization.go`.
 */
import { z } from "zod";
import type { ObservedMetric } from "../planning/hpa";
import { parseQuantity } from "../schemas";

/** kube-controller-manager's defaults (`--horizontal-pod-autoscaler-cpu-initialization-period`, `…-initial-readiness-delay`). */
export const CPU_INITIALIZATION_PERIOD_MS = 300_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;

const quantity = z.union([z.string(), z.number()]);

/** The fields of a Pod the HPA reads (loose: everything else passes). */
export const TargetPodSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
    deletionTimestamp: z.string().nullish(),
    ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string() })).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z
    .looseObject({
      containers: z
        .array(
          z.looseObject({
            name: z.string(),
            resources: z.looseObject({ requests: z.record(z.string(), quantity).nullish() }).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      startTime: z.string().nullish(),
      conditions: z
        .array(
          z.looseObject({ type: z.string(), status: z.string(), lastTransitionTime: z.string().nullish() }),
        )
        .nullish(),
    })
    .nullish(),
});
export type TargetPod = z.infer<typeof TargetPodSchema>;

/** The VMI a virt-launcher pod runs (its controller reference; else KubeVirt's `kubevirt.io/domain` annotation). */
export function vmiNameOf(pod: TargetPod): string | undefined {
  const owner = pod.metadata.ownerReferences?.find((ref) => ref.kind === "VirtualMachineInstance");
  return owner?.name ?? pod.metadata.annotations?.["kubevirt.io/domain"];
}

/** One pod's sample: the usage in base units (cores, bytes) and when it was measured over which window. */
export interface PodSample {
  readonly value: number;
  readonly timestamp: number;
  readonly windowMs: number;
}

/** `groupPods`' answer (pod names). */
export interface PodGroups {
  readonly ready: readonly string[];
  readonly unready: readonly string[];
  readonly missing: readonly string[];
  readonly ignored: readonly string[];
}

function time(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** Upstream `groupPods`: deleted and failed pods are ignored, pending ones unready, CPU samples of starting pods too. */
export function groupPods(
  pods: readonly TargetPod[],
  samples: ReadonlyMap<string, PodSample>,
  resource: string,
  now: number,
): PodGroups {
  const ready: string[] = [];
  const unready: string[] = [];
  const missing: string[] = [];
  const ignored: string[] = [];
  for (const pod of pods) {
    const name = pod.metadata.name;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === "Failed") {
      ignored.push(name);
      continue;
    }
    if (pod.status?.phase === "Pending") {
      unready.push(name);
      continue;
    }
    const sample = samples.get(name);
    if (sample === undefined) {
      missing.push(name);
      continue;
    }
    if (resource === "cpu" && cpuUnready(pod, sample, now)) {
      unready.push(name);
      continue;
    }
    ready.push(name);
  }
  return { ready, unready, missing, ignored };
}

function cpuUnready(pod: TargetPod, sample: PodSample, now: number): boolean {
  const condition = pod.status?.conditions?.find((c) => c.type === "Ready");
  const started = time(pod.status?.startTime);
  if (condition === undefined || started === undefined) return true;
  const transition = time(condition.lastTransitionTime) ?? started;
  if (started + CPU_INITIALIZATION_PERIOD_MS > now) {
    // Still starting: ignore the sample if unready, or if no full window was measured since it became ready.
    return condition.status === "False" || sample.timestamp < transition + sample.windowMs;
  }
  // Past start-up: ignore it only if it is unready and has never been ready.
  return condition.status === "False" && started + INITIAL_READINESS_DELAY_MS > transition;
}

/** Upstream `calculatePodRequests`: the sum of every container's request, or the error naming the first without. */
export function podRequests(
  pods: readonly TargetPod[],
  resource: string,
): { readonly requests: ReadonlyMap<string, number> } | { readonly error: string } {
  const requests = new Map<string, number>();
  for (const pod of pods) {
    let total = 0;
    for (const container of pod.spec?.containers ?? []) {
      const raw = container.resources?.requests?.[resource];
      const parsed = raw === undefined ? undefined : parseQuantity(raw);
      if (parsed === undefined) {
        return {
          error: `missing request for ${resource} in container ${container.name} of Pod ${pod.metadata.name}`,
        };
      }
      total += parsed.milli;
    }
    requests.set(pod.metadata.name, total / 1000);
  }
  return { requests };
}

/** Base units → milli-units rounded up like Quantity.MilliValue (rounding to micro first absorbs float noise). */
function milli(value: number): number {
  return Math.ceil(Math.round(value * 1e6) / 1e3);
}

/** How a Resource metric's target reads the samples. */
export type ResourceTargetType = "Utilization" | "AverageValue";

/**
 * The observation `decide` takes for a Resource metric from the target's pods and their samples (keyed by pod
 * name), or the error the HPA would report (`error` set) when it cannot compute one.
 */
export function resourceObservation(
  pods: readonly TargetPod[],
  samples: ReadonlyMap<string, PodSample>,
  resource: string,
  target: ResourceTargetType,
  now: number,
): ObservedMetric {
  if (pods.length === 0) return { error: "no pods returned by selector while calculating replica count" };
  const groups = groupPods(pods, samples, resource, now);
  const counts = { missingPods: groups.missing.length, unreadyPods: groups.unready.length };
  if (groups.ready.length === 0) {
    return { error: "did not receive metrics for targeted pods (pods might be unready)" };
  }
  // In milli-units, as upstream sums resource.Quantity.MilliValue()s, so 0.06 of 0.3 cores is 20 %, never 19.
  let usage = 0;
  for (const name of groups.ready) usage += milli(samples.get(name)?.value ?? 0);
  const averageUsage = usage / groups.ready.length / 1000;
  if (target === "AverageValue") return { value: averageUsage, readyPods: groups.ready.length, ...counts };
  const requests = podRequests(pods, resource);
  if ("error" in requests) return { error: requests.error };
  let requested = 0;
  for (const name of groups.ready) requested += milli(requests.requests.get(name) ?? 0);
  if (requested <= 0) return { error: "no metrics returned matched known pods" };
  return {
    value: Math.trunc((usage * 100) / requested),
    averageUsage,
    readyPods: groups.ready.length,
    ...counts,
  };
}
