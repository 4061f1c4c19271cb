/**
 * RBAC helpers for tests: the manifests in infra/kubernetes parsed with the `yaml` library, the ClusterRole's
 * rules expanded to `group|resource|verb` keys, and kube-apiserver's request-info resolution (the verb and
 * resource RBAC authorizes a request by) for requests recorded on the wire.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { z } from "zod";

export const MANIFEST_DIR = join(import.meta.dirname, "../../infra/kubernetes");

export const RuleSchema = z.strictObject({
  apiGroups: z.array(z.string()).min(1),
  resources: z.array(z.string().min(1)).min(1),
  verbs: z.array(z.string().min(1)).min(1),
});
export type Rule = z.infer<typeof RuleSchema>;

export const ClusterRoleSchema = z.looseObject({
  apiVersion: z.literal("rbac.authorization.k8s.io/v1"),
  kind: z.literal("ClusterRole"),
  metadata: z.looseObject({ name: z.string() }),
  rules: z.array(RuleSchema).min(1),
});

/** One YAML file's documents, in order, with the file they came from. */
export interface ManifestDocument {
  readonly file: string;
  readonly doc: Record<string, unknown>;
}

const KustomizationSchema = z.looseObject({
  kind: z.literal("Kustomization"),
  resources: z.array(z.string().regex(/^[\w.-]+\.yaml$/, "a file of this directory")).min(1),
});

/** The files the kustomize base in `dir` lists, in its order (what `kubectl apply -k` applies). */
export function kustomizationResources(dir = MANIFEST_DIR): string[] {
  const parsed = KustomizationSchema.parse(parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")));
  return parsed.resources;
}

/** Every document of every file the kustomize base in infra/kubernetes lists, in its order. */
export function manifestDocuments(dir = MANIFEST_DIR): ManifestDocument[] {
  return kustomizationResources(dir)
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => {
        if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
        return { file, doc: d.toJS() as Record<string, unknown> };
      }),
    )
    .filter(({ doc }) => doc !== null && typeof doc === "object");
}

/** `group|resource|verb`, the unit RBAC grants. */
export function rbacKey(a: { apiGroup: string; resource: string; verb: string }): string {
  return `${a.apiGroup}|${a.resource}|${a.verb}`;
}

/** A ClusterRole's rules as one key per granted (group, resource, verb). */
export function expandRules(rules: readonly Rule[]): string[] {
  return rules.flatMap((r) =>
    r.apiGroups.flatMap((apiGroup) =>
      r.resources.flatMap((resource) => r.verbs.map((verb) => rbacKey({ apiGroup, resource, verb }))),
    ),
  );
}

/** The rules of the one ClusterRole in infra/kubernetes. */
export function clusterRoleRules(): Rule[] {
  const roles = manifestDocuments().filter(({ doc }) => doc.kind === "ClusterRole");
  if (roles.length !== 1) throw new Error(`expected one ClusterRole, found ${roles.length}`);
  return ClusterRoleSchema.parse(roles[0]?.doc).rules;
}

/**
 * What RBAC checks for one request (kube-apiserver's RequestInfoFactory): the key, or undefined for non-resource
 * URLs such as group discovery (`/apis/<group>`), which the default `system:discovery` role allows.
 */
export function requestRbacKey(method: string, url: string): string | undefined {
  const parsed = new URL(url, "http://x");
  const parts = parsed.pathname.split("/").filter(Boolean);
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === "api" && parts.length >= 3) {
    apiGroup = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    apiGroup = parts[1] ?? "";
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [plural, name, sub] = rest;
  const resource = sub ? `${plural}/${sub}` : (plural ?? "");
  const verbs: Record<string, string> = {
    GET: name ? "get" : parsed.searchParams.get("watch") === "true" ? "watch" : "list",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: name ? "delete" : "deletecollection",
  };
  return rbacKey({ apiGroup, resource, verb: verbs[method] ?? method.toLowerCase() });
}
