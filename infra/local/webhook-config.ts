/**
 * ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1) as the local cluster stores it: the zod schema
 * the dispatcher (./webhooks) reads stored configurations with, kube's defaults (`SetDefaults_ValidatingWebhook`,
 * `SetDefaults_Rule`, `SetDefaults_ServiceReference`) and the validation users hit, with kube-apiserver 1.34's
 * messages (`pkg/apis/admissionregistration/validation/validation.go`, apiserver `util/webhook/validation.go`).
 * No I/O; the registry calls {@link webhookConfigurationDefaults} and {@link validateWebhookConfiguration} on writes.
 */
import { z } from "zod";
import { type ApiError, invalid, notSupported, type StatusCause } from "./errors";
import type { KObject } from "./store";

export const WEBHOOK_CONFIG_GROUP = "admissionregistration.k8s.io";
export const WEBHOOK_CONFIG_KIND = "ValidatingWebhookConfiguration";

const SIDE_EFFECTS = ["None", "NoneOnDryRun"] as const;
const FAILURE_POLICIES = ["Fail", "Ignore"] as const;
const MATCH_POLICIES = ["Equivalent", "Exact"] as const;
const SCOPES = ["*", "Cluster", "Namespaced"] as const;
const OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"] as const;
const REVIEW_VERSIONS = ["v1", "v1beta1"];
export const DEFAULT_TIMEOUT_SECONDS = 10;

const labelSelector = z.looseObject({
  matchLabels: z.record(z.string(), z.string()).nullish(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});

const rule = z.looseObject({
  operations: z.array(z.enum(OPERATIONS)).default([]),
  apiGroups: z.array(z.string()).default([]),
  apiVersions: z.array(z.string()).default([]),
  resources: z.array(z.string()).default([]),
  scope: z.enum(SCOPES).default("*"),
});

/** One stored (defaulted, validated) webhook, as the dispatcher reads it. */
export const validatingWebhookSchema = z.looseObject({
  name: z.string(),
  clientConfig: z.looseObject({
    url: z.string().optional(),
    service: z
      .looseObject({
        namespace: z.string(),
        name: z.string(),
        path: z.string().optional(),
        port: z.number().int().default(443),
      })
      .optional(),
    caBundle: z.string().optional(),
  }),
  rules: z.array(rule).default([]),
  failurePolicy: z.enum(FAILURE_POLICIES).default("Fail"),
  matchPolicy: z.enum(MATCH_POLICIES).default("Equivalent"),
  namespaceSelector: labelSelector.default({}),
  objectSelector: labelSelector.default({}),
  // Any class: one stored before v1 (Unknown, Some) refuses dry runs instead of being skipped.
  sideEffects: z.string(),
  timeoutSeconds: z.number().int().min(1).max(30).default(DEFAULT_TIMEOUT_SECONDS),
  admissionReviewVersions: z.array(z.string()),
});
export type ValidatingWebhook = z.infer<typeof validatingWebhookSchema>;

export const webhookConfigurationSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  webhooks: z.array(validatingWebhookSchema).nullish(),
});

type Json = Record<string, unknown>;

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The v1 defaults of every webhook, its rules and its service reference. */
export function webhookConfigurationDefaults(obj: KObject): KObject {
  if (!Array.isArray(obj.webhooks)) return obj;
  const webhooks = obj.webhooks.map((item) => {
    const hook = rec(item);
    if (!hook) return item;
    const clientConfig = rec(hook.clientConfig);
    const service = rec(clientConfig?.service);
    return {
      ...hook,
      ...(clientConfig && service
        ? { clientConfig: { ...clientConfig, service: { port: 443, ...service } } }
        : {}),
      ...(Array.isArray(hook.rules)
        ? { rules: hook.rules.map((r) => (rec(r) ? { scope: "*", ...(r as Json) } : r)) }
        : {}),
      failurePolicy: hook.failurePolicy ?? "Fail",
      matchPolicy: hook.matchPolicy ?? "Equivalent",
      namespaceSelector: hook.namespaceSelector ?? {},
      objectSelector: hook.objectSelector ?? {},
      timeoutSeconds: hook.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    };
  });
  return { ...obj, webhooks };
}

const required = (field: string, detail = ""): StatusCause => ({
  reason: "FieldValueRequired",
  message: detail === "" ? "Required value" : `Required value: ${detail}`,
  field,
});
const invalidValue = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  field,
});

const URL_FORM = "; desired format: https://host[/path]";

/** `ValidateWebhookURL` with https forced. */
function urlCauses(field: string, text: string): StatusCause[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    return [
      required(
        field,
        `url must be a valid URL: ${err instanceof Error ? err.message : String(err)}${URL_FORM}`,
      ),
    ];
  }
  const causes: StatusCause[] = [];
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "https")
    causes.push(invalidValue(field, scheme, `'https' is the only allowed URL scheme${URL_FORM}`));
  if (url.host === "") causes.push(invalidValue(field, url.host, `host must be specified${URL_FORM}`));
  if (url.username !== "" || url.password !== "")
    causes.push(invalidValue(field, url.username, "user information is not permitted in the URL"));
  if (url.hash !== "")
    causes.push(invalidValue(field, url.hash.slice(1), "fragments are not permitted in the URL"));
  if (url.search !== "")
    causes.push(invalidValue(field, url.search.slice(1), "query parameters are not permitted in the URL"));
  return causes;
}

