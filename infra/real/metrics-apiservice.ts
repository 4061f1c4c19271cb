/**
 * metrics-server's part beside the real control plane: `metrics.k8s.io/v1beta1` served over HTTPS on 127.0.0.1 as
 * an extension API server and registered with kube-apiserver's aggregation layer by an APIService, so the real
 * HPA controller, `kubectl top` and the autoscale function's metrics-server source all read PodMetrics through
 * kube-apiserver, as in a cluster with metrics-server. The numbers are the embedded cluster's load model
 * (`infra/local/metrics-api.ts`: each launcher container uses its CPU request times its VMI's
 * `vmpool.local/cpu-load`), computed on every request from the pods and VMIs kube-apiserver holds.
 *
 * Reaching it without a kube-proxy: the APIService names a Service of type ExternalName whose externalName is
 * 127.0.0.1. Without `--enable-aggregator-routing` the aggregator resolves a Service with `ResolveCluster`
 * (k8s.io/apiserver `pkg/util/proxy/proxy.go`), which for ExternalName dials `externalName:port`; the availability
 * controller checks Endpoints only for ClusterIP Services (kube-aggregator `remote_available_controller.go`). Routing
 * through endpoints would need an Endpoints or EndpointSlice address of 127.0.0.1, which API validation refuses
 * (loopback). TLS as upstream: the aggregator verifies our certificate for `<service>.<namespace>.svc` against the
 * APIService's caBundle, and we accept only its front-proxy client certificate (a CN from
 * `--requestheader-allowed-names`, signed by the request-header CA) before trusting `X-Remote-User`. Authorization
 * is kube-apiserver's (RBAC on `pods.metrics.k8s.io` before it proxies); this double does no SubjectAccessReview.
 */
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import {
  cpuLoadPercent,
  DEFAULT_CPU_LOAD_PERCENT,
  METRICS_GROUP,
  METRICS_VERSION,
  metricsLegacyGroup,
  metricsResourceList,
  nodeMetricsOf,
  type PodLike,
  podMetricsOf,
} from "../local/metrics-api";
import type { Aggregation } from "./control-plane";
import { call, type Endpoint, until } from "./http";
import { ensureServingCert, type Pki } from "./pki";

/** Where metrics-server lives in a cluster, and what the APIService names. */
export const METRICS_SERVICE = { namespace: "kube-system", name: "metrics-server" } as const;
export const METRICS_APISERVICE = `${METRICS_VERSION}.${METRICS_GROUP}`;
const GROUP_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

export interface MetricsApiServiceOptions {
  /** kube-apiserver as admin: where the pods and VMIs are read and the APIService is registered. */
  readonly admin: Endpoint;
  readonly pki: Pki;
  readonly aggregation: Aggregation;
  /** The simulator's load of a VMI without the annotation. */
  readonly defaultCpuLoad?: number;
  readonly now?: () => Date;
}

