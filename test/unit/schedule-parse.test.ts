import { describe, expect, it } from "vitest";
import { hasReason, ReasonedError } from "../../shared/errors";
import { type CronSchedule, parseSchedule } from "../../shared/schedule";

function cron(expression: string): CronSchedule {
  const schedule = parseSchedule(expression);
  if (schedule.kind !== "cron") throw new Error(`expected a cron schedule for ${expression}`);
  return schedule;
}

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

describe("parseSchedule: rate expressions", () => {
  it.each([
    // value 1 takes the singular unit
    ["rate(1 minute)", 1, "minute", 60_000],
    // plural otherwise
    ["rate(5 minutes)", 5, "minute", 300_000],
    // hours
    ["rate(1 hour)", 1, "hour", 3_600_000],
    ["rate(12 hours)", 12, "hour", 43_200_000],
    // days
    ["rate(1 day)", 1, "day", 86_400_000],
    ["rate(7 days)", 7, "day", 604_800_000],
  ])("%s is valid", (expression, value, unit, intervalMs) => {
    expect(parseSchedule(expression)).toEqual({ kind: "rate", expression, value, unit, intervalMs });
  });

  it.each([
    // value 1 requires the singular unit
    ["rate(1 minutes)", 'unit "minutes" must be singular'],
    ["rate(1 hours)", 'unit "hours" must be singular'],
    // any other value requires the plural unit
    ["rate(5 minute)", 'unit "minute" must be plural'],
    // value must be a positive integer
    ["rate(0 minutes)", 'value "0" must be a positive integer'],
    ["rate(-1 minutes)", "rate must be"],
    ["rate(1.5 hours)", "rate must be"],
    // seconds are not a rule unit (the local scheduler has its own interval override instead)
    ["rate(10 seconds)", 'unit "seconds" must be minute(s), hour(s) or day(s)'],
    // weeks are not a unit either
    ["rate(2 weeks)", 'unit "weeks"'],
    // units are lowercase
    ["rate(5 Minutes)", "rate must be"],
    // value and unit are both required
    ["rate(5)", "rate must be"],
    ["rate()", "rate must be"],
  ])("%s is invalid", (expression, fragment) => {
    expect(() => parseSchedule(expression)).toThrow(fragment);
  });
});

