/**
 * The resource metrics API (`metrics.k8s.io/v1beta1`, what metrics-server serves through the aggregator) for the
 * local cluster: PodMetrics of every running pod and NodeMetrics of every node, computed on each request from the
 * simulated load, so `kubectl top pod|node` and the autoscale function's `metrics-server` pull source work against
 * `npm start`. Read-only, like metrics-server: discovery (the aggregated and legacy group entries), list and get,
 * label selectors, server-side Tables with metrics-server's columns. Also, while the embedded server stores no
 * Node objects, the simulator's nodes for the plain JSON reads `kubectl top node` makes for their allocatable.
 *
 * The load model: a virt-launcher pod's containers each use their CPU request times the VMI's simulated CPU load
 * (annotation `vmpool.local/cpu-load`, percent; the simulator's default otherwise), so the HPA computes exactly
 * that utilization; memory is a fixed share of the request. A node uses a fixed system share plus its pods.
 */
import { createHash } from "node:crypto";
import type { Context, Env, Hono } from "hono";
import { EVERYTHING, matches, parseSelector, type Selector } from "../../shared/labels";
import { formatQuantity, parseQuantity } from "../../shared/schemas";
import { ApiError, badRequest, notFound } from "./errors";
import type { Registry } from "./registry";
import { findResource } from "./resources";
import { SIMULATOR_ANNOTATIONS } from "./simulator";
import { nodeNames, nodeObject, nodeStatus } from "./simulator/node";
import type { KObject } from "./store";
import { wantsTable } from "./tables";

export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_VERSION = "v1beta1";
const GROUP_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** The simulator's CPU load of a VMI without the annotation (its `defaultCpuLoad`). */
export const DEFAULT_CPU_LOAD_PERCENT = 10;
/** metrics-server's default `--metric-resolution`: every sample covers this window. */
export const METRICS_WINDOW_SECONDS = 15;
/** Share of its memory request a container uses, and what a container without one uses. */
export const MEMORY_SHARE = 0.6;
const MEMORY_WITHOUT_REQUEST_BYTES = 32 * 1024 * 1024;
/** What a node's own processes use besides pods. */
const NODE_SYSTEM_CPU_MILLI = 250;
const NODE_SYSTEM_MEMORY_BYTES = 1024 * 1024 * 1024;

/** The resources this API serves, as discovery lists them (also what RBAC rules may name). */
export const METRICS_RESOURCES = [
  { plural: "nodes", kind: "NodeMetrics", singular: "", namespaced: false },
  { plural: "pods", kind: "PodMetrics", singular: "", namespaced: true },
] as const;
const VERBS = ["get", "list"];

/** The group's entry in aggregated discovery (`/apis`, apidiscovery.k8s.io v2 and v2beta1). */
export function metricsAggregatedGroup(): Record<string, unknown> {
  return {
    metadata: { name: METRICS_GROUP },
    versions: [
      {
        version: METRICS_VERSION,
        resources: METRICS_RESOURCES.map((r) => ({
          resource: r.plural,
          responseKind: { group: "", version: "", kind: r.kind },
          scope: r.namespaced ? "Namespaced" : "Cluster",
          singularResource: r.singular,
          verbs: VERBS,
        })),
        freshness: "Current",
      },
    ],
  };
}

/** The group's entry in the legacy `/apis` APIGroupList. */
export function metricsLegacyGroup(): Record<string, unknown> {
  const version = { groupVersion: GROUP_VERSION, version: METRICS_VERSION };
  return { name: METRICS_GROUP, versions: [version], preferredVersion: version };
}

/** The group version's APIResourceList (`/apis/metrics.k8s.io/v1beta1`). */
export function metricsResourceList(): Record<string, unknown> {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: GROUP_VERSION,
    resources: METRICS_RESOURCES.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
    })),
  };
}

export interface MetricsApiOptions {
  readonly now?: () => Date;
  /** CPU load of a VMI without the annotation (the simulator's `defaultCpuLoad`). */
  readonly defaultCpuLoad?: number;
  /** Whether a simulator runs, so its nodes may stand in for Node objects (below); off for a bare API server. */
  readonly simulatedNodes?: boolean;
}

type Usage = { cpuNano: number; memoryBytes: number };

