/**
 * Benchmarks of the autoscale function against the local cluster over real HTTP on 127.0.0.1 (function server and
 * API server in this process, the simulator off: the figures are the decision path, not VM start-up):
 * - latency: Alertmanager alerts that each change a pool's size, alert sent → scale subresource written, and
 *   alert sent → response read, p50/p99 (target p99 < 100 ms). One alert at a time over ten pools, values
 *   alternating 100% / 25% CPU (3 → 6 → 3 …) with the function's clock advanced 20 s per decision so every alert
 *   is a scale;
 * - storm: 10,000 deliveries for 10 pools, each pool's share made of 5 distinct notifications repeated 200× and
 *   shuffled, 64 in flight: scale writes per decided delivery must stay at most one per pool.
 * The reconcile request is a no-op here; its cost is the reconcile benchmark's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createFunctionApp } from "../../functions/app";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import { type Runtime, settingsSchema } from "../../functions/runtime";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import { type AlertResult, autoscaleConfigFromEnv } from "../../shared/autoscale";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import {
  defineSuite,
  formatNumber,
  measureConcurrent,
  type Row,
  type SuiteContext,
  summarize,
} from "./harness";

const NS = "default";
const TOKEN = "bench-alertmanager-token-0123456789";
const POOLS = 10;
const P99_TARGET_MS = 100;
const STORM_DISTINCT_PER_POOL = 5;
const STORM_IN_FLIGHT = 64;
const START = Date.parse("2025-06-01T12:00:00Z");

interface Bench {
  readonly cluster: LocalCluster;
  readonly kube: Kube;
  readonly hook: string;
  /** performance.now() of each pool's latest scale write. */
  readonly scaledAt: Map<string, number>;
  readonly scaleWrites: Map<string, number>;
  close(): Promise<void>;
}

function pool(name: string) {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas: 3,
      selector: { matchLabels: { "kubevirt.io/vmpool": name } },
      virtualMachineTemplate: {
        metadata: { labels: { "kubevirt.io/vmpool": name } },
        spec: {
          runStrategy: "Always",
          template: {
            metadata: { labels: { "kubevirt.io/vmpool": name } },
            spec: { domain: { devices: {}, resources: { requests: { memory: "64Mi" } } } },
          },
        },
      },
    },
  };
}

