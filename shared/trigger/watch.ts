/**
 * The watch trigger of the in-cluster server (`VMPOOL_WATCH=true`): list+watch of pools, replica sets, VMs and VMIs
 * across the cluster (shared/kube's reflector), each change mapped to the pool it belongs to the way an admission
 * call is (`targetOf`: the object itself, its controller owner, a pool VM's revision label, or — for a VMI that
 * names none of them — its VM, read once), and handed to the per-pool coalescer, so a burst becomes a few passes
 * and at most one pass per pool runs at a time. The timer stays the safety net. The first list of each kind only
 * fills the reflector's cache: what existed before the watch started is the timer's.
 */
import type { KindWatch, Kube, WatchChange, WatchOptions } from "../kube";
import type { Logger } from "../log";
import type { PoolRef } from "../reconcile";
import { type AdmissionTarget, targetOf } from "./admission";

/** The kinds the trigger watches, with the API group and resource a target is resolved by. */
export const WATCHED = {
  VirtualMachinePool: { group: "pool.kubevirt.io", resource: "virtualmachinepools" },
  VirtualMachineInstanceReplicaSet: { group: "kubevirt.io", resource: "virtualmachineinstancereplicasets" },
  VirtualMachine: { group: "kubevirt.io", resource: "virtualmachines" },
  VirtualMachineInstance: { group: "kubevirt.io", resource: "virtualmachineinstances" },
} as const;
export type WatchedKind = keyof typeof WATCHED;
const WATCHED_KINDS = Object.keys(WATCHED) as WatchedKind[];

/** The pool a watched change belongs to. Pure. */
export function watchTarget(kind: WatchedKind, change: WatchChange): AdmissionTarget {
  const { metadata } = change.object;
  return targetOf(WATCHED[kind], metadata.namespace ?? undefined, metadata.name, [change.object]);
}

export interface WatchTriggerOptions {
  readonly kube: Kube;
  /** Asks for a pass of the pool soon (the coalescer's `request`); never waits for it. */
  readonly request: (ref: PoolRef, reason: string) => void;
  readonly log: Logger;
  /** Reflector settings (tests shorten the watch timeout). */
  readonly watch?: Omit<WatchOptions, "onChange">;
}

export interface WatchTrigger {
  /** Resolves once every kind has been listed once. */
  readonly synced: Promise<void>;
  /** Per kind: lists, watches, 410s, failures, events. */
  stats(): Record<WatchedKind, ReturnType<KindWatch["stats"]>>;
  /** Ends every watch; resolves once none has a request in flight. */
  stop(): Promise<void>;
}

/** Starts watching every kind in {@link WATCHED}; see the module comment. */
export function startWatchTrigger(options: WatchTriggerOptions): WatchTrigger {
  const { kube, request, log } = options;
  let stopped = false;

  const resolveVM = async (namespace: string, name: string, reason: string): Promise<void> => {
    const vm = await kube.get("VirtualMachine", namespace, name);
    const owner = vm?.metadata.ownerReferences?.find((o) => o.controller === true);
    if (!stopped && owner?.kind === "VirtualMachinePool")
      request({ kind: "VirtualMachinePool", namespace, name: owner.name }, reason);
  };

  const onChange = (kind: WatchedKind) => (change: WatchChange) => {
    const target = watchTarget(kind, change);
    const { namespace, name } = change.object.metadata;
    const reason = `watch: ${change.type} ${WATCHED[kind].resource} ${namespace ?? ""}/${name}`;
    if (target.kind === "pool") request(target.ref, reason);
    else if (target.kind === "viaVM")
      resolveVM(target.namespace, target.name, reason).catch((err: unknown) =>
        log.debug({ err, vm: `${target.namespace}/${target.name}` }, "watch: could not read the VMI's VM"),
      );
  };

  const watches = new Map<WatchedKind, KindWatch>(
    WATCHED_KINDS.map((kind) => [kind, kube.watch(kind, { ...options.watch, onChange: onChange(kind) })]),
  );
  return {
    synced: Promise.all([...watches.values()].map((w) => w.synced)).then(() => undefined),
    stats: () =>
      Object.fromEntries([...watches].map(([kind, w]) => [kind, w.stats()])) as ReturnType<
        WatchTrigger["stats"]
      >,
    stop: async () => {
      stopped = true;
      await Promise.all([...watches.values()].map((w) => w.stop()));
    },
  };
}
