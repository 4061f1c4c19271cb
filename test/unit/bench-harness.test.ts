import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatNumber,
  formatTable,
  interleave,
  measureConcurrent,
  mergeRuns,
  opsPerSecond,
  percentile,
  ratio,
  summarize,
} from "../bench/harness";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
  it.each([
    // p50 of 1..100 is the 50th smallest
    [hundred, 50, 50],
    // p99 of 1..100 is the 99th smallest, never an interpolated 99.01
    [hundred, 99, 99],
    // p100 is the maximum
    [hundred, 100, 100],
    // p0 is the minimum
    [hundred, 0, 1],
    // a single sample is every percentile
    [[7], 99, 7],
    // rank rounds up: p50 of four samples is the 2nd
    [[4, 1, 3, 2], 50, 2],
    // p99 of ten samples is the largest (rank ceil(9.9) = 10)
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
  ])("percentile(%j, %d) = %d", (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it("does not reorder the caller's samples", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });

  it.each([
    // no samples: nothing to report
    [[], 50],
    // p outside 0..100
    [[1], 101],
    [[1], -1],
    [[1], Number.NaN],
  ])("rejects percentile(%j, %d)", (samples, p) => {
    expect(() => percentile(samples, p)).toThrow(RangeError);
  });

  it("returns an observed sample that never decreases as p grows", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (samples, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(samples).toContain(percentile(samples, lo));
          expect(percentile(samples, lo)).toBeLessThanOrEqual(percentile(samples, hi));
        },
      ),
    );
  });
});

describe("summarize", () => {
  it("reports count, extremes, percentiles and mean", () => {
    expect(summarize([5, 1, 3])).toEqual({ count: 3, min: 1, p50: 3, p99: 5, max: 5, mean: 3 });
  });
});

describe("ratio (above 1 = better than target)", () => {
  it.each([
    // throughput above its target
    [3000, 2000, "higher", 1.5],
    // throughput below its target
    [1000, 2000, "higher", 0.5],
    // latency under its target is better: target / figure
    [25, 50, "lower", 2],
    // latency over its target
    [100, 50, "lower", 0.5],
    // zero latency beats any target
    [0, 50, "lower", Number.POSITIVE_INFINITY],
    // zero over zero has no meaning
    [0, 0, "higher", Number.NaN],
  ] as const)("ratio(%d, %d, %s) = %d", (figure, target, better, expected) => {
    expect(ratio(figure, target, better)).toBe(expected);
  });
});

describe("opsPerSecond", () => {
  it.each([
    // 2,000 operations in 1 s
    [2000, 1000, 2000],
    // 500 operations in 250 ms
    [500, 250, 2000],
    // no measurable time
    [10, 0, Number.POSITIVE_INFINITY],
  ])("opsPerSecond(%d, %d) = %d", (count, ms, expected) => {
    expect(opsPerSecond(count, ms)).toBe(expected);
  });
});

describe("formatNumber", () => {
  it.each([
    // large figures get separators and no decimals
    [12345.6, "12,346"],
    // mid-size figures one decimal
    [54.49, "54.5"],
    // small figures two decimals
    [0.123, "0.12"],
    [-0.39, "-0.39"],
    [Number.NaN, "n/a"],
    [Number.POSITIVE_INFINITY, "∞"],
  ])("formatNumber(%d) = %s", (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});

describe("formatTable", () => {
  it("renders targets, oriented ratios, baselines and escaped notes", () => {
    const table = formatTable([
      { benchmark: "creates", figure: 3000, unit: "/s", target: { value: 2000, better: "higher" } },
      { benchmark: "list p50", figure: 25, unit: "ms", target: { value: 50, better: "lower" }, notes: "a|b" },
      {
        benchmark: "watched",
        figure: 90,
        unit: "/s",
        target: { value: 180, better: "higher", label: "base" },
      },
      { benchmark: "info", figure: 1.5, unit: "" },
    ]).split("\n");
    expect(table).toEqual([
      "| benchmark | figure | target | ratio | notes |",
      "| --- | ---: | ---: | ---: | --- |",
      "| creates | 3,000 /s | ≥ 2,000 /s | 1.50× |  |",
      "| list p50 | 25.0 ms | ≤ 50.0 ms | 2.00× | a\\|b |",
      "| watched | 90.0 /s | base | 0.50× |  |",
      "| info | 1.50 | — | — |  |",
    ]);
  });
});

describe("measureConcurrent", () => {
  it("runs every index once with at most `concurrency` in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const run = await measureConcurrent(20, 3, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      seen.push(i);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
    });
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(run.samples).toHaveLength(20);
    expect(run.samples.every((s) => s >= 0)).toBe(true);
  });

  it("rejects with the first failure and starts no new tasks after it", async () => {
    const started: number[] = [];
    const failing = measureConcurrent(100, 2, async (i) => {
      started.push(i);
      await new Promise((resolve) => setImmediate(resolve));
      if (i === 3) throw new Error("boom");
    });
    await expect(failing).rejects.toThrow("boom");
    expect(started.length).toBeLessThan(10);
  });
});

describe("interleave", () => {
  it("runs one batch per variant per round, rotating who goes first, and merges each variant's batches", async () => {
    const order: string[] = [];
    const batch = (name: string, ms: number) => async (round: number) => {
      order.push(`${name}${round}`);
      return { samples: [ms + round], elapsedMs: ms, cpuMs: 1 };
    };
    const runs = await interleave(3, { a: batch("a", 10), b: batch("b", 20) });
    expect(order).toEqual(["a0", "b0", "b1", "a1", "a2", "b2"]);
    expect(runs.a).toEqual({ samples: [10, 11, 12], elapsedMs: 30, cpuMs: 3 });
    expect(runs.b).toEqual({ samples: [20, 21, 22], elapsedMs: 60, cpuMs: 3 });
  });

  it("merges no runs into an empty run", () => {
    expect(mergeRuns([])).toEqual({ samples: [], elapsedMs: 0, cpuMs: 0 });
  });
});
