/**
 * The HTTP face of the local cluster (hono): URL parsing into (group, version, namespace, resource, name,
 * subresource), verbs, content negotiation (JSON always; Tables for `as=Table`; protobuf and YAML request bodies),
 * discovery and OpenAPI routes, fault injection, and kube-apiserver's Status errors. Semantics live in the
 * registry; this module only translates HTTP to registry calls and back.
 */
import type { HttpBindings } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { logger } from "../../shared/log";
import { type ApiAuth, refusal } from "./auth";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  legacyApiVersions,
  legacyGroupDocument,
  legacyGroupList,
  legacyResourceList,
  negotiateDiscovery,
  versionInfo,
} from "./discovery";
import {
  ApiError,
  badRequest,
  conflict,
  forbiddenField,
  internalError,
  invalidOptions,
  methodNotAllowed,
  notFound,
  notSupported,
  requestEntityTooLarge,
  type StatusCause,
  unknownResource,
} from "./errors";
import { type FaultInjector, faultConfigSchema, type Verb } from "./faults";
import { type FieldEvent, fieldValidationOf, isFieldValidation, scanFields } from "./fieldvalidation";
import { type MetricsApiOptions, mountMetricsApi } from "./metrics-api";
import { OPENAPI_V2_PROTOBUF, openApiV3Document, openApiV3Root } from "./openapi";
import { decodeProtobufBody, isProtobufContentType } from "./protobuf";
import {
  type DeleteOptions,
  PATCH_APPLY,
  PATCH_JSON,
  PATCH_MERGE,
  PATCH_STRATEGIC,
  type Registry,
  type WriteOptions,
} from "./registry";
import { findResource, groupVersion, RESOURCES, type ResourceDef } from "./resources";
import type { Entry, KObject } from "./store";
import { parseIncludeObject, tableFor, wantsTable } from "./tables";
import { openWatch } from "./watch";
import type { AdmittedWrites } from "./webhooks";

const log = logger("apiserver");
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const JSON_TYPE = "application/json";
const YAML_TYPE = "application/yaml";
/** How long a list waits for a resourceVersion the store has not reached (the watch cache's `blockTimeout`). */
const FRESHNESS_TIMEOUT_MS = 3000;
const DEPRECATED_VERSIONS: Record<string, string> = {
  "kubevirt.io/v1alpha3": "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release.",
};

export interface ApiAppContext {
  readonly registry: Registry;
  /** The registry's writes with validating admission webhooks called before storage. */
  readonly writes: AdmittedWrites;
  readonly faults: FaultInjector;
  /** How clients reach this server (for `/api`'s serverAddressByClientCIDRs). */
  serverAddress: string;
  /** The resource metrics API's load model (the simulator's default CPU load). */
  readonly metrics?: MetricsApiOptions;
  /** The Host check and bearer token (./auth.ts); undefined: loopback Host names only, no token. */
  readonly auth?: ApiAuth;
}

type Output = "json" | "yaml";
type Env = { Bindings: HttpBindings; Variables: { output: Output } };

interface Target {
  readonly def: ResourceDef;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

const deleteOptionsSchema = z.looseObject({
  propagationPolicy: z.string().optional(),
  orphanDependents: z.boolean().optional(),
  gracePeriodSeconds: z.number().int().optional(),
  dryRun: z.array(z.string()).optional(),
  preconditions: z
    .looseObject({ uid: z.string().optional(), resourceVersion: z.string().optional() })
    .optional(),
});

/** Builds the hono app serving the Kubernetes API for `ctx.registry`. */
export function createApiApp(ctx: ApiAppContext): Hono<Env> {
  const app = new Hono<Env>();
  const { registry } = ctx;

  app.onError((err, c) => renderError(c, err));
  app.notFound((c) => renderError(c, unknownResource()));
  app.use(async (c, next) => {
    const refused = refusal(
      { host: c.req.header("host"), authorization: c.req.header("authorization"), path: c.req.path },
      ctx.auth ?? {},
    );
    if (refused) return renderError(c, refused);
    await next();
    return undefined;
  });

  app.get("/version", (c) => c.json(versionInfo()));
  for (const path of ["/healthz", "/livez", "/readyz"]) {
    app.get(path, (c) => c.body("ok", 200, { "Content-Type": "text/plain; charset=utf-8" }));
  }

  app.get("/openapi/v2", (c) => c.body(null, 200, { "Content-Type": OPENAPI_V2_PROTOBUF }));
  app.get("/swagger-2.0.0.pb-v1", (c) => c.body(null, 200, { "Content-Type": OPENAPI_V2_PROTOBUF }));
  // kube-apiserver serves the v3 root with Go's sniffed content type.
  app.get("/openapi/v3", (c) =>
    c.body(JSON.stringify(openApiV3Root()), 200, { "Content-Type": "text/plain; charset=utf-8" }),
  );
  app.get("/openapi/v3/*", (c) => {
    const doc = openApiV3Document(c.req.path.slice("/openapi/v3/".length));
    return doc ? c.json(doc) : renderError(c, unknownResource());
  });

  app.get("/local/faults", (c) => c.json(ctx.faults.current()));
  app.put("/local/faults", async (c) => {
    const parsed = faultConfigSchema.safeParse(await readJson(c));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(
        `invalid fault configuration: ${issue?.path.join(".") || "body"}: ${issue?.message ?? ""}`,
      );
    }
    ctx.faults.configure(parsed.data);
    return c.json(parsed.data);
  });

