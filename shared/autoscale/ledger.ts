/**
 * The de-duplication ledger: which deliveries an HPA has already acted on, kept in a bounded annotation on the HPA
 * itself and written together with the autoscaling history under one resourceVersion precondition, so two
 * concurrent deliveries of the same alert can never both act (the loser's write conflicts, it re-reads, and finds
 * the key). Keys are hashed to a fixed size and kept for the whole de-duplication window, never dropped early:
 * a delivery acted on cannot act again inside the window however many others came since (forgetting the oldest past
 * a count let a replay act again). While the cap of live keys is reached, new keyed deliveries are refused until
 * the oldest expires (`ledgerRoom`). Pure.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** Annotation on the HPA holding the ledger. */
export const DELIVERIES_ANNOTATION = "vmpool-functions.io/autoscale-deliveries";
/** Most live keys kept per HPA (about 32 bytes each encoded: a 96-bit hash and a time in seconds; 32 KB at most). */
export const MAX_DELIVERY_KEYS = 1000;

/** One remembered delivery: the hashed key and when it was acted on (epoch ms; stored in whole seconds). */
export interface LedgerEntry {
  readonly key: string;
  readonly at: number;
}

export type Ledger = readonly LedgerEntry[];

/** The fixed-size form of a delivery key stored in the ledger. */
export function hashDeliveryKey(key: string): string {
  return createHash("sha256").update(key).digest("base64url").slice(0, 16);
}

const EncodedSchema = z.object({
  v: z.literal(1),
  k: z.array(z.tuple([z.string().min(1).max(64), z.number().int().min(0)])).max(MAX_DELIVERY_KEYS),
});

/**
 * Reads the annotation, dropping entries older than `ttlMs`. Absent or unreadable → empty: at worst one repeated
 * delivery is decided again, which the HPA's own stabilization bounds.
 */
export function decodeLedger(text: string | undefined, now: number, ttlMs: number): Ledger {
  if (text === undefined || text === "") return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  const parsed = EncodedSchema.safeParse(raw);
  if (!parsed.success) return [];
  return parsed.data.k.map(([key, at]) => ({ key, at: at * 1000 })).filter((entry) => now - entry.at < ttlMs);
}

/** Serializes a ledger for the annotation. */
export function encodeLedger(ledger: Ledger): string {
  return JSON.stringify({ v: 1, k: ledger.map((entry) => [entry.key, Math.floor(entry.at / 1000)]) });
}

/** True when the delivery key (unhashed) is in the ledger. */
export function hasDelivery(ledger: Ledger, deliveryKey: string): boolean {
  const hashed = hashDeliveryKey(deliveryKey);
  return ledger.some((entry) => entry.key === hashed);
}

/**
 * How many new keys fit (the cap minus the live keys), and when the oldest live key expires (epoch ms) so one
 * more fits; `ledger` must already be decoded with the same `ttlMs`.
 */
export function ledgerRoom(ledger: Ledger, ttlMs: number): { free: number; nextFreeAt: number } {
  const oldest = ledger.reduce((min, entry) => Math.min(min, entry.at), Number.POSITIVE_INFINITY);
  return {
    free: Math.max(0, MAX_DELIVERY_KEYS - ledger.length),
    nextFreeAt: Number.isFinite(oldest) ? oldest + ttlMs : 0,
  };
}

/**
 * Adds delivery keys (unhashed) acted on at `now`. Live keys are never dropped to make room: callers refuse what
 * `ledgerRoom` says does not fit, and keys past the cap are not remembered (nor acted on).
 */
export function rememberDeliveries(ledger: Ledger, deliveryKeys: readonly string[], now: number): Ledger {
  const added = [...new Set(deliveryKeys.map(hashDeliveryKey))].filter(
    (key) => !ledger.some((entry) => entry.key === key),
  );
  if (added.length === 0) return ledger;
  const room = Math.max(0, MAX_DELIVERY_KEYS - ledger.length);
  return [...ledger, ...added.slice(0, room).map((key) => ({ key, at: now }))];
}
