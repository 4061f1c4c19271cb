/**
 * The `Kube` client: the read, write, status, scale, event and lease verbs a pass needs, generic over the
 * descriptor table in ./resources. Built once per cold start; every call may carry a deadline, retries
 * retryable failures within it, validates what it reads with zod and counts its requests.
 */
import { PatchStrategy } from "@kubernetes/client-node";
import { z } from "zod";
import { type Logger, logger } from "../log";
import { metrics } from "../metrics";
import type { ObjectMeta } from "../schemas";
import { type AwsCredentialsProvider, eksTokenSource } from "./eks";
import { badRequest, isKubeError, KubeError, type KubeRequestContext, malformedObject } from "./errors";
import { buildEvent, type EventInput } from "./events";
import { acquireLease, type LeaseAcquisition, type LeasePort, type LeaseRequest } from "./lease";
import {
  apiVersionOf,
  type KindName,
  type Lease,
  type ObjectOf,
  RESOURCES,
  type ResourceDescriptor,
  resourcePath,
  type ScalableKind,
  type Scale,
  ScaleSchema,
  type StatusKind,
} from "./resources";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryRuntime, realSleep, withRetries } from "./retry";
import { type ClusterSource, kubeConfigFrom } from "./source";
import { type KubeStats, RequestCounter } from "./stats";
import {
  clientNodeTransport,
  clientNodeWatch,
  type HttpRequest,
  type OpenWatch,
  type Transport,
} from "./transport";
import { type KindWatch, type ListPage, startReflector, type WatchOptions, type WatchStream } from "./watch";

/** The field manager of every write the functions make (DESIGN §6). */
export const DEFAULT_FIELD_MANAGER = "vmpool-functions";
const PAGE_SIZE = 500;

export interface KubeOptions {
  readonly fieldManager?: string;
  /** Backoff policy overrides plus the injected random source and sleep. */
  readonly retry?: Partial<RetryPolicy> & {
    readonly random?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
  };
  readonly now?: () => Date;
  /** For an `eks` source: where AWS credentials come from (default: the SDK's default provider chain). */
  readonly awsCredentials?: AwsCredentialsProvider;
}

export interface CallOptions {
  /** Epoch milliseconds; no attempt starts or keeps running after it. Overrides a `withDeadline` view's. */
  readonly deadline?: number;
}

