/**
 * The resource metrics API as a pull source (`metrics-server`): `metrics.k8s.io/v1beta1` PodMetrics of the
 * virt-launcher pods a target's `status.labelSelector` selects, with requests taken from the pod specs, grouped and
 * computed exactly as the HPA controller does for Resource and ContainerResource metrics
 * (`pkg/controller/podautoscaler/replica_calculator.go` `GetResourceReplicas`, `groupPods`, `calculateRequests`;
 * `metrics/client.go` `getPodMetrics`). One pass costs two lists whatever the number of HPAs: every virt-launcher
 * pod and every virt-launcher PodMetrics in the cluster, filtered per target here (the controller's informer does
 * the same from its cache).
 */
import { isKubeError, type PodMetrics } from "../../kube";
import { matches, parseSelector, type Selector } from "../../labels";
import { parseGoDuration } from "../../planning";
import type { ObservedMetric } from "../../planning/hpa";
import { metricKey } from "../../planning/hpa";
import { type NormalizedMetric, parseQuantity } from "../../schemas";
import {
  isRunningAndReady,
  LAUNCHER_SELECTOR,
  type PodFields,
  PodFieldsSchema,
  type PodSample,
  type ResourceMetric as Resource,
  requestOf,
  resourcePodObservation,
} from "../pods";
import type { PullContext, PullObservation, PullSource, PullTarget } from "./types";

/** What one pass read, indexed by namespace. */
interface Snapshot {
  readonly pods: ReadonlyMap<string, readonly PodFields[]>;
  readonly metrics: ReadonlyMap<string, readonly PodMetrics[]>;
}

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
    // A pass lists the whole cluster once; one target (an alert's evaluation) only its own pods.
    const [only] = targets;
    const single = targets.length === 1 && only?.selector ? only : undefined;
    const scope = single
      ? { namespace: single.target.namespace, labelSelector: `${LAUNCHER_SELECTOR},${single.selector}` }
      : { labelSelector: LAUNCHER_SELECTOR };
    const [metricsRead, podsRead] = await Promise.allSettled([
      context.kube.list("PodMetrics", { ...scope, pageSize: 0 }),
      context.kube.list("Pod", { ...scope, pageSize: 0 }),
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

function observeMetric(
  metric: Resource,
  pods: readonly PodFields[],
  podMetrics: readonly PodMetrics[],
  now: number,
): ObservedMetric {
  const containerName = metric.type === "ContainerResource" ? metric.container : undefined;
  if (podMetrics.length === 0) return { error: "no metrics returned from resource metrics API" };
  return resourcePodObservation(metric, pods, samplesOf(podMetrics, metric.name, containerName), now);
}
/**
 * Upstream `getPodMetrics` / `getContainerMetrics`: a pod's usage summed over its containers in milli-units; a pod
 * with no containers, or a container without the resource, has no sample.
 */
function samplesOf(
  podMetrics: readonly PodMetrics[],
  resource: string,
  containerName: string | undefined,
): Map<string, PodSample> {
  const samples = new Map<string, PodSample>();
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

/**
 * Mean request per running pod (base units: cores, bytes) of each Utilization Resource metric of `target`, from
 * one list of its pods: what turns an alert's percentage into the `averageValue` the HPA's status shows.
 * Metrics whose pods carry no such request are left out.
 */
export async function meanRequests(
  target: PullTarget,
  context: PullContext,
): Promise<Record<string, number>> {
  const wanted = target.spec.metrics.filter((m) => isResource(m) && m.target.type === "Utilization");
  if (wanted.length === 0 || target.selector === undefined || target.selector === "") return {};
  const listed = await context.kube.list("Pod", {
    namespace: target.target.namespace,
    labelSelector: target.selector,
  });
  const running = listed.flatMap((pod) => {
    const parsed = PodFieldsSchema.safeParse(pod);
    return parsed.success && parsed.data.status?.phase === "Running" ? [parsed.data] : [];
  });
  const means: Record<string, number> = {};
  for (const metric of wanted) {
    if (!isResource(metric) || running.length === 0) continue;
    const container = metric.type === "ContainerResource" ? metric.container : undefined;
    const requests = running.map((pod) => requestOf(pod, metric.name, container));
    if (requests.some((r) => typeof r === "string")) continue;
    const total = (requests as number[]).reduce((sum, r) => sum + r, 0);
    means[metricKey(metric)] = total / running.length / 1000;
  }
  return means;
}
