/**
 * The autoscaling memory a stateless function must carry between invocations (what kube-controller-manager keeps in
 * process memory per HPA): unstabilized recommendations, scale-up and scale-down events, and the last scale time.
 * Recording follows `horizontal.go`; pruning keeps every query result identical while bounding the annotation.
 */
import { z } from "zod";

/** A number observed at a moment (epoch milliseconds). */
export interface TimedValue {
  readonly value: number;
  readonly at: number;
}

/** What decisions remember. Replica changes in events are absolute (non-negative), as upstream stores them. */
export interface History {
  /**
   * False when nothing was persisted yet (or it was unreadable): like a freshly started controller, the next
   * decision seeds the recommendations with the current replica count, which holds scale-down for one window.
   */
  readonly seeded: boolean;
  readonly recommendations: readonly TimedValue[];
  readonly scaleUpEvents: readonly TimedValue[];
  readonly scaleDownEvents: readonly TimedValue[];
  readonly lastScaleTime: number | null;
}

/** A decoded history plus why it had to be discarded, if it was. */
export interface DecodedHistory extends History {
  readonly problem?: { readonly reason: string; readonly message: string };
}

/** Annotation on the HPA object holding the encoded history (a domain we own). */
export const HISTORY_ANNOTATION = "vmpool-functions.io/autoscale-history";

/** Caps that keep the annotation within a few KB (each entry encodes to about 20 bytes). */
export const MAX_RECOMMENDATIONS = 60;
export const MAX_SCALE_EVENTS = 30;
const MAX_ENCODED_LENGTH = 16_384;

/** The state of a target nobody has decided for yet. */
export const EMPTY_HISTORY: History = {
  seeded: false,
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  lastScaleTime: null,
};

/** Upstream `recordInitialRecommendation`: the first decision ever seeds the list with the current count. */
export function seedHistory(history: History, currentReplicas: number, now: number): History {
  if (history.seeded) return history;
  return { ...history, seeded: true, recommendations: [{ value: currentReplicas, at: now }] };
}

/**
 * Appends a raw recommendation and drops entries no future stabilization query can see: those older than the
 * longest window, and those with both a later entry ≥ them (which answers any max query they are in) and a later
 * entry ≤ them (which answers any min query). Since windows only slide forward, every future min/max over a window
 * returns what upstream's full list would; what is left is at most two entries per distinct value. The hard cap is
 * a backstop past that.
 */
export function recordRecommendation(
  history: History,
  recommendation: number,
  now: number,
  longestWindowSeconds: number,
): History {
  const cutoff = now - longestWindowSeconds * 1000;
  const inWindow = [...history.recommendations, { value: recommendation, at: now }].filter(
    (entry) => entry.at >= cutoff,
  );
  const kept: TimedValue[] = [];
  let laterMax = Number.NEGATIVE_INFINITY;
  let laterMin = Number.POSITIVE_INFINITY;
  for (let i = inWindow.length - 1; i >= 0; i -= 1) {
    const entry = inWindow[i] as TimedValue;
    if (entry.value > laterMax || entry.value < laterMin) kept.push(entry);
    laterMax = Math.max(laterMax, entry.value);
    laterMin = Math.min(laterMin, entry.value);
  }
  kept.reverse();
  return { ...history, recommendations: kept.slice(-MAX_RECOMMENDATIONS) };
}

/**
 * Upstream `storeScaleEvent`: events older than the direction's longest policy period are outdated, and the
 * outdated one with the highest index is overwritten in place; otherwise the event is appended. Positions matter
 * (they choose what is overwritten next), so entries are never reordered. Also sets the last scale time.
 */
export function recordScale(
  history: History,
  from: number,
  to: number,
  now: number,
  longestPeriodSeconds: { readonly up: number; readonly down: number } | null,
): History {
  const withTime = { ...history, lastScaleTime: now };
  if (longestPeriodSeconds === null || from === to) return withTime;
  const up = to > from;
  const events = up ? history.scaleUpEvents : history.scaleDownEvents;
  const cutoff = now - (up ? longestPeriodSeconds.up : longestPeriodSeconds.down) * 1000;
  const next = [...events];
  const event = { value: Math.abs(to - from), at: now };
  const outdatedIndex = next.findLastIndex((entry) => entry.at < cutoff);
  if (outdatedIndex >= 0) next[outdatedIndex] = event;
  else next.push(event);
  const capped = capEvents(next);
  return up ? { ...withTime, scaleUpEvents: capped } : { ...withTime, scaleDownEvents: capped };
}

// Past the cap (more than 30 scale events in one direction within its longest policy period, far beyond one per
// 15 s sync for realistic periods) the two oldest events merge into one carrying their sum at the later time: the
// change stays counted at least as long as either was, so that direction's own limit only gets stricter (the
// opposite direction's period start shifts by the same amount, the one approximation of upstream).
function capEvents(events: readonly TimedValue[]): TimedValue[] {
  const next = [...events];
  while (next.length > MAX_SCALE_EVENTS) {
    const byAge = next.map((entry, index) => ({ entry, index })).sort((a, b) => a.entry.at - b.entry.at);
    const [oldest, second] = byAge;
    if (!oldest || !second) break;
    next[second.index] = { value: oldest.entry.value + second.entry.value, at: second.entry.at };
    next.splice(oldest.index, 1);
  }
  return next;
}

