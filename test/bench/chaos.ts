/**
 * The chaos soak (issue 10): VM pools under random scale changes, overlapping reconcile passes from every trigger
 * (the timer's reconcile-all, the CLI's reconcile-all with its own client, the `POST /reconcile` webhook for one
 * pool), injected API faults, and a `kill -9` of the API server in the middle. The local API server runs in its
 * own process (`vmpool cluster`, journaled) so it can be killed; it is restarted on the same port and data dir.
 *
 * Measured:
 * - From the functions' own request stream (every pass in this process is tagged): each VM create against the
 *   pass's latest read of its pool's `spec.replicas`. A create is *fresh* when that read came after every earlier
 *   create of the pass had completed (that is, before the create's own slow-start batch: batches here are at most
 *   16 creates, all in flight at once); its *excess* is VMs counted when the pass planned + creates issued up to
 *   and including it − that read. The promise: no stale create, worst excess ≤ 0.
 * - Every 100 ms, from the API server: each pool's owned VMs (terminating included) against its spec; the VMs that
 *   appeared while their pool was above its spec (creates of the batch in flight at a scale-down), the worst excess
 *   at any sample (scale-in lag included), and the longest time a pool stayed above its spec.
 * - The time from the faults stopping to every pool at its spec with nothing terminating.
 * - Lost acknowledged writes: a pool's spec change (a sequence-numbered merge patch), a probe Lease create, or a VM
 *   create by a pass (with no delete attempted since) acknowledged but missing afterwards.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { createFunctionApp } from "../../functions/app";
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { reconcileRoutes } from "../../functions/reconcile/routes";
import { settingsFromEnv } from "../../functions/runtime";
import type { FaultRule } from "../../infra/local";
import { createKube, type Kube } from "../../shared/kube";
import { rootLogger } from "../../shared/log";
import { seededRandom } from "../../shared/planning";
import { type PassResult, reconcileAll } from "../../shared/reconcile";
import type { VirtualMachine } from "../../shared/schemas";
import { defineSuite, type Row } from "./harness";

const ROOT = join(import.meta.dirname, "../..");
const NS = "default";
const SEQ_ANNOTATION = "soak.vmpool.dev/seq";
const PROBE_PREFIX = "soak-probe-";
const TOKEN = "soak-reconcile-token";

export interface SoakOptions {
  readonly seed: number;
  readonly pools: number;
  /** Highest spec the scaler sets; at most 24 keeps every slow-start batch within one round of writes (16). */
  readonly maxReplicas: number;
  /** How long the faults, the scaler and the kill last. */
  readonly chaosMs: number;
  /** When, after the chaos starts, the API server is killed with SIGKILL and restarted. */
  readonly killAtMs: number;
  /** Rate of each injected fault kind. */
  readonly faultRate: number;
  readonly convergeTimeoutMs: number;
  readonly progress?: (message: string) => void;
}

export interface SoakReport {
  readonly samples: number;
  readonly skippedSamples: number;
  /** VM creates the tagged passes issued. */
  readonly creates: number;
  /** Creates not covered by a read made after the pass's previous batch had completed. */
  readonly staleCreates: number;
  /** Worst counted + issued − spec as read before the create's batch (≤ 0 when the promise holds). */
  readonly worstExcessAtCreate: number;
  /**
   * Most VMs that appeared between two samples while their pool was above its spec at the later one: creates of a
   * batch in flight when the spec dropped (allowed: they were issued under the spec read before their batch).
   */
  readonly worstLandedAboveSpec: number;
  /** All such VMs over the run. */
  readonly landedAboveSpec: number;
  /** Worst owned − spec at any sample. */
  readonly worstExcessAny: number;
  readonly longestAboveSpecMs: number;
  /** Faults off → every pool at its spec with nothing terminating; undefined when it did not happen in time. */
  readonly convergenceMs: number | undefined;
  readonly restartMs: number;
  readonly acknowledged: {
    readonly specChanges: number;
    readonly probes: number;
    readonly vmCreates: number;
  };
  readonly lost: readonly string[];
  /** Pass outcomes per trigger (timer, cli, webhook). */
  readonly passes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Reconcile-all passes that threw (`vmpool reconcile` would exit 2), and webhook answers ≥ 500. */
  readonly crashes: number;
}

