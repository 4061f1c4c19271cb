/**
 * The CRDs in infra/kubernetes/crds, which a real kube-apiserver serves in place of KubeVirt's and CDI's, agree
 * with what the local cluster serves (infra/local/resources.ts) and prints (infra/local/tables.ts), are
 * structural, document the fields the examples use for `kubectl explain`, and store unchanged what the test
 * fixtures, the simulator and the examples write: `storedAs` applies apiextensions-apiserver's pruning (unknown
 * fields dropped unless preserved, nulls dropped unless nullable) and type checks.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { z } from "zod";
import { RESOURCES, type ResourceDef } from "../../infra/local/resources";
import { dataVolumeFromTemplate, dataVolumeStatus } from "../../infra/local/simulator/datavolume";
import { vmiFromVm, vmStatus } from "../../infra/local/simulator/vm";
import { vmiInPhase } from "../../infra/local/simulator/vmi";
import type { KObject } from "../../infra/local/store";
import { columnDefinitions } from "../../infra/local/tables";
import { convergedPool, pool as poolFixture, replicaSet, rsVMI } from "../support/kubevirt-fixtures";

const CRD_DIR = join(import.meta.dirname, "../../infra/kubernetes/crds");
const EXAMPLES_DIR = join(import.meta.dirname, "../../examples");

/** An OpenAPI v3 schema node, limited to the keywords our CRDs use (a typo is a parse error). */
interface Schema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean" | undefined;
  description?: string | undefined;
  format?: string | undefined;
  nullable?: boolean | undefined;
  properties?: Record<string, Schema> | undefined;
  additionalProperties?: Schema | undefined;
  items?: Schema | undefined;
  anyOf?: Schema[] | undefined;
  "x-kubernetes-preserve-unknown-fields"?: boolean | undefined;
  "x-kubernetes-int-or-string"?: boolean | undefined;
  "x-kubernetes-map-type"?: "atomic" | "granular" | undefined;
}

const SchemaNode: z.ZodType<Schema> = z.lazy(() =>
  z.strictObject({
    type: z.enum(["object", "array", "string", "integer", "number", "boolean"]).optional(),
    description: z.string().min(1).optional(),
    format: z.string().optional(),
    nullable: z.boolean().optional(),
    properties: z.record(z.string(), SchemaNode).optional(),
    additionalProperties: SchemaNode.optional(),
    items: SchemaNode.optional(),
    anyOf: z.array(SchemaNode).optional(),
    "x-kubernetes-preserve-unknown-fields": z.literal(true).optional(),
    "x-kubernetes-int-or-string": z.literal(true).optional(),
    "x-kubernetes-map-type": z.enum(["atomic", "granular"]).optional(),
  }),
);

const CrdSchema = z.strictObject({
  apiVersion: z.literal("apiextensions.k8s.io/v1"),
  kind: z.literal("CustomResourceDefinition"),
  metadata: z.strictObject({ name: z.string() }),
  spec: z.strictObject({
    group: z.string(),
    names: z.strictObject({
      kind: z.string(),
      listKind: z.string(),
      plural: z.string(),
      singular: z.string(),
      shortNames: z.array(z.string()),
      categories: z.array(z.string()),
    }),
    scope: z.enum(["Namespaced", "Cluster"]),
    conversion: z.strictObject({ strategy: z.literal("None") }),
    versions: z
      .array(
        z.strictObject({
          name: z.string(),
          served: z.boolean(),
          storage: z.boolean(),
          deprecated: z.boolean().optional(),
          deprecationWarning: z.string().optional(),
          subresources: z
            .strictObject({
              status: z.strictObject({}).optional(),
              scale: z
                .strictObject({
                  specReplicasPath: z.string(),
                  statusReplicasPath: z.string(),
                  labelSelectorPath: z.string(),
                })
                .optional(),
            })
            .optional(),
          additionalPrinterColumns: z.array(
            z.strictObject({
              name: z.string(),
              type: z.enum(["string", "integer", "number", "boolean", "date"]),
              jsonPath: z.string(),
              description: z.string().optional(),
              priority: z.number().int().optional(),
              format: z.string().optional(),
            }),
          ),
          schema: z.strictObject({ openAPIV3Schema: SchemaNode }),
        }),
      )
      .min(1),
  }),
});
type Crd = z.infer<typeof CrdSchema>;