  app.get("/api", (c) => discovery(c, true, ctx.serverAddress));
  app.get("/apis", (c) => discovery(c, false, ctx.serverAddress));
  mountMetricsApi(app, registry, ctx.metrics);
  app.all("/api/*", (c) => handleResource(c, registry, ctx.faults, ctx.writes));
  app.all("/apis/*", (c) => handleResource(c, registry, ctx.faults, ctx.writes));
  return app;
}

function discovery(c: Context<Env>, core: boolean, serverAddress: string): Response {
  const format = negotiateDiscovery(c.req.header("accept"));
  if (format === "legacy") return c.json(core ? legacyApiVersions(serverAddress) : legacyGroupList());
  return c.body(JSON.stringify(aggregatedDiscovery(core, format)), 200, {
    "Content-Type": aggregatedContentType(format),
    Vary: "Accept",
  });
}

/**
 * A path no handler is registered for at all (a namespaced resource's object without a namespace): Go's
 * `http.NotFound`, plain text.
 */
class NoRoute extends Error {}

/** The core group and the groups of the built-in kinds served here (their unknown paths get a Status 404). */
function isBuiltinGroup(group: string): boolean {
  return group === "" || RESOURCES.some((r) => r.builtin && r.group === group);
}

/** Splits `/api/v1/...` or `/apis/<g>/<v>/...` into a target; undefined for discovery documents. */
function parsePath(path: string): { group: string; version: string | undefined; rest: string[] } {
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (segments[0] === "api") return { group: "", version: segments[1], rest: segments.slice(2) };
  return { group: segments[1] ?? "", version: segments[2], rest: segments.slice(3) };
}

function resolveTarget(group: string, version: string, rest: string[]): Target {
  let namespace: string | undefined;
  let parts = rest;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const namespaced = findResource(group, version, rest[2] as string);
    if (namespaced?.namespaced) {
      namespace = rest[1];
      parts = rest.slice(2);
    }
  }
  const def = findResource(group, version, parts[0] as string);
  if (!def) throw isBuiltinGroup(group) ? unknownResource() : new NoRoute();
  // Below an object the CRD handler looks the object up first; go-restful has no such route.
  if (parts.length > 3)
    throw def.builtin ? unknownResource() : notFound(def.group, def.plural, parts[1] as string);
  if (namespace === undefined && def.namespaced && parts.length > 1) throw new NoRoute();
  return { def, version, namespace, name: parts[1], subresource: parts[2] };
}

async function handleResource(
  c: Context<Env>,
  registry: Registry,
  faults: FaultInjector,
  writes: AdmittedWrites,
): Promise<Response> {
  const { group, version, rest } = parsePath(c.req.path);
  // Paths of groups kube-apiserver does not build in fall through to apiextensions and then to Go's plain 404.
  const missing = isBuiltinGroup(group) ? unknownResource() : new NoRoute();
  if (version === undefined) {
    if (c.req.method !== "GET") throw methodNotAllowed();
    const doc = legacyGroupDocument(group);
    return doc ? c.json(doc) : renderError(c, missing);
  }
  if (rest.length === 0) {
    if (c.req.method !== "GET") throw methodNotAllowed();
    const doc = legacyResourceList(group, version);
    return doc ? c.json(doc) : renderError(c, missing);
  }
  const target = resolveTarget(group, version, rest);
  const watching = c.req.method === "GET" && target.name === undefined && queryBool(c, "watch") === true;
  c.set("output", negotiateOutput(c.req.header("accept"), watching));
  checkRoute(c.req.method, target);
  const verb = verbOf(c.req.method, target, watching);
  if (target.def.review && verb !== "create") throw methodNotAllowed();
  const injected = await injectFault(c, faults, verb, target);
  if (injected) return injected;
  const deprecated = DEPRECATED_VERSIONS[groupVersion(target.def.group, version)];
  if (deprecated) c.header("Warning", `299 - "${deprecated}"`);
  log.debug({ method: c.req.method, path: c.req.path, verb }, "request");

  switch (verb) {
    case "list":
      return list(c, registry, target);
    case "watch":
      return watch(c, registry, target);
    case "get":
      return get(c, registry, target);
    case "create":
      return create(c, writes, target);
    case "update":
      return update(c, writes, target);
    case "patch":
      return patch(c, writes, target);
    case "delete":
      return remove(c, writes, target);
    case "deletecollection":
      return removeCollection(c, writes, target);
  }
}

