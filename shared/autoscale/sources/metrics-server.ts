/**
 * The resource metrics API as a pull source (`metrics-server`): `metrics.k8s.io/v1beta1` PodMetrics of the
 * virt-launcher pods a target's `status.labelSelector` selects, with requests taken from the pod specs, grouped and
 * computed exactly as the HPA controller does for Resource and ContainerResource metrics
 * (`pkg/controller/podautoscaler/replica_calculator.go` `GetResourceReplicas`, `groupPods`, `calculateRequests`;
 * `metrics/client.go` `getPodMetrics`). One pass costs two lists whatever the number of HPAs: every virt-launcher
 * pod and every virt-launcher PodMetrics in the cluster, filtered per target here (the controller's informer does
 * the same from its cache).
 */
import { z } from "zod";
import { isKubeError, type PodMetrics } from "../../kube";
import { matches, parseSelector, type Selector } from "../../labels";
import { parseGoDuration } from "../../planning";
import type { ObservedMetric, ResourcePodSamples } from "../../planning/hpa";
import { metricKey } from "../../planning/hpa";
import { type NormalizedMetric, parseQuantity } from "../../schemas";
import type { PullContext, PullObservation, PullSource, PullTarget } from "./types";

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
const PodFieldsSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullable().optional(),
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
type PodFields = z.infer<typeof PodFieldsSchema>;

/** One pod's sample of one resource: milli-units summed over its containers, and when and over what window. */
interface Sample {
  readonly value: number;
  readonly timestamp: number;
  readonly windowMs: number;
}

/** What one pass read, indexed by namespace. */
interface Snapshot {
  readonly pods: ReadonlyMap<string, readonly PodFields[]>;
  readonly metrics: ReadonlyMap<string, readonly PodMetrics[]>;
}

type Resource = Extract<NormalizedMetric, { type: "Resource" | "ContainerResource" }>;

function isResource(metric: NormalizedMetric): metric is Resource {
  return metric.type === "Resource" || metric.type === "ContainerResource";
}

function byNamespace<T extends { metadata: { namespace?: string | undefined } }>(items: readonly T[]) {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const ns = item.metadata.namespace ?? "";
    const list = map.get(ns) ?? [];
    list.push(item);
    map.set(ns, list);
  }
  return map;
}

/** The resource metrics API source (see the module comment). */
export const metricsServerSource: PullSource = {
  name: "metrics-server",
  handles: (metric) => isResource(metric),
  async observe(targets: readonly PullTarget[], context: PullContext): Promise<readonly PullObservation[]> {
    if (targets.length === 0) return [];
    const [metricsRead, podsRead] = await Promise.allSettled([
      context.kube.list("PodMetrics", { labelSelector: LAUNCHER_SELECTOR, pageSize: 0 }),
      context.kube.list("Pod", { labelSelector: LAUNCHER_SELECTOR, pageSize: 0 }),
    ]);
    if (metricsRead.status === "rejected") {
      // Upstream's rest client wraps every failure of the list this way (FailedGetResourceMetric follows).
      const error = `unable to fetch metrics from resource metrics API: ${messageOf(metricsRead.reason)}`;
      return targets.map((target) => everyMetric(target, { error }));
    }
    if (podsRead.status === "rejected") {
      const error = `unable to get pods while calculating replica count: ${messageOf(podsRead.reason)}`;
      return targets.map((target) => everyMetric(target, { error, errorStage: "compute" }));
    }
    const pods: PodFields[] = [];
    for (const pod of podsRead.value) {
      const parsed = PodFieldsSchema.safeParse(pod);
      if (parsed.success) pods.push(parsed.data);
      else context.log.warn({ pod: pod.metadata.name }, "ignoring a pod whose fields cannot be read");
    }
    const snapshot: Snapshot = { pods: byNamespace(pods), metrics: byNamespace(metricsRead.value) };
    return targets.map((target) => observeTarget(target, snapshot, context.now.getTime()));
  },
};

