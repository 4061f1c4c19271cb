/**
 * The structural schemas of every kind the local cluster serves, and what kube-apiserver does with them on a write:
 * unknown fields pruned (and reported for `fieldValidation` Warn/Strict), `metadata` decoded as a typed ObjectMeta
 * (unknown keys dropped, empty values omitted), and server-side apply's "field not declared in schema". KubeVirt
 * and CDI kinds read their `openAPIV3Schema` from the CRD manifests in `infra/kubernetes/crds/` (one source of
 * truth with the real control plane); built-in kinds use `builtin-schemas.ts`. A CRD without a manifest gets a
 * permissive schema (nothing below the root pruned). The OpenAPI documents kubectl explains are built from here.
 * Sources: apiextensions `schema/pruning/algorithm.go`, `schema/objectmeta/coerce.go`, sigs.k8s.io/json strict
 * decoding, structured-merge-diff typed conversion.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { logger } from "../../shared/log";
import { BUILTIN_SCHEMAS, OBJECT_META_SCHEMA } from "./builtin-schemas";
import { groupVersion, type ResourceDef } from "./resources";

const log = logger("local-schema");

/** The OpenAPI v3 subset CRD structural schemas use. */
export interface Schema {
  readonly type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  readonly description?: string;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly nullable?: boolean;
  readonly default?: unknown;
  readonly "x-kubernetes-preserve-unknown-fields"?: boolean;
  readonly "x-kubernetes-int-or-string"?: boolean;
  readonly "x-kubernetes-embedded-resource"?: boolean;
  readonly "x-kubernetes-list-type"?: string;
  readonly "x-kubernetes-list-map-keys"?: readonly string[];
  readonly "x-kubernetes-map-type"?: string;
}

type Json = Record<string, unknown>;

/** Where the CRD manifests live (also installed by `infra/real`). */
export const CRD_DIR = resolve(import.meta.dirname, "../kubernetes/crds");

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

let crdSchemas: Map<string, Schema> | undefined;

/** `openAPIV3Schema` per `<group>/<version>/<kind>`, read once from the CRD manifests. */
function loadCrdSchemas(dir = CRD_DIR): Map<string, Schema> {
  const out = new Map<string, Schema>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"));
  } catch {
    return out;
  }
  for (const file of files.sort()) {
    try {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
        const crd = rec(doc.toJS({ maxAliasCount: -1 }));
        if (crd?.kind !== "CustomResourceDefinition") continue;
        const spec = rec(crd.spec) ?? {};
        const kind = rec(spec.names)?.kind;
        if (typeof spec.group !== "string" || typeof kind !== "string") continue;
        for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
          const version = rec(v);
          const schema = rec(rec(version?.schema)?.openAPIV3Schema);
          if (typeof version?.name === "string" && schema) {
            out.set(`${spec.group}/${version.name}/${kind}`, schema as Schema);
          }
        }
      }
    } catch (err) {
      log.warn(
        { file, err: err instanceof Error ? err.message : String(err) },
        "skipping unreadable CRD manifest",
      );
    }
  }
  return out;
}

/** A CRD kind without a manifest: any spec and status are kept (the local cluster's behaviour before schemas). */
const PERMISSIVE_CRD: Schema = {
  type: "object",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
};

/** The root schema of `def` at `version` (never undefined: CRDs without a manifest get a permissive one). */
export function schemaOf(def: ResourceDef, version: string): Schema {
  if (def.builtin)
    return BUILTIN_SCHEMAS[`${groupVersion(def.group, version)}/${def.kind}`] ?? PERMISSIVE_CRD;
  crdSchemas ??= loadCrdSchemas();
  return crdSchemas.get(`${def.group}/${version}/${def.kind}`) ?? PERMISSIVE_CRD;
}

/** Forgets the CRD manifests read so far (tests that write their own). */
export function reloadCrdSchemas(dir?: string): void {
  crdSchemas = loadCrdSchemas(dir);
}

const preserves = (s: Schema | undefined): boolean => s?.["x-kubernetes-preserve-unknown-fields"] === true;

/** `props[key]` without reaching into Object.prototype (`constructor`, `toString` are field names too). */
function ownSchema(props: Readonly<Record<string, Schema>> | undefined, key: string): Schema | undefined {
  return props !== undefined && Object.hasOwn(props, key) ? props[key] : undefined;
}

/** The schema of a map's values, if the schema describes a map. */
function valuesOf(s: Schema): Schema | undefined {
  const ap = s.additionalProperties;
  if (ap === undefined || ap === false) return undefined;
  return ap === true ? {} : ap;
}

interface Walk {
  readonly out: string[];
  /** CRD pruning also drops `null` where the schema does not allow it (PruneNonNullableNullsWithoutDefaults). */
  readonly dropNulls: boolean;
}

