/**
 * Overlapping passes under injected API faults: 8 passes at a time with 20% of requests failing (409, 429, 500,
 * dropped connections, latency) never leave more children than desired at any instant — watched through the API
 * server's own change stream — and the pools converge, after which a pass makes zero writes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passDeps } from "../../functions/bootstrap";
import { RESOURCES } from "../../infra/local";
import { type PassResult, reconcilePool } from "../../shared/reconcile";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
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

describe("overlapping passes with injected faults", () => {
  let env: TestCluster;
  let r: Reconciler;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: { startDelayMs: 5, stepDelayMs: 5 } });
    // A short pass deadline keeps leases short: a release lost to an injected fault expires within seconds.
    r = reconciler(env, {}, { VMPOOL_PASS_DEADLINE_MS: "3000" });
  });
  afterAll(async () => env?.close());

  it("never exceeds desired at any instant and converges; a converged pass makes zero writes", async () => {
    const { registry, store } = env.cluster;
    const poolDef = RESOURCES.find((d) => d.kind === "VirtualMachinePool");
    const rsDef = RESOURCES.find((d) => d.kind === "VirtualMachineInstanceReplicaSet");
    if (!poolDef || !rsDef) throw new Error("resource table incomplete");
    registry.create(poolDef, "v1beta1", "default", pool("burst", 12));
    registry.create(rsDef, "v1", "default", replicaSet("swarm", 9));

    // At every change the API server commits: whenever a child count grows, it must not exceed the desired
    // count at that instant (scale-in may take a while; creating beyond desired never happens).
    const desiredOf = (resource: string, name: string) =>
      Number(
        (store.get(resource, "default", name)?.obj.spec as { replicas?: number } | undefined)?.replicas ?? 0,
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

    env.cluster.faults.configure({
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
    env.cluster.faults.configure({ seed: 1, rules: [] });
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
          vms.length === 10 && vms.every((e) => !e.obj.metadata.deletionTimestamp) && members().length === 9;
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
  });
});
