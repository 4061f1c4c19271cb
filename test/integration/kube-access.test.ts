/**
 * The requests that really reach an API server, resolved the way RBAC sees them (verb, group, resource,
 * subresource): each Kube method sends exactly what shared/kube's access table says, and real reconcile passes —
 * scale-out, a template update, scale-in, a replica set — send nothing the ClusterRole in infra/kubernetes does
 * not grant. A recording proxy sits between the client and the local cluster.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessOf, createKube, type Kube, type KubeMethod, rbacAttributes } from "../../shared/kube";
import { logger } from "../../shared/log";
import { seededRandom } from "../../shared/planning";
import { type PassResult, type PoolRef, reconcilePool } from "../../shared/reconcile";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import { clusterRoleRules, expandRules, rbacKey, requestRbacKey } from "../support/rbac";

/** A transparent HTTP proxy to `target` that records every request's method and URL. */
async function recordingProxy(target: string): Promise<{ url: string; seen: string[]; server: Server }> {
  const upstream = new URL(target);
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const key = requestRbacKey(req.method ?? "GET", req.url ?? "/");
    if (key) seen.push(key);
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    // A client that went away (an aborted watch) takes its upstream request with it.
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const labels = (name: string) => ({ "kubevirt.io/vmpool": name });

function poolSpec(name: string, replicas: number, memory = "64Mi") {
  return {
    replicas,
    selector: { matchLabels: labels(name) },
    virtualMachineTemplate: {
      metadata: { labels: labels(name) },
      spec: {
        runStrategy: "Always",
        template: {
          metadata: { labels: labels(name) },
          spec: { domain: { devices: {}, resources: { requests: { memory } } } },
        },
      },
    },
  };
}

function poolBody(name: string, replicas: number) {
  return { metadata: { name, namespace: "default" }, spec: poolSpec(name, replicas) } as never;
}

function replicaSetBody(name: string, replicas: number) {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { rs: name } },
      template: { metadata: { labels: { rs: name } }, spec: { domain: { devices: {} } } },
    },
  } as never;
}

