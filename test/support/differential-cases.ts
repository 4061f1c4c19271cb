/**
 * The differential suite's cases (test/integration/differential.test.ts): raw HTTP requests, kubectl 1.27 and
 * 1.33 commands (the seed walkthrough and more) and client-node calls, each with a stable id, grouped into
 * sequences that build on each other; the fixtures they send; and the projections that compare only what the
 * embedded server serves where kube-apiserver legitimately has more. A case's answer is what gets normalised
 * and compared.
 */
import { join } from "node:path";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import {
  fill,
  type HttpReply,
  type HttpRequest,
  normaliseText,
  parseOutput,
  pick,
  send,
  type Target,
} from "./differential";
import type { Kubectl } from "./kubectl";

const EXAMPLES = join(import.meta.dirname, "../../examples");
export const KUBECTL_VERSIONS = ["1.27", "1.33"] as const;
export type KubectlVersion = (typeof KUBECTL_VERSIONS)[number];

const TABLE =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const AGGREGATED_V2BETA1 =
  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
const USER_AGENT = "vmpool-differential/1.0";

// ---------------------------------------------------------------------------------------------------------
// Cases: one request (or command) with a stable id, run against both targets in turn.

/** What a case keeps per target: values saved from earlier answers, and the clients bound to that target. */
export interface TargetContext {
  readonly target: Target;
  readonly vars: Map<string, string>;
  readonly kubectl?: Kubectl;
  readonly client?: Clients;
}

export interface Clients {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly objects: KubernetesObjectApi;
  readonly watch: Watch;
}

export interface Case {
  readonly id: string;
  /** Runs once against one target; resolves with the answer (before normalisation). */
  run(ctx: TargetContext): Promise<unknown>;
  /** Asked again (up to `untilMs`) until this holds: for what controllers do in their own time (GC, namespaces). */
  readonly until?: (answer: unknown) => boolean;
  readonly untilMs?: number;
  /** What is compared, from the normalised answer; the whole answer when absent. */
  readonly project?: (answer: unknown) => unknown;
  /** Compare `metadata.managedFields` too (only where field ownership is the subject). */
  readonly managedFields?: boolean;
  /** Wait this long first: time for kube-controller-manager's informers to see what the cases before wrote. */
  readonly delayMs?: number;
}

interface HttpCase {
  readonly id: string;
  readonly method?: string;
  readonly path: string;
  readonly accept?: string;
  readonly contentType?: string;
  /** An object is sent as JSON, a string as it is; both may hold `{{saved}}` values. */
  readonly body?: unknown;
  readonly events?: number;
  /** Saves values of the (raw) body by dotted path, for later requests. */
  readonly save?: Readonly<Record<string, string>>;
  readonly until?: (reply: HttpReply) => boolean;
  readonly untilMs?: number;
  readonly project?: (answer: unknown) => unknown;
  readonly managedFields?: boolean;
  readonly delayMs?: number;
}

function httpRequest(c: HttpCase, vars: ReadonlyMap<string, string>): HttpRequest {
  const body =
    c.body === undefined ? undefined : typeof c.body === "string" ? c.body : JSON.stringify(c.body);
  const method = c.method ?? "GET";
  return {
    method,
    path: fill(c.path, vars),
    headers: {
      "user-agent": USER_AGENT,
      ...(c.accept ? { accept: c.accept } : {}),
      ...(body !== undefined ? { "content-type": c.contentType ?? "application/json" } : {}),
    },
    ...(body !== undefined ? { body: fill(body, vars) } : {}),
    ...(c.events !== undefined ? { events: c.events } : {}),
  };
}

export function http(c: HttpCase): Case {
  return {
    id: `http/${c.id}`,
    run: async (ctx) => {
      const reply = await send(ctx.target, httpRequest(c, ctx.vars));
      for (const [name, path] of Object.entries(c.save ?? {})) {
        const value = pick(reply.body, path);
        if (typeof value === "string" || typeof value === "number") ctx.vars.set(name, String(value));
      }
      return reply;
    },
    ...(c.until ? { until: (a: unknown) => (c.until as (r: HttpReply) => boolean)(a as HttpReply) } : {}),
    ...(c.untilMs ? { untilMs: c.untilMs } : {}),
    ...(c.project ? { project: c.project } : {}),
    ...(c.managedFields ? { managedFields: true } : {}),
    ...(c.delayMs ? { delayMs: c.delayMs } : {}),
  };
}

interface KubectlCase {
  readonly id: string;
  readonly args: readonly string[];
  readonly stdin?: string;
  /** Parse stdout and compare it structurally (masked like an API answer). */
  readonly output?: "json" | "yaml";
  /** Saves the trimmed stdout under this name. */
  readonly save?: string;
  /** Only for these kubectl versions (a command the other one lacks). */
  readonly only?: KubectlVersion;
  /** Sent to the same server once kubectl has printed something (a change for `get -w` to see). */
  readonly alongside?: HttpCase;
  readonly until?: (answer: { code: number; stdout: unknown; stderr: string }) => boolean;
  readonly untilMs?: number;
  readonly project?: (answer: unknown) => unknown;
  readonly managedFields?: boolean;
  readonly delayMs?: number;
}

