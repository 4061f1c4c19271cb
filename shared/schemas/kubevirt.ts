/**
 * Zod schemas for the KubeVirt and Kubernetes objects the functions read and write: VirtualMachinePool
 * (`pool.kubevirt.io` v1alpha1 = v1beta1), VirtualMachine, VirtualMachineInstance,
 * VirtualMachineInstanceReplicaSet and apps/v1 ControllerRevision, plus the shared ObjectMeta, OwnerReference,
 * LabelSelector and condition shapes. Only the fields the planner uses are spelled out; every object is loose so
 * fields added upstream survive a read-modify-write. Shapes follow KubeVirt's `types.go`
 * (see shared/reference/kubevirt-semantics.md §1.2, §2.1, §3).
 */
import { z } from "zod";

/** A string → string map (labels, annotations, node selectors). */
export const StringMapSchema = z.record(z.string(), z.string());

/** metav1.OwnerReference. */
export const OwnerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

/** metav1.ObjectMeta as used in templates and create bodies: every field optional. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullable().optional(),
  deletionTimestamp: z.string().nullable().optional(),
  deletionGracePeriodSeconds: z.number().int().nullable().optional(),
  labels: StringMapSchema.nullable().optional(),
  annotations: StringMapSchema.nullable().optional(),
  ownerReferences: z.array(OwnerReferenceSchema).nullable().optional(),
  finalizers: z.array(z.string()).nullable().optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** ObjectMeta of an object read from the API server: it always has a name. */
export const StoredObjectMetaSchema = ObjectMetaSchema.extend({ name: z.string() });
export type StoredObjectMeta = z.infer<typeof StoredObjectMetaSchema>;

/** metav1.LabelSelectorRequirement. */
export const LabelSelectorRequirementSchema = z.looseObject({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).nullable().optional(),
});

