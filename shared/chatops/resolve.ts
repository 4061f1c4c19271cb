/**
 * Turning what a user typed into the exact object to act on: pool references against the pools that exist,
 * VM references against the default namespace, and relative scale targets against the observed count.
 */
import type { PoolRef, ScaleTarget, VmRef } from "./grammar";
import { formatPoolId, MAX_REPLICAS, type PoolId } from "./names";

export type ResolveResult =
  | { readonly ok: true; readonly pool: PoolId }
  | {
      readonly ok: false;
      readonly reason: "PoolNotFound" | "AmbiguousPool";
      readonly message: string;
      readonly candidates: readonly PoolId[];
    };

/**
 * Find the pool a reference means among `candidates` (the pools of both kinds the caller listed). A reference
 * without a namespace looks in `defaultNamespace`; one without a kind matches either kind, and when both kinds
 * have a pool of that name the user must say which.
 */
export function resolvePoolRef(
  ref: PoolRef,
  candidates: readonly PoolId[],
  defaultNamespace: string,
): ResolveResult {
  const namespace = ref.namespace ?? defaultNamespace;
  const matches = candidates.filter(
    (c) =>
      c.name === ref.name && c.namespace === namespace && (ref.kind === undefined || c.kind === ref.kind),
  );
  const [only, ...others] = matches;
  if (only !== undefined && others.length === 0) return { ok: true, pool: only };
  if (only === undefined) {
    const kinds = ref.kind ?? "VirtualMachinePool or VirtualMachineInstanceReplicaSet";
    return {
      ok: false,
      reason: "PoolNotFound",
      message: `No ${kinds} named "${ref.name}" in namespace "${namespace}". Try list ${namespace}.`,
      candidates: [],
    };
  }
  const names = matches.map(formatPoolId);
  return {
    ok: false,
    reason: "AmbiguousPool",
    message: `"${ref.name}" matches ${names.join(" and ")}; name one of them in full.`,
    candidates: matches,
  };
}

/** A VM reference with its namespace filled in. */
export function resolveVmRef(ref: VmRef, defaultNamespace: string): { namespace: string; name: string } {
  return { namespace: ref.namespace ?? defaultNamespace, name: ref.name };
}

/**
 * The replica count a scale command asks for, given the observed `current`. Relative changes are clamped into
 * 0..MAX_REPLICAS, and `clamped` says so, so the reply can explain why `-5` on 3 replicas gave 0.
 */
export function resolveScaleTarget(
  target: ScaleTarget,
  current: number,
): { readonly replicas: number; readonly clamped: boolean } {
  if (target.kind === "absolute") return { replicas: target.replicas, clamped: false };
  const wanted = current + target.delta;
  const replicas = Math.min(MAX_REPLICAS, Math.max(0, wanted));
  return { replicas, clamped: replicas !== wanted };
}
