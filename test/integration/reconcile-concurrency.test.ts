/**
 * Overlapping passes, as the functions' own identity: 8 passes at a time never leave more children than desired
 * at any instant — watched through the API server's own change stream — and the pools converge, after which a
 * pass makes zero writes. On the embedded cluster also under injected API faults (20% of requests failing with
 * 409, 429, 500, dropped connections, latency); the real control plane has no fault injector, so there the
 * passes race each other and kube-apiserver's own optimistic concurrency only.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { passDeps } from "../../functions/bootstrap";
import { RESOURCES } from "../../infra/local";
import { ApiClient, type WatchHandle } from "../../infra/local/simulator/api/client";
import type { KObject } from "../../infra/local/store";
import { createKube, type Kube } from "../../shared/kube";
import { type PassResult, reconcilePool } from "../../shared/reconcile";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { eventually } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";

function pool(name: string, replicas: number) {
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { "kubevirt.io/vmpool": name } },
      virtualMachineTemplate: {
        metadata: { labels: { "kubevirt.io/vmpool": name } },
        spec: {
          runStrategy: "Always",
          template: {
            metadata: { labels: { "kubevirt.io/vmpool": name } },
            spec: { domain: { devices: {} } },
          },
        },
      },
    },
  };
}

function replicaSet(name: string, replicas: number) {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstanceReplicaSet",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { rs: name } },
      template: { metadata: { labels: { rs: name } }, spec: { domain: { devices: {} } } },
    },
  };
}

describeClusters("overlapping passes", (kind) => {
  let env: SuiteCluster;
  let r: Reconciler;
  /** The test's own setup writes and reads, as an operator's kubectl would make them. */
  let admin: Kube;

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { startDelayMs: 5, stepDelayMs: 5 } });
    // A short pass deadline keeps leases short: a release lost to an injected fault expires within seconds.
    r = reconciler(env, {}, { VMPOOL_PASS_DEADLINE_MS: "3000" });
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
  });
  afterAll(async () => env?.close());

  it.skipIf(kind !== "embedded")(
    "with injected faults: never exceeds desired at any instant and converges; a converged pass makes zero writes (embedded only: fault injection)",
    async () => {
      if (!env.local) throw new Error("fault injection needs the embedded cluster");
      const { registry, store } = env.local;
      const poolDef = RESOURCES.find((d) => d.kind === "VirtualMachinePool");
      const rsDef = RESOURCES.find((d) => d.kind === "VirtualMachineInstanceReplicaSet");
      if (!poolDef || !rsDef) throw new Error("resource table incomplete");
      registry.create(poolDef, "v1beta1", "default", pool("burst", 12));
      registry.create(rsDef, "v1", "default", replicaSet("swarm", 9));

      // At every change the API server commits: whenever a child count grows, it must not exceed the desired
      // count at that instant (scale-in may take a while; creating beyond desired never happens).
      const desiredOf = (resource: string, name: string) =>
        Number(
          (store.get(resource, "default", name)?.obj.spec as { replicas?: number } | undefined)?.replicas ??
            0,
        );
      const violations: string[] = [];
      let lastVMs = 0;
      let lastVMIs = 0;
      let maxPoolVMs = 0;
      const count = () => {
        const vms = store
          .list("virtualmachines.kubevirt.io", "default")
          .filter((e) => e.obj.metadata.ownerReferences?.some((o) => o.name === "burst")).length;
        const vmis = store
          .list("virtualmachineinstances.kubevirt.io", "default")
          .filter((e) => e.obj.metadata.labels?.rs === "swarm").length;
        const poolDesired = desiredOf("virtualmachinepools.pool.kubevirt.io", "burst");
        const setDesired = desiredOf("virtualmachineinstancereplicasets.kubevirt.io", "swarm");
        if (vms > lastVMs && vms > poolDesired) violations.push(`pool: ${vms} VMs > desired ${poolDesired}`);
        if (vmis > lastVMIs && vmis > setDesired)
          violations.push(`replica set: ${vmis} VMIs > desired ${setDesired}`);
        lastVMs = vms;
        lastVMIs = vmis;
        maxPoolVMs = Math.max(maxPoolVMs, vms);
      };
      const unsubscribe = store.subscribeAll(count);

      env.local.faults.configure({
        seed: 42,
        rules: [
          { kind: "latency", rate: 0.2, latencyMs: 5 },
          { kind: "conflict", rate: 0.05, verbs: ["create", "update", "patch", "delete"] },
          { kind: "throttle", rate: 0.05, retryAfterSeconds: 0 },
          { kind: "error", rate: 0.05 },
          { kind: "drop", rate: 0.05 },
        ],
      });
      const refs = [
        { kind: "VirtualMachinePool" as const, namespace: "default", name: "burst" },
        { kind: "VirtualMachineInstanceReplicaSet" as const, namespace: "default", name: "swarm" },
      ];
      let holder = 0;
      const outcomes: PassResult["outcome"][] = [];
      for (let round = 0; round < 12; round++) {
        const passes = Array.from({ length: 8 }, (_, i) =>
          reconcilePool(passDeps(r.runtime, `overlap-${++holder}`), refs[i % 2] as (typeof refs)[number]),
        );
        for (const result of await Promise.all(passes)) outcomes.push(result.outcome);
        // Scale down and up again midway, so scale-in races scale-out too.
        if (round === 4) {
          registry.writeScale(poolDef, "default", "burst", (scale) => ({ ...scale, spec: { replicas: 7 } }));
        }
        if (round === 7)
          registry.writeScale(poolDef, "default", "burst", (scale) => ({ ...scale, spec: { replicas: 10 } }));
      }
      expect(violations).toEqual([]);
      expect(outcomes).toContain("LeaseHeld");
      expect(outcomes).toContain("Acted");
      expect(maxPoolVMs).toBeGreaterThan(7);

      // Faults off: converge (a lease whose release was lost to a fault expires first), then a pass writes nothing.
      env.local.faults.configure({ seed: 1, rules: [] });
      const owned = () =>
        store
          .list("virtualmachines.kubevirt.io", "default")
          .filter((e) => e.obj.metadata.ownerReferences?.some((o) => o.name === "burst"));
      const members = () =>
        store
          .list("virtualmachineinstances.kubevirt.io", "default")
          .filter((e) => e.obj.metadata.labels?.rs === "swarm");
      await eventually(
        async () => {
          await r.tick();
          const vms = owned();
          const done =
            vms.length === 10 &&
            vms.every((e) => !e.obj.metadata.deletionTimestamp) &&
            members().length === 9;
          return done ? true : undefined;
        },
        30_000,
        "convergence to 10 VMs and 9 VMIs",
      );
      unsubscribe();
      expect(violations).toEqual([]);

      // Let the simulated VMIs settle (readiness feeds the status), until a whole pass finds nothing to do.
      await eventually(
        async () => ((await r.tick()).every((x) => x.outcome === "Converged") ? true : undefined),
        30_000,
        "a fully converged pass",
      );
      r.runtime.kube.resetStats();
      const results = await r.tick();
      expect(results.every((x) => x.outcome === "Converged")).toBe(true);
      const writes = Object.entries(r.runtime.kube.stats().byVerb).filter(
        ([verb]) => !["get", "list"].includes(verb),
      );
      expect(writes).toEqual([]);
    },
  );

  it("without faults: never exceeds desired at any instant and converges; a converged pass makes zero writes", async () => {
    await admin.create("VirtualMachinePool", pool("steady", 12) as never);
    await admin.create("VirtualMachineInstanceReplicaSet", replicaSet("flock", 9) as never);
    const stream = await changeStream(env.kubeconfig);
    // Replayed in commit order: whenever a child count grows, it must not exceed the desired count at that
    // instant (scale-in may take a while; creating beyond desired never happens).
    const replay = () => {
      const violations: string[] = [];
      let lastVMs = 0;
      let lastVMIs = 0;
      let maxPoolVMs = 0;
      const desiredOf = (objects: Map<string, KObject>, name: string) =>
        Number((objects.get(name)?.spec as { replicas?: number } | undefined)?.replicas ?? 0);
      stream.replay((state) => {
        const vms = [...state.vms.values()].filter((vm) =>
          vm.metadata.ownerReferences?.some((o) => o.name === "steady"),
        ).length;
        const vmis = [...state.vmis.values()].filter((vmi) => vmi.metadata.labels?.rs === "flock").length;
        const poolDesired = desiredOf(state.pools, "steady");
        const setDesired = desiredOf(state.replicaSets, "flock");
        if (vms > lastVMs && vms > poolDesired) violations.push(`pool: ${vms} VMs > desired ${poolDesired}`);
        if (vmis > lastVMIs && vmis > setDesired)
          violations.push(`replica set: ${vmis} VMIs > desired ${setDesired}`);
        lastVMs = vms;
        lastVMIs = vmis;
        maxPoolVMs = Math.max(maxPoolVMs, vms);
      });
      return { violations, maxPoolVMs };
    };

    const refs = [
      { kind: "VirtualMachinePool" as const, namespace: "default", name: "steady" },
      { kind: "VirtualMachineInstanceReplicaSet" as const, namespace: "default", name: "flock" },
    ];
    let holder = 0;
    const outcomes: PassResult["outcome"][] = [];
    for (let round = 0; round < 12; round++) {
      const passes = Array.from({ length: 8 }, (_, i) =>
        reconcilePool(passDeps(r.runtime, `steady-${++holder}`), refs[i % 2] as (typeof refs)[number]),
      );
      for (const result of await Promise.all(passes)) outcomes.push(result.outcome);
      // Scale down and up again midway, so scale-in races scale-out too.
      if (round === 4) await admin.scale("VirtualMachinePool", "default", "steady", 7);
      if (round === 7) await admin.scale("VirtualMachinePool", "default", "steady", 10);
    }
    await stream.settle();
    const { violations, maxPoolVMs } = replay();
    expect(violations).toEqual([]);
    expect(outcomes).toContain("LeaseHeld");
    expect(outcomes).toContain("Acted");
    expect(maxPoolVMs).toBeGreaterThan(7);

    const owned = async () =>
      (await admin.list("VirtualMachine", { namespace: "default" })).filter((vm) =>
        vm.metadata.ownerReferences?.some((o) => o.name === "steady"),
      );
    const members = async () =>
      (await admin.list("VirtualMachineInstance", { namespace: "default" })).filter(
        (vmi) => vmi.metadata.labels?.rs === "flock",
      );
    await eventually(
      async () => {
        await r.tick();
        const vms = await owned();
        const done =
          vms.length === 10 &&
          vms.every((vm) => !vm.metadata.deletionTimestamp) &&
          (await members()).length === 9;
        return done ? true : undefined;
      },
      30_000,
      "convergence to 10 VMs and 9 VMIs",
    );
    await stream.settle();
    stream.stop();
    expect(replay().violations).toEqual([]);

    // Let the simulated VMIs settle (readiness feeds the status), until a whole pass finds nothing to do.
    await eventually(
      async () => ((await r.tick()).every((x) => x.outcome === "Converged") ? true : undefined),
      30_000,
      "a fully converged pass",
    );
    r.runtime.kube.resetStats();
    const results = await r.tick();
    expect(results.every((x) => x.outcome === "Converged")).toBe(true);
    const writes = Object.entries(r.runtime.kube.stats().byVerb).filter(
      ([verb]) => !["get", "list"].includes(verb),
    );
    expect(writes).toEqual([]);
  });
});

