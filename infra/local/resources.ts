/**
 * The resource table of the local cluster: every kind it serves, with the facts discovery, storage, admission,
 * Tables and patching need (group, served versions, names, scope, subresources, printer columns, field labels).
 * Data only; behaviour lives in the modules that read it. Sources: KubeVirt `crds.go`, CDI's DataVolume CRD,
 * Kubernetes `printers.go` and the built-in registries (see ../shared/reference/apiserver-fidelity.md §1.6, §2.4).
 */

export type ColumnType = "string" | "integer" | "number" | "boolean" | "date";

/** A CRD `additionalPrinterColumns` entry (JSONPath evaluated against the object in its served version). */
export interface PrinterColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath: string;
}

export interface ResourceDef {
  /** API group; "" is the core group. */
  readonly group: string;
  /** Served versions, preferred first (kube-aware order). */
  readonly versions: readonly string[];
  /** Version objects are kept in, in memory and in the journal. */
  readonly storageVersion: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  /** Built-in (compiled into kube-apiserver) rather than a CRD: strategic merge patch, no generation, unconditional PUT. */
  readonly builtin: boolean;
  readonly statusSubresource: boolean;
  readonly scale?: ScaleSubresource;
  /** CRD printer columns; built-in kinds are printed by the Table module's own column sets. */
  readonly printerColumns?: readonly PrinterColumn[];
  /** Field labels accepted in fieldSelector besides metadata.name and metadata.namespace. */
  readonly fieldLabels: readonly string[];
  /**
   * A create-only review (SelfSubjectAccessReview and friends): never stored, the created object comes back with
   * the server's answer in its status, and discovery lists only `create`.
   */
  readonly review?: true;
}

const CRD_VERBS = [
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "create",
  "update",
  "watch",
] as const;
export const RESOURCE_VERBS: readonly string[] = CRD_VERBS;
export const SUBRESOURCE_VERBS: readonly string[] = ["get", "patch", "update"];
const REVIEW_VERBS: readonly string[] = ["create"];

/** The verbs discovery lists for a resource. */
export function resourceVerbs(def: ResourceDef): readonly string[] {
  return def.review ? REVIEW_VERBS : RESOURCE_VERBS;
}

/** A built-in kind's entry with the common defaults (namespaced, no short names, categories or subresources). */
function builtin(
  group: string,
  plural: string,
  kind: string,
  extra: Partial<Omit<ResourceDef, "group" | "plural" | "kind">> = {},
): ResourceDef {
  return {
    group,
    versions: ["v1"],
    storageVersion: "v1",
    plural,
    singular: kind.toLowerCase(),
    kind,
    shortNames: [],
    categories: [],
    namespaced: true,
    builtin: true,
    statusSubresource: false,
    fieldLabels: [],
    ...extra,
  };
}

const replicaColumns = (children: string): PrinterColumn[] => [
  {
    name: "Desired",
    type: "integer",
    jsonPath: ".spec.replicas",
    description: `Number of desired ${children}`,
  },
  {
    name: "Current",
    type: "integer",
    jsonPath: ".status.replicas",
    description: `Number of managed and not final or deleted ${children}`,
  },
  {
    name: "Ready",
    type: "integer",
    jsonPath: ".status.readyReplicas",
    description: `Number of managed ${children} which are ready to receive traffic`,
  },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

const replicaScale: ScaleSubresource = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".status.labelSelector",
};

const KUBEVIRT_VERSIONS = ["v1", "v1alpha3"] as const;