function runWithTrigger(
  k: Kubectl,
  args: readonly string[],
  trigger: () => Promise<unknown>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = k.spawn(args);
    let stdout = "";
    let stderr = "";
    let fired: Promise<unknown> | undefined;
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
      fired ??= trigger();
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("close", async (code) => {
      await fired;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export function kubectlCase(version: KubectlVersion, ns: string, c: KubectlCase): Case | undefined {
  if (c.only && c.only !== version) return undefined;
  return {
    id: `kubectl-${version}/${c.id}`,
    run: async (ctx) => {
      const k = ctx.kubectl;
      if (!k) throw new Error("no kubectl for this target");
      const args = ["-n", ns, ...c.args.map((a) => fill(a, ctx.vars))];
      const stdin = c.stdin === undefined ? undefined : fill(c.stdin, ctx.vars);
      const alongside = c.alongside;
      const result = alongside
        ? await runWithTrigger(k, args, () => send(ctx.target, httpRequest(alongside, ctx.vars)))
        : await k.run(args, stdin);
      if (c.save) ctx.vars.set(c.save, result.stdout.trim());
      return {
        code: result.code,
        stdout: c.output ? parseOutput(result.stdout, c.output) : normaliseText(result.stdout),
        stderr: normaliseText(result.stderr),
      };
    },
    ...(c.until
      ? {
          until: (a: unknown) =>
            (c.until as NonNullable<KubectlCase["until"]>)(
              a as { code: number; stdout: unknown; stderr: string },
            ),
        }
      : {}),
    ...(c.untilMs ? { untilMs: c.untilMs } : {}),
    ...(c.project ? { project: c.project } : {}),
    ...(c.managedFields ? { managedFields: true } : {}),
    ...(c.delayMs ? { delayMs: c.delayMs } : {}),
  };
}

/** A client-node call: its result as JSON, or the ApiException's code and parsed body. */
function client(
  id: string,
  call: (api: Clients, vars: Map<string, string>) => Promise<unknown>,
  options: { managedFields?: boolean } = {},
): Case {
  return {
    id: `client-node/${id}`,
    ...(options.managedFields ? { managedFields: true } : {}),
    run: async (ctx) => {
      if (!ctx.client) throw new Error("no client-node for this target");
      try {
        return { ok: JSON.parse(JSON.stringify((await call(ctx.client, ctx.vars)) ?? null)) as unknown };
      } catch (err) {
        if (err instanceof ApiException) {
          let body: unknown = err.body;
          try {
            body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
          } catch {
            // a text body
          }
          return { error: { code: err.code, body } };
        }
        return { thrown: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures.

type Labels = Readonly<Record<string, string>>;

function vm(name: string, labels: Labels = {}, metadata: Record<string, unknown> = {}, spec = {}) {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, labels: { suite: "http", ...labels }, ...metadata },
    spec: {
      runStrategy: "Halted",
      template: {
        metadata: { labels: { "kubevirt.io/vm": name } },
        spec: { domain: { devices: {}, resources: { requests: { memory: "64Mi" } } } },
      },
      ...spec,
    },
  };
}

function pool(name: string, replicas: number, apiVersion = "pool.kubevirt.io/v1beta1", metadata = {}) {
  return {
    apiVersion,
    kind: "VirtualMachinePool",
    metadata: { name, labels: { suite: "http" }, ...metadata },
    spec: {
      replicas,
      selector: { matchLabels: { "kubevirt.io/vmpool": name } },
      virtualMachineTemplate: {
        metadata: { labels: { "kubevirt.io/vmpool": name } },
        spec: {
          runStrategy: "Halted",
          template: { spec: { domain: { devices: {}, resources: { requests: { memory: "64Mi" } } } } },
        },
      },
    },
  };
}

function vmirs(name: string, replicas: number) {
  return {
    apiVersion: "kubevirt.io/v1alpha3",
    kind: "VirtualMachineInstanceReplicaSet",
    metadata: { name, labels: { suite: "http" } },
    spec: {
      replicas,
      selector: { matchLabels: { myvmi: name } },
      template: {
        metadata: { labels: { myvmi: name } },
        spec: { domain: { devices: {}, resources: { requests: { memory: "64Mi" } } } },
      },
    },
  };
}

function ownerRef(kind: string, apiVersion: string, name: string, uidVar: string, block = false) {
  return {
    apiVersion,
    kind,
    name,
    uid: `{{${uidVar}}}`,
    controller: true,
    ...(block ? { blockOwnerDeletion: true } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Projections: where the embedded server legitimately serves less than kube-apiserver, compare only the part
// it serves. Each one is chosen per request, deliberately.

/** The groups and resources the embedded server serves (kube-apiserver serves many more built-ins). */
const SERVED: Readonly<Record<string, readonly string[] | "all">> = {
  "": ["configmaps", "endpoints", "events", "namespaces", "nodes", "pods", "secrets", "services"],
  apps: ["controllerrevisions"],
  "authentication.k8s.io": ["selfsubjectreviews"],
  "authorization.k8s.io": ["selfsubjectaccessreviews"],
  autoscaling: ["horizontalpodautoscalers"],
  "cdi.kubevirt.io": "all",
  "coordination.k8s.io": ["leases"],
  "kubevirt.io": "all",
  "pool.kubevirt.io": "all",
};

function servedResource(group: string, resource: string): boolean {
  const served = SERVED[group];
  return served === "all" || (served?.includes(resource.split("/")[0] ?? "") ?? false);
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v !== null && typeof v === "object" ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** An answer with its body replaced. */
function withBody(answer: unknown, body: (b: unknown) => unknown): unknown {
  const a = asObj(answer);
  return { ...a, body: body(a.body) };
}

/** Sorted by a string key (the order kube-apiserver lists CRD groups and resources in varies between runs). */
function sortedBy(items: unknown[], key: (item: unknown) => string): unknown[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}
const nameOf = (v: unknown) => String(asObj(v).name ?? "");

/** Legacy APIGroupList: only the groups the embedded server serves, sorted by name. */
function servedGroups(answer: unknown): unknown {
  return withBody(answer, (b) => ({
    ...asObj(b),
    groups: sortedBy(
      asArr(asObj(b).groups).filter((g) => nameOf(g) in SERVED),
      nameOf,
    ),
  }));
}

/** Aggregated discovery: only the groups and resources the embedded server serves, sorted by name. */
function servedAggregated(answer: unknown): unknown {
  const groupOf = (item: unknown) => String(asObj(asObj(item).metadata).name ?? "");
  return withBody(answer, (b) => ({
    ...asObj(b),
    items: sortedBy(
      asArr(asObj(b).items)
        .filter((item) => groupOf(item) in SERVED)
        .map((item) => ({
          ...asObj(item),
          versions: asArr(asObj(item).versions).map((v) => ({
            ...asObj(v),
            resources: sortedBy(
              asArr(asObj(v).resources)
                .filter((r) => servedResource(groupOf(item), String(asObj(r).resource)))
                .map((r) => ({
                  ...asObj(r),
                  // Built-ins also have connect subresources (pods/exec, nodes/proxy …) the embedded one lacks.
                  subresources: asArr(asObj(r).subresources).filter((sub) =>
                    ["scale", "status"].includes(String(asObj(sub).subresource)),
                  ),
                })),
              (r) => String(asObj(r).resource),
            ),
          })),
        })),
      groupOf,
    ),
  }));
}

/**
 * A legacy APIResourceList sorted by name (a resource still comes before its subresources): only the served
 * resources of that group, and only main resources for core (kube-apiserver has subresources like pods/exec).
 */
function servedResourceList(group: string) {
  return (answer: unknown) =>
    withBody(answer, (b) => ({
      ...asObj(b),
      resources: sortedBy(
        asArr(asObj(b).resources).filter((r) => {
          const name = nameOf(r);
          return servedResource(group, name) && (group !== "" || !name.includes("/"));
        }),
        nameOf,
      ),
    }));
}

/** /version: which release each claims is not compared (the embedded one is none); the fields kubectl parses are. */
function versionShape(answer: unknown): unknown {
  return withBody(answer, (b) => ({
    keys: Object.keys(asObj(b))
      .filter((k) => !/^(emulation|minCompatibility)/.test(k))
      .sort(),
    major: asObj(b).major,
    gitVersionShape: /^v\d+\.\d+\.\d+/.test(String(asObj(b).gitVersion)),
  }));
}

/** Only the status code and content type (a binary body, e.g. the OpenAPI v2 protobuf). */
function statusOnly(answer: unknown): unknown {
  const a = asObj(answer);
  return { status: a.status, contentType: a.contentType };
}

/** An item list reduced to its items' names (lists in namespaces other tests also use). */
function namesOnly(answer: unknown): unknown {
  return withBody(answer, (b) => asArr(asObj(b).items).map((i) => asObj(asObj(i).metadata).name));
}

/** OpenAPI v3 root: only the group-versions the embedded server serves (their URLs carry content hashes). */
function servedOpenApiPaths(answer: unknown): unknown {
  return withBody(answer, (b) =>
    Object.keys(asObj(asObj(b).paths))
      .filter((p) => {
        const m = /^(?:api\/v1|apis\/([^/]+)\/[^/]+)$/.exec(p);
        return m !== null && (m[1] ?? "") in SERVED;
      })
      .sort(),
  );
}

/**
 * A CRD's OpenAPI v3 document: what kubectl uses from it (the PATCH operation's GVK, parameters and content
 * types, and the schema's field names for explain), not the whole document with the built-in definitions
 * kube-apiserver adds.
 */
function openApiForKubectl(schemaName: string, patchPath: string) {
  return (answer: unknown) =>
    withBody(answer, (b) => {
      const doc = asObj(b);
      const patch = asObj(asObj(asObj(doc.paths)[patchPath]).patch);
      const schema = asObj(asObj(asObj(doc.components).schemas)[schemaName]);
      const spec = asObj(asObj(schema.properties).spec);
      return {
        openapi: doc.openapi,
        paths: Object.keys(asObj(doc.paths)).sort(),
        patchGvk: patch["x-kubernetes-group-version-kind"],
        patchParameters: asArr(patch.parameters)
          .map((p) => asObj(p).name ?? asObj(p).$ref)
          .sort(),
        patchContentTypes: Object.keys(asObj(asObj(patch.requestBody).content)).sort(),
        schemaProperties: Object.keys(asObj(schema.properties)).sort(),
        schemaGvk: schema["x-kubernetes-group-version-kind"],
        specProperties: Object.keys(asObj(spec.properties)).sort(),
        specDescription: spec.description,
      };
    });
}

/** kubectl's `version -o json`: the fields, not the release numbers. */
function kubectlVersionShape(answer: unknown): unknown {
  const a = asObj(answer);
  const server = asObj(asObj(a.stdout).serverVersion);
  return {
    code: a.code,
    serverKeys: Object.keys(server)
      .filter((k) => !/^(emulation|minCompatibility)/.test(k))
      .sort(),
    serverMajor: server.major,
  };
}

/**
 * `kubectl get all` prints one table per resource in discovery order, and kube-apiserver's order of CRD
 * resources varies between runs: the tables are compared as a set.
 */
function sortedBlocks(answer: unknown): unknown {
  const a = asObj(answer);
  return {
    ...a,
    stdout: String(a.stdout)
      .split("\n\n")
      .map((block) => block.trim())
      .sort(),
  };
}

/** Lines of kubectl's output that mention one of our groups (`api-versions` lists every built-in too). */
function linesOfServedGroups(answer: unknown): unknown {
  const a = asObj(answer);
  return {
    code: a.code,
    lines: String(a.stdout)
      .split("\n")
      .filter((l) => /kubevirt\.io|autoscaling|coordination\.k8s\.io|^v1$/.test(l)),
  };
}

const status = (code: number) => (r: HttpReply) => r.status === code;

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP.

const NS = "diff-http";
const VMS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
const VMS_A3 = `/apis/kubevirt.io/v1alpha3/namespaces/${NS}/virtualmachines`;
const VMIS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances`;
const POOLS = `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools`;
const POOLS_A1 = `/apis/pool.kubevirt.io/v1alpha1/namespaces/${NS}/virtualmachinepools`;
const VMIRS = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstancereplicasets`;
const VMIRS_A3 = `/apis/kubevirt.io/v1alpha3/namespaces/${NS}/virtualmachineinstancereplicasets`;
const CORE = `/api/v1/namespaces/${NS}`;
const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
const HPA_V1 = `/apis/autoscaling/v1/namespaces/${NS}/horizontalpodautoscalers`;
const HPA_V2 = `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`;
const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const APPLY = "application/apply-patch+yaml";
const SUITE = "labelSelector=suite%3Dhttp";

const discovery: HttpCase[] = [
  { id: "version", path: "/version", project: versionShape },
  { id: "api-legacy", path: "/api" },
  { id: "apis-legacy", path: "/apis", project: servedGroups },
  { id: "api-aggregated-v2", path: "/api", accept: AGGREGATED_V2, project: servedAggregated },
  { id: "apis-aggregated-v2", path: "/apis", accept: AGGREGATED_V2, project: servedAggregated },
  // kube-apiserver 1.33+ no longer serves v2beta1: a v2beta1-only client (kubectl ≤1.29) gets legacy discovery.
  { id: "apis-aggregated-v2beta1", path: "/apis", accept: AGGREGATED_V2BETA1, project: servedGroups },
  { id: "api-v1", path: "/api/v1", project: servedResourceList("") },
  { id: "apis-kubevirt", path: "/apis/kubevirt.io" },
  { id: "apis-kubevirt-v1", path: "/apis/kubevirt.io/v1", project: servedResourceList("kubevirt.io") },
  {
    id: "apis-kubevirt-v1alpha3",
    path: "/apis/kubevirt.io/v1alpha3",
    project: servedResourceList("kubevirt.io"),
  },
  { id: "apis-pool", path: "/apis/pool.kubevirt.io" },
  {
    id: "apis-pool-v1beta1",
    path: "/apis/pool.kubevirt.io/v1beta1",
    project: servedResourceList("pool.kubevirt.io"),
  },
  {
    id: "apis-pool-v1alpha1",
    path: "/apis/pool.kubevirt.io/v1alpha1",
    project: servedResourceList("pool.kubevirt.io"),
  },
  {
    id: "apis-cdi-v1beta1",
    path: "/apis/cdi.kubevirt.io/v1beta1",
    project: servedResourceList("cdi.kubevirt.io"),
  },
  { id: "apis-autoscaling", path: "/apis/autoscaling" },
  { id: "apis-autoscaling-v1", path: "/apis/autoscaling/v1", project: servedResourceList("autoscaling") },
  { id: "apis-autoscaling-v2", path: "/apis/autoscaling/v2", project: servedResourceList("autoscaling") },
  {
    id: "apis-coordination-v1",
    path: "/apis/coordination.k8s.io/v1",
    project: servedResourceList("coordination.k8s.io"),
  },
  { id: "apis-apps-v1", path: "/apis/apps/v1", project: servedResourceList("apps") },
  { id: "openapi-v3-root", path: "/openapi/v3", project: servedOpenApiPaths },
  {
    id: "openapi-v3-pool-v1beta1",
    path: "/openapi/v3/apis/pool.kubevirt.io/v1beta1",
    project: openApiForKubectl(
      "io.kubevirt.pool.v1beta1.VirtualMachinePool",
      "/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools/{name}",
    ),
  },
  {
    id: "openapi-v3-kubevirt-v1",
    path: "/openapi/v3/apis/kubevirt.io/v1",
    project: openApiForKubectl(
      "io.kubevirt.v1.VirtualMachine",
      "/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}",
    ),
  },
  {
    id: "openapi-v2-protobuf",
    path: "/openapi/v2",
    accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    project: statusOnly,
  },
  { id: "healthz", path: "/healthz" },
  { id: "readyz", path: "/readyz", project: statusOnly },
];

const namespaces: HttpCase[] = [
  {
    id: "ns-create",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: NS } },
    managedFields: true,
  },
  { id: "ns-get", path: `/api/v1/namespaces/${NS}` },
  {
    id: "ns-create-duplicate",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: NS } },
  },
  {
    id: "ns-create-invalid-name",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: "Bad_Name" } },
  },
  {
    id: "ns-list-selector",
    path: `/api/v1/namespaces?labelSelector=${encodeURIComponent(`kubernetes.io/metadata.name in (default,${NS})`)}`,
  },
  { id: "ns-get-table", path: `/api/v1/namespaces/${NS}`, accept: TABLE },
  { id: "ns-get-missing", path: "/api/v1/namespaces/nope" },
];

const vmCrud: HttpCase[] = [
  {
    id: "vm-create-a",
    managedFields: true,
    method: "POST",
    path: VMS,
    body: vm("vm-a", { app: "a", tier: "web" }),
    save: { aUid: "metadata.uid", aRv: "metadata.resourceVersion" },
  },
  { id: "vm-create-b", method: "POST", path: VMS, body: vm("vm-b", { app: "b" }) },
  { id: "vm-create-c", method: "POST", path: VMS, body: vm("vm-c", { app: "a", tier: "db" }) },
  { id: "vm-get", path: `${VMS}/vm-a` },
  { id: "vm-get-v1alpha3", path: `${VMS_A3}/vm-a` },
  {
    id: "vm-get-protobuf-first",
    path: `${VMS}/vm-a`,
    accept: "application/vnd.kubernetes.protobuf,application/json",
  },
  { id: "vm-get-not-acceptable", path: `${VMS}/vm-a`, accept: "text/html" },
  { id: "vm-get-yaml", path: `${VMS}/vm-a`, accept: "application/yaml" },
  { id: "vm-get-missing", path: `${VMS}/nope` },
  { id: "vm-get-cluster-scope-name", path: "/apis/kubevirt.io/v1/virtualmachines/vm-a" },
  { id: "vm-create-duplicate", method: "POST", path: VMS, body: vm("vm-a") },
  {
    id: "vm-create-generate-name",
    method: "POST",
    path: VMS,
    body: { ...vm(""), metadata: { generateName: "gen-vm-", labels: { suite: "gen" } } },
    save: { genName: "metadata.name" },
  },
  { id: "vm-get-generated", path: `${VMS}/{{genName}}` },
  {
    id: "vm-create-no-name",
    method: "POST",
    path: VMS,
    body: { ...vm(""), metadata: { labels: { suite: "none" } } },
  },
  { id: "vm-create-bad-name", method: "POST", path: VMS, body: vm("Bad_Name") },
  {
    id: "vm-create-namespace-mismatch",
    method: "POST",
    path: VMS,
    body: vm("vm-x", {}, { namespace: "default" }),
  },
  {
    id: "vm-create-missing-namespace",
    method: "POST",
    path: "/apis/kubevirt.io/v1/namespaces/nope/virtualmachines",
    body: vm("vm-x"),
  },
  { id: "vm-create-bad-json", method: "POST", path: VMS, body: '{"apiVersion": "kubevirt.io/v1", nope' },
  {
    id: "vm-create-wrong-kind",
    method: "POST",
    path: VMS,
    body: { ...vm("vm-x"), apiVersion: "v1", kind: "Pod" },
  },
  {
    id: "vm-create-strict-unknown-field",
    method: "POST",
    path: `${VMS}?fieldValidation=Strict`,
    body: { ...vm("vm-strict"), foo: 1, metadata: { name: "vm-strict", bar: 2 } },
  },
  {
    id: "vm-create-strict-duplicate-field",
    method: "POST",
    path: `${VMS}?fieldValidation=Strict`,
    body: JSON.stringify(vm("vm-dup")).replace(
      '"kind":"VirtualMachine"',
      '"kind":"VirtualMachine","kind":"VirtualMachine"',
    ),
  },
  {
    id: "vm-create-warn-unknown-field",
    method: "POST",
    path: `${VMS}?fieldValidation=Warn`,
    body: { ...vm("vm-warn"), foo: 1 },
  },
  {
    id: "vm-create-ignore-unknown-field",
    method: "POST",
    path: `${VMS}?fieldValidation=Ignore`,
    body: { ...vm("vm-ignore"), foo: 1 },
  },
  {
    id: "vm-create-default-unknown-field",
    method: "POST",
    path: VMS,
    body: { ...vm("vm-default-validation"), foo: 1 },
  },
  {
    id: "vm-create-bad-field-validation",
    method: "POST",
    path: `${VMS}?fieldValidation=Sometimes`,
    body: vm("vm-x"),
  },
  { id: "vm-create-dry-run", method: "POST", path: `${VMS}?dryRun=All`, body: vm("vm-dry") },
  { id: "vm-get-dry-run", path: `${VMS}/vm-dry` },
  { id: "vm-create-bad-dry-run", method: "POST", path: `${VMS}?dryRun=Some`, body: vm("vm-dry") },
  {
    id: "vm-create-with-status",
    method: "POST",
    path: VMS,
    body: { ...vm("vm-status", { app: "s" }), status: { printableStatus: "Running" } },
  },
  {
    id: "vm-create-with-resource-version",
    method: "POST",
    path: VMS,
    body: vm("vm-rv", {}, { resourceVersion: "12" }),
  },
  {
    id: "vm-create-empty-finalizers",
    method: "POST",
    path: VMS,
    body: vm("vm-empty", { app: "e" }, { finalizers: [], annotations: {} }),
  },
  {
    id: "vm-create-no-run-strategy",
    method: "POST",
    path: VMS,
    // KubeVirt's webhook (virt-api) is not part of a bare control plane: labelled apart so later lists agree.
    body: { ...vm("vm-norun", { suite: "admission" }), spec: { template: vm("x").spec.template } },
  },
];

const vmList: HttpCase[] = [
  { id: "vm-list", path: `${VMS}?${SUITE}`, save: { listRv: "metadata.resourceVersion" } },
  { id: "vm-list-label-eq", path: `${VMS}?labelSelector=app%3Da` },
  {
    id: "vm-list-label-set",
    path: `${VMS}?labelSelector=${encodeURIComponent("app in (a,b),tier!=db,suite")}`,
  },
  { id: "vm-list-label-exists", path: `${VMS}?labelSelector=tier` },
  { id: "vm-list-label-not-exists", path: `${VMS}?labelSelector=${encodeURIComponent("!tier,suite=http")}` },
  { id: "vm-list-label-invalid", path: `${VMS}?labelSelector=${encodeURIComponent("app in (a")}` },
  { id: "vm-list-field-name", path: `${VMS}?fieldSelector=metadata.name%3Dvm-a` },
  {
    id: "vm-list-field-not-equal",
    path: `${VMS}?fieldSelector=${encodeURIComponent(`metadata.name!=vm-a,metadata.namespace=${NS}`)}&${SUITE}`,
  },
  { id: "vm-list-field-unsupported", path: `${VMS}?fieldSelector=spec.runStrategy%3DHalted` },
  {
    id: "vm-list-cluster-wide",
    path: `/apis/kubevirt.io/v1/virtualmachines?labelSelector=${encodeURIComponent("suite=http,app")}`,
  },
  { id: "vm-list-empty", path: `${VMS}?labelSelector=app%3Dnone` },
  { id: "vm-list-limit", path: `${VMS}?${SUITE}&limit=2`, save: { cont: "metadata.continue" } },
  {
    id: "vm-list-continue",
    path: `${VMS}?${SUITE}&limit=2&continue={{cont}}`,
    save: { cont2: "metadata.continue" },
  },
  { id: "vm-list-continue-last", path: `${VMS}?${SUITE}&limit=10&continue={{cont2}}` },
  { id: "vm-list-continue-invalid", path: `${VMS}?${SUITE}&limit=2&continue=garbage` },
  { id: "vm-list-limit-invalid", path: `${VMS}?limit=abc` },
  { id: "vm-list-rv-0", path: `${VMS}?${SUITE}&resourceVersion=0` },
  { id: "vm-list-rv-0-limit", path: `${VMS}?${SUITE}&resourceVersion=0&limit=1` },
  { id: "vm-list-rv-exact", path: `${VMS}?${SUITE}&resourceVersion={{listRv}}&resourceVersionMatch=Exact` },
  { id: "vm-list-rv-match-without-rv", path: `${VMS}?${SUITE}&resourceVersionMatch=NotOlderThan` },
  {
    id: "vm-list-rv-match-invalid",
    path: `${VMS}?${SUITE}&resourceVersion=0&resourceVersionMatch=Sometimes`,
  },
  {
    id: "vm-list-rv-exact-continue",
    path: `${VMS}?${SUITE}&resourceVersion={{listRv}}&resourceVersionMatch=Exact&continue=garbage`,
  },
  { id: "vm-list-rv-future", path: `${VMS}?${SUITE}&resourceVersion=999999999` },
  { id: "vm-list-rv-invalid", path: `${VMS}?${SUITE}&resourceVersion=abc` },
  { id: "vm-list-table", path: `${VMS}?${SUITE}&limit=500`, accept: TABLE },
  { id: "vm-list-table-include-object", path: `${VMS}?${SUITE}&includeObject=Object`, accept: TABLE },
  { id: "vm-get-table-include-none", path: `${VMS}/vm-a?includeObject=None`, accept: TABLE },
  { id: "vm-list-table-include-invalid", path: `${VMS}?includeObject=Foo`, accept: TABLE },
  { id: "vm-list-table-paged", path: `${VMS}?${SUITE}&limit=1`, accept: TABLE },
  { id: "vm-list-yaml", path: `${VMS}?labelSelector=app%3Db`, accept: "application/yaml" },
  { id: "vm-list-pretty", path: `${VMS}?labelSelector=app%3Db&pretty=true` },
];

const vmUpdate: HttpCase[] = [
  {
    id: "vm-put-labels",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: vm("vm-a", { app: "a", tier: "web", extra: "1" }, { resourceVersion: "{{aRv}}" }),
    save: { aRv2: "metadata.resourceVersion" },
  },
  {
    id: "vm-put-stale",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: vm("vm-a", { app: "a", tier: "web" }, { resourceVersion: "{{aRv}}" }),
  },
  { id: "vm-put-no-resource-version", method: "PUT", path: `${VMS}/vm-a`, body: vm("vm-a", { app: "a" }) },
  {
    id: "vm-put-name-mismatch",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: vm("vm-other", {}, { resourceVersion: "{{aRv2}}" }),
  },
  {
    id: "vm-put-missing",
    method: "PUT",
    path: `${VMS}/vm-none`,
    body: vm("vm-none", {}, { resourceVersion: "{{aRv2}}" }),
  },
  {
    id: "vm-put-spec",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: vm(
      "vm-a",
      { app: "a", tier: "web", extra: "1" },
      { resourceVersion: "{{aRv2}}" },
      { runStrategy: "Manual" },
    ),
    save: { aRv3: "metadata.resourceVersion" },
  },
  {
    id: "vm-put-status-ignored",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: {
      ...vm(
        "vm-a",
        { app: "a", tier: "web", extra: "1" },
        { resourceVersion: "{{aRv3}}" },
        { runStrategy: "Manual" },
      ),
      status: { printableStatus: "Running" },
    },
  },
  {
    id: "vm-put-invalid-body",
    method: "PUT",
    path: `${VMS}/vm-a`,
    body: "[]",
  },
];

const vmPatch: HttpCase[] = [
  {
    id: "vm-patch-merge-labels",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: { metadata: { labels: { color: "red" } } },
  },
  {
    id: "vm-patch-merge-spec",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: { spec: { runStrategy: "Always" } },
  },
  {
    id: "vm-patch-merge-null",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: { metadata: { labels: { color: null } } },
  },
  {
    id: "vm-patch-merge-stale-precondition",
    method: "PATCH",
    path: `${VMS}/vm-a`,
    contentType: MERGE,
    body: { metadata: { resourceVersion: "{{aRv}}", labels: { stale: "x" } } },
  },
  {
    id: "vm-patch-merge-strict-unknown",
    method: "PATCH",
    path: `${VMS}/vm-b?fieldValidation=Strict`,
    contentType: MERGE,
    body: { foo: 1 },
  },
  {
    id: "vm-patch-merge-invalid-json",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: "{nope",
  },
  {
    id: "vm-patch-json-add",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [{ op: "add", path: "/metadata/annotations", value: { note: "hello" } }],
  },
  {
    id: "vm-patch-json-test-ok",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [
      { op: "test", path: "/metadata/annotations/note", value: "hello" },
      { op: "replace", path: "/metadata/annotations/note", value: "bye" },
    ],
  },
  {
    id: "vm-patch-json-test-fail",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [{ op: "test", path: "/metadata/annotations/note", value: "hello" }],
  },
  {
    id: "vm-patch-json-missing-path",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [{ op: "replace", path: "/spec/nope/deeper", value: 1 }],
  },
  {
    id: "vm-patch-json-remove-missing",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [{ op: "remove", path: "/metadata/labels/absent" }],
  },
  {
    id: "vm-patch-json-not-array",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: { op: "add" },
  },
  {
    id: "vm-patch-json-empty-annotations",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: JSON_PATCH,
    body: [
      { op: "replace", path: "/metadata/annotations", value: {} },
      { op: "add", path: "/metadata/finalizers", value: [] },
    ],
  },
  {
    id: "vm-patch-strategic",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: STRATEGIC,
    body: { metadata: { labels: { x: "y" } } },
  },
  {
    id: "vm-patch-unknown-type",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: "text/plain",
    body: "x",
  },
  {
    id: "vm-patch-missing",
    method: "PATCH",
    path: `${VMS}/nope`,
    contentType: MERGE,
    body: { metadata: { labels: { x: "y" } } },
  },
  { id: "vm-get-after-patches", path: `${VMS}/vm-b` },
];

/** Server-side apply: field ownership is the subject, so managedFields are compared. */
const ssaCases: HttpCase[] = [
  {
    id: "apply-no-field-manager",
    method: "PATCH",
    path: `${VMS}/vm-ssa`,
    contentType: APPLY,
    body: vm("vm-ssa"),
  },
  {
    id: "apply-create",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=alice`,
    contentType: APPLY,
    body: vm("vm-ssa", { owner: "alice" }, { annotations: { color: "blue" } }),
  },
  {
    id: "apply-update",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=alice`,
    contentType: APPLY,
    body: vm("vm-ssa", { owner: "alice", more: "yes" }, { annotations: { color: "blue" } }),
  },
  {
    id: "apply-conflict",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=bob`,
    contentType: APPLY,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-ssa", annotations: { color: "red" } },
    },
  },
  {
    id: "apply-force",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=bob&force=true`,
    contentType: APPLY,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-ssa", annotations: { color: "red" } },
    },
  },
  {
    // alice lost the annotation to bob's forced apply: dropping it from her config leaves it alone.
    id: "apply-drop-lost-field",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=alice`,
    contentType: APPLY,
    body: vm("vm-ssa", { owner: "alice", more: "yes" }),
  },
  {
    // bob owns the annotation since the forced apply: dropping it from his config removes it.
    id: "apply-drop-forced-field",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=bob`,
    contentType: APPLY,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-ssa", labels: { bob: "1" } },
    },
  },
  {
    id: "apply-force-capitalised",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=carol&force=True`,
    contentType: APPLY,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-ssa", labels: { owner: "carol" } },
    },
  },
  {
    id: "apply-yaml-body",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=dave`,
    contentType: APPLY,
    body: 'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm-ssa\n  annotations:\n    dave: "yes"\n',
  },
  {
    id: "apply-invalid-yaml",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=dave`,
    contentType: APPLY,
    body: "apiVersion: [unclosed\n",
  },
  {
    id: "apply-dry-run",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=erin&dryRun=All`,
    contentType: APPLY,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-ssa", labels: { erin: "1" } },
    },
  },
  {
    id: "apply-strict-unknown",
    method: "PATCH",
    path: `${VMS}/vm-ssa?fieldManager=erin&fieldValidation=Strict`,
    contentType: APPLY,
    body: { apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", metadata: { name: "vm-ssa" }, foo: 1 },
  },
  { id: "apply-result", path: `${VMS}/vm-ssa` },
];

const statusAndScale: HttpCase[] = [
  { id: "vm-status-get", path: `${VMS}/vm-a/status` },
  {
    id: "vm-status-patch",
    method: "PATCH",
    path: `${VMS}/vm-a/status`,
    contentType: MERGE,
    body: {
      spec: { runStrategy: "Always" },
      metadata: { labels: { ignored: "x" } },
      status: { printableStatus: "Stopped", ready: false },
    },
    save: { aRv4: "metadata.resourceVersion" },
  },
  {
    id: "vm-status-put",
    method: "PUT",
    path: `${VMS}/vm-a/status`,
    body: {
      ...vm("vm-a", { app: "a" }, { resourceVersion: "{{aRv4}}" }),
      status: { printableStatus: "Running", conditions: [{ type: "Ready", status: "True" }] },
    },
  },
  { id: "vm-status-get-after", path: `${VMS}/vm-a`, managedFields: true },
  {
    id: "vmi-create-with-status",
    method: "POST",
    path: VMIS,
    body: {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: { name: "vmi-a", labels: { suite: "http" } },
      spec: { domain: { devices: {}, resources: { requests: { memory: "64Mi" } } } },
      status: { phase: "Running", nodeName: "node01", interfaces: [{ ipAddress: "10.244.0.9" }] },
    },
  },
  { id: "vmi-status-subresource-missing", path: `${VMIS}/vmi-a/status` },
  {
    id: "vmi-patch-status-bumps-generation",
    method: "PATCH",
    path: `${VMIS}/vmi-a`,
    contentType: MERGE,
    body: { status: { phase: "Succeeded" } },
  },
  { id: "vmi-list-table", path: VMIS, accept: TABLE },
  { id: "pool-create", method: "POST", path: POOLS, body: pool("p1", 2) },
  { id: "pool-get-v1alpha1", path: `${POOLS_A1}/p1` },
  {
    id: "pool-create-v1alpha1",
    method: "POST",
    path: POOLS_A1,
    body: pool("p2", 1, "pool.kubevirt.io/v1alpha1"),
  },
  { id: "pool-list-v1beta1", path: `${POOLS}?${SUITE}` },
  { id: "pool-scale-get", path: `${POOLS}/p1/scale` },
  {
    id: "pool-scale-patch-merge",
    method: "PATCH",
    path: `${POOLS}/p1/scale`,
    contentType: MERGE,
    body: { spec: { replicas: 3 } },
  },
  {
    id: "pool-scale-patch-json",
    method: "PATCH",
    path: `${POOLS}/p1/scale`,
    contentType: JSON_PATCH,
    body: [{ op: "replace", path: "/spec/replicas", value: 4 }],
    save: { scaleRv: "metadata.resourceVersion" },
  },
  {
    id: "pool-scale-patch-strategic",
    method: "PATCH",
    path: `${POOLS}/p1/scale`,
    contentType: STRATEGIC,
    body: { spec: { replicas: 4 } },
  },
  {
    id: "pool-scale-put",
    method: "PUT",
    path: `${POOLS}/p1/scale`,
    body: {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "p1", namespace: NS, resourceVersion: "{{scaleRv}}" },
      spec: { replicas: 5 },
    },
  },
  {
    id: "pool-scale-put-stale",
    method: "PUT",
    path: `${POOLS}/p1/scale`,
    body: {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "p1", namespace: NS, resourceVersion: "{{scaleRv}}" },
      spec: { replicas: 6 },
    },
  },
  {
    id: "pool-scale-put-unconditional",
    method: "PUT",
    path: `${POOLS}/p1/scale`,
    body: {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "p1", namespace: NS },
      spec: { replicas: 2 },
    },
  },
  {
    id: "pool-scale-apply",
    managedFields: true,
    method: "PATCH",
    path: `${POOLS}/p1/scale?fieldManager=autoscaler`,
    contentType: APPLY,
    body: {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "p1", namespace: NS },
      spec: { replicas: 3 },
    },
  },
  // Field ownership after writes through /scale and by an apply to /scale: the subresource's own entries.
  { id: "pool-get-after-scale", path: `${POOLS}/p1`, managedFields: true },
  {
    id: "pool-status-patch",
    method: "PATCH",
    path: `${POOLS}/p1/status`,
    contentType: MERGE,
    body: { status: { replicas: 3, readyReplicas: 2, labelSelector: "kubevirt.io/vmpool=p1" } },
  },
  { id: "pool-scale-get-with-status", path: `${POOLS}/p1/scale` },
  { id: "pool-list-table", path: `${POOLS}?${SUITE}`, accept: TABLE },
  { id: "pool-scale-missing", path: `${POOLS}/nope/scale` },
  {
    id: "pool-create-selector-mismatch",
    method: "POST",
    path: POOLS,
    body: {
      ...pool("p-bad", 1, "pool.kubevirt.io/v1beta1", { labels: { suite: "admission" } }),
      spec: { ...pool("p-bad", 1).spec, selector: { matchLabels: { other: "x" } } },
    },
  },
  { id: "vmirs-create-v1alpha3", method: "POST", path: VMIRS_A3, body: vmirs("rs1", 2) },
  { id: "vmirs-get-v1", path: `${VMIRS}/rs1` },
  { id: "vmirs-scale-get", path: `${VMIRS}/rs1/scale` },
  {
    id: "vmirs-status-patch",
    method: "PATCH",
    path: `${VMIRS}/rs1/status`,
    contentType: MERGE,
    body: { status: { replicas: 1, readyReplicas: 1, labelSelector: "myvmi=rs1" } },
  },
  { id: "vmirs-scale-get-selector", path: `${VMIRS}/rs1/scale` },
  { id: "vmirs-list-table", path: VMIRS, accept: TABLE },
];

