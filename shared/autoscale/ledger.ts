/**
 * The de-duplication ledger: which deliveries an HPA has already acted on, kept in a bounded annotation on the HPA
 * itself and written together with the autoscaling history under one resourceVersion precondition, so two
 * concurrent deliveries of the same alert can never both act (the loser's write conflicts, it re-reads, and finds
 * the key). Keys are hashed to a fixed size and forgotten after a TTL or past the cap, oldest first. Pure.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** Annotation on the HPA holding the ledger. */
export const DELIVERIES_ANNOTATION = "vmpool-functions.io/autoscale-deliveries";
/** Most keys kept per HPA (about 32 bytes each encoded: a 96-bit hash and a time in seconds). */
export const MAX_DELIVERY_KEYS = 100;

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
  k: z.array(z.tuple([z.string().min(1).max(64), z.number().int().min(0)])).max(MAX_DELIVERY_KEYS * 2),
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

/** Adds delivery keys (unhashed) acted on at `now`; keeps the newest `MAX_DELIVERY_KEYS`. */
export function rememberDeliveries(ledger: Ledger, deliveryKeys: readonly string[], now: number): Ledger {
  const added = [...new Set(deliveryKeys.map(hashDeliveryKey))].filter(
    (key) => !ledger.some((entry) => entry.key === key),
  );
  if (added.length === 0) return ledger;
  return [...ledger, ...added.map((key) => ({ key, at: now }))].slice(-MAX_DELIVERY_KEYS);
}