describe("parseSchedule: cron expressions", () => {
  it.each([
    // every day at 12:00 UTC (user guide example)
    ["cron(0 12 * * ? *)"],
    // 10:15 on the last Friday of each month, 2019-2022 (user guide example)
    ["cron(15 10 ? * 6L 2019-2022)"],
    // every 15 minutes
    ["cron(0/15 * * * ? *)"],
    // 08:00 on the weekday nearest the 1st
    ["cron(0 8 1W * ? *)"],
    // 10:00 on the third Monday of each month
    ["cron(0 10 ? * 2#3 *)"],
    // weekdays at 18:00, names in a range
    ["cron(0 18 ? * MON-FRI *)"],
    // quarterly, month names in a list
    ["cron(0 10 1 JAN,APR,JUL,OCT ? *)"],
    // every 10 minutes on weekdays between 08:00 and 17:59 (user guide example)
    ["cron(0/10 8-17 ? * MON-FRI *)"],
    // last day of the month
    ["cron(0 0 L * ? *)"],
    // "L" alone in Day-of-week is Saturday
    ["cron(0 0 ? * L *)"],
    // "*" in Day-of-week with "?" in Day-of-month
    ["cron(0 * ? * * *)"],
    // range with step, wrap-around hour range
    ["cron(5-45/20 22-2 * * ? *)"],
    // names are case-insensitive; extra spaces separate fields too
    ["cron(0  9 ? * mon *)"],
    // a date that never exists still parses (it just never fires)
    ["cron(0 0 30 FEB ? *)"],
  ])("%s is valid", (expression) => {
    expect(parseSchedule(expression).kind).toBe("cron");
  });

  it("expands fields into sorted values and day rules", () => {
    expect(cron("cron(0/15 * * * ? *)")).toMatchObject({
      minutes: [0, 15, 30, 45],
      hours: range(0, 23),
      dayOfMonth: { kind: "days", days: range(1, 31) },
      months: range(1, 12),
      dayOfWeek: { kind: "any" },
      years: range(1970, 2199),
    });
    expect(cron("cron(15 10 ? * 6L 2019-2022)")).toMatchObject({
      dayOfMonth: { kind: "any" },
      dayOfWeek: { kind: "lastInMonth", weekday: 6 },
      years: [2019, 2020, 2021, 2022],
    });
    expect(cron("cron(0 8 1W * ? *)").dayOfMonth).toEqual({ kind: "nearestWeekday", day: 1 });
    expect(cron("cron(0 10 ? * 2#3 *)").dayOfWeek).toEqual({ kind: "nthInMonth", weekday: 2, nth: 3 });
    expect(cron("cron(0 0 L * ? *)").dayOfMonth).toEqual({ kind: "last" });
    expect(cron("cron(0 0 ? * L *)").dayOfWeek).toEqual({ kind: "days", days: [7] });
    expect(cron("cron(0 18 ? * MON-FRI *)").dayOfWeek).toEqual({ kind: "days", days: [2, 3, 4, 5, 6] });
    expect(cron("cron(0 10 1 JAN,APR,JUL,OCT ? *)").months).toEqual([1, 4, 7, 10]);
    expect(cron("cron(1/10 * * * ? *)").minutes).toEqual([1, 11, 21, 31, 41, 51]);
    expect(cron("cron(5-45/20 22-2 * * ? *)")).toMatchObject({
      minutes: [5, 25, 45],
      hours: [0, 1, 2, 22, 23],
    });
    expect(cron("cron(12,6 0 ? * FRI-MON *)")).toMatchObject({
      minutes: [6, 12],
      dayOfWeek: { kind: "days", days: [1, 2, 6, 7] },
    });
  });

  it.each([
    // five fields (Unix cron) are not enough: Year is required
    ["cron(0 12 * * ?)", "Minutes Hours Day-of-month Month Day-of-week Year", undefined],
    // seven fields (Quartz seconds) are too many
    ["cron(0 0 12 * * ? *)", "got 7", undefined],
    // both day fields set
    ["cron(0 12 * * * *)", 'exactly one of them must be "?"', "Day-of-month"],
    ["cron(0 12 1 * MON *)", 'exactly one of them must be "?"', "Day-of-month"],
    // both day fields "?"
    ["cron(0 12 ? * ? *)", 'exactly one of them must be "?"', "Day-of-month"],
    // values out of range, per field
    ["cron(60 * * * ? *)", 'Minutes "60": value "60" is outside 0-59', "Minutes"],
    ["cron(0 24 * * ? *)", 'Hours "24"', "Hours"],
    ["cron(0 0 32 * ? *)", 'Day-of-month "32"', "Day-of-month"],
    ["cron(0 0 0 * ? *)", 'Day-of-month "0"', "Day-of-month"],
    ["cron(0 0 1 13 ? *)", 'Month "13"', "Month"],
    ["cron(0 0 ? * 0 *)", 'Day-of-week "0": value "0" is outside 1-7', "Day-of-week"],
    ["cron(0 0 ? * 8 *)", 'Day-of-week "8"', "Day-of-week"],
    ["cron(0 0 * * ? 1969)", 'Year "1969"', "Year"],
    ["cron(0 0 * * ? 2200)", 'Year "2200"', "Year"],
    // unknown names
    ["cron(0 0 1 FOO ? *)", 'Month "FOO": "FOO" is not a valid value', "Month"],
    ["cron(0 0 ? * MONDAY *)", 'Day-of-week "MONDAY"', "Day-of-week"],
    // names only where the field has them
    ["cron(0 0 1 * ? MON)", 'Year "MON"', "Year"],
    // "/" is not a Day-of-week wildcard
    ["cron(0 10 ? * 3/2 *)", 'Day-of-week "3/2": "/" is not allowed here', "Day-of-week"],
    // "L" and "W" are day wildcards only
    ["cron(L 0 * * ? *)", 'Minutes "L"', "Minutes"],
    ["cron(0 0 1 L ? *)", 'Month "L"', "Month"],
    ["cron(0 0 ? * 2W *)", 'Day-of-week "2W"', "Day-of-week"],
    // "?" must stand alone and only in a day field
    ["cron(? 0 * * ? *)", 'Minutes "?"', "Minutes"],
    ["cron(0 0 1,? * ? *)", '"?" must be alone', "Day-of-month"],
    // only one "#" expression in Day-of-week (user guide example)
    ["cron(0 10 ? * 3#1,6#3 *)", 'Day-of-week "3#1,6#3"', "Day-of-week"],
    // "#" occurrence is 1-5
    ["cron(0 10 ? * 2#6 *)", 'occurrence "6" after "#" must be 1-5', "Day-of-week"],
    // "W" needs a single day
    ["cron(0 8 W * ? *)", 'Day-of-month "W"', "Day-of-month"],
    ["cron(0 8 1-5W * ? *)", 'Day-of-month "1-5W"', "Day-of-month"],
    // "LW" and "L-2" are not in EventBridge's documented grammar
    ["cron(0 8 LW * ? *)", 'Day-of-month "LW"', "Day-of-month"],
    ["cron(0 8 L-2 * ? *)", 'Day-of-month "L-2"', "Day-of-month"],
    // "L" must stand alone in Day-of-month
    ["cron(0 8 1,L * ? *)", '"L" (last day of the month) must be alone', "Day-of-month"],
    // steps must be 1..span
    ["cron(0/0 * * * ? *)", 'step "0"', "Minutes"],
    ["cron(0/61 * * * ? *)", 'step "61"', "Minutes"],
    // malformed list and range
    ["cron(1,,2 * * * ? *)", "empty list item", "Minutes"],
    ["cron(1-2-3 * * * ? *)", 'is not a range "a-b"', "Minutes"],
    // years do not wrap around
    ["cron(0 0 * * ? 2030-2020)", 'range "2030-2020" ends before it starts', "Year"],
    // the wrapper is lowercase and exact
    ["CRON(0 12 * * ? *)", 'expected "rate(value unit)" or "cron(', undefined],
    ["cron(0 12 * * ? *", 'expected "rate(value unit)" or "cron(', undefined],
    ["", 'expected "rate(value unit)"', undefined],
  ])("%s is invalid", (expression, fragment, field) => {
    let caught: unknown;
    try {
      parseSchedule(expression);
    } catch (err) {
      caught = err;
    }
    expect(hasReason(caught, "InvalidSchedule")).toBe(true);
    const err = caught as ReasonedError;
    expect(err.status).toBe(400);
    expect(err.message).toContain(fragment);
    expect(err.details.field).toBe(field);
  });

  it("reports the expression in the error", () => {
    expect(() => parseSchedule("cron(0 12 ? * ? *)")).toThrow(ReasonedError);
    expect(() => parseSchedule("cron(0 12 ? * ? *)")).toThrow('"cron(0 12 ? * ? *)"');
  });
});