const watches: HttpCase[] = [
  {
    id: "watch-list-before",
    path: `${VMS}?${SUITE}`,
    save: { wrv: "metadata.resourceVersion" },
    project: namesOnly,
  },
  {
    id: "watch-change-patch",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: { metadata: { labels: { watched: "yes" } } },
  },
  { id: "watch-change-delete", method: "DELETE", path: `${VMS}/vm-c` },
  {
    id: "watch-from-rv",
    path: `${VMS}?${SUITE}&watch=true&resourceVersion={{wrv}}&timeoutSeconds=2`,
    events: 2,
  },
  {
    id: "watch-initial-events",
    path: `${VMS}?labelSelector=${encodeURIComponent("suite=http,app in (a,b)")}&watch=true&timeoutSeconds=2`,
    events: 2,
  },
  {
    id: "watch-capitalised-true",
    path: `${VMS}?${SUITE}&watch=True&resourceVersion={{wrv}}&timeoutSeconds=2`,
    events: 2,
  },
  { id: "watch-one", path: `${VMS}?${SUITE}&watch=1&resourceVersion={{wrv}}&timeoutSeconds=2`, events: 2 },
  {
    id: "watch-false-is-list",
    path: `${VMS}?labelSelector=app%3Db&watch=false`,
  },
  {
    id: "watch-field-selector",
    path: `${VMS}?fieldSelector=metadata.name%3Dvm-c&watch=true&resourceVersion={{wrv}}&timeoutSeconds=2`,
    events: 1,
  },
  {
    id: "watch-table",
    path: `${VMS}?${SUITE}&watch=true&resourceVersion={{wrv}}&timeoutSeconds=2`,
    accept: TABLE,
    events: 2,
  },
  {
    id: "watch-label-leave-setup",
    path: `${VMS}?labelSelector=app%3Db`,
    save: { wrv2: "metadata.resourceVersion" },
    project: namesOnly,
  },
  {
    id: "watch-label-leave-change",
    method: "PATCH",
    path: `${VMS}/vm-b`,
    contentType: MERGE,
    body: { metadata: { labels: { app: "z" } } },
  },
  {
    id: "watch-label-leave",
    path: `${VMS}?labelSelector=app%3Db&watch=true&resourceVersion={{wrv2}}&timeoutSeconds=2`,
    events: 1,
  },
  {
    id: "watch-rv-0",
    path: `${VMS}?fieldSelector=metadata.name%3Dvm-a&watch=true&resourceVersion=0&timeoutSeconds=2`,
    events: 1,
  },
  { id: "watch-too-old", path: `${VMS}?watch=true&resourceVersion=1&timeoutSeconds=2`, events: 1 },
  { id: "watch-rv-invalid", path: `${VMS}?watch=true&resourceVersion=abc&timeoutSeconds=2`, events: 1 },
  {
    id: "watch-send-initial-events",
    path: `${VMS}?fieldSelector=metadata.name%3Dvm-a&watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=2`,
    events: 2,
  },
  {
    id: "watch-initial-events-without-bookmarks",
    path: `${VMS}?fieldSelector=metadata.name%3Dvm-a&watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=2`,
    events: 2,
  },
];