/** The seed HPA (min 3, max 10, 50% CPU) with an immediate scale-down so alternating alerts all scale. */
function hpa(name: string) {
  return {
    metadata: { name, namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1alpha1", kind: "VirtualMachinePool", name },
      minReplicas: 3,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource" as const,
          resource: { name: "cpu", target: { type: "Utilization" as const, averageUtilization: 50 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
    },
  };
}

/** An Alertmanager v4 notification for one pool. */
function alert(name: string, value: number, startsAt: string): string {
  const labels = { alertname: "PoolCpu", namespace: NS, pool: name, metric: "cpu" };
  return JSON.stringify({
    version: "4",
    groupKey: `{}:{namespace="${NS}", pool="${name}"}`,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "vmpool-autoscale",
    groupLabels: { namespace: NS, pool: name },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: "http://127.0.0.1/bench",
    alerts: [
      {
        status: "firing",
        labels,
        annotations: { value: String(value) },
        startsAt,
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://127.0.0.1/bench",
        fingerprint: `bench-${name}`,
      },
    ],
  });
}

async function startBench(prefix: string, now: () => Date): Promise<Bench> {
  const cluster = await startLocalCluster({ port: 0, simulator: false });
  const dir = mkdtempSync(join(tmpdir(), "vmpool-bench-autoscale-"));
  const inner = createKube({ kind: "kubeconfig", path: cluster.writeKubeconfig(join(dir, "kubeconfig")) });
  const scaledAt = new Map<string, number>();
  const scaleWrites = new Map<string, number>();
  // Records when each scale write is acknowledged; everything else goes straight to the client.
  const wrap = (target: Kube): Kube =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (property === "scale") {
          return async (...args: Parameters<Kube["scale"]>) => {
            const result = await object.scale(...args);
            scaledAt.set(args[2], performance.now());
            scaleWrites.set(args[2], (scaleWrites.get(args[2]) ?? 0) + 1);
            return result;
          };
        }
        if (property === "withDeadline") return (deadline: number) => wrap(object.withDeadline(deadline));
        const value = Reflect.get(object, property, receiver);
        return typeof value === "function" ? value.bind(object) : value;
      },
    });
  const kube = wrap(inner);
  for (let i = 0; i < POOLS; i++) {
    const name = `${prefix}-${i}`;
    await inner.create("VirtualMachinePool", pool(name) as never);
    await inner.create("HorizontalPodAutoscaler", hpa(name));
  }
  const runtime: Runtime = {
    kube,
    secrets: { alertmanagerToken: TOKEN },
    settings: settingsSchema.parse({}),
    now,
    random: Math.random,
    log: logger("autoscale-bench"),
    devMode: true,
    requestReconcile: async () => {},
  };
  const config = autoscaleConfigFromEnv({});
  const app = createFunctionApp(runtime, [(r) => autoscaleRoutes(r, config)]);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alertmanager`;
  return {
    cluster,
    kube,
    hook,
    scaledAt,
    scaleWrites,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(hook: string, body: string): Promise<AlertResult[]> {
  const response = await fetch(hook, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body,
  });
  const parsed = (await response.json()) as { results?: AlertResult[] };
  if (!parsed.results) throw new Error(`HTTP ${response.status}: ${JSON.stringify(parsed)}`);
  return parsed.results;
}

async function latency(ctx: SuiteContext): Promise<Row[]> {
  const alerts = ctx.quick ? 100 : 1_000;
  let virtual = START;
  // Every decision sees a clock 20 s later than the last: no policy period or window carries over.
  const bench = await startBench("latency", () => {
    virtual += 20_000;
    return new Date(virtual);
  });
  const toScale: number[] = [];
  const toResponse: number[] = [];
  let notScaled = 0;
  let cpu = process.cpuUsage();
  try {
    // Warm the connection pools and discovery on a pool the measurement does not use.
    await post(bench.hook, alert("latency-0", 25, "2025-06-01T11:00:00Z"));
    cpu = process.cpuUsage();
    for (let i = 0; i < alerts; i++) {
      const name = `latency-${i % POOLS}`;
      const visit = Math.floor(i / POOLS);
      const body = alert(name, visit % 2 === 0 ? 100 : 25, new Date(START + visit * 1000).toISOString());
      const sent = performance.now();
      const [result] = await post(bench.hook, body);
      toResponse.push(performance.now() - sent);
      const scaled = bench.scaledAt.get(name);
      if (result?.outcome === "Scaled" && scaled !== undefined && scaled >= sent) toScale.push(scaled - sent);
      else notScaled++;
    }
    cpu = process.cpuUsage(cpu);
  } finally {
    await bench.close();
  }
  const scale = summarize(toScale);
  const response = summarize(toResponse);
  const note = `${formatNumber(toScale.length)} alerts over ${POOLS} pools, one at a time${notScaled ? `; ${notScaled} did not scale` : ""}`;
  return [
    { benchmark: "alert → scale written, p50", figure: scale.p50, unit: "ms", notes: note },
    {
      benchmark: "alert → scale written, p99",
      figure: scale.p99,
      unit: "ms",
      target: { value: P99_TARGET_MS, better: "lower" },
    },
    {
      benchmark: "alert → response, p50",
      figure: response.p50,
      unit: "ms",
      notes: "incl. HPA status + Event",
    },
    { benchmark: "alert → response, p99", figure: response.p99, unit: "ms" },
    {
      benchmark: "CPU per alert (function + API server + client, one process)",
      figure: (cpu.user + cpu.system) / 1000 / alerts,
      unit: "ms",
      notes: "barely moves when other processes compete for the cores, unlike the latencies",
    },
  ];
}

/** A deterministic shuffle (mulberry32) so every run storms in the same order. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

async function storm(ctx: SuiteContext): Promise<Row[]> {
  const deliveries = ctx.quick ? 1_000 : 10_000;
  const bench = await startBench("storm", () => new Date());
  const perPool = deliveries / POOLS;
  const bodies: { pool: string; body: string }[] = [];
  for (let p = 0; p < POOLS; p++) {
    const name = `storm-${p}`;
    for (let d = 0; d < STORM_DISTINCT_PER_POOL; d++) {
      // Distinct notifications: new startsAt, values that keep asking for more.
      const body = alert(
        name,
        100 + d * 10,
        new Date(Date.parse("2025-06-01T12:00:00Z") + d * 60_000).toISOString(),
      );
      for (let r = 0; r < perPool / STORM_DISTINCT_PER_POOL; r++) bodies.push({ pool: name, body });
    }
  }
  const order = shuffled(bodies, 42);
  const decided = new Map<string, number>();
  const outcomes = new Map<string, number>();
  let run: Awaited<ReturnType<typeof measureConcurrent>>;
  try {
    run = await measureConcurrent(order.length, STORM_IN_FLIGHT, async (i) => {
      const delivery = order[i] as { pool: string; body: string };
      const [result] = await post(bench.hook, delivery.body);
      const outcome = result?.outcome ?? "none";
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === "Scaled" || outcome === "Unchanged")
        decided.set(delivery.pool, (decided.get(delivery.pool) ?? 0) + 1);
    });
  } finally {
    await bench.close();
  }
  let worst = 0;
  let totalWrites = 0;
  for (let p = 0; p < POOLS; p++) {
    const name = `storm-${p}`;
    const writes = bench.scaleWrites.get(name) ?? 0;
    totalWrites += writes;
    worst = Math.max(worst, writes / Math.max(1, decided.get(name) ?? 0));
  }
  const summary = [...outcomes.entries()].map(([k, v]) => `${k} ${v}`).join(", ");
  ctx.progress(`storm outcomes: ${summary}`);
  return [
    {
      benchmark: `storm: scale writes per decision (worst pool, ${formatNumber(deliveries)} deliveries)`,
      figure: worst,
      unit: "",
      target: { value: 1, better: "lower" },
      notes: `${totalWrites} scale writes for ${POOLS} pools × ${STORM_DISTINCT_PER_POOL} distinct notifications; ${summary}`,
    },
    {
      benchmark: "storm: deliveries handled",
      figure: (order.length * 1000) / run.elapsedMs,
      unit: "/s",
      notes: `${STORM_IN_FLIGHT} in flight, p99 ${formatNumber(summarize(run.samples).p99)} ms`,
    },
  ];
}

export const autoscale = defineSuite("autoscale", async (ctx) => {
  ctx.progress("autoscale: latency");
  const rows = await latency(ctx);
  ctx.progress("autoscale: storm");
  return [...rows, ...(await storm(ctx))];
});
