/**
 * The create-only review resources kubectl's `auth` commands POST: SelfSubjectAccessReview (`kubectl auth can-i`),
 * SelfSubjectRulesReview (`can-i --list`) and SelfSubjectReview (`kubectl auth whoami`). Nothing is stored: the
 * request comes back with the server's answer in `status`. The local cluster has one identity and authorizes
 * everything (as kube-apiserver with `--authorization-mode=AlwaysAllow` does), so every access review is allowed.
 * Validation messages follow k8s `pkg/apis/authorization/validation`.
 */
import { invalid } from "./errors";
import { groupVersion, type ResourceDef } from "./resources";
import { normalizeObjectMeta } from "./schema";
import { formatTime } from "./validation";

type Json = Record<string, unknown>;

/** Who the local cluster says the caller is. */
export const LOCAL_USER = {
  username: "vmpool-local",
  groups: ["system:masters", "system:authenticated"],
} as const;

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * The 201 body for a review `input` (already decoded): an access review comes back as sent with its status, a rules
 * review and a self review are new objects (the latter stamped with the time), as their REST storages build them.
 */
export function answerReview(def: ResourceDef, version: string, input: Json, now: Date): Json {
  const base = {
    kind: def.kind,
    apiVersion: groupVersion(def.group, version),
    metadata: normalizeObjectMeta({ ...(rec(input.metadata) ?? {}) }),
  };
  switch (def.kind) {
    case "SelfSubjectAccessReview": {
      const spec = rec(input.spec) ?? {};
      const resource = rec(spec.resourceAttributes);
      const nonResource = rec(spec.nonResourceAttributes);
      // Kube names no kind here: the message starts `.authorization.k8s.io "" is invalid`.
      if (resource && nonResource) {
        throw invalid(def.group, "", "", [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: ${JSON.stringify(nonResource)}: cannot be specified in combination with resourceAttributes`,
            field: "spec.nonResourceAttributes",
          },
        ]);
      }
      if (!resource && !nonResource) {
        throw invalid(def.group, "", "", [
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
        metadata: {},
        spec: {},
        status: {
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          incomplete: false,
        },
      };
    default:
      return {
        ...base,
        metadata: { creationTimestamp: formatTime(now) },
        status: { userInfo: { ...LOCAL_USER, groups: [...LOCAL_USER.groups] } },
      };
  }
}