const deletes: HttpCase[] = [
  { id: "delete-missing", method: "DELETE", path: `${VMS}/nope` },
  {
    id: "delete-precondition-uid",
    method: "DELETE",
    path: `${VMS}/vm-b`,
    body: { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } },
  },
  {
    id: "delete-precondition-rv",
    method: "DELETE",
    path: `${VMS}/vm-a`,
    body: { preconditions: { resourceVersion: "{{aRv}}" } },
  },
  { id: "delete-dry-run", method: "DELETE", path: `${VMS}/vm-b?dryRun=All` },
  { id: "delete-dry-run-still-there", path: `${VMS}/vm-b`, project: (a) => asObj(a).status },
  {
    id: "finalizer-create",
    method: "POST",
    path: VMS,
    body: vm("vm-fin", { app: "f" }, { finalizers: ["example.com/hold"] }),
  },
  { id: "finalizer-delete", method: "DELETE", path: `${VMS}/vm-fin` },
  { id: "finalizer-delete-again", method: "DELETE", path: `${VMS}/vm-fin` },
  {
    id: "finalizer-add-while-deleting",
    method: "PATCH",
    path: `${VMS}/vm-fin`,
    contentType: MERGE,
    body: { metadata: { finalizers: ["example.com/hold", "example.com/more"] } },
  },
  {
    id: "finalizer-spec-change-while-deleting",
    method: "PATCH",
    path: `${VMS}/vm-fin`,
    contentType: MERGE,
    body: { spec: { runStrategy: "Always" } },
  },
  {
    id: "finalizer-remove",
    method: "PATCH",
    path: `${VMS}/vm-fin`,
    contentType: MERGE,
    body: { metadata: { finalizers: null } },
  },
  { id: "finalizer-gone", path: `${VMS}/vm-fin`, until: status(404) },
  {
    id: "gc-orphan-owner",
    method: "POST",
    path: POOLS,
    body: pool("owner-o", 0),
    save: { ownerO: "metadata.uid" },
  },
  {
    id: "gc-orphan-dependent",
    method: "POST",
    path: VMS,
    body: vm(
      "dep-o",
      {},
      { ownerReferences: [ownerRef("VirtualMachinePool", "pool.kubevirt.io/v1beta1", "owner-o", "ownerO")] },
    ),
  },
  {
    // The garbage collector orphans only the dependents its graph has seen: time to see dep-o.
    id: "gc-orphan-delete",
    method: "DELETE",
    path: `${POOLS}/owner-o`,
    body: { propagationPolicy: "Orphan" },
    delayMs: 2_000,
  },
  { id: "gc-orphan-owner-gone", path: `${POOLS}/owner-o`, until: status(404), untilMs: 45_000 },
  {
    id: "gc-orphan-dependent-kept",
    path: `${VMS}/dep-o`,
    until: (r) => pick(r.body, "metadata.ownerReferences") === undefined,
    untilMs: 45_000,
  },
  {
    id: "gc-foreground-owner",
    method: "POST",
    path: POOLS,
    body: pool("owner-f", 0),
    save: { ownerF: "metadata.uid" },
  },
  {
    id: "gc-foreground-dependent",
    method: "POST",
    path: VMS,
    body: vm(
      "dep-f",
      {},
      {
        ownerReferences: [
          ownerRef("VirtualMachinePool", "pool.kubevirt.io/v1beta1", "owner-f", "ownerF", true),
        ],
      },
    ),
  },
  {
    id: "gc-foreground-delete",
    method: "DELETE",
    path: `${POOLS}/owner-f`,
    body: { propagationPolicy: "Foreground" },
  },
  { id: "gc-foreground-dependent-gone", path: `${VMS}/dep-f`, until: status(404), untilMs: 45_000 },
  { id: "gc-foreground-owner-gone", path: `${POOLS}/owner-f`, until: status(404), untilMs: 45_000 },
  {
    id: "gc-background-owner",
    method: "POST",
    path: POOLS,
    body: pool("owner-b", 0),
    save: { ownerB: "metadata.uid" },
  },
  {
    id: "gc-background-dependent",
    method: "POST",
    path: VMS,
    body: vm(
      "dep-b",
      {},
      { ownerReferences: [ownerRef("VirtualMachinePool", "pool.kubevirt.io/v1beta1", "owner-b", "ownerB")] },
    ),
  },
  { id: "gc-background-delete", method: "DELETE", path: `${POOLS}/owner-b` },
  { id: "gc-background-dependent-gone", path: `${VMS}/dep-b`, until: status(404), untilMs: 45_000 },
  { id: "delete-collection", method: "DELETE", path: `${VMS}?labelSelector=app%3De` },
  { id: "delete-collection-after", path: `${VMS}?labelSelector=app%3De` },
  {
    id: "delete-propagation-invalid",
    method: "DELETE",
    path: `${VMS}/vm-b`,
    body: { propagationPolicy: "Sometimes" },
  },
];

