/**
 * The embedded API server beside a real kube-apiserver + kube-controller-manager + etcd, measured side by side in
 * one run (skipped, saying why, where the real control plane is not built): start-up until ready, requests of a
 * converged reconcile-all pass, a scale 0 → 100 until every create is acknowledged, and a label-selected list of
 * 1,000 VMs. Ratios are real ÷ embedded; simulators are off on both, so only the API servers are compared.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { passDeps } from "../../functions/bootstrap";
import { startLocalCluster } from "../../infra/local";
import { startRealCluster } from "../../infra/real";
import { createKube, type NewObject } from "../../shared/kube";
import { reconcileAll, reconcilePool } from "../../shared/reconcile";
import { realSkipReason } from "../support/clusters";
import { reconciler } from "../support/reconcile";
import { defineSuite, measure, type Row, summarize } from "./harness";

interface Plane {
  readonly label: "embedded" | "real";
  readonly kubeconfig: string;
  readonly functionsKubeconfig: string;
  readonly startMs: number;
  close(): Promise<void>;
}

async function startPlane(label: Plane["label"]): Promise<Plane> {
  const dir = mkdtempSync(join(tmpdir(), `vmpool-bench-${label}-`));
  const started = performance.now();
  if (label === "embedded") {
    const local = await startLocalCluster({ port: 0, simulator: false });
    const startMs = performance.now() - started;
    const kubeconfig = local.writeKubeconfig(join(dir, "kubeconfig"));
    return {
      label,
      kubeconfig,
      functionsKubeconfig: kubeconfig,
      startMs,
      close: async () => {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const real = await startRealCluster({ apiPort: 0, dataDir: dir, fresh: true });
  const startMs = performance.now() - started;
  return {
    label,
    kubeconfig: real.kubeconfig,
    functionsKubeconfig: real.functionsKubeconfig,
    startMs,
    close: async () => {
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pool(name: string, namespace: string, replicas: number): NewObject<"VirtualMachinePool"> {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, namespace },
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

/** One namespace per measurement, created through the API, so both servers start each from the same state. */
async function namespace(kubeconfig: string, name: string): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  await config.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

interface Figures {
  requests: number;
  scaleMs: number;
  created: number;
  listMs: number;
  listed: number;
}

async function measurePlane(plane: Plane, quick: boolean, progress: (m: string) => void): Promise<Figures> {
  const admin = createKube({ kind: "kubeconfig", path: plane.kubeconfig });
  const r = reconciler(plane);

  progress(`${plane.label}: requests per converged pass (10 pools × 10 VMs)`);
  await namespace(plane.kubeconfig, "bench-pass");
  for (let i = 0; i < 10; i++) await admin.create("VirtualMachinePool", pool(`p${i}`, "bench-pass", 10));
  for (let round = 0; round < 4; round++) await r.tick();
  r.runtime.kube.resetStats();
  await reconcileAll(passDeps(r.runtime, "bench"));
  const requests = r.runtime.kube.stats().total;

  const n = quick ? 20 : 100;
  progress(`${plane.label}: scale 0 → ${n}`);
  await namespace(plane.kubeconfig, "bench-scale");
  await admin.create("VirtualMachinePool", pool("scale", "bench-scale", 0));
  const ref = { kind: "VirtualMachinePool" as const, namespace: "bench-scale", name: "scale" };
  await reconcilePool(passDeps(r.runtime, "warm"), ref);
  const started = performance.now();
  await r.runtime.kube.scale("VirtualMachinePool", "bench-scale", "scale", n);
  const result = await reconcilePool(passDeps(r.runtime, "bench"), ref);
  const scaleMs = performance.now() - started;
  const created = result.actions.filter((a) => a.kind === "createVM" && a.ok).length;

  const vms = quick ? 200 : 1000;
  progress(`${plane.label}: a label-selected list of ${vms} VMs`);
  await namespace(plane.kubeconfig, "bench-list");
  await admin.create("VirtualMachinePool", pool("list", "bench-list", vms));
  const listRef = { kind: "VirtualMachinePool" as const, namespace: "bench-list", name: "list" };
  for (let i = 0; i < 12; i++) await reconcilePool(passDeps(r.runtime, `fill-${i}`), listRef);
  let listed = 0;
  const samples = await measure(
    async () => {
      listed = (
        await admin.list("VirtualMachine", {
          namespace: "bench-list",
          labelSelector: "kubevirt.io/vmpool=list",
        })
      ).length;
    },
    { iterations: quick ? 3 : 10, warmup: 2 },
  );
  return { requests, scaleMs, created, listMs: summarize(samples).p50, listed };
}

export const controlPlanes = defineSuite("control-planes", async (ctx) => {
  const skip = realSkipReason();
  if (skip) {
    ctx.progress(`skipped: ${skip}`);
    return [{ benchmark: "real vs embedded: skipped", figure: Number.NaN, unit: "", notes: skip }];
  }
  const figures: Record<Plane["label"], Figures & { startMs: number }> = {} as never;
  for (const label of ["embedded", "real"] as const) {
    const plane = await startPlane(label);
    try {
      figures[label] = { ...(await measurePlane(plane, ctx.quick, ctx.progress)), startMs: plane.startMs };
    } finally {
      await plane.close();
    }
  }
  const { embedded, real } = figures;
  const ratio = (a: number, b: number) => `real ÷ embedded ×${(a / b).toFixed(1)}`;
  const rows: Row[] = [
    {
      benchmark:
        "start-up until ready: real control plane (etcd, kube-apiserver, kube-controller-manager, CRDs, RBAC)",
      figure: real.startMs,
      unit: "ms",
      target: {
        value: embedded.startMs,
        better: "lower",
        label: `embedded ${embedded.startMs.toFixed(0)} ms`,
      },
      notes: ratio(real.startMs, embedded.startMs),
    },
    {
      benchmark: "requests per converged reconcile-all pass (10 pools × 10 VMs): real",
      figure: real.requests,
      unit: "requests",
      target: { value: embedded.requests, better: "lower", label: `embedded ${embedded.requests}` },
      notes: ratio(real.requests, embedded.requests),
    },
    {
      benchmark: `scale 0 → ${real.created} until all creates acknowledged: real`,
      figure: real.scaleMs,
      unit: "ms",
      target: {
        value: embedded.scaleMs,
        better: "lower",
        label: `embedded ${embedded.scaleMs.toFixed(0)} ms`,
      },
      notes: `${ratio(real.scaleMs, embedded.scaleMs)}; creates acknowledged: real ${real.created}, embedded ${embedded.created}`,
    },
    {
      benchmark: `label-selected list of ${real.listed} VMs: real`,
      figure: real.listMs,
      unit: "ms p50",
      target: { value: embedded.listMs, better: "lower", label: `embedded ${embedded.listMs.toFixed(1)} ms` },
      notes: `${ratio(real.listMs, embedded.listMs)}; embedded listed ${embedded.listed}`,
    },
  ];
  return rows;
});