/** Registers the routes on `app`; call before the generic `/api/*` and `/apis/*` handlers. */
export function mountMetricsApi<E extends Env>(
  app: Hono<E>,
  registry: Registry,
  options: MetricsApiOptions = {},
): void {
  const now = options.now ?? (() => new Date());
  const defaultLoad = options.defaultCpuLoad ?? DEFAULT_CPU_LOAD_PERCENT;
  const startedAt = now()
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  const api = new MetricsApi(registry, now, defaultLoad, startedAt);
  const base = `/apis/${METRICS_GROUP}`;
  app.get(base, (c) => c.json({ kind: "APIGroup", apiVersion: "v1", ...metricsLegacyGroup() }));
  app.get(`${base}/${METRICS_VERSION}`, (c) => c.json(metricsResourceList()));
  app.get(`${base}/${METRICS_VERSION}/pods`, (c) => api.podList(c, undefined));
  app.get(`${base}/${METRICS_VERSION}/namespaces/:namespace/pods`, (c) =>
    api.podList(c, c.req.param("namespace")),
  );
  app.get(`${base}/${METRICS_VERSION}/namespaces/:namespace/pods/:name`, (c) =>
    api.podGet(c, c.req.param("namespace"), c.req.param("name")),
  );
  app.get(`${base}/${METRICS_VERSION}/nodes`, (c) => api.nodeList(c));
  app.get(`${base}/${METRICS_VERSION}/nodes/:name`, (c) => api.nodeGet(c, c.req.param("name")));
  // `kubectl top node` reads each node's allocatable. The embedded simulator registers no Node objects (only the
  // simulator over the API does), so while the cluster stores none, a plain JSON read of Nodes gets the
  // simulator's nodes as a kubelet would report them; Tables, watches and writes go to the registry as before.
  const simulatedNodes = (c: Context) =>
    options.simulatedNodes === true &&
    c.req.method === "GET" &&
    !wantsTable(c.req.header("accept")) &&
    c.req.query("watch") === undefined &&
    api.storedNodeCount() === 0;
  app.use("/api/v1/nodes", async (c, next) => (simulatedNodes(c) ? api.nodes(c) : next()));
  app.use("/api/v1/nodes/:name", async (c, next) =>
    simulatedNodes(c) ? api.node(c, c.req.param("name")) : next(),
  );
}

class MetricsApi {
  constructor(
    private readonly registry: Registry,
    private readonly now: () => Date,
    private readonly defaultLoad: number,
    private readonly startedAt: string,
  ) {}

  podList(c: Context, namespace: string | undefined): Response {
    const selector = labelSelectorOf(c);
    const items = this.runningPods(namespace)
      .filter((pod) => matches(selector, pod.metadata.labels))
      .map((pod) => this.podMetrics(pod));
    return respond(c, "PodMetricsList", items, podColumns);
  }

  podGet(c: Context, namespace: string, name: string): Response {
    const pod = this.runningPods(namespace).find((p) => p.metadata.name === name);
    if (!pod) throw notFound(METRICS_GROUP, "pods", name);
    return respondOne(c, this.podMetrics(pod), podColumns);
  }

  nodeList(c: Context): Response {
    const selector = labelSelectorOf(c);
    const items = this.nodeObjects()
      .filter((node) => matches(selector, node.metadata.labels))
      .map((node) => this.nodeMetrics(node.metadata.name, node.metadata.labels ?? {}));
    return respond(c, "NodeMetricsList", items, nodeColumns);
  }

  nodeGet(c: Context, name: string): Response {
    const node = this.nodeObjects().find((n) => n.metadata.name === name);
    if (!node) throw notFound(METRICS_GROUP, "nodes", name);
    return respondOne(c, this.nodeMetrics(name, node.metadata.labels ?? {}), nodeColumns);
  }

