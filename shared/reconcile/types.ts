/**
 * The vocabulary of a reconcile pass: which pool (kind, namespace, name) and what came of the pass, in the same
 * reason-coded terms logs, chat replies, HTTP answers and `vmpool reconcile` print.
 */
import { z } from "zod";
import type { Plan } from "../planning";

export const POOL_KINDS = ["VirtualMachinePool", "VirtualMachineInstanceReplicaSet"] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

/** A pool of either kind. */
export interface PoolRef {
  readonly kind: PoolKind;
  readonly namespace: string;
  readonly name: string;
}

export const poolRefSchema = z.strictObject({
  kind: z.enum(POOL_KINDS).default("VirtualMachinePool"),
  namespace: z
    .string()
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label"),
  name: z
    .string()
    .max(253)
    .regex(
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      "must be a DNS-1123 subdomain",
    ),
});

/**
 * What a pass did: Converged (nothing to do, zero writes), Acted, DryRun (planned only), Skipped (invalid spec),
 * StoodDown (another controller manages it), LeaseHeld (another pass is acting on it), NotFound, Failed.
 */
export type PassOutcome =
  | "Converged"
  | "Acted"
  | "DryRun"
  | "Skipped"
  | "StoodDown"
  | "LeaseHeld"
  | "NotFound"
  | "Failed";

export interface ActionResult {
  readonly kind: string;
  readonly target: string;
  readonly reason: string;
  readonly ok: boolean;
  /** KubeError reason when the write failed. */
  readonly error?: string;
  /** Not attempted: an earlier action of the stage failed (slow start) or the deadline passed. */
  readonly skipped?: boolean;
  /**
   * Not attempted, and not a failure: the owner's desired count, read again before this create's batch, no longer
   * needs it (`error` is ReplicasDecreased or OwnerGone).
   */
  readonly superseded?: boolean;
}

export interface PassResult {
  readonly ref: PoolRef;
  readonly outcome: PassOutcome;
  readonly reason: string;
  readonly message: string;
  readonly actions: readonly ActionResult[];
  readonly statusWritten: boolean;
  /** The plan acted on (or, for a dry run, the plan that would be). */
  readonly plan?: Plan;
}

/** `ns/name` with the kind's short name, as logs and chat print pools. */
export function formatRef(ref: PoolRef): string {
  return `${ref.kind === "VirtualMachinePool" ? "vmpool" : "vmirs"}/${ref.namespace}/${ref.name}`;
}
