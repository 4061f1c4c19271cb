/**
 * What one pool pass knows: the validated pool (selector compiled, desired count defaulted and clamped), its
 * children indexed by name once (so a 10,000-VM pool plans in linear time), and the split of the namespace's VMs
 * into members (owned and matching, deleting ones included), detached (owned, no longer matching) and the rest.
 */
import { canonicalString, isEmptySpec, matches, type Selector } from "../labels";
import type {
  ControllerRevision,
  LabelSelector,
  ObjectWithMeta,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachinePool,
} from "../schemas/kubevirt";
import { BURST_REPLICAS } from "./constants";
import { isControlledBy, isDeleting, labelsOf } from "./objects";
import { revisionName } from "./pool-naming";
import type { RandomSource } from "./random";
import { compileLabelSelector } from "./selection";
import type { Note } from "./types";

/** Tunables of a pass. */
export interface PlanOptions {
  /** Most writes one pass may plan; KubeVirt's burst (250) by default. */
  readonly burst?: number;
}

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

export type PoolValidation =
  | { readonly ok: true; readonly selector: Selector; readonly labelSelector: string }
  | { readonly ok: false; readonly skip: Note };

/**
 * The checks upstream makes before anything else (`execute`): a parsable, non-empty selector that matches the
 * template labels. Failing ones end the pass with a log line only: no writes, no status, no events.
 */
export function validateSelector(
  selector: LabelSelector | null | undefined,
  templateLabels: Record<string, string> | null | undefined,
): PoolValidation {
  if (isEmptySpec(selector as Parameters<typeof isEmptySpec>[0])) {
    return {
      ok: false,
      skip: { reason: "EmptySelector", message: "selector is empty: refusing to select every object" },
    };
  }
  const compiled = compileLabelSelector(selector);
  if (!compiled.ok) return { ok: false, skip: { reason: "InvalidSelector", message: compiled.error } };
  if (!matches(compiled.selector, templateLabels ?? undefined)) {
    return {
      ok: false,
      skip: { reason: "SelectorMismatch", message: "selector does not match template labels" },
    };
  }
  const labelSelector = canonicalString(selector as Parameters<typeof canonicalString>[0]);
  return { ok: true, selector: compiled.selector, labelSelector };
}

/** `spec.replicas`, nil meaning 1 (`calcDiff`), never below 0. */
export function desiredReplicas(replicas: number | null | undefined): number {
  return Math.max(0, replicas ?? 1);
}

function indexByName<T extends ObjectWithMeta>(items: readonly T[] | undefined): Map<string, T> {
  const index = new Map<string, T>();
  for (const item of items ?? []) index.set(item.metadata.name, item);
  return index;
}

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
    burst: Math.max(0, input.options?.burst ?? BURST_REPLICAS),
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
