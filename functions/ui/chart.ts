/**
 * The geometry of a pool's chart, pure: its desired, current and ready counts over time as step lines (each value
 * holds until the next entry says otherwise, ending at the live counts now), and a marker per decision on the
 * desired line. Counts come from the history's entries (`to`, `current`, `ready` as recorded) and the pool's
 * status; times are the entries' own.
 */
import type { HistoryEntry, PoolOverview } from "../../shared/history";

export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 180;
const PAD = { left: 34, right: 12, top: 12, bottom: 24 };
/** The chart never spans less than this, so a fresh pool's first decisions are not squeezed against the axis. */
const MIN_SPAN_MS = 10 * 60_000;
/** Entries drawn as lines per pool: the newest (`vmpool history` has the rest). */
export const MAX_CHART_ENTRIES = 200;
/** Of those, the newest marked with a dot and its description (each costs the page some 300 bytes). */
export const MAX_MARKERS = 40;

export interface Marker {
  readonly x: number;
  readonly y: number;
  readonly entry: HistoryEntry;
}

export interface Chart {
  readonly desired: string;
  readonly current: string;
  readonly ready: string;
  readonly markers: readonly Marker[];
  /** Horizontal grid lines with their labels. */
  readonly yTicks: readonly { readonly y: number; readonly label: string }[];
  readonly xTicks: readonly { readonly x: number; readonly label: string; readonly anchor: string }[];
}

type Step = readonly [time: number, value: number];

function stepPath(points: readonly Step[], x: (t: number) => number, y: (v: number) => number): string {
  const [first, ...rest] = points;
  if (!first) return "";
  let d = `M${x(first[0]).toFixed(1)} ${y(first[1]).toFixed(1)}`;
  let last = first[1];
  for (const [t, v] of rest) {
    d += `H${x(t).toFixed(1)}`;
    if (v !== last) d += `V${y(v).toFixed(1)}`;
    last = v;
  }
  return d;
}

/** `HH:MM` in UTC (the page says so), or `MM-DD HH:MM` across days. */
function timeLabel(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  return span > 86_400_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** The chart of one pool at `now`. */
export function chartOf(pool: PoolOverview, now: Date): Chart {
  const entries = pool.entries.slice(-MAX_CHART_ENTRIES);
  const end = now.getTime();
  const times = entries.map((e) => Date.parse(e.at));
  const start = Math.min(end - MIN_SPAN_MS, ...times);
  const desired: Step[] = [];
  const current: Step[] = [];
  const ready: Step[] = [];
  let cur = entries[0]?.current ?? pool.current;
  let rdy = entries[0]?.ready ?? pool.ready;
  const first = entries[0];
  // Before the first entry the pool had its `from` count.
  desired.push([start, first ? first.from : pool.desired]);
  current.push([start, cur]);
  ready.push([start, rdy]);
  entries.forEach((entry, i) => {
    const t = times[i] ?? end;
    cur = entry.current ?? cur;
    rdy = entry.ready ?? rdy;
    desired.push([t, entry.to]);
    current.push([t, cur]);
    ready.push([t, rdy]);
  });
  desired.push([end, pool.desired]);
  current.push([end, pool.current]);
  ready.push([end, pool.ready]);
  const top = Math.max(1, ...[...desired, ...current, ...ready].map(([, v]) => v));
  const plotW = CHART_WIDTH - PAD.left - PAD.right;
  const plotH = CHART_HEIGHT - PAD.top - PAD.bottom;
  const span = Math.max(1, end - start);
  const x = (t: number) => PAD.left + ((t - start) / span) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const yStep = Math.max(1, Math.ceil(top / 4));
  const yTicks = [];
  for (let v = 0; v <= top; v += yStep) yTicks.push({ y: y(v), label: String(v) });
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({
    x: PAD.left + f * plotW,
    label: timeLabel(start + f * span, span),
    anchor: f === 0 ? "start" : f === 1 ? "end" : "middle",
  }));
  return {
    desired: stepPath(desired, x, y),
    current: stepPath(current, x, y),
    ready: stepPath(ready, x, y),
    markers: entries
      .map((entry, i) => ({ x: x(times[i] ?? end), y: y(entry.to), entry }))
      .slice(-MAX_MARKERS),
    yTicks,
    xTicks,
  };
}