export interface ListOptions extends CallOptions {
  /**
   * Items per page (default 500, as kubectl); 0 reads the whole list in one request. Paging saves no memory when
   * every item is kept anyway, so snapshot reads (reconcile-all) use 0: one request per kind.
   */
  readonly pageSize?: number;
  /** Undefined lists across all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** A list item that failed validation: where it is (as far as its metadata says) and why. */
export interface UnreadableItem {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly error: KubeError;
}

export interface LenientList<K extends KindName> {
  readonly items: ObjectOf<K>[];
  readonly unreadable: UnreadableItem[];
}

export type PatchType = "merge" | "json";

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  readonly op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

/** An RFC 7386 merge patch. */
export type MergePatch = Readonly<Record<string, unknown>>;

export type PatchBody<T extends PatchType> = T extends "json" ? readonly JsonPatchOp[] : MergePatch;

export interface PatchOptions extends CallOptions {
  readonly subresource?: "status" | "scale";
}

export interface DeleteOptions extends CallOptions {
  /** Preconditions: delete only this incarnation / this version of the object. */
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan";
}

/** A 404 on delete is not an error: the object is already gone. */
export type DeleteOutcome = "Deleted" | "AlreadyGone";

/** An object to create: its kind's shape with create-body metadata (a name or a generateName, a namespace). */
export type NewObject<K extends KindName> = {
  [P in keyof ObjectOf<K> as P extends "metadata" | "apiVersion" | "kind" ? never : P]: ObjectOf<K>[P];
} & { readonly apiVersion?: string; readonly kind?: string; readonly metadata: ObjectMeta };

/** The Kubernetes verbs a pass uses. Reads are zod-validated; failures are KubeErrors. */
export interface Kube {
  /** The object, or undefined when it does not exist. */
  get<K extends KindName>(
    kind: K,
    namespace: string,
    name: string,
    options?: CallOptions,
  ): Promise<ObjectOf<K> | undefined>;
  /** Every matching object, following `continue` pages of 500. */
  list<K extends KindName>(kind: K, options?: ListOptions): Promise<ObjectOf<K>[]>;
  /**
   * Like `list`, but an item that fails validation is set aside with why instead of failing the whole list, so one
   * unreadable object fails only what depends on it.
   */
  listLenient<K extends KindName>(kind: K, options?: ListOptions): Promise<LenientList<K>>;
  /** The `/scale` subresource, or undefined when the object does not exist. */
  getScale(
    kind: ScalableKind,
    namespace: string,
    name: string,
    options?: CallOptions,
  ): Promise<Scale | undefined>;
  /** POST; the namespace comes from `metadata.namespace`. */
  create<K extends KindName>(kind: K, object: NewObject<K>, options?: CallOptions): Promise<ObjectOf<K>>;
  /** PATCH of `/scale` with `application/merge-patch+json` or `application/json-patch+json`. */
  patch<T extends PatchType>(
    kind: ScalableKind,
    namespace: string,
    name: string,
    patch: PatchBody<T>,
    type: T,
    options: PatchOptions & { readonly subresource: "scale" },
  ): Promise<Scale>;
  /** PATCH of the object (or its `/status`) with the content type of `type`. */
  patch<K extends KindName, T extends PatchType>(
    kind: K,
    namespace: string,
    name: string,
    patch: PatchBody<T>,
    type: T,
    options?: PatchOptions & { readonly subresource?: "status" },
  ): Promise<ObjectOf<K>>;
  /** PUT of the whole object; `metadata.resourceVersion` is required (optimistic concurrency). */
  replace<K extends KindName>(kind: K, object: ObjectOf<K>, options?: CallOptions): Promise<ObjectOf<K>>;
  /** PUT of `/status`; `metadata.resourceVersion` is required (optimistic concurrency). */
  replaceStatus<K extends StatusKind>(
    kind: K,
    object: ObjectOf<K>,
    options?: CallOptions,
  ): Promise<ObjectOf<K>>;
  delete(kind: KindName, namespace: string, name: string, options?: DeleteOptions): Promise<DeleteOutcome>;
  /** Sets `spec.replicas` through a merge patch of `/scale`. */
  scale(
    kind: ScalableKind,
    namespace: string,
    name: string,
    replicas: number,
    options?: CallOptions,
  ): Promise<Scale>;
  /** Records a core/v1 Event. Best effort: resolves false (and logs) instead of throwing. */
  recordEvent(event: EventInput, options?: CallOptions): Promise<boolean>;
  /**
   * Takes the lease if free, ours or expired; otherwise reports LeaseHeld at once. `options.deadline` also
   * bounds the eventual `release()`.
   */
  acquireLease(request: LeaseRequest, options?: CallOptions): Promise<LeaseAcquisition>;
  /**
   * Lists, then watches `kind` across all namespaces until stopped (./watch: bookmarks, resume from the last
   * resourceVersion, relist after 410 Expired, backoff on errors), reporting each change's metadata.
   */
  watch(kind: KindName, options: WatchOptions): KindWatch;
  /** A view of this client whose calls default to `deadline` (epoch ms). Shares counters and discovery. */
  withDeadline(deadline: number): Kube;
  /** Requests sent since creation or the last reset (retries included in the totals). */
  stats(): KubeStats;
  resetStats(): void;
}

/** State shared by a client and its deadline views. */
interface Core {
  readonly transport: Transport;
  /** Streaming watches; undefined where the transport has none (an EKS source mints its token per request). */
  readonly openWatch: OpenWatch | undefined;
  readonly runtime: RetryRuntime;
  readonly counter: RequestCounter;
  readonly fieldManager: string;
  readonly now: () => Date;
  readonly log: Logger;
  /** Served version per API group, discovered once. */
  readonly versions: Map<string, Promise<string>>;
  eventSequence: number;
}

/** Creates the client for `source`; call once per cold start (an EKS token is then cached across invocations). */
export function createKube(source: ClusterSource, options: KubeOptions = {}): Kube {
  const bearer =
    source.kind === "eks"
      ? eksTokenSource({
          clusterName: source.clusterName,
          region: source.region,
          ...(options.awsCredentials ? { credentials: options.awsCredentials } : {}),
          ...(options.now ? { now: options.now } : {}),
        })
      : undefined;
  const kc = kubeConfigFrom(source);
  // client-node's Watch authenticates from the kubeconfig alone, which has no EKS token.
  return createKubeWithTransport(
    clientNodeTransport(kc, bearer),
    bearer ? undefined : clientNodeWatch(kc),
    options,
  );
}

/** A client over any transport (the seam the client-node transport plugs into). */
function createKubeWithTransport(
  transport: Transport,
  openWatch: OpenWatch | undefined,
  options: KubeOptions = {},
): Kube {
  const now = options.now ?? (() => new Date());
  const { random, sleep, ...policy } = options.retry ?? {};
  return new KubeClient(
    {
      transport,
      openWatch,
      runtime: {
        policy: { ...DEFAULT_RETRY_POLICY, ...policy },
        random: random ?? Math.random,
        sleep: sleep ?? realSleep,
        now: () => now().getTime(),
      },
      counter: new RequestCounter(),
      fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER,
      now,
      log: logger("kube"),
      versions: new Map(),
      eventSequence: 0,
    },
    undefined,
  );
}

const ApiGroupSchema = z.looseObject({
  versions: z.array(z.looseObject({ version: z.string() })),
});

const ListSchema = z.looseObject({
  metadata: z
    .looseObject({ continue: z.string().optional(), resourceVersion: z.string().optional() })
    .optional(),
  items: z.array(z.unknown()).nullable().optional(),
});

/** One list request of a watch may take this long (a watch itself is bounded by its own timeout). */
const WATCH_LIST_TIMEOUT_MS = 60_000;

type Subresource = "status" | "scale" | undefined;

/** Where a request for a kind goes, and the apiVersion spoken there. */
interface Location {
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

class KubeClient implements Kube {
  constructor(
    private readonly core: Core,
    private readonly defaultDeadline: number | undefined,
  ) {}

