/**
 * OpenAPI as kubectl consults it before writes: the `/openapi/v3` root listing every group-version, per
 * group-version documents whose PATCH operations carry `x-kubernetes-group-version-kind`, the `fieldValidation`
 * parameter and the accepted patch content types (strategic merge only on built-ins, so client-side apply
 * computes merge patches for CRs), and the `/openapi/v2` protobuf stub kubectl 1.27/1.28 download first.
 * Component schemas are the kinds' structural schemas (`schema.ts`: the CRD manifests for KubeVirt and CDI, ours
 * for built-ins) with `metadata` referring to ObjectMeta, which is what `kubectl explain` walks (see fidelity
 * reference §1.7).
 */
import { createHash } from "node:crypto";
import { OBJECT_META_SCHEMA } from "./builtin-schemas";
import { acceptedPatchTypes } from "./patch";
import { apiGroups, RESOURCES, type ResourceDef } from "./resources";
import { type Schema, schemaOf } from "./schema";

type Json = Record<string, unknown>;

/** The dotted content type real servers use (the `@v1.0` form breaks Go's MIME parser). */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function allGroupVersions(): { group: string; version: string }[] {
  const out = [{ group: "", version: "v1" }];
  for (const g of apiGroups()) for (const v of g.versions) out.push({ group: g.name, version: v });
  return out;
}

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/** Built-in groups' package names in kube's schema names (`io.k8s.api.coordination.v1.Lease`). */
function builtinPackage(group: string): string {
  return group === "" ? "core" : (group.split(".")[0] as string);
}

/** kube's definition name: `io.k8s.api.<pkg>.<v>.<Kind>` for built-ins, the reversed group for CRDs. */
export function schemaName(def: ResourceDef, version: string): string {
  const prefix = def.builtin
    ? `io.k8s.api.${builtinPackage(def.group)}`
    : def.group.split(".").reverse().join(".");
  return `${prefix}.${version}.${def.kind}`;
}

/** The kind's schema with `metadata` as a reference to ObjectMeta, as kube publishes CRD and built-in schemas. */
function componentSchema(def: ResourceDef, version: string): Json {
  const schema: Schema = schemaOf(def, version);
  const properties: Record<string, unknown> = { ...(schema.properties ?? {}) };
  properties.metadata = {
    $ref: `#/components/schemas/${OBJECT_META}`,
    description: "Standard object's metadata.",
  };
  return {
    ...schema,
    type: "object",
    properties,
    "x-kubernetes-group-version-kind": [{ group: def.group, version, kind: def.kind }],
  };
}

const documents = new Map<string, Json>();
const hashes = new Map<string, string>();

function document(group: string, version: string): Json | undefined {
  const key = gvPath(group, version);
  const cached = documents.get(key);
  if (cached) return cached;
  const defs = RESOURCES.filter((r) => r.group === group && r.versions.includes(version));
  if (defs.length === 0) return undefined;
  const paths: Json = {};
  const schemas: Json = { [OBJECT_META]: OBJECT_META_SCHEMA };
  for (const def of defs) {
    const gvk = { group: def.group, version, kind: def.kind };
    const name = schemaName(def, version);
    schemas[name] = componentSchema(def, version);
    const prefix = `/${gvPath(group, version)}${def.namespaced ? "/namespaces/{namespace}" : ""}/${def.plural}`;
    if (def.review) paths[prefix] = reviewPath(def, gvk, name);
    else {
      paths[prefix] = collectionPath(def, gvk, name);
      paths[`${prefix}/{name}`] = itemPath(def, gvk, name);
      if (def.statusSubresource) paths[`${prefix}/{name}/status`] = itemPath(def, gvk, name, "Status");
      if (def.scale) paths[`${prefix}/{name}/scale`] = scalePath(def);
      if (def.namespaced) paths[`/${gvPath(group, version)}/${def.plural}`] = allNamespacesPath(def, gvk);
    }
  }
  const doc = {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas },
  };
  documents.set(key, doc);
  hashes.set(key, createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 128).toUpperCase());
  return doc;
}

