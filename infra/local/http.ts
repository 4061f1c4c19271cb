/**
 * The HTTP face of the local cluster (hono): URL parsing into (group, version, namespace, resource, name,
 * subresource), verbs, content negotiation (JSON always; Tables for `as=Table`; protobuf and YAML request bodies),
 * discovery and OpenAPI routes, fault injection, and kube-apiserver's Status errors. Semantics live in the
 * registry; this module only translates HTTP to registry calls and back.
 */
import type { HttpBindings } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { logger } from "../../shared/log";
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
  internalError,
  methodNotAllowed,
  notFound,
  requestEntityTooLarge,
  unknownResource,
} from "./errors";
import { type FaultInjector, faultConfigSchema, type Verb } from "./faults";
import { OPENAPI_V2_PROTOBUF, openApiV3Document, openApiV3Root } from "./openapi";
import { decodeProtobufBody, isProtobufContentType } from "./protobuf";
import { type DeleteOptions, PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, type Registry } from "./registry";
import { findResource, groupVersion, type ResourceDef } from "./resources";
import type { Entry, KObject } from "./store";
import { parseIncludeObject, tableFor, wantsTable } from "./tables";
import { openWatch } from "./watch";

const log = logger("apiserver");
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const JSON_TYPE = "application/json";
const DEPRECATED_VERSIONS: Record<string, string> = {
  "kubevirt.io/v1alpha3": "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release.",
};

export interface ApiAppContext {
  readonly registry: Registry;
  readonly faults: FaultInjector;
  /** How clients reach this server (for `/api`'s serverAddressByClientCIDRs). */
  serverAddress: string;
}

type Env = { Bindings: HttpBindings };

