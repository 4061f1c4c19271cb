/**
 * Schedules: EventBridge `rate(...)`/`cron(...)` expressions parsed with EventBridge's grammar, their next fire
 * times in UTC, and the in-process scheduler that fires the same definitions locally. Owns no AWS calls; the
 * rules themselves are deployed by `infra/aws`.
 */
export type {
  CronSchedule,
  DayOfMonthRule,
  DayOfWeekRule,
  RateSchedule,
  RateUnit,
  Schedule,
} from "./expression";
export { parseSchedule } from "./expression";
export { nextFireTime } from "./next";
export type { RunningScheduler, ScheduleDefinition, SchedulerOptions, SetTimer } from "./scheduler";
export { LOCAL_DEFAULT_INTERVAL_MS, startScheduler } from "./scheduler";