const okWith = (schemaName: string): Json => ({
  "200": {
    description: "OK",
    content: { "application/json": { schema: { $ref: `#/components/schemas/${schemaName}` } } },
  },
});

/** A review resource: POST only. */
function reviewPath(def: ResourceDef, gvk: Json, schemaName: string): Json {
  const ref = { $ref: `#/components/schemas/${schemaName}` };
  return {
    post: {
      operationId: `create${def.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": "post",
      requestBody: { content: { "application/json": { schema: ref } }, required: true },
      responses: { ...okWith(schemaName), "201": okWith(schemaName)["200"] },
    },
  };
}

/** The collection path: list (its GVK is what `kubectl explain` looks up first) and create. */
function collectionPath(def: ResourceDef, gvk: Json, schemaName: string): Json {
  const ref = { $ref: `#/components/schemas/${schemaName}` };
  return {
    ...(def.namespaced
      ? { parameters: [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }] }
      : {}),
    get: {
      operationId: `list${def.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": "list",
      responses: { "200": { description: "OK" } },
    },
    post: {
      operationId: `create${def.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": "post",
      parameters: [
        { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
        { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
        { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
      ],
      requestBody: { content: { "application/json": { schema: ref } }, required: true },
      responses: okWith(schemaName),
    },
  };
}

/** The list across namespaces (`kubectl get -A`). */
function allNamespacesPath(def: ResourceDef, gvk: Json): Json {
  return {
    get: {
      operationId: `list${def.kind}ForAllNamespaces`,
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": "list",
      responses: { "200": { description: "OK" } },
    },
  };
}

/** The scale subresource, an autoscaling/v1 Scale. */
function scalePath(def: ResourceDef): Json {
  const scale = { group: "autoscaling", version: "v1", kind: "Scale" };
  const params = [
    { name: "name", in: "path", required: true, schema: { type: "string", uniqueItems: true } },
    { name: "namespace", in: "path", required: true, schema: { type: "string" } },
  ];
  const op = (verb: string, action: string) => ({
    operationId: `${verb}${def.kind}Scale`,
    "x-kubernetes-group-version-kind": scale,
    "x-kubernetes-action": action,
    responses: { "200": { description: "OK" } },
  });
  return {
    parameters: params,
    get: op("read", "get"),
    put: op("replace", "put"),
    patch: op("patch", "patch"),
  };
}

function itemPath(def: ResourceDef, gvk: Json, schemaName: string, suffix = ""): Json {
  const ref = { $ref: `#/components/schemas/${schemaName}` };
  const common = [
    { name: "name", in: "path", required: true, schema: { type: "string", uniqueItems: true } },
    ...(def.namespaced
      ? [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }]
      : []),
  ];
  const writeParams = [
    { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
    { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
    { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
  ];
  const content = Object.fromEntries(
    acceptedPatchTypes(def.builtin).map((t) => [t, { schema: { type: "object" } }]),
  );
  const ok = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
  return {
    parameters: common,
    get: { operationId: `read${def.kind}${suffix}`, "x-kubernetes-group-version-kind": gvk, responses: ok },
    put: {
      operationId: `replace${def.kind}${suffix}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: writeParams,
      requestBody: { content: { "application/json": { schema: ref } }, required: true },
      responses: ok,
    },
    patch: {
      operationId: `patch${def.kind}${suffix}`,
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": "patch",
      parameters: [
        ...writeParams,
        { name: "force", in: "query", schema: { type: "boolean", uniqueItems: true } },
      ],
      requestBody: { content, required: true },
      responses: ok,
    },
  };
}

/** `/openapi/v3`: every group-version with a content-addressed URL. */
export function openApiV3Root(): Json {
  const paths: Json = {};
  for (const { group, version } of allGroupVersions()) {
    if (!document(group, version)) continue;
    const key = gvPath(group, version);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashes.get(key)}` };
  }
  return { paths };
}

/** `/openapi/v3/<api/v1 | apis/g/v>`, or undefined. */
export function openApiV3Document(path: string): Json | undefined {
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "api" && parts.length === 2) return document("", parts[1] as string);
  if (parts[0] === "apis" && parts.length === 3) return document(parts[1] as string, parts[2] as string);
  return undefined;
}
