/**
 * Benchmarks of the local cluster's API server over real HTTP on 127.0.0.1: bulk VirtualMachine creates, label-
 * selected lists of the whole set, and watch fan-out under a merge-patch write stream. The scenario runs twice in
 * one process, in memory and with the journal in a temp dir, so the journal's cost shows side by side. Client and
 * server share one event loop, so every figure includes the client's own work (kept minimal on purpose).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import {
  type ConcurrentRun,
  defineSuite,
  formatNumber,
  measure,
  measureConcurrent,
  opsPerSecond,
  type Row,
  type SuiteContext,
  summarize,
} from "./harness";

const NAMESPACE = "default";
const VMS_PATH = `/apis/kubevirt.io/v1/namespaces/${NAMESPACE}/virtualmachines`;
const IN_FLIGHT = 16;
const WATCHERS = 10;
const WARMUP_REQUESTS = 200;
const SEQ_ANNOTATION = "bench.vmpool.dev/seq";
/** Matches the annotation's value in an event line; managedFields only hold `"f:<key>":{}`, never a value. */
const SEQ_PATTERN = /"bench\.vmpool\.dev\/seq":"(\d+)"/;
const CREATE_TARGET_PER_S = 2_000;
const LIST_ALL_TARGET_MS = 50;
const EVENT_WAIT_MS = 60_000;

interface Sizes {
  readonly objects: number;
  readonly writes: number;
  readonly listRuns: number;
}

interface ListFigures {
  /** Request sent → whole body read as text. */
  readonly request: number[];
  /** `JSON.parse` of that text, measured separately. */
  readonly parse: number[];
  readonly bytes: number;
}

interface ScenarioResult {
  readonly create: ConcurrentRun;
  readonly listAll: ListFigures | undefined;
  readonly listShard: ListFigures | undefined;
  readonly unwatched: ConcurrentRun;
  readonly watched: ConcurrentRun;
  /** Write acknowledged (response body read) → event line seen, per watcher and write. Negative: event first. */
  readonly ackToSeen: number[];
  /** Write request sent → event line seen, per watcher and write. */
  readonly sentToSeen: number[];
}

function vmName(i: number): string {
  return `bench-${String(i).padStart(5, "0")}`;
}

function virtualMachine(name: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, labels },
    spec: {
      runStrategy: "Halted",
      template: {
        metadata: { labels },
        spec: {
          domain: { devices: {}, resources: { requests: { memory: "64Mi" } } },
          volumes: [],
        },
      },
    },
  });
}

/** One request; the body is always read so the keep-alive connection is reusable. */
async function call(
  base: string,
  method: string,
  path: string,
  expect: number,
  body?: string,
  contentType = "application/json",
): Promise<string> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { "Content-Type": contentType } }),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

function createVMs(
  base: string,
  count: number,
  prefix: string,
  labels: (i: number) => Record<string, string>,
) {
  return measureConcurrent(count, IN_FLIGHT, (i) =>
    call(base, "POST", VMS_PATH, 201, virtualMachine(`${prefix}${vmName(i)}`, labels(i))),
  );
}

/** Send and acknowledgement times of each write, by sequence number (performance.now()). */
interface WriteTimes {
  readonly sent: Map<number, number>;
  readonly acked: Map<number, number>;
}

function patchVMs(base: string, count: number, objects: number, firstSeq: number, times?: WriteTimes) {
  return measureConcurrent(count, IN_FLIGHT, async (i) => {
    const seq = firstSeq + i;
    const patch = JSON.stringify({ metadata: { annotations: { [SEQ_ANNOTATION]: String(seq) } } });
    times?.sent.set(seq, performance.now());
    await call(
      base,
      "PATCH",
      `${VMS_PATH}/${vmName(i % objects)}`,
      200,
      patch,
      "application/merge-patch+json",
    );
    times?.acked.set(seq, performance.now());
  });
}

async function listFigures(
  base: string,
  selector: string,
  expected: number,
  runs: number,
): Promise<ListFigures> {
  const path = `${VMS_PATH}?labelSelector=${encodeURIComponent(selector)}`;
  const texts: string[] = [];
  const request = await measure(
    async () => {
      texts.push(await call(base, "GET", path, 200));
    },
    { iterations: runs, warmup: 2 },
  );
  const parse = texts.slice(2).map((text) => {
    const start = performance.now();
    const list = JSON.parse(text) as { items: unknown[] };
    const ms = performance.now() - start;
    if (list.items.length !== expected)
      throw new Error(`list ${selector}: ${list.items.length} items, expected ${expected}`);
    return ms;
  });
  return { request, parse, bytes: Buffer.byteLength(texts[0] ?? "") };
}

/** A watch stream that records, per write sequence number, when its event line arrived. */
interface Watcher {
  readonly seen: Map<number, number>;
  readonly done: Promise<void>;
  readonly abort: () => void;
}

