/**
 * The objects a pool writes and how they are named: VM names `<pool>-<ordinal>` with gap filling, the per-ordinal
 * VM spec (DataVolumeTemplate names and `nameGeneration` suffixes with the matching volume rewrites), the VM object
 * created on scale-out or PUT on update, the ControllerRevision `<pool>-<generation>`, and the pool owner
 * reference. Mirrors KubeVirt `pool.go` `calculateNewVMNames`, `indexVMSpec`, `scaleOut`, `opportunisticUpdate`,
 * `ensureControllerRevision` (kubevirt-semantics §1.5, §1.8, §1.9).
 */
import type {
  ControllerRevision,
  OwnerReference,
  VirtualMachine,
  VirtualMachinePool,
  VirtualMachineSpec,
  Volume,
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
} from "./constants";
import { controllerRef } from "./objects";

/** `<pool>-<ordinal>` (`generateVMName`). */
export function vmName(poolName: string, ordinal: number): string {
  return `${poolName}-${ordinal}`;
}

/**
 * The lowest `count` ordinals whose names are not taken by any VM in the namespace (owned, orphaned, foreign or
 * terminating), in increasing order: gaps first, then past the end.
 */
export function freeOrdinals(poolName: string, count: number, taken: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (let ordinal = 0; out.length < count; ordinal++) {
    if (!taken.has(vmName(poolName, ordinal))) out.push(ordinal);
  }
  return out;
}

/** `<pool>-<metadata.generation>` (`getRevisionName`). */
export function revisionName(pool: VirtualMachinePool): string {
  return `${pool.metadata.name}-${pool.metadata.generation ?? 0}`;
}

/** The controller reference every pool child carries. */
export function poolOwnerRef(pool: VirtualMachinePool): OwnerReference {
  return controllerRef(POOL_API_VERSION, POOL_KIND, pool.metadata.name, pool.metadata.uid ?? "");
}

interface NameGenerationFlags {
  readonly configMaps: boolean;
  readonly secrets: boolean;
}

function nameGenerationFlags(pool: VirtualMachinePool): NameGenerationFlags {
  const generation = pool.spec.nameGeneration;
  return {
    configMaps: generation?.appendIndexToConfigMapRefs === true,
    secrets: generation?.appendIndexToSecretRefs === true,
  };
}

function suffixRef<T extends { name: string }>(ref: T | null | undefined, suffix: string): void {
  if (ref) ref.name += suffix;
}

/** Rewrites one (already cloned) volume in place; a volume has exactly one source. */
function indexVolume(
  volume: Volume,
  dvNames: ReadonlyMap<string, string>,
  flags: NameGenerationFlags,
  suffix: string,
): void {
  if (volume.persistentVolumeClaim) {
    const renamed = dvNames.get(volume.persistentVolumeClaim.claimName);
    if (renamed !== undefined) volume.persistentVolumeClaim.claimName = renamed;
  } else if (volume.dataVolume) {
    const renamed = dvNames.get(volume.dataVolume.name);
    if (renamed !== undefined) volume.dataVolume.name = renamed;
  } else if (volume.configMap && flags.configMaps) {
    volume.configMap.name = `${volume.configMap.name ?? ""}${suffix}`;
  } else if (volume.secret && flags.secrets) {
    volume.secret.secretName = `${volume.secret.secretName ?? ""}${suffix}`;
  } else if (volume.cloudInitNoCloud && flags.secrets) {
    suffixRef(volume.cloudInitNoCloud.userDataSecretRef, suffix);
    suffixRef(volume.cloudInitNoCloud.networkDataSecretRef, suffix);
  } else if (volume.cloudInitConfigDrive && flags.secrets) {
    suffixRef(volume.cloudInitConfigDrive.userDataSecretRef, suffix);
    suffixRef(volume.cloudInitConfigDrive.networkDataSecretRef, suffix);
  }
}

/**
 * A deep copy of the template VM spec for one ordinal (`indexVMSpec`): every DataVolumeTemplate becomes
 * `<name>-<ordinal>` and volumes naming it follow; with `nameGeneration`, configMap and secret references
 * (including cloud-init user/network data secrets) get the same suffix.
 */
