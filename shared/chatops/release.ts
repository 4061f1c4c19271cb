/**
 * `release <vm>`: the seed document's "remove a VM from its pool" (KubeVirt user guide: detach a VM by removing
 * its owner references, e.g. to debug it; the pool then creates a replacement). The patch also drops the pool
 * finalizer, which the pool would otherwise leave on the detached VM forever (kubevirt-semantics.md §1.13), and
 * carries the VM's uid and resourceVersion so it applies only to the VM that was read. Pure.
 */
import type { MergePatch } from "../kube";
import { POOL_FINALIZER } from "../planning";
import type { OwnerReference, VirtualMachine } from "../schemas";

const POOL_GROUP = "pool.kubevirt.io";

function isPoolReference(ref: OwnerReference): boolean {
  return ref.kind === "VirtualMachinePool" && ref.apiVersion.split("/")[0] === POOL_GROUP;
}

/** The VM's owning pool (its controller reference to a VirtualMachinePool), or undefined. */
export function poolOwnerOf(vm: VirtualMachine): OwnerReference | undefined {
  const refs = (vm.metadata.ownerReferences ?? []).filter(isPoolReference);
  return refs.find((ref) => ref.controller === true) ?? refs[0];
}

/**
 * The merge patch that detaches `vm` from its pool: pool owner references and the pool finalizer removed,
 * everything else kept. `resourceVersion` makes it conditional (409 if the VM changed since it was read); `uid`
 * is immutable, so the API server refuses it for a recreated VM of the same name.
 */
export function releasePatch(vm: VirtualMachine): MergePatch {
  const owners = (vm.metadata.ownerReferences ?? []).filter((ref) => !isPoolReference(ref));
  const finalizers = (vm.metadata.finalizers ?? []).filter((f) => f !== POOL_FINALIZER);
  return {
    metadata: {
      uid: vm.metadata.uid,
      resourceVersion: vm.metadata.resourceVersion,
      // Merge patches replace lists whole; null removes the field (RFC 7386).
      ownerReferences: owners.length > 0 ? owners : null,
      finalizers: finalizers.length > 0 ? finalizers : null,
    },
  };
}
