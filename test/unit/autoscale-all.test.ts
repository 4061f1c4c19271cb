/**
 * `autoscaleAll` against an in-memory Kube and a fake pull source: one list per kind whatever the number of HPAs,
 * one batch per pull source, only HPAs whose target is one of our kinds, each HPA's trouble its own result (a
 * write that fails, a missing target, two HPAs on one pool, an HPA nothing reads), and a steady HPA written nothing;
 * de-duplication against the periodic pass, and an alert refused while its HPA's ledger is full.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  type AutoscaleDeps,
  autoscale,
  autoscaleAll,
  DELIVERIES_ANNOTATION,
  MAX_DELIVERY_KEYS,
  type PullSource,
  type PullTarget,
} from "../../shared/autoscale";
import { encodeLedger, rememberDeliveries } from "../../shared/autoscale/ledger";
import type { Kube } from "../../shared/kube";
import { KubeError } from "../../shared/kube";
import { fixture, NOW } from "./hpa-fixtures";

function hpaFor(pool: string, name = pool, kind = "VirtualMachinePool") {
  const hpa = fixture("v2-cpu");
  hpa.metadata.name = name;
  hpa.spec.scaleTargetRef = {
    apiVersion: kind === "Deployment" ? "apps/v1" : "pool.kubevirt.io/v1beta1",
    kind,
    name: pool,
  };
  delete hpa.status;
  return hpa;
}

function poolObject(name: string, replicas: number) {
  return {
    metadata: { name, namespace: "default" },
    spec: { replicas, selector: { matchLabels: { "kubevirt.io/vmpool": name } } },
    status: { replicas, labelSelector: `kubevirt.io/vmpool=${name}` },
  };
}

/** A Kube over fixed lists that records every call; `failReplaceOf` names an HPA whose update fails. */
type Named = { metadata: { name: string; annotations?: Record<string, string> } };

function memoryKube(hpas: Named[], pools: unknown[], failReplaceOf?: string) {
  const calls: string[] = [];
  const store = (object: Named) => {
    const i = hpas.findIndex((h) => h.metadata.name === object.metadata.name);
    hpas[i] = structuredClone(object);
    return structuredClone(object);
  };
  const kube = {
    withDeadline: () => kube,
    list: async (kind: string) => {
      calls.push(`list ${kind}`);
      if (kind === "HorizontalPodAutoscaler") return structuredClone(hpas);
      if (kind === "VirtualMachinePool") return pools;
      return [];
    },
    replace: async (_kind: string, object: Named) => {
      calls.push(`replace ${object.metadata.name}`);
      if (object.metadata.name === failReplaceOf)
        throw new KubeError("Forbidden", "hpa update forbidden", { status: 403, retryable: false });
      return store(object);
    },
    replaceStatus: async (_kind: string, object: Named) => {
      calls.push(`status ${object.metadata.name}`);
      return store(object);
    },
    scale: async (_kind: string, _ns: string, name: string, replicas: number) => {
      calls.push(`scale ${name}=${replicas}`);
      return {};
    },
    getScale: async (_kind: string, _ns: string, name: string) => {
      const found = (pools as { metadata: { name: string }; spec: { replicas: number } }[]).find(
        (p) => p.metadata.name === name,
      );
      return found
        ? {
            metadata: found.metadata,
            spec: { replicas: found.spec.replicas },
            status: { replicas: found.spec.replicas, selector: `kubevirt.io/vmpool=${name}` },
          }
        : undefined;
    },
    // The scaling history's ConfigMap (shared/history): none yet, then created.
    get: async () => undefined,
    create: async (kind: string, object: Named) => {
      calls.push(`create ${kind}`);
      return { ...object, metadata: { ...object.metadata, resourceVersion: "1" } };
    },
    recordEvent: async () => {
      calls.push("event");
      return true;
    },
  };
  return { kube: kube as unknown as Kube, calls };
}

/** A pull source reporting `percent` CPU for every target, recording its batches. */
function fakeSource(percent: number) {
  const batches: string[][] = [];
  const source: PullSource = {
    name: "fake",
    handles: (metric) => metric.type === "Resource" && metric.name === "cpu",
    observe: async (targets: readonly PullTarget[]) => {
      batches.push(targets.map((t) => t.target.name));
      return targets.map(() => ({ metrics: { "Resource/cpu": { value: percent } } }));
    },
  };
  return { source, batches };
}

function deps(kube: Kube, sources: readonly PullSource[]): AutoscaleDeps {
  return {
    kube,
    log: pino({ level: "silent" }),
    now: () => NOW,
    requestReconcile: async () => {},
    options: { pullSources: sources, intervalMs: 15_000, concurrency: 2 },
  };
}

