/**
 * What the HPA controller does with per-pod resource samples, for every source that has them (the resource
 * metrics API, Prometheus' KubeVirt series): the pod fields it reads, `groupPods` (ready / missing / unready;
 * deleted and failed pods left out), `calculateRequests` from the pod specs (a container without the request is
 * an error), and the per-pod observation `decide` computes Resource and ContainerResource proposals from.
 * Pure. Upstream: kubernetes `pkg/controller/podautoscaler/replica_calculator.go`.
 */
import { z } from "zod";
import type { ObservedMetric, ResourcePodSamples } from "../planning/hpa";
import { type NormalizedMetric, parseQuantity } from "../schemas";

/** The label KubeVirt puts on every virt-launcher pod: the only pods a pool's or replica set's selector can mean. */
export const LAUNCHER_SELECTOR = "kubevirt.io=virt-launcher";

/** kube-controller-manager defaults: `--horizontal-pod-autoscaler-cpu-initialization-period` and `…-initial-readiness-delay`. */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;

const quantity = z.union([z.string(), z.number()]);
const resourceList = z.record(z.string(), quantity).nullable().optional();
const container = z.looseObject({
  name: z.string(),
  resources: z.looseObject({ requests: resourceList }).nullable().optional(),
  restartPolicy: z.string().nullable().optional(),
});

/** The fields of a Pod the calculation reads (the rest passes through untouched). */
export const PodFieldsSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullable().optional(),
    annotations: z.record(z.string(), z.string()).nullable().optional(),
    ownerReferences: z
      .array(z.looseObject({ kind: z.string(), name: z.string() }))
      .nullable()
      .optional(),
    deletionTimestamp: z.string().nullable().optional(),
  }),
  spec: z
    .looseObject({
      containers: z.array(container).nullable().optional(),
      initContainers: z.array(container).nullable().optional(),
      resources: z.looseObject({ requests: resourceList }).nullable().optional(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      startTime: z.string().nullable().optional(),
      conditions: z
        .array(
          z.looseObject({
            type: z.string(),
            status: z.string(),
            lastTransitionTime: z.string().nullable().optional(),
          }),
        )
        .nullable()
        .optional(),
    })
    .optional(),
});
export type PodFields = z.infer<typeof PodFieldsSchema>;

/** One pod's sample of one resource: milli-units summed over its containers, and when and over what window. */
export interface PodSample {
  readonly value: number;
  readonly timestamp: number;
  readonly windowMs: number;
}

/** The metrics these helpers compute. */
export type ResourceMetric = Extract<NormalizedMetric, { type: "Resource" | "ContainerResource" }>;

/** The VMI a virt-launcher pod runs: its controller reference, else KubeVirt's `kubevirt.io/domain` annotation. */
export function vmiNameOf(pod: PodFields): string | undefined {
  const owner = pod.metadata.ownerReferences?.find((ref) => ref.kind === "VirtualMachineInstance");
  return owner?.name ?? pod.metadata.annotations?.["kubevirt.io/domain"];
}

/** Upstream `getReadyPodsCount`'s test: phase Running and condition Ready True. */
export function isRunningAndReady(pod: PodFields): boolean {
  return pod.status?.phase === "Running" && readyCondition(pod)?.status === "True";
}

function readyCondition(pod: PodFields) {
  return pod.status?.conditions?.find((condition) => condition.type === "Ready");
}

/**
 * A Resource or ContainerResource metric of the target's pods from their samples (keyed by pod name, milli-units),
 * as upstream `GetResourceReplicas` sees it; an error the calculator itself would report has `errorStage: "compute"`.
 */
