/**
 * PATCH for the local cluster's API server: which patch media types an endpoint accepts, body parsing, RFC
 * 7386 merge patch, RFC 6902 JSON patch (fast-json-patch), strategic merge patch for built-in kinds, and
 * server-side apply with `metadata.managedFields` ownership. Pure functions over plain JSON objects: inputs
 * are never mutated and results share no structure with them. Behaviour follows apiserver
 * `endpoints/handlers/patch.go`, apimachinery `util/strategicpatch` and `util/managedfields`, and
 * structured-merge-diff (../../shared/reference/apiserver-fidelity.md §3.4, §3.6, §4).
 */
import { isDeepStrictEqual } from "node:util";
import type { Operation } from "fast-json-patch";
import jsonPatch from "fast-json-patch";
import { parse as parseYaml } from "yaml";
import { logger } from "../../shared/log";
import { OBJECT_META_SCHEMA } from "./builtin-schemas";
import type { StatusCause } from "./errors";
import { ApiError, badRequest, invalid, requestEntityTooLarge, unsupportedMediaType } from "./errors";
import type { Schema } from "./schema";

const log = logger("apiserver.patch");

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): boolean => value === null || typeof value !== "object";

/** Own property only, so keys such as `constructor` or `__proto__` read as plain (absent) fields. */
const own = (obj: JsonObject, key: string): unknown => (Object.hasOwn(obj, key) ? obj[key] : undefined);

/** Defines rather than assigns, so a `__proto__` key from a request body stays an ordinary field. */
function put(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function remove(obj: JsonObject, key: string): void {
  Reflect.deleteProperty(obj, key);
}

const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";

const jsonTypeOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value;

// -----------------------------------------------------------------------------------------------------------
// Media types and body parsing
// -----------------------------------------------------------------------------------------------------------

/** Patch media types (k8s.io/apimachinery `types.PatchType`). */
export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  applyYaml: "application/apply-patch+yaml",
  /** Only behind kube's alpha `CBORServingAndStorage` gate, so never accepted here. */
  applyCbor: "application/apply-patch+cbor",
} as const;

export type PatchType = (typeof PATCH_TYPES)[keyof typeof PATCH_TYPES];

/**
 * Patch types an endpoint accepts, in the order kube lists them in its 415 message: apiextensions
 * `customresource_handler.go` for CRs, apiserver `endpoints/installer.go` for built-ins (which add strategic
 * merge).
 */
export function acceptedPatchTypes(builtin: boolean): PatchType[] {
  return builtin
    ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.applyYaml]
    : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.applyYaml];
}

/**
 * The patch type named by a `Content-Type` header (parameters such as `; charset=utf-8` dropped, as
 * `handlers/patch.go` does), or 415 UnsupportedMediaType listing what the endpoint accepts.
 */
export function resolvePatchType(contentType: string | undefined, builtin: boolean): PatchType {
  const accepted = acceptedPatchTypes(builtin);
  const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
  const match = accepted.find((type) => type === mediaType);
  if (match === undefined) throw unsupportedMediaType(accepted);
  return match;
}

/**
 * Parses a PATCH body for its content type: JSON for json/merge/strategic patches (400 `invalid JSON patch`,
 * the apiserver's message, when malformed), YAML or JSON for apply patches. Unaccepted types → 415.
 */
export function parsePatchBody(contentType: string, text: string, builtin = true): unknown {
  const type = resolvePatchType(contentType, builtin);
  if (type === PATCH_TYPES.applyYaml) return parseApplyBody(text);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid JSON patch");
  }
}

/**
 * Parses an apply body (YAML, of which JSON is a subset) into an object. YAML 1.1 like the go-yaml v2 behind
 * sigs.k8s.io/yaml (`yes`/`on` are booleans), but timestamps and binaries stay strings as they do there.
 */
export function parseApplyBody(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, {
      version: "1.1",
      customTags: (tags) =>
        tags.filter(
          (tag) =>
            typeof tag === "string" ||
            (tag.tag !== "tag:yaml.org,2002:timestamp" && tag.tag !== "tag:yaml.org,2002:binary"),
        ),
    });
  } catch (err) {
    throw badRequest(`error encoding patch: ${firstLine(err)}`);
  }
  if (!isObject(doc)) {
    throw badRequest(
      `error decoding patch: an apply patch must be a YAML or JSON object, got ${jsonTypeOf(doc)}`,
    );
  }
  return doc;
}

// -----------------------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch
// -----------------------------------------------------------------------------------------------------------

/**
 * RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else (arrays included)
 * replaces. Hand-written: it is a dozen lines and no well-kept library does only this.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  return mergePatchInto(structuredClone(target), patch);
}

/** `owned` may be modified in place; `patch` is only read. */
function mergePatchInto(owned: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result = isObject(owned) ? owned : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) remove(result, key);
    else put(result, key, mergePatchInto(own(result, key), value));
  }
  return result;
}

// -----------------------------------------------------------------------------------------------------------
// RFC 6902 JSON patch
// -----------------------------------------------------------------------------------------------------------

/** apiserver `handlers/patch.go` `maxJSONPatchOperations`. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const RFC6902_OPS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/** What kube answers for any JSON patch that cannot be applied (`NewGenericServerResponse(422, …)`). */
const JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request";

