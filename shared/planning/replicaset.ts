/**
 * `planReplicaSet`: one reconcile pass of a VirtualMachineInstanceReplicaSet as a pure function (KubeVirt
 * `replicaset.go` `execute`, kubevirt-semantics §2): record the observed API version, claim VMIs (adopt matching
 * orphans, release owned ones that stopped matching), create VMIs with `generateName` or delete extras in listing
 * order, replace and delete finished VMIs, then the status. New VMIs are created only while the VMIs that may
 * still run (active, terminating or with a terminating pod) plus the new ones stay within the desired count.
 */
import { matches, type Selector } from "../labels";
import type { VirtualMachineInstance, VirtualMachineInstanceReplicaSet } from "../schemas/kubevirt";
import { assemblePlan, countActions, skippedPlan } from "./assemble";
import {
  KUBEVIRT_API_VERSION,
  LATEST_API_VERSION_ANNOTATION,
  REPLICA_SET_COMPONENT,
  REPLICA_SET_KIND,
  REQUEUE_AFTER_BURST_SECONDS,
  STORAGE_API_VERSION_ANNOTATION,
  VMI_KIND,
} from "./constants";
import { specDepthProblem } from "./depth";
import { createLedger, type Ledger } from "./ledger";
import {
  controllerOf,
  controllerRef,
  findCondition,
  hasConditionStatus,
  isControlledBy,
  isDeleting,
  labelsOf,
  refTo,
} from "./objects";
import { testUid } from "./patches";
import { burstOf, desiredReplicas, type PlanOptions, validateSelector } from "./spec";
import { deriveReplicaSetStatus } from "./status";
import {
  type AdoptVMIAction,
  type AnnotateReplicaSetAction,
  type CreateVMIAction,
  type DeleteVMIAction,
  type FailureReport,
  type JsonPatchOperation,
  type ObjectRef,
  type ReleaseVMIAction,
  type ReplicaSetAction,
  type ReplicaSetPlan,
  Stage,
} from "./types";

/** Everything a replica-set pass observes. */
export interface ReplicaSetPlanInput {
  readonly replicaSet: VirtualMachineInstanceReplicaSet;
  /** Every VMI in the replica set's namespace (orphans that match are adopted). */
  readonly vmis: readonly VirtualMachineInstance[];
  readonly now: Date;
  readonly options?: PlanOptions;
}

interface ReplicaSetContext {
  readonly rs: VirtualMachineInstanceReplicaSet;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly selector: Selector;
  readonly labelSelector: string;
  readonly desired: number;
  readonly burst: number;
  readonly paused: boolean;
  readonly deleting: boolean;
}

/** The claimed VMIs split the way upstream counts them. */
export interface ReplicaSetChildren {
  /** Not final, not deleting, pod not terminating: what status.replicas counts. */
  readonly active: readonly VirtualMachineInstance[];
  /** Succeeded or Failed (not deleting), then not-final ones whose pod is terminating: deleted and replaced. */
  readonly finished: readonly VirtualMachineInstance[];
  /** Deleting but not yet final: they may still run, so they hold their slot until gone. */
  readonly terminating: readonly VirtualMachineInstance[];
}

const isFinal = (vmi: VirtualMachineInstance): boolean =>
  vmi.status?.phase === "Succeeded" || vmi.status?.phase === "Failed";

/** Ready=False with reason PodTerminating (upstream's "unknown" VMIs). */
function podTerminating(vmi: VirtualMachineInstance): boolean {
  const ready = findCondition(vmi.status?.conditions, "Ready");
  return ready?.status === "False" && ready.reason === "PodTerminating";
}

/** `filterActiveVMIs`, `filterFinishedVMIs`, `filterUnkownVMIs`, plus the still-running terminating ones. */
export function partitionVMIs(vmis: readonly VirtualMachineInstance[]): ReplicaSetChildren {
  const active: VirtualMachineInstance[] = [];
  const done: VirtualMachineInstance[] = [];
  const unknown: VirtualMachineInstance[] = [];
  const terminating: VirtualMachineInstance[] = [];
  for (const vmi of vmis) {
    if (isDeleting(vmi.metadata)) {
      if (!isFinal(vmi)) terminating.push(vmi);
    } else if (isFinal(vmi)) done.push(vmi);
    else if (podTerminating(vmi)) unknown.push(vmi);
    else active.push(vmi);
  }
  return { active, finished: [...done, ...unknown], terminating };
}

function rsRef(rs: VirtualMachineInstanceReplicaSet): ObjectRef {
  return refTo(
    rs.apiVersion ?? KUBEVIRT_API_VERSION,
    REPLICA_SET_KIND,
    rs.metadata.namespace ?? "",
    rs.metadata,
  );
}

