/**
 * The scaling history's entries and the pure rules of its log: one entry per change of a pool's replica count or
 * decision not to change it, encoded as compact JSON lines (oldest first), capped by count and bytes (the newest
 * kept), with repeated "no change" decisions coalesced into the entry that already says so.
 */
import { z } from "zod";

/** Who changed (or decided not to change) the count. */
export const ACTOR_KINDS = ["hpa", "chatops", "manager", "reconcile"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** What came of it: the desired count set, left as it was, or children created or deleted to reach it. */
export const DECISIONS = ["scaled", "unchanged", "created", "deleted"] as const;
export type DecisionKind = (typeof DECISIONS)[number];

/** Entries kept per pool; the oldest go first. */
export const MAX_ENTRIES = 1000;
/** Bytes of encoded entries kept per pool: well under a ConfigMap's 1 MiB, whatever the messages. */
export const MAX_BYTES = 512 * 1024;
/** Longest message kept in an entry (longer ones are cut with an ellipsis). */
export const MAX_MESSAGE = 400;
const MAX_ACTOR = 200;
const MAX_REASON = 64;
const MAX_METRICS = 200;

const count = z.number().int().min(0).max(1_000_000);

const entryShape = {
  /** ISO 8601, milliseconds. */
  at: z.iso.datetime(),
  kind: z.enum(ACTOR_KINDS),
  /** The HPA (`ns/name`), the chat user (`alice (U1) via slack`), the field manager, or `reconcile`. */
  actor: z.string().max(MAX_ACTOR),
  /** Desired replicas before and after. */
  from: count,
  to: count,
  decision: z.enum(DECISIONS),
  /** Children created or deleted (`created`, `deleted`). */
  count: count.optional(),
  /** Reason code, in the Kubernetes condition style. */
  reason: z.string().max(MAX_REASON),
  message: z.string().max(MAX_MESSAGE + 1),
  /** The metric values the decision was made on (`cpu 100%/50%`). */
  metrics: z
    .string()
    .max(MAX_METRICS + 1)
    .optional(),
  /** Children counted, and ready, when the entry was made. */
  current: count.optional(),
  ready: count.optional(),
};

/** One entry as stored. Unknown keys are kept so an older reader does not drop a newer writer's fields. */
export const HistoryEntrySchema = z.looseObject(entryShape);
const KnownEntrySchema = z.object(entryShape);
export type HistoryEntry = z.infer<typeof KnownEntrySchema>;

/** What a writer gives: an entry without its time (the log's clock stamps it). */
export type EntryInput = Omit<HistoryEntry, "at">;

export interface Caps {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export const DEFAULT_CAPS: Caps = { maxEntries: MAX_ENTRIES, maxBytes: MAX_BYTES };

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Stamps and trims an entry (over-long free text is cut, never refused). */
export function makeEntry(input: EntryInput, at: Date): HistoryEntry {
  return {
    ...input,
    at: at.toISOString(),
    actor: cut(input.actor, MAX_ACTOR),
    reason: cut(input.reason, MAX_REASON),
    message: cut(input.message, MAX_MESSAGE),
    ...(input.metrics === undefined ? {} : { metrics: cut(input.metrics, MAX_METRICS) }),
  };
}

/** One JSON line per entry, oldest first. */
export function encodeEntries(entries: readonly HistoryEntry[]): string {
  return entries.map((entry) => JSON.stringify(entry)).join("\n");
}

export interface Decoded {
  readonly entries: HistoryEntry[];
  /** Lines that were not an entry (hand edits, a truncated write): skipped, counted. */
  readonly dropped: number;
}

/** The entries of a stored log; lines that do not parse are skipped, not fatal. */
export function decodeEntries(text: string | undefined): Decoded {
  const entries: HistoryEntry[] = [];
  let dropped = 0;
  for (const line of (text ?? "").split("\n")) {
    if (line.trim() === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      dropped++;
      continue;
    }
    const parsed = HistoryEntrySchema.safeParse(json);
    if (parsed.success) entries.push(parsed.data);
    else dropped++;
  }
  return { entries, dropped };
}

/** The newest entries that fit both caps (each line costs its bytes plus a newline). */
export function capEntries(entries: readonly HistoryEntry[], caps: Caps = DEFAULT_CAPS): HistoryEntry[] {
  const kept: HistoryEntry[] = [];
  let bytes = 0;
  for (let i = entries.length - 1; i >= 0 && kept.length < caps.maxEntries; i--) {
    const entry = entries[i] as HistoryEntry;
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > caps.maxBytes) break;
    bytes += size;
    kept.push(entry);
  }
  return kept.reverse();
}

/**
 * Whether `next` only repeats `last`: a "no change" decision by the same actor, for the same counts and reason.
 * A periodic evaluation that keeps deciding the same thing is one entry, not one per interval.
 */
export function repeats(last: HistoryEntry | undefined, next: EntryInput): boolean {
  return (
    last !== undefined &&
    next.decision === "unchanged" &&
    last.decision === "unchanged" &&
    last.kind === next.kind &&
    last.actor === next.actor &&
    last.from === next.from &&
    last.to === next.to &&
    last.reason === next.reason
  );
}

/** The log after appending: the new entries, or `changed: false` when nothing is worth a write. */
export interface Appended {
  readonly entries: HistoryEntry[];
  readonly changed: boolean;
}

/** Appends `inputs` in order (coalescing repeats), then caps. Pure: `at` stamps every new entry. */
export function appendEntries(
  existing: readonly HistoryEntry[],
  inputs: readonly EntryInput[],
  at: Date,
  caps: Caps = DEFAULT_CAPS,
): Appended {
  const entries = [...existing];
  let changed = false;
  for (const input of inputs) {
    if (repeats(entries.at(-1), input)) continue;
    entries.push(makeEntry(input, at));
    changed = true;
  }
  return changed ? { entries: capEntries(entries, caps), changed } : { entries, changed };
}

/** The desired count the log last recorded, or undefined for an empty log. */
export function lastRecordedReplicas(entries: readonly HistoryEntry[]): number | undefined {
  return entries.at(-1)?.to;
}