// ---------------------------------------------------------------------------------------------------------------
// The API server in its own process
// ---------------------------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function spawnCluster(
  dataDir: string,
  port: number,
  fresh: boolean,
): Promise<{ child: ChildProcess; url: string }> {
  const args = ["--import", "tsx", join(ROOT, "infra/cli/main.ts"), "cluster", "--api-port", String(port)];
  // Plain HTTP without the token: the soak measures the functions, not TLS (the Host check stays).
  args.push("--data-dir", dataDir, "--no-simulator", "--insecure", ...(fresh ? ["--fresh"] : []));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, LOG_LEVEL: "silent" },
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vmpool cluster did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Local cluster: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m?.[1]) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData).resume();
      resolve({ child, url: m[1] });
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`vmpool cluster exited with ${code}: ${out}`)));
  });
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  return exited;
}

/** `vmpool cluster` (journaled, no simulator) on one port and data dir, which a kill -9 and a restart keep. */
class ApiServer {
  private constructor(
    private child: ChildProcess,
    readonly url: string,
    private readonly dataDir: string,
    private readonly port: number,
  ) {}

  static async start(dataDir: string): Promise<ApiServer> {
    const port = await freePort();
    const { child, url } = await spawnCluster(dataDir, port, true);
    return new ApiServer(child, url, dataDir, port);
  }

  get kubeconfig(): string {
    return join(this.dataDir, "kubeconfig");
  }

  /** SIGKILL, then a restart on the journal; resolves the milliseconds until it listens again. */
  async crash(): Promise<number> {
    await stopProcess(this.child, "SIGKILL");
    const killed = performance.now();
    this.child = (await spawnCluster(this.dataDir, this.port, false)).child;
    return performance.now() - killed;
  }

  stop(): Promise<void> {
    return stopProcess(this.child, "SIGTERM");
  }

  /** Replaces the fault rules (a restarted server starts without any). */
  async setFaults(seed: number, rules: readonly FaultRule[]): Promise<void> {
    const config = parseYaml(readFileSync(this.kubeconfig, "utf8")) as {
      users?: { user?: { token?: string } }[];
    };
    const token = config.users?.[0]?.user?.token;
    const res = await fetch(`${this.url}/local/faults`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ seed, rules }),
    });
    if (!res.ok) throw new Error(`PUT /local/faults: HTTP ${res.status}: ${await res.text()}`);
  }
}