/** The object a patch targets; only logged, because kube's 422 for a failed JSON patch names nothing. */
export interface PatchTarget {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

/**
 * RFC 6902 JSON patch (add, remove, replace, move, copy, test). A body that is not an array of well-formed
 * operations → 400; more than 10000 operations → 413; an operation that cannot be applied (missing path,
 * failed test) → 422 Invalid with kube's generic message and empty details. Checking each operation's shape
 * up front is stricter than kube, whose json-patch library only trips over an unknown op or a missing path
 * while applying (422).
 */
export function applyJsonPatch(target: unknown, ops: unknown, ctx: PatchTarget): unknown {
  const operations = validateJsonPatch(ops);
  try {
    return jsonPatch.applyPatch(structuredClone(target), structuredClone(operations), true, true).newDocument;
  } catch (err) {
    // fast-json-patch throws TypeError when an op writes into a scalar or touches __proto__.
    if (!(err instanceof jsonPatch.JsonPatchError) && !(err instanceof TypeError)) throw err;
    log.debug({ ...ctx, error: firstLine(err) }, "json patch could not be applied");
    throw new ApiError(422, "Invalid", JSON_PATCH_REJECTED, {});
  }
}

function validateJsonPatch(ops: unknown): Operation[] {
  if (!Array.isArray(ops)) {
    throw badRequest(
      `error decoding patch: a JSON patch must be an array of operations, got ${jsonTypeOf(ops)}`,
    );
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw requestEntityTooLarge(
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  ops.forEach((op, index) => {
    // fast-json-patch also knows a private `_get` op; RFC 6902 does not.
    if (isObject(op) && typeof op.op === "string" && !RFC6902_OPS.has(op.op)) {
      throw badRequest(`error decoding patch: operation ${index}: unknown op "${op.op}"`);
    }
  });
  const error = jsonPatch.validate(ops as Operation[]);
  if (error !== undefined) {
    throw badRequest(`error decoding patch: operation ${error.index ?? 0}: ${firstLine(error)}`);
  }
  return ops as Operation[];
}

// -----------------------------------------------------------------------------------------------------------
// List semantics of built-in kinds (strategic merge patch and server-side apply)
// -----------------------------------------------------------------------------------------------------------

/** How a list field merges. Lists not in the table are atomic: a patch replaces them whole. */
interface ListRule {
  /**
   * `patchMergeKey` for lists of objects; absent for `patchStrategy:"merge"` lists of scalars (merged as
   * sets).
   */
  readonly mergeKey?: string;
}

const byName: ListRule = { mergeKey: "name" };
const byType: ListRule = { mergeKey: "type" };
const asSet: ListRule = {};

/** ObjectMeta lists, the same on every kind (apimachinery `meta/v1/types.go`). */
const METADATA_LISTS: Readonly<Record<string, ListRule>> = {
  "metadata.ownerReferences": { mergeKey: "uid" },
  "metadata.finalizers": asSet,
};

function containerLists(field: string): Record<string, ListRule> {
  return {
    [field]: byName,
    [`${field}[].ports`]: { mergeKey: "containerPort" },
    [`${field}[].env`]: byName,
    [`${field}[].volumeMounts`]: { mergeKey: "mountPath" },
    [`${field}[].volumeDevices`]: { mergeKey: "devicePath" },
  };
}

/**
 * Lists with `patchStrategy:"merge"` on the built-in kinds the local cluster serves, keyed by kind and JSON
 * path (`[]` marks list items), from k8s.io/api `core/v1`, `autoscaling/v2` types.go. A kind listed with no
 * entries still accepts strategic merge patches; a kind not listed (every CR) does not.
 */
const STRATEGIC_MERGE_LISTS: Readonly<Record<string, Readonly<Record<string, ListRule>>>> = {
  Pod: {
    ...containerLists("spec.containers"),
    ...containerLists("spec.initContainers"),
    ...containerLists("spec.ephemeralContainers"),
    "spec.volumes": byName,
    "spec.imagePullSecrets": byName,
    "spec.hostAliases": { mergeKey: "ip" },
    "spec.topologySpreadConstraints": { mergeKey: "topologyKey" },
    "spec.schedulingGates": byName,
    "spec.resourceClaims": byName,
    "status.conditions": byType,
    "status.podIPs": { mergeKey: "ip" },
    "status.hostIPs": { mergeKey: "ip" },
  },
  Service: { "spec.ports": { mergeKey: "port" }, "status.conditions": byType },
  Namespace: { "status.conditions": byType },
  // autoscaling/v2 only; v1 keeps conditions in an annotation. `spec.metrics`, `status.currentMetrics` are
  // atomic.
  HorizontalPodAutoscaler: { "status.conditions": byType },
  Endpoints: {},
  ValidatingWebhookConfiguration: { webhooks: byName },
  Event: {},
  Lease: {},
  ControllerRevision: {},
};

function listRule(kind: string, path: string): ListRule | undefined {
  if (Object.hasOwn(METADATA_LISTS, path)) return METADATA_LISTS[path];
  const lists = Object.hasOwn(STRATEGIC_MERGE_LISTS, kind) ? STRATEGIC_MERGE_LISTS[kind] : undefined;
  return lists !== undefined && Object.hasOwn(lists, path) ? lists[path] : undefined;
}

// -----------------------------------------------------------------------------------------------------------
// Strategic merge patch
// -----------------------------------------------------------------------------------------------------------

const PATCH_DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ELEMENT_ORDER = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList";

// apimachinery `util/mergepatch/errors.go` messages, answered with 400 like
// `interpretStrategicMergePatchError`.
const ERR_RETAIN_KEYS = "invalid patch format of retainKeys";
const ERR_SET_ORDER = "invalid patch format of setElementOrder list";
const ERR_PRIMITIVE_LIST = "invalid patch format of primitive list";

/** Marks a patch value that resolves to nothing (a `$patch: delete` map with no counterpart). */
const DROP = Symbol("drop");

interface SmpLocation {
  readonly kind: string;
  /** Dotted JSON path from the object root; `[]` marks list items. */
  readonly path: string;
}

type DirectiveKey =
  | { readonly type: "patch" }
  | { readonly type: "retainKeys" }
  | { readonly type: "setElementOrder"; readonly list: string }
  | { readonly type: "deleteFromPrimitiveList"; readonly list: string };

/**
 * Strategic merge patch for built-in kinds (apimachinery `util/strategicpatch`): merge-patch semantics,
 * except that lists in the merge table merge by key (objects) or as sets (scalars), and the directives
 * `$patch` (`replace`/`delete`/`merge`), `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` are honoured. Unknown directives, missing merge keys and kinds without
 * strategic merge support (CRs) → 400.
 *
 * Two deliberate differences from kube: `$patch: merge` in a map is the documented no-op rather than an
 * error, and a map with `$patch: replace` and no counterpart in the target is kept (kube drops it).
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!Object.hasOwn(STRATEGIC_MERGE_LISTS, kind)) {
    throw badRequest("strategic merge patch format is not supported");
  }
  if (!isObject(patch)) throw badRequest("invalid JSON document");
  return smpMergeMap(isObject(target) ? structuredClone(target) : {}, patch, { kind, path: "" });
}

const fieldAt = (at: SmpLocation, key: string): SmpLocation => ({
  kind: at.kind,
  path: at.path === "" ? key : `${at.path}.${key}`,
});

const itemAt = (at: SmpLocation): SmpLocation => ({ kind: at.kind, path: `${at.path}[]` });

function directiveTarget(key: string, prefix: string, error: string): string {
  if (!key.startsWith(`${prefix}/`) || key.length === prefix.length + 1) throw badRequest(error);
  return key.slice(prefix.length + 1);
}

/** Classifies a `$`-prefixed patch key; regular fields → undefined; unknown directives → 400. */
function directiveOf(key: string): DirectiveKey | undefined {
  if (!key.startsWith("$")) return undefined;
  if (key === PATCH_DIRECTIVE) return { type: "patch" };
  if (key === RETAIN_KEYS) return { type: "retainKeys" };
  if (key.startsWith(SET_ELEMENT_ORDER)) {
    return { type: "setElementOrder", list: directiveTarget(key, SET_ELEMENT_ORDER, ERR_SET_ORDER) };
  }
  if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
    return {
      type: "deleteFromPrimitiveList",
      list: directiveTarget(key, DELETE_FROM_PRIMITIVE_LIST, ERR_PRIMITIVE_LIST),
    };
  }
  throw badRequest(`unknown strategic merge patch directive "${key}"`);
}

const unknownPatchType = (directive: unknown, where: unknown): ApiError =>
  badRequest(`unknown patch type: ${String(directive)} in map: ${JSON.stringify(where)}`);

/** Merges `patch` into `original`, which this function owns and may modify. */
function smpMergeMap(original: JsonObject, patch: JsonObject, at: SmpLocation): JsonObject {
  const directive = own(patch, PATCH_DIRECTIVE);
  if (directive === "replace") return smpNewValue(patch, at) as JsonObject;
  if (directive === "delete") return {};
  if (directive !== undefined && directive !== "merge") throw unknownPatchType(directive, patch);

  const keys = Object.keys(patch).map((key) => ({ key, directive: directiveOf(key) }));
  applyRetainKeys(original, patch, keys);
  const ordered = new Set<string>();
  for (const { key, directive: d } of keys) {
    if (d?.type === "setElementOrder" && mergeOrderedList(original, patch, d.list, own(patch, key), at)) {
      ordered.add(d.list);
    }
  }
  for (const { key, directive: d } of keys) {
    if (d === undefined && !ordered.has(key)) smpMergeField(original, key, own(patch, key), at);
  }
  for (const { key, directive: d } of keys) {
    if (d?.type === "deleteFromPrimitiveList") deleteFromPrimitiveList(original, d.list, own(patch, key));
  }
  return original;
}

function smpMergeField(original: JsonObject, key: string, patchValue: unknown, at: SmpLocation): void {
  if (patchValue === null) {
    remove(original, key);
    return;
  }
  const here = fieldAt(at, key);
  const current = own(original, key);
  if (isObject(current) && isObject(patchValue)) {
    put(original, key, smpMergeMap(current, patchValue, here));
  } else if (Array.isArray(current) && Array.isArray(patchValue)) {
    put(original, key, smpMergeList(current, patchValue, here));
  } else {
    const value = smpNewValue(patchValue, here);
    if (value === DROP) remove(original, key);
    else put(original, key, value);
  }
}

/**
 * A patch value with no counterpart in the target: directives have nothing to act on, so they are resolved
 * against nothing (a `$patch: delete` map vanishes) and nulls inside maps are discarded (kube's
 * `IgnoreUnmatchedNulls`).
 */
function smpNewValue(value: unknown, at: SmpLocation): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => smpNewValue(item, itemAt(at))).filter((item) => item !== DROP);
  }
  if (!isObject(value)) return value;
  const directive = own(value, PATCH_DIRECTIVE);
  if (directive === "delete") return DROP;
  if (directive !== undefined && directive !== "replace" && directive !== "merge") {
    throw unknownPatchType(directive, value);
  }
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (directiveOf(key) !== undefined || child === null) continue;
    const resolved = smpNewValue(child, fieldAt(at, key));
    if (resolved !== DROP) put(out, key, resolved);
  }
  return out;
}

