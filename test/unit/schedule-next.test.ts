import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextFireTime, parseSchedule } from "../../shared/schedule";

/** The next `count` fire times after `after`, as ISO strings. */
function fireTimes(expression: string, after: string, count = 3): string[] {
  const schedule = parseSchedule(expression);
  const out: string[] = [];
  let cursor: Date | undefined = new Date(after);
  for (let i = 0; i < count; i++) {
    cursor = nextFireTime(schedule, cursor);
    if (cursor === undefined) break;
    out.push(cursor.toISOString());
  }
  return out;
}

describe("nextFireTime (UTC)", () => {
  it.each([
    // rate: epoch-aligned minutes, strictly after the given instant
    ["rate(1 minute)", "2024-05-01T10:00:30Z", ["2024-05-01T10:01:00.000Z", "2024-05-01T10:02:00.000Z"]],
    // rate exactly on a boundary moves to the next one
    ["rate(5 minutes)", "2024-05-01T10:05:00Z", ["2024-05-01T10:10:00.000Z", "2024-05-01T10:15:00.000Z"]],
    // rate(1 day) fires at UTC midnight
    ["rate(1 day)", "2024-05-01T23:59:59Z", ["2024-05-02T00:00:00.000Z", "2024-05-03T00:00:00.000Z"]],
    // daily at noon: same day if before, otherwise next day
    ["cron(0 12 * * ? *)", "2024-05-01T11:59:59Z", ["2024-05-01T12:00:00.000Z", "2024-05-02T12:00:00.000Z"]],
    ["cron(0 12 * * ? *)", "2024-05-01T12:00:00Z", ["2024-05-02T12:00:00.000Z", "2024-05-03T12:00:00.000Z"]],
    // every 15 minutes across the hour
    [
      "cron(0/15 * * * ? *)",
      "2024-05-01T10:50:00Z",
      ["2024-05-01T11:00:00.000Z", "2024-05-01T11:15:00.000Z"],
    ],
    // last Friday of the month, bounded to 2019-2022 (user guide example)
    [
      "cron(15 10 ? * 6L 2019-2022)",
      "2019-01-01T00:00:00Z",
      ["2019-01-25T10:15:00.000Z", "2019-02-22T10:15:00.000Z", "2019-03-29T10:15:00.000Z"],
    ],
    // ... and it stops after 2022
    ["cron(15 10 ? * 6L 2019-2022)", "2022-12-30T10:15:00Z", []],
    // weekday nearest the 1st: Sat 1 June 2024 → Mon 3rd; Sun 1 Sept 2024 → Mon 2nd; Mon 1 July stays
    ["cron(0 8 1W * ? *)", "2024-05-31T00:00:00Z", ["2024-06-03T08:00:00.000Z", "2024-07-01T08:00:00.000Z"]],
    ["cron(0 8 1W * ? *)", "2024-08-15T00:00:00Z", ["2024-09-02T08:00:00.000Z", "2024-10-01T08:00:00.000Z"]],
    // nearest weekday never leaves the month: Sat 31 Aug 2024 → Fri 30th; Sun 30 June 2024 (last day) → Fri 28th
    ["cron(0 8 31W * ? *)", "2024-08-01T00:00:00Z", ["2024-08-30T08:00:00.000Z", "2024-10-31T08:00:00.000Z"]],
    ["cron(0 8 30W * ? *)", "2024-06-01T00:00:00Z", ["2024-06-28T08:00:00.000Z", "2024-07-30T08:00:00.000Z"]],
    // third Monday (2 = MON) of each month
    [
      "cron(0 10 ? * 2#3 *)",
      "2024-05-01T00:00:00Z",
      ["2024-05-20T10:00:00.000Z", "2024-06-17T10:00:00.000Z"],
    ],
    // fifth Friday exists only in some months
    [
      "cron(0 10 ? * FRI#5 *)",
      "2024-01-01T00:00:00Z",
      ["2024-03-29T10:00:00.000Z", "2024-05-31T10:00:00.000Z"],
    ],
    // weekdays at 18:00: Friday then Monday
    [
      "cron(0 18 ? * MON-FRI *)",
      "2024-05-03T18:00:00Z",
      ["2024-05-06T18:00:00.000Z", "2024-05-07T18:00:00.000Z"],
    ],
    // "L" alone in Day-of-week is every Saturday
    ["cron(0 0 ? * L *)", "2024-05-01T00:00:00Z", ["2024-05-04T00:00:00.000Z", "2024-05-11T00:00:00.000Z"]],
    // last day of the month, including a leap February
    [
      "cron(0 0 L * ? *)",
      "2024-01-31T00:00:00Z",
      ["2024-02-29T00:00:00.000Z", "2024-03-31T00:00:00.000Z", "2024-04-30T00:00:00.000Z"],
    ],
    // the 31st skips short months
    ["cron(0 0 31 * ? *)", "2024-04-01T00:00:00Z", ["2024-05-31T00:00:00.000Z", "2024-07-31T00:00:00.000Z"]],
    // 29 February only in leap years
    ["cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", ["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]],
    // a date that never exists never fires
    ["cron(0 0 30 FEB ? *)", "2024-01-01T00:00:00Z", []],
    // a year in the past never fires again
    ["cron(0 0 1 1 ? 2020)", "2024-01-01T00:00:00Z", []],
    // the last possible year still fires
    ["cron(59 23 31 12 ? 2199)", "2199-12-31T23:58:00Z", ["2199-12-31T23:59:00.000Z"]],
    // wrap-around hour range 22-2
    [
      "cron(0 22-2 * * ? *)",
      "2024-05-01T21:00:00Z",
      ["2024-05-01T22:00:00.000Z", "2024-05-01T23:00:00.000Z"],
    ],
  ])("%s after %s", (expression, after, expected) => {
    expect(fireTimes(expression, after, expected.length === 0 ? 1 : expected.length)).toEqual(expected);
  });

  it("ignores sub-minute parts of `after` and returns whole minutes", () => {
    const next = nextFireTime(parseSchedule("cron(* * * * ? *)"), new Date("2024-05-01T10:00:59.999Z"));
    expect(next?.toISOString()).toBe("2024-05-01T10:01:00.000Z");
  });

  it("property: a cron fire time is after `after`, whole-minute, matches every field, and none is skipped", () => {
    const list = (min: number, max: number) =>
      fc
        .uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 })
        .map((values) => values.join(","));
    const arb = fc.record({
      minutes: list(0, 59),
      hours: list(0, 23),
      weekdays: fc.option(list(1, 7), { nil: undefined }),
      days: list(1, 28),
      after: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
    });
    fc.assert(
      fc.property(arb, ({ minutes, hours, weekdays, days, after }) => {
        const dayFields = weekdays === undefined ? `${days} * ?` : `? * ${weekdays}`;
        const schedule = parseSchedule(`cron(${minutes} ${hours} ${dayFields} *)`);
        const next = nextFireTime(schedule, new Date(after));
        if (next === undefined) return false;
        const matches = (d: Date): boolean =>
          minutes.split(",").map(Number).includes(d.getUTCMinutes()) &&
          hours.split(",").map(Number).includes(d.getUTCHours()) &&
          (weekdays === undefined
            ? days.split(",").map(Number).includes(d.getUTCDate())
            : weekdays
                .split(",")
                .map(Number)
                .includes(d.getUTCDay() + 1));
        expect(next.getTime()).toBeGreaterThan(after);
        expect(next.getTime() % 60_000).toBe(0);
        expect(matches(next)).toBe(true);
        // No matching minute lies strictly between `after` and `next` (probe the last 3 hours before it).
        for (let t = next.getTime() - 60_000; t > after && t > next.getTime() - 3 * 3_600_000; t -= 60_000) {
          expect(matches(new Date(t))).toBe(false);
        }
        return true;
      }),
      { numRuns: 150 },
    );
  });

  it("property: a rate fire time is the next multiple of the interval after `after`", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.constantFrom("minutes", "hours", "days"),
        fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }),
        (value, unit, after) => {
          const expression = value === 1 ? `rate(1 ${unit.slice(0, -1)})` : `rate(${value} ${unit})`;
          const schedule = parseSchedule(expression);
          if (schedule.kind !== "rate") return false;
          const next = nextFireTime(schedule, new Date(after))?.getTime() ?? Number.NaN;
          expect(next % schedule.intervalMs).toBe(0);
          expect(next).toBeGreaterThan(after);
          expect(next - after).toBeLessThanOrEqual(schedule.intervalMs);
          return true;
        },
      ),
    );
  });
});
