/**
 * Small readers over Kubernetes object metadata and conditions shared by the pool and replica-set planners:
 * ownership (controller references), deletion, finalizers, conditions and timestamps. Pure functions only.
 */
import type { Condition, ObjectMeta, OwnerReference } from "../schemas/kubevirt";
import type { ObjectRef } from "./types";

/** The owner reference marked `controller: true`, if any (metav1.GetControllerOf). */
export function controllerOf(meta: ObjectMeta): OwnerReference | undefined {
  const refs = meta.ownerReferences;
  if (!refs) return undefined;
  // Plain loops: these run for every child of a 10,000-VM pool on every pass.
  for (const ref of refs) if (ref.controller === true) return ref;
  return undefined;
}

/** True when the object's controller reference points at `uid`. */
export function isControlledBy(meta: ObjectMeta, uid: string | undefined): boolean {
  return uid !== undefined && uid !== "" && controllerOf(meta)?.uid === uid;
}

/** True when the object has a deletionTimestamp (it is terminating but still exists). */
export function isDeleting(meta: ObjectMeta): boolean {
  return meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
}

/** True when the object carries `finalizer`. */
export function hasFinalizer(meta: ObjectMeta, finalizer: string): boolean {
  return meta.finalizers?.includes(finalizer) ?? false;
}

/** The object's labels, `{}` when it has none. */
export function labelsOf(meta: ObjectMeta | undefined): Record<string, string> {
  return meta?.labels ?? {};
}

/** The condition of `type`, if present. */
export function findCondition(
  conditions: readonly Condition[] | null | undefined,
  type: string,
): Condition | undefined {
  if (!conditions) return undefined;
  for (const condition of conditions) if (condition.type === type) return condition;
  return undefined;
}

/** True when the condition of `type` exists with `status` ("True", "False", "Unknown"). */
export function hasConditionStatus(
  conditions: readonly Condition[] | null | undefined,
  type: string,
  status: string,
): boolean {
  return findCondition(conditions, type)?.status === status;
}

/** An owner reference that makes the owner the controller and blocks its deletion until the child is gone. */
export function controllerRef(apiVersion: string, kind: string, name: string, uid: string): OwnerReference {
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function formatTime(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/** Milliseconds since the epoch, or undefined for a missing or unparsable timestamp. */
export function parseTime(text: string | null | undefined): number | undefined {
  if (text === undefined || text === null || text === "") return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The ObjectRef an action targets: the object's name and, when known, its uid (the write's precondition). */
export function refTo(
  apiVersion: string,
  kind: string,
  namespace: string,
  meta: { readonly name: string; readonly uid?: string | undefined },
): ObjectRef {
  return { apiVersion, kind, namespace, name: meta.name, ...(meta.uid ? { uid: meta.uid } : {}) };
}
