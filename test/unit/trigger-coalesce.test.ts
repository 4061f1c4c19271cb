/**
 * The Node server's coalescing pass trigger and follow-up passes, on an injected clock: a burst becomes one pass,
 * one pass per pool at a time, one more after a request during a pass, follow-ups doubling from 1 s to 30 s and
 * reset once the pool converges.
 */
import { describe, expect, it } from "vitest";
import type { PassResult, PoolRef } from "../../shared/reconcile";
import type { SetTimer } from "../../shared/schedule";
import { createPassCoalescer, needsFollowUp, nextFollowUpDelay } from "../../shared/trigger";

/** A manual clock: timers fire only when the test advances time. */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const setTimer: SetTimer = (fn, delayMs) => {
    const id = next++;
    timers.push({ at: now + delayMs, fn, id });
    return () => {
      timers = timers.filter((t) => t.id !== id);
    };
  };
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      await flush();
      const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.fn();
    }
    now = until;
    await flush();
  };
  return { setTimer, advance, now: () => now, armed: () => timers.length };
}

const REF: PoolRef = { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" };
const OTHER: PoolRef = {
  kind: "VirtualMachineInstanceReplicaSet",
  namespace: "default",
  name: "testreplicaset",
};

const summary = { desired: 3, current: 3, ready: 3, creating: 0, deleting: 0 };
function outcome(kind: PassResult["outcome"], s: Partial<typeof summary> = {}, ref = REF): PassResult {
  return {
    ref,
    outcome: kind,
    reason: kind,
    message: "",
    actions: [],
    statusWritten: false,
    plan: { summary: { ...summary, ...s }, status: { paused: false } } as unknown as PassResult["plan"] &
      object,
  };
}
const converged = () => outcome("Converged");
const acted = () => outcome("Acted");

/** A coalescer whose passes resolve when the test says so, one deferred per pass. */
function setup(results: () => PassResult = converged) {
  const clock = manualClock();
  const runs: { ref: PoolRef; at: number; reasons: readonly string[]; finish: (r?: PassResult) => void }[] =
    [];
  let running = 0;
  let maxRunning = 0;
  const coalescer = createPassCoalescer({
    debounceMs: 50,
    setTimer: clock.setTimer,
    now: clock.now,
    run: (ref, reasons) =>
      new Promise<PassResult>((resolve) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs.push({
          ref,
          at: clock.now(),
          reasons,
          finish: (r) => {
            running -= 1;
            resolve(r ?? results());
          },
        });
      }),
  });
  return { clock, runs, coalescer, maxRunning: () => maxRunning };
}

