/**
 * The local cluster's write and read semantics, between the HTTP layer and the store: system fields on create,
 * generateName, resourceVersion preconditions and 409s, the status split and generation rules, the status and
 * scale subresources, patches, deletion with finalizers and propagation policies, namespace lifecycle, and
 * admission. Mirrors kube-apiserver's generic registry (`registry/generic/registry/store.go`) and the CRD
 * strategies (apiextensions `strategy.go`, `status_strategy.go`). No HTTP here: callers get objects or ApiErrors.
 */
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { matches as matchesLabels, parseSelector, type Selector } from "../../shared/labels";
import { admit } from "./admission";
import { fromStorage, jsonAtVersion, toStorage } from "./convert";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  notFound,
  tooLargeResourceVersion,
  unsupportedMediaType,
} from "./errors";
import { type FieldSelector, matchesFields, parseFieldSelector } from "./fieldselectors";
import {
  duplicateField,
  duplicateFields,
  type FieldEvent,
  type FieldValidation,
  goFormat,
  inDocumentOrder,
  reportDecodeErrors,
  reportPatchErrors,
  sortedJson,
  undeclaredFieldsError,
  unknownField,
} from "./fieldvalidation";
import {
  acceptedPatchTypes,
  applyJsonPatch,
  applyMergePatch,
  applyServerSideApply,
  applyStrategicMergePatch,
  parseApplyBody,
  recordUpdateManager,
  scaleManagersToParent,
  scaleManagersView,
} from "./patch";
import { groupVersion, RESOURCES, type ResourceDef, resourceKey } from "./resources";
import { answerReview } from "./reviews";
import { normalizeObjectMeta, pruneUnknownFields, schemaOf } from "./schema";
import {
  type ChangeEvent,
  type Entry,
  HistoryExpiredError,
  type KObject,
  type ObjectMeta,
  type Store,
} from "./store";
import {
  formatTime,
  generateName,
  microTimeError,
  normalizeTime,
  validateLabels,
  validateName,
} from "./validation";
import {
  validateWebhookConfiguration,
  WEBHOOK_CONFIG_KIND,
  webhookConfigurationDefaults,
} from "./webhook-config";

type Json = Record<string, unknown>;

export const PATCH_MERGE = "application/merge-patch+json";
export const PATCH_JSON = "application/json-patch+json";
export const PATCH_STRATEGIC = "application/strategic-merge-patch+json";
export const PATCH_APPLY = "application/apply-patch+yaml";

export const SEEDED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

const NAMESPACES = resourceDef("", "namespaces");
const GENERATE_NAME_ATTEMPTS = 8;

export interface WriteOptions {
  readonly dryRun?: boolean;
  /** The explicit `fieldManager` parameter (required for apply). */
  readonly fieldManager?: string;
  /** Manager recorded for non-apply writes without a fieldManager (kube derives it from the User-Agent). */
  readonly defaultManager?: string;
  readonly force?: boolean;
  /** `fieldValidation` (default Warn): what to do about unknown and duplicate fields. */
  readonly fieldValidation?: FieldValidation;
  /** The keys of a JSON request body in document order (the HTTP layer has the text): duplicates and ordering. */
  readonly bodyFields?: readonly FieldEvent[];
  /** Where warnings for the response's `Warning` headers go. */
  readonly warnings?: string[];
  /** The uid and creation time a create gives the object (those its admission webhooks saw); drawn when absent. */
  readonly identity?: { readonly uid: string; readonly creationTimestamp: string };
}

export interface ListOptions {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly limit?: number | undefined;
  readonly continueToken?: string | undefined;
  /** List the state as of this resourceVersion (Exact), rebuilt from the change history; latest when absent. */
  readonly atResourceVersion?: number;
}

export interface ListResult {
  readonly entries: Entry[];
  readonly resourceVersion: string;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

export interface DeleteOptions {
  readonly propagationPolicy?: "Background" | "Foreground" | "Orphan";
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  readonly dryRun?: boolean;
}

/** Either the object still present (finalizers pending) or the Status of an immediate deletion. */
export type DeleteResult =
  | { readonly deleted: true; readonly last: KObject }
  | { readonly deleted: false; readonly object: KObject };

export interface RegistryOptions {
  readonly now?: () => Date;
  readonly random?: () => number;
}

function resourceDef(group: string, plural: string): ResourceDef {
  const def = RESOURCES.find((r) => r.group === group && r.plural === plural);
  if (!def) throw new Error(`resource ${plural}.${group} missing from the table`);
  return def;
}

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Reads a `.a.b.c` path (the scale subresource's paths). */
function readPath(obj: Json, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".").filter(Boolean)) cur = rec(cur)?.[part];
  return cur;
}

function writePath(obj: Json, path: string, value: unknown): Json {
  const parts = path.split(".").filter(Boolean);
  const root = { ...obj };
  let cur: Json = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i] as string;
    const next = { ...(rec(cur[key]) ?? {}) };
    cur[key] = next;
    cur = next;
  }
  cur[parts[parts.length - 1] as string] = value;
  return root;
}

export class Registry {
  readonly now: () => Date;
  private readonly random: () => number;