function smpMergeList(current: unknown[], patch: unknown[], at: SmpLocation): unknown[] {
  const rule = listRule(at.kind, at.path);
  if (rule === undefined) return smpNewValue(patch, at) as unknown[];
  if (rule.mergeKey === undefined) return mergeScalarSet(current, patch);
  return mergeKeyedList(current, patch, rule.mergeKey, at);
}

function mergeScalarSet(current: unknown[], patch: unknown[]): unknown[] {
  if (!patch.every(isScalar)) throw badRequest(ERR_PRIMITIVE_LIST);
  const merged = [
    ...current,
    ...patch.filter((value, i) => !current.includes(value) && patch.indexOf(value) === i),
  ];
  return orderLikePatch(merged, patch, current, (value) => value);
}

function requireMergeKey(item: unknown, mergeKey: string): unknown {
  const value = isObject(item) ? own(item, mergeKey) : undefined;
  if (value === undefined) {
    throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
  }
  return value;
}

function mergeKeyedList(current: unknown[], patch: unknown[], mergeKey: string, at: SmpLocation): unknown[] {
  const keyOf = (item: unknown): unknown => (isObject(item) ? own(item, mergeKey) : undefined);
  let base = current;
  let replace = false;
  const regular: JsonObject[] = [];
  for (const item of patch) {
    if (!isObject(item)) {
      throw badRequest(`list ${at.path} merges by "${mergeKey}", so its items must be objects`);
    }
    const directive = own(item, PATCH_DIRECTIVE);
    if (directive === undefined) {
      regular.push(item);
    } else if (directive === "delete") {
      const doomed = requireMergeKey(item, mergeKey);
      base = base.filter((existing) => keyOf(existing) !== doomed);
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      throw badRequest("merging lists cannot yet be specified in the patch");
    } else {
      throw unknownPatchType(directive, item);
    }
  }
  if (replace) return smpNewValue(regular, at) as unknown[];

  const merged = [...base];
  for (const item of regular) {
    const key = requireMergeKey(item, mergeKey);
    const index = merged.findIndex((existing) => keyOf(existing) === key);
    const existing = merged[index];
    merged[index < 0 ? merged.length : index] = isObject(existing)
      ? smpMergeMap(existing, item, itemAt(at))
      : smpNewValue(item, itemAt(at));
  }
  return orderLikePatch(merged, regular, base, keyOf);
}

/**
 * kube's `normalizeElementOrder`: items named by `order` come in that order, the others keep their live
 * order, and the two runs are interleaved by live position. Items new to the list sort ahead of live-only
 * items.
 */
function orderLikePatch(
  merged: readonly unknown[],
  order: readonly unknown[],
  live: readonly unknown[],
  identity: (item: unknown) => unknown,
): unknown[] {
  const indexIn = (list: readonly unknown[], item: unknown): number => {
    const id = identity(item);
    return list.findIndex((candidate) => identity(candidate) === id);
  };
  const byIndexIn =
    (list: readonly unknown[]) =>
    (a: unknown, b: unknown): number => {
      const ia = indexIn(list, a);
      const ib = indexIn(list, b);
      return ia >= 0 && ib >= 0 ? ia - ib : 0;
    };
  const named = merged.filter((item) => indexIn(order, item) >= 0).sort(byIndexIn(order));
  const liveOnly = merged.filter((item) => indexIn(order, item) < 0).sort(byIndexIn(live));

  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < liveOnly.length || j < named.length) {
    const left = liveOnly[i];
    const right = named[j];
    const li = indexIn(live, left);
    const ri = indexIn(live, right);
    const takeLeft = j >= named.length || (i < liveOnly.length && li >= 0 && ri >= 0 && li < ri);
    if (takeLeft) {
      out.push(left);
      i++;
    } else {
      out.push(right);
      j++;
    }
  }
  return out;
}

/** `$retainKeys`: fields of the target not listed are cleared; every field the patch sets must be listed. */
function applyRetainKeys(
  original: JsonObject,
  patch: JsonObject,
  keys: readonly { key: string; directive: DirectiveKey | undefined }[],
): void {
  const retain = own(patch, RETAIN_KEYS);
  if (retain === undefined) return;
  if (!Array.isArray(retain)) throw badRequest(ERR_RETAIN_KEYS);
  for (const { key, directive } of keys) {
    if (directive === undefined && own(patch, key) !== null && !retain.includes(key)) {
      throw badRequest(ERR_RETAIN_KEYS);
    }
  }
  for (const key of Object.keys(original)) {
    if (!retain.includes(key)) remove(original, key);
  }
}

/**
 * `$setElementOrder/<list>`: merges the list (if the patch carries it) and orders the result like the
 * directive. Returns false for lists without merge semantics, which the patch simply replaces in its own
 * order.
 */