describe("createPassCoalescer", () => {
  it("turns a burst of requests for one pool into one pass soon", async () => {
    const { clock, runs, coalescer } = setup();
    for (let i = 0; i < 1000; i++) coalescer.request(REF, `vmi ${i}`);
    await clock.advance(49);
    expect(runs).toHaveLength(0);
    await clock.advance(1);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.reasons).toEqual(["vmi 0", "vmi 1", "vmi 2", "vmi 3", "vmi 4", "995 more"]);
    runs[0]?.finish();
    await clock.advance(60_000);
    expect(runs).toHaveLength(1);
    expect(coalescer.pending()).toBe(0);
  });

  it("runs one pass per pool at a time, and exactly one more for requests made while it ran", async () => {
    const { clock, runs, coalescer, maxRunning } = setup();
    coalescer.request(REF, "a");
    await clock.advance(50);
    for (let i = 0; i < 10; i++) coalescer.request(REF, "during");
    await clock.advance(1000);
    expect(runs).toHaveLength(1);
    runs[0]?.finish();
    await clock.advance(50);
    expect(runs).toHaveLength(2);
    expect(maxRunning()).toBe(1);
    runs[1]?.finish();
    await clock.advance(60_000);
    expect(runs).toHaveLength(2);
  });

  it("keeps pools apart", async () => {
    const { clock, runs, coalescer } = setup();
    coalescer.request(REF, "a");
    coalescer.request(OTHER, "b");
    await clock.advance(50);
    expect(runs.map((r) => r.ref)).toEqual([REF, OTHER]);
  });

  it("follows an unconverged pass up with backoff from 1 s doubling to 30 s, reset once converged", async () => {
    const { clock, runs, coalescer } = setup(acted);
    coalescer.request(REF, "scale");
    await clock.advance(50);
    const gaps: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = runs.length;
      runs[before - 1]?.finish(acted());
      const finishedAt = clock.now();
      await clock.advance(30_000);
      expect(runs).toHaveLength(before + 1);
      gaps.push((runs[before]?.at ?? 0) - finishedAt);
      await clock.advance(0);
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    runs.at(-1)?.finish(converged());
    await clock.advance(120_000);
    const count = runs.length;
    expect(coalescer.pending()).toBe(0);
    coalescer.request(REF, "again");
    await clock.advance(50);
    runs.at(-1)?.finish(acted());
    const finishedAt = clock.now();
    await clock.advance(30_000);
    expect(runs).toHaveLength(count + 2);
    expect((runs.at(-1)?.at ?? 0) - finishedAt).toBe(1000);
  });

  it("lets an event cut a follow-up's backoff short", async () => {
    const { clock, runs, coalescer } = setup();
    coalescer.request(REF, "scale");
    await clock.advance(50);
    await clock.advance(1500); // a long pass: started at 50, ends at 1550, follow-up armed for 2550
    runs[0]?.finish(acted());
    await clock.advance(100);
    coalescer.request(REF, "vmi ready");
    await clock.advance(50);
    expect(runs).toHaveLength(2);
    expect(runs[1]?.at).toBe(1700);
  });

  it("starts event-driven passes of one pool at least 1 s apart once a burst is under way, about one a second", async () => {
    const { clock, runs, coalescer, maxRunning } = setup();
    // 10 s of VMI status updates, one every 10 ms; each pass takes 100 ms.
    const finished = new Set<number>();
    const finishDue = (ageMs: number) =>
      runs.forEach((run, i) => {
        if (!finished.has(i) && clock.now() - run.at >= ageMs) {
          finished.add(i);
          run.finish();
        }
      });
    for (let t = 0; t < 10_000; t += 10) {
      coalescer.request(REF, `vmi ${t}`);
      await clock.advance(10);
      finishDue(100);
    }
    await clock.advance(2000);
    finishDue(0);
    await clock.advance(60_000);
    const starts = runs.map((r) => r.at);
    expect(starts[0]).toBe(50);
    // One quick pass after the first is free; from then on they start at least 1 s apart.
    expect((starts[1] ?? 0) - (starts[0] ?? 0)).toBeLessThan(1000);
    for (let i = 2; i < starts.length; i++)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(runs.length).toBeGreaterThanOrEqual(10);
    expect(runs.length).toBeLessThanOrEqual(12);
    expect(maxRunning()).toBe(1);
  });

  it("follows up a pass that threw", async () => {
    const clock = manualClock();
    let calls = 0;
    const coalescer = createPassCoalescer({
      setTimer: clock.setTimer,
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error("boom");
        return converged();
      },
    });
    coalescer.request(REF, "x");
    await clock.advance(50);
    await clock.advance(1000);
    expect(calls).toBe(2);
  });

  it("follows up pools a scheduled pass left unconverged, unless a pass of them is already pending", async () => {
    const { clock, runs, coalescer } = setup();
    coalescer.afterPass(converged());
    coalescer.afterPass(outcome("LeaseHeld", {}, OTHER));
    await clock.advance(1000);
    expect(runs.map((r) => r.ref)).toEqual([OTHER]);
    coalescer.afterPass(outcome("Acted", {}, OTHER));
    await clock.advance(30_000);
    expect(runs).toHaveLength(1);
  });

  it("arms nothing once stopped", async () => {
    const { clock, runs, coalescer } = setup();
    coalescer.request(REF, "x");
    coalescer.stop();
    coalescer.request(REF, "y");
    await clock.advance(60_000);
    expect(runs).toHaveLength(0);
    expect(clock.armed()).toBe(0);
  });
});

describe("needsFollowUp", () => {
  it.each([
    // wrote something: children are starting or the status will change
    [acted(), true],
    // another pass holds the lease: look again after it
    [outcome("LeaseHeld"), true],
    [outcome("Failed"), true],
    // nothing to write, everything ready
    [converged(), false],
    // nothing to write yet, but VMs are still becoming ready
    [outcome("Converged", { ready: 1 }), true],
    [outcome("Converged", { deleting: 1 }), true],
    [outcome("StoodDown"), false],
    [outcome("NotFound"), false],
    [outcome("Skipped"), false],
  ])("%#", (result, expected) => {
    expect(needsFollowUp(result)).toBe(expected);
  });

  it("does not chase a paused pool", () => {
    const paused = outcome("Converged", { ready: 0 });
    (paused.plan as { status: { paused: boolean } }).status.paused = true;
    expect(needsFollowUp(paused)).toBe(false);
  });

  it("doubles from 1 s to 30 s", () => {
    const delays: number[] = [];
    let d: number | undefined;
    for (let i = 0; i < 7; i++) {
      d = nextFollowUpDelay(d);
      delays.push(d);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