const WATCHED = {
  pools: "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools",
  replicaSets: "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstancereplicasets",
  vms: "/apis/kubevirt.io/v1/namespaces/default/virtualmachines",
  vmis: "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances",
} as const;
type Watched = keyof typeof WATCHED;
type State = Record<Watched, Map<string, KObject>>;

interface ListBody {
  readonly metadata: { readonly resourceVersion: string };
  readonly items: KObject[];
}

/**
 * The API server's change stream of pools, replica sets, VMs and VMIs in `default`, as four watches whose events
 * are put back in commit order by resourceVersion (both servers count it cluster-wide: etcd's revision, the local
 * store's counter). `replay` calls `observe` with the state after every change, as a subscriber to the store
 * would see it.
 */
async function changeStream(kubeconfig: string) {
  const client = ApiClient.fromFile(kubeconfig);
  const initial = {} as State;
  const events: { rv: bigint; resource: Watched; type: string; obj: KObject }[] = [];
  const failures: unknown[] = [];
  const watches: WatchHandle[] = [];
  for (const resource of Object.keys(WATCHED) as Watched[]) {
    const list = (await client.request({ method: "GET", path: WATCHED[resource] })) as ListBody;
    initial[resource] = new Map(list.items.map((o) => [o.metadata.name, o]));
    const watch = client.watch(
      WATCHED[resource],
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: "true" },
      (type, object) => {
        if (type === "BOOKMARK") return;
        if (type === "ERROR") failures.push(object);
        else {
          const obj = object as KObject;
          events.push({ rv: BigInt(obj.metadata.resourceVersion), resource, type, obj });
        }
      },
    );
    watch.done.then(
      () => failures.push(`the watch of ${resource} ended`),
      (err: unknown) => failures.push(err),
    );
    watches.push(watch);
  }
  let stopped = false;
  return {
    /** Calls `observe` with the state after each change, in commit order; returns the last state. */
    replay(observe: (state: State) => void = () => {}): State {
      const state = Object.fromEntries(
        Object.entries(initial).map(([resource, objects]) => [resource, new Map(objects)]),
      ) as State;
      for (const e of [...events].sort((a, b) => (a.rv < b.rv ? -1 : a.rv > b.rv ? 1 : 0))) {
        if (e.type === "DELETED") state[e.resource].delete(e.obj.metadata.name);
        else state[e.resource].set(e.obj.metadata.name, e.obj);
        observe(state);
      }
      return state;
    },
    /** Resolves once the stream has caught up with what a fresh list shows. */
    async settle(): Promise<void> {
      await eventually(
        async () => {
          if (failures.length > 0 && !stopped)
            throw new Error(`change stream failed: ${String(failures[0])}`);
          const state = this.replay();
          for (const resource of Object.keys(WATCHED) as Watched[]) {
            const list = (await client.request({ method: "GET", path: WATCHED[resource] })) as ListBody;
            const seen = state[resource];
            if (list.items.length !== seen.size) return undefined;
            for (const o of list.items)
              if (seen.get(o.metadata.name)?.metadata.resourceVersion !== o.metadata.resourceVersion)
                return undefined;
          }
          return true;
        },
        10_000,
        "the change stream to catch up",
      );
    },
    stop(): void {
      stopped = true;
      for (const w of watches) w.abort();
      client.close();
    },
  };
}