/**
 * A boolean query parameter as apimachinery converts it (`Convert_Slice_string_To_bool`): absent → undefined;
 * `0` or `false` in any letter case → false; anything else, the empty string included (`?watch`), → true. Python's
 * client sends `watch=True`.
 */
export function queryBool(c: Context<Env>, name: string): boolean | undefined {
  const value = c.req.query(name);
  if (value === undefined) return undefined;
  return !(value === "0" || value.toLowerCase() === "false");
}

const SUBRESOURCE_METHODS = new Set(["GET", "PUT", "PATCH"]);

/**
 * Routes kube-apiserver does not serve. Built-in kinds (go-restful routes): an unknown subresource is the generic
 * 404, a method the path has no route for the generic 405. CRDs (apiextensions' handler): an unknown or disabled
 * subresource is the parent's NotFound, a verb a subresource does not support is `<verb> is not supported on
 * resources of kind "<plural>.<group>"`, a POST to a named path is a create, and a PUT or PATCH of the collection
 * is 400 `name must be provided`.
 */
function checkRoute(method: string, target: Target): void {
  const { def, name, subresource } = target;
  if (subresource !== undefined) {
    const known =
      (subresource === "status" && def.statusSubresource) ||
      (subresource === "scale" && def.scale !== undefined) ||
      (subresource === "log" && def.kind === "Pod");
    if (!known) throw def.builtin ? unknownResource() : notFound(def.group, def.plural, name ?? "");
    if (subresource === "log" ? method === "GET" : SUBRESOURCE_METHODS.has(method)) return;
    if (def.builtin) throw methodNotAllowed();
    const verb = method === "POST" ? "create" : method.toLowerCase();
    throw new ApiError(
      405,
      "MethodNotAllowed",
      `${verb} is not supported on resources of kind "${def.plural}.${def.group}"`,
      { group: def.group, kind: def.plural },
    );
  }
  const collection = name === undefined;
  if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) throw methodNotAllowed();
  if (
    def.builtin &&
    ((method === "POST" && !collection) || ((method === "PUT" || method === "PATCH") && collection))
  ) {
    throw methodNotAllowed();
  }
  if (!def.builtin && (method === "PUT" || method === "PATCH") && collection)
    throw badRequest("name must be provided");
}

function verbOf(method: string, target: Target, watching: boolean): Verb {
  const collection = target.name === undefined;
  switch (method) {
    case "GET":
      if (collection) return watching ? "watch" : "list";
      return "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    default:
      return collection ? "deletecollection" : "delete";
  }
}

/**
 * The response encoding for an Accept header: the first acceptable clause by q, then order. JSON for
 * `application/json` (Tables too) and the wildcards; YAML for `application/yaml`, which kube-apiserver serves for
 * everything but watches. Protobuf is skipped (JSON stands in for it when offered alongside); an Accept
 * with nothing we can serve is 406.
 */
function negotiateOutput(accept: string | undefined, watching: boolean): Output {
  if (!accept || accept.trim() === "") return "json";
  const clauses = accept
    .split(",")
    .map((clause, index) => {
      const [type = "", ...params] = clause.split(";").map((p) => p.trim().toLowerCase());
      const q = params.find((p) => p.startsWith("q="));
      return { type, index, q: q === undefined ? 1 : Number(q.slice(2)) };
    })
    .filter((c) => c.q > 0 || Number.isNaN(c.q))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  let plain: Output | undefined;
  for (const { type } of clauses) {
    const output =
      type === JSON_TYPE || type === "*/*" || type === "application/*" || type === ""
        ? "json"
        : type === YAML_TYPE
          ? "yaml"
          : undefined;
    if (output === undefined) continue;
    // YAML has no stream serializer: a watch takes the next acceptable type.
    if (!watching || output === "json") return output;
    plain ??= output;
  }
  if (watching) {
    throw Object.assign(
      new ApiError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch",
      ),
      { output: plain ?? "json" },
    );
  }
  throw new ApiError(
    406,
    "NotAcceptable",
    "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
  );
}

/**
 * kube-apiserver encodes YAML as its JSON converted by sigs.k8s.io/yaml `JSONToYAML`: go-yaml v2, so keys sorted,
 * sequences not indented, and YAML 1.1 quoting (`"yes"`, `"on"`, timestamps). Long strings fold at a slightly
 * different column than go-yaml's.
 */
function toYaml(json: string): string {
  return stringifyYaml(JSON.parse(json), { version: "1.1", sortMapEntries: true, indentSeq: false });
}

/** Sends a JSON body (text or buffer) in the negotiated encoding. */
function send(c: Context<Env>, body: string | Buffer<ArrayBuffer>, status: 200 | 201 = 200): Response {
  if (c.get("output") === "yaml") {
    return c.body(toYaml(typeof body === "string" ? body : body.toString("utf8")), status, {
      "Content-Type": YAML_TYPE,
    });
  }
  const headers = { "Content-Type": JSON_TYPE };
  return typeof body === "string" ? c.body(body, status, headers) : c.body(body, status, headers);
}