  withDeadline(deadline: number): Kube {
    return new KubeClient(this.core, deadline);
  }

  stats(): KubeStats {
    return this.core.counter.snapshot();
  }

  resetStats(): void {
    this.core.counter.reset();
  }

  async get<K extends KindName>(
    kind: K,
    namespace: string,
    name: string,
    options: CallOptions = {},
  ): Promise<ObjectOf<K> | undefined> {
    const context = { verb: "get", kind, namespace, name };
    const at = await this.locate(kind, { namespace, name }, options);
    try {
      return this.validate(
        kind,
        at,
        await this.send(context, { method: "GET", path: at.path }, options),
        context,
      );
    } catch (err) {
      if (isKubeError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  async list<K extends KindName>(kind: K, options: ListOptions = {}): Promise<ObjectOf<K>[]> {
    const { items, unreadable } = await this.listLenient(kind, options);
    if (unreadable[0]) throw unreadable[0].error;
    return items;
  }

  async listLenient<K extends KindName>(kind: K, options: ListOptions = {}): Promise<LenientList<K>> {
    const context = { verb: "list", kind, namespace: options.namespace };
    const at = await this.locate(kind, { namespace: options.namespace }, options);
    const items: ObjectOf<K>[] = [];
    const unreadable: UnreadableItem[] = [];
    let token: string | undefined;
    do {
      const query = {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.pageSize === 0 ? undefined : String(options.pageSize ?? PAGE_SIZE),
        continue: token,
      };
      const page = ListSchema.safeParse(
        await this.send(context, { method: "GET", path: at.path, query }, options),
      );
      if (!page.success) throw malformedObject(`the ${kind} list response is not a list`, context);
      for (const item of page.data.items ?? []) {
        try {
          items.push(this.validate(kind, at, item, context));
        } catch (err) {
          if (!isKubeError(err)) throw err;
          unreadable.push({ ...whereabouts(item), error: err });
        }
      }
      token = page.data.metadata?.continue || undefined;
    } while (token !== undefined);
    return { items, unreadable };
  }

  async getScale(
    kind: ScalableKind,
    namespace: string,
    name: string,
    options: CallOptions = {},
  ): Promise<Scale | undefined> {
    const context = { verb: "get", kind, namespace, name };
    const at = await this.locate(kind, { namespace, name, subresource: "scale" }, options);
    try {
      return parseWith(
        ScaleSchema,
        await this.send(context, { method: "GET", path: at.path }, options),
        context,
      );
    } catch (err) {
      if (isKubeError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  create<K extends KindName>(kind: K, object: NewObject<K>, options: CallOptions = {}): Promise<ObjectOf<K>> {
    return this.post(kind, object, options);
  }

  patch<T extends PatchType>(
    kind: ScalableKind,
    namespace: string,
    name: string,
    patch: PatchBody<T>,
    type: T,
    options: PatchOptions & { readonly subresource: "scale" },
  ): Promise<Scale>;
  patch<K extends KindName, T extends PatchType>(
    kind: K,
    namespace: string,
    name: string,
    patch: PatchBody<T>,
    type: T,
    options?: PatchOptions & { readonly subresource?: "status" },
  ): Promise<ObjectOf<K>>;
  async patch(
    kind: KindName,
    namespace: string,
    name: string,
    patch: unknown,
    type: PatchType,
    options: PatchOptions = {},
  ): Promise<unknown> {
    const context = { verb: "patch", kind, namespace, name };
    const at = await this.locate(kind, { namespace, name, subresource: options.subresource }, options);
    const body = await this.send(
      context,
      patchRequest(at.path, patch, type, this.core.fieldManager, context),
      options,
    );
    if (options.subresource === "scale") return parseWith(ScaleSchema, body, context);
    return this.validate(kind, at, body, context);
  }

  scale(
    kind: ScalableKind,
    namespace: string,
    name: string,
    replicas: number,
    options: CallOptions = {},
  ): Promise<Scale> {
    return this.patch(kind, namespace, name, { spec: { replicas } }, "merge", {
      ...options,
      subresource: "scale",
    });
  }

  replace<K extends KindName>(kind: K, object: ObjectOf<K>, options: CallOptions = {}): Promise<ObjectOf<K>> {
    return this.put(kind, object, undefined, options);
  }

  replaceStatus<K extends StatusKind>(
    kind: K,
    object: ObjectOf<K>,
    options: CallOptions = {},
  ): Promise<ObjectOf<K>> {
    return this.put(kind, object, "status", options);
  }

  async delete(
    kind: KindName,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<DeleteOutcome> {
    const context = { verb: "delete", kind, namespace, name };
    const preconditions = {
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion }),
    };
    const body = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      ...(Object.keys(preconditions).length === 0 ? {} : { preconditions }),
      ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
    };
    const at = await this.locate(kind, { namespace, name }, options);
    try {
      await this.send(context, { method: "DELETE", path: at.path, body }, options);
      return "Deleted";
    } catch (err) {
      if (isKubeError(err, "NotFound")) return "AlreadyGone";
      throw err;
    }
  }

  async recordEvent(event: EventInput, options: CallOptions = {}): Promise<boolean> {
    const sequence = this.core.eventSequence++;
    try {
      await this.post("Event", buildEvent(event, this.core.now(), sequence), options);
      return true;
    } catch (err) {
      this.core.log.warn(
        {
          err,
          reason: event.reason,
          object: `${event.involvedObject.namespace}/${event.involvedObject.name}`,
        },
        "could not record an event",
      );
      return false;
    }
  }

  watch(kind: KindName, options: WatchOptions): KindWatch {
    const { transport, openWatch, counter, log } = this.core;
    const context = { verb: "list", kind };
    const path = async () => (await this.locate(kind, {}, {})).path;
    return startReflector(
      {
        list: async (query, signal): Promise<ListPage> => {
          counter.record("list", kind);
          const request = {
            method: "GET",
            path: await path(),
            query,
            signal: AbortSignal.any([signal, AbortSignal.timeout(WATCH_LIST_TIMEOUT_MS)]),
          } as const;
          const page = ListSchema.safeParse(await transport(request));
          if (!page.success) throw malformedObject(`the ${kind} list response is not a list`, context);
          return {
            items: page.data.items ?? [],
            continueToken: page.data.metadata?.continue || undefined,
            resourceVersion: page.data.metadata?.resourceVersion ?? "",
          };
        },
        open: (query, onEvent): WatchStream => {
          let inner: WatchStream | undefined;
          let aborted = false;
          const done = (async () => {
            if (!openWatch) throw badRequest("this cluster source cannot hold a watch open", context);
            const at = await path();
            if (aborted) return;
            counter.record("watch", kind);
            inner = openWatch(at, query, onEvent);
            await inner.done;
          })();
          return {
            done,
            abort: () => {
              aborted = true;
              inner?.abort();
            },
          };
        },
      },
      options,
      log,
      kind,
    );
  }

  acquireLease(request: LeaseRequest, options: CallOptions = {}): Promise<LeaseAcquisition> {
    const port: LeasePort = {
      get: (namespace, name) => this.get("Lease", namespace, name, options),
      create: (lease) => this.post("Lease", lease, options),
      replace: (lease: Lease) => this.replace("Lease", lease, options),
    };
    return acquireLease(port, request, this.core.now, this.core.log);
  }

  private async post<K extends KindName>(
    kind: K,
    object: Readonly<Record<string, unknown>> & { readonly metadata?: ObjectMeta },
    options: CallOptions,
  ): Promise<ObjectOf<K>> {
    const namespace = object.metadata?.namespace ?? undefined;
    const name = object.metadata?.name ?? undefined;
    const context = { verb: "create", kind, namespace, name };
    if (!namespace) throw badRequest(`cannot create a ${kind} without metadata.namespace`, context);
    const at = await this.locate(kind, { namespace }, options);
    const body = { ...object, apiVersion: at.apiVersion, kind: at.kind };
    const request = {
      method: "POST",
      path: at.path,
      query: { fieldManager: this.core.fieldManager },
      body,
    } as const;
    // A generateName create repeated after an unknown outcome could make a second object.
    const unsafeToRepeat = name === undefined;
    return this.validate(kind, at, await this.send(context, request, options, unsafeToRepeat), context);
  }

  private async put<K extends KindName>(
    kind: K,
    object: ObjectOf<K>,
    subresource: "status" | undefined,
    options: CallOptions,
  ): Promise<ObjectOf<K>> {
    const { namespace, name, resourceVersion } = object.metadata;
    const context = { verb: "update", kind, namespace: namespace ?? undefined, name };
    if (!namespace) throw badRequest(`cannot update a ${kind} without metadata.namespace`, context);
    if (!resourceVersion) {
      throw badRequest(
        `refusing an unconditional update of ${kind} ${namespace}/${name}: no resourceVersion`,
        context,
      );
    }
    const at = await this.locate(kind, { namespace, name, subresource }, options);
    const body = { ...object, apiVersion: at.apiVersion, kind: at.kind };
    const request = {
      method: "PUT",
      path: at.path,
      query: { fieldManager: this.core.fieldManager },
      body,
    } as const;
    return this.validate(kind, at, await this.send(context, request, options), context);
  }

  /** One request with retries, counted per attempt. */
  private send(
    context: KubeRequestContext,
    request: Omit<HttpRequest, "signal">,
    options: CallOptions,
    unsafeToRepeat = false,
  ): Promise<unknown> {
    const { counter, runtime, log, transport } = this.core;
    const countError = (err: unknown) => {
      if (isKubeError(err))
        metrics.recordApiError({ reason: err.reason, verb: context.verb, kind: context.kind });
    };
    return withRetries(
      (signal) => {
        counter.record(context.verb, context.kind);
        return transport({ ...request, signal });
      },
      runtime,
      {
        deadline: options.deadline ?? this.defaultDeadline,
        context,
        unsafeToRepeat,
        read: request.method === "GET",
        onRetry: (err, delayMs, attempt) => {
          counter.recordRetry();
          countError(err);
          log.debug(
            { request: context, reason: err.reason, attempt, delayMs },
            "retrying a Kubernetes request",
          );
        },
      },
    ).catch((err: unknown) => {
      countError(err);
      throw err;
    });
  }

  private async locate(
    kind: KindName,
    target: { namespace?: string | undefined; name?: string; subresource?: Subresource },
    options: CallOptions,
  ): Promise<Location> {
    const desc: ResourceDescriptor = RESOURCES[kind];
    const version = await this.version(desc, options);
    return {
      path: resourcePath({ group: desc.group, version, plural: desc.plural, ...target }),
      apiVersion: apiVersionOf(desc.group, version),
      kind: desc.kind,
    };
  }

  /** The version to speak for a kind: its only one, or the first the server serves (discovered once). */
  private version(desc: ResourceDescriptor, options: CallOptions): Promise<string> {
    if (desc.versions.length === 1) return Promise.resolve(desc.versions[0]);
    const known = this.core.versions.get(desc.group);
    if (known) return known;
    const pending = this.discover(desc, options);
    this.core.versions.set(desc.group, pending);
    // A failed discovery is not remembered: the next call asks again.
    pending.catch(() => this.core.versions.delete(desc.group));
    return pending;
  }

  private async discover(desc: ResourceDescriptor, options: CallOptions): Promise<string> {
    const context = { verb: "get", kind: "APIGroup", name: desc.group };
    const group = parseWith(
      ApiGroupSchema,
      await this.send(context, { method: "GET", path: `/apis/${desc.group}` }, options),
      context,
    );
    const served = new Set(group.versions.map((v) => v.version));
    const version = desc.versions.find((v) => served.has(v));
    if (version === undefined) {
      throw new KubeError(
        "NotFound",
        `the API server serves none of ${desc.group} ${desc.versions.join(", ")}`,
        {
          retryable: false,
          status: 404,
          context,
        },
      );
    }
    this.core.log.debug({ group: desc.group, version }, "discovered the served version");
    return version;
  }

  private validate<K extends KindName>(
    kind: K,
    at: Location,
    value: unknown,
    context: KubeRequestContext,
  ): ObjectOf<K> {
    // List items carry no apiVersion/kind; fill them so every object we hand out is self-describing.
    const filled = isPlainObject(value) ? { apiVersion: at.apiVersion, kind: at.kind, ...value } : value;
    const schema: z.ZodType = RESOURCES[kind].schema;
    return parseWith(schema, filled, context) as ObjectOf<K>;
  }
}

/** The namespace and name an unreadable object's metadata gives, where they are strings. */
function whereabouts(value: unknown): { namespace: string | undefined; name: string | undefined } {
  const meta = isPlainObject(value) && isPlainObject(value.metadata) ? value.metadata : {};
  return {
    namespace: typeof meta.namespace === "string" ? meta.namespace : undefined,
    name: typeof meta.name === "string" ? meta.name : undefined,
  };
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, context: KubeRequestContext): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { namespace, name } = whereabouts(value);
  const where = [namespace, name].filter((part) => part !== undefined).join("/");
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw malformedObject(
    `the API server returned a ${context.kind}${where ? ` ${where}` : ""} we cannot read: ${issues.join("; ")}`,
    context,
    { issues },
  );
}

function patchRequest(
  path: string,
  patch: unknown,
  type: PatchType,
  fieldManager: string,
  context: KubeRequestContext,
): Omit<HttpRequest, "signal"> {
  if (type === "json" ? !Array.isArray(patch) : !isPlainObject(patch)) {
    throw badRequest(
      `a ${type} patch must be ${type === "json" ? "an array of operations" : "an object"}`,
      context,
    );
  }
  return {
    method: "PATCH",
    path,
    query: { fieldManager },
    body: patch,
    contentType: type === "json" ? PatchStrategy.JsonPatch : PatchStrategy.MergePatch,
  };
}