async function openWatcher(base: string, resourceVersion: string): Promise<Watcher> {
  const controller = new AbortController();
  const res = await fetch(`${base}${VMS_PATH}?watch=true&resourceVersion=${resourceVersion}`, {
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`watch: HTTP ${res.status}`);
  const seen = new Map<number, number>();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const done = (async () => {
    let buffered = "";
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        const now = performance.now();
        buffered += value;
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const seq = SEQ_PATTERN.exec(buffered.slice(0, newline))?.[1];
          if (seq !== undefined && !seen.has(Number(seq))) seen.set(Number(seq), now);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf("\n");
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  return { seen, done, abort: () => controller.abort() };
}

async function waitForEvents(watchers: readonly Watcher[], seqs: readonly number[]): Promise<void> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  const missing = () => watchers.reduce((n, w) => n + seqs.filter((s) => !w.seen.has(s)).length, 0);
  for (;;) {
    const left = missing();
    if (left === 0) return;
    if (Date.now() > deadline)
      throw new Error(`watchers still miss ${left} events after ${EVENT_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function currentResourceVersion(base: string): Promise<string> {
  const text = await call(base, "GET", `${VMS_PATH}?limit=1`, 200);
  return (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

async function watchedWrites(base: string, sizes: Sizes, firstSeq: number) {
  const rv = await currentResourceVersion(base);
  const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => openWatcher(base, rv)));
  try {
    const { sent, acked } = { sent: new Map<number, number>(), acked: new Map<number, number>() };
    const run = await patchVMs(base, sizes.writes, sizes.objects, firstSeq, { sent, acked });
    const seqs = [...acked.keys()];
    await waitForEvents(watchers, seqs);
    const ackToSeen: number[] = [];
    const sentToSeen: number[] = [];
    for (const w of watchers) {
      for (const seq of seqs) {
        const seen = w.seen.get(seq) as number;
        ackToSeen.push(seen - (acked.get(seq) as number));
        sentToSeen.push(seen - (sent.get(seq) as number));
      }
    }
    return { run, ackToSeen, sentToSeen };
  } finally {
    for (const w of watchers) w.abort();
    await Promise.allSettled(watchers.map((w) => w.done));
  }
}

async function scenario(
  cluster: LocalCluster,
  sizes: Sizes,
  withLists: boolean,
  progress: (message: string) => void,
): Promise<ScenarioResult> {
  const base = cluster.url;
  // Warm the JIT and the connection pool on objects outside the measured label set.
  await createVMs(base, WARMUP_REQUESTS, "warm-", () => ({ app: "warmup" }));
  progress(`creating ${sizes.objects} VMs`);
  const create = await createVMs(base, sizes.objects, "", (i) => ({ app: "bench", shard: String(i % 10) }));
  let listAll: ListFigures | undefined;
  let listShard: ListFigures | undefined;
  if (withLists) {
    progress("listing");
    listAll = await listFigures(base, "app=bench", sizes.objects, sizes.listRuns);
    listShard = await listFigures(base, "shard=3", sizes.objects / 10, sizes.listRuns);
  }
  await patchVMs(base, WARMUP_REQUESTS, sizes.objects, 0);
  progress(`${sizes.writes} merge patches, unwatched`);
  const unwatched = await patchVMs(base, sizes.writes, sizes.objects, WARMUP_REQUESTS);
  progress(`${sizes.writes} merge patches under ${WATCHERS} watchers`);
  const watched = await watchedWrites(base, sizes, WARMUP_REQUESTS + sizes.writes);
  return {
    create,
    listAll,
    listShard,
    unwatched,
    watched: watched.run,
    ackToSeen: watched.ackToSeen,
    sentToSeen: watched.sentToSeen,
  };
}

const rate = (run: ConcurrentRun) => opsPerSecond(run.samples.length, run.elapsedMs);
/** Process CPU per operation: client and server together, robust against other load on the machine. */
const cpuPerOp = (run: ConcurrentRun) => `CPU ${formatNumber(run.cpuMs / run.samples.length)} ms/op`;
const ms = (value: number) => `${formatNumber(value)} ms`;
const perSecond = (value: number) => `${formatNumber(value)} /s`;

function memoryRows(r: ScenarioResult, sizes: Sizes): Row[] {
  const n = formatNumber(sizes.objects);
  const create = summarize(r.create.samples);
  const rows: Row[] = [
    {
      benchmark: `create ${n} VMs (${IN_FLIGHT} in flight)`,
      figure: rate(r.create),
      unit: "/s",
      target: { value: CREATE_TARGET_PER_S, better: "higher" },
      notes: `${cpuPerOp(r.create)} (client + server); latency max ${ms(create.max)}`,
    },
    { benchmark: "create latency p50", figure: create.p50, unit: "ms" },
    { benchmark: "create latency p99", figure: create.p99, unit: "ms" },
  ];
  for (const [label, list, target] of [
    [`list ${n} of ${n} (app=bench)`, r.listAll, LIST_ALL_TARGET_MS],
    [`list ${formatNumber(sizes.objects / 10)} of ${n} (shard=3)`, r.listShard, undefined],
  ] as const) {
    if (!list) continue;
    const req = summarize(list.request);
    const parse = summarize(list.parse);
    rows.push(
      {
        benchmark: `${label} p50`,
        figure: req.p50,
        unit: "ms",
        ...(target === undefined ? {} : { target: { value: target, better: "lower" as const } }),
        notes: `request → body text, ${formatNumber(list.bytes / 1e6)} MB, ${sizes.listRuns} runs; client JSON.parse not included (p50 ${ms(parse.p50)})`,
      },
      { benchmark: `${label} p99`, figure: req.p99, unit: "ms" },
    );
  }
  const ack = summarize(r.ackToSeen);
  const sent = summarize(r.sentToSeen);
  rows.push(
    {
      benchmark: `merge-patch writes, unwatched`,
      figure: rate(r.unwatched),
      unit: "/s",
      notes: `${sizes.writes} writes, ${IN_FLIGHT} in flight; ${cpuPerOp(r.unwatched)}; latency p50 ${ms(summarize(r.unwatched.samples).p50)}`,
    },
    {
      benchmark: `merge-patch writes, ${WATCHERS} watchers`,
      figure: rate(r.watched),
      unit: "/s",
      target: {
        value: rate(r.unwatched),
        better: "higher",
        label: `unwatched: ${perSecond(rate(r.unwatched))}`,
      },
      notes: `ratio = watched / unwatched, same run; ${cpuPerOp(r.watched)}; latency p50 ${ms(summarize(r.watched.samples).p50)}`,
    },
    {
      benchmark: "watch delivery, ack → event p50",
      figure: ack.p50,
      unit: "ms",
      notes: `${ack.count} (watcher, write) pairs; negative = event line arrived before the write's response`,
    },
    {
      benchmark: "watch delivery, ack → event p99",
      figure: ack.p99,
      unit: "ms",
      notes: `request sent → event: p50 ${ms(sent.p50)}, p99 ${ms(sent.p99)}`,
    },
  );
  return rows;
}

function journalRows(j: ScenarioResult, m: ScenarioResult, journalBytes: number): Row[] {
  const baseline = (value: number, label: string, better: "higher" | "lower") => ({
    value,
    better,
    label: `in memory: ${label}`,
  });
  const jCreate = summarize(j.create.samples);
  const mCreate = summarize(m.create.samples);
  const jAck = summarize(j.ackToSeen);
  const mAck = summarize(m.ackToSeen);
  return [
    {
      benchmark: "journal: create VMs",
      figure: rate(j.create),
      unit: "/s",
      target: baseline(rate(m.create), perSecond(rate(m.create)), "higher"),
      notes: `ratio = journal / in-memory; ${cpuPerOp(j.create)} vs ${formatNumber(m.create.cpuMs / m.create.samples.length)}; journal ${formatNumber(journalBytes / 1e6)} MB at the end`,
    },
    {
      benchmark: "journal: create latency p99",
      figure: jCreate.p99,
      unit: "ms",
      target: baseline(mCreate.p99, ms(mCreate.p99), "lower"),
    },
    {
      benchmark: "journal: merge-patch writes, unwatched",
      figure: rate(j.unwatched),
      unit: "/s",
      target: baseline(rate(m.unwatched), perSecond(rate(m.unwatched)), "higher"),
      notes: `${cpuPerOp(j.unwatched)} vs ${formatNumber(m.unwatched.cpuMs / m.unwatched.samples.length)}`,
    },
    {
      benchmark: `journal: merge-patch writes, ${WATCHERS} watchers`,
      figure: rate(j.watched),
      unit: "/s",
      target: baseline(rate(m.watched), perSecond(rate(m.watched)), "higher"),
    },
    {
      benchmark: "journal: watch delivery, ack → event p99",
      figure: jAck.p99,
      unit: "ms",
      target: baseline(mAck.p99, ms(mAck.p99), "lower"),
    },
  ];
}

async function inMemory(sizes: Sizes, ctx: SuiteContext): Promise<ScenarioResult> {
  const cluster = await startLocalCluster({ port: 0, simulator: false });
  try {
    return await scenario(cluster, sizes, true, (m) => ctx.progress(`in memory: ${m}`));
  } finally {
    await cluster.close();
  }
}

async function journaled(
  sizes: Sizes,
  ctx: SuiteContext,
): Promise<{ result: ScenarioResult; bytes: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "vmpool-bench-"));
  try {
    const cluster = await startLocalCluster({ port: 0, simulator: false, dataDir, fresh: true });
    try {
      const result = await scenario(cluster, sizes, false, (m) => ctx.progress(`journal: ${m}`));
      return { result, bytes: statSync(join(dataDir, "journal.jsonl")).size };
    } finally {
      await cluster.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const localCluster = defineSuite("local-cluster", async (ctx) => {
  const sizes: Sizes = ctx.quick
    ? { objects: 1_000, writes: 500, listRuns: 5 }
    : { objects: 10_000, writes: 2_000, listRuns: 20 };
  const memory = await inMemory(sizes, ctx);
  const journal = await journaled(sizes, ctx);
  return [...memoryRows(memory, sizes), ...journalRows(journal.result, memory, journal.bytes)];
});