/** Every CRD file, by the file name. */
const CRDS: ReadonlyMap<string, Crd> = new Map(
  readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .map((file) => {
      const docs = parseAllDocuments(readFileSync(join(CRD_DIR, file), "utf8"));
      if (docs.length !== 1) throw new Error(`${file}: ${docs.length} documents, want 1`);
      return [file, CrdSchema.parse(docs[0]?.toJS())] as const;
    }),
);

const CRD_RESOURCES = RESOURCES.filter((r) => !r.builtin);

function crdOf(def: Pick<ResourceDef, "group" | "plural">): Crd {
  const crd = CRDS.get(`${def.plural}.${def.group}.yaml`);
  if (crd === undefined) throw new Error(`no CRD file for ${def.plural}.${def.group}`);
  return crd;
}

function schemaOf(kind: string): Schema {
  const def = CRD_RESOURCES.find((r) => r.kind === kind);
  if (def === undefined) throw new Error(`no resource ${kind}`);
  const storage = crdOf(def).spec.versions.find((v) => v.storage);
  if (storage === undefined) throw new Error(`${kind}: no storage version`);
  return storage.schema.openAPIV3Schema;
}

/** The schema of a field, as `kubectl explain` finds it: dotted names, stepping into array items implicitly. */
function fieldAt(root: Schema, path: string): Schema | undefined {
  let node: Schema | undefined = root;
  for (const name of path.split(".")) {
    while (node?.type === "array") node = node.items;
    node = node?.properties?.[name];
  }
  return node;
}

/** The schema a printer column or scale JSONPath reads (`[0]` and `[?(...)]` select array items). */
function jsonPathAt(root: Schema, jsonPath: string): Schema | undefined {
  let node: Schema | undefined = root;
  for (const [, name] of jsonPath.matchAll(/\.([A-Za-z]+)|\[[^\]]*\]/g)) {
    node = name === undefined ? node?.items : node?.properties?.[name];
  }
  return node;
}

