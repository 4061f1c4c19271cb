import { setImmediate as flushIo } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LOCAL_AUTOSCALE_INTERVAL_MS, SCHEDULES } from "../../infra/aws/definitions";
import { hasReason } from "../../shared/errors";
import {
  LOCAL_DEFAULT_INTERVAL_MS,
  type ScheduleDefinition,
  type SetTimer,
  startScheduler,
} from "../../shared/schedule";

/** A manual clock with timers that only run when the test advances time. */
function fakeTime(startIso: string) {
  let current = Date.parse(startIso);
  let sequence = 0;
  const timers: { due: number; seq: number; callback: () => void; cancelled: boolean }[] = [];
  const setTimer: SetTimer = (callback, delayMs) => {
    const timer = { due: current + delayMs, seq: sequence++, callback, cancelled: false };
    timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  const pending = () => timers.filter((t) => !t.cancelled);
  const advanceTo = async (target: number): Promise<void> => {
    for (;;) {
      const next = pending().sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (next === undefined || next.due > target) break;
      next.cancelled = true;
      current = Math.max(current, next.due);
      next.callback();
      // Let async fire() bodies settle before the next timer, as a real event loop would.
      await flushIo();
    }
    current = target;
  };
  return {
    now: () => current,
    setTimer,
    pendingCount: () => pending().length,
    setCalls: () => sequence,
    advance: (ms: number) => advanceTo(current + ms),
    advanceToIso: (iso: string) => advanceTo(Date.parse(iso)),
  };
}

function recorder<T>() {
  const fired: { name: string; at: string }[] = [];
  const fire = (definition: ScheduleDefinition<T>, scheduledAt: Date): void => {
    fired.push({ name: definition.name, at: scheduledAt.toISOString() });
  };
  return { fired, fire };
}

const RECONCILE_ONLY = SCHEDULES.filter((d) => d.target === "reconcile");

describe("startScheduler", () => {
  it("fires the deployed schedules at their local intervals: reconcile every 10 s, autoscale every 15 s (both rate(1 minute) on EventBridge)", async () => {
    const time = fakeTime("2024-05-01T10:00:03Z");
    const { fired, fire } = recorder<string>();
    expect(SCHEDULES.map((d) => d.scheduleExpression)).toEqual(["rate(1 minute)", "rate(1 minute)"]);
    expect(SCHEDULES[0]?.localIntervalMs).toBe(LOCAL_DEFAULT_INTERVAL_MS);
    expect(SCHEDULES[1]?.localIntervalMs).toBe(LOCAL_AUTOSCALE_INTERVAL_MS);
    const scheduler = startScheduler({
      definitions: SCHEDULES,
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advance(35_000);
    expect(fired).toEqual([
      { name: "reconcile-schedule", at: "2024-05-01T10:00:13.000Z" },
      { name: "autoscale-schedule", at: "2024-05-01T10:00:18.000Z" },
      { name: "reconcile-schedule", at: "2024-05-01T10:00:23.000Z" },
      { name: "autoscale-schedule", at: "2024-05-01T10:00:33.000Z" },
      { name: "reconcile-schedule", at: "2024-05-01T10:00:33.000Z" },
    ]);
    scheduler.stop();
  });

  it("fires on the EventBridge expression itself when no local interval is set", async () => {
    const time = fakeTime("2024-05-01T10:07:30Z");
    const { fired, fire } = recorder<string>();
    const definitions: ScheduleDefinition<string>[] = [
      { name: "quarter", scheduleExpression: "cron(0/15 * * * ? *)", target: "reconcile" },
      { name: "five", scheduleExpression: "rate(5 minutes)", target: "autoscale" },
      ...SCHEDULES.map(({ localIntervalMs: _dropped, ...rest }) => rest),
    ];
    const scheduler = startScheduler({ definitions, fire, now: time.now, setTimer: time.setTimer });
    await time.advanceToIso("2024-05-01T10:31:00Z");
    const at = (name: string) => fired.filter((f) => f.name === name).map((f) => f.at);
    expect(at("quarter")).toEqual(["2024-05-01T10:15:00.000Z", "2024-05-01T10:30:00.000Z"]);
    expect(at("five")).toEqual([
      "2024-05-01T10:10:00.000Z",
      "2024-05-01T10:15:00.000Z",
      "2024-05-01T10:20:00.000Z",
      "2024-05-01T10:25:00.000Z",
      "2024-05-01T10:30:00.000Z",
    ]);
    expect(at("reconcile-schedule")).toHaveLength(24); // 10:08 … 10:31
    expect(scheduler.nextFireTimes().get("quarter")?.toISOString()).toBe("2024-05-01T10:45:00.000Z");
    scheduler.stop();
  });

  it("applies intervalOverrideMs to every definition", async () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    const { fired, fire } = recorder<string>();
    const definitions = [{ name: "daily", scheduleExpression: "cron(0 12 * * ? *)", target: "x" }];
    const scheduler = startScheduler({
      definitions,
      fire,
      now: time.now,
      setTimer: time.setTimer,
      intervalOverrideMs: 2_000,
    });
    await time.advance(6_000);
    expect(fired.map((f) => f.at)).toEqual([
      "2024-05-01T10:00:02.000Z",
      "2024-05-01T10:00:04.000Z",
      "2024-05-01T10:00:06.000Z",
    ]);
    scheduler.stop();
  });

  it("stop() cancels pending timers and nothing fires afterwards", async () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    const { fired, fire } = recorder<string>();
    const scheduler = startScheduler({
      definitions: SCHEDULES,
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advance(10_000);
    expect(fired).toHaveLength(1);
    scheduler.stop();
    expect(time.pendingCount()).toBe(0);
    await time.advance(60_000);
    expect(fired).toHaveLength(1);
    expect(scheduler.nextFireTimes().size).toBe(0);
  });

  it("rejects an invalid expression before arming any timer", () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    const definitions = [
      { name: "ok", scheduleExpression: "rate(1 minute)", target: "x" },
      { name: "bad", scheduleExpression: "rate(1 minutes)", target: "x" },
    ];
    let caught: unknown;
    try {
      startScheduler({ definitions, fire: () => undefined, now: time.now, setTimer: time.setTimer });
    } catch (err) {
      caught = err;
    }
    expect(hasReason(caught, "InvalidSchedule")).toBe(true);
    expect(time.setCalls()).toBe(0);
  });

  it.each([
    // zero is not an interval
    [{ intervalOverrideMs: 0 }, "intervalOverrideMs"],
    // fractions of a millisecond are not either
    [{ intervalOverrideMs: 1.5 }, "intervalOverrideMs"],
  ])("rejects a bad interval override %o", (extra, fragment) => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    expect(() =>
      startScheduler({
        definitions: SCHEDULES,
        fire: () => undefined,
        now: time.now,
        setTimer: time.setTimer,
        ...extra,
      }),
    ).toThrow(fragment);
    expect(time.setCalls()).toBe(0);
  });

  it("keeps firing after a fire throws or rejects", async () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    let calls = 0;
    const fire = async (): Promise<void> => {
      calls++;
      if (calls === 1) throw new Error("boom");
      if (calls === 2) return Promise.reject(new Error("rejected"));
    };
    const scheduler = startScheduler({
      definitions: RECONCILE_ONLY,
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advance(30_000);
    expect(calls).toBe(3);
    scheduler.stop();
  });

  it("skips a fire while the previous one is still running instead of overlapping", async () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    const release: (() => void)[] = [];
    let started = 0;
    const fire = (): Promise<void> => {
      started++;
      return new Promise((resolve) => release.push(resolve));
    };
    const scheduler = startScheduler({
      definitions: RECONCILE_ONLY,
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advance(30_000);
    expect(started).toBe(1);
    release[0]?.();
    await flushIo();
    await time.advance(10_000);
    expect(started).toBe(2);
    scheduler.stop();
  });

  it("does not replay times missed while the clock jumped", async () => {
    const time = fakeTime("2024-05-01T10:00:00Z");
    const { fired, fire } = recorder<string>();
    let now = time.now();
    const scheduler = startScheduler({
      definitions: [{ name: "minute", scheduleExpression: "rate(1 minute)", target: "x" }],
      fire,
      now: () => now,
      setTimer: time.setTimer,
    });
    // The process sleeps for an hour; the timer wakes late once.
    now += 3_600_000;
    await time.advance(60_000);
    expect(fired.map((f) => f.at)).toEqual(["2024-05-01T10:01:00.000Z"]);
    expect(scheduler.nextFireTimes().get("minute")?.toISOString()).toBe("2024-05-01T11:01:00.000Z");
    scheduler.stop();
  });

  it("re-arms waits longer than a Node timer can hold without firing early", async () => {
    const time = fakeTime("2024-01-02T00:00:00Z");
    const { fired, fire } = recorder<string>();
    const scheduler = startScheduler({
      definitions: [{ name: "new-year", scheduleExpression: "cron(0 0 1 1 ? *)", target: "x" }],
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advanceToIso("2024-12-31T23:59:00Z");
    expect(fired).toEqual([]);
    expect(time.setCalls()).toBeGreaterThan(1);
    await time.advanceToIso("2025-01-01T00:00:00Z");
    expect(fired).toEqual([{ name: "new-year", at: "2025-01-01T00:00:00.000Z" }]);
    scheduler.stop();
  });

  it("stops arming once a schedule is exhausted", async () => {
    const time = fakeTime("2030-12-31T23:58:00Z");
    const { fired, fire } = recorder<string>();
    const scheduler = startScheduler({
      definitions: [{ name: "last", scheduleExpression: "cron(59 23 31 12 ? 2030)", target: "x" }],
      fire,
      now: time.now,
      setTimer: time.setTimer,
    });
    await time.advance(3_600_000);
    expect(fired).toHaveLength(1);
    expect(time.pendingCount()).toBe(0);
    expect(scheduler.nextFireTimes().has("last")).toBe(false);
  });

  it("rejects duplicate definition names", () => {
    const definitions = [
      { name: "same", scheduleExpression: "rate(1 minute)", target: "x" },
      { name: "same", scheduleExpression: "rate(5 minutes)", target: "y" },
    ];
    expect(() =>
      startScheduler({ definitions, fire: () => undefined, setTimer: () => () => undefined }),
    ).toThrow('schedule definition name "same" is used twice');
  });
});
