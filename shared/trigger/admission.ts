/**
 * The API server's admission calls as a trigger: the AdmissionReview v1 schema (what kube-apiserver sends to a
 * validating webhook, see https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
 * "Request"), the answer that always allows, and which pool an admitted object belongs to. Pure: no I/O; when the
 * owner is not in the object (a pool VM's VMI without the revision label) it says which VM to read.
 */
import { z } from "zod";
import { POOL_REVISION_LABEL } from "../planning";
import type { PoolRef } from "../reconcile";
import { nameMap } from "../schemas";

const groupVersionKind = z.looseObject({ group: z.string(), version: z.string(), kind: z.string().min(1) });
const groupVersionResource = z.looseObject({
  group: z.string(),
  version: z.string(),
  resource: z.string().min(1),
});

const ownerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
});

/** The part of `object`/`oldObject` we read: metadata only (the rest is the resource's business). */
const admittedObject = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().optional(),
      namespace: z.string().optional(),
      labels: nameMap(z.string()).nullish(),
      ownerReferences: z.array(ownerReference).nullish(),
    })
    .optional(),
});
export type AdmittedObject = z.infer<typeof admittedObject>;

export const ADMISSION_OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;

/** `request` of an AdmissionReview v1. Unknown extra keys (userInfo, options, requestKind, …) are accepted. */
export const admissionRequestSchema = z.looseObject({
  uid: z.string().min(1),
  kind: groupVersionKind,
  resource: groupVersionResource,
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(ADMISSION_OPERATIONS),
  object: admittedObject.nullish(),
  oldObject: admittedObject.nullish(),
  dryRun: z.boolean().optional(),
});
export type AdmissionRequest = z.infer<typeof admissionRequestSchema>;

export const admissionReviewSchema = z.looseObject({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: admissionRequestSchema,
});
export type AdmissionReview = z.infer<typeof admissionReviewSchema>;

/** The answer: always allowed, echoing the request's uid (the API server refuses an answer for another uid). */
export function allowed(uid: string) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid, allowed: true },
  } as const;
}

/** Which pool an admitted object belongs to. */
export type AdmissionTarget =
  | { readonly kind: "pool"; readonly ref: PoolRef }
  /** A VMI of a VM whose owner is not written in the VMI: read the VM to find its pool. */
  | { readonly kind: "viaVM"; readonly namespace: string; readonly name: string }
  | { readonly kind: "none"; readonly reason: string };

const POOL_RESOURCES: Record<string, { group: string; kind: PoolRef["kind"] }> = {
  virtualmachinepools: { group: "pool.kubevirt.io", kind: "VirtualMachinePool" },
  virtualmachineinstancereplicasets: { group: "kubevirt.io", kind: "VirtualMachineInstanceReplicaSet" },
};

/** The controller owner reference (`controller: true`), as KubeVirt's controllers set it. */
function controllerOf(object: AdmittedObject | null | undefined) {
  return object?.metadata?.ownerReferences?.find((o) => o.controller === true);
}

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

/**
 * The pool to reconcile for an admitted request: the pool or replica set itself (also through `/scale`, whose
 * object is an autoscaling/v1 Scale), a VM's controller pool, a VMI's controller replica set, or for a VMI owned
 * by a VM the pool named by the revision label KubeVirt's pool controller copies onto it (`<pool>-<generation>`).
 * Reads `object`, or `oldObject` on DELETE (where `object` is null).
 */
export function admissionTarget(request: AdmissionRequest): AdmissionTarget {
  if (request.dryRun) return { kind: "none", reason: "DryRun" };
  const object = request.object ?? request.oldObject;
  return targetOf(
    request.resource,
    request.namespace ?? object?.metadata?.namespace,
    request.name || object?.metadata?.name,
    [request.object, request.oldObject],
  );
}

/**
 * The pool an object of `resource` belongs to (see {@link admissionTarget}); `objects` are its versions, newest
 * first (an update's new and old object), of which the first present one is read for labels. Also what a watch
 * event maps to.
 */
export function targetOf(
  resource: { readonly group: string; readonly resource: string },
  namespace: string | undefined,
  name: string | undefined,
  objects: readonly (AdmittedObject | null | undefined)[],
): AdmissionTarget {
  if (!namespace) return { kind: "none", reason: "NotNamespaced" };
  const poolResource = POOL_RESOURCES[resource.resource];
  if (poolResource && poolResource.group === resource.group) {
    if (!name) return { kind: "none", reason: "NoName" };
    return { kind: "pool", ref: { kind: poolResource.kind, namespace, name } };
  }
  if (resource.group !== "kubevirt.io") return { kind: "none", reason: "NotWatched" };
  const object = objects.find((o) => o != null);
  const owner = objects.map(controllerOf).find((o) => o !== undefined);
  if (resource.resource === "virtualmachines") {
    if (owner?.kind === "VirtualMachinePool" && groupOf(owner.apiVersion) === "pool.kubevirt.io")
      return { kind: "pool", ref: { kind: "VirtualMachinePool", namespace, name: owner.name } };
    return { kind: "none", reason: "NotOwnedByPool" };
  }
  if (resource.resource === "virtualmachineinstances") {
    if (owner?.kind === "VirtualMachineInstanceReplicaSet" && groupOf(owner.apiVersion) === "kubevirt.io")
      return { kind: "pool", ref: { kind: "VirtualMachineInstanceReplicaSet", namespace, name: owner.name } };
    if (owner?.kind === "VirtualMachine" && groupOf(owner.apiVersion) === "kubevirt.io") {
      const pool = poolOfRevision(object?.metadata?.labels?.[POOL_REVISION_LABEL]);
      if (pool) return { kind: "pool", ref: { kind: "VirtualMachinePool", namespace, name: pool } };
      return { kind: "viaVM", namespace, name: owner.name };
    }
    return { kind: "none", reason: "NotOwnedByPool" };
  }
  return { kind: "none", reason: "NotWatched" };
}

/** `<pool>-<generation>` → `<pool>` (the revision names KubeVirt's pool controller gives its ControllerRevisions). */
export function poolOfRevision(revision: string | undefined): string | undefined {
  const match = revision === undefined ? null : /^(.+)-\d+$/.exec(revision);
  return match?.[1];
}
