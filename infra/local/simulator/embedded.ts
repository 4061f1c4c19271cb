/**
 * The simulator backend of the embedded local cluster: reads straight from its Store (the store is the cache) and
 * writes through its Registry, so resourceVersions, watch events, the journal and garbage collection happen as for
 * any client. Every write runs synchronously when called; the returned promise only carries the result, so the
 * shell behaves exactly as it did when it called the registry directly.
 */
import { unknownResource } from "../errors";
import { PATCH_MERGE, type Registry, type WriteOptions } from "../registry";
import { findResource, type ResourceDef, resourceKey } from "../resources";
import type { KObject, Store } from "../store";
import {
  type BackendChange,
  type BackendDeleteOptions,
  type BackendWriteOptions,
  type DeleteOutcome,
  KINDS,
  type Kind,
  type SimulatorBackend,
  type WatchedKind,
} from "./backend";
import type { Json } from "./json";

const WATCHED: readonly WatchedKind[] = ["vm", "vmi", "dv", "pod", "svc", "ep", "node"];

function writeOptions(options: BackendWriteOptions | undefined): WriteOptions {
  return options?.fieldManager === undefined ? {} : { fieldManager: options.fieldManager };
}

/** Runs a synchronous registry call as a promise (a throw becomes a rejection). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

export class EmbeddedBackend implements SimulatorBackend {
  readonly writesEndpoints = true;
  /** Resource definitions by kind; a kind this cluster does not serve (Nodes, until it does) is absent. */
  private readonly defs = new Map<Kind, ResourceDef>();
  /** Store key → kind, for the change stream. */
  private readonly kindOfKey = new Map<string, WatchedKind>();

  constructor(
    private readonly registry: Registry,
    private readonly store: Store,
    readonly now: () => number,
  ) {
    for (const [kind, info] of Object.entries(KINDS) as [Kind, (typeof KINDS)[Kind]][]) {
      const def = findResource(info.group, info.version, info.plural);
      if (def) this.defs.set(kind, def);
    }
    for (const kind of WATCHED) {
      const def = this.defs.get(kind);
      if (def) this.kindOfKey.set(resourceKey(def), kind);
    }
  }

  get(kind: WatchedKind, namespace: string | undefined, name: string): KObject | undefined {
    const def = this.defs.get(kind);
    return def ? this.store.get(resourceKey(def), namespace, name)?.obj : undefined;
  }

  /** The store is the server's state: nothing to confirm. */
  confirm(kind: WatchedKind, namespace: string | undefined, name: string): Promise<KObject | undefined> {
    return Promise.resolve(this.get(kind, namespace, name));
  }

  list(kind: WatchedKind, namespace: string | undefined): readonly KObject[] {
    const def = this.defs.get(kind);
    return def ? this.store.list(resourceKey(def), namespace).map((entry) => entry.obj) : [];
  }

  create(
    kind: Kind,
    namespace: string | undefined,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return settle(() =>
      this.registry.create(this.def(kind), KINDS[kind].version, namespace, body, writeOptions(options)),
    );
  }

  update(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return settle(() =>
      this.registry.update(
        this.def(kind),
        KINDS[kind].version,
        namespace,
        name,
        body,
        undefined,
        writeOptions(options),
      ),
    );
  }

  updateStatus(
    kind: WatchedKind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return settle(() => {
      const def = this.def(kind);
      const subresource = def.statusSubresource ? "status" : undefined;
      return this.registry.update(
        def,
        KINDS[kind].version,
        namespace,
        name,
        body,
        subresource,
        writeOptions(options),
      );
    });
  }

  patch(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    patch: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return settle(
      () =>
        this.registry.patch(
          this.def(kind),
          KINDS[kind].version,
          namespace,
          name,
          PATCH_MERGE,
          JSON.stringify(patch),
          undefined,
          writeOptions(options),
        ).object,
    );
  }

  delete(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    options: BackendDeleteOptions = {},
  ): Promise<DeleteOutcome> {
    return settle(() => {
      const result = this.registry.delete(this.def(kind), KINDS[kind].version, namespace, name, {
        ...(options.uid === undefined ? {} : { preconditions: { uid: options.uid } }),
      });
      return result.deleted ? "deleted" : "terminating";
    });
  }

  subscribe(listener: (change: BackendChange) => void): () => void {
    return this.store.subscribeAll((event) => {
      const kind = this.kindOfKey.get(event.resource);
      if (kind === undefined) return;
      listener({ kind, type: event.type, obj: event.entry.obj, previous: event.previous?.obj });
    });
  }

  private def(kind: Kind): ResourceDef {
    const def = this.defs.get(kind);
    if (!def) throw unknownResource();
    return def;
  }
}
