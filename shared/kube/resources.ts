/**
 * The kinds shared/kube can address: for each, its API group, the versions we accept (preferred first), plural,
 * which subresources it has, and the zod schema every read is validated with. KubeVirt shapes come from
 * shared/schemas; the few core, coordination and metrics objects only this module reads (Event, Pod, Lease, Scale,
 * PodMetrics) are described here. Also the pure URL path builder.
 */
import { z } from "zod";
import {
  ControllerRevisionSchema,
  HorizontalPodAutoscalerV2Schema,
  ObjectWithMetaSchema,
  StoredObjectMetaSchema,
  VirtualMachineInstanceReplicaSetSchema,
  VirtualMachineInstanceSchema,
  VirtualMachinePoolSchema,
  VirtualMachineSchema,
} from "../schemas";

/** autoscaling/v1 Scale, as served by the `/scale` subresource of pools and replica sets. */
export const ScaleSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: z.looseObject({ replicas: z.number().int().optional() }).optional(),
  status: z
    .looseObject({ replicas: z.number().int().optional(), selector: z.string().optional() })
    .optional(),
});
export type Scale = z.infer<typeof ScaleSchema>;

const nullableString = z.string().nullable().optional();

/** core/v1 Event (legacy-style fields, the ones `kubectl describe` renders). */
export const EventSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  involvedObject: z.looseObject({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    uid: z.string().optional(),
  }),
  reason: z.string().optional(),
  message: z.string().optional(),
  type: z.string().optional(),
  source: z.looseObject({ component: z.string().optional(), host: z.string().optional() }).optional(),
  firstTimestamp: nullableString,
  lastTimestamp: nullableString,
  eventTime: nullableString,
  count: z.number().int().optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
});
export type KubeEvent = z.infer<typeof EventSchema>;

/** core/v1 Pod, read only for what the simulator's virt-launcher pods expose. */
export const PodSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: z.looseObject({ nodeName: z.string().optional() }).optional(),
  status: z.looseObject({ phase: z.string().optional(), podIP: z.string().optional() }).optional(),
});
export type Pod = z.infer<typeof PodSchema>;

/**
 * metrics.k8s.io/v1beta1 PodMetrics (metrics-server, or the local cluster): per-container usage quantities over
 * `window`, sampled at `timestamp`. Read-only; the autoscale pull source parses the fields it needs itself.
 */
export const PodMetricsSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  timestamp: z.string().optional(),
  window: z.string().optional(),
  containers: z
    .array(
      z.looseObject({ name: z.string(), usage: z.record(z.string(), z.union([z.string(), z.number()])) }),
    )
    .nullable()
    .optional(),
});
export type PodMetrics = z.infer<typeof PodMetricsSchema>;

/** coordination.k8s.io/v1 Lease. `acquireTime` and `renewTime` are MicroTime strings. */
export const LeaseSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: z
    .looseObject({
      holderIdentity: nullableString,
      leaseDurationSeconds: z.number().int().nullable().optional(),
      acquireTime: nullableString,
      renewTime: nullableString,
      leaseTransitions: z.number().int().nullable().optional(),
    })
    .optional(),
});
export type Lease = z.infer<typeof LeaseSchema>;

/** core/v1 ConfigMap: string data only (the scaling history keeps its log in one, see shared/history). */
export const ConfigMapSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  data: z.record(z.string(), z.string()).nullable().optional(),
});
export type ConfigMap = z.infer<typeof ConfigMapSchema>;

/** A CDI DataVolume, read for its metadata (state preservation, ownership). */
const DataVolumeSchema = ObjectWithMetaSchema;

/** A stored HPA always has a name; the shared schema also describes bodies that don't. */
const StoredHpaSchema = HorizontalPodAutoscalerV2Schema.extend({ metadata: StoredObjectMetaSchema });

/** One kind shared/kube can address. */
export interface ResourceDescriptor {
  readonly kind: string;
  /** "" for the core group. */
  readonly group: string;
  /** Versions we can speak, preferred first. More than one means the served version is discovered once. */
  readonly versions: readonly [string, ...string[]];
  readonly plural: string;
  readonly status: boolean;
  readonly scale: boolean;
  readonly schema: z.ZodType;
}