  constructor(
    readonly store: Store,
    options: RegistryOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  /** Creates the namespaces every cluster starts with (idempotent). */
  seedNamespaces(): void {
    for (const name of SEEDED_NAMESPACES) {
      if (!this.store.get(resourceKey(NAMESPACES), undefined, name)) {
        this.create(NAMESPACES, "v1", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      }
    }
  }

  get(def: ResourceDef, version: string, namespace: string | undefined, name: string): KObject {
    return fromStorage(def, this.getEntry(def, namespace, name).obj, version);
  }

  getEntry(def: ResourceDef, namespace: string | undefined, name: string): Entry {
    const entry = this.store.get(resourceKey(def), def.namespaced ? namespace : undefined, name);
    if (!entry) throw notFound(def.group, def.plural, name);
    return entry;
  }

  /** JSON text of a stored entry at the requested version. */
  jsonOf(def: ResourceDef, entry: Entry, version: string): string {
    return jsonAtVersion(def, entry.obj, entry.json, version);
  }

  /** Parses selectors once, for lists and watches; invalid ones are 400 BadRequest. */
  selectors(
    def: ResourceDef,
    options: ListOptions,
  ): { labels: Selector | undefined; fields: FieldSelector | undefined } {
    let labels: Selector | undefined;
    if (options.labelSelector) {
      try {
        labels = parseSelector(options.labelSelector);
      } catch (err) {
        throw badRequest(err instanceof Error ? err.message : "invalid label selector");
      }
    }
    const fields = options.fieldSelector
      ? parseFieldSelector(options.fieldSelector, def.fieldLabels, def.namespaced)
      : undefined;
    return { labels, fields };
  }

  /** Does an object pass the (already parsed) selectors? */
  matchesSelectors(obj: KObject, labels: Selector | undefined, fields: FieldSelector | undefined): boolean {
    if (labels && !matchesLabels(labels, obj.metadata.labels)) return false;
    if (fields && !matchesFields(fields, obj)) return false;
    return true;
  }

  /**
   * A list: the latest state, or the state at `atResourceVersion` or at a continue token's resourceVersion (so
   * every page of a paged list is one snapshot). A snapshot older than the kept history is 410 Expired, with the
   * messages and the latest-state continue token of etcd3's `interpretListError`.
   */
  list(def: ResourceDef, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const { labels, fields } = this.selectors(def, options);
    let after: string | undefined;
    const current = this.store.currentResourceVersion();
    let listRv = options.atResourceVersion ?? current;
    if (options.continueToken) {
      const token = decodeContinue(options.continueToken);
      after = token.after;
      listRv = token.rv > 0 ? token.rv : current;
    }
    const ns = def.namespaced ? namespace : undefined;
    let all: Entry[];
    try {
      all = listRv >= current ? this.store.list(resourceKey(def), ns) : this.snapshot(def, ns, listRv);
    } catch (err) {
      if (!(err instanceof HistoryExpiredError)) throw err;
      if (after === undefined) throw expired("The resourceVersion for the provided list is too old.");
      const error = expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
      );
      error.listMeta = { continue: encodeContinue(after, -1) };
      throw error;
    }
    const matching: Entry[] = [];
    for (const entry of all) {
      if (after !== undefined && entryKey(entry) <= after) continue;
      if (this.matchesSelectors(entry.obj, labels, fields)) matching.push(entry);
    }
    const limit = options.limit && options.limit > 0 ? options.limit : undefined;
    if (limit === undefined || matching.length <= limit) {
      return { entries: matching, resourceVersion: String(listRv) };
    }
    const page = matching.slice(0, limit);
    const last = page[page.length - 1] as Entry;
    return {
      entries: page,
      resourceVersion: String(listRv),
      continueToken: encodeContinue(entryKey(last), listRv),
      // etcd counts objects the selectors would drop, so kube reports the count only for unfiltered lists.
      ...(labels === undefined && fields === undefined
        ? { remainingItemCount: matching.length - limit }
        : {}),
    };
  }

  /** Entries of a resource as they were at `rv`: the latest state with every later change undone. */
  private snapshot(def: ResourceDef, namespace: string | undefined, rv: number): Entry[] {
    const resource = resourceKey(def);
    const events = this.store.eventsSince(resource, rv, "snapshot");
    const byKey = new Map<string, Entry>();
    for (const entry of this.store.list(resource, namespace)) byKey.set(entryKey(entry), entry);
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i] as ChangeEvent;
      if (namespace !== undefined && event.namespace !== namespace) continue;
      const key = entryKey(event.entry);
      if (event.type === "ADDED" || event.previous === undefined) byKey.delete(key);
      else byKey.set(key, event.previous);
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
  }

