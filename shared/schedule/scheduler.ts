/**
 * The local scheduler: fires the same schedule definitions that `infra/aws` deploys as EventBridge rules, inside
 * one Node process (`npm start`). Clock and timers are injected so tests drive it without sleeping.
 */
import { ReasonedError } from "../errors";
import { logger } from "../log";
import { parseSchedule, type Schedule } from "./expression";
import { nextFireTime } from "./next";

/**
 * Default local cadence for definitions that ask for one: EventBridge rules cannot fire more often than once a
 * minute, but a developer watching `npm start` wants a reconcile pass every few seconds.
 */
export const LOCAL_DEFAULT_INTERVAL_MS = 10_000;

/** Node's timers overflow (and fire at once) past 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** One scheduled trigger: an EventBridge schedule expression and what it invokes. */
export interface ScheduleDefinition<T = unknown> {
  readonly name: string;
  readonly scheduleExpression: string;
  readonly target: T;
  /** Local-only interval replacing the expression when running in-process. */
  readonly localIntervalMs?: number;
}

/** Arms `callback` after `delayMs`; returns a function that cancels it. */
export type SetTimer = (callback: () => void, delayMs: number) => () => void;

export interface SchedulerOptions<T> {
  readonly definitions: readonly ScheduleDefinition<T>[];
  /** Invoked at each fire time; errors and rejections are logged and do not stop the schedule. */
  readonly fire: (definition: ScheduleDefinition<T>, scheduledAt: Date) => void | Promise<void>;
  /** Epoch milliseconds; defaults to `Date.now`. */
  readonly now?: () => number;
  readonly setTimer?: SetTimer;
  /** Fires every definition at this fixed interval instead of its expression or `localIntervalMs`. */
  readonly intervalOverrideMs?: number;
}

export interface RunningScheduler {
  /** Cancels every pending timer; fires already running finish on their own. */
  stop(): void;
  /** The next planned fire time per definition name (absent once a schedule is exhausted). */
  nextFireTimes(): ReadonlyMap<string, Date>;
}

interface Entry<T> {
  readonly definition: ScheduleDefinition<T>;
  readonly schedule: Schedule;
  readonly intervalMs: number | undefined;
  next: number | undefined;
  cancel: (() => void) | undefined;
  inFlight: boolean;
}

const defaultSetTimer: SetTimer = (callback, delayMs) => {
  const handle = setTimeout(callback, delayMs);
  return () => clearTimeout(handle);
};

/**
 * Starts firing each definition on its schedule (or interval). Every expression is parsed before any timer is
 * armed, so an invalid definition throws `InvalidSchedule` and nothing runs. A fire that is still running when
 * its next time comes is skipped rather than overlapped, and missed times are not replayed.
 */
export function startScheduler<T>(options: SchedulerOptions<T>): RunningScheduler {
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? defaultSetTimer;
  const log = logger("scheduler");
  const override = options.intervalOverrideMs;
  if (override !== undefined) checkInterval("intervalOverrideMs", override);
  checkUniqueNames(options.definitions);
  const entries = options.definitions.map((definition): Entry<T> => {
    const schedule = parseSchedule(definition.scheduleExpression);
    if (definition.localIntervalMs !== undefined) {
      checkInterval(`${definition.name}.localIntervalMs`, definition.localIntervalMs);
    }
    const intervalMs = override ?? definition.localIntervalMs;
    return { definition, schedule, intervalMs, next: undefined, cancel: undefined, inFlight: false };
  });
  let stopped = false;

  const plan = (entry: Entry<T>, from: number): number | undefined => {
    if (entry.intervalMs !== undefined) return from + entry.intervalMs;
    return nextFireTime(entry.schedule, new Date(from))?.getTime();
  };

  const arm = (entry: Entry<T>): void => {
    if (stopped || entry.next === undefined) return;
    const delay = Math.min(Math.max(entry.next - now(), 0), MAX_TIMER_DELAY_MS);
    entry.cancel = setTimer(() => wake(entry), delay);
  };

  const wake = (entry: Entry<T>): void => {
    entry.cancel = undefined;
    const due = entry.next;
    if (stopped || due === undefined) return;
    const current = now();
    if (current < due) {
      arm(entry);
      return;
    }
    run(entry, new Date(due));
    // Skip times missed while the process was busy or asleep instead of firing a burst of catch-up passes.
    let next = plan(entry, due);
    while (next !== undefined && next <= current)
      next = plan(entry, entry.intervalMs === undefined ? current : next);
    entry.next = next;
    if (next === undefined)
      log.info({ schedule: entry.definition.name }, "schedule exhausted; no further fires");
    arm(entry);
  };

  const run = (entry: Entry<T>, scheduledAt: Date): void => {
    const name = entry.definition.name;
    if (entry.inFlight) {
      log.warn({ schedule: name, scheduledAt }, "previous fire still running; skipping this one");
      return;
    }
    entry.inFlight = true;
    const invoke = async (): Promise<void> => {
      try {
        await options.fire(entry.definition, scheduledAt);
      } catch (err) {
        log.error({ schedule: name, scheduledAt, err }, "scheduled fire failed");
      } finally {
        entry.inFlight = false;
      }
    };
    void invoke();
  };

  const startedAt = now();
  for (const entry of entries) {
    entry.next = plan(entry, startedAt);
    arm(entry);
  }

  return {
    stop() {
      stopped = true;
      for (const entry of entries) {
        entry.cancel?.();
        entry.cancel = undefined;
      }
    },
    nextFireTimes() {
      const times = new Map<string, Date>();
      for (const entry of entries) {
        if (entry.next !== undefined && !stopped) times.set(entry.definition.name, new Date(entry.next));
      }
      return times;
    },
  };
}

function checkUniqueNames(definitions: readonly ScheduleDefinition<unknown>[]): void {
  const seen = new Set<string>();
  for (const { name } of definitions) {
    if (seen.has(name)) {
      throw new ReasonedError("InvalidSchedule", `schedule definition name "${name}" is used twice`, {
        status: 400,
        details: { field: "name", name },
      });
    }
    seen.add(name);
  }
}

function checkInterval(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ReasonedError(
      "InvalidSchedule",
      `${field} must be a positive integer of milliseconds, got ${value}`,
      {
        status: 400,
        details: { field },
      },
    );
  }
}
