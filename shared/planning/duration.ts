/**
 * Parsing of Go `time.Duration` strings ("5m", "1h30m", "300s", "1.5h", "250ms"), the JSON form of
 * metav1.Duration used by `spec.autohealing.minFailingToStartDuration`.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const SEGMENT = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds, or undefined when `text` is not a valid Go duration. */
export function parseGoDuration(text: string): number | undefined {
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[-+]/, "");
  if (body === "0") return 0;
  if (body === "") return undefined;
  SEGMENT.lastIndex = 0;
  let total = 0;
  while (SEGMENT.lastIndex < body.length) {
    const match = SEGMENT.exec(body);
    if (match === null) return undefined;
    const unit = UNIT_MS[match[2] as string];
    if (unit === undefined) return undefined;
    total += Number(match[1]) * unit;
  }
  return sign * total;
}
