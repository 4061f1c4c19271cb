/**
 * The local cluster's API semantics over real HTTP, where kubectl and client-node tests don't reach: bad input
 * answered with kube-apiserver's codes and messages and nothing stored, pagination, watch history (410 as an ERROR
 * event), finalizers and garbage collection (foreground, orphan), HPA version conversion, admission, and fault
 * injection set over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

const VMS = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines";
const POOLS = "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools";
const HPA_V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
const HPA_V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";

function vm(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, labels: { suite: "api" }, ...extra },
    spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
  };
}

function pool(name: string) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: { runStrategy: "Halted", template: { spec: {} } },
      },
    },
  };
}

describe("local cluster API semantics", () => {
  let env: TestCluster;
  let base: string;
  const call = async (method: string, path: string, body?: unknown, contentType = "application/json") => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { "Content-Type": contentType },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a watch stream or an empty body
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  const count = async () => ((await call("GET", VMS)).json.items as unknown[]).length;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    base = env.cluster.url;
  });
  afterAll(async () => env?.close());

  it.each([
    // malformed JSON body
    ["POST", VMS, "{not json", "application/json", 400, "BadRequest"],
    // malformed YAML body
    ["POST", VMS, "a: [unclosed", "application/yaml", 400, "BadRequest"],
    // an unknown resource type of a built-in group (a CRD group's answers Go's plain-text 404)
    ["POST", "/api/v1/namespaces/default/foobars", "{}", "application/json", 404, "NotFound"],
    // kind in the body does not match the URL (a CR's kind is validated after decoding: 422)
    [
      "POST",
      VMS,
      JSON.stringify({ ...vm("x"), kind: "VirtualMachinePool" }),
      "application/json",
      422,
      "Invalid",
    ],
    // invalid name
    ["POST", VMS, JSON.stringify(vm("Bad_Name")), "application/json", 422, "Invalid"],
    // no name and no generateName
    ["POST", VMS, JSON.stringify({ ...vm("x"), metadata: {} }), "application/json", 422, "Invalid"],
    // a body type the server does not speak
    ["POST", VMS, "<xml/>", "application/xml", 415, "UnsupportedMediaType"],
    // a namespace that does not exist
    [
      "POST",
      "/apis/kubevirt.io/v1/namespaces/nowhere/virtualmachines",
      JSON.stringify(vm("x")),
      "application/json",
      404,
      "NotFound",
    ],
    // a VM without runStrategy or running (KubeVirt admission)
    ["POST", VMS, JSON.stringify({ ...vm("x"), spec: { template: {} } }), "application/json", 422, "Invalid"],
    // a pool with negative replicas (CRD schema)
    [
      "POST",
      POOLS,
      JSON.stringify({ ...pool("neg"), spec: { ...pool("neg").spec, replicas: -1 } }),
      "application/json",
      422,
      "Invalid",
    ],
  ])("%s %s (%s, %s) → %i %s and nothing stored", async (method, path, body, type, status, reason) => {
    const before = await count();
    const res = await call(method, path, body, type);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ kind: "Status", status: "Failure", reason, code: status });
    expect(await count()).toBe(before);
  });

  it("answers stale updates with 409 Conflict and unsupported patch types with 415, storing nothing", async () => {
    const created = (await call("POST", VMS, vm("stale"))).json as { metadata: { resourceVersion: string } };
    const first = await call("PUT", `${VMS}/stale`, {
      ...vm("stale"),
      metadata: {
        ...vm("stale").metadata,
        resourceVersion: created.metadata.resourceVersion,
        labels: { v: "1" },
      },
    });
    expect(first.status).toBe(200);
    const stale = await call("PUT", `${VMS}/stale`, {
      ...vm("stale"),
      metadata: {
        ...vm("stale").metadata,
        resourceVersion: created.metadata.resourceVersion,
        labels: { v: "2" },
      },
    });
    expect(stale.status).toBe(409);
    expect(stale.json.message).toBe(
      'Operation cannot be fulfilled on virtualmachines.kubevirt.io "stale": the object has been modified; please apply your changes to the latest version and try again',
    );
    const noRv = await call("PUT", `${VMS}/stale`, vm("stale"));
    expect(noRv.status).toBe(422);
    const smp = await call(
      "PATCH",
      `${VMS}/stale`,
      { metadata: { labels: { v: "3" } } },
      "application/strategic-merge-patch+json",
    );
    expect(smp.status).toBe(415);
    expect(smp.json.message).toBe(
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
    const failedTest = await call(
      "PATCH",
      `${VMS}/stale`,
      [
        { op: "test", path: "/metadata/labels/v", value: "9" },
        { op: "replace", path: "/metadata/labels/v", value: "4" },
      ],
      "application/json-patch+json",
    );
    expect(failedTest.status).toBe(422);
    const stored = (await call("GET", `${VMS}/stale`)).json as {
      metadata: { labels: Record<string, string> };
    };
    expect(stored.metadata.labels).toEqual({ v: "1" });
  });

  it("pages lists with limit/continue at the first page's resourceVersion", async () => {
    for (let i = 0; i < 5; i++) await call("POST", VMS, vm(`page-${i}`));
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await call(
        "GET",
        `${VMS}?labelSelector=suite%3Dapi&limit=2${token ? `&continue=${encodeURIComponent(token)}` : ""}`,
      );
      const list = res.json as {
        items: { metadata: { name: string } }[];
        metadata: { continue?: string; remainingItemCount?: number };
      };
      names.push(...list.items.map((i) => i.metadata.name));
      token = list.metadata.continue;
      pages++;
    } while (token);
    expect(names).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
    expect(pages).toBe(3);
    expect((await call("GET", `${VMS}?limit=2&continue=garbage`)).status).toBe(400);
  });

  it("replays watch history from a resourceVersion and answers an expired one with an ERROR 410 event", async () => {
    const created = (await call("POST", VMS, vm("watched"))).json as {
      metadata: { resourceVersion: string };
    };
    await call(
      "PATCH",
      `${VMS}/watched`,
      { metadata: { labels: { step: "2" } } },
      "application/merge-patch+json",
    );
    const controller = new AbortController();
    const res = await fetch(
      `${base}${VMS}?watch=true&resourceVersion=${created.metadata.resourceVersion}&fieldSelector=metadata.name%3Dwatched`,
      { signal: controller.signal },
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    controller.abort();
    const event = JSON.parse(new TextDecoder().decode(value).split("\n")[0] as string) as {
      type: string;
      object: { metadata: { labels: Record<string, string> } };
    };
    expect(event.type).toBe("MODIFIED");
    expect(event.object.metadata.labels.step).toBe("2");
    // A cluster keeping only 10 changes: a watch from the first resourceVersion is too old.
    const small = await startTestCluster({ simulator: false, historyLimit: 10 });
    try {
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${small.cluster.url}${VMS}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(vm(`h-${i}`)),
        });
        expect(res.status).toBe(201);
        await res.text();
      }
      const expired = await fetch(`${small.cluster.url}${VMS}?watch=true&resourceVersion=1`);
      expect(expired.status).toBe(200);
      const error = JSON.parse((await expired.text()).trim()) as { type: string; object: { code: number } };
      expect(error).toMatchObject({
        type: "ERROR",
        object: { kind: "Status", code: 410, reason: "Expired" },
      });
    } finally {
      await small.close();
    }
  });

  it("keeps an object with finalizers until they are removed, then deletes it", async () => {
    await call("POST", VMS, vm("held", { finalizers: ["example.com/hold"] }));
    const deleting = await call("DELETE", `${VMS}/held`);
    expect(deleting.status).toBe(200);
    expect((deleting.json.metadata as { deletionTimestamp?: string }).deletionTimestamp).toBeDefined();
    const adding = await call(
      "PATCH",
      `${VMS}/held`,
      { metadata: { finalizers: ["example.com/hold", "new/one"] } },
      "application/merge-patch+json",
    );
    expect(adding.status).toBe(422);
    await call("PATCH", `${VMS}/held`, { metadata: { finalizers: null } }, "application/merge-patch+json");
    expect((await call("GET", `${VMS}/held`)).status).toBe(404);
  });

  it("garbage-collects dependents: foreground waits for them, orphan keeps them", async () => {
    const owner = (await call("POST", VMS, vm("owner-fg"))).json as { metadata: { uid: string } };
    const ref = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      name: "owner-fg",
      uid: owner.metadata.uid,
      blockOwnerDeletion: true,
    };
    await call("POST", VMS, vm("dep-fg", { ownerReferences: [ref] }));
    const fg = await call("DELETE", `${VMS}/owner-fg`, { propagationPolicy: "Foreground" });
    expect((fg.json.metadata as { finalizers: string[] }).finalizers).toContain("foregroundDeletion");
    await eventually(
      async () => ((await call("GET", `${VMS}/owner-fg`)).status === 404 ? true : undefined),
      5000,
      "owner gone",
    );
    expect((await call("GET", `${VMS}/dep-fg`)).status).toBe(404);

    const orphanOwner = (await call("POST", VMS, vm("owner-or"))).json as { metadata: { uid: string } };
    await call(
      "POST",
      VMS,
      vm("dep-or", { ownerReferences: [{ ...ref, name: "owner-or", uid: orphanOwner.metadata.uid }] }),
    );
    await call("DELETE", `${VMS}/owner-or`, { propagationPolicy: "Orphan" });
    await eventually(
      async () => ((await call("GET", `${VMS}/owner-or`)).status === 404 ? true : undefined),
      5000,
      "orphaning owner gone",
    );
    const dep = (await call("GET", `${VMS}/dep-or`)).json as { metadata: { ownerReferences?: unknown[] } };
    expect(dep.metadata.ownerReferences).toBeUndefined();
  });

  it("serves one HPA through autoscaling/v1 and v2", async () => {
    await call("POST", HPA_V1, {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "conv" },
      spec: {
        scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1alpha1", kind: "VirtualMachinePool", name: "p" },
        minReplicas: 3,
        maxReplicas: 10,
        targetCPUUtilizationPercentage: 50,
      },
    });
    const v2 = (await call("GET", `${HPA_V2}/conv`)).json as { spec: { metrics: unknown[] } };
    expect(v2.spec.metrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
      },
    ]);
    await call(
      "PATCH",
      `${HPA_V2}/conv`,
      {
        spec: {
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
            },
          ],
        },
      },
      "application/merge-patch+json",
    );
    const v1 = (await call("GET", `${HPA_V1}/conv`)).json as {
      spec: { targetCPUUtilizationPercentage: number };
    };
    expect(v1.spec.targetCPUUtilizationPercentage).toBe(70);
  });

  it("enforces the pool selector's immutability with KubeVirt's message", async () => {
    await call("POST", POOLS, pool("immutable"));
    const res = await call(
      "PATCH",
      `${POOLS}/immutable`,
      {
        spec: {
          selector: { matchLabels: { other: "x" } },
          virtualMachineTemplate: { metadata: { labels: { other: "x" } } },
        },
      },
      "application/merge-patch+json",
    );
    expect(res.status).toBe(422);
    expect(res.json.message).toContain("selector is immutable after creation.");
  });

  it("injects seeded faults set over HTTP: 429 with Retry-After, then none", async () => {
    const set = await call("PUT", "/local/faults", {
      seed: 3,
      rules: [
        { kind: "throttle", rate: 1, verbs: ["list"], resources: ["virtualmachines"], retryAfterSeconds: 2 },
      ],
    });
    expect(set.status).toBe(200);
    const throttled = await call("GET", VMS);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("2");
    expect(throttled.json).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 2 } });
    expect((await call("GET", `${VMS}/stale`)).status).toBe(200);
    const bad = await call("PUT", "/local/faults", { rules: [{ kind: "explode", rate: 2 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/rules\.0\.kind/);
    await call("PUT", "/local/faults", { rules: [] });
    expect((await call("GET", VMS)).status).toBe(200);
  });
});