  nodes(c: Context): Response {
    const selector = labelSelectorOf(c);
    const items = this.nodeObjects().filter((node) => matches(selector, node.metadata.labels));
    return c.json({ kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: "" }, items });
  }

  node(c: Context, name: string): Response {
    const node = this.nodeObjects().find((n) => n.metadata.name === name);
    if (!node) throw notFound("", "nodes", name);
    return c.json(node);
  }

  /** Node objects the cluster itself stores. */
  storedNodeCount(): number {
    const def = findResource("", "v1", "nodes");
    return def ? this.registry.list(def, undefined).entries.length : 0;
  }

  private runningPods(namespace: string | undefined): KObject[] {
    const def = findResource("", "v1", "pods");
    if (!def) return [];
    return this.registry
      .list(def, namespace)
      .entries.map((entry) => entry.obj)
      .filter((pod) => rec(pod.status)?.phase === "Running" && !pod.metadata.deletionTimestamp);
  }

  /** The simulated CPU load (percent of request) of the VMI a launcher pod runs, or the default. */
  private loadOf(pod: KObject): number {
    const owner = pod.metadata.ownerReferences?.find((ref) => ref.kind === "VirtualMachineInstance");
    const def = findResource("kubevirt.io", "v1", "virtualmachineinstances");
    if (!owner || !def) return this.defaultLoad;
    try {
      const vmi = this.registry.get(def, "v1", pod.metadata.namespace, owner.name);
      return cpuLoadPercent(vmi.metadata.annotations, this.defaultLoad);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return this.defaultLoad;
      throw err;
    }
  }

  private podMetrics(pod: KObject): Record<string, unknown> {
    return podMetricsOf(pod, this.loadOf(pod), this.now());
  }

  private nodeMetrics(name: string, labels: Record<string, string>): Record<string, unknown> {
    const pods = this.runningPods(undefined)
      .filter((pod) => rec(pod.spec)?.nodeName === name)
      .map((pod) => ({ pod, loadPercent: this.loadOf(pod) }));
    return nodeMetricsOf(name, labels, pods, this.now());
  }

  /** The simulator's default nodes plus every node a pod is bound to, as a kubelet would have registered them. */
  private nodeObjects(): KObject[] {
    const names = new Set(nodeNames(2));
    for (const pod of this.runningPods(undefined)) {
      const node = rec(pod.spec)?.nodeName;
      if (typeof node === "string" && node !== "") names.add(node);
    }
    return [...names].sort().map((name, i) => {
      const uid = uidOf(name);
      const base = nodeObject(name) as KObject;
      const node: KObject = {
        ...base,
        metadata: { ...base.metadata, uid, resourceVersion: "1", creationTimestamp: this.startedAt },
      };
      return { ...node, status: nodeStatus(node, `192.168.66.${101 + i}`, this.startedAt) };
    });
  }
}

type ContainerUsage = { name: string; usage: Usage };

/** What the load model reads of a pod. */
export interface PodLike {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string | undefined;
    readonly labels?: Record<string, string> | undefined;
  };
  readonly spec?: unknown;
}

/** A VMI's simulated CPU load (percent of its launcher's requests) from its annotations, or `fallback`. */
export function cpuLoadPercent(
  annotations: Readonly<Record<string, string>> | undefined,
  fallback: number,
): number {
  const text = annotations?.[SIMULATOR_ANNOTATIONS.cpuLoad];
  const percent = text === undefined ? undefined : Number(text.replace(/%$/, "").trim());
  return percent !== undefined && Number.isFinite(percent) && percent >= 0 ? percent : fallback;
}

/** Each container's usage under the load model: its CPU request times `loadPercent`, a share of its memory. */
function containerUsages(pod: PodLike, loadPercent: number): ContainerUsage[] {
  return recs(rec(pod.spec)?.containers).map((container) => {
    const requests = rec(rec(container.resources)?.requests) ?? {};
    const cpu = quantityOf(requests.cpu);
    const memory = quantityOf(requests.memory);
    return {
      name: typeof container.name === "string" ? container.name : "",
      usage: {
        cpuNano: cpu === undefined ? 0 : Math.round(cpu * 1e9 * (loadPercent / 100)),
        memoryBytes: memory === undefined ? MEMORY_WITHOUT_REQUEST_BYTES : Math.round(memory * MEMORY_SHARE),
      },
    };
  });
}

function sampleAt(at: Date): { timestamp: string; window: string } {
  return { timestamp: at.toISOString().replace(/\.\d{3}Z$/, "Z"), window: `${METRICS_WINDOW_SECONDS}s` };
}

/**
 * The PodMetrics metrics-server would report for a running pod under the load model, sampled at `at`. Pure, so
 * any server of this API (the embedded one, the aggregated one beside kube-apiserver) reports the same numbers.
 */
export function podMetricsOf(pod: PodLike, loadPercent: number, at: Date): Record<string, unknown> {
  const sample = sampleAt(at);
  return {
    kind: "PodMetrics",
    apiVersion: GROUP_VERSION,
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      creationTimestamp: sample.timestamp,
      ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
    },
    ...sample,
    containers: containerUsages(pod, loadPercent).map(({ name, usage }) => ({
      name,
      usage: usageQuantities(usage),
    })),
  };
}

