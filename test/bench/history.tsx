/** @jsxImportSource hono/jsx */
/**
 * The scaling history: what `GET /ui` costs the server with 100 pools, and what the history costs the cluster.
 * Pools live in a local cluster in this process (no simulator); each pool's log is written as the functions
 * write it (one ConfigMap through shared/history), filled with a realistic mix of entries (HPA decisions with
 * metric values, chat-ops scales, field-manager changes, reconcile creates and deletes). `/ui` is requested in
 * process through the function app, as the Node server would answer it: three list requests to the API server,
 * then the JSX render. Two loads: 1,000 entries over the 100 pools (10 each), and every pool at the cap (1,000
 * each). A third figure times the render alone (the view model already read), and the last the bytes one full
 * log takes on the cluster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFunctionApp } from "../../functions/app";
import { createRuntime } from "../../functions/bootstrap";
import { settingsFromEnv } from "../../functions/runtime";
import { UiPage } from "../../functions/ui/page";
import { uiRoutes } from "../../functions/ui/routes";
import { startLocalCluster } from "../../infra/local";
import {
  appendHistory,
  encodeEntries,
  HISTORY_KEY,
  type HistoryEntry,
  historyName,
  MAX_ENTRIES,
  readOverview,
} from "../../shared/history";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import type { PoolRef } from "../../shared/reconcile";
import { defineSuite, type Row, summarize } from "./harness";

const POOLS = 100;
const NS = "default";

function poolBody(name: string) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas: 3,
      selector: { matchLabels: labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: {
          runStrategy: "Always",
          template: { metadata: { labels }, spec: { domain: { devices: {} } } },
        },
      },
    },
  };
}

/** Entry `i` of a pool's log: the four writers in turn, a minute apart, ending now. */
function entry(pool: string, i: number, count: number, end: number): HistoryEntry {
  const at = new Date(end - (count - i) * 60_000).toISOString();
  const n = 3 + (i % 5);
  switch (i % 4) {
    case 0:
      return {
        at,
        kind: "hpa",
        actor: `${NS}/${pool}`,
        from: n,
        to: n + 1,
        decision: "scaled",
        reason: "SuccessfulRescale",
        message: `New size: ${n + 1}; reason: cpu resource utilization (percentage of request) above target`,
        metrics: `cpu ${60 + (i % 40)}%/50%`,
        current: n,
      };
    case 1:
      return {
        at,
        kind: "reconcile",
        actor: "reconcile",
        from: n + 1,
        to: n + 1,
        decision: "created",
        count: 1,
        reason: "SuccessfulCreate",
        message: `created 1 VirtualMachine (scale out: ${n} of ${n + 1} desired VMs exist)`,
        current: n,
        ready: n,
      };
    case 2:
      return {
        at,
        kind: "chatops",
        actor: "alice (U2147483697) in #ops (C2147483705) via Slack",
        from: n + 1,
        to: n,
        decision: "scaled",
        reason: "ChatOpsScale",
        message: `Scaled from ${n + 1} to ${n} replicas`,
        current: n + 1,
        ready: n + 1,
      };
    default:
      return {
        at,
        kind: "manager",
        actor: "kubectl",
        from: n,
        to: n,
        decision: "unchanged",
        reason: "ExternalChange",
        message: `kubectl changed spec.replicas from ${n + 1} to ${n} through /scale`,
        current: n,
        ready: n,
      };
  }
}

/** Writes `count` entries into the pool's log the way the functions create it, then fills it in one update. */
async function fill(kube: Kube, ref: PoolRef, uid: string, count: number): Promise<void> {
  const owner = { ref, apiVersion: "pool.kubevirt.io/v1beta1", uid };
  const first = entry(ref.name, 0, count, Date.now());
  await appendHistory(kube, owner, () => [first], { now: () => new Date(first.at) });
  const map = await kube.get("ConfigMap", NS, historyName(ref));
  if (!map) throw new Error(`no history for ${ref.name}`);
  const end = Date.now();
  const entries = Array.from({ length: count }, (_, i) => entry(ref.name, i, count, end));
  await kube.replace("ConfigMap", { ...map, data: { [HISTORY_KEY]: encodeEntries(entries) } });
}

