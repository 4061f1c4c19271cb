/**
 * The limits a scale request must respect before anything is written: the configured ceiling on replicas, and
 * the bounds of an HPA that manages the pool (setting a count outside them would only start a tug of war with the
 * HPA controller, which puts it back within its bounds on its next sync). Each refusal says why and what to do.
 * Pure; the policy rule's own `maxReplicas` is checked by `authorize`.
 */
import type { AutoscalerBounds } from "./autoscaler";
import { formatPoolId, type PoolId } from "./names";

export type LimitCheck =
  | { readonly ok: true; readonly note?: string }
  | {
      readonly ok: false;
      readonly reason: "AboveReplicaCeiling" | "OutsideAutoscalerBounds";
      readonly message: string;
    };

/** Check `replicas` for `pool` against `ceiling` (the VMPOOL_MAX_REPLICAS setting) and the pool's HPA, if any. */
export function checkScaleLimits(input: {
  readonly pool: PoolId;
  readonly replicas: number;
  readonly ceiling: number;
  readonly autoscaler?: AutoscalerBounds | undefined;
}): LimitCheck {
  const { pool, replicas, ceiling, autoscaler } = input;
  if (replicas > ceiling) {
    return {
      ok: false,
      reason: "AboveReplicaCeiling",
      message: `${replicas} replicas is above the configured ceiling of ${ceiling} for any pool.`,
    };
  }
  if (autoscaler === undefined) return { ok: true };
  const { name, minReplicas, maxReplicas } = autoscaler;
  if (replicas < minReplicas || replicas > maxReplicas) {
    return {
      ok: false,
      reason: "OutsideAutoscalerBounds",
      message:
        `HorizontalPodAutoscaler ${name} keeps ${formatPoolId(pool)} between ${minReplicas} and ${maxReplicas} ` +
        `replicas, so ${replicas} would not stick. Change its bounds with autoscale, or turn it off first.`,
    };
  }
  return {
    ok: true,
    note: `HorizontalPodAutoscaler ${name} manages this pool (${minReplicas}..${maxReplicas}) and may change the count again.`,
  };
}

/** Check an autoscaler's maximum against the configured ceiling. */
export function checkAutoscaleCeiling(maxReplicas: number, ceiling: number): LimitCheck {
  if (maxReplicas <= ceiling) return { ok: true };
  return {
    ok: false,
    reason: "AboveReplicaCeiling",
    message: `--max ${maxReplicas} is above the configured ceiling of ${ceiling} replicas for any pool.`,
  };
}