  /**
   * Resolves once the store has reached `rv`; after `timeoutMs` without it, 504 Timeout as the watch cache answers
   * (`waitUntilFreshAndBlock`, retry after 1 s).
   */
  async waitForResourceVersion(rv: number, timeoutMs: number): Promise<void> {
    if (this.store.currentResourceVersion() >= rv) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const unsubscribe = this.store.subscribeAll(() => {
        if (this.store.currentResourceVersion() >= rv) done();
      });
    });
    const current = this.store.currentResourceVersion();
    if (current < rv) throw tooLargeResourceVersion(rv, current, 1);
  }

  create(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): KObject {
    const input = this.decodeBody(def, version, body, options);
    if (def.review) return answerReview(def, version, input, this.now()) as KObject;
    const meta = { ...(rec(input.metadata) ?? {}) } as Partial<ObjectMeta>;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== "") {
      // etcd3 `store.Create` returns a plain error: 500 without a reason.
      throw new ApiError(500, "", "resourceVersion should not be set on objects to be created");
    }
    const ns = this.resolveNamespace(def, namespace, meta.namespace);
    this.checkNamespaceWritable(def, ns, typeof meta.name === "string" ? meta.name : "");
    if (!meta.name && !meta.generateName) {
      throw invalid(def.group, def.kind, "", [
        {
          reason: "FieldValueRequired",
          message: "Required value: name or generateName is required",
          field: "metadata.name",
        },
      ]);
    }
    for (let attempt = 0; ; attempt++) {
      const name = meta.name || generateName(meta.generateName ?? "", this.random);
      const causes = [...validateName(name, def.kind === "Namespace"), ...validateLabels(meta.labels)];
      if (causes.length > 0) throw invalid(def.group, def.kind, name, causes);
      if (this.store.get(resourceKey(def), ns, name)) {
        if (!meta.name && attempt + 1 < GENERATE_NAME_ATTEMPTS) continue;
        const err = alreadyExists(def.group, def.plural, name);
        if (meta.name) throw err;
        throw new ApiError(
          409,
          "AlreadyExists",
          `${err.message}, the server was not able to generate a unique name for the object`,
          {
            ...err.statusDetails,
            retryAfterSeconds: 1,
          },
        );
      }
      const now = formatTime(this.now());
      const metadata: ObjectMeta = {
        ...meta,
        name,
        ...(ns === undefined ? {} : { namespace: ns }),
        uid: options.identity?.uid ?? randomUUID(),
        resourceVersion: "",
        creationTimestamp: options.identity?.creationTimestamp ?? now,
      };
      delete metadata.deletionTimestamp;
      delete metadata.deletionGracePeriodSeconds;
      if (def.builtin) delete metadata.generation;
      else metadata.generation = 1;
      let obj = { ...input, metadata: normalizeObjectMeta(metadata) } as KObject;
      // Namespace and Node strategies keep the status given on create; the others reset it.
      if (def.statusSubresource && def.kind !== "Namespace" && def.kind !== "Node") obj = withoutStatus(obj);
      // A Namespace's label is a decoding default (owned by the writer); its finalizers and phase come from
      // PrepareForCreate, after the field manager has run (owned by nobody).
      obj = def.kind === "Namespace" ? withNamespaceLabel(obj) : this.defaults(def, obj);
      const manager = options.fieldManager ?? options.defaultManager;
      if (manager)
        obj = recordUpdateManager(
          undefined,
          obj,
          manager,
          "Update",
          String(input.apiVersion),
          now,
          undefined,
          def.builtin ? undefined : schemaOf(def, version),
        ) as KObject;
      if (def.kind === "Namespace") obj = this.defaults(def, obj);
      const rejected = admit(def, obj, undefined) ?? validateBuiltin(def, obj);
      if (rejected) throw rejected;
      const stored = toStorage(def, obj, version);
      // The HPA strategy resets status to its zero value, which JSON shows (autoscaling/v2 at rest).
      if (def.kind === "HorizontalPodAutoscaler")
        stored.status = { desiredReplicas: 0, currentMetrics: null };
      if (options.dryRun) return fromStorage(def, { ...stored, metadata: { ...stored.metadata } }, version);
      return fromStorage(def, this.store.put(resourceKey(def), stored).obj, version);
    }
  }

  /** PUT of the main resource or the status subresource. */
  update(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: "status" | undefined,
    options: WriteOptions = {},
  ): KObject {
    const input = this.decodeBody(def, version, body, options);
    const meta = rec(input.metadata) ?? {};
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const ns = this.resolveNamespace(def, namespace, meta.namespace as string | undefined);
    const current = this.getEntry(def, ns, name);
    const rv = meta.resourceVersion;
    if ((rv === undefined || rv === "") && !allowsUnconditionalUpdate(def)) {
      // The CR strategy names the resource, not the kind, in this one (`customresource/validator.go`).
      throw invalid(def.group, def.plural, name, [
        {
          reason: "FieldValueInvalid",
          message: "Invalid value: 0: must be specified for an update",
          field: "metadata.resourceVersion",
        },
      ]);
    }
    if (rv !== undefined && rv !== "" && rv !== current.obj.metadata.resourceVersion) {
      throw conflict(def.group, def.plural, name);
    }
    return this.commitUpdate(def, version, current, input, subresource, options);
  }

  patch(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    contentType: string,
    bodyText: string,
    subresource: "status" | undefined,
    options: WriteOptions = {},
  ): { object: KObject; created: boolean } {
    const accepted: readonly string[] = acceptedPatchTypes(def.builtin);
    if (!accepted.includes(contentType)) throw unsupportedMediaType(accepted);
    const ns = def.namespaced ? namespace : undefined;
    const existing = this.store.get(resourceKey(def), ns, name);
    if (contentType === PATCH_APPLY)
      return this.apply(def, version, ns, name, existing, bodyText, subresource, options);
    if (!existing) throw notFound(def.group, def.plural, name);
    const currentView = fromStorage(def, existing.obj, version);
    const patched = this.applyPatch(def, currentView, contentType, bodyText, name);
    this.validatePatched(def, version, contentType, bodyText, patched, options);
    const pmeta = rec(patched.metadata) ?? {};
    const rv = pmeta.resourceVersion;
    if (typeof rv === "string" && rv !== "" && rv !== existing.obj.metadata.resourceVersion) {
      throw conflict(def.group, def.plural, name);
    }
    if (pmeta.name !== undefined && pmeta.name !== name) {
      throw badRequest(
        `the name of the object (${String(pmeta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const object = this.commitUpdate(def, version, existing, patched, subresource, options);
    return { object, created: false };
  }

  /** Applies a merge / JSON / strategic patch to the object seen at the request's version. */
  applyPatch(def: ResourceDef, current: Json, contentType: string, bodyText: string, name: string): Json {
    let patch: unknown;
    try {
      patch = JSON.parse(bodyText);
    } catch (err) {
      throw badRequest(`error decoding patch: ${err instanceof Error ? err.message : String(err)}`);
    }
    let result: unknown;
    if (contentType === PATCH_MERGE) result = applyMergePatch(current, patch);
    else if (contentType === PATCH_JSON)
      result = applyJsonPatch(current, patch, { group: def.group, kind: def.kind, name });
    else if (contentType === PATCH_STRATEGIC) result = applyStrategicMergePatch(current, patch, def.kind);
    else throw unsupportedMediaType(acceptedPatchTypes(def.builtin));
    const out = rec(result);
    if (!out) throw badRequest("the patch did not produce an object");
    return out;
  }

  private apply(
    def: ResourceDef,
    version: string,
    ns: string | undefined,
    name: string,
    existing: Entry | undefined,
    bodyText: string,
    subresource: "status" | undefined,
    options: WriteOptions,
  ): { object: KObject; created: boolean } {
    const applied = parseApplyBody(bodyText);
    const ameta = rec(applied.metadata) ?? {};
    if (ameta.name !== undefined && ameta.name !== name) {
      throw badRequest(
        `the name of the object (${String(ameta.name)}) does not match the name on the URL (${name})`,
      );
    }
    const undeclared = pruneUnknownFields(def, version, structuredClone(applied));
    if (undeclared.length > 0) {
      throw undeclaredFieldsError(
        typeof ameta.namespace === "string" ? ameta.namespace : "",
        typeof ameta.name === "string" ? ameta.name : "",
        { group: def.group, version, kind: def.kind },
        undeclared.map((p) => `.${p}`),
      );
    }
    const now = formatTime(this.now());
    const live = existing ? fromStorage(def, existing.obj, version) : undefined;
    const { object: merged } = applyServerSideApply(live, applied, {
      manager: options.fieldManager ?? "",
      force: options.force ?? false,
      apiVersion: groupVersion(def.group, version),
      now,
      ...(subresource === undefined ? {} : { subresource }),
      ignoredFields:
        subresource === "status" ? ["spec", "metadata"] : def.statusSubresource ? ["status"] : [],
      // Built-in schemas here stop early; only a CRD's tells its maps from its structs.
      ...(def.builtin ? {} : { schema: schemaOf(def, version) }),
    });
    const object = options.fieldManager === "kubectl" ? syncLastApplied(merged, applied) : merged;
    if (!existing) {
      const created = this.create(
        def,
        version,
        ns,
        { ...object, metadata: { ...rec(object.metadata), name } },
        {
          ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
          ...(options.identity === undefined ? {} : { identity: options.identity }),
        },
      );
      return { object: created, created: true };
    }
    // The apply already recorded the applier's fields (operation Apply); no Update entry on top of it.
    const { fieldManager: _f, defaultManager: _d, ...rest } = options;
    return {
      object: this.commitUpdate(def, version, existing, object, subresource, rest),
      created: false,
    };
  }

  /**
   * The strict decoding errors of a json/merge/strategic patch: keys repeated in the patch body (and, for a JSON
   * patch, operation fields RFC 6902 does not define), then fields of the patched object the schema does not
   * declare, which are pruned. Strict → 422 on the `patch` field; Warn → warnings.
   */
  private validatePatched(
    def: ResourceDef,
    version: string,
    contentType: string,
    bodyText: string,
    patched: Json,
    options: WriteOptions,
  ): void {
    const directive = options.fieldValidation ?? "Warn";
    // The 422 shows the patched object before its unknown fields are dropped (or the patch, for strategic merge).
    const value =
      directive === "Strict"
        ? contentType === PATCH_STRATEGIC
          ? goFormat(JSON.parse(bodyText))
          : def.builtin
            ? JSON.stringify(patched)
            : sortedJson(patched)
        : "";
    const unknown = pruneUnknownFields(def, version, patched).map(unknownField);
    if (directive === "Ignore") return;
    const errors: string[] = [];
    if (contentType === PATCH_JSON) {
      errors.push(...duplicateFields(bodyText).map((p) => `json patch ${duplicateField(p)}`));
      const ops: unknown = JSON.parse(bodyText);
      if (Array.isArray(ops)) {
        ops.forEach((op, i) => {
          for (const key of Object.keys(rec(op) ?? {})) {
            if (!["op", "path", "from", "value"].includes(key))
              errors.push(`json patch ${unknownField(`[${i}].${key}`)}`);
          }
        });
      }
    } else {
      errors.push(...duplicateFields(bodyText).map(duplicateField));
    }
    errors.push(...unknown);
    reportPatchErrors(errors, directive, options.warnings, value);
  }

  /**
   * The common tail of PUT and PATCH: status split, immutable metadata, generation, finalizer-driven deletion,
   * admission, no-op detection.
   */
  private commitUpdate(
    def: ResourceDef,
    version: string,
    current: Entry,
    input: Json,
    subresource: "status" | undefined,
    options: WriteOptions,
  ): KObject {
    const old = fromStorage(def, current.obj, version);
    const inMeta = (rec(input.metadata) ?? {}) as Partial<ObjectMeta>;
    let next: KObject;
    if (subresource === "status") {
      next = { ...old, metadata: old.metadata } as KObject;
      if (input.status === undefined) delete next.status;
      else next.status = input.status;
    } else {
      const metadata: ObjectMeta = {
        ...(inMeta as ObjectMeta),
        name: old.metadata.name,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        resourceVersion: old.metadata.resourceVersion,
      };
      if (old.metadata.namespace !== undefined) metadata.namespace = old.metadata.namespace;
      if (old.metadata.deletionTimestamp) {
        metadata.deletionTimestamp = old.metadata.deletionTimestamp;
        metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds ?? 0;
        const added = (metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
        if (added.length > 0) {
          const cause = {
            reason: "FieldValueForbidden",
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"${added.join('", "')}"}`,
            field: "metadata.finalizers",
          };
          // ObjectMeta update validation runs twice (generic BeforeUpdate and the strategy): kube lists the cause
          // twice in the details but once in the message.
          const error = invalid(def.group, def.kind, old.metadata.name, [cause]);
          throw new ApiError(422, "Invalid", error.message, {
            ...error.statusDetails,
            causes: [cause, cause],
          });
        }
      } else {
        delete metadata.deletionTimestamp;
        delete metadata.deletionGracePeriodSeconds;
      }
      if (old.metadata.generation !== undefined) metadata.generation = old.metadata.generation;
      else delete metadata.generation;
      const causes = validateLabels(metadata.labels);
      if (causes.length > 0) throw invalid(def.group, def.kind, old.metadata.name, causes);
      next = {
        ...input,
        apiVersion: old.apiVersion,
        kind: old.kind,
        metadata: normalizeObjectMeta(metadata),
      } as KObject;
      if (def.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      if (!def.builtin && specChanged(old, next, def.statusSubresource))
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    next = this.defaults(def, next);
    const manager = options.fieldManager ?? options.defaultManager;
    if (manager) {
      next = recordUpdateManager(
        old,
        next,
        manager,
        "Update",
        String(old.apiVersion),
        formatTime(this.now()),
        subresource,
        def.builtin ? undefined : schemaOf(def, version),
      ) as KObject;
    }
    if (subresource !== "status") {
      const rejected = admit(def, next, old) ?? validateBuiltin(def, next);
      if (rejected) throw rejected;
    }
    const stored = toStorage(def, next, version);
    if (isDeepStrictEqual(stripVolatile(stored), stripVolatile(current.obj))) return old;
    if (options.dryRun) return fromStorage(def, stored, version);
    if (stored.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0) {
      // The answer is the object as updated (no finalizers), at the deletion's resourceVersion.
      const gone = this.store.remove(resourceKey(def), stored.metadata.namespace, stored.metadata.name);
      const last = {
        ...stored,
        metadata: { ...stored.metadata, resourceVersion: gone?.obj.metadata.resourceVersion ?? "" },
      };
      return fromStorage(def, normalizedFinalizers(last), version);
    }
    return fromStorage(def, this.store.put(resourceKey(def), stored).obj, version);
  }

  /** GET of the scale subresource: an autoscaling/v1 Scale. */
  getScale(def: ResourceDef, namespace: string | undefined, name: string): Json {
    if (!def.scale) throw notFound(def.group, `${def.plural}/scale`, name);
    return scaleOf(def, this.getEntry(def, namespace, name).obj);
  }

  /**
   * PUT or PATCH of the scale subresource; only `spec.replicas` is written back to the parent. The writer is
   * recorded on the Scale (subresource `scale`) and its managers mapped back to the parent, as kube's scale
   * handler does.
   */
  writeScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    mutate: (scale: Json) => Json,
    options: WriteOptions = {},
    version: string = def.storageVersion,
  ): Json {
    const { entry, live } = this.liveScale(def, namespace, name);
    const next = mutate(live);
    const meta = rec(next.metadata) ?? {};
    if (
      typeof meta.resourceVersion === "string" &&
      meta.resourceVersion !== "" &&
      meta.resourceVersion !== entry.obj.metadata.resourceVersion
    ) {
      throw conflict(def.group, def.plural, name);
    }
    const manager = options.fieldManager ?? options.defaultManager;
    const recorded = manager
      ? recordUpdateManager(live, next, manager, "Update", "autoscaling/v1", formatTime(this.now()), "scale")
      : live;
    return this.commitScale(def, version, entry, rec(next.spec)?.replicas, recorded, options);
  }

  /** Server-side apply of a Scale: ownership of `.spec.replicas` among the Scale's managers. */
  applyScale(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    bodyText: string,
    options: WriteOptions = {},
  ): Json {
    const { entry, live } = this.liveScale(def, namespace, name);
    const { object } = applyServerSideApply(live, parseApplyBody(bodyText), {
      manager: options.fieldManager ?? "",
      force: options.force ?? false,
      apiVersion: "autoscaling/v1",
      now: formatTime(this.now()),
      subresource: "scale",
      ignoredFields: ["status"],
    });
    return this.commitScale(def, version, entry, rec(object.spec)?.replicas, object, options);
  }

  /** The Scale of a parent, with the parent's managers as the Scale sees them. */
  private liveScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
  ): { entry: Entry; live: Json } {
    const paths = def.scale;
    if (!paths) throw notFound(def.group, `${def.plural}/scale`, name);
    const entry = this.getEntry(def, namespace, name);
    const scale = scaleOf(def, entry.obj);
    const managed = scaleManagersView(entry.obj, paths.specReplicasPath);
    const metadata = {
      ...(rec(scale.metadata) ?? {}),
      ...(managed.length > 0 ? { managedFields: managed } : {}),
    };
    return { entry, live: { ...scale, metadata } };
  }

  private commitScale(
    def: ResourceDef,
    version: string,
    entry: Entry,
    replicas: unknown,
    scale: Json,
    options: WriteOptions,
  ): Json {
    const paths = def.scale as NonNullable<ResourceDef["scale"]>;
    const name = entry.obj.metadata.name;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid("autoscaling", "Scale", name, [
        {
          reason: "FieldValueInvalid",
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
          field: "spec.replicas",
        },
      ]);
    }
    const updated = writePath(clone(entry.obj), paths.specReplicasPath, replicas) as KObject;
    const managed = scaleManagersToParent(
      entry.obj,
      scale,
      paths.specReplicasPath,
      groupVersion(def.group, version),
    );
    if (managed.length > 0) updated.metadata.managedFields = managed;
    else delete updated.metadata.managedFields;
    // The scale handler has recorded the managers already.
    const { fieldManager: _f, defaultManager: _d, ...rest } = options;
    const object = this.commitUpdate(def, def.storageVersion, entry, updated, undefined, rest);
    const after = options.dryRun
      ? undefined
      : this.store.get(resourceKey(def), object.metadata.namespace, name);
    return scaleOf(def, after?.obj ?? object);
  }

  delete(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): DeleteResult {
    const entry = this.getEntry(def, namespace, name);
    const obj = entry.obj;
    const pre = options.preconditions;
    // The store's precondition check names the kind (`registry/generic/registry/store.go` deletion preconditions).
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw conflict(
        def.group,
        def.kind,
        name,
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${obj.metadata.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        def.group,
        def.kind,
        name,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${obj.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    const policy = options.propagationPolicy ?? "Background";
    const finalizers = [...(obj.metadata.finalizers ?? [])];
    if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    if (policy === "Foreground" && !finalizers.includes("foregroundDeletion"))
      finalizers.push("foregroundDeletion");
    if (def.kind === "Namespace") return this.deleteNamespace(def, version, entry, options);
    if (finalizers.length === 0) {
      if (options.dryRun) return { deleted: true, last: fromStorage(def, obj, version) };
      const gone = this.store.remove(resourceKey(def), obj.metadata.namespace, name);
      return { deleted: true, last: fromStorage(def, gone?.obj ?? obj, version) };
    }
    if (obj.metadata.deletionTimestamp && isDeepStrictEqual(finalizers, obj.metadata.finalizers ?? [])) {
      return { deleted: false, object: fromStorage(def, obj, version) };
    }
    const metadata: ObjectMeta = {
      ...obj.metadata,
      finalizers,
      deletionTimestamp: obj.metadata.deletionTimestamp ?? formatTime(this.now()),
      deletionGracePeriodSeconds: 0,
    };
    if (!def.builtin && !obj.metadata.deletionTimestamp)
      metadata.generation = (obj.metadata.generation ?? 0) + 1;
    if (options.dryRun) return { deleted: false, object: fromStorage(def, { ...obj, metadata }, version) };
    const stored = this.store.put(resourceKey(def), { ...obj, metadata });
    return { deleted: false, object: fromStorage(def, stored.obj, version) };
  }

  /** Namespace deletion: phase Terminating; the namespace controller (gc.ts) empties it and removes it. */
  private deleteNamespace(
    def: ResourceDef,
    version: string,
    entry: Entry,
    options: DeleteOptions,
  ): DeleteResult {
    const obj = entry.obj;
    if (obj.metadata.deletionTimestamp) return { deleted: false, object: fromStorage(def, obj, version) };
    const next: KObject = {
      ...obj,
      metadata: { ...obj.metadata, deletionTimestamp: formatTime(this.now()) },
      status: { ...(rec(obj.status) ?? {}), phase: "Terminating" },
    };
    if (options.dryRun) return { deleted: false, object: next };
    return { deleted: false, object: fromStorage(def, this.store.put(resourceKey(def), next).obj, version) };
  }

  /** Removes a finalizer from an object (controllers: GC, namespace controller); deletes it if it was the last. */
  removeFinalizer(def: ResourceDef, namespace: string | undefined, name: string, finalizer: string): void {
    const entry = this.store.get(resourceKey(def), namespace, name);
    if (!entry) return;
    const finalizers = (entry.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (finalizers.length === (entry.obj.metadata.finalizers ?? []).length) return;
    const metadata = { ...entry.obj.metadata, finalizers };
    if (finalizers.length === 0) delete (metadata as Partial<ObjectMeta>).finalizers;
    if (metadata.deletionTimestamp && finalizers.length === 0) {
      this.store.remove(resourceKey(def), namespace, name);
      return;
    }
    this.store.put(resourceKey(def), { ...entry.obj, metadata });
  }

  /**
   * A create/update body as kube-apiserver decodes it: the right apiVersion and kind, fields the schema does not
   * declare pruned, and the strict decoding errors (repeated keys, unknown fields) handled per `fieldValidation`.
   */
  private decodeBody(def: ResourceDef, version: string, body: unknown, options: WriteOptions): Json {
    const input = this.checkBody(def, version, body);
    checkMicroTimes(def, version, input);
    const directive = options.fieldValidation ?? "Warn";
    const unknown = pruneUnknownFields(def, version, input);
    const events = options.bodyFields ?? [];
    // A typed decode reports in document order; a CRD's decoder reports duplicates, then the pruned fields.
    const errors = def.builtin
      ? inDocumentOrder(events, unknown)
      : [...duplicateFieldsOf(events).map(duplicateField), ...unknown.map(unknownField)];
    reportDecodeErrors(def.kind, version, errors, directive, options.warnings);
    return input;
  }

  /** Validates a body against the URL's resource: an object of the right apiVersion/kind. */
  private checkBody(def: ResourceDef, version: string, body: unknown): Json {
    const input = rec(body);
    if (!input) throw badRequest("the body of the request must be a JSON or YAML object");
    const gv = groupVersion(def.group, version);
    if (input.apiVersion !== undefined && input.apiVersion !== gv) {
      throw badRequest(
        `the API version in the data (${String(input.apiVersion)}) does not match the expected API version (${gv})`,
      );
    }
    if (input.kind !== undefined && input.kind !== def.kind) {
      const kind = String(input.kind);
      // A CR's kind is validated after decoding (422); a built-in's typed decoder cannot convert (400).
      if (!def.builtin) {
        const name = String(rec(input.metadata)?.name ?? "");
        throw invalid(def.group, kind, name, [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: "${kind}": must be ${def.kind}`,
            field: "kind",
          },
        ]);
      }
      const internal = def.group === "" ? "core" : def.group.split(".")[0];
      throw badRequest(
        `${kind} in version "${version}" cannot be handled as a ${def.kind}: converting (${version}.${kind}) to (${internal}.${def.kind}): unknown conversion`,
      );
    }
    if (input.metadata !== undefined && !rec(input.metadata)) throw badRequest("metadata must be an object");
    const { apiVersion: _a, kind: _k, ...rest } = input;
    return { apiVersion: gv, kind: def.kind, ...rest };
  }

  private resolveNamespace(
    def: ResourceDef,
    url: string | undefined,
    body: string | undefined,
  ): string | undefined {
    if (!def.namespaced) return undefined;
    if (body !== undefined && body !== "" && url !== undefined && body !== url) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const ns = url ?? body;
    if (!ns) throw badRequest("namespace is required for a namespaced resource");
    return ns;
  }

  /** NamespaceLifecycle admission: missing namespace → 404, terminating → 403. */
  private checkNamespaceWritable(def: ResourceDef, namespace: string | undefined, name: string): void {
    if (!def.namespaced || namespace === undefined) return;
    const ns = this.store.get(resourceKey(NAMESPACES), undefined, namespace);
    if (!ns) throw notFound("", "namespaces", namespace);
    if (ns.obj.metadata.deletionTimestamp && def.kind !== "Event") {
      throw forbidden(
        `${def.group === "" ? def.plural : `${def.plural}.${def.group}`} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          ...(name === "" ? {} : { name }),
          ...(def.group === "" ? {} : { group: def.group }),
          kind: def.plural,
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${namespace} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
    }
  }

  /** Allocates a free ClusterIP in 10.96.0.0/16 (deterministic for a given random source). */
  private defaultService(obj: KObject): KObject {
    const used = new Set<string>();
    for (const e of this.store.list("services", undefined)) used.add(String(rec(e.obj.spec)?.clusterIP));
    return serviceDefaults(obj, () => {
      for (;;) {
        const ip = `10.96.${Math.floor(this.random() * 256)}.${1 + Math.floor(this.random() * 254)}`;
        if (!used.has(ip)) return ip;
      }
    });
  }

  /** Per-kind defaulting the built-in strategies and KubeVirt's mutating webhooks apply. */
  private defaults(def: ResourceDef, obj: KObject): KObject {
    switch (def.kind) {
      case "Namespace": {
        const labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name };
        const spec = rec(obj.spec) ?? {};
        const status = rec(obj.status) ?? {};
        return {
          ...obj,
          metadata: { ...obj.metadata, labels },
          spec: { ...spec, finalizers: spec.finalizers ?? ["kubernetes"] },
          status: {
            ...status,
            phase: obj.metadata.deletionTimestamp ? "Terminating" : (status.phase ?? "Active"),
          },
        };
      }
      case "Event":
        return eventDefaults(normalizeEventTimes(obj));
      case "Lease":
        return leaseDefaults(obj);
      case "Service":
        return this.defaultService(obj);
      case "Secret":
        return secretDefaults(obj);
      case WEBHOOK_CONFIG_KIND:
        return webhookConfigurationDefaults(obj);
      case "Deployment":
      case "ReplicaSet":
      case "ReplicationController": {
        // `SetDefaults_Deployment` & co.: one replica unless told otherwise.
        const spec = rec(obj.spec) ?? {};
        return spec.replicas === undefined ? { ...obj, spec: { ...spec, replicas: 1 } } : obj;
      }
      default:
        return obj;
    }
  }
}

/** Service defaults (`SetDefaults_Service` plus the ClusterIP allocator), so `kubectl get svc` shows an IP. */
function serviceDefaults(obj: KObject, allocate: () => string): KObject {
  const spec = { ...(rec(obj.spec) ?? {}) };
  const type = (spec.type as string | undefined) ?? "ClusterIP";
  spec.type = type;
  spec.sessionAffinity ??= "None";
  if (type !== "ExternalName") {
    spec.clusterIP ??= allocate();
    spec.clusterIPs ??= [spec.clusterIP];
    spec.ipFamilies ??= ["IPv4"];
    spec.ipFamilyPolicy ??= "SingleStack";
    spec.internalTrafficPolicy ??= "Cluster";
  }
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((p) => {
      const port = { ...(rec(p) ?? {}) };
      port.protocol ??= "TCP";
      port.targetPort ??= port.port;
      return port;
    });
  }
  return { ...obj, spec, status: rec(obj.status) ?? { loadBalancer: {} } };
}

function duplicateFieldsOf(events: readonly FieldEvent[]): string[] {
  const out: string[] = [];
  for (const event of events) if (event.duplicate && !out.includes(event.path)) out.push(event.path);
  return out;
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * kubectl's server-side apply keeps a client-side apply annotation in step (apimachinery
 * `lastappliedupdater.go`): it becomes the applied configuration, without the annotation itself.
 */
function syncLastApplied(merged: Json, applied: Json): Json {
  const annotations = rec(rec(merged.metadata)?.annotations);
  if (typeof annotations?.[LAST_APPLIED] !== "string" || annotations[LAST_APPLIED] === "") return merged;
  const config = structuredClone(applied);
  const configMeta = rec(config.metadata);
  const configAnnotations = rec(configMeta?.annotations);
  if (configMeta && configAnnotations) {
    delete configAnnotations[LAST_APPLIED];
    configMeta.annotations = configAnnotations;
  }
  const metadata = {
    ...(rec(merged.metadata) ?? {}),
    annotations: { ...annotations, [LAST_APPLIED]: `${sortedJson(config)}\n` },
  };
  return { ...merged, metadata };
}

/** Drops an emptied finalizer list, as ObjectMeta's omitempty does. */
function normalizedFinalizers(obj: KObject): KObject {
  return { ...obj, metadata: normalizeObjectMeta(obj.metadata) };
}

function withNamespaceLabel(obj: KObject): KObject {
  const labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name };
  return { ...obj, metadata: { ...obj.metadata, labels } };
}

/** metav1.MicroTime fields of the built-in kinds served here, by kind. */
const MICRO_TIMES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  Lease: [
    ["spec", "acquireTime"],
    ["spec", "renewTime"],
  ],
  Event: [["eventTime"], ["series", "lastObservedTime"]],
};

/** A MicroTime kube's decoder cannot parse fails the decode (400 `… cannot be handled as a …`). */
function checkMicroTimes(def: ResourceDef, version: string, input: Json): void {
  if (!def.builtin) return;
  for (const path of MICRO_TIMES[def.kind] ?? []) {
    let value: unknown = input;
    for (const key of path) value = rec(value)?.[key];
    const error = typeof value === "string" ? microTimeError(value) : undefined;
    if (error)
      throw badRequest(`${def.kind} in version "${version}" cannot be handled as a ${def.kind}: ${error}`);
  }
}

/** PUT without a resourceVersion: refused for CRs and, since they are not unconditional, Leases. */
function allowsUnconditionalUpdate(def: ResourceDef): boolean {
  return def.builtin && def.kind !== "Lease";
}

/**
 * Built-in validation the local cluster enforces (k8s `pkg/apis/*\/validation`, messages as kube-apiserver 1.34
 * answers): a Lease's duration and transitions.
 */
function validateBuiltin(def: ResourceDef, obj: KObject): ApiError | undefined {
  if (def.kind === WEBHOOK_CONFIG_KIND) return validateWebhookConfiguration(obj);
  if (def.kind !== "Lease") return undefined;
  const spec = rec(obj.spec) ?? {};
  const causes = [];
  if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0`,
      field: "spec.leaseDurationSeconds",
    });
  }
  if (typeof spec.leaseTransitions === "number" && spec.leaseTransitions < 0) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${spec.leaseTransitions}: must be greater than or equal to 0`,
      field: "spec.leaseTransitions",
    });
  }
  return causes.length > 0 ? invalid(def.group, def.kind, obj.metadata.name, causes) : undefined;
}