function sendObject(c: Context<Env>, value: unknown, status: 200 | 201 = 200): Response {
  return send(c, JSON.stringify(value), status);
}

async function injectFault(
  c: Context<Env>,
  faults: FaultInjector,
  verb: Verb,
  target: Target,
): Promise<Response | undefined> {
  const decision = faults.decide(verb, target.def.plural);
  switch (decision.kind) {
    case "none":
      return undefined;
    case "latency":
      await new Promise((resolve) => setTimeout(resolve, decision.ms));
      return undefined;
    case "conflict":
      return renderError(c, conflict(target.def.group, target.def.plural, target.name ?? ""));
    case "throttle":
      return renderError(
        c,
        new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
          retryAfterSeconds: decision.retryAfterSeconds,
        }),
      );
    case "error":
      return renderError(c, internalError("injected fault"));
    case "drop":
      c.env.incoming.socket.destroy();
      return c.body(null, 500);
  }
}

function tableMode(c: Context<Env>): { includeObject: "None" | "Metadata" | "Object" } | undefined {
  if (!wantsTable(c.req.header("accept"))) return undefined;
  return { includeObject: parseIncludeObject(c.req.query("includeObject")) };
}

interface ListQuery {
  readonly resourceVersion: string | undefined;
  readonly resourceVersionMatch: string | undefined;
  readonly continueToken: string | undefined;
  readonly limit: number | undefined;
  readonly sendInitialEvents: boolean | undefined;
}

function listQuery(c: Context<Env>): ListQuery {
  const limit = c.req.query("limit");
  let parsedLimit: number | undefined;
  if (limit !== undefined && limit !== "") {
    parsedLimit = Number(limit);
    if (!Number.isInteger(parsedLimit)) {
      throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(limit)}: invalid syntax`);
    }
  }
  return {
    resourceVersion: c.req.query("resourceVersion"),
    resourceVersionMatch: c.req.query("resourceVersionMatch") || undefined,
    continueToken: c.req.query("continue") || undefined,
    limit: parsedLimit,
    sendInitialEvents: queryBool(c, "sendInitialEvents"),
  };
}

/** apimachinery `ValidateListOptions` (lists) and `validateWatchOptions` (watches, WatchList enabled as in 1.34). */
function validateListQuery(q: ListQuery, watching: boolean): void {
  const causes: StatusCause[] = [];
  const match = q.resourceVersionMatch;
  const rv = q.resourceVersion ?? "";
  if (watching) {
    if (q.sendInitialEvents !== undefined && match !== "NotOlderThan") {
      causes.push(
        forbiddenField(
          "resourceVersionMatch",
          "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
      );
    }
    if (match !== undefined) {
      if (q.sendInitialEvents === undefined) {
        causes.push(
          forbiddenField(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
          ),
        );
      }
      if (match !== "NotOlderThan")
        causes.push(notSupported("resourceVersionMatch", match, ["NotOlderThan"]));
      if (q.continueToken !== undefined) {
        causes.push(
          forbiddenField(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden when continue is provided",
          ),
        );
      }
    }
  } else {
    if (match !== undefined) {
      if (rv === "") {
        causes.push(
          forbiddenField(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
          ),
        );
      }
      if (q.continueToken !== undefined) {
        causes.push(
          forbiddenField(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden when continue is provided",
          ),
        );
      }
      if (match !== "Exact" && match !== "NotOlderThan") {
        causes.push(notSupported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]));
      }
      if (match === "Exact" && rv === "0") {
        causes.push(
          forbiddenField(
            "resourceVersionMatch",
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
          ),
        );
      }
    }
    if (q.sendInitialEvents !== undefined) {
      causes.push(forbiddenField("sendInitialEvents", "sendInitialEvents is forbidden for list"));
    }
  }
  if (causes.length > 0) throw invalidOptions("ListOptions", causes);
}

/** A resourceVersion parameter as the storage versioner parses it (`strconv.ParseUint`); malformed → 400. */
function parseResourceVersion(rv: string | undefined): number {
  if (rv === undefined || rv === "" || rv === "0") return 0;
  const reason = !/^\d+$/.test(rv)
    ? "invalid syntax"
    : BigInt(rv) > 18446744073709551615n
      ? "value out of range"
      : undefined;
  if (reason !== undefined) {
    throw badRequest(
      `invalid resource version: resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: ${reason}`,
    );
  }
  return Number(rv);
}

/**
 * A list, with kube-apiserver's resourceVersion semantics: unset → the latest state; `0` → any state, served
 * whole (the watch cache ignores `limit`); `N` with NotOlderThan (or no match and no limit) → at least N;
 * `N` with Exact (or no match but a limit) → the state at N, 410 if that is older than the history kept; N not
 * reached yet → wait up to 3 s, then 504. Continued pages are the first page's snapshot.
 */
async function list(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  const q = listQuery(c);
  validateListQuery(q, false);
  if (
    q.continueToken !== undefined &&
    q.resourceVersion !== undefined &&
    q.resourceVersion !== "" &&
    q.resourceVersion !== "0"
  ) {
    throw badRequest("specifying resource version is not allowed when using continue");
  }
  const rv = parseResourceVersion(q.resourceVersion);
  if (rv > 0) await registry.waitForResourceVersion(rv, FRESHNESS_TIMEOUT_MS);
  const exact =
    rv > 0 &&
    (q.resourceVersionMatch === "Exact" || (q.resourceVersionMatch === undefined && (q.limit ?? 0) > 0));
  const result = registry.list(t.def, t.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
    limit: q.resourceVersion === "0" ? undefined : q.limit,
    continueToken: q.continueToken,
    ...(exact ? { atResourceVersion: rv } : {}),
  });
  const listMeta = {
    resourceVersion: result.resourceVersion,
    ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
    ...(result.remainingItemCount === undefined ? {} : { remainingItemCount: result.remainingItemCount }),
  };
  const table = tableMode(c);
  // An UnstructuredList always carries `continue`, empty on the last page; a typed list omits it then.
  const plainMeta =
    t.def.builtin || listMeta.continue !== undefined ? listMeta : { ...listMeta, continue: "" };
  if (table) {
    const objects = result.entries.map((e) => JSON.parse(registry.jsonOf(t.def, e, t.version)) as KObject);
    const rendered = tableFor(t.def, objects, {
      includeObject: table.includeObject,
      now: registry.now(),
      withColumnDefinitions: true,
      listMetadata: listMeta,
    });
    return sendObject(c, rendered);
  }
  const head = JSON.stringify({
    kind: `${t.def.kind}List`,
    apiVersion: groupVersion(t.def.group, t.version),
    metadata: plainMeta,
  });
  // Concatenating cached UTF-8 buffers is several times cheaper than joining one multi-megabyte string.
  const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"items":[`)];
  result.entries.forEach((entry, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(entryBytes(registry, t.def, entry, t.version));
  });
  parts.push(LIST_END);
  return send(c, Buffer.concat(parts));
}

