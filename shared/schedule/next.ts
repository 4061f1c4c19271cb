/**
 * Next fire time of a parsed schedule, in UTC (EventBridge rules evaluate cron in UTC+0, one-minute precision).
 */
import type { CronSchedule, DayOfMonthRule, DayOfWeekRule, RateSchedule, Schedule } from "./expression";

const MINUTE_MS = 60_000;

/**
 * The first time strictly after `after` at which `schedule` fires, or `undefined` if it never fires again
 * (a cron whose Year field is exhausted, or a date that never exists such as `cron(0 0 30 FEB ? *)`).
 *
 * Rate schedules are anchored at the Unix epoch: EventBridge anchors them at rule creation, which a stateless
 * process cannot know, and epoch alignment keeps the same cadence while making the result reproducible.
 */
export function nextFireTime(schedule: Schedule, after: Date): Date | undefined {
  return schedule.kind === "rate" ? nextRateTime(schedule, after) : nextCronTime(schedule, after);
}

function nextRateTime(schedule: RateSchedule, after: Date): Date {
  const interval = schedule.intervalMs;
  return new Date((Math.floor(after.getTime() / interval) + 1) * interval);
}

function nextCronTime(schedule: CronSchedule, after: Date): Date | undefined {
  const start = new Date((Math.floor(after.getTime() / MINUTE_MS) + 1) * MINUTE_MS);
  const startYear = start.getUTCFullYear();
  const startMonth = start.getUTCMonth() + 1;
  const startDay = start.getUTCDate();
  const startHour = start.getUTCHours();
  const startMinute = start.getUTCMinutes();
  for (const year of schedule.years) {
    if (year < startYear) continue;
    const sameYear = year === startYear;
    for (const month of schedule.months) {
      if (sameYear && month < startMonth) continue;
      const sameMonth = sameYear && month === startMonth;
      for (const day of matchingDays(schedule.dayOfMonth, schedule.dayOfWeek, year, month)) {
        if (sameMonth && day < startDay) continue;
        const sameDay = sameMonth && day === startDay;
        for (const hour of schedule.hours) {
          if (sameDay && hour < startHour) continue;
          const sameHour = sameDay && hour === startHour;
          const minute = schedule.minutes.find((m) => !sameHour || m >= startMinute);
          if (minute !== undefined) return new Date(Date.UTC(year, month - 1, day, hour, minute));
        }
      }
    }
  }
  return undefined;
}

/** The days of `month` (1-12) in `year` selected by the day fields; exactly one of them is `any`. */
function matchingDays(dom: DayOfMonthRule, dow: DayOfWeekRule, year: number, month: number): number[] {
  const last = daysInMonth(year, month);
  switch (dom.kind) {
    case "days":
      return dom.days.filter((day) => day <= last);
    case "last":
      return [last];
    case "nearestWeekday":
      return dom.day <= last ? [nearestWeekday(year, month, dom.day, last)] : [];
    case "any":
      return matchingWeekdays(dow, year, month, last);
  }
}

function matchingWeekdays(dow: DayOfWeekRule, year: number, month: number, last: number): number[] {
  switch (dow.kind) {
    case "any":
    case "days": {
      const wanted = dow.kind === "any" ? undefined : new Set(dow.days);
      const days: number[] = [];
      for (let day = 1; day <= last; day++) {
        if (wanted === undefined || wanted.has(weekdayOf(year, month, day))) days.push(day);
      }
      return days;
    }
    case "lastInMonth": {
      const offset = (weekdayOf(year, month, last) - dow.weekday + 7) % 7;
      return [last - offset];
    }
    case "nthInMonth": {
      const first = 1 + ((dow.weekday - weekdayOf(year, month, 1) + 7) % 7);
      const day = first + 7 * (dow.nth - 1);
      return day <= last ? [day] : [];
    }
  }
}

/**
 * "3W" is the weekday (Mon-Fri) nearest the 3rd, never crossing into another month (Quartz semantics, which
 * EventBridge's `W` documents): a Saturday moves back to Friday unless it is the 1st, a Sunday forward to Monday
 * unless it is the last day.
 */
function nearestWeekday(year: number, month: number, day: number, last: number): number {
  const weekday = weekdayOf(year, month, day);
  if (weekday === 7) return day === 1 ? day + 2 : day - 1;
  if (weekday === 1) return day === last ? day - 2 : day + 1;
  return day;
}

/** 1 = Sunday … 7 = Saturday, as in EventBridge's Day-of-week field. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
