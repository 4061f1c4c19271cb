/**
 * What one pool pass knows: the validated pool (selector compiled, desired count defaulted and clamped), its
 * children indexed by name once (so a 10,000-VM pool plans in linear time), and the split of the namespace's VMs
 * into members (owned and matching, deleting ones included), detached (owned, no longer matching) and the rest.
 */
import { matches, type Selector } from "../labels";
import type {
  ControllerRevision,
  ObjectWithMeta,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachinePool,
} from "../schemas/kubevirt";
import { isControlledBy, isDeleting, labelsOf } from "./objects";
import { revisionName } from "./pool-naming";
import type { RandomSource } from "./random";
import { burstOf, desiredReplicas, type PlanOptions } from "./spec";

/** Everything a pool pass observes. */
export interface PoolPlanInput {
  readonly pool: VirtualMachinePool;
  /** Every VM in the pool's namespace: unowned ones are never touched, but their names stay taken. */
  readonly vms: readonly VirtualMachine[];
  /** VMIs in the namespace; each pool VM's VMI has the VM's name. */
  readonly vmis: readonly VirtualMachineInstance[];
  /** ControllerRevisions in the namespace (the pool's own are pruned when unused). */
  readonly revisions: readonly ControllerRevision[];
  /**
   * DataVolumes and PVCs in the namespace. Needed only with a scale-in `statePreservation`: without them the
   * planner will not remove the pool finalizer from a deleted VM, so its volumes cannot be garbage-collected.
   */
  readonly dataVolumes?: readonly ObjectWithMeta[];
  readonly persistentVolumeClaims?: readonly ObjectWithMeta[];
  readonly now: Date;
  readonly random: RandomSource;
  readonly options?: PlanOptions;
}

export interface PoolContext {
  readonly pool: VirtualMachinePool;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly selector: Selector;
  readonly labelSelector: string;
  readonly desired: number;
  readonly burst: number;
  /** `<pool>-<generation>`, the revision new and updated VMs carry. */
  readonly revision: string;
  readonly now: Date;
  readonly random: RandomSource;
  readonly paused: boolean;
  readonly deleting: boolean;
  readonly vms: readonly VirtualMachine[];
  /** Names of every VM in the namespace (built on first use: only scale-out needs it). */
  takenNames(): ReadonlySet<string>;
  /** The VMI with the VM's name, whoever owns it (the index is built on first use). */
  namedVMI(vm: VirtualMachine): VirtualMachineInstance | undefined;
  readonly revisions: ReadonlyMap<string, ControllerRevision>;
  readonly dataVolumes: ReadonlyMap<string, ObjectWithMeta> | undefined;
  readonly pvcs: ReadonlyMap<string, ObjectWithMeta> | undefined;
}

function indexByName<T extends ObjectWithMeta>(items: readonly T[] | undefined): Map<string, T> {
  const index = new Map<string, T>();
  for (const item of items ?? []) index.set(item.metadata.name, item);
  return index;
}

/** Indexes one observation for planning; the expensive indexes are built on first use. */
export function buildPoolContext(
  input: PoolPlanInput,
  selector: Selector,
  labelSelector: string,
): PoolContext {
  const { pool } = input;
  let taken: ReadonlySet<string> | undefined;
  let vmisByName: ReadonlyMap<string, VirtualMachineInstance> | undefined;
  return {
    pool,
    name: pool.metadata.name,
    namespace: pool.metadata.namespace ?? "",
    uid: pool.metadata.uid ?? "",
    selector,
    labelSelector,
    desired: desiredReplicas(pool.spec.replicas),
    burst: burstOf(input.options),
    revision: revisionName(pool),
    now: input.now,
    random: input.random,
    paused: pool.spec.paused === true,
    deleting: isDeleting(pool.metadata),
    vms: input.vms,
    takenNames: () => {
      taken ??= new Set(input.vms.map((vm) => vm.metadata.name));
      return taken;
    },
    namedVMI: (vm) => {
      vmisByName ??= indexByName(input.vmis);
      return vmisByName.get(vm.metadata.name);
    },
    revisions: indexByName(input.revisions),
    dataVolumes: input.dataVolumes ? indexByName(input.dataVolumes) : undefined,
    pvcs: input.persistentVolumeClaims ? indexByName(input.persistentVolumeClaims) : undefined,
  };
}

export interface PoolMembership {
  /** Owned (controller UID = pool UID) and matching the selector, deleting ones included. */
  readonly members: readonly VirtualMachine[];
  /** Owned but no longer matching: to be released. */
  readonly detached: readonly VirtualMachine[];
}

/** Splits the namespace's VMs by ownership and selector match (`ReleaseDetachedVirtualMachines`). */
export function classifyVMs(ctx: PoolContext): PoolMembership {
  const members: VirtualMachine[] = [];
  const detached: VirtualMachine[] = [];
  for (const vm of ctx.vms) {
    if (!isControlledBy(vm.metadata, ctx.uid)) continue;
    if (matches(ctx.selector, labelsOf(vm.metadata))) members.push(vm);
    else detached.push(vm);
  }
  return { members, detached };
}

/** The VMI a pool VM runs: same name and controlled by that VM (a same-named VMI of another owner is not ours). */
export function vmiOf(ctx: PoolContext, vm: VirtualMachine): VirtualMachineInstance | undefined {
  const vmi = ctx.namedVMI(vm);
  return vmi && isControlledBy(vmi.metadata, vm.metadata.uid) ? vmi : undefined;
}
