/**
 * Benchmarks of the local cluster's API server over real HTTP on 127.0.0.1: bulk VirtualMachine creates, label-
 * selected lists of the whole set, and watch fan-out under a merge-patch write stream. Two clusters run side by
 * side, each in its own `vmpool cluster` process (as an API server is to its clients), one in memory and one with
 * its journal in a temp dir, and their batches interleave so the journal's cost and the watchers' cost are ratios
 * taken under the same load. CPU figures are this (client) process's.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterProcess, startClusterProcess } from "../support/cluster-process";
import {
  type ConcurrentRun,
  defineSuite,
  formatNumber,
  interleave,
  measure,
  measureConcurrent,
  opsPerSecond,
  type Row,
  summarize,
} from "./harness";

const NAMESPACE = "default";
const VMS_PATH = `/apis/kubevirt.io/v1/namespaces/${NAMESPACE}/virtualmachines`;
const IN_FLIGHT = 16;
const WATCHERS = 10;
const ROUNDS = 10;
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

/** One cluster under test and the next write sequence number used against it. */
interface Subject {
  readonly base: string;
  nextSeq: number;
}

interface ListFigures {
  /** Request sent → whole body read as text. */
  readonly request: number[];
  /** `JSON.parse` of that text, measured separately. */
  readonly parse: number[];
  readonly bytes: number;
}

