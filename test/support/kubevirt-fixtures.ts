/**
 * Builders for KubeVirt objects as the API server returns them (VirtualMachinePool modelled on the user guide's
 * `vm-pool-cirros`, its VMs, VMIs and ControllerRevisions; a VirtualMachineInstanceReplicaSet modelled on
 * `testreplicaset`), plus a tiny in-memory "apply" of a plan for property tests. Every builder returns a fresh
 * object; tests override fields instead of sharing mutable fixtures.
 */
import type {
  Condition,
  ControllerRevision,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachineInstanceReplicaSet,
  VirtualMachinePool,
  VirtualMachinePoolSpec,
} from "../../shared/schemas";

export const NS = "default";
export const POOL_NAME = "vm-pool-cirros";
export const POOL_UID = "11111111-2222-3333-4444-555555555555";
export const POOL_LABEL = "kubevirt.io/vmpool";
export const REVISION_LABEL = "kubevirt.io/vm-pool-revision-name";
export const POOL_FINALIZER = "pool.kubevirt.io/finalizer";
export const VM_FINALIZER = "kubevirt.io/virtualMachineControllerFinalize";
export const NOW = new Date("2025-06-01T12:00:00Z");
export const CREATED = "2025-06-01T10:00:00Z";

/** The spec of `vm-pool-cirros` (3 replicas, cirros containerDisk, 128Mi). */
export function poolSpec(): VirtualMachinePoolSpec {
  return {
    replicas: 3,
    selector: { matchLabels: { [POOL_LABEL]: POOL_NAME } },
    virtualMachineTemplate: {
      metadata: { labels: { [POOL_LABEL]: POOL_NAME } },
      spec: {
        runStrategy: "Always",
        template: {
          metadata: { labels: { [POOL_LABEL]: POOL_NAME } },
          spec: {
            domain: {
              devices: { disks: [{ name: "containerdisk", disk: { bus: "virtio" } }] },
              resources: { requests: { memory: "128Mi" } },
            },
            volumes: [
              {
                name: "containerdisk",
                containerDisk: { image: "kubevirt/cirros-container-disk-demo:latest" },
              },
            ],
          },
        },
      },
    },
  };
}

export interface PoolOptions {
  readonly replicas?: number | null;
  readonly generation?: number;
  readonly spec?: Partial<VirtualMachinePoolSpec>;
  readonly deleting?: boolean;
  readonly finalizers?: string[] | null;
  readonly status?: VirtualMachinePool["status"];
}

export function pool(options: PoolOptions = {}): VirtualMachinePool {
  const spec: VirtualMachinePoolSpec = { ...poolSpec(), ...options.spec };
  if (options.replicas === null) delete spec.replicas;
  else if (options.replicas !== undefined) spec.replicas = options.replicas;
  const finalizers = options.finalizers === undefined ? [POOL_FINALIZER] : options.finalizers;
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: {
      name: POOL_NAME,
      namespace: NS,
      uid: POOL_UID,
      generation: options.generation ?? 1,
      resourceVersion: "1000",
      creationTimestamp: CREATED,
      ...(finalizers === null ? {} : { finalizers }),
      ...(options.deleting ? { deletionTimestamp: "2025-06-01T11:59:00Z" } : {}),
    },
    spec,
    ...(options.status ? { status: options.status } : {}),
  };
}

export function readyCondition(status: "True" | "False", extra: Partial<Condition> = {}): Condition {
  return { type: "Ready", status, lastProbeTime: null, lastTransitionTime: CREATED, ...extra };
}

export interface VMOptions {
  readonly revision?: string | null;
  readonly ready?: boolean;
  readonly deleting?: boolean;
  readonly owner?: "pool" | "none" | "other";
  readonly labels?: Record<string, string>;
  readonly finalizers?: string[];
  readonly creationTimestamp?: string;
  readonly status?: VirtualMachine["status"];
  readonly spec?: VirtualMachine["spec"];
}

export function vmUid(name: string): string {
  return `uid-${name}`;
}