/** A node's NodeMetrics: its system share plus the usage of the pods bound to it (each with its load). */
export function nodeMetricsOf(
  name: string,
  labels: Readonly<Record<string, string>>,
  pods: readonly { readonly pod: PodLike; readonly loadPercent: number }[],
  at: Date,
): Record<string, unknown> {
  const total: Usage = { cpuNano: NODE_SYSTEM_CPU_MILLI * 1e6, memoryBytes: NODE_SYSTEM_MEMORY_BYTES };
  for (const { pod, loadPercent } of pods) {
    for (const { usage } of containerUsages(pod, loadPercent)) {
      total.cpuNano += usage.cpuNano;
      total.memoryBytes += usage.memoryBytes;
    }
  }
  const sample = sampleAt(at);
  return {
    kind: "NodeMetrics",
    apiVersion: GROUP_VERSION,
    metadata: { name, creationTimestamp: sample.timestamp, labels },
    ...sample,
    usage: usageQuantities(total),
  };
}

function rec(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function recs(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.flatMap((item) => (rec(item) ? [rec(item) as Record<string, unknown>] : []))
    : [];
}

/** A quantity in base units (cores, bytes), or undefined when absent or not a quantity. */
function quantityOf(value: unknown): number | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const parsed = parseQuantity(value);
  return parsed === undefined ? undefined : parsed.milli / 1000;
}

/** metrics-server's units: CPU in nanocores (`n`), memory in KiB (`Ki`). */
function usageQuantities(usage: Usage): Record<string, string> {
  return {
    cpu: `${Math.round(usage.cpuNano)}n`,
    memory: `${Math.round(usage.memoryBytes / 1024)}Ki`,
  };
}

function uidOf(name: string): string {
  const hex = createHash("sha256").update(`node/${name}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function labelSelectorOf(c: Context): Selector {
  const text = c.req.query("labelSelector");
  if (text === undefined || text === "") return EVERYTHING;
  try {
    return parseSelector(text);
  } catch (err) {
    throw badRequest(`unable to parse requirement: ${err instanceof Error ? err.message : String(err)}`);
  }
}

type Columns = {
  readonly definitions: readonly Record<string, unknown>[];
  cells(item: Record<string, unknown>): unknown[];
};

/** Sum of one resource over a PodMetrics' containers, printed as its quantity. */
function podTotal(item: Record<string, unknown>, resource: "cpu" | "memory"): string {
  let milli = 0;
  for (const container of recs(item.containers)) {
    const value = rec(container.usage)?.[resource];
    const parsed = typeof value === "string" ? parseQuantity(value) : undefined;
    milli += parsed?.milli ?? 0;
  }
  return formatQuantity(milli, resource === "memory" ? "BinarySI" : "DecimalSI");
}

const quantityColumn = (name: string) => ({ name, type: "string", format: "quantity", description: "" });
const COLUMNS = [
  { name: "Name", type: "string", format: "name", description: "Name of the resource" },
  quantityColumn("cpu"),
  quantityColumn("memory"),
  { name: "Window", type: "string", format: "duration", description: "" },
];

// metrics-server's `addPodMetricsToTable` / `addNodeMetricsToTable`: name, one column per resource, the window.
const podColumns: Columns = {
  definitions: COLUMNS,
  cells: (item) => [rec(item.metadata)?.name, podTotal(item, "cpu"), podTotal(item, "memory"), item.window],
};
const nodeColumns: Columns = {
  definitions: COLUMNS,
  cells: (item) => [rec(item.metadata)?.name, rec(item.usage)?.cpu, rec(item.usage)?.memory, item.window],
};

function table(items: readonly Record<string, unknown>[], columns: Columns): Record<string, unknown> {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {},
    columnDefinitions: columns.definitions,
    rows: items.map((item) => ({ cells: columns.cells(item), object: item })),
  };
}

function respond(
  c: Context,
  kind: string,
  items: readonly Record<string, unknown>[],
  columns: Columns,
): Response {
  if (wantsTable(c.req.header("accept"))) return c.json(table(items, columns));
  return c.json({ kind, apiVersion: GROUP_VERSION, metadata: {}, items });
}

function respondOne(c: Context, item: Record<string, unknown>, columns: Columns): Response {
  if (wantsTable(c.req.header("accept"))) return c.json(table([item], columns));
  return c.json(item);
}
