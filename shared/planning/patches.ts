/**
 * JSON patch building blocks whose `test` operations make a write conditional on what the planner observed, so a
 * stale plan fails (and the next pass re-plans) instead of overwriting someone else's change.
 */
import type { JsonPatchOperation } from "./types";

/** `test` on the UID, so a patch never lands on a recreated object of the same name. */
export function testUid(uid: string | undefined): JsonPatchOperation[] {
  return uid ? [{ op: "test", path: "/metadata/uid", value: uid }] : [];
}

/** Replace a list only if it is still what we saw; add it when absent (guarded by the resourceVersion). */
export function replaceList(
  path: string,
  current: readonly unknown[] | null | undefined,
  next: readonly unknown[],
  resourceVersion: string | undefined,
): JsonPatchOperation[] {
  if (current === undefined || current === null) {
    const guard: JsonPatchOperation[] = resourceVersion
      ? [{ op: "test", path: "/metadata/resourceVersion", value: resourceVersion }]
      : [];
    return [...guard, { op: "add", path, value: next }];
  }
  return [
    { op: "test", path, value: current },
    { op: "replace", path, value: next },
  ];
}
