/**
 * The delivery ledger that de-duplicates repeated deliveries: remembering, expiry after the TTL, the bound on its
 * size, tolerance of a corrupt annotation, and properties over arbitrary key sequences.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeLedger,
  encodeLedger,
  hasDelivery,
  type Ledger,
  ledgerRoom,
  MAX_DELIVERY_KEYS,
  rememberDeliveries,
} from "../../shared/autoscale/ledger";

const T0 = Date.parse("2025-06-01T12:00:00Z");
const TTL = 300_000;

describe("the delivery ledger", () => {
  it("remembers keys across an encode/decode round trip", () => {
    const ledger = rememberDeliveries([], ["am|g|f|s|firing|100", "eventbridge|id-1"], T0);
    const decoded = decodeLedger(encodeLedger(ledger), T0 + 1000, TTL);
    expect(hasDelivery(decoded, "am|g|f|s|firing|100")).toBe(true);
    expect(hasDelivery(decoded, "eventbridge|id-1")).toBe(true);
    expect(hasDelivery(decoded, "eventbridge|id-2")).toBe(false);
  });

  it("forgets keys after the TTL", () => {
    const text = encodeLedger(rememberDeliveries([], ["k"], T0));
    expect(hasDelivery(decodeLedger(text, T0 + TTL - 1, TTL), "k")).toBe(true);
    expect(hasDelivery(decodeLedger(text, T0 + TTL, TTL), "k")).toBe(false);
  });

  it("does not add a key twice", () => {
    const once = rememberDeliveries([], ["k"], T0);
    expect(rememberDeliveries(once, ["k", "k"], T0 + 5)).toBe(once);
  });

  it.each([
    // Not JSON.
    ["{oops"],
    // Another format version.
    ['{"v":2,"k":[]}'],
    // Wrong entry shape.
    ['{"v":1,"k":[["x"]]}'],
    // Empty.
    [""],
  ])("reads %j as empty", (text) => {
    expect(decodeLedger(text, T0, TTL)).toEqual([]);
  });

  it("never forgets a live key to make room: past the cap new keys are not remembered, and it stays under 40 KB", () => {
    const keys = Array.from({ length: MAX_DELIVERY_KEYS + 20 }, (_, i) => `key-${i}`);
    let ledger: Ledger = [];
    keys.forEach((key, i) => {
      ledger = rememberDeliveries(ledger, [key], T0 + i);
    });
    expect(ledger).toHaveLength(MAX_DELIVERY_KEYS);
    expect(hasDelivery(ledger, "key-0")).toBe(true);
    expect(hasDelivery(ledger, `key-${keys.length - 1}`)).toBe(false);
    expect(ledgerRoom(ledger, TTL)).toEqual({ free: 0, nextFreeAt: T0 + TTL });
    expect(encodeLedger(ledger).length).toBeLessThan(40_960);
  });

  it("a replay of an old delivery is still found after many newer ones, until the window has passed", () => {
    let ledger: Ledger = rememberDeliveries([], ["old"], T0);
    for (let i = 1; i <= 500; i++) ledger = rememberDeliveries(ledger, [`new-${i}`], T0 + i);
    const reread = decodeLedger(encodeLedger(ledger), T0 + TTL - 1000, TTL);
    expect(hasDelivery(reread, "old")).toBe(true);
    expect(hasDelivery(decodeLedger(encodeLedger(ledger), T0 + TTL + 1000, TTL), "old")).toBe(false);
  });

  it("property: the most recent keys are always found, and the size never exceeds the bound", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), { maxLength: 60 }),
        (batches) => {
          let ledger: Ledger = [];
          batches.forEach((batch, i) => {
            ledger = decodeLedger(encodeLedger(rememberDeliveries(ledger, batch, T0 + i)), T0 + i, TTL);
          });
          expect(ledger.length).toBeLessThanOrEqual(MAX_DELIVERY_KEYS);
          for (const key of batches.at(-1) ?? []) expect(hasDelivery(ledger, key)).toBe(true);
        },
      ),
    );
  });
});
