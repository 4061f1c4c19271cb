/**
 * Who manages a pool: these functions, or someone else (KubeVirt's own virt-controller, or nobody because the
 * operator opted the pool out). Pure: decided from the pool object, the management mode and the clock.
 *
 * - Annotation `vmpool-functions.io/managed: "false"` opts a pool out; `"true"` opts it in (and overrides detection).
 * - Mode `all` (default) manages every pool not opted out; mode `annotated` manages only pools opted in.
 * - virt-controller is detected from the pool's managedFields: a status write by manager `virt-controller` within
 *   the last few minutes means KubeVirt's controller is reconciling it, so we stand down (never fight it).
 */
import type { Note } from "../planning";

export const MANAGED_ANNOTATION = "vmpool-functions.io/managed";
export const VIRT_CONTROLLER_MANAGERS: readonly string[] = ["virt-controller"];
/** A virt-controller status write newer than this means it is alive and acting. */
export const FOREIGN_ACTIVITY_WINDOW_MS = 10 * 60 * 1000;

export type ManageMode = "all" | "annotated";

export interface OwnerFacts {
  readonly metadata: {
    readonly annotations?: Readonly<Record<string, string>> | null | undefined;
    readonly managedFields?: unknown;
  };
}

/** Undefined when we manage the pool; otherwise the reason we stand down. */
export function standDownReason(owner: OwnerFacts, mode: ManageMode, now: Date): Note | undefined {
  const flag = owner.metadata.annotations?.[MANAGED_ANNOTATION];
  if (flag === "false") {
    return {
      reason: "OptedOut",
      message: `annotation ${MANAGED_ANNOTATION}="false": left to another controller`,
    };
  }
  if (flag === "true") return undefined;
  if (mode === "annotated") {
    return {
      reason: "NotOptedIn",
      message: `management mode "annotated" and no ${MANAGED_ANNOTATION}="true" annotation`,
    };
  }
  const fields = owner.metadata.managedFields;
  const foreign = latestForeignWrite(Array.isArray(fields) ? fields : []);
  if (foreign && now.getTime() - foreign.time.getTime() < FOREIGN_ACTIVITY_WINDOW_MS) {
    return {
      reason: "VirtControllerActive",
      message: `${foreign.manager} wrote this object's status at ${foreign.time.toISOString()}: KubeVirt's controller manages it (annotate ${MANAGED_ANNOTATION}="true" to take over)`,
    };
  }
  return undefined;
}

function latestForeignWrite(entries: readonly unknown[]): { manager: string; time: Date } | undefined {
  let latest: { manager: string; time: Date } | undefined;
  for (const entry of entries) {
    if (entry === null || typeof entry !== "object") continue;
    const { manager, time } = entry as { manager?: unknown; time?: unknown };
    if (
      typeof manager !== "string" ||
      !VIRT_CONTROLLER_MANAGERS.includes(manager) ||
      typeof time !== "string"
    )
      continue;
    const at = new Date(time);
    if (Number.isNaN(at.getTime())) continue;
    if (!latest || at > latest.time) latest = { manager, time: at };
  }
  return latest;
}