function vmiRef(ctx: ReplicaSetContext, vmi: VirtualMachineInstance): ObjectRef {
  return refTo(KUBEVIRT_API_VERSION, VMI_KIND, ctx.namespace, vmi.metadata);
}

/** `getVirtualMachineBaseName`: template name, else template generateName, else the replica set's name. */
export function vmiBaseName(rs: VirtualMachineInstanceReplicaSet): string {
  const meta = rs.spec.template.metadata;
  return meta?.name || meta?.generateName || rs.metadata.name;
}

/** The VMI a scale-up creates: template metadata and spec, `generateName` = base name (no dash), owned by the set. */
export function buildReplicaSetVMI(rs: VirtualMachineInstanceReplicaSet): Record<string, unknown> {
  const { name: _name, ...meta } = structuredClone(rs.spec.template.metadata ?? {});
  return {
    apiVersion: KUBEVIRT_API_VERSION,
    kind: VMI_KIND,
    metadata: {
      ...meta,
      generateName: vmiBaseName(rs),
      namespace: rs.metadata.namespace ?? "",
      labels: { ...rs.spec.template.metadata?.labels },
      ownerReferences: [
        controllerRef(KUBEVIRT_API_VERSION, REPLICA_SET_KIND, rs.metadata.name, rs.metadata.uid ?? ""),
      ],
    },
    spec: structuredClone(rs.spec.template.spec ?? {}),
  };
}

function annotateAction(ctx: ReplicaSetContext): AnnotateReplicaSetAction {
  return {
    kind: "annotateReplicaSet",
    stage: Stage.Prepare,
    target: rsRef(ctx.rs),
    write: {
      verb: "patch",
      patchType: "merge",
      patch: {
        metadata: {
          annotations: { [LATEST_API_VERSION_ANNOTATION]: "v1", [STORAGE_API_VERSION_ANNOTATION]: "v1" },
        },
      },
    },
    reason: "record the observed API version (kubevirt.io/v1) as virt-controller does",
    onFailure: {},
    ignoreNotFound: true,
  };
}

/** Takes a matching orphan: adds the controller reference, conditional on the UID and what we saw. */
function adoptAction(ctx: ReplicaSetContext, vmi: VirtualMachineInstance): AdoptVMIAction {
  const ref = controllerRef(KUBEVIRT_API_VERSION, REPLICA_SET_KIND, ctx.name, ctx.uid);
  const refs = vmi.metadata.ownerReferences;
  const rv = vmi.metadata.resourceVersion;
  const ops: JsonPatchOperation[] =
    refs === undefined || refs === null
      ? [
          ...(rv ? [{ op: "test" as const, path: "/metadata/resourceVersion", value: rv }] : []),
          { op: "add", path: "/metadata/ownerReferences", value: [ref] },
        ]
      : [
          { op: "test", path: "/metadata/ownerReferences", value: refs },
          { op: "replace", path: "/metadata/ownerReferences", value: [...refs, ref] },
        ];
  return {
    kind: "adoptVMI",
    stage: Stage.Prepare,
    target: vmiRef(ctx, vmi),
    write: { verb: "patch", patchType: "json", patch: [...testUid(vmi.metadata.uid), ...ops] },
    reason: "an orphan VMI matches the selector: adopt it",
    onFailure: {},
    ignoreNotFound: true,
  };
}

/** Lets go of an owned VMI whose labels stopped matching: removes our owner reference only. */
function releaseAction(ctx: ReplicaSetContext, vmi: VirtualMachineInstance): ReleaseVMIAction {
  const refs = vmi.metadata.ownerReferences ?? [];
  return {
    kind: "releaseVMI",
    stage: Stage.Prepare,
    target: vmiRef(ctx, vmi),
    write: {
      verb: "patch",
      patchType: "json",
      patch: [
        ...testUid(vmi.metadata.uid),
        { op: "test", path: "/metadata/ownerReferences", value: refs },
        {
          op: "replace",
          path: "/metadata/ownerReferences",
          value: refs.filter((ref) => ref.uid !== ctx.uid),
        },
      ],
    },
    reason: "labels no longer match the selector: release the VMI",
    onFailure: {},
    ignoreNotFound: true,
  };
}

/** Upstream's ReplicaFailure reason depends only on the pre-action diff. */
function failureReason(diff: number): string {
  return diff < 0 ? "FailedCreate" : "FailedDelete";
}