const COMMA = Buffer.from(",");
const LIST_END = Buffer.from("]}");
/** Each stored entry's JSON as UTF-8, per served version, computed once (entries are immutable). */
const entryBuffers = new WeakMap<Entry, Map<string, Buffer>>();

/**
 * A list item's JSON. Items of a built-in kind's list carry no apiVersion and kind (a typed list's items are
 * encoded without TypeMeta); a CR list's items keep them.
 */
function entryBytes(registry: Registry, def: ResourceDef, entry: Entry, version: string): Buffer {
  let byVersion = entryBuffers.get(entry);
  if (!byVersion) {
    byVersion = new Map();
    entryBuffers.set(entry, byVersion);
  }
  let bytes = byVersion.get(version);
  if (!bytes) {
    const json = registry.jsonOf(def, entry, version);
    bytes = Buffer.from(def.builtin ? withoutTypeMeta(json) : json);
    byVersion.set(version, bytes);
  }
  return bytes;
}

const TYPE_META_PREFIX = /^\{"apiVersion":"[^"\\]*","kind":"[^"\\]*",?/;

/** An object's JSON without its leading apiVersion and kind. */
function withoutTypeMeta(json: string): string {
  const prefix = TYPE_META_PREFIX.exec(json);
  if (prefix) return `{${json.slice(prefix[0].length)}`;
  const { apiVersion: _a, kind: _k, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return JSON.stringify(rest);
}

function watch(c: Context<Env>, registry: Registry, t: Target): Response {
  const q = listQuery(c);
  validateListQuery(q, true);
  const rv = q.resourceVersion;
  if (rv !== undefined && rv !== "" && !/^\d+$/.test(rv)) {
    // The watch cache's versioner error is not a Status: 500 without a reason.
    throw new ApiError(
      500,
      "",
      `resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`,
    );
  }
  const { labels, fields } = registry.selectors(t.def, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
  });
  const timeout = c.req.query("timeoutSeconds");
  const stream = openWatch(registry, {
    def: t.def,
    version: t.version,
    namespace: t.namespace,
    resourceVersion: q.resourceVersion,
    labels,
    fields,
    table: tableMode(c),
    allowBookmarks: queryBool(c, "allowWatchBookmarks") === true,
    sendInitialEvents: q.sendInitialEvents === true,
    timeoutSeconds: timeout === undefined ? undefined : Math.max(0, Number(timeout) || 0),
  });
  return new Response(stream, {
    status: 200,
    headers: { "Content-Type": JSON_TYPE, "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" },
  });
}

function get(c: Context<Env>, registry: Registry, t: Target): Response {
  const name = t.name as string;
  if (t.subresource === "scale") return sendObject(c, registry.getScale(t.def, t.namespace, name));
  if (t.subresource === "log" && t.def.kind === "Pod") {
    registry.getEntry(t.def, t.namespace, name);
    // Simulated pods run nothing that logs.
    return c.body("", 200, { "Content-Type": "text/plain" });
  }
  if (t.subresource !== undefined && !(t.subresource === "status" && t.def.statusSubresource)) {
    throw notFound(t.def.group, `${t.def.plural}/${t.subresource}`, name);
  }
  const entry = registry.getEntry(t.def, t.namespace, name);
  const table = tableMode(c);
  if (table) {
    const obj = JSON.parse(registry.jsonOf(t.def, entry, t.version)) as KObject;
    return sendObject(
      c,
      tableFor(t.def, [obj], {
        includeObject: table.includeObject,
        now: registry.now(),
        withColumnDefinitions: true,
        listMetadata: { resourceVersion: String(entry.rv) },
      }),
    );
  }
  return send(c, registry.jsonOf(t.def, entry, t.version));
}

type OptionsKind = "CreateOptions" | "UpdateOptions" | "PatchOptions";

/**
 * Create/update/patch options (apimachinery `ValidateCreateOptions` & co.: 422 on the options kind), the manager
 * for non-apply writes, `fieldValidation`, and a sink for the response's warnings.
 */
function writeOptions(
  c: Context<Env>,
  kind: OptionsKind,
  patchType?: string,
): WriteOptions & { warnings: string[] } {
  const causes: StatusCause[] = [];
  const fieldManager = c.req.query("fieldManager");
  const force = queryBool(c, "force");
  if (kind === "PatchOptions" && patchType !== PATCH_APPLY && force !== undefined) {
    causes.push(forbiddenField("force", "may not be specified for non-apply patch"));
  }
  if (fieldManager !== undefined && fieldManager.length > 128) {
    causes.push({
      reason: "FieldValueTooLong",
      message: "Too long: may not be more than 128 bytes",
      field: "fieldManager",
    });
  }
  const dryRun = c.req.queries("dryRun") ?? [];
  if (dryRun.some((v) => v !== "All")) causes.push(notSupported("dryRun", dryRun, ["All"]));
  const validation = c.req.query("fieldValidation");
  if (!isFieldValidation(validation)) {
    causes.push(notSupported("fieldValidation", validation, ["", "Ignore", "Strict", "Warn"]));
  }
  if (causes.length > 0) throw invalidOptions(kind, causes);
  // kube-apiserver names a manager-less writer after its User-Agent's product token (`managerOrUserAgent`).
  const agent = (c.req.header("user-agent") ?? "").split("/")[0]?.trim() ?? "";
  return {
    dryRun: dryRun.length > 0,
    ...(fieldManager === undefined ? {} : { fieldManager }),
    ...(agent === "" ? {} : { defaultManager: agent.slice(0, 128) }),
    force: force === true,
    fieldValidation: fieldValidationOf(validation),
    warnings: [],
  };
}

/** `Warning: 299 - "<text>"` headers, one per distinct warning (apiserver `warning.AddWarning` dedups). */
function addWarnings(c: Context<Env>, warnings: readonly string[]): void {
  for (const text of new Set(warnings))
    c.header("Warning", `299 - ${JSON.stringify(text)}`, { append: true });
}

/**
 * Reads the body straight from node's IncomingMessage: going through `c.req.arrayBuffer()` would make the node
 * adapter build a whole web Request first, which costs more than the rest of a create.
 */
async function readBody(c: Context<Env>): Promise<Uint8Array> {
  const incoming = c.env.incoming;
  const declared = Number(incoming.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw requestEntityTooLarge("Request entity too large: limit is 3145728");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw requestEntityTooLarge("Request entity too large: limit is 3145728");
    chunks.push(chunk);
  }
  const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  const contentType = incoming.headers["content-type"] ?? "";
  if (
    !isProtobufContentType(contentType.split(";")[0]?.trim() ?? "") &&
    nestingExceeds(bytes, MAX_BODY_DEPTH)
  ) {
    throw badRequest(
      `error decoding request body: exceeded max depth: the body nests objects or arrays more than ${MAX_BODY_DEPTH} levels deep`,
    );
  }
  return bytes;
}

/**
 * The deepest nesting this server decodes. kube-apiserver's JSON decoder stops at 10,000 levels; this one stops
 * earlier because merging, patching and managedFields walk objects recursively, and a body nested deeper than
 * any real object must get a 400 naming the problem, never a stack overflow's 500.
 */
const MAX_BODY_DEPTH = 1000;

/** Whether `{`/`[` nest deeper than `max` outside JSON strings (also catches YAML flow style); one pass, no recursion. */
function nestingExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > max) return true;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return false;
}

