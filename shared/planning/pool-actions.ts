/**
 * Builders for every write a pool pass can plan, each with its preconditions, its upstream success event and what
 * to report on failure (kubevirt-semantics §1.12). Patches are JSON patches whose `test` operations make them
 * conditional on what the planner saw, so a stale plan fails instead of clobbering someone else's change.
 */
import type {
  ControllerRevision,
  ObjectWithMeta,
  OwnerReference,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachinePool,
} from "../schemas/kubevirt";
import {
  KUBEVIRT_API_VERSION,
  POOL_API_VERSION,
  POOL_FINALIZER,
  POOL_KIND,
  POOL_REVISION_LABEL,
  REVISION_API_VERSION,
  REVISION_KIND,
  VM_KIND,
  VMI_KIND,
} from "./constants";
import { refTo } from "./objects";
import { replaceList, testUid } from "./patches";
import type { PoolContext } from "./pool-context";
import {
  type AddPoolFinalizerAction,
  type CreateRevisionAction,
  type CreateVMAction,
  type DeleteRevisionAction,
  type DeleteVMAction,
  type FailureReport,
  type JsonPatchOperation,
  type ObjectRef,
  type PatchVMILabelsAction,
  type ReleaseVMAction,
  type ReleaseVolumeAction,
  type RemovePoolFinalizerAction,
  type RemoveVMFinalizerAction,
  type RestartVMAction,
  Stage,
  type UpdateVMSpecAction,
} from "./types";

/** Sync errors upstream reports per step (`pool.go` reason constants and messages). */
export const PoolSync = {
  scaleOut: { reason: "FailedScaleOut", messagePrefix: "error during scale out" },
  scaleIn: { reason: "FailedScaleIn", messagePrefix: "error during scale in" },
  opportunisticScaleIn: { reason: "FailedScaleIn", messagePrefix: "error during opportunistic scale in" },
  vmUpdate: { reason: "FailedUpdate", messagePrefix: "error during VM update" },
  vmiUpdate: { reason: "FailedUpdate", messagePrefix: "error during VMI update" },
  pruning: { reason: "FailedRevisionPruning", messagePrefix: "error while pruning vmpool revisions" },
} as const;

export type PoolSyncSpec = (typeof PoolSync)[keyof typeof PoolSync];

const key = (ctx: PoolContext, name: string): string => `${ctx.namespace}/${name}`;

function vmRef(ctx: PoolContext, vm: VirtualMachine): ObjectRef {
  return refTo(KUBEVIRT_API_VERSION, VM_KIND, ctx.namespace, vm.metadata);
}

function vmiRef(ctx: PoolContext, vmi: VirtualMachineInstance): ObjectRef {
  return refTo(KUBEVIRT_API_VERSION, VMI_KIND, ctx.namespace, vmi.metadata);
}

function poolRef(pool: VirtualMachinePool): ObjectRef {
  return {
    apiVersion: POOL_API_VERSION,
    kind: POOL_KIND,
    namespace: pool.metadata.namespace ?? "",
    name: pool.metadata.name,
    ...(pool.metadata.uid ? { uid: pool.metadata.uid } : {}),
  };
}

function deletePreconditions(uid: string | undefined) {
  return { verb: "delete" as const, preconditions: { uid: uid ?? "" } };
}

function withoutPoolFinalizer(finalizers: readonly string[] | null | undefined): string[] {
  return (finalizers ?? []).filter((finalizer) => finalizer !== POOL_FINALIZER);
}

/** Creates a pool VM (`scaleOut`); a 409 means another pass already created that name. */
export function createVMAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  ordinal: number,
  reason: string,
): CreateVMAction {
  return {
    kind: "createVM",
    stage: Stage.Apply,
    ordinal,
    target: {
      apiVersion: KUBEVIRT_API_VERSION,
      kind: VM_KIND,
      namespace: ctx.namespace,
      name: vm.metadata.name,
    },
    write: { verb: "create", body: vm },
    reason,
    event: {
      type: "Normal",
      reason: "SuccessfulCreate",
      message: `Created VM ${key(ctx, vm.metadata.name)}`,
    },
    onFailure: {
      event: { reason: "FailedCreate", messagePrefix: "Error creating VM", oncePerPass: true },
      sync: PoolSync.scaleOut,
    },
    ignoreNotFound: false,
    ignoreAlreadyExists: true,
  };
}