/** Every schema node with its path, depth first. */
function* nodes(schema: Schema, path = ""): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* nodes(child, `${path}.${name}`);
  if (schema.items) yield* nodes(schema.items, `${path}[]`);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${path}{}`);
}

const DROP = Symbol("drop");

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeMatches(value: unknown, s: Schema): boolean {
  if (s["x-kubernetes-int-or-string"]) return Number.isInteger(value) || typeof value === "string";
  switch (s.type) {
    case "object":
      return isRecord(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "string":
      return typeof value === "string" && (s.format !== "date-time" || !Number.isNaN(Date.parse(value)));
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

/**
 * What kube-apiserver stores of `value` under `schema`: fields without a schema are pruned unless the object
 * preserves unknown fields, nulls are dropped where the schema is not nullable, and a value of the wrong type is
 * rejected. Root metadata is ObjectMeta, which the schema does not describe. Returns DROP for a dropped null.
 */
function storedAs(value: unknown, s: Schema, path = ""): unknown {
  if (value === null) {
    if (s.nullable) return null;
    if (path.endsWith("]")) throw new Error(`${path}: null in a list`);
    return DROP;
  }
  if (!typeMatches(value, s)) throw new Error(`${path}: ${JSON.stringify(value)} is not ${s.type}`);
  if (Array.isArray(value)) {
    const items = s.items;
    return items ? value.map((v, i) => storedAs(v, items, `${path}[${i}]`)) : value;
  }
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const child = s.properties?.[key] ?? s.additionalProperties;
    if (path === "" && key === "metadata") out[key] = v;
    else if (child !== undefined) {
      const kept = storedAs(v, child, `${path}.${key}`);
      if (kept !== DROP) out[key] = kept;
    } else if (s["x-kubernetes-preserve-unknown-fields"]) out[key] = v;
  }
  return out;
}

/** The custom resource an object is (by apiVersion and kind), with the version it is written in. */
function resourceOf(obj: Record<string, unknown>): { def: ResourceDef; version: string } | undefined {
  const [group, version] = String(obj.apiVersion).split("/");
  const def = CRD_RESOURCES.find((r) => r.group === group && r.kind === obj.kind);
  return def && version ? { def, version } : undefined;
}

/** A JSON object as it travels on the wire (no undefined values). */
function wire<T>(obj: T): Record<string, unknown> {
  return JSON.parse(JSON.stringify(obj));
}

describe("infra/kubernetes/crds", () => {
  it("has one file per custom resource the local cluster serves, named after the CRD", () => {
    expect([...CRDS.keys()].sort()).toEqual(CRD_RESOURCES.map((r) => `${r.plural}.${r.group}.yaml`).sort());
    for (const [file, crd] of CRDS) expect(`${crd.metadata.name}.yaml`).toBe(file);
  });

  describe.each(CRD_RESOURCES.map((def) => [def.kind, def] as const))("%s", (_kind, def) => {
    const crd = crdOf(def);
    const { names } = crd.spec;

    it("has the local cluster's group, names and scope", () => {
      expect(crd.metadata.name).toBe(`${def.plural}.${def.group}`);
      expect(crd.spec.group).toBe(def.group);
      expect(names).toEqual({
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: def.categories,
      });
      expect(crd.spec.scope).toBe(def.namespaced ? "Namespaced" : "Cluster");
    });

    it("serves the local cluster's versions and stores its storage version", () => {
      expect(
        crd.spec.versions
          .filter((v) => v.served)
          .map((v) => v.name)
          .sort(),
      ).toEqual([...def.versions].sort());
      expect(crd.spec.versions.filter((v) => v.storage).map((v) => v.name)).toEqual([def.storageVersion]);
    });

    it.each(crd.spec.versions.map((v) => [v.name, v] as const))(
      "%s: subresources as served locally",
      (_, v) => {
        expect(v.subresources?.status !== undefined).toBe(def.statusSubresource);
        expect(v.subresources?.scale).toEqual(def.scale);
      },
    );

    it.each(crd.spec.versions.map((v) => [v.name, v] as const))("%s: the local printer columns", (_, v) => {
      expect(v.additionalPrinterColumns).toStrictEqual(def.printerColumns);
      // What kube-apiserver's Table converter makes of them is what the local Table module prints.
      const [name, ...printed] = columnDefinitions(def);
      expect(name?.name).toBe("Name");
      expect(printed).toStrictEqual(
        v.additionalPrinterColumns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? "",
          description:
            c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          priority: c.priority ?? 0,
        })),
      );
    });

    it("has one schema for every version", () => {
      for (const v of crd.spec.versions) expect(v.schema).toStrictEqual(crd.spec.versions[0]?.schema);
    });

    it("declares the fields its printer columns and scale subresource read, with the right types", () => {
      const schema = schemaOf(def.kind);
      for (const c of def.printerColumns ?? []) {
        if (c.jsonPath.startsWith(".metadata.")) continue;
        expect(jsonPathAt(schema, c.jsonPath)?.type, c.jsonPath).toBe(c.type);
      }
      if (def.scale) {
        expect(jsonPathAt(schema, def.scale.specReplicasPath)?.type).toBe("integer");
        expect(jsonPathAt(schema, def.scale.statusReplicasPath)?.type).toBe("integer");
        expect(jsonPathAt(schema, def.scale.labelSelectorPath)?.type).toBe("string");
      }
    });

    it("has a structural schema", () => {
      const schema = schemaOf(def.kind);
      expect(schema.type).toBe("object");
      expect(Object.keys(schema.properties ?? {}).sort()).toEqual(
        ["apiVersion", "kind", "metadata", "spec", "status"].sort(),
      );
      // Root metadata is ObjectMeta; a structural schema may not describe it beyond name and generateName.
      expect(schema.properties?.metadata).toStrictEqual({ type: "object" });
      for (const [path, node] of nodes(schema)) {
        if (node["x-kubernetes-int-or-string"]) {
          expect(node.type, path).toBeUndefined();
          expect(node.anyOf, path).toStrictEqual([{ type: "integer" }, { type: "string" }]);
          continue;
        }
        expect(node.type, `${path} has a type`).toBeDefined();
        expect(node.anyOf, path).toBeUndefined();
        if (node.type === "array") expect(node.items, `${path} has items`).toBeDefined();
        if (node.properties) expect(node.additionalProperties, path).toBeUndefined();
        if (node.type !== "object") {
          expect(node.properties ?? node.additionalProperties, path).toBeUndefined();
          expect(node["x-kubernetes-preserve-unknown-fields"], path).toBeUndefined();
        }
      }
    });

    it("keeps unknown fields in spec and status, and describes every field it names", () => {
      const schema = schemaOf(def.kind);
      expect(schema.properties?.spec?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
      expect(schema.properties?.status?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
      for (const [path, node] of nodes(schema)) {
        const named = path !== "" && !path.endsWith("]") && !path.endsWith("}") && path !== ".metadata";
        if (named) expect(node.description, `${path} has a description`).toBeDefined();
      }
    });
  });

  it("deprecates kubevirt.io/v1alpha3 with KubeVirt's warning, and nothing else", () => {
    for (const crd of CRDS.values()) {
      for (const v of crd.spec.versions) {
        const deprecated = crd.spec.group === "kubevirt.io" && v.name === "v1alpha3";
        expect(v.deprecated ?? false, `${crd.metadata.name} ${v.name}`).toBe(deprecated);
        expect(v.deprecationWarning).toBe(
          deprecated
            ? "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."
            : undefined,
        );
      }
    }
  });

  it("describes nested kinds once: the same VMI, VM, DataVolume, selector and replica status schemas", () => {
    const vmi = schemaOf("VirtualMachineInstance");
    const vm = schemaOf("VirtualMachine");
    const rs = schemaOf("VirtualMachineInstanceReplicaSet");
    const pool = schemaOf("VirtualMachinePool");
    const dv = schemaOf("DataVolume");
    const vmiSpec = fieldAt(vmi, "spec");
    expect(vmiSpec).toBeDefined();
    expect(fieldAt(vm, "spec.template.spec")).toStrictEqual(vmiSpec);
    expect(fieldAt(rs, "spec.template.spec")).toStrictEqual(vmiSpec);
    expect(fieldAt(pool, "spec.virtualMachineTemplate.spec")).toStrictEqual(fieldAt(vm, "spec"));
    expect(fieldAt(vm, "spec.dataVolumeTemplates.spec")).toStrictEqual(fieldAt(dv, "spec"));
    expect(fieldAt(pool, "spec.selector")).toStrictEqual(fieldAt(rs, "spec.selector"));
    expect(fieldAt(pool, "status")).toStrictEqual(fieldAt(rs, "status"));
    expect(fieldAt(vm, "spec.template.metadata")).toStrictEqual(
      fieldAt(pool, "spec.virtualMachineTemplate.metadata"),
    );
  });

  it.each([
    ["VirtualMachinePool", "spec.replicas", "integer"],
    ["VirtualMachinePool", "spec.selector.matchLabels", "object"],
    ["VirtualMachinePool", "spec.virtualMachineTemplate.metadata", "object"],
    ["VirtualMachinePool", "spec.virtualMachineTemplate.spec.runStrategy", "string"],
    ["VirtualMachinePool", "spec.virtualMachineTemplate.spec.running", "boolean"],
    ["VirtualMachinePool", "spec.virtualMachineTemplate.spec.dataVolumeTemplates.spec.storage", "object"],
    ["VirtualMachinePool", "spec.virtualMachineTemplate.spec.template.spec.domain.devices.disks", "array"],
    ["VirtualMachinePool", "spec.paused", "boolean"],
    ["VirtualMachinePool", "spec.scaleInStrategy", "object"],
    ["VirtualMachinePool", "spec.updateStrategy", "object"],
    ["VirtualMachinePool", "spec.autohealing.startUpFailureThreshold", "integer"],
    ["VirtualMachinePool", "status.conditions", "array"],
    ["VirtualMachineInstanceReplicaSet", "spec.template.spec.volumes.containerDisk", "object"],
    ["VirtualMachineInstanceReplicaSet", "status.readyReplicas", "integer"],
    ["VirtualMachine", "spec.template.spec.terminationGracePeriodSeconds", "integer"],
    ["VirtualMachine", "spec.dataVolumeTemplates.metadata", "object"],
    ["VirtualMachine", "status.ready", "boolean"],
    ["VirtualMachine", "status.created", "boolean"],
    ["VirtualMachineInstance", "spec.networks.name", "string"],
    ["VirtualMachineInstance", "spec.domain.resources", "object"],
    ["VirtualMachineInstance", "status.interfaces.ipAddress", "string"],
    ["VirtualMachineInstance", "status.phase", "string"],
    ["DataVolume", "spec.source.registry.url", "string"],
    ["DataVolume", "status.progress", "string"],
  ])("kubectl explain %s.%s is a %s", (kind, path, type) => {
    const field = fieldAt(schemaOf(kind), path);
    expect(field?.type).toBe(type);
    expect(field?.description).toBeDefined();
  });

  describe("stores unchanged what this project writes", () => {
    const NOW = "2025-06-01T12:00:00Z";
    const fedora = parse(readFileSync(join(EXAMPLES_DIR, "vm-pool-fedora-dv.yaml"), "utf8"));
    const vm: KObject = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: {
        name: "vm-pool-fedora-0",
        namespace: "default",
        uid: "vm-uid-0",
        resourceVersion: "1",
        creationTimestamp: NOW,
        generation: 1,
      },
      spec: fedora.spec.virtualMachineTemplate.spec,
    };
    const vmi = vmiInPhase(
      { ...vmiFromVm(vm), metadata: { ...vm.metadata, uid: "vmi-uid-0" } },
      "Running",
      NOW,
      {
        podExists: true,
        nodeName: "node01",
        podUid: "pod-uid-0",
        ip: "10.244.0.7",
        mac: "02:00:00:00:00:01",
      },
    );
    const dv: KObject = {
      ...dataVolumeFromTemplate(vm, fedora.spec.virtualMachineTemplate.spec.dataVolumeTemplates[0]),
      metadata: { name: "fedora-root-0", uid: "dv-uid-0", resourceVersion: "1", creationTimestamp: NOW },
    };
    const world = convergedPool(3);
    const failing = poolFixture({
      status: {
        replicas: 1,
        conditions: [
          {
            type: "ReplicaFailure",
            status: "True",
            reason: "FailedCreate",
            message: "quota",
            lastProbeTime: null,
            lastTransitionTime: NOW,
          },
        ],
      },
    });

    const written: [string, unknown][] = [
      ["fixture pool", world.pool],
      ["fixture pool with a condition", failing],
      ...world.vms.map((o): [string, unknown] => [`fixture VM ${o.metadata.name}`, o]),
      ...world.vmis.map((o): [string, unknown] => [`fixture VMI ${o.metadata.name}`, o]),
      ["fixture replica set", replicaSet()],
      ["fixture replica set VMI", rsVMI("abcde")],
      ["simulated running VMI", vmi],
      [
        "simulated VM status",
        {
          ...vm,
          status: vmStatus({
            vm,
            vmi,
            strategy: "Always",
            startExpected: true,
            provisioning: false,
            startFailure: { consecutiveFailCount: 2, lastFailedVMIUID: "vmi-uid", retryAfterTimestamp: NOW },
            startRequested: true,
            nowIso: NOW,
          }),
        },
      ],
      ["simulated DataVolume", { ...dv, status: dataVolumeStatus(dv, "ImportInProgress", "37.50%", NOW) }],
      ...readdirSync(EXAMPLES_DIR)
        .filter((file) => file.endsWith(".yaml"))
        .flatMap((file) =>
          parseAllDocuments(readFileSync(join(EXAMPLES_DIR, file), "utf8"))
            .map((d): [string, Record<string, unknown>] => [`examples/${file}`, d.toJS()])
            .filter(([, doc]) => resourceOf(doc) !== undefined),
        ),
    ];

    it.each(written)("%s", (_, obj) => {
      const o = wire(obj);
      const found = resourceOf(o);
      expect(found, `${o.apiVersion} ${o.kind} is a custom resource`).toBeDefined();
      const served =
        found && crdOf(found.def).spec.versions.find((v) => v.name === found.version && v.served);
      expect(served, `${o.apiVersion} is served`).toBeDefined();
      expect(storedAs(o, served?.schema.openAPIV3Schema ?? {})).toStrictEqual(o);
    });

    it("would notice a pruned field, a dropped null and a wrong type", () => {
      const schema = schemaOf("VirtualMachinePool");
      const p = wire(world.pool);
      expect(storedAs({ ...p, surplus: 1 }, schema)).toStrictEqual(p);
      expect(storedAs({ ...p, spec: { ...wire(p.spec), paused: null } }, schema)).toStrictEqual(p);
      expect(() => storedAs({ ...p, spec: { ...wire(p.spec), replicas: "3" } }, schema)).toThrow(
        /spec.replicas/,
      );
    });
  });
});
