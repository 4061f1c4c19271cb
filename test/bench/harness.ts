/**
 * The benchmark harness: timing helpers (samples, percentiles, ops/s, bounded-concurrency runs), the suite
 * definition the registry in `suites.ts` holds, and the markdown table every suite's rows end up in. Figures are
 * printed, never asserted: a benchmark compares numbers measured side by side in one run.
 */

/** Which direction of a figure is an improvement. */
export type Better = "higher" | "lower";

/** What a figure is compared against: a fixed goal or a baseline measured in the same run. */
export interface Target {
  readonly value: number;
  readonly better: Better;
  /** Replaces the rendered target (e.g. "in-memory run: 3,100 /s" for a same-run baseline). */
  readonly label?: string;
}

/** One line of the results table. */
export interface Row {
  readonly benchmark: string;
  readonly figure: number;
  readonly unit: string;
  readonly target?: Target;
  readonly notes?: string;
}

export interface SuiteContext {
  /** A short smoke run: fewer objects and iterations; figures are indicative only. */
  readonly quick: boolean;
  /** Progress for the person waiting (stderr); never part of the table. */
  progress(message: string): void;
}

export interface Suite {
  readonly name: string;
  run(ctx: SuiteContext): Promise<Row[]>;
}

/** Declares a suite; list it in `test/bench/suites.ts` to register it. */
export function defineSuite(name: string, run: (ctx: SuiteContext) => Promise<Row[]>): Suite {
  return { name, run };
}

/** Summary statistics of latency samples (milliseconds). */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The nearest-rank percentile `p` (0–100) of `samples`: the smallest sample with at least p% of the samples at
 * or below it. Nearest-rank never interpolates, so every reported figure was actually observed.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError("percentile of no samples");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summary of no samples");
  let sum = 0;
  for (const s of samples) sum += s;
  return {
    count: samples.length,
    min: percentile(samples, 0),
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: percentile(samples, 100),
    mean: sum / samples.length,
  };
}

/** Operations per second for `count` operations taking `elapsedMs` in all. */
export function opsPerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : Number.POSITIVE_INFINITY;
}

/**
 * `figure` relative to `target`, oriented so that above 1 is better than the target: figure/target when higher
 * is better (throughput), target/figure when lower is better (latency).
 */
export function ratio(figure: number, target: number, better: Better): number {
  const [num, den] = better === "higher" ? [figure, target] : [target, figure];
  if (den === 0) return num === 0 ? Number.NaN : Number.POSITIVE_INFINITY;
  return num / den;
}

/** Runs `fn` `warmup` times unmeasured, then `iterations` times; returns each run's duration in ms. */
export async function measure(
  fn: (iteration: number) => unknown,
  options: { readonly iterations: number; readonly warmup?: number },
): Promise<number[]> {
  for (let i = 0; i < (options.warmup ?? 0); i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Latency of each task, the wall time of the whole run and the CPU time this process spent meanwhile. */
export interface ConcurrentRun {
  readonly samples: number[];
  readonly elapsedMs: number;
  /**
   * User + system CPU of the whole process (every party sharing its event loop) during the run, in ms. Unlike
   * wall time it barely moves when other processes compete for the machine's cores.
   */
  readonly cpuMs: number;
}

/**
 * Runs `task(0..count-1)` with at most `concurrency` in flight; each sample is one task's duration in ms.
 * The first failure stops new tasks and rejects.
 */
export async function measureConcurrent(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<ConcurrentRun> {
  const samples: number[] = new Array(count);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      const start = performance.now();
      try {
        await task(index);
      } catch (err) {
        failed = true;
        throw err;
      }
      samples[index] = performance.now() - start;
    }
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const elapsedMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { samples, elapsedMs, cpuMs: (used.user + used.system) / 1000 };
}

/** Concatenates runs of the same kind of task: samples joined, wall and CPU time summed. */
export function mergeRuns(runs: readonly ConcurrentRun[]): ConcurrentRun {
  return {
    samples: runs.flatMap((r) => r.samples),
    elapsedMs: runs.reduce((sum, r) => sum + r.elapsedMs, 0),
    cpuMs: runs.reduce((sum, r) => sum + r.cpuMs, 0),
  };
}

/**
 * Runs `rounds` rounds in which every variant runs one batch, rotating which goes first, and merges each
 * variant's batches. Variants compared this way see the same machine load and heap state, so their ratio holds
 * up on a busy machine where back-to-back runs would not.
 */
export async function interleave<K extends string>(
  rounds: number,
  variants: Readonly<Record<K, (round: number) => Promise<ConcurrentRun>>>,
): Promise<Record<K, ConcurrentRun>> {
  const names = Object.keys(variants) as K[];
  const batches = new Map<K, ConcurrentRun[]>(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as K;
      batches.get(name)?.push(await variants[name](round));
    }
  }
  return Object.fromEntries(names.map((n) => [n, mergeRuns(batches.get(n) ?? [])])) as Record<
    K,
    ConcurrentRun
  >;
}

/** Human-friendly number: thousands separators, fewer decimals as the value grows. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function withUnit(value: string, unit: string): string {
  return unit === "" ? value : `${value} ${unit}`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The results as one markdown table: `benchmark | figure | target | ratio | notes`. */
export function formatTable(rows: readonly Row[]): string {
  const lines = ["| benchmark | figure | target | ratio | notes |", "| --- | ---: | ---: | ---: | --- |"];
  for (const row of rows) {
    const figure = withUnit(formatNumber(row.figure), row.unit);
    const t = row.target;
    const target = !t
      ? "—"
      : (t.label ?? withUnit(`${t.better === "higher" ? "≥" : "≤"} ${formatNumber(t.value)}`, row.unit));
    const r = t ? `${formatNumber(ratio(row.figure, t.value, t.better))}×` : "—";
    lines.push(`| ${[row.benchmark, figure, target, r, row.notes ?? ""].map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}