interface Target {
  readonly def: ResourceDef;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

const deleteOptionsSchema = z.looseObject({
  propagationPolicy: z.enum(["Background", "Foreground", "Orphan"]).optional(),
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

  app.get("/version", (c) => c.json(versionInfo()));
  for (const path of ["/healthz", "/livez", "/readyz"]) app.get(path, (c) => c.text("ok"));

  app.get("/openapi/v2", (c) => c.body(null, 200, { "Content-Type": OPENAPI_V2_PROTOBUF }));
  app.get("/swagger-2.0.0.pb-v1", (c) => c.body(null, 200, { "Content-Type": OPENAPI_V2_PROTOBUF }));
  app.get("/openapi/v3", (c) => c.json(openApiV3Root()));
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
  app.all("/api/*", (c) => handleResource(c, registry, ctx.faults));
  app.all("/apis/*", (c) => handleResource(c, registry, ctx.faults));
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
  if (!def || parts.length > 3) throw unknownResource();
  if (namespace === undefined && def.namespaced && parts.length > 1) throw unknownResource();
  return { def, version, namespace, name: parts[1], subresource: parts[2] };
}

async function handleResource(c: Context<Env>, registry: Registry, faults: FaultInjector): Promise<Response> {
  const { group, version, rest } = parsePath(c.req.path);
  if (version === undefined) {
    if (c.req.method !== "GET") throw methodNotAllowed();
    const doc = legacyGroupDocument(group);
    return doc ? c.json(doc) : renderError(c, unknownResource());
  }
  if (rest.length === 0) {
    if (c.req.method !== "GET") throw methodNotAllowed();
    const doc = legacyResourceList(group, version);
    return doc ? c.json(doc) : renderError(c, unknownResource());
  }
  const target = resolveTarget(group, version, rest);
  checkAccept(c.req.header("accept"));
  const verb = verbOf(c.req.method, target, c.req.query("watch"));
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
      return create(c, registry, target);
    case "update":
      return update(c, registry, target);
    case "patch":
      return patch(c, registry, target);
    case "delete":
      return remove(c, registry, target);
    case "deletecollection":
      return removeCollection(c, registry, target);
  }
}

function verbOf(method: string, target: Target, watchParam: string | undefined): Verb {
  const collection = target.name === undefined;
  switch (method) {
    case "GET":
      if (collection) return watchParam === "true" || watchParam === "1" ? "watch" : "list";
      return "get";
    case "POST":
      if (!collection) throw methodNotAllowed();
      return "create";
    case "PUT":
      if (collection) throw methodNotAllowed();
      return "update";
    case "PATCH":
      if (collection) throw methodNotAllowed();
      return "patch";
    case "DELETE":
      return collection ? "deletecollection" : "delete";
    default:
      throw methodNotAllowed();
  }
}

/** Every client we serve accepts JSON; a protobuf-only Accept is refused like a server without protobuf. */
function checkAccept(accept: string | undefined): void {
  if (!accept) return;
  const ok = accept
    .split(",")
    .map((p) => p.split(";")[0]?.trim() ?? "")
    .some((t) => t === JSON_TYPE || t === "*/*" || t === "application/*" || t === "");
  if (!ok) {
    throw new ApiError(
      406,
      "NotAcceptable",
      "only the following media types are accepted: application/json, application/yaml",
    );
  }
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

function jsonResponse(c: Context<Env>, body: string, status: 200 | 201 = 200): Response {
  return c.body(body, status, { "Content-Type": JSON_TYPE });
}

function tableMode(c: Context<Env>): { includeObject: "None" | "Metadata" | "Object" } | undefined {
  if (!wantsTable(c.req.header("accept"))) return undefined;
  return { includeObject: parseIncludeObject(c.req.query("includeObject")) };
}

function list(c: Context<Env>, registry: Registry, t: Target): Response {
  const limit = c.req.query("limit");
  const result = registry.list(t.def, t.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
    limit: limit === undefined ? undefined : Number(limit),
    continueToken: c.req.query("continue"),
  });
  const listMeta = {
    resourceVersion: result.resourceVersion,
    ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
    ...(result.remainingItemCount === undefined ? {} : { remainingItemCount: result.remainingItemCount }),
  };
  const table = tableMode(c);
  if (table) {
    const objects = result.entries.map((e) => JSON.parse(registry.jsonOf(t.def, e, t.version)) as KObject);
    const rendered = tableFor(t.def, objects, {
      includeObject: table.includeObject,
      now: registry.now(),
      withColumnDefinitions: true,
      listMetadata: listMeta,
    });
    return jsonResponse(c, JSON.stringify(rendered));
  }
  const head = JSON.stringify({
    kind: `${t.def.kind}List`,
    apiVersion: groupVersion(t.def.group, t.version),
    metadata: listMeta,
  });
  // Concatenating cached UTF-8 buffers is several times cheaper than joining one multi-megabyte string.
  const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"items":[`)];
  result.entries.forEach((entry, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(entryBytes(registry, t.def, entry, t.version));
  });
  parts.push(LIST_END);
  return c.body(Buffer.concat(parts), 200, { "Content-Type": JSON_TYPE });
}

const COMMA = Buffer.from(",");
const LIST_END = Buffer.from("]}");
/** Each stored entry's JSON as UTF-8, per served version, computed once (entries are immutable). */
const entryBuffers = new WeakMap<Entry, Map<string, Buffer>>();

function entryBytes(registry: Registry, def: ResourceDef, entry: Entry, version: string): Buffer {
  let byVersion = entryBuffers.get(entry);
  if (!byVersion) {
    byVersion = new Map();
    entryBuffers.set(entry, byVersion);
  }
  let bytes = byVersion.get(version);
  if (!bytes) {
    bytes = Buffer.from(registry.jsonOf(def, entry, version));
    byVersion.set(version, bytes);
  }
  return bytes;
}

function watch(c: Context<Env>, registry: Registry, t: Target): Response {
  const { labels, fields } = registry.selectors(t.def, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
  });
  const timeout = c.req.query("timeoutSeconds");
  const stream = openWatch(registry, {
    def: t.def,
    version: t.version,
    namespace: t.namespace,
    resourceVersion: c.req.query("resourceVersion"),
    labels,
    fields,
    table: tableMode(c),
    allowBookmarks: c.req.query("allowWatchBookmarks") === "true",
    timeoutSeconds: timeout === undefined ? undefined : Math.max(0, Number(timeout) || 0),
  });
  return new Response(stream, {
    status: 200,
    headers: { "Content-Type": JSON_TYPE, "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" },
  });
}

function get(c: Context<Env>, registry: Registry, t: Target): Response {
  const name = t.name as string;
  if (t.subresource === "scale") return c.json(registry.getScale(t.def, t.namespace, name));
  if (t.subresource !== undefined && !(t.subresource === "status" && t.def.statusSubresource)) {
    throw notFound(t.def.group, `${t.def.plural}/${t.subresource}`, name);
  }
  const entry = registry.getEntry(t.def, t.namespace, name);
  const table = tableMode(c);
  if (table) {
    const obj = JSON.parse(registry.jsonOf(t.def, entry, t.version)) as KObject;
    return c.json(
      tableFor(t.def, [obj], {
        includeObject: table.includeObject,
        now: registry.now(),
        withColumnDefinitions: true,
        listMetadata: { resourceVersion: String(entry.rv) },
      }),
    );
  }
  return jsonResponse(c, registry.jsonOf(t.def, entry, t.version));
}

function writeOptions(c: Context<Env>) {
  const dryRun = c.req.queries("dryRun");
  if (dryRun?.some((v) => v !== "All"))
    throw badRequest(`Invalid dry run value: ${dryRun.join(",")}; must be "All"`);
  const fieldManager = c.req.query("fieldManager");
  const force = c.req.query("force");
  // kube-apiserver names a manager-less writer after its User-Agent's product token (`managerOrUserAgent`).
  const agent = (c.req.header("user-agent") ?? "").split("/")[0]?.trim() ?? "";
  return {
    dryRun: dryRun !== undefined && dryRun.length > 0,
    ...(fieldManager === undefined ? {} : { fieldManager }),
    ...(agent === "" ? {} : { defaultManager: agent.slice(0, 128) }),
    force: force === "true",
  };
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
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** Decodes a create/update body: JSON (also with no Content-Type), YAML, or kubectl's protobuf. */
async function readObject(c: Context<Env>): Promise<unknown> {
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const bytes = await readBody(c);
  if (isProtobufContentType(contentType)) return decodeProtobufBody(bytes);
  const text = new TextDecoder().decode(bytes);
  if (contentType === "application/yaml" || contentType === "application/x-yaml") {
    try {
      return parseYaml(text);
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
  return parseJsonText(text);
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

async function create(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  if (t.subresource !== undefined) throw methodNotAllowed();
  const body = await readObject(c);
  const created = registry.create(t.def, t.version, t.namespace, body, writeOptions(c));
  return jsonResponse(c, JSON.stringify(created), 201);
}

async function update(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  const name = t.name as string;
  const body = await readObject(c);
  if (t.subresource === "scale") {
    const scale = registry.writeScale(
      t.def,
      t.namespace,
      name,
      (current) => mergeScale(current, body),
      writeOptions(c),
    );
    return c.json(scale);
  }
  const sub = statusOrUndefined(t, name);
  return c.json(registry.update(t.def, t.version, t.namespace, name, body, sub, writeOptions(c)));
}

async function patch(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  const name = t.name as string;
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const text = new TextDecoder().decode(await readBody(c));
  if (t.subresource === "scale") {
    const accepted = [PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC];
    if (!accepted.includes(contentType)) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
      );
    }
    const scale = registry.writeScale(
      t.def,
      t.namespace,
      name,
      (current) =>
        registry.applyPatch(
          t.def,
          current,
          contentType === PATCH_STRATEGIC ? PATCH_MERGE : contentType,
          text,
          name,
        ),
      writeOptions(c),
    );
    return c.json(scale);
  }
  const sub = statusOrUndefined(t, name);
  const { object, created } = registry.patch(
    t.def,
    t.version,
    t.namespace,
    name,
    contentType,
    text,
    sub,
    writeOptions(c),
  );
  return jsonResponse(c, JSON.stringify(object), created ? 201 : 200);
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
  const queryPolicy = c.req.query("propagationPolicy");
  const policy =
    body.propagationPolicy ?? (body.orphanDependents === true ? "Orphan" : undefined) ?? queryPolicy;
  if (policy !== undefined && policy !== "Background" && policy !== "Foreground" && policy !== "Orphan") {
    throw badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const dryRun = (body.dryRun ?? c.req.queries("dryRun") ?? []).includes("All");
  return {
    ...(policy === undefined ? {} : { propagationPolicy: policy }),
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
    dryRun,
  };
}

async function remove(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  if (t.subresource !== undefined) throw methodNotAllowed();
  const result = registry.delete(t.def, t.version, t.namespace, t.name as string, await deleteOptions(c));
  if (!result.deleted) return c.json(result.object);
  return c.json({
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

async function removeCollection(c: Context<Env>, registry: Registry, t: Target): Promise<Response> {
  const options = await deleteOptions(c);
  const result = registry.list(t.def, t.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
  });
  const items: KObject[] = [];
  for (const entry of result.entries) {
    try {
      const outcome = registry.delete(
        t.def,
        t.version,
        entry.obj.metadata.namespace,
        entry.obj.metadata.name,
        options,
      );
      items.push(outcome.deleted ? outcome.last : outcome.object);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  return c.json({
    kind: `${t.def.kind}List`,
    apiVersion: groupVersion(t.def.group, t.version),
    metadata: { resourceVersion: result.resourceVersion },
    items,
  });
}

function renderError(c: Context<Env>, err: unknown): Response {
  const apiError =
    err instanceof ApiError
      ? err
      : (() => {
          log.error({ err }, "unhandled error in the local API server");
          return internalError(err instanceof Error ? err.message : String(err));
        })();
  const headers: Record<string, string> = { "Content-Type": JSON_TYPE };
  const retryAfter = apiError.statusDetails?.retryAfterSeconds;
  if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  return c.body(JSON.stringify(apiError.toStatus()), apiError.code as 400, headers);
}
