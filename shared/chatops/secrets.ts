/**
 * Constant-time comparison of secrets and signatures. Both sides are hashed first so `timingSafeEqual` always
 * sees equal-length inputs: it throws on a length mismatch, and an early length check would leak the length.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** True when `a` and `b` are the same string, in time independent of where they differ or how long they are. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The outcome of checking a chat request's credentials; failures say which HTTP status to answer. */
export type VerifyResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly status: 400 | 401; readonly message: string };