export interface MetricsApiService {
  readonly url: string;
  /** Requests served, by the path's last segment (`pods`, `nodes`, `v1beta1`, …): what reached us through the aggregator. */
  readonly requests: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

interface Listed {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly deletionTimestamp?: string;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string }[];
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

/** Starts the server, registers the APIService and resolves once kube-apiserver reports it Available. */
export async function startMetricsApiService(options: MetricsApiServiceOptions): Promise<MetricsApiService> {
  const now = options.now ?? (() => new Date());
  const defaultLoad = options.defaultCpuLoad ?? DEFAULT_CPU_LOAD_PERCENT;
  const tls = ensureServingCert(options.pki, "metrics-server", [
    `${METRICS_SERVICE.name}.${METRICS_SERVICE.namespace}.svc`,
  ]);
  const requests = new Map<string, number>();
  const admin = options.admin;

  const list = async (path: string): Promise<Listed[]> => {
    const reply = await call(admin, "GET", path);
    if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.body.slice(0, 200)}`);
    const items = (JSON.parse(reply.body) as { items?: Listed[] }).items;
    return items ?? [];
  };
  const running = (pod: Listed) =>
    rec(pod.status)?.phase === "Running" && pod.metadata.deletionTimestamp === undefined;
  /** Running pods (optionally of one namespace and selector) with their VMI's load. */
  const podsWithLoad = async (namespace: string | undefined, labelSelector: string | undefined) => {
    const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    const [pods, vmis] = await Promise.all([
      list(`/api/v1${scope}/pods${query}`),
      list(`/apis/kubevirt.io/v1${scope}/virtualmachineinstances`),
    ]);
    const loads = new Map(
      vmis.map((vmi) => [
        `${vmi.metadata.namespace ?? ""}/${vmi.metadata.name}`,
        cpuLoadPercent(vmi.metadata.annotations, defaultLoad),
      ]),
    );
    return pods.filter(running).map((pod) => {
      const owner = pod.metadata.ownerReferences?.find((o) => o.kind === "VirtualMachineInstance");
      const key = `${pod.metadata.namespace ?? ""}/${owner?.name ?? ""}`;
      return { pod: pod as PodLike, loadPercent: (owner && loads.get(key)) ?? defaultLoad };
    });
  };
  const podList = async (c: Context, namespace: string | undefined) => {
    const at = now();
    const pods = await podsWithLoad(namespace, c.req.query("labelSelector"));
    const items = pods.map(({ pod, loadPercent }) => podMetricsOf(pod, loadPercent, at));
    return c.json({ kind: "PodMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items });
  };
  const nodeMetrics = async () => {
    const at = now();
    const pods = await podsWithLoad(undefined, undefined);
    const byNode = new Map<string, typeof pods>();
    for (const entry of pods) {
      const node = rec(entry.pod.spec)?.nodeName;
      if (typeof node === "string" && node !== "") byNode.set(node, [...(byNode.get(node) ?? []), entry]);
    }
    const nodes = await list("/api/v1/nodes");
    const names = new Set([...nodes.map((n) => n.metadata.name), ...byNode.keys()]);
    const labels = new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
    return [...names]
      .sort()
      .map((name) => nodeMetricsOf(name, labels.get(name) ?? {}, byNode.get(name) ?? [], at));
  };

  const app = new Hono<{ Bindings: { incoming: { socket: TLSSocket } } }>();
  app.use("*", async (c, next) => {
    const segment = c.req.path.split("/").filter(Boolean).pop() ?? "/";
    requests.set(segment, (requests.get(segment) ?? 0) + 1);
    const socket = c.env.incoming.socket;
    const cn = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const allowed = typeof cn === "string" && options.aggregation.allowedNames.includes(cn);
    if (!allowed || !c.req.header(options.aggregation.usernameHeader)) {
      return c.json(
        {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "Unauthorized",
          reason: "Unauthorized",
          code: 401,
        },
        401,
      );
    }
    return next();
  });
  app.get("/apis", (c) => c.json({ kind: "APIGroupList", apiVersion: "v1", groups: [metricsLegacyGroup()] }));
  app.get(`/apis/${METRICS_GROUP}`, (c) =>
    c.json({ kind: "APIGroup", apiVersion: "v1", ...metricsLegacyGroup() }),
  );
  app.get(`/apis/${GROUP_VERSION}`, (c) => c.json(metricsResourceList()));
  // The aggregator downloads every APIService's OpenAPI; an empty document is a valid answer.
  app.get("/openapi/v2", (c) =>
    c.json({ swagger: "2.0", info: { title: "metrics-server double", version: METRICS_VERSION }, paths: {} }),
  );
  app.get("/openapi/v3", (c) => c.json({ paths: {} }));
  app.get(`/apis/${GROUP_VERSION}/pods`, (c) => podList(c, undefined));
  app.get(`/apis/${GROUP_VERSION}/namespaces/:namespace/pods`, (c) => podList(c, c.req.param("namespace")));
  app.get(`/apis/${GROUP_VERSION}/namespaces/:namespace/pods/:name`, async (c) => {
    const name = c.req.param("name");
    const found = (await podsWithLoad(c.req.param("namespace"), undefined)).find(
      (p) => p.pod.metadata.name === name,
    );
    if (!found) return notFound(c, "pods", name);
    return c.json(podMetricsOf(found.pod, found.loadPercent, now()));
  });
  app.get(`/apis/${GROUP_VERSION}/nodes`, async (c) =>
    c.json({ kind: "NodeMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items: await nodeMetrics() }),
  );
  app.get(`/apis/${GROUP_VERSION}/nodes/:name`, async (c) => {
    const name = c.req.param("name");
    const found = (await nodeMetrics()).find((n) => rec(n.metadata)?.name === name);
    return found ? c.json(found) : notFound(c, "nodes", name);
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: "127.0.0.1",
        port: 0,
        createServer: createHttpsServer,
        serverOptions: {
          cert: tls.cert,
          key: tls.key,
          ca: options.aggregation.requestHeaderCaPem,
          requestCert: true,
          // Unauthenticated callers get a Status 401 from the handler rather than a failed handshake.
          rejectUnauthorized: false,
        },
      },
      () => resolve(s),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // kube-apiserver keeps its connections alive; they are ours to end.
      if ("closeAllConnections" in server) server.closeAllConnections();
    });
  try {
    await register(admin, port, options.pki.caCertPem);
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `https://127.0.0.1:${port}`, requests, close };
}

function notFound(c: Context, resource: string, name: string): Response {
  return c.json(
    {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `${resource}.${METRICS_GROUP} "${name}" not found`,
      reason: "NotFound",
      details: { name, group: METRICS_GROUP, kind: resource },
      code: 404,
    },
    404,
  );
}

async function put(admin: Endpoint, path: string, body: Json): Promise<void> {
  const existing = await call(admin, "GET", path);
  const collection = path.slice(0, path.lastIndexOf("/"));
  const reply =
    existing.status === 200
      ? await call(
          admin,
          "PUT",
          path,
          JSON.stringify({
            ...body,
            metadata: {
              ...rec(body.metadata),
              resourceVersion: rec(JSON.parse(existing.body).metadata)?.resourceVersion,
            },
          }),
        )
      : await call(admin, "POST", collection, JSON.stringify(body));
  if (reply.status >= 300) throw new Error(`writing ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
}

/** The Service and APIService a metrics-server install creates, pointed at `port` on 127.0.0.1. */
async function register(admin: Endpoint, port: number, caPem: string): Promise<void> {
  const { namespace, name } = METRICS_SERVICE;
  await put(admin, `/api/v1/namespaces/${namespace}/services/${name}`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { "k8s-app": "metrics-server" } },
    spec: { type: "ExternalName", externalName: "127.0.0.1" },
  });
  const path = `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_APISERVICE}`;
  await put(admin, path, {
    apiVersion: "apiregistration.k8s.io/v1",
    kind: "APIService",
    metadata: { name: METRICS_APISERVICE, labels: { "k8s-app": "metrics-server" } },
    spec: {
      group: METRICS_GROUP,
      version: METRICS_VERSION,
      service: { namespace, name, port },
      caBundle: Buffer.from(caPem).toString("base64"),
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  let last = "";
  await until(
    async () => {
      const reply = await call(admin, "GET", path);
      const conditions = (rec(rec(JSON.parse(reply.body))?.status)?.conditions ?? []) as Json[];
      const available = conditions.find((c) => c.type === "Available");
      last = `${String(available?.reason ?? "")}: ${String(available?.message ?? "")}`;
      return available?.status === "True";
    },
    60_000,
    `APIService ${METRICS_APISERVICE} Available`,
    () => undefined,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message} (last: ${last})`);
  });
}