describe("autoscaleAll", () => {
  it("lists each kind once and asks each pull source once, for every HPA of ours", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const { kube, calls } = memoryKube(
      [...names.map((n) => hpaFor(n)), hpaFor("web", "web", "Deployment")],
      names.map((n) => poolObject(n, 3)),
    );
    const { source, batches } = fakeSource(100);
    const report = await autoscaleAll(deps(kube, [source]));
    expect(calls.filter((c) => c.startsWith("list")).sort()).toEqual([
      "list HorizontalPodAutoscaler",
      "list VirtualMachineInstanceReplicaSet",
      "list VirtualMachinePool",
    ]);
    expect(batches).toEqual([names]);
    expect(report.hpas).toBe(13);
    expect(report.results).toHaveLength(12);
    expect(report.results.map((r) => `${r.outcome}/${r.to}/${r.message}`)).toEqual(
      names.map(
        () => "Scaled/6/New size: 6; reason: cpu resource utilization (percentage of request) above target",
      ),
    );
  });

  it("keeps one HPA's trouble its own: a failed write, a missing pool, two HPAs on one pool, nothing to read", async () => {
    const { kube, calls } = memoryKube(
      [
        hpaFor("ok"),
        hpaFor("broken"),
        hpaFor("missing"),
        hpaFor("twice", "twice-a"),
        hpaFor("twice", "twice-b"),
      ],
      [poolObject("ok", 3), poolObject("broken", 3), poolObject("twice", 3)],
      "broken",
    );
    const { source } = fakeSource(100);
    const report = await autoscaleAll(deps(kube, [source]));
    const byHpa = Object.fromEntries(report.results.map((r) => [r.hpa, `${r.outcome}/${r.reason}`]));
    expect(byHpa).toEqual({
      "default/ok": "Scaled/SuccessfulRescale",
      "default/broken": "Failed/Forbidden",
      "default/missing": "NotFound/NotFound",
      "default/twice-a": "StoodDown/AmbiguousAutoscalers",
      "default/twice-b": "StoodDown/AmbiguousAutoscalers",
    });
    expect(calls).toContain("scale ok=6");
    expect(calls.some((c) => c.startsWith("scale broken"))).toBe(false);
    const none = await autoscaleAll(deps(memoryKube([hpaFor("ok")], [poolObject("ok", 3)]).kube, []));
    expect(none.results[0]).toMatchObject({ outcome: "Skipped", reason: "NoPullSource" });
  });

  it("dedupe never suppresses the periodic pass: an HPA full of remembered deliveries is still decided, its keys kept", async () => {
    const hpa = hpaFor("deduped");
    const keys = Array.from({ length: MAX_DELIVERY_KEYS }, (_, i) => `am|g|f|${i}|firing|100`);
    const ledger = encodeLedger(rememberDeliveries([], keys, NOW.getTime() - 1000));
    hpa.metadata.annotations = { [DELIVERIES_ANNOTATION]: ledger };
    const hpas = [hpa];
    const { kube, calls } = memoryKube(hpas, [poolObject("deduped", 3)]);
    const { source } = fakeSource(100);
    const report = await autoscaleAll(deps(kube, [source]));
    expect(report.results[0]).toMatchObject({ outcome: "Scaled", to: 6 });
    expect(calls).toContain("scale deduped=6");
    expect(hpas[0]?.metadata).toMatchObject({ annotations: { [DELIVERIES_ANNOTATION]: ledger } });
  });

  it("an alert that finds its HPA's ledger full is refused for a retry (503), never decided by forgetting a live key", async () => {
    const hpa = hpaFor("full");
    const keys = Array.from({ length: MAX_DELIVERY_KEYS }, (_, i) => `old-${i}`);
    hpa.metadata.annotations = {
      [DELIVERIES_ANNOTATION]: encodeLedger(rememberDeliveries([], keys, NOW.getTime() - 60_000)),
    };
    const { kube, calls } = memoryKube([hpa], [poolObject("full", 3)]);
    const report = await autoscale(deps(kube, []), [
      {
        source: "alertmanager",
        id: "CpuHigh/new",
        target: { kind: "VirtualMachinePool", namespace: "default", name: "full" },
        metric: "cpu",
        kind: "observation",
        value: 100,
        deliveryKey: "new",
      },
    ]);
    expect(report.status).toBe(503);
    expect(report.results[0]).toMatchObject({ outcome: "Failed", reason: "TooManyDeliveries" });
    expect(report.results[0]?.message).toMatch(/retry in 240 s$/);
    expect(calls.filter((c) => !c.startsWith("list"))).toEqual([]);
  });

  it("writes nothing for an HPA at its recommendation once its history and status are stored", async () => {
    const { kube, calls } = memoryKube([hpaFor("steady")], [poolObject("steady", 3)]);
    const { source } = fakeSource(50);
    const writes = () => calls.filter((c) => !c.startsWith("list"));
    await autoscaleAll(deps(kube, [source]));
    expect(writes()).toEqual(["replace steady", "status steady"]);
    calls.length = 0;
    const second = await autoscaleAll({
      ...deps(kube, [source]),
      now: () => new Date(NOW.getTime() + 15_000),
    });
    const third = await autoscaleAll({
      ...deps(kube, [source]),
      now: () => new Date(NOW.getTime() + 30_000),
    });
    expect(second.results[0]).toMatchObject({ outcome: "Unchanged" });
    expect(third.results[0]).toMatchObject({ outcome: "Unchanged" });
    expect(writes()).toEqual([]);
  });
});
