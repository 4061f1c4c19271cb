/**
 * shared/kube against the local cluster over real HTTP on 127.0.0.1: the verbs a pass uses on the seed pool and
 * its VMs, with a recording proxy in front of the API server to check what goes on the wire (content types,
 * field manager, delete preconditions, pagination, credentials) and to answer with what the local cluster never
 * sends (malformed objects, refusals).
 */
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hasReason, ReasonedError } from "../../shared/errors";
import { type ClusterSource, createKube, type Kube, KubeError } from "../../shared/kube";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const POOL = "vm-pool-cirros";
const NS = "default";

/** The seed document's pool (shared/seeds/000_…), with `runStrategy: Always` instead of the deprecated `running`. */
function seedPool(name = POOL, replicas = 3) {
  return {
    apiVersion: "pool.kubevirt.io/v1alpha1",
    kind: "VirtualMachinePool",
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { "kubevirt.io/vmpool": name } },
      virtualMachineTemplate: {
        metadata: { labels: { "kubevirt.io/vmpool": name } },
        spec: {
          runStrategy: "Always",
          template: {
            metadata: { labels: { "kubevirt.io/vmpool": name } },
            spec: {
              domain: {
                devices: { disks: [{ disk: { bus: "virtio" }, name: "containerdisk" }] },
                resources: { requests: { memory: "128Mi" } },
              },
              terminationGracePeriodSeconds: 0,
              volumes: [
                {
                  containerDisk: { image: "kubevirt/cirros-container-disk-demo:latest" },
                  name: "containerdisk",
                },
              ],
            },
          },
        },
      },
    },
  };
}

function vm(name: string, pool: string) {
  const template = seedPool(pool).spec.virtualMachineTemplate;
  return { metadata: { name, namespace: NS, labels: { "kubevirt.io/vmpool": pool } }, spec: template.spec };
}

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