export function indexVMSpec(pool: VirtualMachinePool, ordinal: number): VirtualMachineSpec {
  const spec = structuredClone(pool.spec.virtualMachineTemplate.spec);
  const suffix = `-${ordinal}`;
  const dvNames = new Map<string, string>();
  for (const template of spec.dataVolumeTemplates ?? []) {
    const name = template.metadata?.name;
    if (name === undefined || template.metadata === undefined) continue;
    dvNames.set(name, `${name}${suffix}`);
    template.metadata.name = `${name}${suffix}`;
  }
  const flags = nameGenerationFlags(pool);
  for (const volume of spec.template.spec?.volumes ?? []) indexVolume(volume, dvNames, flags, suffix);
  return spec;
}

/** Puts the revision label on the VM labels and on its VMI template labels (so the VMI inherits it). */
function withRevisionLabel(spec: VirtualMachineSpec, revision: string): VirtualMachineSpec {
  const template = spec.template;
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [POOL_REVISION_LABEL]: revision },
  };
  return spec;
}

function templateLabels(pool: VirtualMachinePool, revision: string): Record<string, string> {
  return { ...pool.spec.virtualMachineTemplate.metadata?.labels, [POOL_REVISION_LABEL]: revision };
}

function templateAnnotations(pool: VirtualMachinePool): { annotations?: Record<string, string> } {
  const annotations = pool.spec.virtualMachineTemplate.metadata?.annotations;
  return annotations ? { annotations: { ...annotations } } : {};
}

/** The VM a scale-out creates for `ordinal` (`scaleOut`). */
export function buildPoolVM(pool: VirtualMachinePool, ordinal: number, revision: string): VirtualMachine {
  return {
    apiVersion: KUBEVIRT_API_VERSION,
    kind: VM_KIND,
    metadata: {
      name: vmName(pool.metadata.name, ordinal),
      namespace: pool.metadata.namespace ?? "",
      labels: templateLabels(pool, revision),
      ...templateAnnotations(pool),
      finalizers: [POOL_FINALIZER],
      ownerReferences: [poolOwnerRef(pool)],
    },
    spec: withRevisionLabel(indexVMSpec(pool, ordinal), revision),
  };
}

/** Keeps the firmware UUID and serial the VM was created with: they identify the VM to its guest. */
function preserveIdentity(original: VirtualMachine, spec: VirtualMachineSpec): VirtualMachineSpec {
  const firmware = original.spec.template.spec?.domain?.firmware;
  if (!firmware) return spec;
  const vmiSpec = spec.template.spec ?? {};
  const domain = vmiSpec.domain ?? {};
  const updated = { ...domain.firmware };
  if (firmware.uuid) updated.uuid = firmware.uuid;
  if (firmware.serial) updated.serial = firmware.serial;
  spec.template.spec = { ...vmiSpec, domain: { ...domain, firmware: updated } };
  return spec;
}

/**
 * The VM body PUT by a template update (`opportunisticUpdate`): labels and annotations replaced by the template's
 * (extra ones are dropped, as upstream), spec re-indexed, revision label injected, firmware identity kept, and
 * everything else (ownerReferences, finalizers, resourceVersion as the precondition) from the observed VM.
 */
export function buildUpdatedVM(
  pool: VirtualMachinePool,
  vm: VirtualMachine,
  ordinal: number,
  revision: string,
): VirtualMachine {
  const { annotations: _dropped, ...metadata } = vm.metadata;
  const { status: _status, ...rest } = vm;
  return {
    ...rest,
    apiVersion: vm.apiVersion ?? KUBEVIRT_API_VERSION,
    kind: vm.kind ?? VM_KIND,
    metadata: { ...metadata, labels: templateLabels(pool, revision), ...templateAnnotations(pool) },
    spec: preserveIdentity(vm, withRevisionLabel(indexVMSpec(pool, ordinal), revision)),
  };
}

/** The ControllerRevision recording the pool spec at its current generation (`ensureControllerRevision`). */
export function buildRevision(pool: VirtualMachinePool, name: string): ControllerRevision {
  return {
    apiVersion: REVISION_API_VERSION,
    kind: REVISION_KIND,
    metadata: { name, namespace: pool.metadata.namespace ?? "", ownerReferences: [poolOwnerRef(pool)] },
    data: structuredClone(pool.spec),
    revision: pool.metadata.generation ?? 0,
  };
}
