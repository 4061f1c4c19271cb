/**
 * The port between the simulator's shell and a cluster: reads from a cache (the embedded store itself, or
 * list+watch caches over the API), writes that resolve once the cluster acknowledged them and are visible to the
 * next read at once (read-your-writes), and one stream of changes. The embedded backend (./embedded) answers
 * synchronously from the local cluster's Store and Registry; the API backend (./api) talks HTTP to any
 * kube-apiserver. Failures are `ApiError`s carrying the HTTP code and Kubernetes reason, from either backend.
 */
import type { KObject } from "../store";
import type { Json } from "./json";

/** Kinds the shell reads from the cache and hears changes of. */
export type WatchedKind = "vm" | "vmi" | "dv" | "pod" | "svc" | "ep" | "node";
/** Every kind the shell touches: the watched ones plus Events and node Leases, which it only writes. */
export type Kind = WatchedKind | "event" | "lease";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One change of a cached object. */
export interface BackendChange {
  readonly kind: WatchedKind;
  readonly type: ChangeType;
  /** The new state, or the last known state of a deleted object. */
  readonly obj: KObject;
  /** The cached state before the change (undefined for ADDED). */
  readonly previous: KObject | undefined;
}

export interface BackendWriteOptions {
  /** Field manager recorded for the write (the upstream component's name). */
  readonly fieldManager?: string;
}

export interface BackendDeleteOptions {
  /** Precondition: only delete the object with this uid (not a same-named successor). */
  readonly uid?: string;
  /** 0 deletes a pod at once, as the kubelet does once its containers stopped. */
  readonly gracePeriodSeconds?: number;
}

/** `deleted`: the object is gone; `terminating`: it has a deletionTimestamp and waits for finalizers or grace. */
export type DeleteOutcome = "deleted" | "terminating";

export interface SimulatorBackend {
  /**
   * True when this backend's simulator writes Endpoints itself. Over the API the real endpoints controller
   * does it from the launcher pods.
   */
  readonly writesEndpoints: boolean;
  /** Clock in epoch milliseconds. */
  now(): number;
  get(kind: WatchedKind, namespace: string | undefined, name: string): KObject | undefined;
  /**
   * The object as the server has it now (undefined when gone), for decisions a stale cache must not make:
   * starting children of an owner that may just have been deleted. The cache is updated with the answer.
   */
  confirm(kind: WatchedKind, namespace: string | undefined, name: string): Promise<KObject | undefined>;
  /** Cached objects of one kind, in one namespace or all, ordered by namespace then name. */
  list(kind: WatchedKind, namespace: string | undefined): readonly KObject[];
  create(
    kind: Kind,
    namespace: string | undefined,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject>;
  /** PUT of the object (metadata, spec and, for kinds without a status subresource, status). */
  update(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject>;
  /** PUT of the status subresource. */
  updateStatus(
    kind: WatchedKind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject>;
  /** An RFC 7386 merge patch. */
  patch(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    patch: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject>;
  delete(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    options?: BackendDeleteOptions,
  ): Promise<DeleteOutcome>;
  /** Hears every change of a watched kind, our own writes included; returns the unsubscribe function. */
  subscribe(listener: (change: BackendChange) => void): () => void;
}

/** Where each kind is served: the one table both backends map kinds through. */
export interface KindInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const KINDS: Readonly<Record<Kind, KindInfo>> = {
  vm: {
    group: "kubevirt.io",
    version: "v1",
    plural: "virtualmachines",
    kind: "VirtualMachine",
    namespaced: true,
  },
  vmi: {
    group: "kubevirt.io",
    version: "v1",
    plural: "virtualmachineinstances",
    kind: "VirtualMachineInstance",
    namespaced: true,
  },
  dv: {
    group: "cdi.kubevirt.io",
    version: "v1beta1",
    plural: "datavolumes",
    kind: "DataVolume",
    namespaced: true,
  },
  pod: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  svc: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  ep: { group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true },
  node: { group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false },
  event: { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
};

/** `apiVersion` of a kind (`v1` for the core group). */
export function apiVersionOf(info: KindInfo): string {
  return info.group === "" ? info.version : `${info.group}/${info.version}`;
}
