/**
 * OpenAPI as kubectl consults it before writes: the `/openapi/v3` root listing every group-version, per
 * group-version documents whose PATCH operations carry `x-kubernetes-group-version-kind`, the `fieldValidation`
 * parameter and the accepted patch content types (strategic merge only on built-ins, so client-side apply
 * computes merge patches for CRs), and the `/openapi/v2` protobuf stub kubectl 1.27/1.28 download first.
 * Schemas are permissive objects: validation is the server's job here (see fidelity reference §1.7).
 */
import { createHash } from "node:crypto";
import { acceptedPatchTypes } from "./patch";
import { apiGroups, RESOURCES, type ResourceDef } from "./resources";

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

const documents = new Map<string, Json>();
const hashes = new Map<string, string>();

function document(group: string, version: string): Json | undefined {
  const key = gvPath(group, version);
  const cached = documents.get(key);
  if (cached) return cached;
  const defs = RESOURCES.filter((r) => r.group === group && r.versions.includes(version));
  if (defs.length === 0) return undefined;
  const paths: Json = {};
  const schemas: Json = {};
  for (const def of defs) {
    const gvk = { group: def.group, version, kind: def.kind };
    const schemaName = `${def.group === "" ? "io.k8s.api.core" : def.group}.${version}.${def.kind}`;
    schemas[schemaName] = {
      type: "object",
      "x-kubernetes-group-version-kind": [gvk],
      "x-kubernetes-preserve-unknown-fields": true,
    };
    const prefix = `/${gvPath(group, version)}${def.namespaced ? "/namespaces/{namespace}" : ""}/${def.plural}`;
    paths[`${prefix}/{name}`] = itemPath(def, gvk, schemaName);
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

function itemPath(def: ResourceDef, gvk: Json, schemaName: string): Json {
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
    get: { operationId: `read${def.kind}`, "x-kubernetes-group-version-kind": gvk, responses: ok },
    put: {
      operationId: `replace${def.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: writeParams,
      requestBody: { content: { "application/json": { schema: ref } }, required: true },
      responses: ok,
    },
    patch: {
      operationId: `patch${def.kind}`,
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