/** A VM as the pool (or `options.owner`) created it for `ordinal`, running the pool's current revision. */
export function poolVM(p: VirtualMachinePool, ordinal: number, options: VMOptions = {}): VirtualMachine {
  const name = `${p.metadata.name}-${ordinal}`;
  const revision =
    options.revision === null
      ? undefined
      : (options.revision ?? `${p.metadata.name}-${p.metadata.generation}`);
  const revisionLabels: Record<string, string> = revision ? { [REVISION_LABEL]: revision } : {};
  const template = structuredClone(p.spec.virtualMachineTemplate);
  const owner = options.owner ?? "pool";
  const ownerReferences =
    owner === "none"
      ? []
      : [
          {
            apiVersion: "pool.kubevirt.io/v1beta1",
            kind: "VirtualMachinePool",
            name: owner === "pool" ? p.metadata.name : "other-pool",
            uid: owner === "pool" ? (p.metadata.uid ?? "") : "other-uid",
            controller: true,
            blockOwnerDeletion: true,
          },
        ];
  const spec = options.spec ? structuredClone(options.spec) : template.spec;
  spec.template.metadata = {
    ...spec.template.metadata,
    labels: { ...spec.template.metadata?.labels, ...revisionLabels },
  };
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: {
      name,
      namespace: NS,
      uid: vmUid(name),
      resourceVersion: `${2000 + ordinal}`,
      generation: 1,
      creationTimestamp: options.creationTimestamp ?? CREATED,
      labels: options.labels ?? { ...template.metadata?.labels, ...revisionLabels },
      finalizers: options.finalizers ?? [POOL_FINALIZER, VM_FINALIZER],
      ownerReferences,
      ...(options.deleting ? { deletionTimestamp: "2025-06-01T11:58:00Z" } : {}),
    },
    spec,
    status: options.status ?? {
      printableStatus: options.ready === false ? "Starting" : "Running",
      ready: options.ready !== false,
      conditions: [readyCondition(options.ready === false ? "False" : "True")],
    },
  };
}

export interface VMIOptions {
  readonly revision?: string | null;
  readonly phase?: string;
  readonly ready?: boolean;
  readonly deleting?: boolean;
  readonly ownerUid?: string;
}

