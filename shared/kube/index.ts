/**
 * shared/kube owns every conversation with the Kubernetes API and is the only module that imports
 * `@kubernetes/client-node`. It turns a named cluster source into a `Kube` client (built once per cold start)
 * whose narrow verbs — get, list, create, patch, replace, replaceStatus, delete, scale, recordEvent and
 * acquireLease — are generic over a small table of kinds (KubeVirt pools, replica sets, VMs, VMIs, revisions,
 * DataVolumes, HPAs, Events, Pods, Leases, ConfigMaps). Reads are zod-validated, writes carry the
 * `vmpool-functions` field manager, failures are reason-coded `KubeError`s, retryable ones are retried within
 * the caller's deadline, and every request is counted. An EKS cluster's bearer tokens are minted in-process from
 * AWS credentials (./eks).
 */
export {
  type Access,
  type ApiVerb,
  accessOf,
  isKindless,
  KIND_NAMES,
  type KubeMethod,
  type RbacAttributes,
  rbacAttributes,
  type Subresource,
} from "./access";
export {
  type CallOptions,
  createKube,
  DEFAULT_FIELD_MANAGER,
  type DeleteOptions,
  type DeleteOutcome,
  type JsonPatchOp,
  type Kube,
  type KubeOptions,
  type LenientList,
  type ListOptions,
  type MergePatch,
  type NewObject,
  type PatchBody,
  type PatchOptions,
  type PatchType,
  type UnreadableItem,
} from "./client";
export {
  type AwsCredentials,
  type AwsCredentialsProvider,
  type BearerSource,
  CLUSTER_ID_HEADER,
  EKS_TOKEN_LIFETIME_MS,
  EKS_TOKEN_PREFIX,
  EKS_TOKEN_REFRESH_MARGIN_MS,
  type EksToken,
  type EksTokenSourceOptions,
  eksTokenSource,
  mintEksToken,
  PRESIGN_EXPIRES_SECONDS,
  stsHost,
} from "./eks";
export {
  isKubeError,
  KUBE_ERROR_REASONS,
  KubeError,
  type KubeErrorReason,
  type KubeRequestContext,
} from "./errors";
export { type EventInput, formatMicroTime, formatTime, type InvolvedObject } from "./events";
export type { LeaseAcquired, LeaseAcquisition, LeaseHeld, LeaseRequest } from "./lease";
export type {
  ConfigMap,
  KindName,
  KubeEvent,
  Lease,
  ObjectOf,
  Pod,
  PodMetrics,
  ScalableKind,
  Scale,
  StatusKind,
} from "./resources";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry";
export { type ClusterSource, ClusterSourceSchema, kubeConfigFrom } from "./source";
export type { KubeStats } from "./stats";
export { agentReuse } from "./transport";
export type { KindWatch, WatchChange, WatchedObject, WatchOptions } from "./watch";
