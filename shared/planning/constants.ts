/**
 * Names and numbers the planner shares with KubeVirt: API versions, finalizers, labels, annotations, event source
 * components and the burst limit (shared/reference/kubevirt-semantics.md §0, §1.1, §1.12, §2.4).
 */

/** KubeVirt's `BurstReplicas`: the most writes one pass may plan (pkg/controller/controller.go). */
export const BURST_REPLICAS = 250;

export const POOL_API_VERSION = "pool.kubevirt.io/v1beta1";
export const POOL_KIND = "VirtualMachinePool";
export const KUBEVIRT_API_VERSION = "kubevirt.io/v1";
export const VM_KIND = "VirtualMachine";
export const VMI_KIND = "VirtualMachineInstance";
export const REPLICA_SET_KIND = "VirtualMachineInstanceReplicaSet";
export const REVISION_API_VERSION = "apps/v1";
export const REVISION_KIND = "ControllerRevision";

/** Finalizer a pool puts on itself and on every VM it creates. */
export const POOL_FINALIZER = "pool.kubevirt.io/finalizer";
/** Label naming the pool ControllerRevision a VM (and its VMI) was built from. */
export const POOL_REVISION_LABEL = "kubevirt.io/vm-pool-revision-name";

export const LATEST_API_VERSION_ANNOTATION = "kubevirt.io/latest-observed-api-version";
export const STORAGE_API_VERSION_ANNOTATION = "kubevirt.io/storage-observed-api-version";

/** Event source components, so `kubectl describe` reads like KubeVirt's. */
export const POOL_COMPONENT = "virtualmachinepool-controller";
export const REPLICA_SET_COMPONENT = "virtualmachinereplicaset-controller";

/** Upstream requeue delays: after a watch event, and when `maxUnavailable` blocks a proactive update. */
export const REQUEUE_AFTER_BURST_SECONDS = 1;
export const REQUEUE_AFTER_MAX_UNAVAILABLE_SECONDS = 3;

export const DEFAULT_STARTUP_FAILURE_THRESHOLD = 3;
export const DEFAULT_MIN_FAILING_TO_START_MS = 5 * 60 * 1000;
export const DEFAULT_MAX_UNAVAILABLE = "100%";