/** The descriptor table; every verb is generic over its keys. All these kinds are namespaced. */
export const RESOURCES = {
  VirtualMachinePool: {
    kind: "VirtualMachinePool",
    group: "pool.kubevirt.io",
    versions: ["v1beta1", "v1alpha1"],
    plural: "virtualmachinepools",
    status: true,
    scale: true,
    schema: VirtualMachinePoolSchema,
  },
  VirtualMachineInstanceReplicaSet: {
    kind: "VirtualMachineInstanceReplicaSet",
    group: "kubevirt.io",
    versions: ["v1"],
    plural: "virtualmachineinstancereplicasets",
    status: true,
    scale: true,
    schema: VirtualMachineInstanceReplicaSetSchema,
  },
  VirtualMachine: {
    kind: "VirtualMachine",
    group: "kubevirt.io",
    versions: ["v1"],
    plural: "virtualmachines",
    status: true,
    scale: false,
    schema: VirtualMachineSchema,
  },
  VirtualMachineInstance: {
    kind: "VirtualMachineInstance",
    group: "kubevirt.io",
    versions: ["v1"],
    plural: "virtualmachineinstances",
    status: true,
    scale: false,
    schema: VirtualMachineInstanceSchema,
  },
  ControllerRevision: {
    kind: "ControllerRevision",
    group: "apps",
    versions: ["v1"],
    plural: "controllerrevisions",
    status: false,
    scale: false,
    schema: ControllerRevisionSchema,
  },
  DataVolume: {
    kind: "DataVolume",
    group: "cdi.kubevirt.io",
    versions: ["v1beta1"],
    plural: "datavolumes",
    status: true,
    scale: false,
    schema: DataVolumeSchema,
  },
  HorizontalPodAutoscaler: {
    kind: "HorizontalPodAutoscaler",
    group: "autoscaling",
    versions: ["v2"],
    plural: "horizontalpodautoscalers",
    status: true,
    scale: false,
    schema: StoredHpaSchema,
  },
  Event: {
    kind: "Event",
    group: "",
    versions: ["v1"],
    plural: "events",
    status: false,
    scale: false,
    schema: EventSchema,
  },
  Pod: {
    kind: "Pod",
    group: "",
    versions: ["v1"],
    plural: "pods",
    status: true,
    scale: false,
    schema: PodSchema,
  },
  PodMetrics: {
    kind: "PodMetrics",
    group: "metrics.k8s.io",
    versions: ["v1beta1"],
    plural: "pods",
    status: false,
    scale: false,
    schema: PodMetricsSchema,
  },
  ConfigMap: {
    kind: "ConfigMap",
    group: "",
    versions: ["v1"],
    plural: "configmaps",
    status: false,
    scale: false,
    schema: ConfigMapSchema,
  },
  Lease: {
    kind: "Lease",
    group: "coordination.k8s.io",
    versions: ["v1"],
    plural: "leases",
    status: false,
    scale: false,
    schema: LeaseSchema,
  },
} as const satisfies Record<string, ResourceDescriptor>;

type Table = typeof RESOURCES;

/** A kind shared/kube can address. */
export type KindName = keyof Table;

/** The validated object type of a kind. */
export type ObjectOf<K extends KindName> = z.infer<Table[K]["schema"]>;

/** Kinds with a `/scale` subresource. */
export type ScalableKind = { [K in KindName]: Table[K]["scale"] extends true ? K : never }[KindName];

/** Kinds with a `/status` subresource. */
export type StatusKind = { [K in KindName]: Table[K]["status"] extends true ? K : never }[KindName];

/** `<group>/<version>`, or the bare version for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** Where an API request goes: a collection (no name), an object, or one of its subresources. */
export interface PathTarget {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Undefined lists across all namespaces. */
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: "status" | "scale" | undefined;
}

/** The URL path of a resource request: `/api/v1/...` for the core group, `/apis/<group>/<version>/...` otherwise. */
export function resourcePath(target: PathTarget): string {
  const root = target.group === "" ? `/api/${target.version}` : `/apis/${target.group}/${target.version}`;
  const segments = [root];
  if (target.namespace !== undefined) segments.push("namespaces", encodeURIComponent(target.namespace));
  segments.push(target.plural);
  if (target.name !== undefined) {
    segments.push(encodeURIComponent(target.name));
    if (target.subresource !== undefined) segments.push(target.subresource);
  }
  return segments.join("/");
}
