/**
 * Kubernetes object names as chat users type them: DNS-1123 checks and the pool kinds with their kubectl short
 * names, so a chat reference reads like `kubectl get vmpool/default/...` would.
 */

/** The two pool kinds a chat command can target. */
export type PoolKind = "VirtualMachinePool" | "VirtualMachineInstanceReplicaSet";

/** A fully resolved pool: what the pass and the renderer work with. */
export interface PoolId {
  readonly kind: PoolKind;
  readonly namespace: string;
  readonly name: string;
}

/** Largest replica count a chat command may ask for (also the bound for autoscale limits). */
export const MAX_REPLICAS = 10_000;

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Namespaces are DNS-1123 labels (k8s.io/apimachinery `IsDNS1123Label`, at most 63 characters). */
export function isNamespace(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Custom-resource names are DNS-1123 subdomains (`IsDNS1123Subdomain`, at most 253 characters). */
export function isObjectName(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

// kubectl accepts the short names, singular and plural (infra/local/resources.ts lists the same short names).
const KIND_ALIASES: ReadonlyMap<string, PoolKind> = new Map([
  ["vmpool", "VirtualMachinePool"],
  ["vmpools", "VirtualMachinePool"],
  ["virtualmachinepool", "VirtualMachinePool"],
  ["virtualmachinepools", "VirtualMachinePool"],
  ["vmirs", "VirtualMachineInstanceReplicaSet"],
  ["vmirss", "VirtualMachineInstanceReplicaSet"],
  ["virtualmachineinstancereplicaset", "VirtualMachineInstanceReplicaSet"],
  ["virtualmachineinstancereplicasets", "VirtualMachineInstanceReplicaSet"],
]);

/** The pool kind a chat prefix names (`vmpool`, `vmirs`, …, case-insensitive), or undefined. */
export function poolKindFromAlias(alias: string): PoolKind | undefined {
  return KIND_ALIASES.get(alias.toLowerCase());
}

/** The short prefix users type for a kind. */
export function poolKindAlias(kind: PoolKind): "vmpool" | "vmirs" {
  return kind === "VirtualMachinePool" ? "vmpool" : "vmirs";
}

/** `vmpool/default/vm-pool-cirros`: the unambiguous way to name a pool in chat. */
export function formatPoolId(pool: PoolId): string {
  return `${poolKindAlias(pool.kind)}/${pool.namespace}/${pool.name}`;
}