/** Per (watcher, write) pair: event line seen minus the write's acknowledgement, and minus its send time. */
interface Delivery {
  readonly ackToSeen: number[];
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

/** Requests retried after the server had already closed the pooled keep-alive connection they went out on. */
let staleConnectionRetries = 0;

function isStaleConnection(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return err instanceof TypeError && (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET");
}

/**
 * One request; the body is always read so the keep-alive connection is reusable. A cluster idle while the other
 * one runs its batch can close pooled connections (Node's 5 s keep-alive timeout) just as the client reuses one;
 * such a request never reached the handler, so it is sent once more, as HTTP clients do for a stale connection.
 */
async function call(
  base: string,
  method: string,
  path: string,
  expect: number,
  body?: string,
  contentType = "application/json",
): Promise<string> {
  const init = { method, ...(body === undefined ? {} : { body, headers: { "Content-Type": contentType } }) };
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, init);
  } catch (err) {
    if (!isStaleConnection(err)) throw err;
    staleConnectionRetries++;
    res = await fetch(`${base}${path}`, init);
  }
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

function createVMs(
  base: string,
  count: number,
  first: number,
  labels: (i: number) => Record<string, string>,
) {
  return measureConcurrent(count, IN_FLIGHT, (i) =>
    call(base, "POST", VMS_PATH, 201, virtualMachine(vmName(first + i), labels(first + i))),
  );
}

/** Send and acknowledgement times of each write, by sequence number (performance.now()). */
interface WriteTimes {
  readonly sent: Map<number, number>;
  readonly acked: Map<number, number>;
}

/** `count` merge patches setting the sequence annotation, spread round-robin over the objects. */
function patchVMs(subject: Subject, count: number, objects: number, times?: WriteTimes) {
  const first = subject.nextSeq;
  subject.nextSeq += count;
  return measureConcurrent(count, IN_FLIGHT, async (i) => {
    const seq = first + i;
    const patch = JSON.stringify({ metadata: { annotations: { [SEQ_ANNOTATION]: String(seq) } } });
    times?.sent.set(seq, performance.now());
    await call(
      subject.base,
      "PATCH",
      `${VMS_PATH}/${vmName(seq % objects)}`,
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
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function currentResourceVersion(base: string): Promise<string> {
  const text = await call(base, "GET", `${VMS_PATH}?limit=1`, 200);
  return (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

/**
 * One batch of writes under freshly opened watchers. Opening the watches and waiting for the last events are
 * outside the timed run; the delivery latencies of the batch are appended to `delivery`.
 */
async function watchedBatch(subject: Subject, count: number, objects: number, delivery: Delivery) {
  const rv = await currentResourceVersion(subject.base);
  const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => openWatcher(subject.base, rv)));
  try {
    const times: WriteTimes = { sent: new Map(), acked: new Map() };
    const run = await patchVMs(subject, count, objects, times);
    const seqs = [...times.acked.keys()];
    await waitForEvents(watchers, seqs);
    for (const w of watchers) {
      for (const seq of seqs) {
        const seen = w.seen.get(seq) as number;
        delivery.ackToSeen.push(seen - (times.acked.get(seq) as number));
        delivery.sentToSeen.push(seen - (times.sent.get(seq) as number));
      }
    }
    return run;
  } finally {
    for (const w of watchers) w.abort();
    await Promise.allSettled(watchers.map((w) => w.done));
  }
}

const rate = (run: ConcurrentRun) => opsPerSecond(run.samples.length, run.elapsedMs);
const cpuPerOp = (run: ConcurrentRun) => run.cpuMs / run.samples.length;
const ms = (value: number) => `${formatNumber(value)} ms`;
const perSecond = (value: number) => `${formatNumber(value)} /s`;

async function withClusters<T>(
  run: (memory: ClusterProcess, journal: ClusterProcess, dir: string) => Promise<T>,
) {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-bench-"));
  const memory = await startClusterProcess();
  try {
    const journal = await startClusterProcess({ dataDir: dir });
    try {
      return await run(memory, journal, dir);
    } finally {
      await journal.close();
    }
  } finally {
    await memory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const localCluster = defineSuite("local-cluster", async (ctx) => {
  const sizes: Sizes = ctx.quick
    ? { objects: 1_000, writes: 500, listRuns: 5 }
    : { objects: 10_000, writes: 2_000, listRuns: 20 };
  staleConnectionRetries = 0;
  return withClusters(async (memoryCluster, journalCluster, dir) => {
    const memory: Subject = { base: memoryCluster.url, nextSeq: 0 };
    const journal: Subject = { base: journalCluster.url, nextSeq: 0 };
    const perRound = sizes.objects / ROUNDS;
    const shard = (i: number) => ({ app: "bench", shard: String(i % 10) });

    // Warm the JIT and the connection pools on objects that are patched later anyway.
    await Promise.all([memory, journal].map((s) => createVMs(s.base, WARMUP_REQUESTS, 0, shard)));
    ctx.progress(`creating ${sizes.objects} VMs in each cluster, ${ROUNDS} interleaved rounds`);
    // Round r creates objects [r·perRound, (r+1)·perRound), less those the warm-up already made.
    const createRound = (subject: Subject) => (round: number) => {
      const first = Math.max(round * perRound, WARMUP_REQUESTS);
      return createVMs(subject.base, Math.max(0, (round + 1) * perRound - first), first, shard);
    };
    const creates = await interleave(ROUNDS, { memory: createRound(memory), journal: createRound(journal) });

    ctx.progress("listing (in-memory cluster)");
    const listAll = await listFigures(memory.base, "app=bench", sizes.objects, sizes.listRuns);
    const listShard = await listFigures(memory.base, "shard=3", sizes.objects / 10, sizes.listRuns);

    ctx.progress(
      `${sizes.writes} merge patches per variant: unwatched / ${WATCHERS} watchers, memory / journal`,
    );
    await Promise.all([memory, journal].map((s) => patchVMs(s, WARMUP_REQUESTS, sizes.objects)));
    const batch = sizes.writes / ROUNDS;
    const memoryDelivery: Delivery = { ackToSeen: [], sentToSeen: [] };
    const journalDelivery: Delivery = { ackToSeen: [], sentToSeen: [] };
    const writes = await interleave(ROUNDS, {
      memoryUnwatched: () => patchVMs(memory, batch, sizes.objects),
      memoryWatched: () => watchedBatch(memory, batch, sizes.objects, memoryDelivery),
      journalUnwatched: () => patchVMs(journal, batch, sizes.objects),
      journalWatched: () => watchedBatch(journal, batch, sizes.objects, journalDelivery),
    });
    const journalBytes = statSync(join(dir, "cluster", "journal.jsonl")).size;
    if (staleConnectionRetries > 0)
      ctx.progress(`${staleConnectionRetries} request(s) resent on a stale connection`);
    return rows(sizes, {
      creates,
      listAll,
      listShard,
      writes,
      memoryDelivery,
      journalDelivery,
      journalBytes,
    });
  });
});

interface Results {
  readonly creates: Record<"memory" | "journal", ConcurrentRun>;
  readonly listAll: ListFigures;
  readonly listShard: ListFigures;
  readonly writes: Record<
    "memoryUnwatched" | "memoryWatched" | "journalUnwatched" | "journalWatched",
    ConcurrentRun
  >;
  readonly memoryDelivery: Delivery;
  readonly journalDelivery: Delivery;
  readonly journalBytes: number;
}

function rows(sizes: Sizes, r: Results): Row[] {
  const n = formatNumber(sizes.objects);
  const create = summarize(r.creates.memory.samples);
  const { memoryUnwatched, memoryWatched, journalUnwatched, journalWatched } = r.writes;
  const ack = summarize(r.memoryDelivery.ackToSeen);
  const sent = summarize(r.memoryDelivery.sentToSeen);
  const journalSent = summarize(r.journalDelivery.sentToSeen);
  const out: Row[] = [
    {
      benchmark: `create ${n} VMs (${IN_FLIGHT} in flight)`,
      figure: rate(r.creates.memory),
      unit: "/s",
      target: { value: CREATE_TARGET_PER_S, better: "higher" },
      notes: `${formatNumber(create.count)} timed after ${WARMUP_REQUESTS} warm-up creates; CPU ${ms(cpuPerOp(r.creates.memory))}/create (client process; the server runs in its own); latency max ${ms(create.max)}`,
    },
    { benchmark: "create latency p50", figure: create.p50, unit: "ms" },
    { benchmark: "create latency p99", figure: create.p99, unit: "ms" },
  ];
  for (const [label, list, target] of [
    [`list ${n} of ${n} (app=bench)`, r.listAll, LIST_ALL_TARGET_MS],
    [`list ${formatNumber(sizes.objects / 10)} of ${n} (shard=3)`, r.listShard, undefined],
  ] as const) {
    const req = summarize(list.request);
    const parse = summarize(list.parse);
    out.push(
      {
        benchmark: `${label} p50`,
        figure: req.p50,
        unit: "ms",
        ...(target === undefined ? {} : { target: { value: target, better: "lower" as const } }),
        notes: `request → body text (${formatNumber(list.bytes / 1e6)} MB), ${sizes.listRuns} runs; client JSON.parse excluded, p50 ${ms(parse.p50)}`,
      },
      { benchmark: `${label} p99`, figure: req.p99, unit: "ms" },
    );
  }
  out.push(
    {
      benchmark: "merge-patch writes, unwatched",
      figure: rate(memoryUnwatched),
      unit: "/s",
      notes: `${sizes.writes} writes, ${IN_FLIGHT} in flight; CPU ${ms(cpuPerOp(memoryUnwatched))}/write; latency p50 ${ms(summarize(memoryUnwatched.samples).p50)}`,
    },
    {
      benchmark: `merge-patch writes, ${WATCHERS} watchers`,
      figure: rate(memoryWatched),
      unit: "/s",
      target: {
        value: rate(memoryUnwatched),
        better: "higher",
        label: `unwatched: ${perSecond(rate(memoryUnwatched))}`,
      },
      notes: `ratio = watched / unwatched, interleaved; CPU ${ms(cpuPerOp(memoryWatched))}/write incl. the watchers' reads`,
    },
    {
      benchmark: "watch delivery p50, ack → event",
      figure: ack.p50,
      unit: "ms",
      notes: `${formatNumber(ack.count)} (watcher, write) pairs; negative: the event arrived before the write's response`,
    },
    {
      benchmark: "watch delivery p99, ack → event",
      figure: ack.p99,
      unit: "ms",
      notes: `request sent → event: p50 ${ms(sent.p50)}, p99 ${ms(sent.p99)}`,
    },
    {
      benchmark: "journal: create VMs",
      figure: rate(r.creates.journal),
      unit: "/s",
      target: {
        value: rate(r.creates.memory),
        better: "higher",
        label: `in memory: ${perSecond(rate(r.creates.memory))}`,
      },
      notes: `ratio = journal / in-memory, interleaved; CPU ${ms(cpuPerOp(r.creates.journal))}/create; journal ${formatNumber(r.journalBytes / 1e6)} MB at the end`,
    },
    {
      benchmark: "journal: merge-patch writes, unwatched",
      figure: rate(journalUnwatched),
      unit: "/s",
      target: {
        value: rate(memoryUnwatched),
        better: "higher",
        label: `in memory: ${perSecond(rate(memoryUnwatched))}`,
      },
      notes: `CPU ${ms(cpuPerOp(journalUnwatched))}/write`,
    },
    {
      benchmark: `journal: merge-patch writes, ${WATCHERS} watchers`,
      figure: rate(journalWatched),
      unit: "/s",
      target: {
        value: rate(memoryWatched),
        better: "higher",
        label: `in memory: ${perSecond(rate(memoryWatched))}`,
      },
      notes: `request sent → event p99 ${ms(journalSent.p99)} (in memory ${ms(sent.p99)})`,
    },
  );
  return out;
}
