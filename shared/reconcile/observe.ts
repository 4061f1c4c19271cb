/**
 * Observation: what a pass reads before planning. For one pool, the pool and its namespace's VMs, VMIs and
 * ControllerRevisions (a replica set needs only VMIs). For a reconcile-all pass, one cluster-wide list per kind,
 * never one per pool, grouped by namespace so every pool plans from the same snapshot.
 */
import type { KindName, Kube, LenientList, ObjectOf } from "../kube";
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

/**
 * A pool that could not be observed, and why: its own object is unreadable, or a list it depends on failed or
 * holds an unreadable object of its namespace. Name `*` (and namespace `*` for a cluster-wide read) stands for
 * every pool of the kind when the kind's own list failed: they cannot be named.
 */
export interface Unobserved {
  readonly ref: PoolRef;
  readonly error: unknown;
}

/** What a reconcile-all pass read: the pools it can plan, and those a failed read left out. */
export interface Snapshot {
  readonly observations: readonly Observation[];
  readonly unobserved: readonly Unobserved[];
}

const EVERY = "*";

type Read<K extends KindName> =
  | { readonly ok: true; readonly list: LenientList<K> }
  | { readonly ok: false; readonly error: unknown };

async function settle<K extends KindName>(listing: Promise<LenientList<K>>): Promise<Read<K>> {
  try {
    return { ok: true, list: await listing };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Why a namespace's children of one kind cannot be trusted, if they cannot: the failed list or an unreadable item. */
function brokenIn<K extends KindName>(children: Read<K>): (namespace: string) => unknown {
  if (!children.ok) return () => children.error;
  const broken = new Map<string, unknown>();
  for (const item of children.list.unreadable) {
    const key = item.namespace ?? EVERY;
    if (!broken.has(key)) broken.set(key, item.error);
  }
  return (namespace) => broken.get(namespace) ?? broken.get(EVERY);
}

/**
 * One cluster-wide (or one-namespace) snapshot: every pool of both kinds and every child, one list per kind. Never
 * throws for API trouble: a failed or partly unreadable list leaves out only the pools that depend on it (a VM
 * pool needs VMs, VMIs and revisions; a replica set needs VMIs), each with the error.
 */
export async function observeAll(kube: Kube, namespace?: string): Promise<Snapshot> {
  // One request per kind, whatever the cluster's size (the snapshot keeps every item anyway).
  const scope = namespace === undefined ? { pageSize: 0 } : { namespace, pageSize: 0 };
  const [pools, sets, vms, vmis, revisions] = await Promise.all([
    settle(kube.listLenient("VirtualMachinePool", scope)),
    settle(kube.listLenient("VirtualMachineInstanceReplicaSet", scope)),
    settle(kube.listLenient("VirtualMachine", scope)),
    settle(kube.listLenient("VirtualMachineInstance", scope)),
    settle(kube.listLenient("ControllerRevision", scope)),
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
  for (const vm of vms.ok ? vms.list.items : []) bucket(vm.metadata.namespace).vms.push(vm);
  for (const vmi of vmis.ok ? vmis.list.items : []) bucket(vmi.metadata.namespace).vmis.push(vmi);
  for (const rev of revisions.ok ? revisions.list.items : [])
    bucket(rev.metadata.namespace).revisions.push(rev);
  const childrenOf = (ns: string | undefined): NamespaceChildren => byNamespace.get(ns ?? "") ?? EMPTY;

  const needs: Record<PoolKind, readonly ((namespace: string) => unknown)[]> = {
    VirtualMachinePool: [brokenIn(vms), brokenIn(vmis), brokenIn(revisions)],
    VirtualMachineInstanceReplicaSet: [brokenIn(vmis)],
  };
  const observations: Observation[] = [];
  const unobserved: Unobserved[] = [];
  const sort = (owner: Owner) => {
    const ref = refOf(owner);
    const error = needs[owner.kind]
      .map((broken) => broken(owner.object.metadata.namespace ?? ""))
      .find(Boolean);
    if (error) unobserved.push({ ref, error });
    else observations.push({ owner, children: childrenOf(owner.object.metadata.namespace) });
  };
  const owners = <K extends PoolKind>(kind: K, owned: Read<K>, each: (object: ObjectOf<K>) => void) => {
    if (!owned.ok) {
      unobserved.push({ ref: { kind, namespace: namespace ?? EVERY, name: EVERY }, error: owned.error });
      return;
    }
    for (const item of owned.list.unreadable) {
      const ref = { kind, namespace: item.namespace ?? namespace ?? EVERY, name: item.name ?? EVERY };
      unobserved.push({ ref, error: item.error });
    }
    for (const object of owned.list.items) each(object);
  };
  owners("VirtualMachinePool", pools, (object) => sort({ kind: "VirtualMachinePool", object }));
  owners("VirtualMachineInstanceReplicaSet", sets, (object) =>
    sort({ kind: "VirtualMachineInstanceReplicaSet", object }),
  );
  return { observations, unobserved };
}

/** Why `ref` is missing from `snapshot`, when a failed read explains it. */
export function whyUnobserved(snapshot: Snapshot, ref: PoolRef): unknown {
  const covers = (part: string, value: string) => part === EVERY || part === value;
  return snapshot.unobserved.find(
    (u) => u.ref.kind === ref.kind && covers(u.ref.namespace, ref.namespace) && covers(u.ref.name, ref.name),
  )?.error;
}

/** The ref of an observed owner. */
export function refOf(owner: Owner): PoolRef {
  return {
    kind: owner.kind as PoolKind,
    namespace: owner.object.metadata.namespace ?? "default",
    name: owner.object.metadata.name,
  };
}