const builtins: HttpCase[] = [
  {
    id: "event-create",
    method: "POST",
    path: `${CORE}/events`,
    body: {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "vm-a.1" },
      involvedObject: {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachine",
        name: "vm-a",
        namespace: NS,
        uid: "{{aUid}}",
      },
      reason: "Started",
      message: "started it",
      type: "Normal",
      source: { component: "virtualmachinepool-controller" },
      firstTimestamp: "2026-01-01T10:00:00.123Z",
      lastTimestamp: "2026-01-01T10:00:00.123Z",
      count: 1,
    },
  },
  {
    id: "event-list-involved-object",
    path: `${CORE}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=vm-a,involvedObject.namespace=${NS},involvedObject.kind=VirtualMachine,involvedObject.uid={{aUid}}`)}&limit=500`,
    accept: "application/vnd.kubernetes.protobuf,application/json",
  },
  {
    id: "event-patch-strategic",
    method: "PATCH",
    path: `${CORE}/events/vm-a.1`,
    contentType: STRATEGIC,
    body: { count: 2, lastTimestamp: "2026-01-01T10:05:00Z", message: "started it again" },
  },
  { id: "event-list-field-unsupported", path: `${CORE}/events?fieldSelector=foo%3Dbar` },
  { id: "event-list-table", path: `${CORE}/events`, accept: TABLE },
  {
    id: "lease-create",
    method: "POST",
    path: LEASES,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l1" },
      spec: {
        holderIdentity: "me",
        leaseDurationSeconds: 15,
        acquireTime: "2026-01-01T10:00:00.123456Z",
        renewTime: "2026-01-01T10:00:00.123456Z",
      },
    },
    save: { leaseRv: "metadata.resourceVersion" },
  },
  {
    // A MicroTime must carry exactly six fractional digits (metav1.MicroTime's RFC3339Micro).
    id: "lease-create-bad-micro-time",
    method: "POST",
    path: LEASES,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l3" },
      spec: { holderIdentity: "me", renewTime: "2026-01-01T10:00:00.123Z" },
    },
  },
  {
    id: "lease-put-unconditional",
    method: "PUT",
    path: `${LEASES}/l1`,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l1" },
      spec: { holderIdentity: "nobody", leaseDurationSeconds: 15 },
    },
  },
  // Only fetches the current resourceVersion: its holder differs where the unconditional PUT above did.
  {
    id: "lease-get",
    path: `${LEASES}/l1`,
    save: { leaseRv2: "metadata.resourceVersion" },
    project: statusOnly,
  },
  {
    id: "lease-put",
    method: "PUT",
    path: `${LEASES}/l1`,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l1", resourceVersion: "{{leaseRv2}}" },
      spec: { holderIdentity: "you", leaseDurationSeconds: 15 },
    },
  },
  {
    id: "lease-put-stale",
    method: "PUT",
    path: `${LEASES}/l1`,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l1", resourceVersion: "{{leaseRv}}" },
      spec: { holderIdentity: "them" },
    },
  },
  {
    id: "lease-invalid",
    method: "POST",
    path: LEASES,
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l2" },
      spec: { leaseDurationSeconds: -1 },
    },
  },
  // Only l1: the invalid leases above may exist on one server only.
  { id: "lease-list-table", path: `${LEASES}?fieldSelector=metadata.name%3Dl1`, accept: TABLE },
  {
    id: "hpa-create-v1",
    method: "POST",
    path: HPA_V1,
    body: {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "p1" },
      spec: {
        scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1beta1", kind: "VirtualMachinePool", name: "p1" },
        minReplicas: 1,
        maxReplicas: 5,
        targetCPUUtilizationPercentage: 60,
      },
      status: { currentReplicas: 9, desiredReplicas: 9 },
    },
  },
  { id: "hpa-get-v2", path: `${HPA_V2}/p1` },
  {
    id: "hpa-create-v2-behavior",
    method: "POST",
    path: HPA_V2,
    body: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "rs1" },
      spec: {
        scaleTargetRef: {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachineInstanceReplicaSet",
          name: "rs1",
        },
        maxReplicas: 4,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
      },
    },
  },
  { id: "hpa-get-v1-annotations", path: `${HPA_V1}/rs1` },
  { id: "hpa-list-table", path: `${HPA_V2}?fieldSelector=metadata.name!%3Dbad`, accept: TABLE },
  {
    id: "hpa-invalid",
    method: "POST",
    path: HPA_V2,
    body: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "bad" },
      spec: { scaleTargetRef: { kind: "VirtualMachinePool", name: "p1" }, maxReplicas: 0 },
    },
  },
  {
    id: "configmap-create",
    method: "POST",
    path: `${CORE}/configmaps`,
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm1" }, data: { a: "b" } },
  },
  { id: "configmap-get", path: `${CORE}/configmaps/cm1` },
  {
    id: "secret-create",
    method: "POST",
    path: `${CORE}/secrets`,
    body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" }, stringData: { a: "b" } },
  },
  { id: "secret-get", path: `${CORE}/secrets/s1` },
  { id: "nodes-list", path: "/api/v1/nodes" },
  {
    id: "self-subject-access-review",
    method: "POST",
    path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          namespace: NS,
          verb: "create",
          group: "pool.kubevirt.io",
          resource: "virtualmachinepools",
        },
      },
    },
    // The reason names the authorizer chain (RBAC on the real one): only the decision is compared.
    project: (a) => withBody(a, (b) => ({ kind: asObj(b).kind, allowed: asObj(asObj(b).status).allowed })),
  },
];

const errors: HttpCase[] = [
  { id: "unknown-resource", path: `/apis/kubevirt.io/v1/namespaces/${NS}/foos` },
  { id: "unknown-group", path: "/apis/nope.example.com/v1/foos" },
  { id: "unknown-version", path: "/apis/kubevirt.io/v9/virtualmachines" },
  { id: "method-not-allowed-collection", method: "PUT", path: VMS, body: vm("vm-a") },
  { id: "method-not-allowed-named-post", method: "POST", path: `${VMS}/vm-a`, body: vm("vm-a") },
  { id: "cluster-scoped-under-namespace", path: `/api/v1/namespaces/${NS}/namespaces` },
  { id: "unsupported-content-type", method: "POST", path: VMS, contentType: "text/plain", body: "x" },
];

const namespaceLifecycle: HttpCase[] = [
  {
    id: "ns-scratch-create",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: "diff-scratch" } },
  },
  {
    id: "ns-scratch-vm",
    method: "POST",
    path: "/apis/kubevirt.io/v1/namespaces/diff-scratch/virtualmachines",
    body: vm("held", {}, { finalizers: ["example.com/hold"] }),
  },
  { id: "ns-scratch-delete", method: "DELETE", path: "/api/v1/namespaces/diff-scratch" },
  {
    id: "ns-scratch-create-in-terminating",
    method: "POST",
    path: "/apis/kubevirt.io/v1/namespaces/diff-scratch/virtualmachines",
    body: vm("late"),
  },
  {
    id: "ns-scratch-content-deleting",
    path: "/apis/kubevirt.io/v1/namespaces/diff-scratch/virtualmachines/held",
    until: (r) => pick(r.body, "metadata.deletionTimestamp") !== undefined,
    untilMs: 30_000,
  },
  {
    id: "ns-scratch-release",
    method: "PATCH",
    path: "/apis/kubevirt.io/v1/namespaces/diff-scratch/virtualmachines/held",
    contentType: MERGE,
    body: { metadata: { finalizers: null } },
  },
  { id: "ns-scratch-gone", path: "/api/v1/namespaces/diff-scratch", until: status(404), untilMs: 45_000 },
];

export const HTTP_GROUPS: ReadonlyArray<readonly [string, HttpCase[]]> = [
  ["discovery", discovery],
  ["namespaces", namespaces],
  ["VM create/get", vmCrud],
  ["VM list", vmList],
  ["VM update", vmUpdate],
  ["VM patch", vmPatch],
  ["server-side apply", ssaCases.map((c) => ({ ...c, managedFields: true }))],
  ["status and scale", statusAndScale],
  ["watch", watches],
  ["delete and garbage collection", deletes],
  ["built-in kinds", builtins],
  ["errors", errors],
  ["namespace lifecycle", namespaceLifecycle],
];

// ---------------------------------------------------------------------------------------------------------
// kubectl: the seed walkthrough (README.md) and more, once per version in its own namespace.

const POOL_FILE = join(EXAMPLES, "vm-pool-cirros.yaml");
const POOL_YAML = (replicas: number) => `apiVersion: pool.kubevirt.io/v1alpha1
kind: VirtualMachinePool
metadata:
  name: vm-pool-cirros
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      kubevirt.io/vmpool: vm-pool-cirros
  virtualMachineTemplate:
    metadata:
      labels:
        kubevirt.io/vmpool: vm-pool-cirros
    spec:
      running: true
      template:
        metadata:
          labels:
            kubevirt.io/vmpool: vm-pool-cirros
        spec:
          domain:
            devices:
              disks:
              - disk:
                  bus: virtio
                name: containerdisk
            resources:
              requests:
                memory: 128Mi
          terminationGracePeriodSeconds: 0
          volumes:
          - containerDisk:
              image: kubevirt/cirros-container-disk-demo:latest
            name: containerdisk