/**
 * A Lease as kube stores it: its MicroTimes in UTC with six digits, and `strategy`/`preferredHolder` dropped
 * while the CoordinatedLeaderElection gate is off (kube 1.34's default).
 */
function leaseDefaults(obj: KObject): KObject {
  const { strategy: _s, preferredHolder: _p, ...spec } = rec(obj.spec) ?? {};
  for (const key of ["acquireTime", "renewTime"]) {
    if (typeof spec[key] === "string")
      spec[key] = formatMicroTime(Date.parse(spec[key] as string), spec[key] as string);
  }
  return obj.spec === undefined ? obj : { ...obj, spec };
}

/** An Event's fields without omitempty, as its typed encoding writes them when unset. */
function eventDefaults(obj: KObject): KObject {
  return {
    ...obj,
    source: rec(obj.source) ?? {},
    firstTimestamp: obj.firstTimestamp ?? null,
    lastTimestamp: obj.lastTimestamp ?? null,
    eventTime:
      typeof obj.eventTime === "string" ? formatMicroTime(Date.parse(obj.eventTime), obj.eventTime) : null,
    reportingComponent: obj.reportingComponent ?? "",
    reportingInstance: obj.reportingInstance ?? "",
  };
}

/** `metav1.MicroTime` text: UTC, six fractional digits (the input's digits beyond milliseconds are kept). */
function formatMicroTime(ms: number, original: string): string {
  if (Number.isNaN(ms)) return original;
  const micros = /\.\d{3}(\d{3})/.exec(original)?.[1] ?? "000";
  return new Date(ms).toISOString().replace(/Z$/, `${micros}Z`);
}

