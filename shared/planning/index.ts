/**
 * The reconcile planner: pure functions that turn one observation of a VirtualMachinePool or a
 * VirtualMachineInstanceReplicaSet (plus `now` and a random source) into a Plan of bounded, conditional writes,
 * the events they imply and the status to leave behind, with the reasons for everything done or not done.
 * Callers act on the plan; nothing here does I/O.
 */
export {
  BURST_REPLICAS,
  POOL_COMPONENT,
  POOL_FINALIZER,
  POOL_REVISION_LABEL,
  REPLICA_SET_COMPONENT,
} from "./constants";
export { specDepthProblem } from "./depth";
export { parseGoDuration } from "./duration";
export { createsAllowed, isChildCreate } from "./headroom";
export { planPool } from "./pool";
export type { PoolPlanInput } from "./pool-context";
export { type RandomSource, seededRandom } from "./random";
export { planReplicaSet, type ReplicaSetPlanInput } from "./replicaset";
export type { PlanOptions } from "./spec";
export { statusAfterFailure } from "./status";
export {
  type Action,
  type ActionKind,
  type FailureReport,
  type JsonPatchOperation,
  type Note,
  type ObjectRef,
  type Plan,
  type PlannedEvent,
  type PlanSummary,
  type PoolAction,
  type PoolPlan,
  type ReplicaSetAction,
  type ReplicaSetPlan,
  type ScaleOut,
  Stage,
  type StatusPlan,
  type SyncError,
  type Write,
} from "./types";
