/**
 * Where the local cluster used to diverge from kube-apiserver (v1.34) over real HTTP: boolean query parameters,
 * server-side field validation, OpenAPI schemas, the review resources, Node/ConfigMap/Secret, forced server-side
 * apply ownership, list resourceVersion semantics and paging snapshots, YAML responses, empty metadata, and 422
 * where kube answers 422. Expected codes and messages come from the apimachinery/apiserver sources named inline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
const VMS = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines";
const CONFIGMAPS = "/api/v1/namespaces/default/configmaps";

type Json = Record<string, unknown>;

interface Reply {
  readonly status: number;
  readonly json: Json;
  readonly text: string;
  readonly headers: Headers;
}

function lease(name: string, spec: Json = { holderIdentity: "a" }, extra: Json = {}): Json {
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name }, spec, ...extra };
}

function vm(name: string, extra: Json = {}, meta: Json = {}): Json {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, ...meta },
    spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
    ...extra,
  };
}

function configMap(name: string, labels: Json = { suite: "fidelity" }): Json {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data: { a: "1" } };
}

/** The Warning header texts (`299 - "<text>"`, comma-separated), decoded. */
function warnings(headers: Headers): string[] {
  const raw = headers.get("warning");
  if (raw === null) return [];
  return [...raw.matchAll(/299 - ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1] as string) as string);
}