function mergeOrderedList(
  original: JsonObject,
  patch: JsonObject,
  listKey: string,
  order: unknown,
  at: SmpLocation,
): boolean {
  if (!Array.isArray(order)) throw badRequest(ERR_SET_ORDER);
  const here = fieldAt(at, listKey);
  const rule = listRule(here.kind, here.path);
  const current = own(original, listKey);
  if (rule === undefined || (current !== undefined && !Array.isArray(current))) return false;
  const patchList = own(patch, listKey);
  if (patchList !== undefined && !Array.isArray(patchList)) throw badRequest(ERR_SET_ORDER);

  const mergeKey = rule.mergeKey;
  const identity =
    mergeKey === undefined
      ? (item: unknown) => item
      : (item: unknown) => (isObject(item) ? own(item, mergeKey) : undefined);
  if (mergeKey !== undefined) for (const item of order) requireMergeKey(item, mergeKey);
  checkPatchFollowsOrder(patchList ?? [], order, identity);

  if (current === undefined && patchList === undefined) return true;
  const merged =
    patchList === undefined
      ? (current as unknown[])
      : current === undefined
        ? (smpNewValue(patchList, here) as unknown[])
        : smpMergeList(current, patchList, here);
  put(original, listKey, orderLikePatch(merged, order, current ?? [], identity));
  return true;
}

/** kube's `validatePatchWithSetOrderList`: the patch list must be a subsequence of the order list. */
function checkPatchFollowsOrder(
  patchList: readonly unknown[],
  order: readonly unknown[],
  identity: (item: unknown) => unknown,
): void {
  const items = patchList.filter((item) => !(isObject(item) && own(item, PATCH_DIRECTIVE) !== undefined));
  let p = 0;
  for (let o = 0; o < order.length && p < items.length; o++) {
    if (identity(items[p]) === identity(order[o])) p++;
  }
  if (p < items.length) {
    throw badRequest(
      `The order in patch list: ${JSON.stringify(patchList)} doesn't match ${SET_ELEMENT_ORDER} list: ${JSON.stringify(order)}`,
    );
  }
}

function deleteFromPrimitiveList(original: JsonObject, listKey: string, values: unknown): void {
  if (!Array.isArray(values)) throw badRequest(ERR_PRIMITIVE_LIST);
  const current = own(original, listKey);
  if (Array.isArray(current)) {
    put(
      original,
      listKey,
      current.filter((item) => !values.includes(item)),
    );
  }
}

// -----------------------------------------------------------------------------------------------------------
// Field sets (structured-merge-diff `fieldpath`) and the FieldsV1 encoding
// -----------------------------------------------------------------------------------------------------------

/**
 * One serialized path element as FieldsV1 writes it: `f:<field>`, `k:<json key>`, `v:<json value>`, `i:<n>`.
 */
type PathElement = string;
type FieldPath = readonly PathElement[];
/** Paths by their JSON form, so set operations are map look-ups. */
type FieldSet = ReadonlyMap<string, FieldPath>;

const pathId = (path: FieldPath): string => JSON.stringify(path);

function union(...sets: FieldSet[]): Map<string, FieldPath> {
  const out = new Map<string, FieldPath>();
  for (const set of sets) for (const [id, path] of set) out.set(id, path);
  return out;
}

function difference(a: FieldSet, b: FieldSet): Map<string, FieldPath> {
  return new Map([...a].filter(([id]) => !b.has(id)));
}

function intersection(a: FieldSet, b: FieldSet): Map<string, FieldPath> {
  return new Map([...a].filter(([id]) => b.has(id)));
}

/** apimachinery `stripmeta.go`: fields no manager ever owns. */
const UNOWNED_TOP_LEVEL = new Set(["apiVersion", "kind"]);
const UNOWNED_METADATA = new Set([
  "name",
  "namespace",
  "creationTimestamp",
  "selfLink",
  "uid",
  "clusterName",
  "generation",
  "managedFields",
  "resourceVersion",
]);

/** SSA tracks list items by key only where kube's own list key is the single field the merge table names. */
const SSA_LIST_KEYS = new Set(["name", "type", "uid"]);

type ListShape = { readonly keyedBy: string } | "set" | "atomic";

function ssaListShape(kind: string, path: string): ListShape {
  const rule = listRule(kind, path);
  if (rule === undefined) return "atomic";
  if (rule.mergeKey === undefined) return "set";
  return SSA_LIST_KEYS.has(rule.mergeKey) ? { keyedBy: rule.mergeKey } : "atomic";
}

interface FieldContext {
  readonly kind: string;
  /**
   * Top-level fields the endpoint resets (e.g. `status` on the main resource): never owned, never compared.
   */
  readonly ignored: ReadonlySet<string>;
  /**
   * A CRD's structural schema, when known: it tells declared fields from map entries (an applied map entry is a
   * member itself, FieldsV1's `"."`) and makes `x-kubernetes-map-type: atomic` maps leaves that apply replaces.
   */
  readonly schema?: Schema;
}

/** The schema of `key` within `node`, and whether `node` declares `key` as a field rather than a map entry. */
function childSchema(node: Schema | undefined, key: string): { node: Schema | undefined; declared: boolean } {
  if (node === undefined) return { node: undefined, declared: false };
  if (node.properties !== undefined && Object.hasOwn(node.properties, key)) {
    return { node: node.properties[key], declared: true };
  }
  const values = node.additionalProperties;
  return { node: values === undefined || typeof values === "boolean" ? undefined : values, declared: false };
}

/** The schema of a top-level key (`metadata` is ObjectMeta whatever the CRD says). */
function rootChild(ctx: FieldContext, key: string): { node: Schema | undefined; declared: boolean } {
  if (key === "metadata") return { node: OBJECT_META_SCHEMA, declared: true };
  return childSchema(ctx.schema, key);
}

const isAtomicMap = (node: Schema | undefined): boolean => node?.["x-kubernetes-map-type"] === "atomic";

const isMetadataPath = (path: FieldPath): boolean => path.length === 1 && path[0] === "f:metadata";

function isUnowned(parent: FieldPath, key: string, ctx: FieldContext): boolean {
  if (parent.length === 0) return UNOWNED_TOP_LEVEL.has(key) || ctx.ignored.has(key);
  return isMetadataPath(parent) && UNOWNED_METADATA.has(key);
}

const keyElement = (field: string, value: unknown): PathElement => `k:${JSON.stringify({ [field]: value })}`;
const valueElement = (value: unknown): PathElement => `v:${JSON.stringify(value)}`;

/**
 * The leaf paths of an object (structured-merge-diff `ToFieldSet`): scalars, nulls, empty maps and atomic
 * lists are leaves; keyed list items are members themselves and carry their fields; set items are `v:`
 * members. When `containers` is given it also collects the non-empty maps and merged lists, which a
 * comparison reports as added or removed but an applied configuration never owns.
 */