/** A scale-in or autohealing delete; the pool finalizer and volumes are handled by follow-up actions. */
export function deleteVMAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  cause: "scaleIn" | "autoheal",
  reason: string,
): DeleteVMAction {
  const name = key(ctx, vm.metadata.name);
  return {
    kind: "deleteVM",
    cause,
    stage: Stage.Apply,
    target: vmRef(ctx, vm),
    write: deletePreconditions(vm.metadata.uid),
    reason,
    event: {
      type: "Normal",
      reason: "SuccessfulDelete",
      message: `Deleted VM ${name} with uid ${vm.metadata.uid ?? ""} from pool`,
    },
    onFailure: {
      event: { reason: "FailedDelete", messagePrefix: `Error deleting virtual machine ${name}` },
      ...(cause === "scaleIn" ? { sync: PoolSync.scaleIn } : {}),
    },
    ignoreNotFound: true,
  };
}

function proactiveFailure(ctx: PoolContext, vm: VirtualMachine, detail?: string): FailureReport {
  const suffix = detail ? `: ${detail}` : "";
  return {
    event: {
      reason: "FailedUpdate",
      messagePrefix: `Error updating resource ${key(ctx, vm.metadata.name)}${suffix}`,
    },
    sync: {
      reason: PoolSync.vmiUpdate.reason,
      messagePrefix: `${PoolSync.vmiUpdate.messagePrefix}${suffix}`,
    },
  };
}

function proactiveEvent(ctx: PoolContext, vm: VirtualMachine) {
  // Upstream records SuccessfulDelete for every proactive update, label patches included.
  return {
    type: "Normal" as const,
    reason: "SuccessfulDelete",
    message: `Successfully updated resource ${key(ctx, vm.metadata.name)}`,
  };
}

/** Proactive "vm-delete": foreground delete so the DataVolumes go too; scale-out recreates the same name. */
export function recreateVMAction(ctx: PoolContext, vm: VirtualMachine, reason: string): DeleteVMAction {
  return {
    kind: "deleteVM",
    cause: "recreate",
    stage: Stage.Apply,
    target: vmRef(ctx, vm),
    write: { ...deletePreconditions(vm.metadata.uid), propagationPolicy: "Foreground" },
    reason,
    event: proactiveEvent(ctx, vm),
    onFailure: proactiveFailure(ctx, vm),
    ignoreNotFound: true,
  };
}

/** Proactive "restart": delete the VMI; the VM controller starts a fresh one from the updated template. */
export function restartVMAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance,
  reason: string,
): RestartVMAction {
  return {
    kind: "restartVM",
    stage: Stage.Apply,
    target: vmiRef(ctx, vmi),
    write: deletePreconditions(vmi.metadata.uid),
    reason,
    event: proactiveEvent(ctx, vm),
    onFailure: proactiveFailure(ctx, vm),
    ignoreNotFound: true,
  };
}

/** Proactive "label-patch": the VMI already runs an identical template, only its revision label moves. */
export function patchVMILabelsAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance,
  revision: string,
  reason: string,
): PatchVMILabelsAction {
  const current = vmi.metadata.labels ?? undefined;
  const next = { ...current, [POOL_REVISION_LABEL]: revision };
  const patch: JsonPatchOperation[] = current
    ? [
        { op: "test", path: "/metadata/labels", value: current },
        { op: "replace", path: "/metadata/labels", value: next },
      ]
    : [{ op: "add", path: "/metadata/labels", value: next }];
  return {
    kind: "patchVMILabels",
    stage: Stage.Apply,
    target: vmiRef(ctx, vmi),
    write: { verb: "patch", patchType: "json", patch: [...testUid(vmi.metadata.uid), ...patch] },
    reason,
    event: proactiveEvent(ctx, vm),
    onFailure: proactiveFailure(ctx, vm, "patching of vmi labels with new pool revision name"),
    ignoreNotFound: false,
  };
}