export function resourcePodObservation(
  metric: ResourceMetric,
  pods: readonly PodFields[],
  samples: ReadonlyMap<string, PodSample>,
  now: number,
): ObservedMetric {
  const containerName = metric.type === "ContainerResource" ? metric.container : undefined;
  if (pods.length === 0) {
    return { error: "no pods returned by selector while calculating replica count", errorStage: "compute" };
  }
  const grouped = groupPods(pods, samples, metric.name, now);
  if (grouped.ready.length === 0) return { pods: { ready: [], missing: [], unready: [] } };
  const requests = new Map<string, number>();
  for (const pod of pods) {
    const request = requestOf(pod, metric.name, containerName);
    if (typeof request === "string") return { error: request, errorStage: "compute" };
    requests.set(pod.metadata.name, request);
  }
  const request = (name: string) => requests.get(name) ?? 0;
  const result: ResourcePodSamples = {
    ready: grouped.ready.map((name) => ({ usage: samples.get(name)?.value ?? 0, request: request(name) })),
    missing: grouped.missing.map((name) => ({ request: request(name) })),
    unready: grouped.unready.map((name) => ({ request: request(name) })),
  };
  return { pods: result };
}

/** Upstream `groupPods`: ready pods with a sample, missing ones, unready ones; deleted and failed pods are left out. */
export function groupPods(
  pods: readonly PodFields[],
  samples: ReadonlyMap<string, PodSample>,
  resource: string,
  now: number,
): { ready: string[]; missing: string[]; unready: string[] } {
  const ready: string[] = [];
  const missing: string[] = [];
  const unready: string[] = [];
  for (const pod of pods) {
    const name = pod.metadata.name;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Failed") continue;
    if (phase === "Pending") {
      unready.push(name);
      continue;
    }
    const sample = samples.get(name);
    if (sample === undefined) {
      missing.push(name);
      continue;
    }
    if (resource === "cpu" && cpuSampleUnready(pod, sample, now)) {
      unready.push(name);
      continue;
    }
    ready.push(name);
  }
  return { ready, missing, unready };
}

/**
 * A CPU sample is not used while the pod is not ready, or, within the initialization period, when it was taken
 * before one full window had passed since the pod became ready (its usage then includes start-up).
 */
function cpuSampleUnready(pod: PodFields, sample: PodSample, now: number): boolean {
  const condition = readyCondition(pod);
  const startText = pod.status?.startTime;
  if (condition === undefined || startText === undefined || startText === null) return true;
  const start = Date.parse(startText);
  const transition = condition.lastTransitionTime ? Date.parse(condition.lastTransitionTime) : Number.NaN;
  if (start + CPU_INITIALIZATION_PERIOD_MS > now) {
    return condition.status === "False" || sample.timestamp < transition + sample.windowMs;
  }
  return condition.status === "False" && start + INITIAL_READINESS_DELAY_MS > transition;
}

/**
 * Upstream `calculateRequests` for one pod: pod-level requests when set (and no container is named), else the sum
 * over its containers and restartable init containers; a container without the request is an error.
 */
export function requestOf(
  pod: PodFields,
  resource: string,
  containerName: string | undefined,
): number | string {
  const podLevel = pod.spec?.resources?.requests;
  if (
    containerName === undefined &&
    podLevel &&
    (podLevel.cpu !== undefined || podLevel.memory !== undefined)
  ) {
    const raw = podLevel[resource];
    const parsed = raw === undefined ? undefined : parseQuantity(raw);
    return parsed ? parsed.milli : `missing pod-level request for ${resource} in Pod ${pod.metadata.name}`;
  }
  const containers = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always"),
  ];
  let total = 0;
  for (const c of containers) {
    if (containerName !== undefined && c.name !== containerName) continue;
    const raw = c.resources?.requests?.[resource];
    const parsed = raw === undefined || raw === null ? undefined : parseQuantity(raw);
    if (parsed === undefined) {
      return `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`;
    }
    total += parsed.milli;
    if (containerName !== undefined) return total;
  }
  if (containerName !== undefined) return `container ${containerName} not found in Pod ${pod.metadata.name}`;
  return total;
}