/**
 * Decodes a create/update body: JSON (also with no Content-Type), YAML, or kubectl's protobuf. With
 * `fieldValidation` other than Ignore, a JSON body's keys are listed for the strict decoding errors.
 */
async function readObject(
  c: Context<Env>,
  options: WriteOptions,
): Promise<{ body: unknown; bodyFields: FieldEvent[] }> {
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const bytes = await readBody(c);
  if (isProtobufContentType(contentType)) return { body: decodeProtobufBody(bytes), bodyFields: [] };
  const text = new TextDecoder().decode(bytes);
  if (contentType === "application/yaml" || contentType === "application/x-yaml") {
    try {
      return { body: parseYaml(text), bodyFields: [] };
    } catch (err) {
      throw badRequest(`error converting YAML to JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (contentType !== "" && contentType !== JSON_TYPE && !contentType.endsWith("+json")) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }
  const body = parseJsonText(text);
  return { body, bodyFields: options.fieldValidation === "Ignore" ? [] : scanFields(text) };
}

function parseJsonText(text: string): unknown {
  if (text.trim() === "") throw badRequest("the request body is empty: an object is required");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function readJson(c: Context<Env>): Promise<unknown> {
  return parseJsonText(new TextDecoder().decode(await readBody(c)));
}

/**
 * A CR body goes through the unstructured decoder, which needs `kind` (400 `Object 'Kind' is missing`) and then an
 * `apiVersion` the endpoint serves; built-in bodies default both from the URL.
 */
function checkCustomResourceBody(def: ResourceDef, version: string, body: unknown): void {
  if (def.builtin || body === null || typeof body !== "object" || Array.isArray(body)) return;
  const { apiVersion, kind } = body as Record<string, unknown>;
  if (kind === undefined || kind === "") {
    const text = JSON.stringify(body);
    const summary = text.length > 30 ? `${text.slice(0, 30)} ...` : text;
    throw badRequest(
      `the object provided is unrecognized (must be of type ${def.kind}): Object 'Kind' is missing in '${text}' (${summary})`,
    );
  }
  const gv = groupVersion(def.group, version);
  if (apiVersion !== gv) {
    throw badRequest(
      `the API version in the data (${typeof apiVersion === "string" ? apiVersion : ""}) does not match the expected API version (${gv})`,
    );
  }
}

async function create(c: Context<Env>, registry: AdmittedWrites, t: Target): Promise<Response> {
  const options = writeOptions(c, "CreateOptions");
  const { body, bodyFields } = await readObject(c, options);
  checkCustomResourceBody(t.def, t.version, body);
  const created = await registry.create(t.def, t.version, t.namespace, body, { ...options, bodyFields });
  addWarnings(c, options.warnings);
  return sendObject(c, created, 201);
}

async function update(c: Context<Env>, registry: AdmittedWrites, t: Target): Promise<Response> {
  const name = t.name as string;
  const options = writeOptions(c, "UpdateOptions");
  const { body, bodyFields } = await readObject(c, options);
  if (t.subresource === "scale") {
    const scale = await registry.writeScale(
      t.def,
      t.namespace,
      name,
      (current) => mergeScale(current, body),
      options,
      t.version,
    );
    return sendObject(c, scale);
  }
  checkCustomResourceBody(t.def, t.version, body);
  const sub = statusOrUndefined(t, name);
  const updated = await registry.update(t.def, t.version, t.namespace, name, body, sub, {
    ...options,
    bodyFields,
  });
  addWarnings(c, options.warnings);
  return sendObject(c, updated);
}

async function patch(c: Context<Env>, registry: AdmittedWrites, t: Target): Promise<Response> {
  const name = t.name as string;
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const options = writeOptions(c, "PatchOptions", contentType);
  const text = new TextDecoder().decode(await readBody(c));
  if (t.subresource === "scale") {
    // A CR's scale takes the CR's patch types (apiextensions); a built-in's adds strategic merge.
    const accepted = t.def.builtin
      ? [PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY]
      : [PATCH_JSON, PATCH_MERGE, PATCH_APPLY];
    if (!accepted.includes(contentType)) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
      );
    }
    if (contentType === PATCH_APPLY) {
      return sendObject(c, await registry.applyScale(t.def, t.version, t.namespace, name, text, options));
    }
    const scale = await registry.writeScale(
      t.def,
      t.namespace,
      name,
      (current) =>
        registry.registry.applyPatch(
          t.def,
          current,
          contentType === PATCH_STRATEGIC ? PATCH_MERGE : contentType,
          text,
          name,
        ),
      options,
      t.version,
    );
    return sendObject(c, scale);
  }
  const sub = statusOrUndefined(t, name);
  const { object, created } = await registry.patch(
    t.def,
    t.version,
    t.namespace,
    name,
    contentType,
    text,
    sub,
    options,
  );
  addWarnings(c, options.warnings);
  return sendObject(c, object, created ? 201 : 200);
}

function statusOrUndefined(t: Target, name: string): "status" | undefined {
  if (t.subresource === undefined) return undefined;
  if (t.subresource === "status" && t.def.statusSubresource) return "status";
  throw notFound(t.def.group, `${t.def.plural}/${t.subresource}`, name);
}

/** A PUT to /scale carries a whole Scale: only spec.replicas and the resourceVersion precondition matter. */
function mergeScale(current: Record<string, unknown>, body: unknown): Record<string, unknown> {
  const input = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const meta = (input.metadata ?? {}) as Record<string, unknown>;
  return {
    ...current,
    metadata: {
      ...(current.metadata as Record<string, unknown>),
      resourceVersion: meta.resourceVersion ?? "",
    },
    spec: input.spec,
  };
}

const PROPAGATION_POLICIES = ["Foreground", "Background", "Orphan"] as const;

/** DeleteOptions from the body and the query, validated as `ValidateDeleteOptions` does (422 on DeleteOptions). */
async function deleteOptions(c: Context<Env>): Promise<DeleteOptions> {
  const text = new TextDecoder().decode(await readBody(c));
  let raw: unknown = {};
  if (text.trim() !== "") raw = parseJsonText(text);
  const parsed = deleteOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`invalid DeleteOptions: ${issue?.path.join(".") || "body"}: ${issue?.message ?? ""}`);
  }
  const body = parsed.data;
  const policy = body.propagationPolicy ?? c.req.query("propagationPolicy");
  const orphan = body.orphanDependents ?? queryBool(c, "orphanDependents");
  const dryRun = body.dryRun ?? c.req.queries("dryRun") ?? [];
  const causes: StatusCause[] = [];
  if (orphan !== undefined && policy !== undefined) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(policy)}: orphanDependents and deletionPropagation cannot be both set`,
      field: "propagationPolicy",
    });
  }
  if (policy !== undefined && !(PROPAGATION_POLICIES as readonly string[]).includes(policy)) {
    causes.push(notSupported("propagationPolicy", policy, [...PROPAGATION_POLICIES, "nil"]));
  }
  if (dryRun.some((v) => v !== "All")) causes.push(notSupported("dryRun", dryRun, ["All"]));
  if (causes.length > 0) throw invalidOptions("DeleteOptions", causes);
  const effective =
    (policy as DeleteOptions["propagationPolicy"]) ?? (orphan === true ? "Orphan" : undefined);
  return {
    ...(effective === undefined ? {} : { propagationPolicy: effective }),
    ...(body.preconditions === undefined
      ? {}
      : {
          preconditions: {
            ...(body.preconditions.uid === undefined ? {} : { uid: body.preconditions.uid }),
            ...(body.preconditions.resourceVersion === undefined
              ? {}
              : { resourceVersion: body.preconditions.resourceVersion }),
          },
        }),
    dryRun: dryRun.includes("All"),
  };
}

