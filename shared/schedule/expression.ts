/**
 * Parsing of EventBridge schedule expressions (`rate(...)` and six-field `cron(...)`), following the grammar in the
 * EventBridge user guide ("Cron expressions reference", "Rate expressions"). Pure: no clock, no I/O.
 *
 * Why not a library: checked npm for EventBridge-dialect parsers. `cron-parser` implements Unix/Quartz cron
 * (0-based or 0/7 Sunday, optional seconds, no `?`-in-exactly-one-day-field rule, no year field semantics);
 * `aws-cron-parser` handles only the cron half (no `rate()`) and has open reports of wrong results for unsorted
 * lists; the validators (`aws-cron-validate`, `aws-cron-expression-validator`) are tiny, unmaintained and do not
 * compute fire times. None implements the dialect exactly, so we keep a small parser whose rules are tested
 * row by row against the documentation.
 */
import { ReasonedError } from "../errors";

export type RateUnit = "minute" | "hour" | "day";

/** `rate(value unit)`: fires every `intervalMs`. */
export interface RateSchedule {
  readonly kind: "rate";
  readonly expression: string;
  readonly value: number;
  readonly unit: RateUnit;
  readonly intervalMs: number;
}

/** Day-of-month field after parsing. `any` is `?`. */
export type DayOfMonthRule =
  | { readonly kind: "any" }
  | { readonly kind: "days"; readonly days: readonly number[] }
  | { readonly kind: "last" }
  | { readonly kind: "nearestWeekday"; readonly day: number };

/** Day-of-week field after parsing (1 = Sunday … 7 = Saturday). `any` is `?`. */
export type DayOfWeekRule =
  | { readonly kind: "any" }
  | { readonly kind: "days"; readonly days: readonly number[] }
  | { readonly kind: "lastInMonth"; readonly weekday: number }
  | { readonly kind: "nthInMonth"; readonly weekday: number; readonly nth: number };

/** `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, evaluated in UTC. Value lists are sorted, unique. */
export interface CronSchedule {
  readonly kind: "cron";
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly dayOfMonth: DayOfMonthRule;
  readonly months: readonly number[];
  readonly dayOfWeek: DayOfWeekRule;
  readonly years: readonly number[];
}

export type Schedule = RateSchedule | CronSchedule;

const MINUTE_MS = 60_000;
const UNIT_MS: Record<RateUnit, number> = {
  minute: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  day: 24 * 60 * MINUTE_MS,
};

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted in place of numbers, index 0 meaning `min`. */
  readonly names?: readonly string[];
  /** Ranges like `FRI-MON` wrap past `max`; the year field does not. */
  readonly wraps: boolean;
  /** The wildcard characters the documentation lists for this field, beyond digits. */
  readonly wildcards: string;
}

const MINUTES: FieldSpec = { label: "Minutes", min: 0, max: 59, wraps: true, wildcards: ",-*/" };
const HOURS: FieldSpec = { label: "Hours", min: 0, max: 23, wraps: true, wildcards: ",-*/" };
const DAY_OF_MONTH: FieldSpec = { label: "Day-of-month", min: 1, max: 31, wraps: true, wildcards: ",-*?/LW" };
const MONTH: FieldSpec = {
  label: "Month",
  min: 1,
  max: 12,
  names: MONTH_NAMES,
  wraps: true,
  wildcards: ",-*/",
};
const DAY_OF_WEEK: FieldSpec = {
  label: "Day-of-week",
  min: 1,
  max: 7,
  names: WEEKDAY_NAMES,
  wraps: true,
  wildcards: ",-*?L#",
};
const YEAR: FieldSpec = { label: "Year", min: 1970, max: 2199, wraps: false, wildcards: ",-*/" };

/**
 * Parses an EventBridge schedule expression.
 * @throws ReasonedError `InvalidSchedule` (status 400) whose message names the offending field and part.
 */
export function parseSchedule(expression: string): Schedule {
  if (expression.startsWith("rate(") && expression.endsWith(")")) return parseRate(expression);
  if (expression.startsWith("cron(") && expression.endsWith(")")) return parseCron(expression);
  throw invalid(
    expression,
    'expected "rate(value unit)" or "cron(Minutes Hours Day-of-month Month Day-of-week Year)"',
  );
}