interface Canned {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** A pass-through HTTP proxy to `target` that records every request and can answer some itself. */
async function startProxy(target: string) {
  const upstream = new URL(target);
  const requests: Recorded[] = [];
  let intercept: ((r: Recorded) => Canned | undefined) | undefined;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        contentType: req.headers["content-type"],
        authorization: req.headers.authorization,
        body: body.toString("utf8"),
      };
      requests.push(recorded);
      const canned = intercept?.(recorded);
      if (canned) {
        res.writeHead(canned.status, { "Content-Type": "application/json", ...canned.headers });
        res.end(canned.body);
        return;
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    intercept: (fn: typeof intercept) => {
      intercept = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function sourceFor(url: string): ClusterSource {
  return { kind: "token", server: url, token: "s3cret" };
}

function statusBody(code: number, reason: string, message: string) {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });
}

describe("shared/kube against the local cluster", () => {
  let env: TestCluster;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let kube: Kube;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    proxy = await startProxy(env.cluster.url);
    kube = createKube(sourceFor(proxy.url), { retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  });
  afterEach(() => proxy.intercept(undefined));
  afterAll(async () => {
    await proxy?.close();
    await env?.close();
  });

  const requestsTo = (pattern: RegExp) => proxy.requests.filter((r) => pattern.test(r.url));

  it("creates and reads the seed pool through v1beta1, discovering the served version once", async () => {
    const created = await kube.create("VirtualMachinePool", seedPool());
    expect(created.apiVersion).toBe("pool.kubevirt.io/v1beta1");
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.spec.selector.matchLabels).toEqual({ "kubevirt.io/vmpool": POOL });

    const got = await kube.get("VirtualMachinePool", NS, POOL);
    expect(got?.metadata.uid).toBe(created.metadata.uid);
    expect(got?.spec.virtualMachineTemplate.spec.runStrategy).toBe("Always");
    await kube.list("VirtualMachinePool", { namespace: NS });

    expect(requestsTo(/^\/apis\/pool\.kubevirt\.io$/)).toHaveLength(1);
    const post = proxy.requests.find((r) => r.method === "POST" && r.url.includes("virtualmachinepools"));
    expect(post?.url).toBe(
      `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools?fieldManager=vmpool-functions`,
    );
    expect(JSON.parse(post?.body ?? "{}").apiVersion).toBe("pool.kubevirt.io/v1beta1");
    expect(post?.authorization).toBe("Bearer s3cret");
  });

  it("lists VMs by label selector in a namespace and across all namespaces", async () => {
    await kube.create("VirtualMachine", vm(`${POOL}-0`, POOL));
    await kube.create("VirtualMachine", vm(`${POOL}-1`, POOL));
    await kube.create("VirtualMachine", vm("other-0", "other"));

    const selector = `kubevirt.io/vmpool=${POOL}`;
    const mine = await kube.list("VirtualMachine", { namespace: NS, labelSelector: selector });
    expect(mine.map((v) => v.metadata.name).sort()).toEqual([`${POOL}-0`, `${POOL}-1`]);
    expect(mine.every((v) => v.apiVersion === "kubevirt.io/v1" && v.kind === "VirtualMachine")).toBe(true);

    const everywhere = await kube.list("VirtualMachine", { labelSelector: "kubevirt.io/vmpool=other" });
    expect(everywhere.map((v) => v.metadata.name)).toEqual(["other-0"]);
    expect(requestsTo(/^\/apis\/kubevirt\.io\/v1\/virtualmachines\?/)).toHaveLength(1);
  });

  it("merge-patches and JSON-patches with their content types, and refuses a mismatched body unsent", async () => {
    const merged = await kube.patch(
      "VirtualMachine",
      NS,
      `${POOL}-0`,
      { metadata: { labels: { tier: "gold" } } },
      "merge",
    );
    expect(merged.metadata.labels).toEqual({ "kubevirt.io/vmpool": POOL, tier: "gold" });

    const ops = [
      { op: "test", path: "/spec/runStrategy", value: "Always" },
      { op: "replace", path: "/spec/runStrategy", value: "Halted" },
    ] as const;
    const jsonPatched = await kube.patch("VirtualMachine", NS, `${POOL}-0`, ops, "json");
    expect(jsonPatched.spec.runStrategy).toBe("Halted");

    const patches = proxy.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.contentType)).toEqual([
      "application/merge-patch+json",
      "application/json-patch+json",
    ]);
    expect(patches.every((r) => r.url.endsWith("?fieldManager=vmpool-functions"))).toBe(true);

    // A failed test op is the server's 422, not retried.
    const failed = await kube.patch("VirtualMachine", NS, `${POOL}-0`, ops, "json").catch((e: unknown) => e);
    expect(failed).toMatchObject({ reason: "Invalid", retryable: false, status: 422 });

    const before = proxy.requests.length;
    const wrong = kube.patch("VirtualMachine", NS, `${POOL}-0`, { op: "remove" } as never, "json");
    await expect(wrong).rejects.toMatchObject({ reason: "BadRequest" });
    expect(proxy.requests.length).toBe(before);
  });

  it("writes status with the read resourceVersion and reports a stale one as a non-retryable Conflict", async () => {
    const pool = await kube.get("VirtualMachinePool", NS, POOL);
    if (!pool) throw new Error("pool missing");
    const labelSelector = `kubevirt.io/vmpool=${POOL}`;
    const updated = await kube.replaceStatus("VirtualMachinePool", {
      ...pool,
      status: { replicas: 2, labelSelector },
    });
    expect(updated.status).toMatchObject({ replicas: 2, labelSelector });
    expect(updated.metadata.resourceVersion).not.toBe(pool.metadata.resourceVersion);
    expect(
      requestsTo(/\/virtualmachinepools\/vm-pool-cirros\/status\?fieldManager=vmpool-functions$/),
    ).toHaveLength(1);

    kube.resetStats();
    const stale = await kube
      .replaceStatus("VirtualMachinePool", { ...pool, status: { replicas: 1 } })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(KubeError);
    expect(stale).toMatchObject({ reason: "Conflict", retryable: false, status: 409 });
    expect(kube.stats()).toMatchObject({ total: 1, retries: 0, byVerb: { update: 1 } });

    const { resourceVersion: _rv, ...unversioned } = pool.metadata;
    const blind = kube.replaceStatus("VirtualMachinePool", { ...pool, metadata: unversioned });
    await expect(blind).rejects.toMatchObject({ reason: "BadRequest" });
    expect(kube.stats().total).toBe(1);
  });

  it("reads and writes the scale subresource", async () => {
    const scale = await kube.getScale("VirtualMachinePool", NS, POOL);
    expect(scale?.spec?.replicas).toBe(3);
    expect(scale?.status?.selector).toBe(`kubevirt.io/vmpool=${POOL}`);

    const scaled = await kube.scale("VirtualMachinePool", NS, POOL, 5);
    expect(scaled.spec?.replicas).toBe(5);
    expect((await kube.get("VirtualMachinePool", NS, POOL))?.spec.replicas).toBe(5);
    const scalePatch = proxy.requests.filter((r) => r.method === "PATCH" && r.url.includes("/scale")).at(-1);
    expect(scalePatch?.contentType).toBe("application/merge-patch+json");
    expect(JSON.parse(scalePatch?.body ?? "{}")).toEqual({ spec: { replicas: 5 } });

    const compareAndSet = await kube.patch(
      "VirtualMachinePool",
      NS,
      POOL,
      [
        { op: "test", path: "/spec/replicas", value: 5 },
        { op: "replace", path: "/spec/replicas", value: 4 },
      ],
      "json",
      { subresource: "scale" },
    );
    expect(compareAndSet.spec?.replicas).toBe(4);
  });

  it("maps 404s: reads give undefined, delete reports AlreadyGone, writes throw NotFound", async () => {
    expect(await kube.get("VirtualMachine", NS, "nope")).toBeUndefined();
    expect(await kube.getScale("VirtualMachineInstanceReplicaSet", NS, "nope")).toBeUndefined();
    expect(await kube.delete("VirtualMachine", NS, "nope")).toBe("AlreadyGone");
    const err = await kube
      .patch("VirtualMachine", NS, "nope", { metadata: { labels: { a: "b" } } }, "merge")
      .catch((e) => e);
    expect(err).toBeInstanceOf(ReasonedError);
    expect(err).toMatchObject({
      reason: "NotFound",
      retryable: false,
      status: 404,
      statusReason: "NotFound",
    });
    expect(hasReason(err, "NotFound")).toBe(true);
  });

  it("refuses a duplicate create with AlreadyExists", async () => {
    const again = await kube.create("VirtualMachine", vm(`${POOL}-1`, POOL)).catch((e: unknown) => e);
    expect(again).toMatchObject({ reason: "AlreadyExists", retryable: false, status: 409 });
  });

  it("deletes with uid and resourceVersion preconditions", async () => {
    const target = await kube.get("VirtualMachine", NS, "other-0");
    if (!target) throw new Error("vm missing");
    const wrongUid = await kube
      .delete("VirtualMachine", NS, "other-0", { uid: "0000" })
      .catch((e: unknown) => e);
    expect(wrongUid).toMatchObject({ reason: "Conflict", retryable: false });

    const outcome = await kube.delete("VirtualMachine", NS, "other-0", {
      uid: target.metadata.uid ?? "",
      resourceVersion: target.metadata.resourceVersion ?? "",
      propagationPolicy: "Foreground",
    });
    expect(outcome).toBe("Deleted");
    const sent = proxy.requests.filter((r) => r.method === "DELETE" && r.url.endsWith("/other-0")).at(-1);
    expect(JSON.parse(sent?.body ?? "{}")).toMatchObject({
      kind: "DeleteOptions",
      preconditions: { uid: target.metadata.uid, resourceVersion: target.metadata.resourceVersion },
      propagationPolicy: "Foreground",
    });
  });

  it("records an Event that a describe-style field selector finds", async () => {
    const pool = await kube.get("VirtualMachinePool", NS, POOL);
    if (!pool?.metadata.uid) throw new Error("pool missing");
    const involvedObject = {
      kind: "VirtualMachinePool",
      apiVersion: "pool.kubevirt.io/v1beta1",
      namespace: NS,
      name: POOL,
      uid: pool.metadata.uid,
    };
    const recorded = await kube.recordEvent({
      involvedObject,
      type: "Normal",
      reason: "SuccessfulCreate",
      message: `Created VM ${NS}/${POOL}-0`,
      component: "virtualmachinepool-controller",
    });
    expect(recorded).toBe(true);

    const fieldSelector = [
      `involvedObject.name=${POOL}`,
      `involvedObject.namespace=${NS}`,
      "involvedObject.kind=VirtualMachinePool",
      `involvedObject.uid=${pool.metadata.uid}`,
    ].join(",");
    const events = await kube.list("Event", { namespace: NS, fieldSelector });
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.metadata.name).toMatch(/^vm-pool-cirros\.[0-9a-f]{16}$/);
    expect(event).toMatchObject({
      type: "Normal",
      reason: "SuccessfulCreate",
      message: "Created VM default/vm-pool-cirros-0",
      source: { component: "virtualmachinepool-controller" },
      reportingComponent: "virtualmachinepool-controller",
      count: 1,
      eventTime: null,
      involvedObject,
    });
    expect(event?.firstTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(event?.lastTimestamp).toBe(event?.firstTimestamp);
    expect(
      requestsTo(/^\/api\/v1\/namespaces\/default\/events\?fieldManager=vmpool-functions$/),
    ).toHaveLength(1);

    // Best effort: a refused event is logged and reported, never thrown.
    proxy.intercept((r) =>
      r.method === "POST" && r.url.includes("/events")
        ? { status: 403, body: statusBody(403, "Forbidden", "no") }
        : undefined,
    );
    const refused = await kube.recordEvent({
      involvedObject,
      type: "Warning",
      reason: "X",
      message: "y",
      component: "c",
    });
    expect(refused).toBe(false);
  });

  it("turns an object that does not match its schema into MalformedObject", async () => {
    proxy.intercept((r) =>
      r.method === "GET" && r.url.endsWith("/virtualmachines/broken")
        ? {
            status: 200,
            body: JSON.stringify({
              apiVersion: "kubevirt.io/v1",
              kind: "VirtualMachine",
              metadata: { name: 5 },
            }),
          }
        : undefined,
    );
    const err = await kube.get("VirtualMachine", NS, "broken").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ reason: "MalformedObject", retryable: false });
  });

  it("retries a plain-text 429 that carries Retry-After", async () => {
    let refusals = 1;
    proxy.intercept((r) => {
      if (!r.url.endsWith("/virtualmachines/vm-pool-cirros-1") || refusals === 0) return undefined;
      refusals--;
      return {
        status: 429,
        body: "Too many requests, please try again later.\n",
        headers: { "Retry-After": "0" },
      };
    });
    kube.resetStats();
    expect((await kube.get("VirtualMachine", NS, `${POOL}-1`))?.metadata.name).toBe(`${POOL}-1`);
    expect(kube.stats()).toEqual({ total: 2, byVerb: { get: 2 }, byKind: { VirtualMachine: 2 }, retries: 1 });
  });

  it("follows continue tokens in pages of 500", async () => {
    const names = Array.from({ length: 501 }, (_, i) => `page-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) =>
          kube.create("Lease", {
            metadata: { name, namespace: NS },
            spec: { holderIdentity: "", leaseDurationSeconds: 1 },
          }),
        ),
      );
    }
    const lists = () => requestsTo(/^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/default\/leases\?/);
    const before = lists().length;
    const leases = await kube.list("Lease", { namespace: NS });
    expect(leases.filter((l) => l.metadata.name.startsWith("page-"))).toHaveLength(501);
    const pages = lists().slice(before);
    expect(pages).toHaveLength(2);
    expect(pages.every((r) => new URL(r.url, proxy.url).searchParams.get("limit") === "500")).toBe(true);
    expect(new URL(pages[1]?.url ?? "", proxy.url).searchParams.get("continue")).toBeTruthy();
  });

  it("sends nothing once the deadline has passed", async () => {
    kube.resetStats();
    const late = kube.withDeadline(Date.now() - 1);
    await expect(late.get("VirtualMachine", NS, `${POOL}-1`)).rejects.toMatchObject({ reason: "Timeout" });
    await expect(
      kube.get("VirtualMachine", NS, `${POOL}-1`, { deadline: Date.now() - 1 }),
    ).rejects.toMatchObject({
      reason: "Timeout",
    });
    expect(kube.stats().total).toBe(0);
  });

  it("counts requests by verb and kind and resets", async () => {
    kube.resetStats();
    await kube.get("VirtualMachinePool", NS, POOL);
    await kube.list("VirtualMachine", { namespace: NS });
    await kube.scale("VirtualMachinePool", NS, POOL, 3);
    expect(kube.stats()).toEqual({
      total: 3,
      byVerb: { get: 1, list: 1, patch: 1 },
      byKind: { VirtualMachinePool: 2, VirtualMachine: 1 },
      retries: 0,
    });
    kube.resetStats();
    expect(kube.stats()).toEqual({ total: 0, byVerb: {}, byKind: {}, retries: 0 });
  });
});

describe("cluster sources", () => {
  let env: TestCluster;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
  });
  afterAll(async () => env?.close());

  it("reaches the cluster from a kubeconfig file and from its text", async () => {
    const fromFile = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    const fromText = createKube({ kind: "kubeconfigText", yaml: readFileSync(env.kubeconfig, "utf8") });
    for (const kube of [fromFile, fromText]) {
      expect(await kube.list("Pod", { namespace: "default" })).toEqual([]);
    }
  });

  it("names a bad source with InvalidClusterSource", () => {
    const missing = join(env.dir, "missing-kubeconfig");
    expect(() => createKube({ kind: "kubeconfig", path: missing })).toThrow(
      expect.objectContaining({ reason: "InvalidClusterSource" }),
    );
    const text = readFileSync(env.kubeconfig, "utf8");
    expect(() => createKube({ kind: "kubeconfigText", yaml: text, context: "nope" })).toThrow(
      expect.objectContaining({ reason: "InvalidClusterSource" }),
    );
  });

  it("reports an unreachable server as a retryable Unavailable", async () => {
    const closed = await startTestCluster({ simulator: false });
    const url = closed.cluster.url;
    await closed.close();
    const kube = createKube(
      { kind: "token", server: url, token: "t" },
      { retry: { maxAttempts: 2, baseDelayMs: 1 } },
    );
    const err = await kube.get("Pod", "default", "x").catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "Unavailable", retryable: true });
    expect(kube.stats()).toMatchObject({ total: 2, retries: 1 });
  });
});