/** Secret's strategy: `stringData` is write-only, merged into `data` (base64); `type` defaults to Opaque. */
function secretDefaults(obj: KObject): KObject {
  const { stringData, ...rest } = obj;
  const out: KObject = {
    ...rest,
    type: typeof obj.type === "string" && obj.type !== "" ? obj.type : "Opaque",
  };
  const plain = rec(stringData);
  if (plain && Object.keys(plain).length > 0) {
    const data: Record<string, unknown> = { ...(rec(obj.data) ?? {}) };
    for (const [key, value] of Object.entries(plain))
      data[key] = Buffer.from(String(value)).toString("base64");
    out.data = data;
  }
  return out;
}

/** The Scale a `/scale` GET returns for `obj` (missing spec replicas read as 0, like apiextensions). */
function scaleOf(def: ResourceDef, obj: KObject): Json {
  const paths = def.scale;
  const specReplicas = paths ? readPath(obj, paths.specReplicasPath) : undefined;
  const statusReplicas = paths ? readPath(obj, paths.statusReplicasPath) : undefined;
  const selector = paths ? readPath(obj, paths.labelSelectorPath) : undefined;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: typeof specReplicas === "number" ? specReplicas : 0 },
    status: {
      replicas: typeof statusReplicas === "number" ? statusReplicas : 0,
      ...(typeof selector === "string" && selector !== "" ? { selector } : {}),
    },
  };
}

