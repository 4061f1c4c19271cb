/**
 * The cluster as chat commands see it: a narrow port of domain verbs (find, list and patch pools, read their
 * events and autoscalers, read and patch a VM, dry-run a reconcile pass, record an audit event) and the
 * `PoolSnapshot` that both pool kinds are read into. The executor only talks to this port; `kubeChatopsPort`
 * implements it over shared/kube.
 */
import type { EntryInput, HistoryEntry } from "../history";
import type { EventInput, KubeEvent, MergePatch, NewObject, ObjectOf } from "../kube";
import type { VirtualMachine, VirtualMachineInstanceReplicaSet, VirtualMachinePool } from "../schemas";
import type { PoolId, PoolKind } from "./names";
import type { PoolCondition } from "./render";

/** A stored HorizontalPodAutoscaler (autoscaling/v2). */
export type Autoscaler = ObjectOf<"HorizontalPodAutoscaler">;

/** The body of a new HorizontalPodAutoscaler. */
export type NewAutoscaler = NewObject<"HorizontalPodAutoscaler">;

/** Both pool kinds, read into what chat commands need. */
export interface PoolSnapshot {
  readonly id: PoolId;
  /** As served (`pool.kubevirt.io/v1beta1`, `kubevirt.io/v1`): what HPA scale targets and events name. */
  readonly apiVersion: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** `spec.replicas`; unset means 1, as the controllers read it. */
  readonly desired: number;
  /** `status.replicas`. */
  readonly current: number;
  readonly ready: number;
  readonly paused: boolean;
  readonly deleting: boolean;
  /** `metadata.creationTimestamp` (whole seconds, the API server's clock); unset on objects not yet stored. */
  readonly created?: Date;
  readonly conditions: readonly PoolCondition[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** The verbs chat commands use. Failures are thrown as reason-coded errors (KubeErrors). */
export interface ChatopsPort {
  /** The pool of this kind, or undefined when it does not exist. */
  getPool(kind: PoolKind, namespace: string, name: string): Promise<PoolSnapshot | undefined>;
  /** The pools of both kinds in a namespace. */
  listPools(namespace: string): Promise<PoolSnapshot[]>;
  /** A merge patch of the pool object; put `metadata.resourceVersion` in it to make it conditional (409). */
  patchPool(pool: PoolId, patch: MergePatch): Promise<PoolSnapshot>;
  /** Events about this incarnation of the pool (field selectors on `involvedObject`). */
  poolEvents(pool: PoolSnapshot): Promise<KubeEvent[]>;
  listAutoscalers(namespace: string): Promise<Autoscaler[]>;
  createAutoscaler(body: NewAutoscaler): Promise<Autoscaler>;
  /** PUT; the object's `metadata.resourceVersion` is the precondition. */
  replaceAutoscaler(hpa: Autoscaler): Promise<Autoscaler>;
  /** Delete this incarnation only (uid precondition); an already deleted one is not an error. */
  deleteAutoscaler(namespace: string, name: string, uid: string): Promise<void>;
  getVm(namespace: string, name: string): Promise<VirtualMachine | undefined>;
  patchVm(namespace: string, name: string, patch: MergePatch): Promise<VirtualMachine>;
  /** The reconcile dry run of the pool (observe, plan; no writes) as text. */
  dryRun(pool: PoolId): Promise<string>;
  /** Best effort: false when the event could not be recorded. */
  recordEvent(event: EventInput): Promise<boolean>;
  /** The scaling history of this incarnation of the pool, oldest first. */
  history(pool: PoolSnapshot): Promise<HistoryEntry[]>;
  /** Best effort, after the change it describes: appends to the pool's scaling history; never throws. */
  recordHistory(pool: PoolSnapshot, entry: EntryInput): Promise<void>;
}

const DEFAULT_API_VERSIONS: Readonly<Record<PoolKind, string>> = {
  VirtualMachinePool: "pool.kubevirt.io/v1beta1",
  VirtualMachineInstanceReplicaSet: "kubevirt.io/v1",
};

/** The snapshot of a pool or replica set as read from the API server. */
export function snapshotOf(
  kind: PoolKind,
  object: VirtualMachinePool | VirtualMachineInstanceReplicaSet,
): PoolSnapshot {
  const { metadata, spec, status } = object;
  const created = metadata.creationTimestamp ? new Date(metadata.creationTimestamp) : undefined;
  return {
    id: { kind, namespace: metadata.namespace ?? "", name: metadata.name },
    apiVersion: object.apiVersion ?? DEFAULT_API_VERSIONS[kind],
    uid: metadata.uid ?? "",
    resourceVersion: metadata.resourceVersion ?? "",
    desired: Math.max(0, spec.replicas ?? 1),
    current: status?.replicas ?? 0,
    ready: status?.readyReplicas ?? 0,
    paused: spec.paused === true,
    deleting: Boolean(metadata.deletionTimestamp),
    ...(created && !Number.isNaN(created.getTime()) ? { created } : {}),
    conditions: (status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
    })),
    annotations: metadata.annotations ?? {},
  };
}
