/**
 * Who changed a pool's replica count outside the functions: the field manager that owns `f:spec.f:replicas` in
 * the object's managedFields (server-side field tracking: `kubectl scale` records itself with the `scale`
 * subresource, `kubectl apply`/`edit`/`patch` under their own names, controllers under theirs). Pure.
 */
import { z } from "zod";
import { type EntryInput, type HistoryEntry, lastRecordedReplicas } from "./entry";

const ManagedFieldsEntrySchema = z.looseObject({
  manager: z.string().optional(),
  operation: z.string().optional(),
  subresource: z.string().optional(),
  time: z.string().nullable().optional(),
  fieldsV1: z.unknown().optional(),
});

/** The manager of `spec.replicas` as managedFields record it. */
export interface ReplicasOwner {
  readonly manager: string;
  readonly operation?: string;
  readonly subresource?: string;
}

const FieldsSchema = z.looseObject({ "f:spec": z.looseObject({ "f:replicas": z.unknown() }) });

/**
 * The manager owning `f:spec.f:replicas` (the most recent one if several share it, as appliers can), or
 * undefined when no entry claims it or the field list is not managedFields-shaped.
 */
export function replicasOwner(managedFields: unknown): ReplicasOwner | undefined {
  const list = z.array(z.unknown()).safeParse(managedFields);
  if (!list.success) return undefined;
  let best: { owner: ReplicasOwner; time: number } | undefined;
  for (const raw of list.data) {
    const entry = ManagedFieldsEntrySchema.safeParse(raw);
    if (!entry.success || entry.data.manager === undefined) continue;
    if (!FieldsSchema.safeParse(entry.data.fieldsV1).success) continue;
    const time = Date.parse(entry.data.time ?? "") || 0;
    if (best && time < best.time) continue;
    const { manager, operation, subresource } = entry.data;
    best = {
      time,
      owner: {
        manager,
        ...(operation ? { operation } : {}),
        ...(subresource ? { subresource } : {}),
      },
    };
  }
  return best?.owner;
}

export interface ExternalChangeInput {
  readonly entries: readonly HistoryEntry[];
  /** `spec.replicas` as read now. */
  readonly specReplicas: number;
  readonly managedFields: unknown;
  /** Our own field manager: its changes are recorded by the writer that made them, never guessed here. */
  readonly ownManager: string;
  readonly current: number;
  readonly ready: number;
}

/**
 * The entry for a change of `spec.replicas` the log has not recorded (its last entry's `to` differs), attributed
 * to the field manager that owns the field; undefined when the log agrees or the change is our own (its writer
 * records it, maybe a moment later). An empty log's first entry starts from the children counted.
 */
export function externalChange(input: ExternalChangeInput): EntryInput | undefined {
  const last = lastRecordedReplicas(input.entries);
  if (last === input.specReplicas) return undefined;
  const owner = replicasOwner(input.managedFields);
  if (owner?.manager === input.ownManager) return undefined;
  const actor = owner?.manager ?? "unknown";
  const via = owner?.subresource ? ` through /${owner.subresource}` : "";
  const from = last ?? input.current;
  return {
    kind: "manager",
    actor,
    from,
    to: input.specReplicas,
    decision: from === input.specReplicas ? "unchanged" : "scaled",
    reason: last === undefined ? "FirstRecorded" : "ExternalChange",
    message:
      last === undefined
        ? `${actor} owns spec.replicas (${input.specReplicas})${via}; first entry of this pool's history`
        : `${actor} changed spec.replicas from ${last} to ${input.specReplicas}${via}`,
    current: input.current,
    ready: input.ready,
  };
}