function withoutStatus(obj: KObject): KObject {
  const { status: _s, ...rest } = obj;
  return rest as KObject;
}

/**
 * True when anything outside metadata (and status, when the CRD has a status subresource) differs: the CRD
 * generation rule (apiextensions `strategy.go` `PrepareForUpdate`).
 */
function specChanged(old: Json, next: Json, statusSubresource: boolean): boolean {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  for (const key of keys) {
    if (key === "metadata" || key === "apiVersion" || key === "kind") continue;
    if (key === "status" && statusSubresource) continue;
    if (!isDeepStrictEqual(old[key], next[key])) return true;
  }
  return false;
}

/**
 * The object without its resourceVersion: a write that changes nothing else is not stored. managedFields count
 * (a manager taking co-ownership of an unchanged value is a write, as in kube's GuaranteedUpdate).
 */
function stripVolatile(obj: KObject): Json {
  const { resourceVersion: _r, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

function normalizeEventTimes(obj: KObject): KObject {
  const out: Json = { ...obj };
  for (const key of ["firstTimestamp", "lastTimestamp"]) {
    if (out[key] !== undefined) out[key] = normalizeTime(out[key]);
  }
  return out as KObject;
}

function entryKey(entry: Entry): string {
  return `${entry.obj.metadata.namespace ?? ""}/${entry.obj.metadata.name}`;
}

/** Continue tokens carry the last key and the list's resourceVersion (base64 JSON, opaque to clients). */
function encodeContinue(after: string, rv: number): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: after })).toString("base64url");
}

