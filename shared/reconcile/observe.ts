/**
 * Observation: what a pass reads before planning. For one pool, the pool and its namespace's VMs, VMIs and
 * ControllerRevisions (a replica set needs only VMIs). For a reconcile-all pass, one cluster-wide list per kind,
 * never one per pool, grouped by namespace so every pool plans from the same snapshot.
 */
import type { Kube } from "../kube";
import type {
  ControllerRevision,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachineInstanceReplicaSet,
  VirtualMachinePool,
} from "../schemas";
import type { PoolKind, PoolRef } from "./types";

export interface NamespaceChildren {
  readonly vms: readonly VirtualMachine[];
  readonly vmis: readonly VirtualMachineInstance[];
  readonly revisions: readonly ControllerRevision[];
}

export type Owner =
  | { readonly kind: "VirtualMachinePool"; readonly object: VirtualMachinePool }
  | { readonly kind: "VirtualMachineInstanceReplicaSet"; readonly object: VirtualMachineInstanceReplicaSet };

export interface Observation {
  readonly owner: Owner;
  readonly children: NamespaceChildren;
}

const EMPTY: NamespaceChildren = { vms: [], vmis: [], revisions: [] };

/** Reads one pool and its namespace's children; undefined when the pool does not exist. */
export async function observePool(kube: Kube, ref: PoolRef): Promise<Observation | undefined> {
  if (ref.kind === "VirtualMachinePool") {
    const [pool, vms, vmis, revisions] = await Promise.all([
      kube.get("VirtualMachinePool", ref.namespace, ref.name),
      kube.list("VirtualMachine", { namespace: ref.namespace }),
      kube.list("VirtualMachineInstance", { namespace: ref.namespace }),
      kube.list("ControllerRevision", { namespace: ref.namespace }),
    ]);
    if (!pool) return undefined;
    return { owner: { kind: "VirtualMachinePool", object: pool }, children: { vms, vmis, revisions } };
  }
  const [rs, vmis] = await Promise.all([
    kube.get("VirtualMachineInstanceReplicaSet", ref.namespace, ref.name),
    kube.list("VirtualMachineInstance", { namespace: ref.namespace }),
  ]);
  if (!rs) return undefined;
  return { owner: { kind: "VirtualMachineInstanceReplicaSet", object: rs }, children: { ...EMPTY, vmis } };
}

/** One cluster-wide (or one-namespace) snapshot: every pool of both kinds and every child, one list per kind. */
export async function observeAll(kube: Kube, namespace?: string): Promise<Observation[]> {
  // One request per kind, whatever the cluster's size (the snapshot keeps every item anyway).
  const scope = namespace === undefined ? { pageSize: 0 } : { namespace, pageSize: 0 };
  const [pools, sets, vms, vmis, revisions] = await Promise.all([
    kube.list("VirtualMachinePool", scope),
    kube.list("VirtualMachineInstanceReplicaSet", scope),
    kube.list("VirtualMachine", scope),
    kube.list("VirtualMachineInstance", scope),
    kube.list("ControllerRevision", scope),
  ]);
  const byNamespace = new Map<
    string,
    { vms: VirtualMachine[]; vmis: VirtualMachineInstance[]; revisions: ControllerRevision[] }
  >();
  const bucket = (ns: string | undefined) => {
    const key = ns ?? "";
    let b = byNamespace.get(key);
    if (!b) {
      b = { vms: [], vmis: [], revisions: [] };
      byNamespace.set(key, b);
    }
    return b;
  };
  for (const vm of vms) bucket(vm.metadata.namespace).vms.push(vm);
  for (const vmi of vmis) bucket(vmi.metadata.namespace).vmis.push(vmi);
  for (const rev of revisions) bucket(rev.metadata.namespace).revisions.push(rev);
  const childrenOf = (ns: string | undefined): NamespaceChildren => byNamespace.get(ns ?? "") ?? EMPTY;
  return [
    ...pools.map((object) => ({
      owner: { kind: "VirtualMachinePool" as const, object },
      children: childrenOf(object.metadata.namespace),
    })),
    ...sets.map((object) => ({
      owner: { kind: "VirtualMachineInstanceReplicaSet" as const, object },
      children: childrenOf(object.metadata.namespace),
    })),
  ];
}

/** The ref of an observed owner. */
export function refOf(owner: Owner): PoolRef {
  return {
    kind: owner.kind as PoolKind,
    namespace: owner.object.metadata.namespace ?? "default",
    name: owner.object.metadata.name,
  };
}