function parseRate(expression: string): RateSchedule {
  const match = /^rate\((\d+) +([a-z]+)\)$/.exec(expression);
  if (!match) throw invalid(expression, 'rate must be "rate(value unit)", e.g. "rate(5 minutes)"');
  const [, rawValue = "", rawUnit = ""] = match;
  const value = Number(rawValue);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalid(expression, `rate value "${rawValue}" must be a positive integer`, { part: rawValue });
  }
  const unit = rateUnit(rawUnit);
  if (unit === undefined) {
    throw invalid(expression, `rate unit "${rawUnit}" must be minute(s), hour(s) or day(s)`, {
      part: rawUnit,
    });
  }
  // The rules API rejects "rate(1 minutes)" and "rate(5 minute)": singular exactly when the value is 1.
  const singular = rawUnit === unit;
  if (value === 1 && !singular) {
    throw invalid(expression, `rate unit "${rawUnit}" must be singular ("${unit}") when the value is 1`, {
      part: rawUnit,
    });
  }
  if (value !== 1 && singular) {
    throw invalid(expression, `rate unit "${rawUnit}" must be plural ("${unit}s") when the value is not 1`, {
      part: rawUnit,
    });
  }
  const intervalMs = value * UNIT_MS[unit];
  if (!Number.isSafeInteger(intervalMs)) throw invalid(expression, `rate value "${rawValue}" is too large`);
  return { kind: "rate", expression, value, unit, intervalMs };
}

function rateUnit(raw: string): RateUnit | undefined {
  const base = raw.endsWith("s") ? raw.slice(0, -1) : raw;
  return base === "minute" || base === "hour" || base === "day" ? base : undefined;
}

function parseCron(expression: string): CronSchedule {
  const body = expression.slice("cron(".length, -1).trim();
  const fields = body === "" ? [] : body.split(/\s+/);
  if (fields.length !== 6) {
    throw invalid(
      expression,
      `cron needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.length}`,
    );
  }
  const [minutes = "", hours = "", dom = "", month = "", dow = "", year = ""] = fields;
  const domIsAny = dom === "?";
  const dowIsAny = dow === "?";
  // "You can't specify the Day-of-month and Day-of-week fields in the same cron expression": exactly one is "?".
  if (domIsAny === dowIsAny) {
    throw invalid(
      expression,
      domIsAny
        ? 'Day-of-month and Day-of-week are both "?"; exactly one of them must be "?"'
        : `Day-of-month "${dom}" and Day-of-week "${dow}" are both set; exactly one of them must be "?"`,
      { field: "Day-of-month" },
    );
  }
  return {
    kind: "cron",
    expression,
    minutes: parseValueField(expression, MINUTES, minutes),
    hours: parseValueField(expression, HOURS, hours),
    dayOfMonth: domIsAny ? { kind: "any" } : parseDayOfMonth(expression, dom),
    months: parseValueField(expression, MONTH, month),
    dayOfWeek: dowIsAny ? { kind: "any" } : parseDayOfWeek(expression, dow),
    years: parseValueField(expression, YEAR, year),
  };
}

function parseDayOfMonth(expression: string, text: string): DayOfMonthRule {
  checkWildcards(expression, DAY_OF_MONTH, text);
  if (text === "L") return { kind: "last" };
  if (text.includes("W")) {
    const match = /^(\d+)W$/.exec(text);
    if (!match) {
      throw fieldError(
        expression,
        DAY_OF_MONTH,
        text,
        '"W" must follow a single day, as in "3W", alone in the field',
      );
    }
    return { kind: "nearestWeekday", day: parseValue(expression, DAY_OF_MONTH, match[1] ?? "", text) };
  }
  if (text.includes("L")) {
    throw fieldError(
      expression,
      DAY_OF_MONTH,
      text,
      '"L" (last day of the month) must be alone in the field',
    );
  }
  return { kind: "days", days: parseList(expression, DAY_OF_MONTH, text) };
}

function parseDayOfWeek(expression: string, text: string): DayOfWeekRule {
  checkWildcards(expression, DAY_OF_WEEK, text);
  if (text.includes("#")) {
    // "If you use a '#' character, you can define only one expression in the day-of-week field."
    const match = /^([A-Za-z]+|\d+)#(\d+)$/.exec(text);
    if (!match) {
      throw fieldError(
        expression,
        DAY_OF_WEEK,
        text,
        '"#" must be a single "weekday#n" expression, as in "2#3"',
      );
    }
    const weekday = parseValue(expression, DAY_OF_WEEK, match[1] ?? "", text);
    const nth = Number(match[2]);
    if (nth < 1 || nth > 5) {
      throw fieldError(expression, DAY_OF_WEEK, text, `occurrence "${match[2]}" after "#" must be 1-5`);
    }
    return { kind: "nthInMonth", weekday, nth };
  }
  // "L" alone is the last day of the week (Saturday); "6L" is the last Friday of the month.
  if (text === "L") return { kind: "days", days: [7] };
  if (text.includes("L")) {
    const match = /^([A-Za-z]+|\d+)L$/.exec(text);
    if (!match || match[1]?.toUpperCase().endsWith("L")) {
      throw fieldError(
        expression,
        DAY_OF_WEEK,
        text,
        '"L" must be alone or follow a single weekday, as in "6L"',
      );
    }
    return { kind: "lastInMonth", weekday: parseValue(expression, DAY_OF_WEEK, match[1] ?? "", text) };
  }
  return { kind: "days", days: parseList(expression, DAY_OF_WEEK, text) };
}

