/**
 * The create-only review resources kubectl's `auth` commands POST: SelfSubjectAccessReview (`kubectl auth can-i`),
 * SelfSubjectRulesReview (`can-i --list`) and SelfSubjectReview (`kubectl auth whoami`). Nothing is stored: the
 * request comes back with the server's answer in `status`. The local cluster has one identity and authorizes
 * everything (as kube-apiserver with `--authorization-mode=AlwaysAllow` does), so every access review is allowed.
 * Validation messages follow k8s `pkg/apis/authorization/validation`.
 */
import { invalid } from "./errors";
import { groupVersion, type ResourceDef } from "./resources";

type Json = Record<string, unknown>;

/** Who the local cluster says the caller is. */
export const LOCAL_USER = {
  username: "vmpool-local",
  groups: ["system:masters", "system:authenticated"],
} as const;

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The review `input` (already decoded) with its answer, as the 201 body. */
export function answerReview(def: ResourceDef, version: string, input: Json): Json {
  const base = {
    kind: def.kind,
    apiVersion: groupVersion(def.group, version),
    metadata: { ...(rec(input.metadata) ?? {}), creationTimestamp: null },
  };
  switch (def.kind) {
    case "SelfSubjectAccessReview": {
      const spec = rec(input.spec) ?? {};
      const resource = rec(spec.resourceAttributes);
      const nonResource = rec(spec.nonResourceAttributes);
      if (resource && nonResource) {
        throw invalid(def.group, def.kind, "", [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: ${JSON.stringify(nonResource)}: cannot be specified in combination with resourceAttributes`,
            field: "spec.nonResourceAttributes",
          },
        ]);
      }
      if (!resource && !nonResource) {
        throw invalid(def.group, def.kind, "", [
          {
            reason: "FieldValueInvalid",
            message:
              "Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            field: "spec.resourceAttributes",
          },
        ]);
      }
      return { ...base, spec, status: { allowed: true } };
    }
    case "SelfSubjectRulesReview":
      return {
        ...base,
        spec: rec(input.spec) ?? {},
        status: {
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          incomplete: false,
        },
      };
    default:
      return { ...base, status: { userInfo: { ...LOCAL_USER, groups: [...LOCAL_USER.groups] } } };
  }
}
