/**
 * What each `Kube` verb asks of the API server in RBAC terms: the (API group, resource, subresource, verb) of every
 * request one call can send. The RBAC test combines this with a scan of the call sites to derive the least
 * ClusterRole the functions need (infra/kubernetes/rbac.yaml) and checks this table against the requests the
 * client really sends. Group discovery (`GET /apis/<group>` for kinds with several versions) is a non-resource
 * URL that Kubernetes' default `system:discovery` role grants every authenticated user.
 */
import type { Kube } from "./client";
import { type KindName, RESOURCES } from "./resources";

/** Every kind shared/kube can address. */
export const KIND_NAMES = Object.keys(RESOURCES) as readonly KindName[];

/** The RBAC verbs the client can need (it never deletes a collection). */
export type ApiVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

export type Subresource = "status" | "scale";

/** The Kube methods that send requests. */
export type KubeMethod = Exclude<keyof Kube, "withDeadline" | "stats" | "resetStats">;

/** One kind of request: a verb on a kind or one of its subresources. */
export interface Access {
  readonly kind: KindName;
  readonly subresource?: Subresource;
  readonly verb: ApiVerb;
}

/** RBAC request attributes: `resource` is the plural, or `plural/subresource`. */
export interface RbacAttributes {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verb: ApiVerb;
}

/**
 * Per method: the requests it sends about the kind it is called with (`kind: "self"`), or about fixed kinds
 * (events and leases are written by recordEvent and acquireLease whatever the caller's kind).
 */
const METHOD_ACCESS: Record<
  KubeMethod,
  readonly { readonly kind: KindName | "self"; readonly verb: ApiVerb; readonly subresource?: Subresource }[]
> = {
  get: [{ kind: "self", verb: "get" }],
  list: [{ kind: "self", verb: "list" }],
  listLenient: [{ kind: "self", verb: "list" }],
  getScale: [{ kind: "self", verb: "get", subresource: "scale" }],
  create: [{ kind: "self", verb: "create" }],
  // A patch's subresource comes from its options; see accessOf.
  patch: [{ kind: "self", verb: "patch" }],
  replace: [{ kind: "self", verb: "update" }],
  replaceStatus: [{ kind: "self", verb: "update", subresource: "status" }],
  delete: [{ kind: "self", verb: "delete" }],
  scale: [{ kind: "self", verb: "patch", subresource: "scale" }],
  recordEvent: [{ kind: "Event", verb: "create" }],
  // The reflector's list, then its watch.
  watch: [
    { kind: "self", verb: "list" },
    { kind: "self", verb: "watch" },
  ],
  // Read the lease, create it when absent, take it over or release it with a resourceVersion-checked PUT.
  acquireLease: [
    { kind: "Lease", verb: "get" },
    { kind: "Lease", verb: "create" },
    { kind: "Lease", verb: "update" },
  ],
};

/**
 * The requests one call of `method` can send. `kind` is the call's kind argument (ignored by recordEvent and
 * acquireLease); `subresource` is a patch's `options.subresource`.
 */
export function accessOf(method: KubeMethod, kind: KindName, subresource?: Subresource): Access[] {
  return METHOD_ACCESS[method].map((entry) => {
    const sub = method === "patch" ? subresource : entry.subresource;
    return {
      kind: entry.kind === "self" ? kind : entry.kind,
      verb: entry.verb,
      ...(sub === undefined ? {} : { subresource: sub }),
    };
  });
}

/** True for methods whose requests do not depend on a kind argument. */
export function isKindless(method: KubeMethod): boolean {
  return METHOD_ACCESS[method].every((entry) => entry.kind !== "self");
}

/** The RBAC attributes of an access (the group and plural come from the kind table). */
export function rbacAttributes(access: Access): RbacAttributes {
  const desc = RESOURCES[access.kind];
  return {
    apiGroup: desc.group,
    resource: access.subresource === undefined ? desc.plural : `${desc.plural}/${access.subresource}`,
    verb: access.verb,
  };
}
