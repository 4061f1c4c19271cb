/**
 * Semantic equality of JSON values in the sense of apimachinery's `equality.Semantic.DeepEqual` applied to
 * decoded objects: null, absent, empty maps and empty lists are all "unset". Used to decide whether a VM's
 * revision still matches the pool template, so a revision written by Go (with `creationTimestamp: null` and empty
 * structs) compares equal to the same template read back as JSON.
 */

/** Recursively drops null/undefined members, empty objects and empty arrays; returns undefined when nothing is left. */
export function pruneEmpty(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    return value.map((item) => pruneEmpty(item) ?? null);
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    let kept = 0;
    for (const [key, member] of Object.entries(value)) {
      const pruned = pruneEmpty(member);
      if (pruned !== undefined) {
        out[key] = pruned;
        kept++;
      }
    }
    return kept === 0 ? undefined : out;
  }
  return value;
}

/** Structural equality of two JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  return leftKeys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}

/** True when the two values are equal once unset members are pruned. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return jsonEqual(pruneEmpty(a), pruneEmpty(b));
}