function fieldSetOf(
  obj: JsonObject,
  ctx: FieldContext,
  containers?: Map<string, FieldPath>,
): Map<string, FieldPath> {
  const out = new Map<string, FieldPath>();
  const schemaMode = ctx.schema !== undefined;
  const add = (path: FieldPath): void => {
    if (!isMetadataPath(path)) out.set(pathId(path), path);
  };
  const addContainer = (path: FieldPath): void => {
    if (path.length > 0 && !isMetadataPath(path)) containers?.set(pathId(path), path);
  };
  const visitObject = (
    value: JsonObject,
    path: FieldPath,
    schemaPath: string,
    node: Schema | undefined,
  ): void => {
    for (const [key, child] of Object.entries(value)) {
      if (isUnowned(path, key, ctx)) continue;
      const { node: childNode, declared } = path.length === 0 ? rootChild(ctx, key) : childSchema(node, key);
      visitValue(
        child,
        [...path, `f:${key}`],
        schemaPath === "" ? key : `${schemaPath}.${key}`,
        childNode,
        schemaMode && !declared,
      );
    }
  };
  const visitValue = (
    value: unknown,
    path: FieldPath,
    schemaPath: string,
    node: Schema | undefined,
    entry: boolean,
  ): void => {
    if (isObject(value)) {
      if (Object.keys(value).length === 0 || (schemaMode && isAtomicMap(node))) {
        add(path);
      } else {
        // A map entry is a member of an applied set in its own right (structured-merge-diff `visitMapItems`).
        if (entry && containers === undefined) add(path);
        addContainer(path);
        visitObject(value, path, schemaPath, node);
      }
      return;
    }
    if (!Array.isArray(value)) {
      add(path);
      return;
    }
    const shape = ssaListShape(ctx.kind, schemaPath);
    if (
      typeof shape === "object" &&
      value.every((item) => isObject(item) && own(item, shape.keyedBy) !== undefined)
    ) {
      if (value.length > 0) addContainer(path);
      for (const item of value as JsonObject[]) {
        const itemPath = [...path, keyElement(shape.keyedBy, own(item, shape.keyedBy))];
        add(itemPath);
        visitObject(item, itemPath, `${schemaPath}[]`, node?.items);
      }
    } else if (shape === "set" && value.every(isScalar)) {
      if (value.length > 0) addContainer(path);
      for (const item of value) add([...path, valueElement(item)]);
    } else {
      add(path);
    }
  };
  visitObject(obj, [], "", ctx.schema);
  return out;
}

function parseElementBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function matchesKey(item: unknown, key: JsonObject): boolean {
  return (
    isObject(item) &&
    Object.entries(key).every(([field, value]) => isDeepStrictEqual(own(item, field), value))
  );
}

function findItem(list: readonly unknown[], element: PathElement): number {
  const body = parseElementBody(element.slice(2));
  if (element.startsWith("k:")) return isObject(body) ? list.findIndex((item) => matchesKey(item, body)) : -1;
  if (element.startsWith("v:")) return list.findIndex((item) => isDeepStrictEqual(item, body));
  return -1;
}

function step(node: unknown, element: PathElement): unknown {
  if (element.startsWith("f:")) return isObject(node) ? own(node, element.slice(2)) : undefined;
  if (!Array.isArray(node)) return undefined;
  const index = findItem(node, element);
  return index < 0 ? undefined : node[index];
}

function valueAt(root: unknown, path: FieldPath): unknown {
  let node = root;
  for (const element of path) {
    node = step(node, element);
    if (node === undefined) return undefined;
  }
  return node;
}

/** Removes the value at `path` from `root`, which the caller owns. */
function removeAt(root: JsonObject, path: FieldPath): void {
  const last = path.at(-1);
  if (last === undefined) return;
  const parent = valueAt(root, path.slice(0, -1));
  if (last.startsWith("f:")) {
    if (isObject(parent)) remove(parent, last.slice(2));
  } else if (Array.isArray(parent)) {
    const index = findItem(parent, last);
    if (index >= 0) parent.splice(index, 1);
  }
}

const isListItem = (element: PathElement | undefined): boolean =>
  element !== undefined && (element.startsWith("k:") || element.startsWith("v:"));

/**
 * What changed between two objects, as field sets (structured-merge-diff `Compare`): leaves added or
 * modified, and maps or lists that appeared, are `changed`; whatever disappeared is `removed`.
 */
function compareObjects(
  before: JsonObject,
  after: JsonObject,
  ctx: FieldContext,
): { changed: Map<string, FieldPath>; removed: Map<string, FieldPath> } {
  const oldContainers = new Map<string, FieldPath>();
  const newContainers = new Map<string, FieldPath>();
  const oldLeaves = fieldSetOf(before, ctx, oldContainers);
  const newLeaves = fieldSetOf(after, ctx, newContainers);
  const oldPaths = union(oldLeaves, oldContainers);
  const newPaths = union(newLeaves, newContainers);
  const changed = new Map<string, FieldPath>();
  for (const [id, path] of newPaths) {
    const added = !oldPaths.has(id);
    const modified =
      !added &&
      newLeaves.has(id) &&
      oldLeaves.has(id) &&
      !isListItem(path.at(-1)) &&
      !isDeepStrictEqual(valueAt(before, path), valueAt(after, path));
    if (added || modified) changed.set(id, path);
  }
  return { changed, removed: difference(oldPaths, newPaths) };
}

interface TrieNode {
  member: boolean;
  readonly children: Map<PathElement, TrieNode>;
}

/**
 * FieldsV1: a tree of path elements; leaves are `{}`, and `".": {}` marks a member that also has children.
 */
function toFieldsV1(fields: FieldSet): JsonObject {
  const root: TrieNode = { member: false, children: new Map() };
  for (const path of fields.values()) {
    let node = root;
    for (const element of path) {
      let next = node.children.get(element);
      if (next === undefined) {
        next = { member: false, children: new Map() };
        node.children.set(element, next);
      }
      node = next;
    }
    node.member = true;
  }
  const encode = (node: TrieNode): JsonObject => {
    const out: JsonObject = {};
    if (node.member && node.children.size > 0) put(out, ".", {});
    const sorted = [...node.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [element, child] of sorted) put(out, element, encode(child));
    return out;
  };
  return encode(root);
}

function fromFieldsV1(fields: JsonObject, prefix: FieldPath = [], out = new Map<string, FieldPath>()) {
  for (const [key, value] of Object.entries(fields)) {
    if (key === ".") {
      if (prefix.length > 0) out.set(pathId(prefix), prefix);
    } else if (isObject(value)) {
      const path = [...prefix, key];
      if (Object.keys(value).length === 0) out.set(pathId(path), path);
      else fromFieldsV1(value, path, out);
    }
  }
  return out;
}

function scalarText(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * A path as structured-merge-diff prints it in conflicts: `.spec.replicas`,
 * `.status.conditions[type="Ready"]`.
 */
function pathText(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      if (element.startsWith("f:")) return `.${body}`;
      if (element.startsWith("i:")) return `[${body}]`;
      const parsed = parseElementBody(body);
      if (element.startsWith("v:")) return `[=${scalarText(parsed)}]`;
      if (isObject(parsed)) {
        return `[${Object.entries(parsed)
          .map(([field, value]) => `${field}=${scalarText(value)}`)
          .join(",")}]`;
      }
      return element;
    })
    .join("");
}

// -----------------------------------------------------------------------------------------------------------
// managedFields
// -----------------------------------------------------------------------------------------------------------

type ManagerOperation = "Apply" | "Update";

interface ManagedEntry {
  readonly manager: string;
  readonly operation: ManagerOperation;
  readonly apiVersion: string;
  readonly time?: string;
  readonly subresource?: string;
  readonly fields: FieldSet;
}

