/**
 * Follow-up passes: whether a pass left its pool still moving (so another pass should come soon rather than at the
 * next timer tick), and the backoff between such passes. Pure; the scheduling is the caller's (the Node server's
 * coalescer arms a timer; a function never sleeps or polls).
 */
import type { PassResult } from "../reconcile";

/** First follow-up delay after a pass that left its pool unconverged. */
export const FOLLOW_UP_INITIAL_MS = 1000;
/** Longest follow-up delay: beyond it the timer (the safety net) is as good. */
export const FOLLOW_UP_MAX_MS = 30_000;

/**
 * True when the pool is not yet where it is going: the pass wrote (children starting, a status that will change),
 * another pass held the lease, a write or the deadline failed, the planner asked to come back (`requeueAfterSeconds`),
 * or nothing needed writing but children are still being created, deleted or becoming ready. A converged, paused,
 * stood-down, skipped or deleted pool needs nothing more.
 */
export function needsFollowUp(result: PassResult): boolean {
  switch (result.outcome) {
    case "Acted":
    case "LeaseHeld":
    case "Failed":
      return true;
    case "Converged": {
      const plan = result.plan;
      if (!plan || plan.status?.paused) return false;
      if (plan.requeueAfterSeconds !== undefined) return true;
      const s = plan.summary;
      return s.current !== s.desired || s.ready !== s.desired || s.creating > 0 || s.deleting > 0;
    }
    case "DryRun":
    case "Skipped":
    case "StoodDown":
    case "NotFound":
      return false;
  }
}

/** The delay after `previousMs` (undefined: the first follow-up): doubling from 1 s, capped at 30 s. */
export function nextFollowUpDelay(previousMs: number | undefined): number {
  if (previousMs === undefined) return FOLLOW_UP_INITIAL_MS;
  return Math.min(previousMs * 2, FOLLOW_UP_MAX_MS);
}

/** The delay before follow-up number `attempt` (1-based): the sequence {@link nextFollowUpDelay} walks. */
export function followUpDelayForAttempt(attempt: number): number {
  return Math.min(FOLLOW_UP_INITIAL_MS * 2 ** Math.max(0, attempt - 1), FOLLOW_UP_MAX_MS);
}

/** The wait before a follow-up: the planner's `requeueAfterSeconds` when it gave one (capped), else `backoffMs`. */
export function followUpDelay(result: PassResult, backoffMs: number): number {
  const hinted = result.outcome === "Converged" ? result.plan?.requeueAfterSeconds : undefined;
  return hinted === undefined ? backoffMs : Math.min(Math.max(hinted * 1000, 0), FOLLOW_UP_MAX_MS);
}