function chaosFaults(rate: number): FaultRule[] {
  return [
    { kind: "latency", rate, latencyMs: 40 },
    // 409s on every verb, reads included: a read retries them, a write re-plans next pass.
    { kind: "conflict", rate: rate / 4 },
    { kind: "throttle", rate: rate / 4, retryAfterSeconds: 0 },
    { kind: "error", rate: rate / 4 },
    { kind: "drop", rate: rate / 8 },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The functions' request stream, tagged per pass
// ---------------------------------------------------------------------------------------------------------------

type StreamEvent =
  | { readonly type: "owned"; readonly count: number }
  | { readonly type: "read"; readonly replicas: number }
  | { readonly type: "issue" }
  | { readonly type: "done" };

interface Ledger {
  /** Per `tag pool`: the events in the order they happened. */
  readonly streams: Map<string, StreamEvent[]>;
  readonly createdUids: Map<string, string>;
  readonly deleteAttempted: Set<string>;
}

/** The pool that controls a VM, by name (pools are never recreated during the soak). */
function poolOf(vm: Pick<VirtualMachine, "metadata">): string | undefined {
  return vm.metadata.ownerReferences?.find((o) => o.controller === true)?.name;
}

/** A view of `kube` recording, under the pass tag `tag()`, what the promise is checked against. */
function recordingKube(kube: Kube, tag: () => string, ledger: Ledger, pools: readonly string[]): Kube {
  const push = (pool: string, event: StreamEvent) => {
    const key = `${tag()} ${pool}`;
    const stream = ledger.streams.get(key);
    if (stream) stream.push(event);
    else ledger.streams.set(key, [event]);
  };
  const counted = (vms: readonly VirtualMachine[]) => {
    const counts = new Map(pools.map((p) => [p, 0]));
    for (const vm of vms) {
      const owner = poolOf(vm);
      if (owner !== undefined && counts.has(owner)) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const [pool, count] of counts) push(pool, { type: "owned", count });
  };
  const wrap = (inner: Kube): Kube =>
    new Proxy(inner, {
      get(target, property, receiver) {
        switch (property) {
          case "withDeadline":
            return (deadline: number) => wrap(target.withDeadline(deadline));
          case "get":
            return async (...args: Parameters<Kube["get"]>) => {
              const object = await target.get(...args);
              if (args[0] === "VirtualMachinePool" && object) {
                const replicas = (object as { spec: { replicas?: number } }).spec.replicas ?? 1;
                push(args[2], { type: "read", replicas });
              }
              return object;
            };
          case "list":
            return async (...args: Parameters<Kube["list"]>) => {
              const items = await target.list(...args);
              if (args[0] === "VirtualMachine") counted(items as VirtualMachine[]);
              return items;
            };
          case "listLenient":
            return async (...args: Parameters<Kube["listLenient"]>) => {
              const listed = await target.listLenient(...args);
              if (args[0] === "VirtualMachine") counted(listed.items as VirtualMachine[]);
              return listed;
            };
          case "create":
            return async (...args: Parameters<Kube["create"]>) => {
              if (args[0] !== "VirtualMachine") return target.create(...args);
              const pool = poolOf(args[1] as VirtualMachine) ?? "?";
              push(pool, { type: "issue" });
              try {
                const created = await target.create(...args);
                ledger.createdUids.set(created.metadata.uid ?? "", created.metadata.name);
                return created;
              } finally {
                push(pool, { type: "done" });
              }
            };
          case "delete":
            return (...args: Parameters<Kube["delete"]>) => {
              if (args[0] === "VirtualMachine" && args[3]?.uid) ledger.deleteAttempted.add(args[3].uid);
              return target.delete(...args);
            };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrap(kube);
}

/** The promise, per pass and pool: fresh reads, and no create above them. */
function checkStreams(ledger: Ledger): { creates: number; stale: number; worst: number } {
  let creates = 0;
  let stale = 0;
  let worst = Number.NEGATIVE_INFINITY;
  for (const events of ledger.streams.values()) {
    let counted = 0;
    let issued = 0;
    let read: { replicas: number; at: number } | undefined;
    let lastDone = -1;
    events.forEach((event, at) => {
      if (event.type === "owned" && issued === 0) counted = event.count;
      else if (event.type === "read") read = { replicas: event.replicas, at };
      else if (event.type === "done") lastDone = at;
      else if (event.type === "issue") {
        creates++;
        issued++;
        if (!read || read.at < lastDone) stale++;
        worst = Math.max(worst, counted + issued - (read?.replicas ?? 0));
      }
    });
  }
  return { creates, stale, worst: creates === 0 ? 0 : worst };
}

// ---------------------------------------------------------------------------------------------------------------
// The soak
// ---------------------------------------------------------------------------------------------------------------

function poolBody(name: string, replicas: number) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    metadata: { name, namespace: NS, annotations: { [SEQ_ANNOTATION]: "0" } },
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` every `everyMs` while `running()`, at most `inFlight` at once (overlapping, like real triggers). */
async function repeat(running: () => boolean, everyMs: number, inFlight: number, task: () => Promise<void>) {
  const active = new Set<Promise<void>>();
  while (running()) {
    if (active.size < inFlight) {
      const run: Promise<void> = task()
        .catch(() => undefined)
        .finally(() => active.delete(run));
      active.add(run);
    }
    await sleep(everyMs);
  }
  await Promise.all(active);
}

interface Sample {
  readonly at: number;
  readonly pools: ReadonlyMap<string, { spec: number; owned: number; terminating: number }>;
}

/** Runs the soak; see the module comment for what it measures. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-soak-"));
  const level = rootLogger.level;
  // Passes under chaos warn a lot; the figures say what happened.
  rootLogger.level = "silent";
  const server = await ApiServer.start(dir);
  try {
    return await soak(options, server);
  } finally {
    await server.stop();
    rootLogger.level = level;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function soak(options: SoakOptions, server: ApiServer): Promise<SoakReport> {
  const progress = options.progress ?? (() => {});
  const random = seededRandom(options.seed);
  const pick = (n: number) => Math.floor(random() * n);
  const names = Array.from({ length: options.pools }, (_, i) => `soak-${i}`);
  const retry = { retry: { random: seededRandom(options.seed + 1) } };
  const admin = createKube({ kind: "kubeconfig", path: server.kubeconfig }, retry);
  for (const name of names)
    await admin.create("VirtualMachinePool", poolBody(name, pick(options.maxReplicas + 1)) as never);

  const ledger: Ledger = { streams: new Map(), createdUids: new Map(), deleteAttempted: new Set() };
  const als = new AsyncLocalStorage<string>();
  const tag = () => als.getStore() ?? "untagged";
  const functionsKube = recordingKube(
    createKube({ kind: "kubeconfig", path: server.kubeconfig }, retry),
    tag,
    ledger,
    names,
  );
  const runtime = createRuntime({
    kube: functionsKube,
    secrets: { reconcileToken: TOKEN },
    settings: settingsFromEnv({ VMPOOL_PASS_DEADLINE_MS: "2000" }),
    devMode: true,
    random: seededRandom(options.seed + 2),
  });
  const app = createFunctionApp(runtime, [reconcileRoutes]);
  const passes: Record<string, Record<string, number>> = { timer: {}, cli: {}, webhook: {} };
  let crashes = 0;
  let sequence = 0;
  const count = (trigger: string, results: readonly { outcome: string }[]) => {
    const byOutcome = passes[trigger] ?? {};
    for (const r of results) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
    passes[trigger] = byOutcome;
  };
  const allPass = async (trigger: "timer" | "cli", kube: Kube) => {
    const id = `${trigger}-${++sequence}`;
    await als.run(id, async () => {
      try {
        count(trigger, await reconcileAll({ ...passDeps(runtime, id), kube }));
      } catch {
        crashes++;
      }
    });
  };
  const webhook = (pool: string) =>
    als.run(`webhook-${++sequence}`, async () => {
      const res = await app.request("/reconcile", {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ namespace: NS, name: pool }),
      });
      if (res.status >= 500) crashes++;
      else if (res.ok) count("webhook", ((await res.json()) as { results: PassResult[] }).results);
    });

  // Sampling: every 100 ms, each pool's owned VMs against its spec, as the API server has them. A sample retries a
  // fault only briefly, and one still failing is skipped, so samples stay about 100 ms apart.
  const samples: Sample[] = [];
  let skippedSamples = 0;
  const sampler = createKube(
    { kind: "kubeconfig", path: server.kubeconfig },
    { retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 } },
  );
  const sample = async () => {
    try {
      const [pools, vms] = await Promise.all([
        sampler.list("VirtualMachinePool", { namespace: NS, pageSize: 0 }),
        sampler.list("VirtualMachine", { namespace: NS, pageSize: 0 }),
      ]);
      const byPool = new Map(
        pools.map((p) => [p.metadata.name, { spec: p.spec.replicas ?? 1, owned: 0, terminating: 0 }]),
      );
      for (const vm of vms) {
        const entry = byPool.get(poolOf(vm) ?? "");
        if (!entry) continue;
        entry.owned++;
        if (vm.metadata.deletionTimestamp) entry.terminating++;
      }
      samples.push({ at: performance.now(), pools: byPool });
    } catch {
      skippedSamples++;
    }
  };

  // User writes: spec changes (sequence-numbered merge patches, one at a time) and probe Lease creates.
  const attempts = new Map<string, Map<number, number>>(names.map((n) => [n, new Map([[0, -1]])]));
  const lastAcked = new Map<string, number>(names.map((n) => [n, 0]));
  let specChanges = 0;
  let scaleSeq = 0;
  const admissions = new Set<Promise<void>>();
  const scale = async () => {
    await sleep(100 + pick(400));
    const pool = names[pick(names.length)] as string;
    const replicas = pick(options.maxReplicas + 1);
    const seq = ++scaleSeq;
    attempts.get(pool)?.set(seq, replicas);
    const patch = { metadata: { annotations: { [SEQ_ANNOTATION]: String(seq) } }, spec: { replicas } };
    await admin.patch("VirtualMachinePool", NS, pool, patch, "merge");
    lastAcked.set(pool, seq);
    specChanges++;
    // The admission webhook asks for a pass of the pool it saw change.
    const asked: Promise<void> = webhook(pool)
      .catch(() => undefined)
      .finally(() => admissions.delete(asked));
    admissions.add(asked);
  };
  const probes: string[] = [];
  let probeSeq = 0;
  const probe = async () => {
    const name = `${PROBE_PREFIX}${++probeSeq}`;
    await admin.create("Lease", { metadata: { name, namespace: NS }, spec: { holderIdentity: name } });
    probes.push(name);
  };

  let chaos = true;
  let triggers = true;
  let sampling = true;
  await server.setFaults(options.seed, chaosFaults(options.faultRate));
  progress(`chaos for ${options.chaosMs} ms over ${names.length} pools, kill -9 at ${options.killAtMs} ms`);
  const started = performance.now();
  const loops = [
    repeat(() => sampling, 100, 1, sample),
    repeat(
      () => triggers,
      250,
      2,
      () => allPass("timer", functionsKube),
    ),
    repeat(
      () => triggers,
      700,
      2,
      () =>
        allPass(
          "cli",
          recordingKube(
            createKube({ kind: "kubeconfig", path: server.kubeconfig }, retry),
            tag,
            ledger,
            names,
          ),
        ),
    ),
    repeat(
      () => triggers,
      400,
      4,
      () => webhook(names[pick(names.length)] as string),
    ),
    repeat(() => chaos, 10, 1, scale),
    repeat(() => chaos, 15, 2, probe),
  ];

  await sleep(options.killAtMs);
  progress("kill -9 of the API server");
  const restartMs = await server.crash();
  await server.setFaults(options.seed + 3, chaosFaults(options.faultRate));
  progress(`restarted in ${Math.round(restartMs)} ms`);
  await sleep(Math.max(0, options.chaosMs - (performance.now() - started)));

  chaos = false;
  await server.setFaults(options.seed, []);
  const faultsStopped = performance.now();
  progress("faults off: waiting for convergence");
  await Promise.all(loops.slice(4));
  let convergenceMs: number | undefined;
  while (performance.now() - faultsStopped < options.convergeTimeoutMs) {
    const last = samples[samples.length - 1];
    const settled =
      last !== undefined &&
      last.at > faultsStopped &&
      [...last.pools.values()].every((p) => p.owned === p.spec && p.terminating === 0);
    if (settled) {
      convergenceMs = last.at - faultsStopped;
      break;
    }
    await sleep(50);
  }
  triggers = false;
  sampling = false;
  await Promise.all([...loops, ...admissions]);

  // Lost acknowledged writes.
  const lost: string[] = [];
  const pools = await admin.list("VirtualMachinePool", { namespace: NS, pageSize: 0 });
  for (const pool of pools) {
    const name = pool.metadata.name;
    const stored = Number(pool.metadata.annotations?.[SEQ_ANNOTATION] ?? "-1");
    const acked = lastAcked.get(name) ?? 0;
    // A write that failed unacknowledged may still have landed: newer than the last acknowledged is fine.
    if (stored < acked) lost.push(`${name}: spec change #${acked} acknowledged, #${stored} stored`);
    else if (attempts.get(name)?.get(stored) !== (pool.spec.replicas ?? 1) && stored !== 0)
      lost.push(`${name}: spec change #${stored} stored with replicas ${pool.spec.replicas}`);
  }
  const leases = new Set(
    (await admin.list("Lease", { namespace: NS, pageSize: 0 })).map((l) => l.metadata.name),
  );
  for (const name of probes) if (!leases.has(name)) lost.push(`probe ${name} acknowledged, missing`);
  const vms = new Set(
    (await admin.list("VirtualMachine", { namespace: NS, pageSize: 0 })).map((v) => v.metadata.uid),
  );
  for (const [uid, name] of ledger.createdUids) {
    if (!ledger.deleteAttempted.has(uid) && !vms.has(uid))
      lost.push(`VM ${name} (${uid}) created, never deleted, missing`);
  }

  const figures = sampledFigures(samples);
  const stream = checkStreams(ledger);
  return {
    samples: samples.length,
    skippedSamples,
    creates: stream.creates,
    staleCreates: stream.stale,
    worstExcessAtCreate: stream.worst,
    ...figures,
    convergenceMs,
    restartMs,
    acknowledged: { specChanges, probes: probes.length, vmCreates: ledger.createdUids.size },
    lost,
    passes,
    crashes,
  };
}

function sampledFigures(samples: readonly Sample[]) {
  let worstLandedAboveSpec = 0;
  let landedAboveSpec = 0;
  let worstExcessAny = Number.NEGATIVE_INFINITY;
  let longestAboveSpecMs = 0;
  const previous = new Map<string, number>();
  const aboveSince = new Map<string, number>();
  for (const s of samples) {
    for (const [pool, { spec, owned }] of s.pools) {
      const excess = owned - spec;
      worstExcessAny = Math.max(worstExcessAny, excess);
      const landed = Math.max(0, Math.min(owned - (previous.get(pool) ?? owned), excess));
      worstLandedAboveSpec = Math.max(worstLandedAboveSpec, landed);
      landedAboveSpec += landed;
      previous.set(pool, owned);
      if (excess > 0) {
        const since = aboveSince.get(pool) ?? s.at;
        aboveSince.set(pool, since);
        longestAboveSpecMs = Math.max(longestAboveSpecMs, s.at - since);
      } else aboveSince.delete(pool);
    }
  }
  return {
    worstLandedAboveSpec,
    landedAboveSpec,
    worstExcessAny: Math.max(0, worstExcessAny),
    longestAboveSpecMs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark suite
// ---------------------------------------------------------------------------------------------------------------

export const chaos = defineSuite("chaos", async (ctx) => {
  const report = await runSoak({
    seed: 20_260_101,
    pools: ctx.quick ? 4 : 6,
    maxReplicas: 20,
    chaosMs: ctx.quick ? 10_000 : 40_000,
    killAtMs: ctx.quick ? 5_000 : 20_000,
    faultRate: 0.2,
    convergeTimeoutMs: 60_000,
    progress: ctx.progress,
  });
  const outcomes = Object.entries(report.passes)
    .map(([trigger, byOutcome]) => {
      const total = Object.values(byOutcome).reduce((a, b) => a + b, 0);
      const parts = Object.entries(byOutcome)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([o, n]) => `${o} ${n}`);
      return `${trigger} ${total} (${parts.join(", ")})`;
    })
    .join("; ");
  const rows: Row[] = [
    {
      benchmark: "worst excess at create over spec as read before its batch",
      figure: Math.max(0, report.worstExcessAtCreate),
      unit: "VMs",
      notes: `promise: 0; ${report.creates} VM creates checked, ${report.staleCreates} on a read older than the previous batch`,
    },
    {
      benchmark: "most VMs landing above the current spec between two samples",
      figure: report.worstLandedAboveSpec,
      unit: "VMs",
      notes: `${report.landedAboveSpec} in all: creates of a batch in flight when the spec dropped, issued under the spec read before it`,
    },
    {
      benchmark: "worst sampled excess over the current spec",
      figure: report.worstExcessAny,
      unit: "VMs",
      notes: `scale-in lag included; longest above spec ${Math.round(report.longestAboveSpecMs)} ms; ${report.samples} samples (${report.skippedSamples} lost to faults or the kill)`,
    },
    {
      benchmark: "convergence after faults stop",
      figure: (report.convergenceMs ?? Number.NaN) / 1000,
      unit: "s",
      notes:
        "to every pool at its spec, nothing terminating (leases of passes cut off by the kill expire first)",
    },
    {
      benchmark: "API server restart after kill -9",
      figure: report.restartMs / 1000,
      unit: "s",
      notes: "vmpool cluster on its journal, same port",
    },
    {
      benchmark: "lost acknowledged writes",
      figure: report.lost.length,
      unit: "",
      notes: `of ${report.acknowledged.specChanges} spec changes, ${report.acknowledged.probes} probe creates, ${report.acknowledged.vmCreates} VM creates${report.lost.length > 0 ? `: ${report.lost.slice(0, 3).join("; ")}` : ""}`,
    },
    {
      benchmark: "passes",
      figure: Object.values(report.passes).reduce(
        (sum, byOutcome) => sum + Object.values(byOutcome).reduce((a, b) => a + b, 0),
        0,
      ),
      unit: "",
      notes: `${outcomes}; ${report.crashes} reconcile-all throws or webhook 5xx`,
    },
  ];
  return rows;
});