function createAction(ctx: ReplicaSetContext, reason: string, diff: number): CreateVMIAction {
  return {
    kind: "createVMI",
    stage: Stage.Apply,
    target: { apiVersion: KUBEVIRT_API_VERSION, kind: VMI_KIND, namespace: ctx.namespace },
    write: { verb: "create", body: buildReplicaSetVMI(ctx.rs) },
    reason,
    event: {
      type: "Normal",
      reason: "SuccessfulCreate",
      message: "Started the virtual machine by creating the new virtual machine instance ",
      appendCreatedName: true,
    },
    onFailure: {
      event: { reason: "FailedCreate", messagePrefix: "Error creating virtual machine instance" },
      sync: { reason: failureReason(diff) },
    },
    ignoreNotFound: false,
  };
}

function deleteAction(
  ctx: ReplicaSetContext,
  vmi: VirtualMachineInstance,
  cause: "scaleIn" | "finished",
  reason: string,
  diff: number,
): DeleteVMIAction {
  const uid = vmi.metadata.uid ?? "";
  const name = vmi.metadata.name;
  const failure: FailureReport = {
    event: {
      reason: "FailedDelete",
      messagePrefix:
        cause === "scaleIn"
          ? `Error deleting virtual machine instance ${name}`
          : `Error deleting finished virtual machine ${name}`,
    },
    sync: { reason: failureReason(diff) },
  };
  return {
    kind: "deleteVMI",
    cause,
    // Finished VMIs are cleaned only after the scale step went through.
    stage: cause === "scaleIn" ? Stage.Apply : Stage.Preserve,
    target: vmiRef(ctx, vmi),
    write: { verb: "delete", preconditions: { uid } },
    reason,
    event: {
      type: "Normal",
      reason: "SuccessfulDelete",
      message:
        cause === "scaleIn"
          ? `Stopped the virtual machine by deleting the virtual machine instance ${uid}`
          : `Deleted finished virtual machine: ${uid}`,
    },
    onFailure: failure,
    ignoreNotFound: true,
  };
}

/**
 * `ClaimVirtualMachineInstances`: owned and matching are kept; owned but no longer matching are released (not
 * while the set is being deleted); matching orphans that are not deleting are adopted (not while the set is being
 * deleted); VMIs controlled by someone else are ignored. Runs even when paused.
 */
function claim(
  ctx: ReplicaSetContext,
  ledger: Ledger<ReplicaSetAction>,
  vmis: readonly VirtualMachineInstance[],
) {
  const claimed: VirtualMachineInstance[] = [];
  for (const vmi of vmis) {
    const matched = matches(ctx.selector, labelsOf(vmi.metadata));
    if (isControlledBy(vmi.metadata, ctx.uid)) {
      if (matched) claimed.push(vmi);
      else if (!ctx.deleting) planWrite(ctx, ledger, releaseAction(ctx, vmi));
    } else if (
      controllerOf(vmi.metadata) === undefined &&
      matched &&
      !ctx.deleting &&
      !isDeleting(vmi.metadata)
    ) {
      if (planWrite(ctx, ledger, adoptAction(ctx, vmi))) claimed.push(vmi);
    }
  }
  return claimed;
}

function planWrite(
  ctx: ReplicaSetContext,
  ledger: Ledger<ReplicaSetAction>,
  action: ReplicaSetAction,
): boolean {
  if (!ledger.fits(1)) {
    ledger.noteBurst(`burst of ${ctx.burst} writes reached: the rest waits for the next pass`);
    ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
    return false;
  }
  ledger.add(action);
  return true;
}

/** VMIs that count against the desired count for creates: active, terminating, or with a pod still going. */
function occupiedCount(children: ReplicaSetChildren): number {
  const { active, finished, terminating } = children;
  return active.length + terminating.length + finished.filter((vmi) => !isFinal(vmi)).length;
}

/**
 * `scale` then `cleanFinishedVmis`: extras are deleted in listing order; missing VMIs are created while the VMIs
 * that may still run leave room; finished VMIs (already replaced, as they are not active) are deleted.
 */
function planScale(
  ctx: ReplicaSetContext,
  ledger: Ledger<ReplicaSetAction>,
  children: ReplicaSetChildren,
): void {
  const { active, finished } = children;
  const diff = active.length - ctx.desired;
  if (diff > 0) {
    const reason = `scale down: ${active.length} active VMIs for ${ctx.desired} desired`;
    for (const vmi of active.slice(0, diff)) {
      if (!planWrite(ctx, ledger, deleteAction(ctx, vmi, "scaleIn", reason, diff))) break;
    }
  } else if (diff < 0) {
    const occupied = occupiedCount(children);
    const room = Math.min(-diff, ctx.desired - occupied);
    if (room < -diff) {
      ledger.note(
        "WaitingForTerminatingVMIs",
        `${occupied - active.length} VMI(s) are still terminating: creating ${Math.max(0, room)} of ${-diff} missing now`,
      );
    }
    const reason = `scale up: ${active.length} active VMIs for ${ctx.desired} desired`;
    for (let i = 0; i < room; i++) {
      if (!planWrite(ctx, ledger, createAction(ctx, reason, diff))) break;
    }
  }
  for (const vmi of finished) {
    const why = isFinal(vmi) ? `the VMI ${vmi.status?.phase}` : "the VMI's pod is terminating";
    if (!planWrite(ctx, ledger, deleteAction(ctx, vmi, "finished", `${why}: delete it`, diff))) break;
  }
}