/**
 * Removes the keys of `value` its schema does not declare, recording their paths (`spec.foo`, `spec.items[0].bar`)
 * in document order. A schema with `x-kubernetes-preserve-unknown-fields` keeps unknown keys but still prunes
 * within the properties it does declare; no schema at all (below a declared field with no structure) keeps
 * everything, as a typed `RawExtension` or a CRD's untyped subtree does.
 */
function prune(value: unknown, s: Schema | undefined, path: string, walk: Walk): void {
  if (s === undefined) return;
  if (Array.isArray(value)) {
    if (s.items === undefined) return;
    value.forEach((item, i) => {
      prune(item, s.items, `${path}[${i}]`, walk);
    });
    return;
  }
  const obj = rec(value);
  if (obj === undefined) return;
  const props = s.properties;
  const values = valuesOf(s);
  // An object schema that declares nothing prunes everything (as CRD schemas do); a schema without a type keeps it.
  const keep = preserves(s) || (props === undefined && values === undefined && s.type !== "object");
  for (const key of Object.keys(obj)) {
    const child = path === "" ? key : `${path}.${key}`;
    const prop = ownSchema(props, key) ?? values;
    if (prop !== undefined) {
      if (walk.dropNulls && obj[key] === null && prop.nullable !== true && prop.default === undefined) {
        delete obj[key];
        continue;
      }
      prune(obj[key], prop, child, walk);
    } else if (!keep) {
      walk.out.push(child);
      delete obj[key];
    }
  }
}

/**
 * Prunes `obj` (mutated) as kube-apiserver decodes a request body of `def` at `version`, returning the unknown
 * field paths in the order kube reports them: a built-in kind's typed decode reports them in document order; a
 * CRD reports unknown `metadata` fields first, then the pruned paths sorted (apiextensions `unstructuredSchemaCoercer`).
 * `apiVersion` and `kind` are always known; ObjectMeta is typed for both.
 */
export function pruneUnknownFields(def: ResourceDef, version: string, obj: Json): string[] {
  const root = schemaOf(def, version);
  if (def.builtin) {
    const out: string[] = [];
    const walk: Walk = { out, dropNulls: false };
    for (const key of Object.keys(obj)) {
      if (key === "apiVersion" || key === "kind") continue;
      if (key === "metadata") prune(obj.metadata, OBJECT_META_SCHEMA, "metadata", walk);
      else if (ownSchema(root.properties, key) !== undefined)
        prune(obj[key], ownSchema(root.properties, key), key, walk);
      else if (!preserves(root)) {
        out.push(key);
        delete obj[key];
      }
    }
    return out;
  }
  const meta: string[] = [];
  if (rec(obj.metadata)) prune(obj.metadata, OBJECT_META_SCHEMA, "metadata", { out: meta, dropNulls: false });
  const rest: string[] = [];
  const walk: Walk = { out: rest, dropNulls: true };
  for (const key of Object.keys(obj)) {
    if (key === "apiVersion" || key === "kind" || key === "metadata") continue;
    const prop = ownSchema(root.properties, key);
    if (prop !== undefined) {
      if (obj[key] === null && prop.nullable !== true && prop.default === undefined) delete obj[key];
      else prune(obj[key], prop, key, walk);
    } else if (!preserves(root)) {
      rest.push(key);
      delete obj[key];
    }
  }
  return [...meta, ...rest.sort()];
}

/**
 * The first field of an applied configuration that the kind's schema does not declare, in structured-merge-diff's
 * path syntax (`.spec.foo`, `.spec.ports[0].bar`), or undefined. Server-side apply converts the configuration
 * to a typed value before merging and fails on such a field whatever `fieldValidation` says.
 */
export function undeclaredField(def: ResourceDef, version: string, obj: Json): string | undefined {
  const copy = structuredClone(obj);
  const paths = pruneUnknownFields(def, version, copy);
  const first = paths[0];
  return first === undefined ? undefined : `.${first}`;
}

const META_OMIT_EMPTY = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
] as const;

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === "" || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  const obj = rec(value);
  return obj !== undefined && Object.keys(obj).length === 0;
}

/**
 * ObjectMeta as it comes out of a typed round trip: every field is `omitempty`, so `finalizers: []`,
 * `labels: {}`, `name: ""` or `creationTimestamp: null` are not stored. `deletionGracePeriodSeconds` is a pointer:
 * 0 is kept. Returns the same object when nothing changes.
 */
export function normalizeObjectMeta<T extends Json>(meta: T): T {
  let out: Json | undefined;
  for (const key of META_OMIT_EMPTY) {
    if (!Object.hasOwn(meta, key)) continue;
    const value = meta[key];
    const empty = key === "deletionGracePeriodSeconds" ? value === null : isEmpty(value);
    if (!empty) continue;
    out ??= { ...meta };
    delete out[key];
  }
  return (out ?? meta) as T;
}