/** Sum of the changes recorded strictly after `now − periodSeconds` (upstream `getReplicasChangePerPeriod`). */
export function changeWithinPeriod(
  events: readonly TimedValue[],
  periodSeconds: number,
  now: number,
): number {
  const cutoff = now - periodSeconds * 1000;
  return events.reduce((sum, entry) => (entry.at > cutoff ? sum + entry.value : sum), 0);
}

// Encoded form: {"v":1,"r":[[replicas,ms],…],"u":[[added,ms],…],"d":[[removed,ms],…],"l":ms|null}.
const EntrySchema = z.tuple([z.number().int().min(0), z.number().int().min(0)]);
const EncodedHistorySchema = z.object({
  v: z.literal(1),
  r: z.array(EntrySchema).max(MAX_RECOMMENDATIONS * 4),
  u: z.array(EntrySchema).max(MAX_SCALE_EVENTS * 4),
  d: z.array(EntrySchema).max(MAX_SCALE_EVENTS * 4),
  l: z.number().int().min(0).nullable(),
});

const toEntry = (entry: TimedValue): [number, number] => [entry.value, entry.at];
const fromEntry = ([value, at]: readonly [number, number]): TimedValue => ({ value, at });

/** Serializes a history for the annotation (bounded by the caps above). */
export function encodeHistory(history: History): string {
  return JSON.stringify({
    v: 1,
    r: history.recommendations.slice(-MAX_RECOMMENDATIONS).map(toEntry),
    u: capEvents(history.scaleUpEvents).map(toEntry),
    d: capEvents(history.scaleDownEvents).map(toEntry),
    l: history.lastScaleTime,
  });
}

/**
 * Reads the annotation. Absent → empty history; unreadable → empty history plus a reason (the target then behaves
 * like after a controller restart, which is the safe side). Never throws.
 */
export function decodeHistory(text: string | undefined): DecodedHistory {
  if (text === undefined || text === "") return EMPTY_HISTORY;
  if (text.length > MAX_ENCODED_LENGTH) {
    return discarded(
      "AutoscaleHistoryTooLarge",
      `annotation is ${text.length} bytes, limit ${MAX_ENCODED_LENGTH}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return discarded("CorruptAutoscaleHistory", `annotation is not JSON: ${(error as Error).message}`);
  }
  const parsed = EncodedHistorySchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? `${first.path.join(".") || "(root)"}: ${first.message}` : "invalid";
    return discarded("CorruptAutoscaleHistory", `annotation does not match the history format: ${where}`);
  }
  const { r, u, d, l } = parsed.data;
  return {
    seeded: true,
    recommendations: r.map(fromEntry).slice(-MAX_RECOMMENDATIONS),
    scaleUpEvents: capEvents(u.map(fromEntry)),
    scaleDownEvents: capEvents(d.map(fromEntry)),
    lastScaleTime: l,
  };
}

function discarded(reason: string, message: string): DecodedHistory {
  return { ...EMPTY_HISTORY, problem: { reason, message } };
}

/**
 * The periodic pass writes nothing while a target is steady, so a recommendation that keeps being made is stored
 * once, with the time it was first made. Before deciding, the pass restores what upstream's list would hold: the
 * latest stored recommendation, made again at the previous evaluation (`previousAt`, one interval ago). A pass
 * that did not run in between only makes the stabilization window hold that value longer (the safe side).
 */
export function holdLatestRecommendation(history: History, previousAt: number): History {
  const latest = history.recommendations.at(-1);
  if (!history.seeded || latest === undefined || latest.at >= previousAt) return history;
  return {
    ...history,
    recommendations: [...history.recommendations, { value: latest.value, at: previousAt }],
  };
}

/**
 * True when `after` (a decision's history) differs from `before` (the stored one) only by the latest
 * recommendation being made again and by entries aging out of the window: storing it would change no future
 * decision once `holdLatestRecommendation` restores it, so a steady target needs no write.
 */
export function onlyRefreshed(before: History, after: History): boolean {
  if (!before.seeded || !after.seeded || before.lastScaleTime !== after.lastScaleTime) return false;
  const same = (a: readonly TimedValue[], b: readonly TimedValue[]) =>
    a.length === b.length && a.every((entry, i) => entry.value === b[i]?.value && entry.at === b[i]?.at);
  if (
    !same(before.scaleUpEvents, after.scaleUpEvents) ||
    !same(before.scaleDownEvents, after.scaleDownEvents)
  )
    return false;
  const latestBefore = before.recommendations.at(-1);
  const latestAfter = after.recommendations.at(-1);
  if (latestBefore === undefined || latestAfter === undefined || latestBefore.value !== latestAfter.value)
    return false;
  return after.recommendations
    .slice(0, -1)
    .every((entry) =>
      before.recommendations.some((kept) => kept.value === entry.value && kept.at === entry.at),
    );
}