`;
const VM_YAML = (name: string, extra = "") => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
  labels:
    app: demo
${extra}spec:
  runStrategy: Halted
  template:
    spec:
      domain:
        devices: {}
        resources:
          requests:
            memory: 64Mi
`;
const OWNER_YAML = (name: string) => `apiVersion: pool.kubevirt.io/v1beta1
kind: VirtualMachinePool
metadata:
  name: ${name}
spec:
  replicas: 0
  selector:
    matchLabels:
      kubevirt.io/vmpool: ${name}
  virtualMachineTemplate:
    metadata:
      labels:
        kubevirt.io/vmpool: ${name}
    spec:
      runStrategy: Halted
      template:
        spec:
          domain:
            devices: {}
`;
const DEPENDENT_EXTRA = (owner: string, uidVar: string, block: boolean) => `  ownerReferences:
  - apiVersion: pool.kubevirt.io/v1beta1
    kind: VirtualMachinePool
    name: ${owner}
    uid: "{{${uidVar}}}"
    controller: true
    blockOwnerDeletion: ${block}
`;

export function kubectlCases(ns: string): KubectlCase[] {
  const pools = `/apis/pool.kubevirt.io/v1alpha1/namespaces/${ns}/virtualmachinepools`;
  return [
    { id: "create-namespace", args: ["create", "namespace", ns] },
    { id: "create-pool", args: ["create", "-f", POOL_FILE] },
    { id: "get-vmpool", args: ["get", "vmpool"] },
    { id: "get-vmpool-wide", args: ["get", "vmpool", "-o", "wide"] },
    { id: "get-vmpool-yaml", args: ["get", "vmpool", "vm-pool-cirros", "-o", "yaml"], output: "yaml" },
    { id: "get-vmpool-json", args: ["get", "vmpool", "vm-pool-cirros", "-o", "json"], output: "json" },
    { id: "get-vmpool-name", args: ["get", "vmpool", "-o", "name"] },
    {
      id: "get-vmpool-custom-columns",
      args: [
        "get",
        "vmpool",
        "-o",
        "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,GEN:.metadata.generation",
      ],
    },
    { id: "describe-vmpool", args: ["describe", "vmpool", "vm-pool-cirros"] },
    { id: "create-pool-again", args: ["create", "-f", POOL_FILE] },
    { id: "scale-vmpool", args: ["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"] },
    {
      id: "scale-vmpool-current-replicas",
      args: ["scale", "vmpool", "vm-pool-cirros", "--current-replicas=5", "--replicas=4"],
    },
    {
      id: "scale-vmpool-wrong-current",
      args: ["scale", "vmpool", "vm-pool-cirros", "--current-replicas=9", "--replicas=2"],
    },
    {
      id: "get-after-scale",
      args: ["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"],
    },
    { id: "apply-pool-client-side", args: ["apply", "-f", POOL_FILE] },
    {
      id: "patch-merge",
      args: ["patch", "vmpool", "vm-pool-cirros", "--type", "merge", "-p", '{"spec":{"replicas":2}}'],
    },
    {
      id: "patch-json",
      args: [
        "patch",
        "vmpool",
        "vm-pool-cirros",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":3}]',
      ],
    },
    { id: "patch-strategic", args: ["patch", "vmpool", "vm-pool-cirros", "-p", '{"spec":{"replicas":4}}'] },
    {
      id: "patch-status",
      args: [
        "patch",
        "vmpool",
        "vm-pool-cirros",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        '{"status":{"replicas":3,"readyReplicas":2}}',
      ],
    },
    { id: "get-vmpool-with-status", args: ["get", "vmpool"] },
    { id: "label", args: ["label", "vmpool", "vm-pool-cirros", "team=a"] },
    { id: "annotate", args: ["annotate", "vmpool", "vm-pool-cirros", "note=x"] },
    { id: "get-show-labels", args: ["get", "vmpool", "--show-labels"] },
    { id: "get-label-selector", args: ["get", "vmpool", "-l", "team=a"] },
    { id: "get-label-selector-none", args: ["get", "vmpool", "-l", "team=b"] },
    { id: "get-field-selector", args: ["get", "vmpool", "--field-selector", "metadata.name=vm-pool-cirros"] },
    { id: "get-field-selector-unsupported", args: ["get", "vmpool", "--field-selector", "spec.replicas=3"] },
    { id: "apply-vmirs", args: ["apply", "-f", join(EXAMPLES, "vmirs.yaml")] },
    { id: "get-vmirs-file", args: ["get", "-f", join(EXAMPLES, "vmirs.yaml")] },
    { id: "describe-vmirs", args: ["describe", "vmirs", "testreplicaset"] },
    { id: "scale-vmirs", args: ["scale", "vmirs", "testreplicaset", "--replicas", "5"] },
    { id: "get-vmis", args: ["get", "vmis"] },
    { id: "get-pod", args: ["get", "pod"] },
    {
      id: "autoscale-vmpool",
      args: ["autoscale", "vmpool", "vm-pool-cirros", "--min=3", "--max=10", "--cpu-percent=50"],
    },
    { id: "apply-hpa", args: ["apply", "-f", join(EXAMPLES, "vm-pool-cirros-hpa.yaml")] },
    { id: "create-fedora-pool", args: ["create", "-f", join(EXAMPLES, "vm-pool-fedora-dv.yaml")] },
    { id: "get-dv", args: ["get", "dv"] },
    { id: "autoscale-vmirs", args: ["autoscale", "vmirs", "testreplicaset", "--min=2", "--max=5"] },
    { id: "get-hpa", args: ["get", "hpa"] },
    { id: "describe-hpa", args: ["describe", "hpa", "vm-pool-cirros"] },
    {
      id: "get-hpa-v1-raw",
      args: ["get", "--raw", `/apis/autoscaling/v1/namespaces/${ns}/horizontalpodautoscalers/testreplicaset`],
      output: "json",
    },
    { id: "apply-service", args: ["apply", "-f", join(EXAMPLES, "vm-pool-cirros-ssh.yaml")] },
    {
      id: "get-service",
      args: [
        "get",
        "svc",
        "vm-pool-cirros-ssh",
        "-o",
        "jsonpath={.spec.type} {.spec.ports} {.spec.selector}",
      ],
    },
    { id: "create-vm-stdin", args: ["create", "-f", "-"], stdin: VM_YAML("vm-k") },
    { id: "create-vm-stdin-2", args: ["create", "-f", "-"], stdin: VM_YAML("vm-k2") },
    // The README's "remove a VM from its pool": a member VM (made by hand here) loses its owner reference.
    {
      id: "get-pool-uid",
      args: ["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.metadata.uid}"],
      save: "poolUid",
    },
    {
      id: "create-pool-member",
      args: ["create", "-f", "-"],
      stdin: VM_YAML("vm-pool-cirros-0", DEPENDENT_EXTRA("vm-pool-cirros", "poolUid", true)),
    },
    {
      id: "release-pool-member",
      args: [
        "patch",
        "vm",
        "vm-pool-cirros-0",
        "--type",
        "merge",
        "--patch",
        '{"metadata":{"ownerReferences":null}}',
      ],
    },
    {
      id: "get-released-member",
      args: ["get", "vm", "vm-pool-cirros-0", "-o", "jsonpath={.metadata.ownerReferences}"],
    },
    { id: "get-vm-yaml", args: ["get", "vm", "vm-k", "-o", "yaml"], output: "yaml" },
    {
      id: "patch-vm-status-ready",
      args: [
        "patch",
        "vm",
        "vm-k",
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        '{"status":{"printableStatus":"Running","conditions":[{"type":"Ready","status":"True"}]}}',
      ],
    },
    { id: "wait-condition", args: ["wait", "--for=condition=Ready", "vm/vm-k", "--timeout=10s"] },
    {
      id: "wait-jsonpath",
      args: ["wait", "--for=jsonpath={.spec.replicas}=3", "vmpool/vm-pool-cirros", "--timeout=10s"],
    },
    { id: "get-vm", args: ["get", "vm"] },
    { id: "get-vm-chunked", args: ["get", "vm", "--chunk-size=1"] },
    { id: "get-vm-sort-by", args: ["get", "vm", "--sort-by=.metadata.name"] },
    { id: "get-vm-label", args: ["get", "vm", "-l", "app=demo", "-o", "name"] },
    { id: "apply-server-side-conflict", args: ["apply", "--server-side", "-f", "-"], stdin: POOL_YAML(6) },
    {
      id: "apply-server-side-force",
      args: ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      stdin: POOL_YAML(6),
    },
    {
      id: "get-managed-fields",
      managedFields: true,
      args: ["get", "vmpool", "vm-pool-cirros", "-o", "yaml", "--show-managed-fields"],
      output: "yaml",
    },
    { id: "diff-changed", args: ["diff", "-f", "-"], stdin: POOL_YAML(7) },
    { id: "diff-unchanged", args: ["diff", "--server-side", "-f", "-"], stdin: POOL_YAML(6) },
    { id: "explain-vmpool", args: ["explain", "vmpool"] },
    { id: "explain-vmpool-spec", args: ["explain", "vmpool.spec"] },
    { id: "explain-vm-run-strategy", args: ["explain", "vm.spec.runStrategy"] },
    { id: "explain-vmirs-recursive", args: ["explain", "vmirs.spec", "--recursive"] },
    { id: "api-resources-kubevirt", args: ["api-resources", "--api-group=kubevirt.io"] },
    { id: "api-resources-pool", args: ["api-resources", "--api-group=pool.kubevirt.io"] },
    { id: "api-versions", args: ["api-versions"], project: linesOfServedGroups },
    { id: "auth-can-i-create", args: ["auth", "can-i", "create", "virtualmachinepools"] },
    { id: "auth-can-i-list-all", args: ["auth", "can-i", "list", "vms", "--all-namespaces"] },
    { id: "auth-can-i-scale", args: ["auth", "can-i", "patch", "vmpools", "--subresource=scale"] },
    {
      id: "auth-whoami",
      args: ["auth", "whoami", "-o", "json"],
      output: "json",
      only: "1.33",
      // Who the user is differs by design (an admin token on the real server, none on the embedded one).
      project: (a) => ({ code: asObj(a).code, kind: asObj(asObj(a).stdout).kind }),
    },
    {
      id: "get-watch",
      args: ["get", "vmpool", "-w", "--request-timeout=2s"],
      alongside: {
        id: "get-watch-change",
        method: "PATCH",
        path: `${pools}/vm-pool-cirros`,
        contentType: MERGE,
        body: { metadata: { labels: { watched: "1" } } },
      },
    },
    {
      id: "get-watch-events",
      args: ["get", "vmpool", "-w", "--output-watch-events", "--request-timeout=2s"],
      alongside: {
        id: "get-watch-events-change",
        method: "PATCH",
        path: `${pools}/vm-pool-cirros/scale`,
        contentType: MERGE,
        body: { spec: { replicas: 1 } },
      },
    },
    {
      id: "get-watch-name",
      args: ["get", "vmpool", "vm-pool-cirros", "-w", "-o", "name", "--request-timeout=1s"],
    },
    { id: "get-all", args: ["get", "all"], project: sortedBlocks },
    { id: "get-namespace", args: ["get", "namespace", ns] },
    { id: "describe-namespace", args: ["describe", "namespace", ns] },
    { id: "get-nodes", args: ["get", "nodes"] },
    { id: "create-configmap", args: ["create", "configmap", "cm1", "--from-literal=a=b"] },
    { id: "get-configmap-yaml", args: ["get", "configmap", "cm1", "-o", "yaml"], output: "yaml" },
    { id: "create-secret", args: ["create", "secret", "generic", "s1", "--from-literal=a=b"] },
    { id: "get-secret-data", args: ["get", "secret", "s1", "-o", "jsonpath={.data.a} {.type}"] },
    { id: "get-missing", args: ["get", "vmpool", "nope"] },
    { id: "delete-missing", args: ["delete", "vm", "nope"] },
    { id: "delete-dry-run", args: ["delete", "vm", "vm-k", "--dry-run=server"] },
    { id: "create-owner-orphan", args: ["create", "-f", "-"], stdin: OWNER_YAML("owner-o") },
    {
      id: "get-owner-orphan-uid",
      args: ["get", "vmpool", "owner-o", "-o", "jsonpath={.metadata.uid}"],
      save: "ownerO",
    },
    {
      id: "create-dependent-orphan",
      args: ["create", "-f", "-"],
      stdin: VM_YAML("dep-o", DEPENDENT_EXTRA("owner-o", "ownerO", false)),
    },
    {
      // The garbage collector orphans only the dependents its graph has seen: time to see dep-o.
      id: "delete-cascade-orphan",
      args: ["delete", "vmpool", "owner-o", "--cascade=orphan", "--timeout=45s"],
      delayMs: 2_000,
    },
    {
      id: "dependent-orphaned",
      args: ["get", "vm", "dep-o", "-o", "jsonpath={.metadata.ownerReferences}"],
      until: (a) => a.stdout === "",
      untilMs: 45_000,
    },
    { id: "create-owner-foreground", args: ["create", "-f", "-"], stdin: OWNER_YAML("owner-f") },
    {
      id: "get-owner-foreground-uid",
      args: ["get", "vmpool", "owner-f", "-o", "jsonpath={.metadata.uid}"],
      save: "ownerF",
    },
    {
      id: "create-dependent-foreground",
      args: ["create", "-f", "-"],
      stdin: VM_YAML("dep-f", DEPENDENT_EXTRA("owner-f", "ownerF", true)),
    },
    {
      id: "delete-cascade-foreground",
      args: ["delete", "vmpool", "owner-f", "--cascade=foreground", "--timeout=45s"],
      delayMs: 2_000,
    },
    {
      id: "dependent-foreground-gone",
      args: ["get", "vm", "dep-f"],
      until: (a) => a.code !== 0,
      untilMs: 45_000,
    },
    { id: "create-owner-background", args: ["create", "-f", "-"], stdin: OWNER_YAML("owner-b") },
    {
      id: "get-owner-background-uid",
      args: ["get", "vmpool", "owner-b", "-o", "jsonpath={.metadata.uid}"],
      save: "ownerB",
    },
    {
      id: "create-dependent-background",
      args: ["create", "-f", "-"],
      stdin: VM_YAML("dep-b", DEPENDENT_EXTRA("owner-b", "ownerB", false)),
    },
    { id: "delete-cascade-background", args: ["delete", "vmpool", "owner-b", "--cascade=background"] },
    { id: "wait-dependent-deleted", args: ["wait", "--for=delete", "vm/dep-b", "--timeout=45s"] },
    { id: "delete-no-wait", args: ["delete", "vm", "vm-k", "--wait=false"] },
    { id: "wait-delete", args: ["wait", "--for=delete", "vm/vm-k", "--timeout=10s"] },
    { id: "delete-all-pools", args: ["delete", "vmpool", "--all"] },
    { id: "get-vmpool-empty", args: ["get", "vmpool"] },
    { id: "version", args: ["version", "-o", "json"], output: "json", project: kubectlVersionShape },
    { id: "cluster-info", args: ["cluster-info"] },
    { id: "get-raw-healthz", args: ["get", "--raw", "/healthz"] },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// client-node.

const CN_NS = "diff-client-node";
const CN_POOL = {
  group: "pool.kubevirt.io",
  version: "v1beta1",
  namespace: CN_NS,
  plural: "virtualmachinepools",
};

export function clientCases(): Case[] {
  return [
    client("create-namespace", (api) => api.core.createNamespace({ body: { metadata: { name: CN_NS } } })),
    client(
      "create-pool",
      (api) =>
        api.custom.createNamespacedCustomObject({
          ...CN_POOL,
          body: { ...pool("cn1", 2), metadata: { name: "cn1", labels: { team: "a" } } },
        }),
      { managedFields: true },
    ),
    client("list-pools-label", async (api, vars) => {
      const list = (await api.custom.listNamespacedCustomObject({
        ...CN_POOL,
        labelSelector: "team in (a),!missing",
      })) as {
        metadata: { resourceVersion: string };
      };
      vars.set("cnRv", list.metadata.resourceVersion);
      return list;
    }),
    client("get-scale", (api) => api.custom.getNamespacedCustomObjectScale({ ...CN_POOL, name: "cn1" })),
    client("patch-merge", (api) =>
      api.custom.patchNamespacedCustomObject(
        { ...CN_POOL, name: "cn1", body: { spec: { replicas: 3 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    ),
    client("patch-scale-default-json-patch", (api) =>
      api.custom.patchNamespacedCustomObjectScale({
        ...CN_POOL,
        name: "cn1",
        body: [{ op: "replace", path: "/spec/replicas", value: 4 }],
      }),
    ),
    // Field ownership after client-node's merge patch and its default JSON patch of /scale.
    client(
      "object-api-read",
      (api) =>
        api.objects.read({
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          metadata: { name: "cn1", namespace: CN_NS },
        }),
      { managedFields: true },
    ),
    client("object-api-patch-default-strategic", (api) =>
      api.objects.patch({
        apiVersion: "pool.kubevirt.io/v1beta1",
        kind: "VirtualMachinePool",
        metadata: { name: "cn1", namespace: CN_NS, labels: { via: "object-api" } },
      }),
    ),
    client("object-api-patch-merge", (api) =>
      api.objects.patch(
        {
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          metadata: { name: "cn1", namespace: CN_NS, labels: { via: "object-api" } },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    ),
    client("object-api-apply", (api) =>
      api.objects.patch(
        {
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          metadata: { name: "cn1", namespace: CN_NS, annotations: { applied: "yes" } },
        },
        undefined,
        undefined,
        "client-node",
        true,
        PatchStrategy.ServerSideApply,
      ),
    ),
    client("watch-from-list", async (api, vars) => {
      const events: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        void api.watch
          .watch(
            `/apis/pool.kubevirt.io/v1beta1/namespaces/${CN_NS}/virtualmachinepools`,
            { resourceVersion: vars.get("cnRv"), timeoutSeconds: 2 },
            (type, object) => events.push({ type, object }),
            (err) => (err && !String(err).includes("aborted") ? reject(err) : resolve()),
          )
          .catch(reject);
      });
      return events;
    }),
    client("replace-stale", (api, vars) =>
      api.custom.replaceNamespacedCustomObject({
        ...CN_POOL,
        name: "cn1",
        body: { ...pool("cn1", 1), metadata: { name: "cn1", resourceVersion: vars.get("cnRv") } },
      }),
    ),
    client("get-missing", (api) => api.custom.getNamespacedCustomObject({ ...CN_POOL, name: "nope" })),
    client("create-event", (api) =>
      api.core.createNamespacedEvent({
        namespace: CN_NS,
        body: {
          metadata: { name: "cn1.1" },
          involvedObject: {
            apiVersion: "pool.kubevirt.io/v1beta1",
            kind: "VirtualMachinePool",
            name: "cn1",
            namespace: CN_NS,
          },
          reason: "SuccessfulCreate",
          message: "Created VM",
          type: "Normal",
          source: { component: "virtualmachinepool-controller" },
          firstTimestamp: new Date("2026-01-01T10:00:00.250Z"),
          lastTimestamp: new Date("2026-01-01T10:00:00.250Z"),
          count: 1,
        },
      }),
    ),
    client("list-events-field-selector", (api) =>
      api.core.listNamespacedEvent({
        namespace: CN_NS,
        fieldSelector: "involvedObject.name=cn1,involvedObject.kind=VirtualMachinePool",
      }),
    ),
    client("create-lease", (api) =>
      api.coordination.createNamespacedLease({
        namespace: CN_NS,
        body: {
          metadata: { name: "cn-lease" },
          spec: {
            holderIdentity: "me",
            leaseDurationSeconds: 15,
            acquireTime: new Date("2026-01-01T10:00:00.027Z"),
            renewTime: new Date("2026-01-01T10:00:00.027Z"),
          },
        },
      }),
    ),
    client("read-namespace", (api) => api.core.readNamespace({ name: CN_NS })),
    client("delete-pool", (api) => api.custom.deleteNamespacedCustomObject({ ...CN_POOL, name: "cn1" })),
  ];
}

/** client-node's APIs for one kubeconfig. */
export function makeClients(kubeconfig: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    watch: new Watch(kc),
  };
}