async function remove(c: Context<Env>, registry: AdmittedWrites, t: Target): Promise<Response> {
  const result = await registry.delete(
    t.def,
    t.version,
    t.namespace,
    t.name as string,
    await deleteOptions(c),
  );
  if (!result.deleted) return sendObject(c, result.object);
  return sendObject(c, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: result.last.metadata.name,
      ...(t.def.group === "" ? {} : { group: t.def.group }),
      kind: t.def.plural,
      uid: result.last.metadata.uid,
    },
  });
}

async function removeCollection(c: Context<Env>, registry: AdmittedWrites, t: Target): Promise<Response> {
  const options = await deleteOptions(c);
  const result = registry.registry.list(t.def, t.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
  });
  const items: KObject[] = [];
  for (const entry of result.entries) {
    try {
      const outcome = await registry.delete(
        t.def,
        t.version,
        entry.obj.metadata.namespace,
        entry.obj.metadata.name,
        options,
      );
      const item = outcome.deleted ? outcome.last : outcome.object;
      if (t.def.builtin) {
        const { apiVersion: _a, kind: _k, ...bare } = item;
        items.push(bare as KObject);
      } else items.push(item);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  return sendObject(c, {
    kind: `${t.def.kind}List`,
    apiVersion: groupVersion(t.def.group, t.version),
    metadata: t.def.builtin
      ? { resourceVersion: result.resourceVersion }
      : { continue: "", resourceVersion: result.resourceVersion },
    items,
  });
}

function renderError(c: Context<Env>, err: unknown): Response {
  if (err instanceof NoRoute) {
    return c.body("404 page not found\n", 404, {
      "Content-Type": "text/plain; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
    });
  }
  const apiError =
    err instanceof ApiError
      ? err
      : (() => {
          log.error({ err }, "unhandled error in the local API server");
          return internalError(err instanceof Error ? err.message : String(err));
        })();
  // A 406 for a watch is still written in the best plain type the client accepts.
  const yaml = ((apiError as ApiError & { output?: Output }).output ?? c.get("output")) === "yaml";
  const headers: Record<string, string> = { "Content-Type": yaml ? YAML_TYPE : JSON_TYPE };
  const retryAfter = apiError.statusDetails?.retryAfterSeconds;
  if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  const body = JSON.stringify(apiError.toStatus());
  return c.body(yaml ? toYaml(body) : body, apiError.code as 400, headers);
}