function messageOf(err: unknown): string {
  if (isKubeError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function everyMetric(target: PullTarget, observed: ObservedMetric): PullObservation {
  const metrics: Record<string, ObservedMetric> = {};
  for (const metric of target.spec.metrics) if (isResource(metric)) metrics[metricKey(metric)] = observed;
  return { metrics };
}

function observeTarget(target: PullTarget, snapshot: Snapshot, now: number): PullObservation {
  let selector: Selector;
  try {
    if (target.selector === undefined || target.selector === "") throw new Error("selector is required");
    selector = parseSelector(target.selector);
  } catch (err) {
    return everyMetric(target, { error: messageOf(err), errorStage: "compute" });
  }
  const namespace = target.target.namespace;
  const selected = <T extends { metadata: { labels?: Record<string, string> | null | undefined } }>(
    items: readonly T[] | undefined,
  ) => (items ?? []).filter((item) => matches(selector, item.metadata.labels ?? undefined));
  const pods = selected(snapshot.pods.get(namespace));
  const podMetrics = selected(snapshot.metrics.get(namespace));
  const metrics: Record<string, ObservedMetric> = {};
  for (const metric of target.spec.metrics) {
    if (isResource(metric)) metrics[metricKey(metric)] = observeMetric(metric, pods, podMetrics, now);
  }
  return { metrics, readyPodCount: pods.filter((pod) => isRunningAndReady(pod)).length };
}

/** Upstream `getReadyPodsCount`'s test: phase Running and condition Ready True. */
function isRunningAndReady(pod: PodFields): boolean {
  return pod.status?.phase === "Running" && readyCondition(pod)?.status === "True";
}

function readyCondition(pod: PodFields) {
  return pod.status?.conditions?.find((condition) => condition.type === "Ready");
}

function observeMetric(
  metric: Resource,
  pods: readonly PodFields[],
  podMetrics: readonly PodMetrics[],
  now: number,
): ObservedMetric {
  const containerName = metric.type === "ContainerResource" ? metric.container : undefined;
  if (podMetrics.length === 0) return { error: "no metrics returned from resource metrics API" };
  const samples = samplesOf(podMetrics, metric.name, containerName);
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

/**
 * Upstream `getPodMetrics` / `getContainerMetrics`: a pod's usage summed over its containers in milli-units; a pod
 * with no containers, or a container without the resource, has no sample.
 */
function samplesOf(
  podMetrics: readonly PodMetrics[],
  resource: string,
  containerName: string | undefined,
): Map<string, Sample> {
  const samples = new Map<string, Sample>();
  for (const entry of podMetrics) {
    const containers = entry.containers ?? [];
    let total = 0;
    let missing = containers.length === 0;
    let found = containerName === undefined;
    for (const c of containers) {
      if (containerName !== undefined && c.name !== containerName) continue;
      found = true;
      const raw = c.usage[resource];
      const parsed = raw === undefined ? undefined : parseQuantity(raw);
      if (parsed === undefined) {
        missing = true;
        break;
      }
      total += parsed.milli;
    }
    if (missing || !found) continue;
    const timestamp = entry.timestamp === undefined ? Number.NaN : Date.parse(entry.timestamp);
    const windowMs = entry.window === undefined ? 0 : (parseGoDuration(entry.window) ?? 0);
    samples.set(entry.metadata.name, { value: total, timestamp, windowMs });
  }
  return samples;
}

/** Upstream `groupPods`: ready pods with a sample, missing ones, unready ones; deleted and failed pods are left out. */
function groupPods(
  pods: readonly PodFields[],
  samples: ReadonlyMap<string, Sample>,
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
function cpuSampleUnready(pod: PodFields, sample: Sample, now: number): boolean {
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
function requestOf(pod: PodFields, resource: string, containerName: string | undefined): number | string {
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