/** The causes of one webhook (defaults already applied). */
function webhookCauses(hook: Json, at: string, seen: Set<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = typeof hook.name === "string" ? hook.name : "";
  if (name.split(".").length < 3)
    causes.push(
      invalidValue(`${at}.name`, name, "should be a domain with at least three segments separated by dots"),
    );
  else if (seen.has(name))
    causes.push({
      reason: "FieldValueDuplicate",
      message: `Duplicate value: ${JSON.stringify(name)}`,
      field: `${at}.name`,
    });
  seen.add(name);
  const rules = Array.isArray(hook.rules) ? hook.rules : [];
  rules.forEach((r, i) => {
    const ruleAt = `${at}.rules[${i}]`;
    const value = rec(r) ?? {};
    for (const key of ["operations", "apiGroups", "apiVersions", "resources"]) {
      if (!Array.isArray(value[key]) || (value[key] as unknown[]).length === 0)
        causes.push(required(`${ruleAt}.${key}`));
    }
    if (!(SCOPES as readonly unknown[]).includes(value.scope))
      causes.push(notSupported(`${ruleAt}.scope`, value.scope, [...SCOPES]));
  });
  if (!(FAILURE_POLICIES as readonly unknown[]).includes(hook.failurePolicy))
    causes.push(notSupported(`${at}.failurePolicy`, hook.failurePolicy, [...FAILURE_POLICIES]));
  if (!(MATCH_POLICIES as readonly unknown[]).includes(hook.matchPolicy))
    causes.push(notSupported(`${at}.matchPolicy`, hook.matchPolicy, [...MATCH_POLICIES]));
  if (hook.sideEffects === undefined || hook.sideEffects === null)
    causes.push(required(`${at}.sideEffects`, `must specify one of ${SIDE_EFFECTS.join(", ")}`));
  else if (!(SIDE_EFFECTS as readonly unknown[]).includes(hook.sideEffects))
    causes.push(notSupported(`${at}.sideEffects`, hook.sideEffects, [...SIDE_EFFECTS]));
  const timeout = hook.timeoutSeconds;
  if (typeof timeout !== "number" || timeout > 30 || timeout < 1)
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${String(timeout)}: the timeout value must be between 1 and 30 seconds`,
      field: `${at}.timeoutSeconds`,
    });
  const versions = Array.isArray(hook.admissionReviewVersions) ? hook.admissionReviewVersions : [];
  if (versions.length === 0)
    causes.push(
      required(`${at}.admissionReviewVersions`, `must specify one of ${REVIEW_VERSIONS.join(", ")}`),
    );
  else if (!versions.some((v) => REVIEW_VERSIONS.includes(String(v))))
    causes.push(
      invalidValue(
        `${at}.admissionReviewVersions`,
        versions,
        `must include at least one of ${REVIEW_VERSIONS.join(", ")}`,
      ),
    );
  const clientConfig = rec(hook.clientConfig) ?? {};
  const url = clientConfig.url;
  const service = rec(clientConfig.service);
  if ((url === undefined) === (service === undefined))
    causes.push(required(`${at}.clientConfig`, "exactly one of url or service is required"));
  else if (typeof url === "string") causes.push(...urlCauses(`${at}.clientConfig.url`, url));
  else if (service) {
    if (typeof service.name !== "string" || service.name === "")
      causes.push(required(`${at}.clientConfig.service.name`));
    if (typeof service.namespace !== "string" || service.namespace === "")
      causes.push(required(`${at}.clientConfig.service.namespace`));
    const path = service.path;
    if (typeof path === "string" && path !== "" && !path.startsWith("/"))
      causes.push(invalidValue(`${at}.clientConfig.service.path`, path, "must start with a '/'"));
  }
  if (typeof clientConfig.caBundle === "string" && !/^[A-Za-z0-9+/]*={0,2}$/.test(clientConfig.caBundle))
    causes.push(invalidValue(`${at}.clientConfig.caBundle`, clientConfig.caBundle, "illegal base64 data"));
  return causes;
}

/** 422 Invalid with every cause, or undefined when the configuration is valid. */
export function validateWebhookConfiguration(obj: KObject): ApiError | undefined {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const webhooks = Array.isArray(obj.webhooks) ? obj.webhooks : [];
  webhooks.forEach((hook, i) => {
    causes.push(...webhookCauses(rec(hook) ?? {}, `webhooks[${i}]`, seen));
  });
  return causes.length > 0
    ? invalid(WEBHOOK_CONFIG_GROUP, WEBHOOK_CONFIG_KIND, obj.metadata.name, causes)
    : undefined;
}