function parseValueField(expression: string, spec: FieldSpec, text: string): number[] {
  checkWildcards(expression, spec, text);
  return parseList(expression, spec, text);
}

/** Rejects characters the documentation does not list for the field, naming the first one found. */
function checkWildcards(expression: string, spec: FieldSpec, text: string): void {
  if (text === "") throw fieldError(expression, spec, text, "is empty");
  for (const char of text) {
    if (/[0-9]/.test(char)) continue;
    // Letters of month/weekday names ("JUL", "WED") are checked by the value parser, not here.
    if (spec.names !== undefined && /[A-Za-z]/.test(char)) continue;
    if (spec.wildcards.includes(char)) continue;
    throw fieldError(
      expression,
      spec,
      text,
      `"${char}" is not allowed here (allowed: digits ${spec.wildcards})`,
    );
  }
  if (text.includes("?")) {
    throw fieldError(expression, spec, text, '"?" must be alone in the field');
  }
}

function parseList(expression: string, spec: FieldSpec, text: string): number[] {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") throw fieldError(expression, spec, text, "has an empty list item");
    for (const value of parseItem(expression, spec, item, text)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

/** One list item: `*`, `v`, `a-b`, with an optional `/step` (`*` or a start value before the slash). */
function parseItem(expression: string, spec: FieldSpec, item: string, text: string): number[] {
  const [rangePart = "", stepPart, extra] = item.split("/");
  if (extra !== undefined) throw fieldError(expression, spec, text, `"${item}" has more than one "/"`);
  const step = stepPart === undefined ? 1 : parseStep(expression, spec, stepPart, text);
  const span = spec.max - spec.min + 1;
  let start: number;
  let length: number;
  if (rangePart === "*") {
    start = spec.min;
    length = span;
  } else if (rangePart.includes("-")) {
    const [from = "", to = "", more] = rangePart.split("-");
    if (more !== undefined) throw fieldError(expression, spec, text, `"${rangePart}" is not a range "a-b"`);
    start = parseValue(expression, spec, from, text);
    const end = parseValue(expression, spec, to, text);
    if (end < start && !spec.wraps) {
      throw fieldError(expression, spec, text, `range "${rangePart}" ends before it starts`);
    }
    length = end >= start ? end - start + 1 : span - (start - end) + 1;
  } else {
    start = parseValue(expression, spec, rangePart, text);
    // "1/10" means from 1 to the end of the field in steps of 10; a bare value is just itself.
    length = stepPart === undefined ? 1 : spec.max - start + 1;
  }
  const values: number[] = [];
  for (let offset = 0; offset < length; offset += step) {
    values.push(spec.min + ((start - spec.min + offset) % span));
  }
  return values;
}

function parseStep(expression: string, spec: FieldSpec, raw: string, text: string): number {
  const step = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  const span = spec.max - spec.min + 1;
  if (!(step >= 1 && step <= span)) {
    throw fieldError(expression, spec, text, `step "${raw}" must be an integer from 1 to ${span}`);
  }
  return step;
}

function parseValue(expression: string, spec: FieldSpec, raw: string, text: string): number {
  if (/^\d+$/.test(raw)) {
    const value = Number(raw);
    if (value < spec.min || value > spec.max) {
      throw fieldError(expression, spec, text, `value "${raw}" is outside ${spec.min}-${spec.max}`);
    }
    return value;
  }
  const index = spec.names?.indexOf(raw.toUpperCase()) ?? -1;
  if (index >= 0) return spec.min + index;
  const accepted = spec.names ? ` (a number ${spec.min}-${spec.max} or ${spec.names.join(",")})` : "";
  throw fieldError(expression, spec, text, `"${raw}" is not a valid value${accepted}`);
}

function fieldError(expression: string, spec: FieldSpec, part: string, problem: string): ReasonedError {
  return invalid(expression, `${spec.label} "${part}": ${problem}`, { field: spec.label, part });
}

function invalid(expression: string, problem: string, details: Record<string, unknown> = {}): ReasonedError {
  return new ReasonedError("InvalidSchedule", `invalid schedule expression "${expression}": ${problem}`, {
    status: 400,
    details: { expression, ...details },
  });
}