describe("Kubernetes access on the wire", () => {
  let env: TestCluster;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let direct: Kube;
  let kube: Kube;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: { startDelayMs: 5, stepDelayMs: 5 } });
    proxy = await recordingProxy(env.cluster.url);
    direct = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    kube = createKube({ kind: "token", server: proxy.url, token: "test" });
    await direct.create("VirtualMachinePool", poolBody("probe", 0));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => proxy?.server.close(() => resolve()));
    await env?.close();
  });

  /** The RBAC keys `fn` sends through the proxy. */
  async function sent(fn: () => Promise<unknown>): Promise<string[]> {
    const from = proxy.seen.length;
    await fn();
    return [...new Set(proxy.seen.slice(from))].sort();
  }

  const declared = (method: KubeMethod, kind: Parameters<typeof accessOf>[1], sub?: "status" | "scale") =>
    [...new Set(accessOf(method, kind, sub).map((a) => rbacKey(rbacAttributes(a))))].sort();

  it.each<
    [
      string,
      KubeMethod,
      Parameters<typeof accessOf>[1],
      "status" | "scale" | undefined,
      (k: Kube) => Promise<unknown>,
    ]
  >([
    // a read of one object (discovery of the pool group is a non-resource URL)
    ["get", "get", "VirtualMachinePool", undefined, (k) => k.get("VirtualMachinePool", "default", "probe")],
    // a paged list in one namespace
    ["list", "list", "VirtualMachine", undefined, (k) => k.list("VirtualMachine", { namespace: "default" })],
    // the scale subresource
    [
      "getScale",
      "getScale",
      "VirtualMachinePool",
      "scale",
      (k) => k.getScale("VirtualMachinePool", "default", "probe"),
    ],
    // a merge patch of the object
    [
      "patch",
      "patch",
      "VirtualMachinePool",
      undefined,
      (k) => k.patch("VirtualMachinePool", "default", "probe", { metadata: { labels: { a: "b" } } }, "merge"),
    ],
    // a merge patch of /status
    [
      "patch status",
      "patch",
      "VirtualMachinePool",
      "status",
      (k) =>
        k.patch("VirtualMachinePool", "default", "probe", { status: { replicas: 0 } }, "merge", {
          subresource: "status",
        }),
    ],
    // scale = a merge patch of /scale
    [
      "scale",
      "scale",
      "VirtualMachinePool",
      "scale",
      (k) => k.scale("VirtualMachinePool", "default", "probe", 0),
    ],
    // a PUT of /status with the read resourceVersion
    [
      "replaceStatus",
      "replaceStatus",
      "VirtualMachinePool",
      "status",
      async (k) => {
        const current = await direct.get("VirtualMachinePool", "default", "probe");
        if (current) await k.replaceStatus("VirtualMachinePool", current);
      },
    ],
    // a create, a PUT and a delete of one object
    [
      "create",
      "create",
      "Lease",
      undefined,
      (k) => k.create("Lease", { metadata: { name: "access-probe", namespace: "default" }, spec: {} }),
    ],
    [
      "replace",
      "replace",
      "Lease",
      undefined,
      async (k) => {
        const lease = await direct.get("Lease", "default", "access-probe");
        if (lease) await k.replace("Lease", lease);
      },
    ],
    ["delete", "delete", "Lease", undefined, (k) => k.delete("Lease", "default", "access-probe")],
    // an Event about a pool
    [
      "recordEvent",
      "recordEvent",
      "Event",
      undefined,
      (k) =>
        k.recordEvent({
          involvedObject: {
            kind: "VirtualMachinePool",
            apiVersion: "pool.kubevirt.io/v1beta1",
            namespace: "default",
            name: "probe",
            uid: "u",
          },
          type: "Normal",
          reason: "Probe",
          message: "access probe",
          component: "virtualmachinepool-controller",
        }),
    ],
    // take a free lease (get, create), release it (update)
    [
      "acquireLease",
      "acquireLease",
      "Lease",
      undefined,
      async (k) => {
        const lease = await k.acquireLease({
          namespace: "default",
          name: "probe-lease",
          holder: "t",
          ttlSeconds: 30,
        });
        if (lease.acquired) await lease.release();
      },
    ],
    // the reflector: a cluster-wide list, then a watch from its resourceVersion
    [
      "watch",
      "watch",
      "VirtualMachine",
      undefined,
      async (k) => {
        const from = proxy.seen.length;
        const watch = k.watch("VirtualMachine", { onChange: () => {}, timeoutSeconds: 5 });
        await watch.synced;
        await eventually(
          () => (proxy.seen.slice(from).some((key) => key.endsWith("|watch")) ? true : undefined),
          5000,
          "the watch request",
        );
        await watch.stop();
      },
    ],
  ])("%s sends what the access table declares", async (_label, method, kind, sub, call) => {
    expect(await sent(() => call(kube))).toEqual(declared(method, kind, sub));
  });

  it("real passes send only what the ClusterRole grants", async () => {
    const granted = new Set(expandRules(clusterRoleRules()));
    const deps = {
      kube,
      log: logger("test"),
      now: () => new Date(),
      random: seededRandom(3),
      holder: "access-test",
    };
    const converge = async (ref: PoolRef, until: (r: PassResult) => boolean) =>
      eventually(async () => {
        const result = await reconcilePool(deps, ref);
        return until(result) ? result : undefined;
      }, 15_000);
    const pool: PoolRef = { kind: "VirtualMachinePool", namespace: "default", name: "access" };
    const rs: PoolRef = { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "access-rs" };

    const keys = await sent(async () => {
      await direct.create("VirtualMachinePool", poolBody("access", 2));
      await converge(pool, (r) => r.outcome === "Converged" && (r.plan?.summary.ready ?? 0) === 2);
      // A template change: new revision, VM updates, VMI restarts.
      await direct.patch(
        "VirtualMachinePool",
        "default",
        "access",
        { spec: { virtualMachineTemplate: poolSpec("access", 2, "128Mi").virtualMachineTemplate } },
        "merge",
      );
      await converge(pool, (r) => r.outcome === "Converged");
      await direct.scale("VirtualMachinePool", "default", "access", 0);
      await converge(pool, (r) => r.outcome === "Converged" && (r.plan?.summary.current ?? 1) === 0);
      await direct.create("VirtualMachineInstanceReplicaSet", replicaSetBody("access-rs", 2));
      await converge(rs, (r) => r.outcome === "Converged" && (r.plan?.summary.current ?? 0) === 2);
      await direct.scale("VirtualMachineInstanceReplicaSet", "default", "access-rs", 0);
      await converge(rs, (r) => r.outcome === "Converged" && (r.plan?.summary.current ?? 1) === 0);
    });

    expect(keys.filter((k) => !granted.has(k))).toEqual([]);
    // The passes really wrote: creates and deletes of both child kinds, revisions, status and the lease.
    expect(keys).toEqual(
      expect.arrayContaining([
        "kubevirt.io|virtualmachines|create",
        "kubevirt.io|virtualmachines|delete",
        "kubevirt.io|virtualmachineinstances|create",
        "kubevirt.io|virtualmachineinstances|delete",
        "apps|controllerrevisions|create",
        "pool.kubevirt.io|virtualmachinepools/status|patch",
        "coordination.k8s.io|leases|update",
      ]),
    );
  }, 90_000);
});
