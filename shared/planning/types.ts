/**
 * The planner's output vocabulary: a `Plan` of typed actions (each a single Kubernetes write with its reason, the
 * event it implies on success and what to report when it fails), the desired status, and the notes that explain
 * no-ops, clamps and skips. Everything here is plain data so plans can be logged, diffed and compared in tests.
 */
import type { ControllerRevision, ReplicaStatus, VirtualMachine } from "../schemas/kubevirt";

export type EventType = "Normal" | "Warning";

/** An event on the pool or replica set, with upstream reason and message. */
export interface PlannedEvent {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  /**
   * The object name is only known after the API server answers a `generateName` create: append the created
   * object's `metadata.name` to `message` before recording the event.
   */
  readonly appendCreatedName?: true;
}

/** A reason code plus a human sentence: used for notes, skips and sync errors alike. */
export interface Note {
  readonly reason: string;
  readonly message: string;
}

/** A sync error as upstream reports it: the `ReplicaFailure` condition reason and message. */
export type SyncError = Note;

/** The object an action writes. `name` is absent only for a `generateName` create. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name?: string;
  readonly uid?: string;
}

/** One RFC 6902 operation. `test` operations are the preconditions of a patch. */
export type JsonPatchOperation =
  | { readonly op: "test" | "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

/** The single HTTP write an action performs. */
export type Write =
  | { readonly verb: "create"; readonly body: Record<string, unknown> }
  /** PUT of the whole object; `body.metadata.resourceVersion` is the precondition. */
  | { readonly verb: "update"; readonly body: Record<string, unknown> }
  | {
      readonly verb: "delete";
      readonly preconditions: { readonly uid: string };
      readonly propagationPolicy?: "Foreground";
    }
  | { readonly verb: "patch"; readonly patchType: "json"; readonly patch: readonly JsonPatchOperation[] }
  | { readonly verb: "patch"; readonly patchType: "merge"; readonly patch: Record<string, unknown> };

/**
 * What to report when an action fails. The actor records `event` (type Warning, message
 * `${messagePrefix}: ${error}`; once per pass and reason when `oncePerPass`) and turns the first failure into the
 * pass's sync error (`${sync.messagePrefix}: ${error}`, or the bare error text without a prefix). A failure
 * without `sync` ends the pass before the status write, as upstream returns such errors before `updateStatus`.
 */
export interface FailureReport {
  readonly event?: { readonly reason: string; readonly messagePrefix: string; readonly oncePerPass?: true };
  readonly sync?: { readonly reason: string; readonly messagePrefix?: string };
}

/**
 * Actions run in stages: every action of a stage may run concurrently, and a stage starts only when the previous
 * one succeeded. Prepare: finalizers, annotations, adoption and release, revisions. Apply: creates, deletes and
 * updates. Preserve: volume hand-off after a VM delete. Finalize: finalizer removal after a delete.
 */
export const Stage = { Prepare: 0, Apply: 1, Preserve: 2, Finalize: 3 } as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

interface ActionBase {
  readonly stage: Stage;
  readonly target: ObjectRef;
  readonly write: Write;
  /** One line saying why. */
  readonly reason: string;
  /** Recorded after the write succeeds. */
  readonly event?: PlannedEvent;
  readonly onFailure: FailureReport;
  /** A 404 means the work is already done (the object is gone). */
  readonly ignoreNotFound: boolean;
  /** A 409 AlreadyExists means another pass created this deterministic name: no event, no error. */
  readonly ignoreAlreadyExists?: true;
}

export interface CreateVMAction extends ActionBase {
  readonly kind: "createVM";
  readonly ordinal: number;
  readonly write: { readonly verb: "create"; readonly body: VirtualMachine };
}
export interface DeleteVMAction extends ActionBase {
  readonly kind: "deleteVM";
  /** scaleIn: above desired; autoheal: failing to start; recreate: its DataVolumeTemplates changed. */
  readonly cause: "scaleIn" | "autoheal" | "recreate";
}
/** PUT of labels, annotations and spec from the pool template. */
export interface UpdateVMSpecAction extends ActionBase {
  readonly kind: "updateVM";
  readonly change: "spec";
  readonly write: { readonly verb: "update"; readonly body: VirtualMachine };
}
/** Drops the pool finalizer from a VM so it can go. */
export interface RemoveVMFinalizerAction extends ActionBase {
  readonly kind: "updateVM";
  readonly change: "removeFinalizer";
}
export type UpdateVMAction = UpdateVMSpecAction | RemoveVMFinalizerAction;
export interface RestartVMAction extends ActionBase {
  readonly kind: "restartVM";
}
export interface PatchVMILabelsAction extends ActionBase {
  readonly kind: "patchVMILabels";
}
export interface ReleaseVMAction extends ActionBase {
  readonly kind: "releaseVM";
}
export interface ReleaseVolumeAction extends ActionBase {
  readonly kind: "releaseVolume";
}
export interface CreateRevisionAction extends ActionBase {
  readonly kind: "createRevision";
  readonly write: { readonly verb: "create"; readonly body: ControllerRevision };
}
export interface DeleteRevisionAction extends ActionBase {
  readonly kind: "deleteRevision";
}
export interface AddPoolFinalizerAction extends ActionBase {
  readonly kind: "addPoolFinalizer";
}
export interface RemovePoolFinalizerAction extends ActionBase {
  readonly kind: "removePoolFinalizer";
}
export interface AnnotateReplicaSetAction extends ActionBase {
  readonly kind: "annotateReplicaSet";
}
export interface CreateVMIAction extends ActionBase {
  readonly kind: "createVMI";
}
export interface DeleteVMIAction extends ActionBase {
  readonly kind: "deleteVMI";
  /** scaleIn: above desired; finished: Succeeded, Failed or its pod is terminating. */
  readonly cause: "scaleIn" | "finished";
}
export interface AdoptVMIAction extends ActionBase {
  readonly kind: "adoptVMI";
}
export interface ReleaseVMIAction extends ActionBase {
  readonly kind: "releaseVMI";
}

export type PoolAction =
  | CreateVMAction
  | DeleteVMAction
  | UpdateVMAction
  | RestartVMAction
  | PatchVMILabelsAction
  | ReleaseVMAction
  | ReleaseVolumeAction
  | CreateRevisionAction
  | DeleteRevisionAction
  | AddPoolFinalizerAction
  | RemovePoolFinalizerAction;

export type ReplicaSetAction =
  | AnnotateReplicaSetAction
  | CreateVMIAction
  | DeleteVMIAction
  | AdoptVMIAction
  | ReleaseVMIAction;

export type Action = PoolAction | ReplicaSetAction;
export type ActionKind = Action["kind"];

/** The status the pass should leave behind, assuming every action succeeds. */
export interface StatusPlan {
  readonly current: ReplicaStatus;
  readonly desired: ReplicaStatus;
  /** Write `desired` (PUT …/status) only when true. */
  readonly changed: boolean;
  /** Paused/resumed (and, after a failure, ReplicaFailure) events that go with the status write. */
  readonly events: readonly PlannedEvent[];
  /** Whether the owner is paused; kept so a failed pass can re-derive the status. */
  readonly paused: boolean;
}

/** Counts behind the plan, for logs, chat replies and `reconcile --dry-run`. */
export interface PlanSummary {
  readonly desired: number;
  /** Children counted by status.replicas (pool: owned VMs incl. deleting; replica set: active VMIs). */
  readonly current: number;
  readonly ready: number;
  readonly creating: number;
  readonly deleting: number;
}

/**
 * What a plan that creates children counted against the desired count when it was made: owned VMs, terminating
 * ones included (pool), or the VMIs that may still run (replica set). Acting re-reads the desired count between
 * create batches and stops creating where `counted` plus the creates issued would pass it (see `createsAllowed`).
 */
export interface ScaleOut {
  readonly counted: number;
}

export interface Plan<A extends Action = Action> {
  readonly kind: "VirtualMachinePool" | "VirtualMachineInstanceReplicaSet";
  /** Event source component. */
  readonly component: string;
  /** The pool or replica set (events are recorded against it). */
  readonly owner: ObjectRef;
  /** Ordered by stage, then by planning order. */
  readonly actions: readonly A[];
  /** Every event the plan implies if all writes succeed, in order (action events, then status events). */
  readonly events: readonly PlannedEvent[];
  /** Absent when the pass is skipped. */
  readonly status?: StatusPlan;
  /** Set when the whole pass does nothing (invalid spec): no writes, no status, no events. */
  readonly skipped?: Note;
  /** Why things were not done, clamped or deferred. */
  readonly notes: readonly Note[];
  /** A sync error found while planning (already reflected in `status`). */
  readonly syncError?: SyncError;
  /** Set when the plan creates children (createVM, createVMI). */
  readonly scaleOut?: ScaleOut;
  /** Come back sooner than the timer: more work is pending after this pass. */
  readonly requeueAfterSeconds?: number;
  readonly summary: PlanSummary;
}

export type PoolPlan = Plan<PoolAction>;
export type ReplicaSetPlan = Plan<ReplicaSetAction>;
