/**
 * What a pass adds to its pool's scaling history: the children it created and deleted (counted from the writes
 * that succeeded), preceded by any change of `spec.replicas` the log has not recorded, attributed to the field
 * manager that made it (`kubectl scale` and friends). Only a pass that created or deleted children looks at the
 * history, so a converged pool still costs no request. Pure, except `recordPassHistory`.
 */

import {
  type EntryInput,
  externalChange,
  type HistoryEntry,
  POOL_API_VERSIONS,
  recordHistory,
} from "../history";
import { DEFAULT_FIELD_MANAGER, type Kube } from "../kube";
import type { Logger } from "../log";
import type { Plan } from "../planning";
import type { Observation } from "./observe";
import type { ActionResult, PoolRef } from "./types";

const CREATES = new Set(["createVM", "createVMI"]);
const DELETES = new Set(["deleteVM", "deleteVMI"]);

function child(plan: Plan, n: number): string {
  const noun = plan.kind === "VirtualMachinePool" ? "VirtualMachine" : "VirtualMachineInstance";
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The entries for a pass that acted: an unrecorded external change first, then its creates and deletes. */
export function passEntries(
  entries: readonly HistoryEntry[],
  observation: Observation,
  plan: Plan,
  results: readonly ActionResult[],
  ownManager: string = DEFAULT_FIELD_MANAGER,
): EntryInput[] {
  const { desired, current, ready } = plan.summary;
  const out: EntryInput[] = [];
  const external = externalChange({
    entries,
    specReplicas: desired,
    managedFields: observation.owner.object.metadata.managedFields,
    ownManager,
    current,
    ready,
  });
  if (external) out.push(external);
  const done = (kinds: Set<string>) => results.filter((r) => r.ok && kinds.has(r.kind));
  const created = done(CREATES);
  const deleted = done(DELETES);
  const base = { kind: "reconcile", actor: "reconcile", from: desired, to: desired, current, ready } as const;
  if (created.length > 0) {
    out.push({
      ...base,
      decision: "created",
      count: created.length,
      reason: "SuccessfulCreate",
      message: `created ${child(plan, created.length)} (${created[0]?.reason ?? ""})`,
    });
  }
  if (deleted.length > 0) {
    out.push({
      ...base,
      decision: "deleted",
      count: deleted.length,
      reason: "SuccessfulDelete",
      message: `deleted ${child(plan, deleted.length)} (${deleted[0]?.reason ?? ""})`,
    });
  }
  return out;
}

/** Whether the pass made a change the history records (a child created or deleted). */
export function changesHistory(results: readonly ActionResult[]): boolean {
  return results.some((r) => r.ok && (CREATES.has(r.kind) || DELETES.has(r.kind)));
}

/** Best effort, after the pass's writes: never fails the pass. */
export async function recordPassHistory(
  deps: { readonly kube: Kube; readonly log: Logger; readonly now: () => Date },
  ref: PoolRef,
  observation: Observation,
  plan: Plan,
  results: readonly ActionResult[],
): Promise<void> {
  if (!changesHistory(results)) return;
  const { object } = observation.owner;
  await recordHistory(
    deps,
    { ref, apiVersion: object.apiVersion ?? POOL_API_VERSIONS[ref.kind], uid: object.metadata.uid ?? "" },
    (entries) => passEntries(entries, observation, plan, results),
  );
}