type ManagerRef = Pick<ManagedEntry, "manager" | "operation" | "apiVersion" | "subresource">;

/**
 * apimachinery `BuildManagerIdentifier`: appliers are one manager whatever version they apply; updaters are
 * one per API version; a subresource makes a separate manager.
 */
function managerIdentity(ref: ManagerRef): string {
  return JSON.stringify({
    manager: ref.manager,
    operation: ref.operation,
    ...(ref.operation === "Update" && ref.apiVersion !== "" ? { apiVersion: ref.apiVersion } : {}),
    ...(ref.subresource ? { subresource: ref.subresource } : {}),
  });
}

/** apimachinery `conflict.go` `printManager`. */
function managerText(ref: ManagerRef): string {
  const name = JSON.stringify(ref.manager);
  const withSubresource = ref.subresource
    ? `${name} with subresource ${JSON.stringify(ref.subresource)}`
    : name;
  return ref.operation === "Update" ? `${withSubresource} using ${ref.apiVersion}` : withSubresource;
}

function managedFieldsOf(obj: JsonObject | undefined): unknown {
  const metadata = obj === undefined ? undefined : own(obj, "metadata");
  return isObject(metadata) ? own(metadata, "managedFields") : undefined;
}

function decodeEntry(raw: unknown): ManagedEntry | undefined {
  if (!isObject(raw)) return undefined;
  const { manager, operation, apiVersion, time, subresource, fieldsV1 } = raw;
  if (typeof manager !== "string" || (operation !== "Apply" && operation !== "Update")) return undefined;
  return {
    manager,
    operation,
    apiVersion: typeof apiVersion === "string" ? apiVersion : "",
    ...(typeof time === "string" ? { time } : {}),
    ...(typeof subresource === "string" && subresource !== "" ? { subresource } : {}),
    fields: isObject(fieldsV1) ? fromFieldsV1(fieldsV1) : new Map(),
  };
}

/**
 * Entries of an object's `metadata.managedFields`, malformed ones skipped, duplicates of one manager merged.
 */
function decodeManagedFields(obj: JsonObject | undefined): ManagedEntry[] {
  const raw = managedFieldsOf(obj);
  if (!Array.isArray(raw)) return [];
  const byManager = new Map<string, ManagedEntry>();
  for (const item of raw) {
    const entry = decodeEntry(item);
    if (entry === undefined) continue;
    const id = managerIdentity(entry);
    const seen = byManager.get(id);
    byManager.set(id, seen === undefined ? entry : { ...entry, fields: union(seen.fields, entry.fields) });
  }
  return [...byManager.values()];
}

const timeSeconds = (time: string | undefined): number =>
  time === undefined ? 0 : Math.floor((Date.parse(time) || 0) / 1000);

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * apimachinery `sortEncodedManagedFields`: by operation, time (seconds), manager, apiVersion, subresource.
 */
function compareEntries(a: ManagedEntry, b: ManagedEntry): number {
  return (
    compareText(a.operation, b.operation) ||
    timeSeconds(a.time) - timeSeconds(b.time) ||
    compareText(a.manager, b.manager) ||
    compareText(a.apiVersion, b.apiVersion) ||
    compareText(a.subresource ?? "", b.subresource ?? "")
  );
}

function encodeManagedFields(entries: readonly ManagedEntry[]): JsonObject[] {
  return entries
    .filter((entry) => entry.fields.size > 0)
    .sort(compareEntries)
    .map((entry) => ({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      ...(entry.time === undefined ? {} : { time: entry.time }),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(entry.fields),
      ...(entry.subresource === undefined ? {} : { subresource: entry.subresource }),
    }));
}

/** Sets `metadata.managedFields` on `obj` (owned), or removes it when no manager owns anything. */
function withManagedFields(obj: JsonObject, entries: readonly ManagedEntry[]): JsonObject {
  const encoded = encodeManagedFields(entries);
  const metadata = own(obj, "metadata");
  if (isObject(metadata)) {
    if (encoded.length > 0) put(metadata, "managedFields", encoded);
    else remove(metadata, "managedFields");
  } else if (encoded.length > 0) {
    put(obj, "metadata", { managedFields: encoded });
  }
  return obj;
}

/**
 * `obj` without `metadata.managedFields`: a copy of the top level and of `metadata` only. Callers mutate nothing
 * deeper (SSA clones before merging), and a deep copy per write cost more than the rest of the write.
 */
function withoutManagedFields(obj: JsonObject): JsonObject {
  const copy: JsonObject = { ...obj };
  const metadata = own(copy, "metadata");
  if (isObject(metadata)) {
    const { managedFields: _dropped, ...rest } = metadata;
    put(copy, "metadata", rest);
  }
  return copy;
}

const kindOf = (...objects: (JsonObject | undefined)[]): string => {
  for (const obj of objects) {
    const kind = obj === undefined ? undefined : own(obj, "kind");
    if (typeof kind === "string") return kind;
  }
  return "";
};

const fieldContext = (kind: string, ignored: readonly string[] = [], schema?: Schema): FieldContext => ({
  kind,
  ignored: new Set(ignored),
  ...(schema === undefined ? {} : { schema }),
});

// -----------------------------------------------------------------------------------------------------------
// Server-side apply
// -----------------------------------------------------------------------------------------------------------

export interface ApplyOptions {
  /** The `fieldManager` query parameter; the server passes "" when it is missing. */
  readonly manager: string;
  readonly force: boolean;
  /** `group/version` of the endpoint; the applied object must name the same. */
  readonly apiVersion: string;
  /** RFC 3339 time recorded on the applier's managedFields entry when the object changes. */
  readonly now: string;
  readonly subresource?: string;
  /** Top-level fields the endpoint resets (`status` on the main resource, `spec` on /status): never owned. */
  readonly ignoredFields?: readonly string[];
  /** The CRD's structural schema at `apiVersion` (map entries vs fields, atomic maps); absent for built-ins. */
  readonly schema?: Schema;
}

/** apimachinery `FieldManagerMaxLength`. */
const FIELD_MANAGER_MAX_LENGTH = 128;

function validateFieldManager(manager: string): void {
  const cause = (reason: string, message: string): StatusCause => ({
    reason,
    message,
    field: "fieldManager",
  });
  if (manager === "") {
    throw invalid("meta.k8s.io", "PatchOptions", "", [
      cause("FieldValueRequired", "Required value: is required for apply patch"),
    ]);
  }
  if (new TextEncoder().encode(manager).length > FIELD_MANAGER_MAX_LENGTH) {
    throw invalid("meta.k8s.io", "PatchOptions", "", [
      cause("FieldValueTooLong", `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes`),
    ]);
  }
}

