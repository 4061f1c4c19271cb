/**
 * The simulator backend of the embedded local cluster: reads straight from its Store (the store is the cache) and
 * writes through its Registry, so resourceVersions, watch events, the journal and garbage collection happen as for
 * any client. Writes go through the cluster's admitted writes (../webhooks), as a KubeVirt component's would go
 * through kube-apiserver's admission: without a webhook configuration matching them, each runs synchronously when
 * called and the returned promise only carries the result, so the shell behaves exactly as it did when it called
 * the registry directly; with one, the write waits for the webhooks' answers.
 */
import { unknownResource } from "../errors";
import { PATCH_MERGE, type WriteOptions } from "../registry";
import { findResource, type ResourceDef, resourceKey } from "../resources";
import type { KObject, Store } from "../store";
import { type AdmittedWrites, SIMULATOR_USER } from "../webhooks";
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

export class EmbeddedBackend implements SimulatorBackend {
  readonly writesEndpoints = true;
  /** Resource definitions by kind; a kind this cluster does not serve (Nodes, until it does) is absent. */
  private readonly defs = new Map<Kind, ResourceDef>();
  /** Store key → kind, for the change stream. */
  private readonly kindOfKey = new Map<string, WatchedKind>();

  constructor(
    private readonly writes: AdmittedWrites,
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

  async create(
    kind: Kind,
    namespace: string | undefined,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return this.writes.create(
      this.def(kind),
      KINDS[kind].version,
      namespace,
      body,
      writeOptions(options),
      SIMULATOR_USER,
    );
  }

  async update(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    return this.writes.update(
      this.def(kind),
      KINDS[kind].version,
      namespace,
      name,
      body,
      undefined,
      writeOptions(options),
      SIMULATOR_USER,
    );
  }

  async updateStatus(
    kind: WatchedKind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    const def = this.def(kind);
    const subresource = def.statusSubresource ? "status" : undefined;
    return this.writes.update(
      def,
      KINDS[kind].version,
      namespace,
      name,
      body,
      subresource,
      writeOptions(options),
      SIMULATOR_USER,
    );
  }

  async patch(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    patch: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    const written = await this.writes.patch(
      this.def(kind),
      KINDS[kind].version,
      namespace,
      name,
      PATCH_MERGE,
      JSON.stringify(patch),
      undefined,
      writeOptions(options),
      SIMULATOR_USER,
    );
    return written.object;
  }

  async delete(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    options: BackendDeleteOptions = {},
  ): Promise<DeleteOutcome> {
    const result = await this.writes.delete(
      this.def(kind),
      KINDS[kind].version,
      namespace,
      name,
      options.uid === undefined ? {} : { preconditions: { uid: options.uid } },
      SIMULATOR_USER,
    );
    return result.deleted ? "deleted" : "terminating";
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