/** PUT of the re-templated VM; the observed resourceVersion in the body is the precondition. */
export function updateVMSpecAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  body: VirtualMachine,
  reason: string,
): UpdateVMSpecAction {
  const name = key(ctx, vm.metadata.name);
  return {
    kind: "updateVM",
    change: "spec",
    stage: Stage.Apply,
    target: vmRef(ctx, vm),
    write: { verb: "update", body },
    reason,
    event: { type: "Normal", reason: "SuccessfulUpdate", message: `Updated VM ${name}` },
    onFailure: {
      event: { reason: "FailedUpdate", messagePrefix: `Error updating virtual machine ${name}` },
      sync: PoolSync.vmUpdate,
    },
    ignoreNotFound: false,
  };
}

/** Drops `pool.kubevirt.io/finalizer` from a VM (test + replace on the finalizer list). */
export function removeVMFinalizerAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  reason: string,
  sync: PoolSyncSpec | undefined,
  stage: Stage,
): RemoveVMFinalizerAction {
  const finalizers = vm.metadata.finalizers ?? [];
  return {
    kind: "updateVM",
    change: "removeFinalizer",
    stage,
    target: vmRef(ctx, vm),
    write: {
      verb: "patch",
      patchType: "json",
      patch: [
        ...testUid(vm.metadata.uid),
        ...replaceList("/metadata/finalizers", finalizers, withoutPoolFinalizer(finalizers), undefined),
      ],
    },
    reason,
    onFailure: {
      event: {
        reason: "FailedUpdate",
        messagePrefix: `Error removing finalizer for VM ${key(ctx, vm.metadata.name)}`,
      },
      ...(sync ? { sync } : {}),
    },
    ignoreNotFound: true,
  };
}

function refsWithout(refs: readonly OwnerReference[] | null | undefined, uid: string): OwnerReference[] {
  return (refs ?? []).filter((ref) => ref.uid !== uid);
}

/**
 * Releases a VM whose labels stopped matching: removes the pool's owner reference and the pool finalizer in one
 * conditional patch (upstream's merge patch is invalid JSON when the VM has other finalizers; see DEVIATIONS.md).
 */
export function releaseVMAction(ctx: PoolContext, vm: VirtualMachine): ReleaseVMAction {
  const refs = vm.metadata.ownerReferences ?? [];
  const finalizers = vm.metadata.finalizers ?? [];
  const finalizerOps = finalizers.includes(POOL_FINALIZER)
    ? replaceList("/metadata/finalizers", finalizers, withoutPoolFinalizer(finalizers), undefined)
    : [];
  return {
    kind: "releaseVM",
    stage: Stage.Prepare,
    target: vmRef(ctx, vm),
    write: {
      verb: "patch",
      patchType: "json",
      patch: [
        ...testUid(vm.metadata.uid),
        ...replaceList("/metadata/ownerReferences", refs, refsWithout(refs, ctx.uid), undefined),
        ...finalizerOps,
      ],
    },
    reason: "labels no longer match the pool selector: release the VM (pools never adopt)",
    onFailure: {},
    ignoreNotFound: true,
  };
}