/** apimachinery `structuredmerge.go` `Apply` preconditions. */
function validateAppliedConfig(applied: JsonObject, apiVersion: string): void {
  const managedFields = managedFieldsOf(applied);
  if (managedFields !== undefined && managedFields !== null) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const version = own(applied, "apiVersion");
  if (version !== apiVersion) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${typeof version === "string" ? version : ""}, expected: ${apiVersion}`,
    );
  }
}

/**
 * structured-merge-diff `Merge`: applied maps merge into live ones, keyed and set lists merge item-wise,
 * anything else is replaced. An applied `null` clears the field. Both arguments are owned and may be reused.
 */
function ssaMerge(
  live: unknown,
  config: unknown,
  path: string,
  ctx: FieldContext,
  node: Schema | undefined = ctx.schema,
): unknown {
  const kind = ctx.kind;
  if (isObject(config)) {
    // An atomic map is one value: the applied one replaces the live one.
    if (ctx.schema !== undefined && path !== "" && isAtomicMap(node)) return config;
    const out = isObject(live) ? live : {};
    for (const [key, value] of Object.entries(config)) {
      if (value === null) remove(out, key);
      else {
        const child = path === "" ? rootChild(ctx, key).node : childSchema(node, key).node;
        put(out, key, ssaMerge(own(out, key), value, path === "" ? key : `${path}.${key}`, ctx, child));
      }
    }
    return out;
  }
  if (!Array.isArray(config) || !Array.isArray(live)) return config;
  const shape = ssaListShape(kind, path);
  if (typeof shape === "object") {
    const keyOf = (item: unknown): unknown => (isObject(item) ? own(item, shape.keyedBy) : undefined);
    if ([...live, ...config].every((item) => keyOf(item) !== undefined)) {
      const out = [...live];
      for (const item of config) {
        const index = out.findIndex((existing) => isDeepStrictEqual(keyOf(existing), keyOf(item)));
        out[index < 0 ? out.length : index] = ssaMerge(
          index < 0 ? undefined : out[index],
          item,
          `${path}[]`,
          ctx,
          node?.items,
        );
      }
      return out;
    }
  }
  if (shape === "set" && [...live, ...config].every(isScalar)) {
    return [...live, ...config.filter((item, i) => !live.includes(item) && config.indexOf(item) === i)];
  }
  return config;
}

/**
 * True for the key field of a keyed list item (`k:{"type":"Ready"}` → `f:type`): it lives as long as the
 * item.
 */
function isItemKeyField(path: FieldPath): boolean {
  const last = path.at(-1);
  const parent = path.at(-2);
  if (last === undefined || parent === undefined || !last.startsWith("f:") || !parent.startsWith("k:")) {
    return false;
  }
  const key = parseElementBody(parent.slice(2));
  return isObject(key) && Object.hasOwn(key, last.slice(2));
}

/** An empty map or list, or a keyed list item holding nothing but its key. */
function isHollow(value: unknown, element: PathElement | undefined): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (!isObject(value)) return false;
  const key = element?.startsWith("k:") ? parseElementBody(element.slice(2)) : undefined;
  return Object.keys(value).every((field) => isObject(key) && Object.hasOwn(key, field));
}

/**
 * Removes what the applier applied last time but neither applies now nor anyone else owns anything under,
 * then each map, list or list item left hollow by that and owned by nobody (structured-merge-diff `prune`).
 */
function prune(merged: JsonObject, last: FieldSet, owned: FieldSet): void {
  const ownedPaths = [...owned.values()];
  const ownsWithin = (prefix: FieldPath): boolean =>
    ownedPaths.some(
      (path) => path.length >= prefix.length && prefix.every((element, i) => path[i] === element),
    );
  const doomed = [...last.values()].filter((path) => !owned.has(pathId(path)));
  for (const path of doomed.sort((a, b) => b.length - a.length)) {
    if (!ownsWithin(path) && !isItemKeyField(path)) removeAt(merged, path);
    for (let depth = path.length - 1; depth >= 1; depth--) {
      const ancestor = path.slice(0, depth);
      if (isMetadataPath(ancestor) || ownsWithin(ancestor)) break;
      if (!isHollow(valueAt(merged, ancestor), ancestor.at(-1))) break;
      removeAt(merged, ancestor);
    }
  }
}

interface Conflict {
  readonly manager: ManagedEntry;
  readonly paths: readonly FieldPath[];
}

/** apimachinery `conflict.go` `NewConflictError`: one cause per path, message grouped by sorted manager. */
function applyConflictError(conflicts: readonly Conflict[]): ApiError {
  const sorted = [...conflicts].sort((a, b) =>
    compareText(managerIdentity(a.manager), managerIdentity(b.manager)),
  );
  const flat = sorted.flatMap(({ manager, paths }) => paths.map((path) => ({ manager, path })));
  const causes: StatusCause[] = flat.map(({ manager, path }) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${managerText(manager)}`,
    field: pathText(path),
  }));
  const only = flat.length === 1 ? flat[0] : undefined;
  const message =
    only !== undefined
      ? `Apply failed with 1 conflict: conflict with ${managerText(only.manager)}: ${pathText(only.path)}`
      : `Apply failed with ${flat.length} conflicts: ${sorted
          .flatMap(({ manager, paths }) => [
            `conflicts with ${managerText(manager)}:`,
            ...paths.map((path) => `- ${pathText(path)}`),
          ])
          .join("\n")}`;
  return new ApiError(409, "Conflict", message, { causes });
}

/**
 * Server-side apply (apiserver `applyPatcher`, structured-merge-diff `Updater.Apply`), the practical minimum
 * of fidelity §3.6: creates when `live` is undefined, otherwise merges the applied configuration into `live`;
 * removes fields this manager applied before and no longer applies (unless another manager owns them); a
 * field another manager owns whose value would change → 409 Conflict with one `FieldManagerConflict` cause
 * per field, unless `force` takes it over. Records the applier's fields in `metadata.managedFields`
 * (FieldsV1). Lists are atomic except the keyed and set lists of the merge table whose key kube's SSA shares
 * (`name`, `type`, `uid`, finalizers).
 */
export function applyServerSideApply(
  live: Record<string, unknown> | undefined,
  applied: Record<string, unknown>,
  opts: ApplyOptions,
): { object: Record<string, unknown> } {
  validateFieldManager(opts.manager);
  validateAppliedConfig(applied, opts.apiVersion);
  const ctx = fieldContext(kindOf(applied, live), opts.ignoredFields, opts.schema);
  const before = live === undefined ? {} : withoutManagedFields(live);
  const self: ManagerRef = {
    manager: opts.manager,
    operation: "Apply",
    apiVersion: opts.apiVersion,
    ...(opts.subresource ? { subresource: opts.subresource } : {}),
  };
  const selfId = managerIdentity(self);
  const managers = decodeManagedFields(live);
  const previous = managers.find((entry) => managerIdentity(entry) === selfId);
  const others = managers.filter((entry) => managerIdentity(entry) !== selfId);

  const config = structuredClone(applied);
  const appliedFields = fieldSetOf(config, ctx);
  const merged = ssaMerge(structuredClone(before), config, "", ctx) as JsonObject;
  prune(merged, previous?.fields ?? new Map(), union(appliedFields, ...others.map((entry) => entry.fields)));

  const diff = compareObjects(before, merged, ctx);
  // An applied null removes the field, which still counts as changing it.
  const changed = union(diff.changed, intersection(diff.removed, appliedFields));
  const conflicts = others
    .map((manager) => ({ manager, paths: [...intersection(manager.fields, changed).values()] }))
    .filter((conflict) => conflict.paths.length > 0);
  if (conflicts.length > 0 && !opts.force) {
    // kubectl's first server-side apply over a client-side one may take the fields its last-applied
    // configuration still agrees with (apimachinery `lastappliedmanager.go`; only for the manager "kubectl").
    const allowed = opts.manager === "kubectl" ? lastAppliedFields(before, opts.apiVersion, ctx) : undefined;
    const remaining = conflicts
      .map((conflict) => ({
        ...conflict,
        paths: conflict.paths.filter((path) => allowed === undefined || !allowed.has(pathId(path))),
      }))
      .filter((conflict) => conflict.paths.length > 0);
    if (remaining.length > 0) throw applyConflictError(remaining);
  }

  const lost = union(changed, diff.removed);
  const time = isDeepStrictEqual(before, merged) ? previous?.time : opts.now;
  const entries: ManagedEntry[] = [
    ...others.map((entry) => ({ ...entry, fields: difference(entry.fields, lost) })),
    { ...self, ...(time === undefined ? {} : { time }), fields: appliedFields },
  ];
  return { object: withManagedFields(merged, entries) };
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The fields of `live`'s last-applied configuration (kubectl client-side apply's annotation) that still hold
 * the values the live object has: the conflicts a CSA → SSA upgrade may override. Undefined without a usable
 * annotation at `apiVersion`.
 */