/** The template must carry labels, and the selector must be usable and match them (upstream `execute`). */
function validateReplicaSet(rs: VirtualMachineInstanceReplicaSet) {
  const templateLabels = rs.spec.template?.metadata?.labels;
  if (!templateLabels || Object.keys(templateLabels).length === 0) {
    return {
      ok: false as const,
      skip: { reason: "InvalidSpec", message: "Invalid controller spec: the template has no labels" },
    };
  }
  return validateSelector(rs.spec.selector, templateLabels);
}

function replicaSetContext(
  input: ReplicaSetPlanInput,
  selector: Selector,
  labelSelector: string,
): ReplicaSetContext {
  const rs = input.replicaSet;
  return {
    rs,
    name: rs.metadata.name,
    namespace: rs.metadata.namespace ?? "",
    uid: rs.metadata.uid ?? "",
    selector,
    labelSelector,
    desired: desiredReplicas(rs.spec.replicas),
    burst: burstOf(input.options),
    paused: rs.spec.paused === true,
    deleting: isDeleting(rs.metadata),
  };
}

/** Annotation, claiming, then scaling unless deleting or paused; returns the claimed VMIs by kind. */
function planPass(
  ctx: ReplicaSetContext,
  ledger: Ledger<ReplicaSetAction>,
  vmis: readonly VirtualMachineInstance[],
): ReplicaSetChildren {
  const { rs } = ctx;
  if ((rs.spec.replicas ?? 0) < 0)
    ledger.note("NegativeReplicas", `spec.replicas ${rs.spec.replicas} treated as 0`);
  if (rs.metadata.annotations?.[LATEST_API_VERSION_ANNOTATION] !== "v1")
    planWrite(ctx, ledger, annotateAction(ctx));
  const children = partitionVMIs(claim(ctx, ledger, vmis));
  if (ctx.deleting)
    ledger.note("Deleting", "the replica set is being deleted: garbage collection removes its VMIs");
  else if (ctx.paused) ledger.note("Paused", "the replica set is paused: no scaling");
  else planScale(ctx, ledger, children);
  return children;
}

/**
 * Plans one reconcile pass of a VirtualMachineInstanceReplicaSet. Pure: the same input always yields the same
 * plan; a converged replica set yields no actions and an unchanged status.
 */
export function planReplicaSet(input: ReplicaSetPlanInput): ReplicaSetPlan {
  const rs = input.replicaSet;
  const header = { kind: REPLICA_SET_KIND, component: REPLICA_SET_COMPONENT, owner: rsRef(rs) } as const;
  // Before anything copies the template into a VMI: a spec too deep to copy skips the pass.
  const tooDeep = specDepthProblem(rs.spec);
  if (tooDeep) return skippedPlan(header, tooDeep, desiredReplicas(rs.spec.replicas));
  const validation = validateReplicaSet(rs);
  if (!validation.ok) return skippedPlan(header, validation.skip, desiredReplicas(rs.spec.replicas));
  const ctx = replicaSetContext(input, validation.selector, validation.labelSelector);
  const ledger = createLedger<ReplicaSetAction>(ctx.burst);
  const children = planPass(ctx, ledger, input.vmis);
  const { active, terminating } = children;

  const ready = active.filter((vmi) => hasConditionStatus(vmi.status?.conditions, "Ready", "True")).length;
  const facts = {
    replicas: active.length,
    readyReplicas: ready,
    labelSelector: ctx.labelSelector,
    paused: ctx.paused,
  };
  const planned = ledger.actions();
  const creating = countActions(planned, "createVMI");
  return assemblePlan(header, {
    ledger,
    status: deriveReplicaSetStatus(rs.status, facts, undefined, input.now),
    syncError: undefined,
    scaleOut: creating > 0 ? { counted: occupiedCount(children) } : undefined,
    converged: `${active.length} of ${ctx.desired} VMIs, ${ready} ready: nothing to do`,
    summary: {
      desired: ctx.desired,
      current: active.length,
      ready,
      creating,
      deleting: terminating.length + countActions(planned, "deleteVMI"),
    },
  });
}
