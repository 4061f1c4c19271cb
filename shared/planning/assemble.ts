/**
 * Turns what a pass planned into the `Plan` callers see, the same way for pools and replica sets: actions ordered
 * by stage, the events they imply followed by the status events, the notes (with "Converged" when nothing at all
 * is left to do), and the plan of a skipped pass.
 */
import { byStage, type Ledger } from "./ledger";
import type {
  Action,
  Note,
  ObjectRef,
  Plan,
  PlannedEvent,
  PlanSummary,
  ScaleOut,
  StatusPlan,
  SyncError,
} from "./types";

export interface PlanHeader {
  readonly kind: Plan["kind"];
  readonly component: string;
  readonly owner: ObjectRef;
}

export interface PlanParts<A extends Action> {
  readonly ledger: Ledger<A>;
  readonly status: StatusPlan;
  readonly syncError: SyncError | undefined;
  readonly scaleOut: ScaleOut | undefined;
  readonly summary: PlanSummary;
  /** The note a pass with nothing to do carries. */
  readonly converged: string;
}

/** Counts how many actions of `kinds` a plan holds. */
export function countActions(actions: readonly Action[], kind: Action["kind"]): number {
  let count = 0;
  for (const action of actions) if (action.kind === kind) count++;
  return count;
}

/** The plan of a pass that ran: stage-ordered actions, their events, status, notes and summary. */
export function assemblePlan<A extends Action>(header: PlanHeader, parts: PlanParts<A>): Plan<A> {
  const { ledger, status, syncError } = parts;
  const actions = byStage(ledger.actions());
  if (actions.length === 0 && !status.changed && ledger.notes().length === 0) {
    ledger.note("Converged", parts.converged);
  }
  const events: PlannedEvent[] = [...actions.flatMap((a) => (a.event ? [a.event] : [])), ...status.events];
  const requeueAfterSeconds = ledger.requeueAfter();
  return {
    ...header,
    actions,
    events,
    status,
    notes: ledger.notes(),
    ...(syncError ? { syncError } : {}),
    ...(parts.scaleOut ? { scaleOut: parts.scaleOut } : {}),
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
    summary: parts.summary,
  };
}

/** A pass that does nothing at all: no writes, no status, no events; `skipped` says why. */
export function skippedPlan<A extends Action>(header: PlanHeader, skipped: Note, desired: number): Plan<A> {
  return {
    ...header,
    actions: [],
    events: [],
    skipped,
    notes: [],
    // What the spec asks for, so a dry run of a skipped pool shows it (nothing was observed: current 0).
    summary: { desired, current: 0, ready: 0, creating: 0, deleting: 0 },
  };
}