export const RESOURCES: readonly ResourceDef[] = [
  {
    group: "kubevirt.io",
    versions: KUBEVIRT_VERSIONS,
    storageVersion: "v1",
    plural: "virtualmachines",
    singular: "virtualmachine",
    kind: "VirtualMachine",
    shortNames: ["vm", "vms"],
    categories: ["all"],
    namespaced: true,
    builtin: false,
    statusSubresource: true,
    printerColumns: [
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      {
        name: "Status",
        type: "string",
        jsonPath: ".status.printableStatus",
        description: "Human Readable Status",
      },
      { name: "Ready", type: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
    ],
    fieldLabels: [],
  },
  {
    group: "kubevirt.io",
    versions: KUBEVIRT_VERSIONS,
    storageVersion: "v1",
    plural: "virtualmachineinstances",
    singular: "virtualmachineinstance",
    kind: "VirtualMachineInstance",
    shortNames: ["vmi", "vmis"],
    categories: ["all"],
    namespaced: true,
    builtin: false,
    statusSubresource: false,
    printerColumns: [
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      { name: "Phase", type: "string", jsonPath: ".status.phase" },
      { name: "IP", type: "string", jsonPath: ".status.interfaces[0].ipAddress" },
      { name: "NodeName", type: "string", jsonPath: ".status.nodeName" },
      { name: "Ready", type: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
      {
        name: "Live-Migratable",
        type: "string",
        jsonPath: ".status.conditions[?(@.type=='LiveMigratable')].status",
        priority: 1,
      },
      {
        name: "Paused",
        type: "string",
        jsonPath: ".status.conditions[?(@.type=='Paused')].status",
        priority: 1,
      },
    ],
    fieldLabels: [],
  },
  {
    group: "kubevirt.io",
    versions: KUBEVIRT_VERSIONS,
    storageVersion: "v1",
    plural: "virtualmachineinstancereplicasets",
    singular: "virtualmachineinstancereplicaset",
    kind: "VirtualMachineInstanceReplicaSet",
    shortNames: ["vmirs", "vmirss"],
    categories: ["all"],
    namespaced: true,
    builtin: false,
    statusSubresource: true,
    scale: replicaScale,
    printerColumns: replicaColumns("VirtualMachineInstances"),
    fieldLabels: [],
  },
  {
    group: "pool.kubevirt.io",
    versions: ["v1beta1", "v1alpha1"],
    storageVersion: "v1beta1",
    plural: "virtualmachinepools",
    singular: "virtualmachinepool",
    kind: "VirtualMachinePool",
    shortNames: ["vmpool", "vmpools"],
    categories: ["all"],
    namespaced: true,
    builtin: false,
    statusSubresource: true,
    scale: replicaScale,
    printerColumns: replicaColumns("VirtualMachines"),
    fieldLabels: [],
  },
  {
    group: "cdi.kubevirt.io",
    versions: ["v1beta1"],
    storageVersion: "v1beta1",
    plural: "datavolumes",
    singular: "datavolume",
    kind: "DataVolume",
    shortNames: ["dv", "dvs"],
    categories: ["all"],
    namespaced: true,
    builtin: false,
    statusSubresource: true,
    printerColumns: [
      {
        name: "Phase",
        type: "string",
        jsonPath: ".status.phase",
        description: "The phase the data volume is in",
      },
      {
        name: "Progress",
        type: "string",
        jsonPath: ".status.progress",
        description: "Transfer progress in percentage if known, N/A otherwise",
      },
      {
        name: "Restarts",
        type: "integer",
        jsonPath: ".status.restartCount",
        description: "The number of times the transfer has been restarted.",
      },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    fieldLabels: [],
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    shortNames: ["ns"],
    categories: [],
    namespaced: false,
    builtin: true,
    statusSubresource: true,
    fieldLabels: ["status.phase"],
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    shortNames: ["ev"],
    categories: [],
    namespaced: true,
    builtin: true,
    statusSubresource: false,
    fieldLabels: [
      "involvedObject.kind",
      "involvedObject.namespace",
      "involvedObject.name",
      "involvedObject.uid",
      "involvedObject.apiVersion",
      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",
      "reason",
      "reportingComponent",
      "source",
      "type",
    ],
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    shortNames: ["po"],
    categories: ["all"],
    namespaced: true,
    builtin: true,
    statusSubresource: true,
    fieldLabels: [
      "spec.nodeName",
      "spec.restartPolicy",
      "spec.schedulerName",
      "spec.serviceAccountName",
      "spec.hostNetwork",
      "status.phase",
      "status.podIP",
      "status.nominatedNodeName",
    ],
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "services",
    singular: "service",
    kind: "Service",
    shortNames: ["svc"],
    categories: ["all"],
    namespaced: true,
    builtin: true,
    statusSubresource: true,
    fieldLabels: ["spec.clusterIP", "spec.type"],
  },
  {
    group: "",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "endpoints",
    singular: "endpoints",
    kind: "Endpoints",
    shortNames: ["ep"],
    categories: [],
    namespaced: true,
    builtin: true,
    statusSubresource: false,
    fieldLabels: [],
  },
  {
    group: "coordination.k8s.io",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "leases",
    singular: "lease",
    kind: "Lease",
    shortNames: [],
    categories: [],
    namespaced: true,
    builtin: true,
    statusSubresource: false,
    fieldLabels: [],
  },
  {
    group: "autoscaling",
    versions: ["v2", "v1"],
    storageVersion: "v2",
    plural: "horizontalpodautoscalers",
    singular: "horizontalpodautoscaler",
    kind: "HorizontalPodAutoscaler",
    shortNames: ["hpa"],
    categories: ["all"],
    namespaced: true,
    builtin: true,
    statusSubresource: true,
    fieldLabels: [],
  },
  {
    group: "apps",
    versions: ["v1"],
    storageVersion: "v1",
    plural: "controllerrevisions",
    singular: "controllerrevision",
    kind: "ControllerRevision",
    shortNames: [],
    categories: [],
    namespaced: true,
    builtin: true,
    statusSubresource: false,
    fieldLabels: [],
  },
  builtin("", "nodes", "Node", {
    shortNames: ["no"],
    namespaced: false,
    statusSubresource: true,
    fieldLabels: ["spec.unschedulable"],
  }),
  builtin("", "configmaps", "ConfigMap", { shortNames: ["cm"] }),
  // Listed by `kubectl describe namespace`; nothing enforces them here.
  builtin("", "resourcequotas", "ResourceQuota", { shortNames: ["quota"], statusSubresource: true }),
  builtin("", "limitranges", "LimitRange", { shortNames: ["limits"] }),
  builtin("", "secrets", "Secret", { fieldLabels: ["type"] }),
  builtin("", "replicationcontrollers", "ReplicationController", {
    shortNames: ["rc"],
    categories: ["all"],
    statusSubresource: true,
    fieldLabels: ["status.replicas"],
  }),
  builtin("apps", "deployments", "Deployment", {
    shortNames: ["deploy"],
    categories: ["all"],
    statusSubresource: true,
  }),
  builtin("apps", "replicasets", "ReplicaSet", {
    shortNames: ["rs"],
    categories: ["all"],
    statusSubresource: true,
    fieldLabels: ["status.replicas"],
  }),
  builtin("apps", "daemonsets", "DaemonSet", {
    shortNames: ["ds"],
    categories: ["all"],
    statusSubresource: true,
  }),
  // Its webhooks are called on writes (./webhooks).
  builtin(
    "admissionregistration.k8s.io",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    {
      namespaced: false,
      categories: ["api-extensions"],
    },
  ),
  builtin("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", {
    namespaced: false,
    review: true,
  }),
  builtin("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", {
    namespaced: false,
    review: true,
  }),
  builtin("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", {
    namespaced: false,
    review: true,
  }),
];

/** `group/plural` (core: `plural`), the key objects are stored under. */
export function resourceKey(def: Pick<ResourceDef, "group" | "plural">): string {
  return def.group === "" ? def.plural : `${def.plural}.${def.group}`;
}

/** `<group>/<version>` or `v1` for the core group. */
export function groupVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** Finds the resource served at `group/version/plural`, or undefined. */
export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
}

/** Finds a resource by kind within a group (used for owner references and conversion). */
export function findResourceByKind(group: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.kind === kind);
}

/** Every served group with its versions, preferred first, in a stable order (core group excluded). */
export function apiGroups(): { name: string; versions: readonly string[] }[] {
  const groups = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (r.group === "") continue;
    const versions = groups.get(r.group) ?? [];
    for (const v of r.versions) if (!versions.includes(v)) versions.push(v);
    groups.set(r.group, versions);
  }
  return [...groups.entries()].map(([name, versions]) => ({ name, versions }));
}
