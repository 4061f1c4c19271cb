/**
 * Tiny readers for the untyped JSON objects the simulator reads from the store (KubeVirt, CDI and core kinds are
 * stored as plain JSON). They never throw: a missing or mistyped field reads as undefined or empty.
 */
import type { KObject, OwnerReference } from "../store";

export type Json = Record<string, unknown>;

/** The value as an object, or undefined when it is not a plain object. */
export function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The value as an array of objects (non-objects dropped). */
export function recs(value: unknown): Json[] {
  if (!Array.isArray(value)) return [];
  const out: Json[] = [];
  for (const item of value) {
    const r = rec(item);
    if (r) out.push(r);
  }
  return out;
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A `map[string]string` (labels, annotations, a Service selector); non-string values are dropped. */
export function strMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const r = rec(value);
  if (!r) return out;
  for (const [k, v] of Object.entries(r)) if (typeof v === "string") out[k] = v;
  return out;
}

/** The owner reference marked `controller: true` of the given kind, if any. */
export function controllerOf(obj: KObject, kind: string): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === kind);
}

/** `status.phase` of an object, "" when unset. */
export function phaseOf(obj: KObject | undefined): string {
  return str(rec(obj?.status)?.phase) ?? "";
}

/** `<namespace>/<name>` of an object. */
export function nsName(obj: KObject): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
}
