/**
 * The simulator backend over the Kubernetes API: one list+watch cache per watched kind, writes over HTTP whose
 * answers enter the cache before the promise resolves (so the shell reads its own writes, as it does on the
 * embedded store), status through the status subresource where the cluster serves one. The real endpoints
 * controller fills Endpoints from the launcher pods, so this backend's simulator never writes them.
 */
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../../errors";
import type { KObject } from "../../store";
import {
  type BackendChange,
  type BackendDeleteOptions,
  type BackendWriteOptions,
  type DeleteOutcome,
  KINDS,
  type Kind,
  type KindInfo,
  type SimulatorBackend,
  type WatchedKind,
} from "../backend";
import { type Json, rec } from "../json";
import type { ApiClient } from "./client";
import { type Backoff, Informer, type InformerStats } from "./informer";

/** What the shell reads over the API: no Services or Endpoints, since it leaves those to kube-controller-manager. */
export const API_WATCHED_KINDS: readonly WatchedKind[] = ["vm", "vmi", "dv", "pod", "node"];

export interface ApiBackendOptions {
  /** Kinds whose status is written through `/status` (from discovery). */
  readonly statusSubresources: ReadonlySet<Kind>;
  readonly now: () => number;
  readonly watchTimeoutSeconds: number;
  readonly backoff: Backoff;
  readonly random: () => number;
}

function basePath(info: KindInfo): string {
  return info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
}

function objectPath(kind: Kind, namespace: string | undefined, name?: string): string {
  const info = KINDS[kind];
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${basePath(info)}${ns}/${info.plural}${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
}

function managerQuery(options: BackendWriteOptions | undefined): Record<string, string | undefined> {
  return { fieldManager: options?.fieldManager };
}

function asObject(value: unknown, what: string): KObject {
  const obj = rec(value);
  if (!obj || !rec(obj.metadata)) throw new Error(`${what}: the API server answered without an object`);
  return obj as KObject;
}

export class ApiBackend implements SimulatorBackend {
  readonly writesEndpoints = false;
  private readonly informers = new Map<Kind, Informer>();
  private readonly listeners = new Set<(change: BackendChange) => void>();
  readonly now: () => number;

  constructor(
    private readonly client: ApiClient,
    private readonly options: ApiBackendOptions,
  ) {
    this.now = options.now;
    for (const kind of API_WATCHED_KINDS) {
      this.informers.set(
        kind,
        new Informer({
          client,
          info: KINDS[kind],
          watchTimeoutSeconds: options.watchTimeoutSeconds,
          backoff: options.backoff,
          random: options.random,
          onChange: (type, obj, previous) => {
            for (const listener of this.listeners) listener({ kind, type, obj, previous });
          },
        }),
      );
    }
  }

  /** Fills every cache; resolves once each holds a first complete list. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.start()));
  }

  /** Closes every watch and ends every request in flight. */
  stop(): void {
    for (const informer of this.informers.values()) informer.stop();
    this.client.close();
  }

  /** Per watched kind: lists, watches, 410 relists and failures so far. */
  stats(): Record<string, InformerStats> {
    const out: Record<string, InformerStats> = {};
    for (const [kind, informer] of this.informers) out[kind] = { ...informer.stats };
    return out;
  }

  get(kind: WatchedKind, namespace: string | undefined, name: string): KObject | undefined {
    return this.informers.get(kind)?.get(namespace, name);
  }

  async confirm(
    kind: WatchedKind,
    namespace: string | undefined,
    name: string,
  ): Promise<KObject | undefined> {
    const informer = this.informers.get(kind);
    try {
      const live = asObject(
        await this.client.request({ method: "GET", path: objectPath(kind, namespace, name) }),
        `get ${KINDS[kind].plural}`,
      );
      informer?.applyWrite(live);
      return live;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
      const cached = informer?.get(namespace, name);
      if (cached) informer?.applyDelete(namespace, name, cached.metadata.uid, undefined);
      return undefined;
    }
  }

  list(kind: WatchedKind, namespace: string | undefined): readonly KObject[] {
    return this.informers.get(kind)?.list(namespace) ?? [];
  }

  subscribe(listener: (change: BackendChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async create(
    kind: Kind,
    namespace: string | undefined,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    const created = asObject(
      await this.client.request({
        method: "POST",
        path: objectPath(kind, namespace),
        query: managerQuery(options),
        body,
      }),
      `create ${KINDS[kind].plural}`,
    );
    return this.cached(kind, created);
  }

  /**
   * PUT of the object. Where the kind has a status subresource the main resource ignores status, so a changed
   * status follows through `/status` (KubeVirt's VMI has none: virt-handler writes it with the object).
   */
  async update(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    let written = asObject(
      await this.client.request({
        method: "PUT",
        path: objectPath(kind, namespace, name),
        query: managerQuery(options),
        body,
      }),
      `update ${KINDS[kind].plural}`,
    );
    if (
      this.options.statusSubresources.has(kind) &&
      body.status !== undefined &&
      !isDeepStrictEqual(written.status, body.status)
    ) {
      written = await this.putStatus(kind, namespace, name, { ...written, status: body.status }, options);
    }
    return this.cached(kind, written);
  }

  async updateStatus(
    kind: WatchedKind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    if (!this.options.statusSubresources.has(kind)) return this.update(kind, namespace, name, body, options);
    return this.cached(kind, await this.putStatus(kind, namespace, name, body, options));
  }

  async patch(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    patch: Json,
    options?: BackendWriteOptions,
  ): Promise<KObject> {
    const patched = asObject(
      await this.client.request({
        method: "PATCH",
        path: objectPath(kind, namespace, name),
        query: managerQuery(options),
        body: patch,
        contentType: "application/merge-patch+json",
      }),
      `patch ${KINDS[kind].plural}`,
    );
    return this.cached(kind, patched);
  }

  async delete(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    options: BackendDeleteOptions = {},
  ): Promise<DeleteOutcome> {
    const answer = rec(
      await this.client.request({
        method: "DELETE",
        path: objectPath(kind, namespace, name),
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          ...(options.uid === undefined ? {} : { preconditions: { uid: options.uid } }),
          ...(options.gracePeriodSeconds === undefined
            ? {}
            : { gracePeriodSeconds: options.gracePeriodSeconds }),
        },
      }),
    );
    const informer = this.informers.get(kind);
    const obj = answer && answer.kind !== "Status" && rec(answer.metadata) ? (answer as KObject) : undefined;
    // Still there: finalizers pending, or a pod's graceful deletion waiting for its kubelet.
    const pending =
      obj !== undefined &&
      ((obj.metadata.finalizers ?? []).length > 0 ||
        (obj.metadata.deletionTimestamp !== undefined && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0));
    if (pending) {
      informer?.applyWrite(obj);
      return "terminating";
    }
    const uid = obj?.metadata.uid ?? options.uid ?? informer?.get(namespace, name)?.metadata.uid;
    if (uid !== undefined) informer?.applyDelete(namespace, name, uid, obj);
    return "deleted";
  }

  private async putStatus(
    kind: Kind,
    namespace: string | undefined,
    name: string,
    body: Json,
    options: BackendWriteOptions | undefined,
  ): Promise<KObject> {
    return asObject(
      await this.client.request({
        method: "PUT",
        path: `${objectPath(kind, namespace, name)}/status`,
        query: managerQuery(options),
        body,
      }),
      `update ${KINDS[kind].plural}/status`,
    );
  }

  private cached(kind: Kind, obj: KObject): KObject {
    this.informers.get(kind)?.applyWrite(obj);
    return obj;
  }
}