/** State preservation: hands a DataVolume or PVC over by removing the VM's controller reference. */
export function releaseVolumeAction(
  ctx: PoolContext,
  vm: VirtualMachine,
  volume: ObjectWithMeta,
  volumeKind: "DataVolume" | "PersistentVolumeClaim",
  sync: PoolSyncSpec | undefined,
): ReleaseVolumeAction {
  const refs = volume.metadata.ownerReferences ?? [];
  const label = volumeKind === "DataVolume" ? "DataVolume" : "PVC";
  return {
    kind: "releaseVolume",
    stage: Stage.Preserve,
    target: {
      apiVersion: volumeKind === "DataVolume" ? "cdi.kubevirt.io/v1beta1" : "v1",
      kind: volumeKind,
      namespace: ctx.namespace,
      name: volume.metadata.name,
      ...(volume.metadata.uid ? { uid: volume.metadata.uid } : {}),
    },
    write: {
      verb: "patch",
      patchType: "json",
      patch: replaceList(
        "/metadata/ownerReferences",
        refs,
        refsWithout(refs, vm.metadata.uid ?? ""),
        undefined,
      ),
    },
    reason: `state preservation: keep ${label} ${volume.metadata.name} when VM ${vm.metadata.name} goes`,
    onFailure: {
      event: {
        reason: "FailedUpdate",
        messagePrefix: `Error removing ${label} owner references for VM ${key(ctx, vm.metadata.name)}`,
      },
      ...(sync ? { sync } : {}),
    },
    ignoreNotFound: true,
  };
}

/** Creates the `<pool>-<generation>` revision that new or updated VMs will name. */
export function createRevisionAction(
  ctx: PoolContext,
  revision: ControllerRevision,
  sync: PoolSyncSpec,
): CreateRevisionAction {
  return {
    kind: "createRevision",
    stage: Stage.Prepare,
    target: {
      apiVersion: REVISION_API_VERSION,
      kind: REVISION_KIND,
      namespace: ctx.namespace,
      name: revision.metadata.name,
    },
    write: { verb: "create", body: revision },
    reason: `record the pool template at generation ${revision.revision} before VMs refer to it`,
    onFailure: { sync },
    ignoreNotFound: false,
    ignoreAlreadyExists: true,
  };
}

/** Prunes one of the pool's revisions that nothing uses any more. */
export function deleteRevisionAction(ctx: PoolContext, revision: ControllerRevision): DeleteRevisionAction {
  return {
    kind: "deleteRevision",
    stage: Stage.Apply,
    target: {
      apiVersion: REVISION_API_VERSION,
      kind: REVISION_KIND,
      namespace: ctx.namespace,
      name: revision.metadata.name,
      ...(revision.metadata.uid ? { uid: revision.metadata.uid } : {}),
    },
    write: deletePreconditions(revision.metadata.uid),
    reason: `no pool VM or VMI uses revision ${revision.metadata.name}`,
    onFailure: { sync: PoolSync.pruning },
    ignoreNotFound: true,
  };
}

/** Adds the pool finalizer, keeping any finalizers already there (upstream drops them; see DEVIATIONS.md). */
export function addPoolFinalizerAction(pool: VirtualMachinePool): AddPoolFinalizerAction {
  const finalizers = pool.metadata.finalizers;
  return {
    kind: "addPoolFinalizer",
    stage: Stage.Prepare,
    target: poolRef(pool),
    write: {
      verb: "patch",
      patchType: "json",
      patch: [
        ...testUid(pool.metadata.uid),
        ...replaceList(
          "/metadata/finalizers",
          finalizers,
          [...(finalizers ?? []), POOL_FINALIZER],
          pool.metadata.resourceVersion,
        ),
      ],
    },
    reason: `the pool lacks ${POOL_FINALIZER}`,
    onFailure: {},
    ignoreNotFound: true,
  };
}

/** Lets a deleting pool go once its VMs no longer carry the pool finalizer. */
export function removePoolFinalizerAction(pool: VirtualMachinePool): RemovePoolFinalizerAction {
  const finalizers = pool.metadata.finalizers ?? [];
  return {
    kind: "removePoolFinalizer",
    stage: Stage.Finalize,
    target: poolRef(pool),
    write: {
      verb: "patch",
      patchType: "json",
      patch: [
        ...testUid(pool.metadata.uid),
        ...replaceList("/metadata/finalizers", finalizers, withoutPoolFinalizer(finalizers), undefined),
      ],
    },
    reason: "the pool is being deleted and its VMs no longer carry the pool finalizer",
    onFailure: {},
    ignoreNotFound: true,
  };
}