function lastAppliedFields(live: JsonObject, apiVersion: string, ctx: FieldContext): Set<string> | undefined {
  const metadata = own(live, "metadata");
  const annotations = isObject(metadata) ? own(metadata, "annotations") : undefined;
  const text = isObject(annotations) ? own(annotations, LAST_APPLIED) : undefined;
  if (typeof text !== "string" || text === "") return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(lastApplied) || own(lastApplied, "apiVersion") !== apiVersion) return undefined;
  const allowed = new Set<string>();
  for (const [id, path] of fieldSetOf(lastApplied, ctx)) {
    const was = valueAt(lastApplied, path);
    const is = valueAt(live, path);
    if (is === undefined) continue;
    if ((isObject(was) && isObject(is)) || isDeepStrictEqual(was, is)) allowed.add(id);
  }
  return allowed;
}

/** The managers a non-apply write starts from (apimachinery `decodeLiveOrNew`). */
function managersBeforeUpdate(
  before: JsonObject | undefined,
  after: JsonObject,
  isSubresource: boolean,
): ManagedEntry[] {
  // A subresource write cannot edit managedFields; elsewhere `[]` or `[{}]` resets them, and a request that
  // carries none (or garbage) keeps the live ones.
  if (isSubresource) return decodeManagedFields(before);
  const requested = managedFieldsOf(after);
  if (
    Array.isArray(requested) &&
    (requested.length === 0 ||
      (requested.length === 1 && isObject(requested[0]) && Object.keys(requested[0]).length === 0))
  ) {
    return [];
  }
  const fromRequest = decodeManagedFields(after);
  return fromRequest.length > 0 ? fromRequest : decodeManagedFields(before);
}

/**
 * managedFields for a non-apply write (create, update, json/merge/strategic patch, subresource writes):
 * fields that changed become owned by `manager` with operation Update at `apiVersion` (time = `now`), and
 * every other manager loses the fields that changed or were removed. Returns a copy of `after` carrying the
 * new managedFields. The server picks `manager`: the `fieldManager` parameter, else the User-Agent's product
 * token (kube `managerOrUserAgent`).
 */
export function recordUpdateManager(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  manager: string,
  operation: "Update",
  apiVersion: string,
  now: string,
  subresource?: string,
  schema?: Schema,
): Record<string, unknown> {
  const ctx = fieldContext(kindOf(after, before), [], schema);
  const managers = managersBeforeUpdate(before, after, subresource !== undefined);
  const next = withoutManagedFields(after);
  const diff = compareObjects(before === undefined ? {} : withoutManagedFields(before), next, ctx);
  const self: ManagerRef = { manager, operation, apiVersion, ...(subresource ? { subresource } : {}) };
  const selfId = managerIdentity(self);
  const lost = union(diff.changed, diff.removed);
  const kept = managers.map((entry) => ({ ...entry, fields: difference(entry.fields, lost) }));
  if (diff.changed.size === 0) return withManagedFields(next, kept);

  const previous = kept.find((entry) => managerIdentity(entry) === selfId);
  const entries: ManagedEntry[] = [
    ...kept.filter((entry) => managerIdentity(entry) !== selfId),
    { ...self, time: now, fields: union(previous?.fields ?? new Map(), diff.changed) },
  ];
  return withManagedFields(next, entries);
}

// -----------------------------------------------------------------------------------------------------------
// The scale subresource's managedFields (apimachinery `managedfields/scalehandler.go`)
// -----------------------------------------------------------------------------------------------------------

const SCALE_API_VERSION = "autoscaling/v1";
const SCALE_REPLICAS: FieldPath = ["f:spec", "f:replicas"];

/** `.spec.replicas` as a field path. */
function dottedPath(path: string): FieldPath {
  return path
    .split(".")
    .filter(Boolean)
    .map((part) => `f:${part}`);
}

/**
 * The parent's managers as the Scale sees them (`ToSubresource`): those owning the replicas path, with only
 * `.spec.replicas` at autoscaling/v1.
 */
export function scaleManagersView(parent: Record<string, unknown>, specReplicasPath: string): JsonObject[] {
  const replicas = pathId(dottedPath(specReplicasPath));
  const view = decodeManagedFields(parent)
    .filter((entry) => entry.fields.has(replicas))
    .map((entry) => ({
      ...entry,
      apiVersion: SCALE_API_VERSION,
      fields: new Map([[pathId(SCALE_REPLICAS), SCALE_REPLICAS]]),
    }));
  return encodeManagedFields(view);
}

/**
 * The parent's managedFields after a write through /scale (`ToParent`): managers the Scale no longer credits
 * with replicas lose it, managers new to it own the parent's replicas path at `parentApiVersion` (without a time,
 * as kube records them).
 */
export function scaleManagersToParent(
  parent: Record<string, unknown>,
  scale: Record<string, unknown>,
  specReplicasPath: string,
  parentApiVersion: string,
): JsonObject[] {
  const path = dottedPath(specReplicasPath);
  const replicas = pathId(path);
  const scaleEntries = new Map(decodeManagedFields(scale).map((entry) => [managerIdentity(entry), entry]));
  const out: ManagedEntry[] = [];
  for (const entry of decodeManagedFields(parent)) {
    if (!entry.fields.has(replicas)) {
      out.push(entry);
      continue;
    }
    const id = managerIdentity(entry);
    if (scaleEntries.has(id)) {
      out.push(entry);
      scaleEntries.delete(id);
      continue;
    }
    const rest = new Map(entry.fields);
    rest.delete(replicas);
    if (rest.size > 0) out.push({ ...entry, fields: rest });
  }
  for (const entry of scaleEntries.values()) {
    if (!entry.fields.has(pathId(SCALE_REPLICAS))) continue;
    const { time: _t, ...rest } = entry;
    out.push({ ...rest, apiVersion: parentApiVersion, fields: new Map([[replicas, path]]) });
  }
  return encodeManagedFields(out);
}