export const history = defineSuite("history", async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-bench-history-"));
  const cluster = await startLocalCluster({ port: 0, simulator: false });
  try {
    const kubeconfig = cluster.writeKubeconfig(join(dir, "kubeconfig"));
    const kube = createKube({ kind: "kubeconfig", path: kubeconfig });
    const runtime = createRuntime({
      kube,
      secrets: {},
      settings: settingsFromEnv({}),
      devMode: true,
      log: logger("bench-history"),
    });
    const app = createFunctionApp(runtime, [uiRoutes]);
    const refs: { ref: PoolRef; uid: string }[] = [];
    ctx.progress(`creating ${POOLS} pools`);
    for (let i = 0; i < POOLS; i++) {
      const name = `pool-${String(i).padStart(3, "0")}`;
      const created = await kube.create("VirtualMachinePool", poolBody(name) as never);
      refs.push({
        ref: { kind: "VirtualMachinePool", namespace: NS, name },
        uid: created.metadata.uid ?? "",
      });
    }
    const iterations = ctx.quick ? 5 : 40;
    const render = async () => {
      const answer = await app.request("/ui", { headers: { host: "127.0.0.1:18080" } });
      if (answer.status !== 200) throw new Error(`/ui answered ${answer.status}`);
      return Buffer.byteLength(await answer.text());
    };
    const timeUi = async () => {
      let bytes = 0;
      for (let i = 0; i < 3; i++) bytes = await render();
      const samples: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const started = performance.now();
        await render();
        samples.push(performance.now() - started);
      }
      return { summary: summarize(samples), bytes };
    };
    const rows: Row[] = [];
    const perPool = [10, MAX_ENTRIES];
    for (const count of perPool) {
      ctx.progress(`${POOLS} pools × ${count} entries: writing the logs`);
      for (const { ref, uid } of refs) await fill(kube, ref, uid, count);
      ctx.progress(`${POOLS} pools × ${count} entries: timing /ui (${iterations} requests)`);
      const { summary, bytes } = await timeUi();
      const total = (POOLS * count).toLocaleString("en-US");
      rows.push(
        {
          benchmark: `/ui with ${POOLS} pools and ${total} history entries (${count} per pool), server side, p50`,
          figure: summary.p50,
          unit: "ms",
          notes: `page ${(bytes / 1024).toFixed(0)} KiB; three list requests to the API server included`,
        },
        {
          benchmark: `/ui with ${POOLS} pools and ${total} history entries (${count} per pool), server side, p99`,
          figure: summary.p99,
          unit: "ms",
        },
      );
    }
    ctx.progress("timing the render alone");
    const pools = await readOverview(kube);
    const now = new Date();
    const samples: number[] = [];
    for (let i = 0; i < iterations + 3; i++) {
      const started = performance.now();
      const html = String(await (<UiPage pools={pools} now={now} refreshSeconds={5} />).toString());
      if (html.length === 0) throw new Error("empty page");
      if (i >= 3) samples.push(performance.now() - started);
    }
    const renderOnly = summarize(samples);
    rows.push({
      benchmark: `/ui JSX render alone (${POOLS} pools × ${MAX_ENTRIES.toLocaleString("en-US")} entries read), p50 / p99`,
      figure: renderOnly.p50,
      unit: "ms",
      notes: `p99 ${renderOnly.p99.toFixed(1)} ms`,
    });
    const first = refs[0];
    if (!first) throw new Error("no pools");
    const map = await kube.get("ConfigMap", NS, historyName(first.ref));
    const served = Buffer.byteLength(JSON.stringify(map));
    const data = Buffer.byteLength(map?.data?.[HISTORY_KEY] ?? "");
    rows.push({
      benchmark: `history size on the cluster per ${MAX_ENTRIES.toLocaleString("en-US")} entries (one ConfigMap, JSON as served)`,
      figure: served / 1024,
      unit: "KiB",
      notes: `${(data / 1024).toFixed(0)} KiB of entries, ${(data / MAX_ENTRIES).toFixed(0)} B per entry; cap 1,000 entries and 512 KiB (a ConfigMap holds 1 MiB)`,
    });
    return rows;
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
