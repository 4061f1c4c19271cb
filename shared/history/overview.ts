/**
 * Every pool with its counts and its scaling history, read with three list requests (both pool kinds and the
 * history ConfigMaps by label) whatever the number of pools: what the `/ui` page shows. A log is matched to its
 * pool by the owner's uid, so a log left by a deleted pool of the same name is never shown as the new one's.
 */
import type { Kube } from "../kube";
import type { PoolRef } from "../reconcile/types";
import type { HistoryEntry } from "./entry";
import { listHistories } from "./store";

export interface PoolOverview {
  readonly ref: PoolRef;
  readonly desired: number;
  readonly current: number;
  readonly ready: number;
  readonly paused: boolean;
  /** Oldest first. */
  readonly entries: readonly HistoryEntry[];
}

interface PoolLike {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string | undefined;
    readonly uid?: string | undefined;
  };
  readonly spec: {
    readonly replicas?: number | null | undefined;
    readonly paused?: boolean | null | undefined;
  };
  readonly status?:
    | { readonly replicas?: number | undefined; readonly readyReplicas?: number | undefined }
    | undefined;
}

/** The pools (of one namespace, or all) sorted by namespace, name and kind, each with its history. */
export async function readOverview(kube: Kube, namespace?: string): Promise<PoolOverview[]> {
  const where = namespace === undefined ? {} : { namespace };
  const [pools, sets, histories] = await Promise.all([
    kube.list("VirtualMachinePool", where),
    kube.list("VirtualMachineInstanceReplicaSet", where),
    listHistories(kube, namespace),
  ]);
  const byOwner = new Map(histories.map((h) => [h.ownerUid, h.entries]));
  const view = (kind: PoolRef["kind"], object: PoolLike): PoolOverview => ({
    ref: { kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name },
    desired: Math.max(0, object.spec.replicas ?? 1),
    current: object.status?.replicas ?? 0,
    ready: object.status?.readyReplicas ?? 0,
    paused: object.spec.paused === true,
    entries: (object.metadata.uid && byOwner.get(object.metadata.uid)) || [],
  });
  return [
    ...pools.map((p) => view("VirtualMachinePool", p)),
    ...sets.map((s) => view("VirtualMachineInstanceReplicaSet", s)),
  ].sort(
    (a, b) =>
      a.ref.namespace.localeCompare(b.ref.namespace) ||
      a.ref.name.localeCompare(b.ref.name) ||
      a.ref.kind.localeCompare(b.ref.kind),
  );
}