/** The VMI the VM controller started for `vm` (same name, controlled by the VM). */
export function vmiFor(vm: VirtualMachine, options: VMIOptions = {}): VirtualMachineInstance {
  const templateLabels = { ...vm.spec.template.metadata?.labels };
  if (options.revision === null) delete templateLabels[REVISION_LABEL];
  else if (options.revision !== undefined) templateLabels[REVISION_LABEL] = options.revision;
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: {
      name: vm.metadata.name,
      namespace: NS,
      uid: `vmi-${vm.metadata.name}`,
      resourceVersion: "3000",
      labels: templateLabels,
      ownerReferences: [
        {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachine",
          name: vm.metadata.name,
          uid: options.ownerUid ?? vm.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      ...(options.deleting ? { deletionTimestamp: "2025-06-01T11:58:00Z" } : {}),
    },
    spec: structuredClone(vm.spec.template.spec ?? {}),
    status: {
      phase: options.phase ?? "Running",
      conditions: [readyCondition(options.ready === false ? "False" : "True")],
    },
  };
}

/** The ControllerRevision `<pool>-<generation>` recording `spec` (default: the pool's current spec). */
export function revisionFor(
  p: VirtualMachinePool,
  generation = p.metadata.generation ?? 1,
  spec: VirtualMachinePoolSpec = p.spec,
): ControllerRevision {
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: `${p.metadata.name}-${generation}`,
      namespace: NS,
      uid: `rev-${generation}`,
      ownerReferences: [
        {
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          name: p.metadata.name,
          uid: p.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data: structuredClone(spec),
    revision: generation,
  };
}

export interface PoolWorld {
  pool: VirtualMachinePool;
  vms: VirtualMachine[];
  vmis: VirtualMachineInstance[];
  revisions: ControllerRevision[];
}

/** A pool of `count` ready VMs at its current revision, with status already written: nothing left to do. */
export function convergedPool(count = 3, options: PoolOptions = {}): PoolWorld {
  const base = pool({ replicas: count, ...options });
  const vms = Array.from({ length: count }, (_, i) => poolVM(base, i));
  const labelSelector = `${POOL_LABEL}=${POOL_NAME}`;
  const withStatus = pool({
    replicas: count,
    ...options,
    status: count === 0 ? { labelSelector } : { replicas: count, readyReplicas: count, labelSelector },
  });
  return { pool: withStatus, vms, vmis: vms.map((vm) => vmiFor(vm)), revisions: [revisionFor(withStatus)] };
}

export const RS_NAME = "testreplicaset";
export const RS_UID = "rs-uid-0001";

export interface ReplicaSetOptions {
  readonly replicas?: number | null;
  readonly paused?: boolean;
  readonly deleting?: boolean;
  readonly annotated?: boolean;
  readonly status?: VirtualMachineInstanceReplicaSet["status"];
  readonly templateName?: string;
}

/** The user guide's `testreplicaset` (selector `myvmi: myvmi`, containerDisk template). */
export function replicaSet(options: ReplicaSetOptions = {}): VirtualMachineInstanceReplicaSet {
  const spec: VirtualMachineInstanceReplicaSet["spec"] = {
    replicas: 2,
    selector: { matchLabels: { myvmi: "myvmi" } },
    template: {
      metadata: {
        labels: { myvmi: "myvmi" },
        ...(options.templateName ? { name: options.templateName } : {}),
      },
      spec: {
        domain: {
          devices: { disks: [{ name: "containerdisk", disk: { bus: "virtio" } }] },
          resources: { requests: { memory: "64M" } },
        },
        volumes: [
          { name: "containerdisk", containerDisk: { image: "kubevirt/cirros-container-disk-demo:latest" } },
        ],
      },
    },
    ...(options.paused ? { paused: true } : {}),
  };
  if (options.replicas === null) delete spec.replicas;
  else if (options.replicas !== undefined) spec.replicas = options.replicas;
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstanceReplicaSet",
    metadata: {
      name: RS_NAME,
      namespace: NS,
      uid: RS_UID,
      generation: 1,
      resourceVersion: "500",
      ...(options.annotated === false
        ? {}
        : {
            annotations: {
              "kubevirt.io/latest-observed-api-version": "v1",
              "kubevirt.io/storage-observed-api-version": "v1",
            },
          }),
      ...(options.deleting ? { deletionTimestamp: "2025-06-01T11:59:00Z" } : {}),
    },
    spec,
    ...(options.status ? { status: options.status } : {}),
  };
}

export interface RSVMIOptions {
  readonly owner?: "rs" | "none" | "other";
  readonly phase?: string;
  readonly ready?: boolean;
  readonly deleting?: boolean;
  readonly podTerminating?: boolean;
  readonly labels?: Record<string, string>;
}

/** A VMI named `testreplicaset<suffix>` as the replica set (or `options.owner`) created it. */
export function rsVMI(suffix: string, options: RSVMIOptions = {}): VirtualMachineInstance {
  const name = `${RS_NAME}${suffix}`;
  const owner = options.owner ?? "rs";
  const ready =
    options.podTerminating === true
      ? readyCondition("False", { reason: "PodTerminating" })
      : readyCondition(options.ready === false ? "False" : "True");
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      resourceVersion: "600",
      labels: options.labels ?? { myvmi: "myvmi" },
      ...(owner === "none"
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: "kubevirt.io/v1",
                kind: "VirtualMachineInstanceReplicaSet",
                name: owner === "rs" ? RS_NAME : "other-rs",
                uid: owner === "rs" ? RS_UID : "other-rs-uid",
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }),
      ...(options.deleting ? { deletionTimestamp: "2025-06-01T11:58:00Z" } : {}),
    },
    spec: {},
    status: { phase: options.phase ?? "Running", conditions: [ready] },
  };
}
