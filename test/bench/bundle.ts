/**
 * The Lambda bundles: size per function (target ≤ 1.5 MB minified) and cold start — a fresh `node` process
 * importing the module and handling its first fixture event, median of 20 (target ≤ 150 ms) — beside the same
 * handler imported unbundled (`node --import tsx` on the TypeScript source, resolving `node_modules`), as a ratio.
 * Both variants run interleaved against one local cluster, so they see the same machine load. The figure is
 * measured inside the child (import + first invocation); Node's own start-up is in the notes.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFunctions, formatBytes, MAX_BUNDLE_BYTES, REPO_ROOT } from "../../infra/build";
import { startLocalCluster } from "../../infra/local";
import { createKube, type Kube } from "../../shared/kube";
import { autoscaleHpa, seedPool } from "../integration/autoscale-support";
import { slackBody, slackHeaders, TEAM_POLICY, writePolicy } from "../integration/chatops-support";
import {
  BUNDLE_SECRETS,
  copyBundle,
  functionUrlEvent,
  type Invocation,
  invokeFresh,
  lambdaEnv,
  startAwsStandIn,
} from "../support/bundle-runner";
import { defineSuite, percentile, type Row } from "./harness";

const RUNS = 20;
const QUICK_RUNS = 5;
const COLD_START_TARGET_MS = 150;
const FIXTURES = join(import.meta.dirname, "../fixtures");

function fixture(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Record<string, unknown>;
}

/** The first event each function handles; a function without one gets its health check over HTTP. */
function firstEvent(name: string, responseUrl: string): Record<string, unknown> {
  const url = fixture("eventbridge/function-url-reconcile.json");
  switch (name) {
    case "reconcile":
      return fixture("eventbridge/scheduled-event.json");
    case "autoscale": {
      const event = fixture("cloudwatch/alarm-cpu-high.json") as {
        detail: {
          configuration: { metrics: { metricStat: { metric: { dimensions: Record<string, string> } } }[] };
        };
      };
      const dimensions = event.detail.configuration.metrics[0]?.metricStat.metric.dimensions;
      if (dimensions) dimensions.pool = "bench-bundle";
      return { ...event, time: new Date().toISOString() };
    }
    case "chatops": {
      const body = slackBody({ text: "status default/bench-bundle", response_url: responseUrl });
      const headers = slackHeaders(body, new Date(), BUNDLE_SECRETS.VMPOOL_SLACK_SIGNING_SECRET);
      return functionUrlEvent(url, { method: "POST", path: "/hooks/slack", headers, body, base64: true });
    }
    default:
      return functionUrlEvent(url, { method: "GET", path: "/healthz", body: "" });
  }
}

const median = (samples: readonly number[]) => percentile(samples, 50);
const total = (run: Invocation) => run.importMs + run.invokeMs;

export const bundle = defineSuite("bundle", async (ctx) => {
  const runs = ctx.quick ? QUICK_RUNS : RUNS;
  const tmp = mkdtempSync(join(tmpdir(), "vmpool-bench-bundle-"));
  const cluster = await startLocalCluster({ port: 0, simulator: false });
  const standIn = await startAwsStandIn();
  try {
    ctx.progress("building");
    const built = await buildFunctions({ outdir: join(tmp, "build") });
    const kubeconfig = cluster.writeKubeconfig(join(tmp, "kubeconfig"));
    const kube: Kube = createKube({ kind: "kubeconfig", path: kubeconfig });
    await kube.create("VirtualMachinePool", seedPool("bench-bundle", 3) as never);
    await kube.create("HorizontalPodAutoscaler", autoscaleHpa("bench-bundle"));
    const env = lambdaEnv({
      kubeconfig,
      home: tmp,
      standIn,
      policyFile: writePolicy(tmp, "policy", TEAM_POLICY),
      logLevel: "info",
    });
    const rows: Row[] = [];
    for (const fn of built) {
      rows.push({
        benchmark: `${fn.name}: bundle size (minified)`,
        figure: fn.bundleBytes / 1_000_000,
        unit: "MB",
        target: { value: MAX_BUNDLE_BYTES / 1_000_000, better: "lower" },
        notes: `zip ${formatBytes(fn.zipBytes)}`,
      });
      const module = copyBundle(fn.bundle, join(tmp, "run", fn.name));
      const source = join(REPO_ROOT, "functions", fn.name, "handler.ts");
      const variants = {
        bundled: (event: unknown) => invokeFresh({ module, event, env, workdir: join(tmp, "run", fn.name) }),
        unbundled: (event: unknown) =>
          invokeFresh({
            module: source,
            event,
            env,
            workdir: join(tmp, "src", fn.name),
            tsx: { repoRoot: REPO_ROOT },
          }),
      };
      const samples: Record<keyof typeof variants, Invocation[]> = { bundled: [], unbundled: [] };
      ctx.progress(`${fn.name}: cold starts (${runs} each, interleaved, after one warm-up each)`);
      for (let i = -1; i < runs; i++) {
        // Alternate which goes first so neither always meets a cooler cache; run -1 (tsx's transform cache) is discarded.
        const order = i % 2 === 0 ? (["bundled", "unbundled"] as const) : (["unbundled", "bundled"] as const);
        for (const variant of order) {
          const run = await variants[variant](firstEvent(fn.name, `${standIn.url}/reply`));
          if (run.error !== undefined) {
            throw new Error(
              `${fn.name} (${variant}) threw: ${run.error.reason ?? run.error.name}: ${run.error.message}`,
            );
          }
          if (i >= 0) samples[variant].push(run);
        }
      }
      const bundled = median(samples.bundled.map(total));
      const unbundled = median(samples.unbundled.map(total));
      rows.push({
        benchmark: `${fn.name}: cold start (import + first event, median of ${runs})`,
        figure: bundled,
        unit: "ms",
        target: { value: COLD_START_TARGET_MS, better: "lower" },
        notes:
          `import ${median(samples.bundled.map((r) => r.importMs)).toFixed(0)} ms + first event ` +
          `${median(samples.bundled.map((r) => r.invokeMs)).toFixed(0)} ms; whole process with Node start-up ` +
          `${median(samples.bundled.map((r) => r.processMs)).toFixed(0)} ms`,
      });
      rows.push({
        benchmark: `${fn.name}: cold start, bundle vs unbundled import`,
        figure: bundled,
        unit: "ms",
        target: { value: unbundled, better: "lower", label: `unbundled: ${unbundled.toFixed(0)} ms` },
        notes:
          `unbundled: import ${median(samples.unbundled.map((r) => r.importMs)).toFixed(0)} ms + first event ` +
          `${median(samples.unbundled.map((r) => r.invokeMs)).toFixed(0)} ms (node --import tsx, handler source)`,
      });
    }
    return rows;
  } finally {
    await standIn.close();
    await cluster.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