/**
 * Decodes a continue token with the errors of apiserver `storage.DecodeContinue` (400 `invalid continue token: …`);
 * Go's base64 and JSON error texts are approximated by their common cases.
 */
function decodeContinue(token: string): { after: string; rv: number } {
  const invalidToken = (detail: string) =>
    badRequest(`invalid continue token: continue key is not valid${detail}`);
  const bad = /[^A-Za-z0-9_-]/.exec(token);
  if (bad) throw invalidToken(`: illegal base64 data at input byte ${bad.index}`);
  if (token.length % 4 === 1) throw invalidToken(`: illegal base64 data at input byte ${token.length - 1}`);
  const text = Buffer.from(token, "base64url").toString("utf8");
  let parsed: Record<string, unknown>;
  try {
    parsed = rec(JSON.parse(text)) ?? {};
  } catch {
    const first = text.trimStart()[0];
    throw invalidToken(
      first === undefined || '{[tfn-0123456789"'.includes(first)
        ? ": unexpected end of JSON input"
        : `: invalid character '${first}' looking for beginning of value`,
    );
  }
  if (parsed.v !== "meta.k8s.io/v1") {
    throw invalidToken(`: server does not recognize this encoded version ${String(parsed.v ?? "")}`);
  }
  const rv = typeof parsed.rv === "number" ? parsed.rv : 0;
  if (rv === 0) throw invalidToken(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
  if (typeof parsed.start !== "string" || parsed.start === "") {
    throw invalidToken(": encoded start key empty (version meta.k8s.io/v1)");
  }
  return { after: parsed.start, rv };
}
