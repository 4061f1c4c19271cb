/**
 * The reconcile pass shared by every trigger (timer, alert, chat command, manual): observe a pool through
 * shared/kube, plan it with the pure planner, act under the pool's Lease, write the status last. Also the
 * reconcile-all pass (one list per kind) and the terraform-style rendering of a plan.
 */
export { MANAGED_ANNOTATION, type ManageMode, standDownReason } from "./coexist";
export { formatPlan } from "./format";
export { type Observation, observePool } from "./observe";
export {
  type AllOptions,
  needsWrites,
  type PassDeps,
  type PassOptions,
  planFor,
  reconcileAll,
  reconcilePool,
} from "./pass";
export {
  type ActionResult,
  formatRef,
  type PassOutcome,
  type PassResult,
  POOL_KINDS,
  type PoolKind,
  type PoolRef,
  poolRefSchema,
} from "./types";