describe("local cluster fidelity to kube-apiserver", () => {
  let env: TestCluster;
  let base: string;

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(text) as Json;
    } catch {
      // YAML, a watch stream or an empty body
    }
    return { status: res.status, json, text, headers: res.headers };
  };

  /** Opens a watch and returns its first `count` events (or fails after 3 s). */
  const watchEvents = async (path: string, count: number): Promise<Json[]> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 3000);
    const res = await fetch(`${base}${path}`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const events: Json[] = [];
    try {
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line) as Json);
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return events;
  };

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false, historyLimit: 50 });
    base = env.cluster.url;
    for (const name of ["cm-a", "cm-b"])
      expect((await call("POST", CONFIGMAPS, configMap(name))).status).toBe(201);
  });
  afterAll(async () => env?.close());

  describe("boolean query parameters (apimachinery Convert_Slice_string_To_bool)", () => {
    it.each([
      // Python's client
      ["True"],
      ["1"],
      ["yes"],
      // `?watch=` — only absence, "false" and "0" are false
      [""],
    ])("watch=%s watches", async (value) => {
      const events = await watchEvents(`${CONFIGMAPS}?watch=${value}&labelSelector=suite%3Dfidelity`, 2);
      expect(events.map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
    });

    it.each([["false"], ["FALSE"], ["0"]])("watch=%s lists", async (value) => {
      const res = await call("GET", `${CONFIGMAPS}?watch=${value}`);
      expect(res.json.kind).toBe("ConfigMapList");
    });

    it("allowWatchBookmarks=yes (with sendInitialEvents=True) sends the initial-events-end bookmark", async () => {
      const events = await watchEvents(
        `${CONFIGMAPS}?watch=1&sendInitialEvents=True&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=yes&labelSelector=suite%3Dfidelity`,
        3,
      );
      expect(events.map((e) => e.type)).toEqual(["ADDED", "ADDED", "BOOKMARK"]);
      expect(events[2]).toMatchObject({
        object: { metadata: { annotations: { "k8s.io/initial-events-end": "true" } } },
      });
    });

    it("force=True takes over a conflicting field in server-side apply", async () => {
      const path = `${LEASES}/force-bool`;
      const apply = (manager: string, holder: string, force?: string) =>
        call(
          "PATCH",
          `${path}?fieldManager=${manager}${force === undefined ? "" : `&force=${force}`}`,
          lease("force-bool", { holderIdentity: holder }),
          { "Content-Type": "application/apply-patch+yaml" },
        );
      expect((await apply("first", "a")).status).toBe(201);
      expect((await apply("second", "b")).status).toBe(409);
      expect((await apply("second", "b", "False")).status).toBe(409);
      const forced = await apply("second", "b", "True");
      expect(forced.status).toBe(200);
      expect((forced.json.spec as Json).holderIdentity).toBe("b");
    });

    it("force on a non-apply patch is 422 Forbidden (ValidatePatchOptions), whatever its value", async () => {
      expect((await call("POST", LEASES, lease("force-merge"))).status).toBe(201);
      const res = await call(
        "PATCH",
        `${LEASES}/force-merge?force=false`,
        { spec: { holderIdentity: "x" } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({
        reason: "Invalid",
        message:
          'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
        details: {
          group: "meta.k8s.io",
          kind: "PatchOptions",
          causes: [
            {
              reason: "FieldValueForbidden",
              message: "Forbidden: may not be specified for non-apply patch",
              field: "force",
            },
          ],
        },
      });
    });
  });

  describe("fieldValidation", () => {
    const body = lease("fv", { holderIdentity: "a", bogus: 1 }, { extra: true });
    const withMetaField = { ...body, metadata: { name: "fv", color: "red" } };

    it("Strict rejects unknown fields of a built-in kind with kube's strict decoding error", async () => {
      const res = await call("POST", `${LEASES}?fieldValidation=Strict`, withMetaField);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'Lease in version "v1" cannot be handled as a Lease: strict decoding error: unknown field "metadata.color", unknown field "spec.bogus", unknown field "extra"',
        reason: "BadRequest",
        code: 400,
      });
      expect((await call("GET", `${LEASES}/fv`)).status).toBe(404);
    });

    it("Warn (the default) stores the object without them and warns per field", async () => {
      const res = await call("POST", LEASES, withMetaField);
      expect(res.status).toBe(201);
      expect(warnings(res.headers)).toEqual([
        'unknown field "metadata.color"',
        'unknown field "spec.bogus"',
        'unknown field "extra"',
      ]);
      const stored = (await call("GET", `${LEASES}/fv`)).json;
      expect(stored.spec).toEqual({ holderIdentity: "a" });
      expect(stored.extra).toBeUndefined();
      expect((stored.metadata as Json).color).toBeUndefined();
    });

    it("Ignore drops them silently", async () => {
      const res = await call("POST", `${LEASES}?fieldValidation=Ignore`, {
        ...body,
        metadata: { name: "fv-ignore" },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("warning")).toBeNull();
      expect(res.json.spec).toEqual({ holderIdentity: "a" });
    });

    it("reports keys repeated in a JSON body", async () => {
      const text =
        '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"fv-dup"},"spec":{"holderIdentity":"a","holderIdentity":"b"}}';
      const strict = await call("POST", `${LEASES}?fieldValidation=Strict`, text);
      expect(strict.status).toBe(400);
      expect(strict.json.message).toBe(
        'Lease in version "v1" cannot be handled as a Lease: strict decoding error: duplicate field "spec.holderIdentity"',
      );
      const warned = await call("POST", LEASES, text);
      expect(warned.status).toBe(201);
      expect(warnings(warned.headers)).toEqual(['duplicate field "spec.holderIdentity"']);
    });

    it("CRDs: unknown metadata fields first, then pruned fields sorted (apiextensions unstructuredSchemaCoercer)", async () => {
      const res = await call(
        "POST",
        `${VMS}?fieldValidation=Strict`,
        vm("fv-vm", { zeta: 1, alpha: 2 }, { color: "red" }),
      );
      expect(res.status).toBe(400);
      expect(res.json.message).toBe(
        'VirtualMachine in version "v1" cannot be handled as a VirtualMachine: strict decoding error: unknown field "metadata.color", unknown field "alpha", unknown field "zeta"',
      );
      const warned = await call("POST", VMS, vm("fv-vm", { zeta: 1 }));
      expect(warned.status).toBe(201);
      expect(warnings(warned.headers)).toEqual(['unknown field "zeta"']);
      expect(warned.json.zeta).toBeUndefined();
      expect(warned.json.spec).toEqual({
        runStrategy: "Halted",
        template: { spec: { domain: { devices: {} } } },
      });
    });

    it("PUT validates like create", async () => {
      const current = (await call("GET", `${LEASES}/fv`)).json;
      const res = await call("PUT", `${LEASES}/fv?fieldValidation=Strict`, {
        ...current,
        spec: { holderIdentity: "b", nope: 1 },
      });
      expect(res.status).toBe(400);
      expect(res.json.message).toBe(
        'Lease in version "v1" cannot be handled as a Lease: strict decoding error: unknown field "spec.nope"',
      );
    });

    it("merge patch: Strict is 422 Invalid on the patch field; Warn warns and prunes", async () => {
      const patch = { spec: { nope: 1 } };
      const merge = { "Content-Type": "application/merge-patch+json" };
      const strict = await call("PATCH", `${LEASES}/fv?fieldValidation=Strict`, patch, merge);
      expect(strict.status).toBe(422);
      expect(strict.json.reason).toBe("Invalid");
      expect(String(strict.json.message)).toMatch(
        /^ "" is invalid: patch: Invalid value: ".*": strict decoding error: unknown field "spec\.nope"$/,
      );
      const details = strict.json.details as Json;
      expect(details.name).toBeUndefined();
      expect(details.kind).toBeUndefined();
      expect((details.causes as Json[])[0]).toMatchObject({ reason: "FieldValueInvalid", field: "patch" });
      const warned = await call("PATCH", `${LEASES}/fv`, patch, merge);
      expect(warned.status).toBe(200);
      expect(warnings(warned.headers)).toEqual(['unknown field "spec.nope"']);
      expect((warned.json.spec as Json).nope).toBeUndefined();
    });

    it("server-side apply of an undeclared field fails as structured-merge-diff does (500, no reason)", async () => {
      const res = await call(
        "PATCH",
        `${LEASES}/fv-apply?fieldManager=test&fieldValidation=Ignore`,
        {
          ...lease("fv-apply", { holderIdentity: "a", nope: 1 }),
          metadata: { name: "fv-apply", namespace: "default" },
        },
        { "Content-Type": "application/apply-patch+yaml" },
      );
      expect(res.status).toBe(500);
      expect(res.json).toEqual({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          "failed to create typed patch object (default/fv-apply; coordination.k8s.io/v1, Kind=Lease): .spec.nope: field not declared in schema",
        code: 500,
      });
    });

    it("rejects an unsupported fieldValidation value with 422 on the options (ValidateFieldValidation)", async () => {
      const res = await call("POST", `${LEASES}?fieldValidation=Loose`, lease("fv-bad"));
      expect(res.status).toBe(422);
      expect(res.json.message).toBe(
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"',
      );
    });
  });

  describe("OpenAPI v3", () => {
    it("serves the CRD schemas under the kinds' GVKs, metadata as a reference to ObjectMeta", async () => {
      const root = (await call("GET", "/openapi/v3")).json.paths as Record<
        string,
        { serverRelativeURL: string }
      >;
      const url = root["apis/pool.kubevirt.io/v1beta1"]?.serverRelativeURL as string;
      const doc = (await call("GET", url)).json;
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      const pool = schemas["io.kubevirt.pool.v1beta1.VirtualMachinePool"] as Json;
      expect(pool["x-kubernetes-group-version-kind"]).toEqual([
        { group: "pool.kubevirt.io", version: "v1beta1", kind: "VirtualMachinePool" },
      ]);
      const props = pool.properties as Record<string, Json>;
      expect(props.metadata?.$ref).toBe(
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
      );
      expect(((props.spec as Json).properties as Json).replicas).toMatchObject({ type: "integer" });
      expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]).toBeDefined();
      const paths = doc.paths as Record<string, Json>;
      expect(
        paths["/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools"],
      ).toMatchObject({
        get: {
          "x-kubernetes-group-version-kind": {
            group: "pool.kubevirt.io",
            version: "v1beta1",
            kind: "VirtualMachinePool",
          },
        },
      });
    });
  });

  describe("reviews, nodes, config maps and secrets", () => {
    it("answers SelfSubjectAccessReview with allowed: true, and validates its spec", async () => {
      const path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
      const review = {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "delete", resource: "nodes" } },
      };
      const res = await call("POST", path, review);
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ ...review, metadata: {}, status: { allowed: true } });
      const bad = await call("POST", path, { ...review, spec: {} });
      expect(bad.status).toBe(422);
      expect(bad.json.message).toBe(
        '.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
      expect((await call("GET", path)).status).toBe(405);
    });

    it("answers SelfSubjectReview with the local identity", async () => {
      const res = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      });
      expect(res.status).toBe(201);
      expect((res.json.status as Json).userInfo).toMatchObject({ username: "vmpool-local" });
    });

    it("serves cluster-scoped Nodes with their status on create and a status subresource", async () => {
      const node = {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "node-a", labels: { "node-role.kubernetes.io/control-plane": "" } },
        status: {
          conditions: [{ type: "Ready", status: "True" }],
          addresses: [{ type: "InternalIP", address: "192.168.66.101" }],
          nodeInfo: { kubeletVersion: "v1.34.0" },
        },
      };
      const created = await call("POST", "/api/v1/nodes", node);
      expect(created.status).toBe(201);
      expect(created.json.status).toEqual(node.status);
      const table = await call("GET", "/api/v1/nodes/node-a", undefined, {
        Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
      });
      const columns = (table.json.columnDefinitions as Json[]).map((c) => c.name);
      expect(columns.slice(0, 5)).toEqual(["Name", "Status", "Roles", "Age", "Version"]);
      const cells = ((table.json.rows as Json[])[0]?.cells as unknown[]) ?? [];
      expect([cells[0], cells[1], cells[2], cells[4], cells[5]]).toEqual([
        "node-a",
        "Ready",
        "control-plane",
        "v1.34.0",
        "192.168.66.101",
      ]);
      const current = (await call("GET", "/api/v1/nodes/node-a")).json;
      const cordoned = await call("PUT", "/api/v1/nodes/node-a/status", {
        ...current,
        status: { ...node.status, conditions: [{ type: "Ready", status: "False" }] },
      });
      expect(cordoned.status).toBe(200);
      expect((cordoned.json.status as Json).conditions).toEqual([{ type: "Ready", status: "False" }]);
    });

    it("merges a Secret's stringData into data and defaults its type", async () => {
      const res = await call("POST", "/api/v1/namespaces/default/secrets", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s1" },
        stringData: { password: "hunter2" },
      });
      expect(res.status).toBe(201);
      expect(res.json.data).toEqual({ password: Buffer.from("hunter2").toString("base64") });
      expect(res.json.type).toBe("Opaque");
      expect(res.json.stringData).toBeUndefined();
    });
  });

  describe("forced server-side apply ownership", () => {
    it("moves a forced field to the applier's Apply entry, so a later apply without it removes it", async () => {
      const path = `${LEASES}/owned`;
      const apply = (manager: string, spec: Json, force = false) =>
        call("PATCH", `${path}?fieldManager=${manager}&force=${force}`, lease("owned", spec), {
          "Content-Type": "application/apply-patch+yaml",
        });
      expect((await apply("first", { holderIdentity: "one", leaseDurationSeconds: 10 })).status).toBe(201);
      const forced = await apply("second", { holderIdentity: "two" }, true);
      expect(forced.status).toBe(200);
      const managed = (forced.json.metadata as Json).managedFields as Json[];
      expect(managed.map((m) => [m.manager, m.operation, m.fieldsV1])).toEqual([
        ["first", "Apply", { "f:spec": { "f:leaseDurationSeconds": {} } }],
        ["second", "Apply", { "f:spec": { "f:holderIdentity": {} } }],
      ]);
      const dropped = await apply("second", {});
      expect(dropped.status).toBe(200);
      expect(dropped.json.spec).toEqual({ leaseDurationSeconds: 10 });
    });
  });

  describe("list resourceVersion semantics (ValidateListOptions, etcd3 and watch-cache behaviour)", () => {
    it.each([
      // resourceVersionMatch needs a resourceVersion
      [
        "resourceVersionMatch=NotOlderThan",
        "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
      ],
      // Exact at "0" is meaningless
      [
        "resourceVersion=0&resourceVersionMatch=Exact",
        'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      ],
      // unknown match
      [
        "resourceVersion=1&resourceVersionMatch=Newest",
        'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""',
      ],
      // sendInitialEvents is for watches
      ["sendInitialEvents=true", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"],
    ])("%s → 422 on ListOptions", async (query, message) => {
      const res = await call("GET", `${CONFIGMAPS}?${query}`);
      expect(res.status).toBe(422);
      expect(res.json.message).toBe(`ListOptions.meta.k8s.io "" is invalid: ${message}`);
    });

    it("rejects a resourceVersion next to a continue token with 400", async () => {
      const first = await call("GET", `${CONFIGMAPS}?limit=1`);
      const token = encodeURIComponent(String((first.json.metadata as Json).continue));
      const res = await call("GET", `${CONFIGMAPS}?limit=1&continue=${token}&resourceVersion=5`);
      expect(res.status).toBe(400);
      expect(res.json.message).toBe("specifying resource version is not allowed when using continue");
    });

    it("answers a resourceVersion the store has not reached with 504 Timeout after waiting", async () => {
      const rv = Number(((await call("GET", CONFIGMAPS)).json.metadata as Json).resourceVersion);
      const started = Date.now();
      const res = await call(
        "GET",
        `${CONFIGMAPS}?resourceVersion=${rv + 1000}&resourceVersionMatch=NotOlderThan`,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
      expect(res.status).toBe(504);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.json).toMatchObject({
        reason: "Timeout",
        message: `Timeout: Too large resource version: ${rv + 1000}, current: ${rv}`,
        details: {
          causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
          retryAfterSeconds: 1,
        },
      });
    });

    it("serves Exact lists as of the resourceVersion asked for", async () => {
      const path = "/api/v1/namespaces/kube-public/configmaps";
      const a = await call("POST", path, configMap("exact-a", { suite: "exact" }));
      const rvA = String((a.json.metadata as Json).resourceVersion);
      await call("POST", path, configMap("exact-b", { suite: "exact" }));
      await call("DELETE", `${path}/exact-a`);
      const then = await call("GET", `${path}?resourceVersion=${rvA}&resourceVersionMatch=Exact`);
      expect(then.status).toBe(200);
      expect((then.json.metadata as Json).resourceVersion).toBe(rvA);
      expect((then.json.items as Json[]).map((i) => (i.metadata as Json).name)).toEqual(["exact-a"]);
      const now = await call("GET", `${path}?resourceVersion=${rvA}&resourceVersionMatch=NotOlderThan`);
      expect((now.json.items as Json[]).map((i) => (i.metadata as Json).name)).toEqual(["exact-b"]);
    });

    it("keeps every page of a paged list at the first page's snapshot", async () => {
      const path = "/api/v1/namespaces/kube-node-lease/configmaps";
      for (const name of ["p1", "p2", "p3"]) await call("POST", path, configMap(name, { suite: "pages" }));
      const first = await call("GET", `${path}?limit=1`);
      const meta = first.json.metadata as Json;
      expect(meta.remainingItemCount).toBe(2);
      // Changes after the first page must not show up in the next ones.
      await call("DELETE", `${path}/p2`);
      await call("POST", path, configMap("p4", { suite: "pages" }));
      const names = [(first.json.items as Json[])[0]?.metadata];
      let token = meta.continue as string | undefined;
      while (token) {
        const page = await call("GET", `${path}?limit=1&continue=${encodeURIComponent(token)}`);
        expect((page.json.metadata as Json).resourceVersion).toBe(meta.resourceVersion);
        names.push((page.json.items as Json[])[0]?.metadata);
        token = (page.json.metadata as Json).continue as string | undefined;
      }
      expect(names.map((m) => (m as Json).name)).toEqual(["p1", "p2", "p3"]);
      const filtered = await call("GET", `${path}?limit=1&labelSelector=suite%3Dpages`);
      expect((filtered.json.metadata as Json).remainingItemCount).toBeUndefined();
    });

    it("answers an expired continue token with 410 and a token that continues at the latest state", async () => {
      const path = "/api/v1/namespaces/default/configmaps";
      const first = await call("GET", `${path}?limit=1`);
      const token = (first.json.metadata as Json).continue as string;
      // Push the first page's resourceVersion out of the kept history (limit 50).
      for (let i = 0; i < 60; i++) await call("POST", LEASES, lease(`churn-${i}`));
      const res = await call("GET", `${path}?limit=1&continue=${encodeURIComponent(token)}`);
      expect(res.status).toBe(410);
      expect(res.json.reason).toBe("Expired");
      expect(String(res.json.message)).toMatch(
        /^The provided continue parameter is too old to display a consistent list result\. You can start a new list without the continue parameter, or use the continue token/,
      );
      const next = String((res.json.metadata as Json).continue);
      const resumed = await call("GET", `${path}?limit=1&continue=${encodeURIComponent(next)}`);
      expect(resumed.status).toBe(200);
      const expiredExact = await call("GET", `${path}?resourceVersion=2&resourceVersionMatch=Exact`);
      expect(expiredExact.status).toBe(410);
      expect(expiredExact.json.message).toBe("The resourceVersion for the provided list is too old.");
    });

    it("serves resourceVersion=0 lists whole, ignoring limit, as the watch cache does", async () => {
      const res = await call("GET", `${CONFIGMAPS}?resourceVersion=0&limit=1`);
      expect((res.json.items as Json[]).length).toBeGreaterThan(1);
      expect((res.json.metadata as Json).continue).toBeUndefined();
    });
  });

  describe("routes and bodies kube-apiserver refuses", () => {
    it.each([
      // built-in: a subresource the kind does not have → the generic 404
      ["GET", `${LEASES}/x/status`, 404, "the server could not find the requested resource", {}],
      // built-in: no route for the method → the generic 405
      ["POST", `${LEASES}/x`, 405, "the server does not allow this method on the requested resource", {}],
      [
        "DELETE",
        "/api/v1/namespaces/default/pods/x/status",
        405,
        "the server does not allow this method on the requested resource",
        {},
      ],
      // CRD: a disabled subresource is the parent's NotFound
      [
        "GET",
        "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/x/status",
        404,
        'virtualmachineinstances.kubevirt.io "x" not found',
        { name: "x", group: "kubevirt.io", kind: "virtualmachineinstances" },
      ],
      // CRD: a verb the status subresource does not serve
      [
        "DELETE",
        `${VMS}/x/status`,
        405,
        'delete is not supported on resources of kind "virtualmachines.kubevirt.io"',
        { group: "kubevirt.io", kind: "virtualmachines" },
      ],
      // CRD: PUT to the collection
      ["PUT", VMS, 400, "name must be provided", undefined],
    ])("%s %s → %i", async (method, path, status, message, details) => {
      const res = await call(method, path, method === "PUT" ? {} : undefined);
      expect(res.status).toBe(status);
      expect(res.json.message).toBe(message);
      expect(res.json.details).toEqual(details);
    });

    it.each([
      // unknown group, unknown version of a CRD group, unknown resource of a CRD group: apiextensions delegates
      ["/apis/nope.example.com/v1/foos"],
      ["/apis/nope.example.com"],
      ["/apis/kubevirt.io/v9/virtualmachines"],
      ["/apis/kubevirt.io/v1/namespaces/default/foos"],
    ])("GET %s → Go's plain-text 404", async (path) => {
      const res = await call("GET", path);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(res.text).toBe("404 page not found\n");
    });

    it("answers failed delete preconditions, new finalizers while deleting and the terminating namespace as 1.34 does", async () => {
      await call("POST", VMS, vm("pre", {}, { finalizers: ["example.com/hold"] }));
      const uid = await call("DELETE", `${VMS}/pre`, { preconditions: { uid: "other" } });
      expect(uid.status).toBe(409);
      expect(uid.json.details).toEqual({ name: "pre", group: "kubevirt.io", kind: "VirtualMachine" });
      expect(String(uid.json.message)).toMatch(
        /^Operation cannot be fulfilled on VirtualMachine\.kubevirt\.io "pre": the UID in the precondition \(other\) does not match the UID in record \(.+\)\. The object might have been deleted and then recreated$/,
      );
      expect((await call("DELETE", `${VMS}/pre`)).status).toBe(200);
      const merge = { "Content-Type": "application/merge-patch+json" };
      const more = await call(
        "PATCH",
        `${VMS}/pre`,
        { metadata: { finalizers: ["example.com/hold", "x/more"] } },
        merge,
      );
      expect(more.status).toBe(422);
      expect((more.json.details as Json).causes).toHaveLength(2);
      expect(more.json.message).toBe(
        'VirtualMachine.kubevirt.io "pre" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"x/more"}',
      );
      const released = await call("PATCH", `${VMS}/pre`, { metadata: { finalizers: null } }, merge);
      expect(released.status).toBe(200);
      expect((released.json.metadata as Json).finalizers).toBeUndefined();
      expect((await call("GET", `${VMS}/pre`)).status).toBe(404);

      await call("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "ending" },
      });
      await call("POST", "/api/v1/namespaces/ending/configmaps", {
        ...configMap("hold"),
        metadata: { name: "hold", finalizers: ["example.com/hold"] },
      });
      await call("DELETE", "/api/v1/namespaces/ending");
      const late = await call("POST", "/api/v1/namespaces/ending/configmaps", configMap("late"));
      expect(late.status).toBe(403);
      expect(late.json).toMatchObject({
        message:
          'configmaps "late" is forbidden: unable to create new content in namespace ending because it is being terminated',
        details: {
          name: "late",
          kind: "configmaps",
          causes: [
            {
              reason: "NamespaceTerminating",
              message: "namespace ending is being terminated",
              field: "metadata.namespace",
            },
          ],
        },
      });
    });

    it("needs a CR body's kind and apiVersion, and answers a wrong kind with 422", async () => {
      const missingKind = await call("POST", VMS, { metadata: { name: "nokind" } });
      expect(missingKind.status).toBe(400);
      expect(missingKind.json.message).toBe(
        `the object provided is unrecognized (must be of type VirtualMachine): Object 'Kind' is missing in '{"metadata":{"name":"nokind"}}' ({"metadata":{"name":"nokind"}})`,
      );
      const { apiVersion: _a, ...noApiVersion } = vm("noapi");
      const missingVersion = await call("POST", VMS, noApiVersion);
      expect(missingVersion.json.message).toBe(
        "the API version in the data () does not match the expected API version (kubevirt.io/v1)",
      );
      const wrongKind = await call("POST", VMS, { ...vm("wrong"), kind: "VirtualMachinePool" });
      expect(wrongKind.status).toBe(422);
      expect(wrongKind.json.message).toBe(
        'VirtualMachinePool.kubevirt.io "wrong" is invalid: kind: Invalid value: "VirtualMachinePool": must be VirtualMachine',
      );
      // built-ins default both from the URL
      expect((await call("POST", CONFIGMAPS, { metadata: { name: "defaulted" } })).status).toBe(201);
      const builtinKind = await call("POST", CONFIGMAPS, { ...configMap("wrong"), kind: "Secret" });
      expect(builtinKind.status).toBe(400);
      expect(builtinKind.json.message).toBe(
        'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion',
      );
    });

    it.each([
      [
        "resourceVersion=abc",
        'invalid resource version: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
      ],
      [
        "resourceVersion=-1",
        'invalid resource version: resourceVersion: Invalid value: "-1": strconv.ParseUint: parsing "-1": invalid syntax',
      ],
      [
        "limit=1&continue=%21%21",
        "invalid continue token: continue key is not valid: illegal base64 data at input byte 0",
      ],
      [
        "limit=1&continue=abc",
        "invalid continue token: continue key is not valid: invalid character 'i' looking for beginning of value",
      ],
      [
        `limit=1&continue=${Buffer.from('{"v":"v2","rv":5,"start":"x"}').toString("base64url")}`,
        "invalid continue token: continue key is not valid: server does not recognize this encoded version v2",
      ],
      [
        `limit=1&continue=${Buffer.from('{"v":"meta.k8s.io/v1","rv":0,"start":"x"}').toString("base64url")}`,
        "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
      ],
    ])("%s → 400", async (query, message) => {
      const res = await call("GET", `${CONFIGMAPS}?${query}`);
      expect(res.status).toBe(400);
      expect(res.json.message).toBe(message);
    });
  });

  describe("lists, watches and writes as kube-apiserver shapes them", () => {
    it("omits TypeMeta from a built-in list's items and always sends continue in a CR list", async () => {
      const builtin = (await call("GET", CONFIGMAPS)).json;
      expect((builtin.items as Json[])[0]?.kind).toBeUndefined();
      expect((builtin.metadata as Json).continue).toBeUndefined();
      await call("POST", VMS, vm("listed"));
      const crs = (await call("GET", VMS)).json;
      expect((crs.items as Json[])[0]?.kind).toBe("VirtualMachine");
      expect((crs.metadata as Json).continue).toBe("");
    });

    it("refuses watches from before the watch cache started (410 event) and malformed resourceVersions (500)", async () => {
      const old = await watchEvents(`${CONFIGMAPS}?watch=true&resourceVersion=1`, 1);
      expect(old[0]).toMatchObject({ type: "ERROR", object: { reason: "Expired", code: 410 } });
      const bad = await call("GET", `${CONFIGMAPS}?watch=true&resourceVersion=abc`);
      expect(bad.status).toBe(500);
      expect(bad.json.reason).toBeUndefined();
      expect(bad.json.message).toBe(
        'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
      );
    });

    it("sends an object leaving a watch's selector as DELETED with its previous content", async () => {
      const created = await call("POST", CONFIGMAPS, configMap("leaver", { watched: "yes" }));
      const rv = String((created.json.metadata as Json).resourceVersion);
      const patched = await call(
        "PATCH",
        `${CONFIGMAPS}/leaver`,
        { metadata: { labels: { watched: "no" } } },
        { "Content-Type": "application/merge-patch+json" },
      );
      const events = await watchEvents(
        `${CONFIGMAPS}?watch=true&labelSelector=watched%3Dyes&resourceVersion=${rv}`,
        1,
      );
      expect(events[0]).toMatchObject({
        type: "DELETED",
        object: {
          metadata: {
            labels: { watched: "yes" },
            resourceVersion: (patched.json.metadata as Json).resourceVersion,
          },
        },
      });
    });

    it("bumps a CR's generation on a status change when the CRD has no status subresource", async () => {
      const vmis = "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances";
      await call("POST", vmis, {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        metadata: { name: "gen" },
        spec: { domain: { devices: {} } },
      });
      const res = await call(
        "PATCH",
        `${vmis}/gen`,
        { status: { phase: "Succeeded" } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
      expect((res.json.metadata as Json).generation).toBe(2);
    });

    it("names the resource in a CR update without resourceVersion", async () => {
      const { metadata: _m, ...body } = vm("listed");
      const res = await call("PUT", `${VMS}/listed`, { ...body, metadata: { name: "listed" } });
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({
        message:
          'virtualmachines.kubevirt.io "listed" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update',
        details: { kind: "virtualmachines", group: "kubevirt.io", name: "listed" },
      });
    });

    it("answers a namespaced object's path without a namespace with Go's plain 404", async () => {
      const res = await call("GET", "/apis/kubevirt.io/v1/virtualmachines/listed");
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(res.text).toBe("404 page not found\n");
    });

    it("owns applied map entries as members and atomic maps whole (structured-merge-diff on the CRD schema)", async () => {
      const pools = "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools";
      const labels = { "kubevirt.io/vmpool": "ssa" };
      const res = await call(
        "PATCH",
        `${pools}/ssa?fieldManager=alice`,
        {
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          metadata: { name: "ssa" },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            virtualMachineTemplate: {
              metadata: { labels },
              spec: { runStrategy: "Halted", template: { spec: {} } },
            },
          },
        },
        { "Content-Type": "application/apply-patch+yaml" },
      );
      expect(res.status).toBe(201);
      const managed = ((res.json.metadata as Json).managedFields as Json[])[0] as Json;
      expect(managed.fieldsV1).toEqual({
        "f:spec": {
          "f:replicas": {},
          "f:selector": {},
          "f:virtualMachineTemplate": {
            // template metadata keeps unknown fields: its labels are a map entry, owned as a member
            "f:metadata": { "f:labels": { ".": {}, "f:kubevirt.io/vmpool": {} } },
            "f:spec": { "f:runStrategy": {}, "f:template": { "f:spec": {} } },
          },
        },
      });
    });
  });

  describe("field managers, discovery and OpenAPI as kube-apiserver 1.34 records and serves them", () => {
    const pools = "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools";
    const poolBody = (name: string, extra: Json = {}) => ({
      apiVersion: "pool.kubevirt.io/v1beta1",
      kind: "VirtualMachinePool",
      metadata: { name, ...extra },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: "b" } },
        virtualMachineTemplate: {
          metadata: { labels: { a: "b" } },
          spec: { runStrategy: "Halted", template: { spec: {} } },
        },
      },
    });
    const managers = (obj: Json) =>
      ((obj.metadata as Json).managedFields as Json[]).map(
        (m): Json => ({
          ...m,
          time: m.time === undefined ? "none" : "set",
        }),
      );

    it("gives /scale writers their own entry and maps Scale ownership back to the parent (scale handler)", async () => {
      expect((await call("POST", `${pools}?fieldManager=creator`, poolBody("scaled"))).status).toBe(201);
      const merged = await call(
        "PATCH",
        `${pools}/scaled/scale?fieldManager=scaler`,
        { spec: { replicas: 3 } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
      expect(merged.json.spec).toEqual({ replicas: 3 });
      const parent = (await call("GET", `${pools}/scaled`)).json;
      expect(managers(parent)[0]).toEqual({
        manager: "scaler",
        operation: "Update",
        apiVersion: "pool.kubevirt.io/v1beta1",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { "f:replicas": {} } },
        subresource: "scale",
        time: "none",
      });
      expect(JSON.stringify(managers(parent)[1]?.fieldsV1)).not.toContain("f:replicas");
      const scale = (replicas: number) => ({
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "scaled" },
        spec: { replicas },
      });
      const applied = await call("PATCH", `${pools}/scaled/scale?fieldManager=applier`, scale(4), {
        "Content-Type": "application/apply-patch+yaml",
      });
      expect(applied.status).toBe(409);
      expect(applied.json.message).toBe(
        'Apply failed with 1 conflict: conflict with "scaler" with subresource "scale" using autoscaling/v1: .spec.replicas',
      );
      const smp = await call(
        "PATCH",
        `${pools}/scaled/scale`,
        { spec: { replicas: 2 } },
        {
          "Content-Type": "application/strategic-merge-patch+json",
        },
      );
      expect(smp.status).toBe(415);
      expect(smp.json.message).toBe(
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      );
    });

    it("does not credit a Namespace's creator with what the strategy sets (finalizers, phase)", async () => {
      const ns = await call("POST", "/api/v1/namespaces?fieldManager=maker", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "owned-ns" },
      });
      expect(managers(ns.json).map((m) => m.fieldsV1)).toEqual([
        { "f:metadata": { "f:labels": { ".": {}, "f:kubernetes.io/metadata.name": {} } } },
      ]);
    });

    it("lets kubectl's server-side apply take over from client-side apply where last-applied still agrees", async () => {
      const lastApplied = (replicas: number) =>
        `${JSON.stringify({
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          metadata: { name: "upgraded", namespace: "default" },
          spec: { replicas, selector: { matchLabels: { a: "b" } } },
        })}\n`;
      const created = await call(
        "POST",
        `${pools}?fieldManager=kubectl-client-side-apply`,
        poolBody("upgraded", {
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied(1) },
        }),
      );
      expect(created.status).toBe(201);
      const merge = { "Content-Type": "application/merge-patch+json" };
      await call("PATCH", `${pools}/upgraded?fieldManager=kubectl-patch`, { spec: { replicas: 2 } }, merge);
      await call("PATCH", `${pools}/upgraded?fieldManager=kubectl-patch`, { spec: { replicas: 1 } }, merge);
      const ssa = (replicas: number) =>
        call(
          "PATCH",
          `${pools}/upgraded?fieldManager=kubectl&force=false`,
          JSON.parse(lastApplied(replicas)),
          { "Content-Type": "application/apply-patch+yaml" },
        );
      // live replicas (1) still equal last-applied's: the conflict with kubectl-patch is waived
      const upgraded = await ssa(6);
      expect(upgraded.status).toBe(200);
      expect((upgraded.json.spec as Json).replicas).toBe(6);
      // and the annotation follows the applied configuration (lastappliedupdater.go)
      const annotation = ((upgraded.json.metadata as Json).annotations as Json)[
        "kubectl.kubernetes.io/last-applied-configuration"
      ];
      expect(annotation).toBe(lastApplied(6));
      await call("PATCH", `${pools}/upgraded?fieldManager=kubectl-patch`, { spec: { replicas: 2 } }, merge);
      // now live (2) and last-applied (6) disagree: a real conflict
      expect((await ssa(7)).status).toBe(409);
    });

    it("describes resources as kube-apiserver's discovery does", async () => {
      const core = (await call("GET", "/api/v1")).json;
      expect(core.apiVersion).toBeUndefined();
      const resources = core.resources as Json[];
      const byName = (name: string) => resources.find((r) => r.name === name) as Json;
      expect(byName("configmaps").storageVersionHash).toBe("qFsyl6wFWjQ=");
      expect(byName("namespaces").verbs).toEqual([
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "update",
        "watch",
      ]);
      expect(byName("pods/log")).toMatchObject({ kind: "Pod", verbs: ["get"] });
      const aggregated = await call("GET", "/api", undefined, {
        Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
      });
      const group = (aggregated.json.items as Json[])[0] as Json;
      expect(group.metadata).toEqual({});
      const version = (group.versions as Json[])[0] as Json;
      const nodes = (version.resources as Json[]).find((r) => r.resource === "nodes") as Json;
      expect(nodes.responseKind).toEqual({ group: "", version: "", kind: "Node" });
      const kubevirt = (await call("GET", "/apis/kubevirt.io/v1")).json;
      expect((kubevirt.resources as Json[])[0]?.verbs).toEqual([
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "create",
        "update",
        "watch",
      ]);
    });

    it("serves the OpenAPI root as text/plain and every path of a group-version", async () => {
      const root = await call("GET", "/openapi/v3");
      expect(root.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      const url = ((root.json.paths as Json)["apis/pool.kubevirt.io/v1beta1"] as Json)
        .serverRelativeURL as string;
      const paths = Object.keys((await call("GET", url)).json.paths as Json).sort();
      expect(paths).toEqual([
        "/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools",
        "/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools/{name}",
        "/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools/{name}/scale",
        "/apis/pool.kubevirt.io/v1beta1/namespaces/{namespace}/virtualmachinepools/{name}/status",
        "/apis/pool.kubevirt.io/v1beta1/virtualmachinepools",
      ]);
      expect((await call("GET", "/healthz")).headers.get("content-type")).toBe("text/plain; charset=utf-8");
    });
  });

  describe("built-in kinds as their 1.34 strategies and encodings leave them", () => {
    it("validates Leases, needs their resourceVersion on update, parses MicroTime strictly and drops gated fields", async () => {
      const bad = await call("POST", LEASES, lease("lv", { leaseDurationSeconds: 0, leaseTransitions: -1 }));
      expect(bad.status).toBe(422);
      expect(bad.json.message).toBe(
        'Lease.coordination.k8s.io "lv" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]',
      );
      const time = (value: string, expected: string) =>
        call("POST", LEASES, lease("lt", { renewTime: value })).then((res) => {
          expect(res.status).toBe(400);
          expect(res.json.message).toBe(
            `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": ${expected}`,
          );
        });
      await time("2026-01-01T00:00:00.123Z", 'cannot parse ".123Z" as ".000000"');
      await time("2026-01-01T00:00:00Z", 'cannot parse "Z" as ".000000"');
      await time("2026-01-01T00:00:00.1234567Z", 'cannot parse "7Z" as "Z07:00"');
      await time("garbage", 'cannot parse "garbage" as "2006"');
      const ok = await call(
        "POST",
        LEASES,
        lease("lok", { holderIdentity: "h", acquireTime: "2026-01-01T00:00:00.123456+02:00", strategy: "X" }),
      );
      expect(ok.json.spec).toEqual({ holderIdentity: "h", acquireTime: "2025-12-31T22:00:00.123456Z" });
      const put = await call("PUT", `${LEASES}/lok`, lease("lok", { holderIdentity: "h2" }));
      expect(put.status).toBe(422);
      expect(put.json.message).toBe(
        'leases.coordination.k8s.io "lok" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update',
      );
    });

    it("writes an Event's fields that have no omitempty", async () => {
      const res = await call("POST", "/api/v1/namespaces/default/events", {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "ev" },
        involvedObject: { kind: "Pod", name: "p", namespace: "default" },
        reason: "R",
        message: "m",
        type: "Normal",
      });
      expect(res.json).toMatchObject({
        source: {},
        firstTimestamp: null,
        lastTimestamp: null,
        eventTime: null,
        reportingComponent: "",
        reportingInstance: "",
      });
    });

    it("starts an HorizontalPodAutoscaler at its zero status, in both versions", async () => {
      const created = await call("POST", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", {
        apiVersion: "autoscaling/v1",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "zero" },
        spec: {
          scaleTargetRef: { apiVersion: "v1", kind: "ReplicationController", name: "x" },
          maxReplicas: 3,
        },
      });
      expect(created.json.status).toEqual({ currentReplicas: 0, desiredReplicas: 0 });
      const v2 = await call("GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/zero");
      expect(v2.json.status).toEqual({ desiredReplicas: 0, currentMetrics: null });
    });

    it("shows an autoscaling/v2 status through v1 with its counts", async () => {
      const hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
      await call("POST", hpas, {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "counted" },
        spec: {
          scaleTargetRef: { apiVersion: "v1", kind: "ReplicationController", name: "x" },
          maxReplicas: 3,
        },
      });
      const current = (await call("GET", `${hpas}/counted`)).json;
      await call("PUT", `${hpas}/counted/status`, { ...current, status: { desiredReplicas: 2 } });
      const v1 = (
        await call("GET", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/counted")
      ).json;
      expect(v1.status).toEqual({ currentReplicas: 0, desiredReplicas: 2 });
    });

    it("serves (empty) ResourceQuotas and LimitRanges", async () => {
      for (const plural of ["resourcequotas", "limitranges"]) {
        const res = await call("GET", `/api/v1/namespaces/default/${plural}`);
        expect(res.status).toBe(200);
        expect(res.json.items).toEqual([]);
      }
    });
  });

  describe("encodings, empty metadata and 422s", () => {
    it("answers Accept: application/yaml in YAML for get, list and errors", async () => {
      const yaml = { Accept: "application/yaml" };
      const got = await call("GET", `${CONFIGMAPS}/cm-a`, undefined, yaml);
      expect(got.headers.get("content-type")).toBe("application/yaml");
      expect(got.text.startsWith("apiVersion: v1\ndata:\n")).toBe(true);
      // go-yaml v2 quotes what YAML 1.1 would read as a timestamp
      expect(got.text).toMatch(/^ {2}creationTimestamp: "\d{4}-/m);
      expect(parseYaml(got.text)).toEqual((await call("GET", `${CONFIGMAPS}/cm-a`)).json);
      const listed = parseYaml((await call("GET", CONFIGMAPS, undefined, yaml)).text) as Json;
      expect(listed.kind).toBe("ConfigMapList");
      const missing = await call("GET", `${CONFIGMAPS}/nope`, undefined, yaml);
      expect(missing.status).toBe(404);
      expect(parseYaml(missing.text)).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
      const watch = await call("GET", `${CONFIGMAPS}?watch=true`, undefined, yaml);
      expect(watch.status).toBe(406);
      expect(parseYaml(watch.text)).toMatchObject({
        reason: "NotAcceptable",
        message:
          "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch",
      });
    });

    it("does not store empty finalizers, labels or annotations", async () => {
      const res = await call("POST", CONFIGMAPS, {
        ...configMap("empty-meta"),
        metadata: { name: "empty-meta", finalizers: [], labels: {}, annotations: {}, ownerReferences: [] },
      });
      expect(res.status).toBe(201);
      const meta = res.json.metadata as Json;
      for (const key of ["finalizers", "labels", "annotations", "ownerReferences"])
        expect(meta[key]).toBeUndefined();
      const updated = await call("PUT", `${CONFIGMAPS}/empty-meta`, {
        ...res.json,
        metadata: { ...meta, labels: {}, annotations: {} },
      });
      expect((updated.json.metadata as Json).labels).toBeUndefined();
      const crd = await call("POST", VMS, vm("empty-meta", {}, { finalizers: [], annotations: {} }));
      expect((crd.json.metadata as Json).finalizers).toBeUndefined();
      expect((crd.json.metadata as Json).annotations).toBeUndefined();
    });

    it.each([
      // dryRun other than All (ValidateDryRun)
      [
        "POST",
        `${LEASES}?dryRun=Yes`,
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Yes"]: supported values: "All"',
      ],
      // unknown propagation policy (ValidateDeleteOptions)
      [
        "DELETE",
        `${CONFIGMAPS}/cm-b?propagationPolicy=Sideways`,
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
      ],
    ])("%s %s → 422", async (method, path, message) => {
      const res = await call(method, path, method === "POST" ? lease("opts") : undefined);
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({ reason: "Invalid", message });
    });

    it("answers a failed JSON-patch test with kube's generic 422 and empty details", async () => {
      const res = await call("PATCH", `${CONFIGMAPS}/cm-a`, [{ op: "test", path: "/data/a", value: "2" }], {
        "Content-Type": "application/json-patch+json",
      });
      expect(res.status).toBe(422);
      expect(res.json).toEqual({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server rejected our request due to an error in our request",
        reason: "Invalid",
        details: {},
        code: 422,
      });
    });

    it("answers a resourceVersion set on create with the storage layer's reason-less 500", async () => {
      const res = await call("POST", CONFIGMAPS, {
        ...configMap("with-rv"),
        metadata: { name: "with-rv", resourceVersion: "7" },
      });
      expect(res.status).toBe(500);
      expect(res.json.reason).toBeUndefined();
      expect(res.json.message).toBe("resourceVersion should not be set on objects to be created");
    });
  });
});
