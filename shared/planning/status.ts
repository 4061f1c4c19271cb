/**
 * The status a pass leaves behind for pools and replica sets: replicas, readyReplicas, the canonical
 * labelSelector, and the ReplicaFailure / ReplicaPaused conditions with upstream reasons, messages and events
 * (kubevirt-semantics §1.11, §2.5). Zero counts and empty fields are omitted as Go's `omitempty` does, and a status
 * is "changed" only when it differs after that normalisation.
 */
import type { Condition, ReplicaStatus } from "../schemas/kubevirt";
import { findCondition, formatTime } from "./objects";
import { jsonEqual } from "./semantic";
import type { Plan, PlannedEvent, StatusPlan, SyncError } from "./types";

export const REPLICA_FAILURE = "ReplicaFailure";
export const REPLICA_PAUSED = "ReplicaPaused";

/** The counts a status reports. */
export interface StatusFacts {
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly labelSelector: string;
  readonly paused: boolean;
}

function condition(type: string, reason: string, message: string, now: Date): Condition {
  // Go serialises the zero lastProbeTime of these conditions as null.
  return { type, status: "True", reason, message, lastProbeTime: null, lastTransitionTime: formatTime(now) };
}

/** Drops what `omitempty` drops so statuses compare as upstream's semantic equality does. */
export function normalizeStatus(status: ReplicaStatus | undefined): Record<string, unknown> {
  const { replicas, readyReplicas, labelSelector, conditions, ...rest } = status ?? {};
  return {
    ...rest,
    ...(replicas ? { replicas } : {}),
    ...(readyReplicas ? { readyReplicas } : {}),
    ...(labelSelector ? { labelSelector } : {}),
    ...(conditions && conditions.length > 0 ? { conditions } : {}),
  };
}

function withCounts(
  current: ReplicaStatus | undefined,
  facts: StatusFacts,
  conditions: Condition[],
): ReplicaStatus {
  return normalizeStatus({
    ...current,
    replicas: facts.replicas,
    readyReplicas: facts.readyReplicas,
    labelSelector: facts.labelSelector,
    conditions,
  }) as ReplicaStatus;
}

const without = (conditions: readonly Condition[], type: string): Condition[] =>
  conditions.filter((c) => c.type !== type);

/**
 * Pool `updateStatus`: ReplicaFailure is added (with a Warning event) only when absent and removed on any pass
 * without a sync error; ReplicaPaused follows `spec.paused` with SuccessfulPaused / SuccessfulResume events.
 */
export function derivePoolStatus(
  current: ReplicaStatus | undefined,
  facts: StatusFacts,
  syncError: SyncError | undefined,
  now: Date,
): StatusPlan {
  let conditions = [...(current?.conditions ?? [])];
  const events: PlannedEvent[] = [];
  const failing = findCondition(conditions, REPLICA_FAILURE) !== undefined;
  if (syncError && !failing) {
    conditions.push(condition(REPLICA_FAILURE, syncError.reason, syncError.message, now));
    events.push({ type: "Warning", reason: syncError.reason, message: syncError.message });
  } else if (!syncError && failing) {
    conditions = without(conditions, REPLICA_FAILURE);
  }
  const paused = findCondition(conditions, REPLICA_PAUSED) !== undefined;
  if (facts.paused && !paused) {
    conditions.push(condition(REPLICA_PAUSED, "SuccessfulPaused", "Pool controller is paused", now));
    events.push({ type: "Normal", reason: "SuccessfulPaused", message: "Pool is paused" });
  } else if (!facts.paused && paused) {
    conditions = without(conditions, REPLICA_PAUSED);
    events.push({ type: "Normal", reason: "SuccessfulResume", message: "Pool is unpaused" });
  }
  const desired = withCounts(current, facts, conditions);
  const before = normalizeStatus(current);
  return { current: before, desired, changed: !jsonEqual(before, desired), events, paused: facts.paused };
}

/**
 * Replica-set `updateStatus`: skipped when counts, selector, failure and pause state all already match; otherwise
 * the counts are set, ReplicaPaused ("Paused", "Controller got paused") and ReplicaFailure (FailedCreate when the
 * pass had to create, else FailedDelete) follow, and SuccessfulPaused "Paused" / SuccessfulResumed "Resumed" events
 * are recorded after the write.
 */
export function deriveReplicaSetStatus(
  current: ReplicaStatus | undefined,
  facts: StatusFacts,
  failure: SyncError | undefined,
  now: Date,
): StatusPlan {
  const before = normalizeStatus(current);
  const existing = current?.conditions ?? [];
  const hasFailure = findCondition(existing, REPLICA_FAILURE) !== undefined;
  const hasPaused = findCondition(existing, REPLICA_PAUSED) !== undefined;
  const settled =
    facts.replicas === (current?.replicas ?? 0) &&
    facts.readyReplicas === (current?.readyReplicas ?? 0) &&
    (failure !== undefined) === hasFailure &&
    facts.paused === hasPaused &&
    facts.labelSelector === (current?.labelSelector ?? "");
  if (settled)
    return {
      current: before,
      desired: before as ReplicaStatus,
      changed: false,
      events: [],
      paused: facts.paused,
    };
  let conditions = [...existing];
  if (facts.paused && !hasPaused)
    conditions.push(condition(REPLICA_PAUSED, "Paused", "Controller got paused", now));
  else if (!facts.paused && hasPaused) conditions = without(conditions, REPLICA_PAUSED);
  if (failure && !hasFailure)
    conditions.push(condition(REPLICA_FAILURE, failure.reason, failure.message, now));
  else if (!failure && hasFailure) conditions = without(conditions, REPLICA_FAILURE);
  const events: PlannedEvent[] =
    facts.paused === hasPaused
      ? []
      : [
          facts.paused
            ? { type: "Normal", reason: "SuccessfulPaused", message: "Paused" }
            : { type: "Normal", reason: "SuccessfulResumed", message: "Resumed" },
        ];
  const desired = withCounts(current, facts, conditions);
  return { current: before, desired, changed: !jsonEqual(before, desired), events, paused: facts.paused };
}

function factsOf(status: StatusPlan): StatusFacts {
  return {
    replicas: status.desired.replicas ?? 0,
    readyReplicas: status.desired.readyReplicas ?? 0,
    labelSelector: status.desired.labelSelector ?? "",
    paused: status.paused,
  };
}

/**
 * The status to write when an action failed with `error` (its FailureReport's sync reason and message): the plan's
 * counts with a ReplicaFailure condition (and, for pools, the Warning event). Undefined for a skipped plan.
 */
export function statusAfterFailure(plan: Plan, error: SyncError, now: Date): StatusPlan | undefined {
  if (!plan.status) return undefined;
  const derive = plan.kind === "VirtualMachinePool" ? derivePoolStatus : deriveReplicaSetStatus;
  return derive(plan.status.current, factsOf(plan.status), error, now);
}
