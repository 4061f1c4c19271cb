/**
 * How many child creates a plan may still issue once the desired count has been read again. A pass creates in
 * slow-start batches that can outlast a scale-down; between batches it re-reads `spec.replicas` and lets only
 * this many more creates go, so no create is ever issued above the desired count as read before its batch.
 */
import { desiredReplicas } from "./spec";
import type { Action, ScaleOut } from "./types";

/** A create that adds a child (a VM or a VMI), as opposed to a ControllerRevision. */
export function isChildCreate(action: Action): boolean {
  return action.kind === "createVM" || action.kind === "createVMI";
}

/**
 * Child creates still allowed after `issued` of them, with `replicas` just read from the owner: what keeps the
 * children counted at planning plus every create issued within the desired count. Never negative.
 */
export function createsAllowed(
  scaleOut: ScaleOut,
  replicas: number | null | undefined,
  issued: number,
): number {
  return Math.max(0, desiredReplicas(replicas) - scaleOut.counted - issued);
}
