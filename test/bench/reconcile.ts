/**
 * Reconcile benchmarks: (a) pure plan time for pools of 10 to 10,000 VMs, with the growth ratio per 10× step
 * (linear = 10); (b) API requests of a converged reconcile-all pass for 1 to 1,000 pools of 10 VMs, against the
 * minimum possible (one list per kind); (c) time from a scale command to every create acknowledged, against the
 * local cluster over HTTP.
 */
import { passDeps } from "../../functions/bootstrap";
import { RESOURCES } from "../../infra/local";
import { planPool, seededRandom } from "../../shared/planning";
import { reconcileAll, reconcilePool } from "../../shared/reconcile";
import type { VirtualMachine, VirtualMachinePool } from "../../shared/schemas";
import { startTestCluster } from "../support/local-cluster";
import { reconciler } from "../support/reconcile";
import { defineSuite, measure, type Row, summarize } from "./harness";

const POOL_DEF = RESOURCES.find((d) => d.kind === "VirtualMachinePool");
const LIST_KINDS = 5; // pools, replica sets, VMs, VMIs, revisions

function poolSpec(name: string, replicas: number) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: {
          runStrategy: "Halted",
          template: { metadata: { labels }, spec: { domain: { devices: {} } } },
        },
      },
    },
  };
}

/** A converged observation of one pool with `n` ready VMs (what a pass sees in steady state). */
function convergedInput(n: number) {
  const name = "big";
  const uid = "uid-big";
  const labels = { "kubevirt.io/vmpool": name, "kubevirt.io/vm-pool-revision-name": `${name}-1` };
  const pool = {
    ...poolSpec(name, n),
    metadata: {
      name,
      namespace: "default",
      uid,
      generation: 1,
      resourceVersion: "1",
      finalizers: ["pool.kubevirt.io/finalizer"],
    },
    status: { replicas: n, readyReplicas: n, labelSelector: `kubevirt.io/vmpool=${name}` },
  } as unknown as VirtualMachinePool;
  const vms: VirtualMachine[] = [];
  for (let i = 0; i < n; i++) {
    vms.push({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: {
        name: `${name}-${i}`,
        namespace: "default",
        uid: `vm-${i}`,
        labels,
        finalizers: ["pool.kubevirt.io/finalizer"],
        ownerReferences: [
          {
            apiVersion: "pool.kubevirt.io/v1beta1",
            kind: "VirtualMachinePool",
            name,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: pool.spec.virtualMachineTemplate.spec,
      status: { conditions: [{ type: "Ready", status: "True" }], printableStatus: "Stopped" },
    } as unknown as VirtualMachine);
  }
  return {
    pool,
    vms,
    vmis: [],
    revisions: [],
    now: new Date("2026-11-21T00:00:00Z"),
    random: seededRandom(1),
  };
}

async function planTimes(quick: boolean): Promise<Row[]> {
  const sizes = quick ? [10, 100, 1000] : [10, 100, 1000, 10_000];
  const rows: Row[] = [];
  let previous: number | undefined;
  for (const n of sizes) {
    const input = convergedInput(n);
    // A scale-out plan too: the same pool asked for 10% more.
    const scaled = {
      ...input,
      pool: { ...input.pool, spec: { ...input.pool.spec, replicas: Math.ceil(n * 1.1) } },
    };
    const samples = await measure(() => planPool(scaled), { iterations: quick ? 10 : 30, warmup: 3 });
    const s = summarize(samples);
    rows.push({
      benchmark: `plan: pool of ${n.toLocaleString("en-US")} VMs (scale out 10%)`,
      figure: s.p50,
      unit: "ms p50",
      ...(n === 10_000 ? { target: { value: 10, better: "lower" as const } } : {}),
      notes: `p99 ${s.p99.toFixed(2)} ms${previous ? `; ×${(s.p50 / previous).toFixed(1)} for 10× VMs (linear = 10)` : ""}`,
    });
    previous = s.p50;
  }
  return rows;
}

async function requestsPerPass(quick: boolean, progress: (m: string) => void): Promise<Row[]> {
  const counts = quick ? [1, 10, 100] : [1, 10, 100, 1000];
  const rows: Row[] = [];
  for (const pools of counts) {
    progress(`requests per pass: ${pools} pools of 10 VMs`);
    const env = await startTestCluster({ simulator: false });
    try {
      if (!POOL_DEF) throw new Error("resource table incomplete");
      for (let i = 0; i < pools; i++)
        env.cluster.registry.create(POOL_DEF, "v1beta1", "default", poolSpec(`p${i}`, 10));
      const r = reconciler(env);
      for (let round = 0; round < 4; round++) await r.tick();
      r.runtime.kube.resetStats();
      const results = await reconcileAll(passDeps(r.runtime, "bench"));
      const stats = r.runtime.kube.stats();
      const converged = results.filter((x) => x.outcome === "Converged").length;
      rows.push({
        benchmark: `requests per converged reconcile-all pass: ${pools} pools × 10 VMs`,
        figure: stats.total,
        unit: "requests",
        target: { value: LIST_KINDS, better: "lower", label: `${LIST_KINDS} (one list per kind)` },
        notes: `${converged}/${pools} pools converged; ${Object.entries(stats.byVerb)
          .map(([v, c]) => `${v} ${c}`)
          .join(", ")}`,
      });
    } finally {
      await env.close();
    }
  }
  return rows;
}

async function scaleToCreates(quick: boolean): Promise<Row[]> {
  const env = await startTestCluster({ simulator: false });
  const rows: Row[] = [];
  try {
    if (!POOL_DEF) throw new Error("resource table incomplete");
    const r = reconciler(env);
    const sizes = quick ? [10, 100] : [10, 100, 250];
    for (const n of sizes) {
      const name = `scale-${n}`;
      env.cluster.registry.create(POOL_DEF, "v1beta1", "default", poolSpec(name, 0));
      const ref = { kind: "VirtualMachinePool" as const, namespace: "default", name };
      await reconcilePool(passDeps(r.runtime, "warm"), ref);
      const start = performance.now();
      await r.runtime.kube.scale("VirtualMachinePool", "default", name, n);
      const result = await reconcilePool(passDeps(r.runtime, "bench"), ref);
      const elapsed = performance.now() - start;
      const created = result.actions.filter((a) => a.kind === "createVM" && a.ok).length;
      rows.push({
        benchmark: `scale 0 → ${n}: scale command to all creates acknowledged`,
        figure: elapsed,
        unit: "ms",
        notes: `${created} creates in one pass (slow-start batches 1, 2, 4, …), ${(elapsed / Math.max(created, 1)).toFixed(2)} ms per VM`,
      });
    }
  } finally {
    await env.close();
  }
  return rows;
}

export const reconcile = defineSuite("reconcile", async (ctx) => [
  ...(await planTimes(ctx.quick)),
  ...(await requestsPerPass(ctx.quick, ctx.progress)),
  ...(await scaleToCreates(ctx.quick)),
]);