/** metav1.LabelSelector. */
export const LabelSelectorSchema = z.looseObject({
  matchLabels: StringMapSchema.nullable().optional(),
  matchExpressions: z.array(LabelSelectorRequirementSchema).nullable().optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

/** core/v1 NodeSelectorRequirement (operators In, NotIn, Exists, DoesNotExist, Gt, Lt). */
export const NodeSelectorRequirementSchema = z.looseObject({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).nullable().optional(),
});
export type NodeSelectorRequirement = z.infer<typeof NodeSelectorRequirementSchema>;

/** The condition shape shared by VM, VMI, pool and replica-set status. */
export const ConditionSchema = z.looseObject({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastProbeTime: z.string().nullable().optional(),
  lastTransitionTime: z.string().nullable().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

/** Kubernetes IntOrString (`maxUnavailable`). */
export const IntOrStringSchema = z.union([z.number().int(), z.string()]);
export type IntOrString = z.infer<typeof IntOrStringSchema>;

const nameRef = z.looseObject({ name: z.string() });
const cloudInitSource = z.looseObject({
  userDataSecretRef: nameRef.nullable().optional(),
  networkDataSecretRef: nameRef.nullable().optional(),
});

/** A VMI volume; only the sources the pool renames are spelled out. */
export const VolumeSchema = z.looseObject({
  name: z.string(),
  persistentVolumeClaim: z.looseObject({ claimName: z.string() }).nullable().optional(),
  dataVolume: z.looseObject({ name: z.string() }).nullable().optional(),
  configMap: z.looseObject({ name: z.string().optional() }).nullable().optional(),
  secret: z.looseObject({ secretName: z.string().optional() }).nullable().optional(),
  cloudInitNoCloud: cloudInitSource.nullable().optional(),
  cloudInitConfigDrive: cloudInitSource.nullable().optional(),
});
export type Volume = z.infer<typeof VolumeSchema>;

/** VirtualMachineInstanceSpec (loose; the planner reads volumes, nodeSelector and firmware identity). */
export const VirtualMachineInstanceSpecSchema = z.looseObject({
  domain: z
    .looseObject({
      firmware: z
        .looseObject({ uuid: z.string().optional(), serial: z.string().optional() })
        .nullable()
        .optional(),
    })
    .optional(),
  volumes: z.array(VolumeSchema).nullable().optional(),
  nodeSelector: StringMapSchema.nullable().optional(),
});
export type VirtualMachineInstanceSpec = z.infer<typeof VirtualMachineInstanceSpecSchema>;

/** VirtualMachineInstanceTemplateSpec: `{metadata, spec}` of the VMI a VM (or replica set) creates. */
export const VirtualMachineInstanceTemplateSpecSchema = z.looseObject({
  metadata: ObjectMetaSchema.optional(),
  spec: VirtualMachineInstanceSpecSchema.optional(),
});
export type VirtualMachineInstanceTemplateSpec = z.infer<typeof VirtualMachineInstanceTemplateSpecSchema>;

/** A VM `dataVolumeTemplates[]` entry. */
export const DataVolumeTemplateSchema = z.looseObject({
  metadata: ObjectMetaSchema.optional(),
  spec: z.unknown().optional(),
});
export type DataVolumeTemplate = z.infer<typeof DataVolumeTemplateSchema>;

/** VirtualMachineSpec. `running` is deprecated and exclusive with `runStrategy`. */
export const VirtualMachineSpecSchema = z.looseObject({
  running: z.boolean().nullable().optional(),
  runStrategy: z.string().optional(),
  template: VirtualMachineInstanceTemplateSpecSchema,
  dataVolumeTemplates: z.array(DataVolumeTemplateSchema).nullable().optional(),
});
export type VirtualMachineSpec = z.infer<typeof VirtualMachineSpecSchema>;

/** VirtualMachineStatus: what pool autohealing and readiness read. */
export const VirtualMachineStatusSchema = z.looseObject({
  printableStatus: z.string().optional(),
  ready: z.boolean().optional(),
  created: z.boolean().optional(),
  conditions: z.array(ConditionSchema).nullable().optional(),
  startFailure: z
    .looseObject({
      consecutiveFailCount: z.number().int().optional(),
      lastFailedVMIUID: z.string().optional(),
      retryAfterTimestamp: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type VirtualMachineStatus = z.infer<typeof VirtualMachineStatusSchema>;

/** kubevirt.io/v1 VirtualMachine. */
export const VirtualMachineSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: VirtualMachineSpecSchema,
  status: VirtualMachineStatusSchema.optional(),
});
export type VirtualMachine = z.infer<typeof VirtualMachineSchema>;

/** VMI phases (`types.go`); `IsFinal` = Succeeded or Failed. */
export const VMI_PHASES = [
  "",
  "Pending",
  "Scheduling",
  "Scheduled",
  "Running",
  "Succeeded",
  "Failed",
  "WaitingForSync",
  "Unknown",
] as const;

/** kubevirt.io/v1 VirtualMachineInstance. */
export const VirtualMachineInstanceSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: VirtualMachineInstanceSpecSchema.optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z.array(ConditionSchema).nullable().optional(),
      nodeName: z.string().optional(),
    })
    .optional(),
});
export type VirtualMachineInstance = z.infer<typeof VirtualMachineInstanceSchema>;

/** A scale-in or update selection policy: sort order plus optional selectors. */
export const SelectionPolicySchema = z.looseObject({
  sortPolicy: z.string().optional(),
  selectors: z
    .looseObject({
      labelSelector: LabelSelectorSchema.nullable().optional(),
      nodeSelectorRequirementMatcher: z.array(NodeSelectorRequirementSchema).nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type SelectionPolicy = z.infer<typeof SelectionPolicySchema>;

const emptyStrategy = z.looseObject({});

/** `spec.scaleInStrategy`: at most one of unmanaged, opportunistic, proactive. */
export const ScaleInStrategySchema = z.looseObject({
  unmanaged: emptyStrategy.nullable().optional(),
  opportunistic: z.looseObject({ statePreservation: z.string().optional() }).nullable().optional(),
  proactive: z
    .looseObject({
      selectionPolicy: SelectionPolicySchema.nullable().optional(),
      statePreservation: z.string().optional(),
    })
    .nullable()
    .optional(),
});
export type ScaleInStrategy = z.infer<typeof ScaleInStrategySchema>;

/** `spec.updateStrategy`: at most one of unmanaged, opportunistic, proactive. */
export const UpdateStrategySchema = z.looseObject({
  unmanaged: emptyStrategy.nullable().optional(),
  opportunistic: emptyStrategy.nullable().optional(),
  proactive: z
    .looseObject({ selectionPolicy: SelectionPolicySchema.nullable().optional() })
    .nullable()
    .optional(),
});
export type UpdateStrategy = z.infer<typeof UpdateStrategySchema>;

/** `spec.autohealing`: enabled when present, even as `{}`. The duration is a Go duration string ("5m0s"). */
export const AutohealingSchema = z.looseObject({
  startUpFailureThreshold: z.number().int().optional(),
  minFailingToStartDuration: z.string().optional(),
});
export type Autohealing = z.infer<typeof AutohealingSchema>;

/** `spec.nameGeneration`. */
export const NameGenerationSchema = z.looseObject({
  appendIndexToConfigMapRefs: z.boolean().nullable().optional(),
  appendIndexToSecretRefs: z.boolean().nullable().optional(),
});

/** `spec.virtualMachineTemplate`: metadata copied onto each VM plus the VM spec. */
export const VirtualMachineTemplateSpecSchema = z.looseObject({
  metadata: ObjectMetaSchema.optional(),
  spec: VirtualMachineSpecSchema,
});
export type VirtualMachineTemplateSpec = z.infer<typeof VirtualMachineTemplateSpecSchema>;

/** VirtualMachinePoolSpec (v1alpha1 and v1beta1 are identical). */
export const VirtualMachinePoolSpecSchema = z.looseObject({
  replicas: z.number().int().nullable().optional(),
  selector: LabelSelectorSchema,
  virtualMachineTemplate: VirtualMachineTemplateSpecSchema,
  paused: z.boolean().optional(),
  nameGeneration: NameGenerationSchema.nullable().optional(),
  maxUnavailable: IntOrStringSchema.nullable().optional(),
  scaleInStrategy: ScaleInStrategySchema.nullable().optional(),
  updateStrategy: UpdateStrategySchema.nullable().optional(),
  autohealing: AutohealingSchema.nullable().optional(),
});
export type VirtualMachinePoolSpec = z.infer<typeof VirtualMachinePoolSpecSchema>;

/** Pool and replica-set status: zero counts are omitted (`omitempty`). */
export const ReplicaStatusSchema = z.looseObject({
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  labelSelector: z.string().optional(),
  conditions: z.array(ConditionSchema).nullable().optional(),
});
export type ReplicaStatus = z.infer<typeof ReplicaStatusSchema>;

/** pool.kubevirt.io VirtualMachinePool. */
export const VirtualMachinePoolSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: VirtualMachinePoolSpecSchema,
  status: ReplicaStatusSchema.optional(),
});
export type VirtualMachinePool = z.infer<typeof VirtualMachinePoolSchema>;

/** kubevirt.io/v1 VirtualMachineInstanceReplicaSet. */
export const VirtualMachineInstanceReplicaSetSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  spec: z.looseObject({
    replicas: z.number().int().nullable().optional(),
    selector: LabelSelectorSchema,
    template: VirtualMachineInstanceTemplateSpecSchema,
    paused: z.boolean().optional(),
  }),
  status: ReplicaStatusSchema.optional(),
});
export type VirtualMachineInstanceReplicaSet = z.infer<typeof VirtualMachineInstanceReplicaSetSchema>;

/** apps/v1 ControllerRevision; a pool revision's `data` is the JSON of the pool spec at that generation. */
export const ControllerRevisionSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
  data: z.unknown().optional(),
  revision: z.number().int(),
});
export type ControllerRevision = z.infer<typeof ControllerRevisionSchema>;

/** Any namespaced object read only for its metadata (CDI DataVolumes and PVCs, for pool state preservation). */
export const ObjectWithMetaSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: StoredObjectMetaSchema,
});
export type ObjectWithMeta = z.infer<typeof ObjectWithMetaSchema>;
