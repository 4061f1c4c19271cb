/**
 * Validating admission webhooks for the local cluster, called the way kube-apiserver 1.34 calls them
 * (apiserver `admission/plugin/webhook/validating/dispatcher.go`, `generic/webhook.go`, `predicates/*`,
 * `request/admissionreview.go`): every stored ValidatingWebhookConfiguration's webhooks are matched against a write
 * by `rules` (operations, apiGroups, apiVersions, resources with subresources, scope; `matchPolicy: Equivalent`
 * also matches the resource's other served versions, converting the object), `namespaceSelector` and
 * `objectSelector` (the object's or the old object's labels); the matching ones are called in parallel with an
 * AdmissionReview v1 over HTTPS, trusting only the `caBundle` when one is given, each within its
 * `timeoutSeconds`. A denial refuses the write with the webhook's Status; a failure (unreachable, timeout, TLS,
 * an invalid answer) is ignored under `failurePolicy: Ignore` and refuses the write with 500 InternalError under
 * `Fail`; a dry-run write reaches only webhooks whose `sideEffects` are None or NoneOnDryRun.
 *
 * {@link AdmittedWrites} wraps the registry's write verbs for the HTTP layer and the embedded simulator: it
 * computes the object as it would be stored (a dry run of the same write: decoded, defaulted and validated), calls
 * the webhooks, and then commits, redoing both if the object changed meanwhile (kube re-runs admission when its
 * GuaranteedUpdate retries). A write no webhook's rules can match is committed at once, synchronously, as before.
 *
 * Differences from kube-apiserver, on purpose: `clientConfig.service` is called at https://127.0.0.1:<port><path> (no
 * Services route here), its certificate verified for `<name>.<namespace>.svc` as kube does; `matchConditions`
 * (CEL) are not evaluated; the local garbage collector and namespace controller write without admission.
 */
import { randomUUID } from "node:crypto";
import { Agent, request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { z } from "zod";
import { fromLabelSelector, matches as matchesLabels, type Selector } from "../../shared/labels";
import { logger } from "../../shared/log";
import { fromStorage, toStorage } from "./convert";
import { ApiError, badRequest, notFound } from "./errors";
import type { DeleteOptions, DeleteResult, Registry, WriteOptions } from "./registry";
import { type ResourceDef, resourceKey } from "./resources";
import type { KObject, Store } from "./store";
import { type ValidatingWebhook, WEBHOOK_CONFIG_GROUP, webhookConfigurationSchema } from "./webhook-config";

const log = logger("local-webhooks");

type Json = Record<string, unknown>;
export type Operation = "CREATE" | "UPDATE" | "DELETE";

/** authentication/v1 UserInfo, as the AdmissionReview carries it. */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** Who a request to the local API server is (it has one user, the kubeconfig's; see DESIGN §6). */
export const LOCAL_ADMIN: UserInfo = {
  username: "system:admin",
  groups: ["system:masters", "system:authenticated"],
};

/** The embedded simulator plays virt-controller and virt-handler; it writes as KubeVirt's service account would. */
export const SIMULATOR_USER: UserInfo = {
  username: "system:serviceaccount:kubevirt:kubevirt-handler",
  groups: ["system:serviceaccounts", "system:serviceaccounts:kubevirt", "system:authenticated"],
};

/** One write as admission sees it (admission.Attributes). */
export interface AdmissionAttributes {
  readonly def: ResourceDef;
  /** The version the request was made at. */
  readonly version: string;
  readonly subresource: "" | "status" | "scale";
  readonly operation: Operation;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object at the request's version (a Scale for `/scale`); null on DELETE. */
  readonly object: Json | null;
  /** The current object (UPDATE, DELETE); null on CREATE. */
  readonly oldObject: Json | null;
  readonly dryRun: boolean;
  /** CreateOptions, UpdateOptions or DeleteOptions (meta.k8s.io/v1). */
  readonly options: Json;
  readonly userInfo: UserInfo;
}

/** One call the API server made (for tests and the benchmark). */
export interface WebhookCall {
  readonly webhook: string;
  readonly ms: number;
  readonly outcome: "allowed" | "denied" | "failed-ignored" | "failed";
}

export interface WebhookOptions {
  readonly onCall?: (call: WebhookCall) => void;
}

const WEBHOOK_RESOURCE = `validatingwebhookconfigurations.${WEBHOOK_CONFIG_GROUP}`;
/** Re-previews before committing anyway when the object keeps changing under its webhooks. */
const MAX_ADMISSION_ROUNDS = 8;

interface Hook {
  readonly configuration: string;
  readonly webhook: ValidatingWebhook;
  readonly namespaceSelector: Selector;
  readonly objectSelector: Selector;
}

/** A webhook to call and the resource it matched (another version than the request's under Equivalent). */
interface Invocation {
  readonly hook: Hook;
  readonly version: string;
}

const scaleKind = { group: "autoscaling", version: "v1", kind: "Scale" } as const;

const statusSchema = z.looseObject({
  code: z.number().int().optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  status: z.string().optional(),
  details: z.unknown().optional(),
});

const reviewAnswerSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  response: z
    .looseObject({
      uid: z.string().default(""),
      allowed: z.boolean().default(false),
      status: statusSchema.optional(),
      patch: z.string().optional(),
      patchType: z.string().optional(),
      warnings: z.array(z.string()).optional(),
    })
    .nullish(),
});

/** Why a call failed, worded as kube-apiserver's ErrCallingWebhook reasons. */
class CallFailure extends Error {}

/**
 * Finds and calls the webhooks for a write. Stored configurations are parsed once per resourceVersion; HTTPS
 * connections are kept alive per endpoint and trust, as kube's webhook client cache does.
 */
export class WebhookDispatcher {
  private readonly parsed = new Map<string, { rv: string; hooks: Hook[] }>();
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly store: Store,
    private readonly options: WebhookOptions = {},
  ) {}

  /** Every valid webhook stored, in configuration-name order. */
  private hooks(): Hook[] {
    const entries = this.store.list(WEBHOOK_RESOURCE, undefined);
    if (entries.length === 0) {
      this.parsed.clear();
      return [];
    }
    const out: Hook[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const name = entry.obj.metadata.name;
      seen.add(name);
      let cached = this.parsed.get(name);
      if (cached?.rv !== entry.obj.metadata.resourceVersion) {
        cached = { rv: entry.obj.metadata.resourceVersion, hooks: parseConfiguration(entry.obj) };
        this.parsed.set(name, cached);
      }
      out.push(...cached.hooks);
    }
    for (const name of this.parsed.keys()) if (!seen.has(name)) this.parsed.delete(name);
    return out;
  }

  /** Whether any webhook's rules match a write of this resource, before the objects are known. */
  mayCall(
    def: ResourceDef,
    version: string,
    subresource: string,
    operation: Operation,
    namespace: string | undefined,
  ): boolean {
    if (exempt(def)) return false;
    return this.hooks().some(
      (hook) => matchedVersion(hook.webhook, def, version, subresource, operation, namespace) !== undefined,
    );
  }

  /** Calls every matching webhook; resolves when the write may go on, rejects with the ApiError refusing it. */
  async admit(attrs: AdmissionAttributes, warnings?: string[]): Promise<void> {
    if (exempt(attrs.def)) return;
    const invocations: Invocation[] = [];
    for (const hook of this.hooks()) {
      const version = matchedVersion(
        hook.webhook,
        attrs.def,
        attrs.version,
        attrs.subresource,
        attrs.operation,
        attrs.namespace,
      );
      if (version === undefined) continue;
      if (!this.namespaceMatches(hook, attrs)) continue;
      if (!objectMatches(hook, attrs)) continue;
      invocations.push({ hook, version });
    }
    if (invocations.length === 0) return;
    const results = await Promise.all(
      invocations.map((invocation) => this.call(invocation, attrs, warnings)),
    );
    const refusal = results.find((r) => r !== undefined);
    if (refusal) throw refusal;
  }

  /** Ends kept-alive connections (the cluster is closing). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private namespaceMatches(hook: Hook, attrs: AdmissionAttributes): boolean {
    const isNamespace = attrs.def.group === "" && attrs.def.plural === "namespaces";
    if (attrs.namespace === undefined && !isNamespace) return true;
    if (hook.namespaceSelector.requirements.length === 0 && !hook.namespaceSelector.nothing) return true;
    let labels: Record<string, string> | undefined;
    if (isNamespace) labels = labelsOf(attrs.object ?? attrs.oldObject);
    else {
      const ns = this.store.get("namespaces", undefined, attrs.namespace as string);
      if (!ns) throw notFound("", "namespaces", attrs.namespace as string);
      labels = ns.obj.metadata.labels;
    }
    return matchesLabels(hook.namespaceSelector, labels ?? {});
  }

  /** One webhook call: undefined when the write may go on, else the error refusing it. */
  private async call(
    invocation: Invocation,
    attrs: AdmissionAttributes,
    warnings?: string[],
  ): Promise<ApiError | undefined> {
    const { webhook } = invocation.hook;
    if (attrs.dryRun && webhook.sideEffects !== "None" && webhook.sideEffects !== "NoneOnDryRun") {
      return badRequest(`admission webhook "${webhook.name}" does not support dry run`);
    }
    const started = performance.now();
    const done = (outcome: WebhookCall["outcome"]) =>
      this.options.onCall?.({ webhook: webhook.name, ms: performance.now() - started, outcome });
    const uid = randomUUID();
    try {
      const answer = await this.post(webhook, admissionReview(uid, invocation, attrs));
      const response = verifyResponse(uid, answer);
      if (warnings && response.warnings) warnings.push(...response.warnings);
      if (response.allowed) {
        done("allowed");
        return undefined;
      }
      done("denied");
      return denial(webhook.name, response.status);
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err;
      const message = `failed calling webhook "${webhook.name}": ${err.message}`;
      if (webhook.failurePolicy === "Ignore") {
        done("failed-ignored");
        log.warn({ webhook: webhook.name, reason: err.message }, "Failed calling webhook, failing open");
        return undefined;
      }
      done("failed");
      log.warn({ webhook: webhook.name, reason: err.message }, "Failed calling webhook, failing closed");
      return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
        causes: [{ message }],
      });
    }
  }

  /** POSTs the review within the webhook's timeout; the answer's JSON, or a CallFailure worded as Go's client. */
  private post(webhook: ValidatingWebhook, review: Json): Promise<unknown> {
    const target = endpointOf(webhook);
    const url = new URL(target.url);
    url.searchParams.set("timeout", `${webhook.timeoutSeconds}s`);
    const shown = `Post "${url.toString()}"`;
    const body = JSON.stringify(review);
    const ca = webhook.clientConfig.caBundle
      ? Buffer.from(webhook.clientConfig.caBundle, "base64").toString("utf8")
      : undefined;
    const agent = this.agentFor(target.url, target.serverName, ca);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new CallFailure(`failed to call webhook: ${reason}`));
      };
      const req = httpsRequest(
        url,
        {
          method: "POST",
          agent,
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json, */*",
            "Content-Length": Buffer.byteLength(body),
            "User-Agent": "kube-apiserver-admission",
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (err) => fail(`${shown}: ${err.message}`));
          res.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(new CallFailure(`failed to call webhook: ${serverResponseError(status, text)}`));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (err) {
              reject(
                new CallFailure(
                  `failed to call webhook: ${err instanceof Error ? err.message : String(err)}`,
                ),
              );
            }
          });
        },
      );
      const timer = setTimeout(
        () => fail(`${shown}: context deadline exceeded`),
        webhook.timeoutSeconds * 1000,
      );
      req.on("error", (err) => fail(`${shown}: ${goNetError(err, url)}`));
      req.end(body);
    });
  }

  private agentFor(url: string, serverName: string | undefined, ca: string | undefined): Agent {
    const key = `${url}\n${serverName ?? ""}\n${ca ?? ""}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: true,
        ...(serverName === undefined
          ? {}
          : {
              servername: serverName,
              // Verified for the Service's DNS name, whatever address it was reached at (as kube-apiserver does).
              checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                checkServerIdentity(serverName, cert),
            }),
      });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** Writes to webhook configurations themselves never go to webhooks (`IsExemptAdmissionConfigurationResource`). */
function exempt(def: ResourceDef): boolean {
  return def.group === WEBHOOK_CONFIG_GROUP;
}

function parseConfiguration(obj: KObject): Hook[] {
  const parsed = webhookConfigurationSchema.safeParse(obj);
  if (!parsed.success) {
    log.warn(
      { configuration: obj.metadata.name, issue: parsed.error.issues[0]?.message },
      "unusable webhook configuration skipped",
    );
    return [];
  }
  const hooks: Hook[] = [];
  for (const webhook of parsed.data.webhooks ?? []) {
    try {
      hooks.push({
        configuration: obj.metadata.name,
        webhook,
        namespaceSelector: fromLabelSelector(webhook.namespaceSelector),
        objectSelector: fromLabelSelector(webhook.objectSelector),
      });
    } catch (err) {
      log.warn({ webhook: webhook.name, err }, "webhook with an invalid selector skipped");
    }
  }
  return hooks;
}

function exactOrWildcard(items: readonly string[], requested: string): boolean {
  return items.some((item) => item === "*" || item === requested);
}

/** `rules.Matcher.Matches` for one rule and the resource at `version`. */
function ruleMatches(
  rule: ValidatingWebhook["rules"][number],
  def: ResourceDef,
  version: string,
  subresource: string,
  operation: Operation,
  namespace: string | undefined,
): boolean {
  const isNamespace = def.group === "" && def.plural === "namespaces";
  if (rule.scope === "Namespaced" && (isNamespace || namespace === undefined)) return false;
  if (rule.scope === "Cluster" && !(isNamespace || namespace === undefined)) return false;
  if (!rule.operations.some((op) => op === "*" || op === operation)) return false;
  if (!exactOrWildcard(rule.apiGroups, def.group) || !exactOrWildcard(rule.apiVersions, version))
    return false;
  return rule.resources.some((text) => {
    const slash = text.indexOf("/");
    const res = slash < 0 ? text : text.slice(0, slash);
    const sub = slash < 0 ? "" : text.slice(slash + 1);
    return (res === "*" || res === def.plural) && (sub === "*" || sub === subresource);
  });
}

/**
 * The version a webhook is called at: the request's when a rule matches it, else (matchPolicy Equivalent) the
 * first other served version of the same resource a rule matches, honouring earlier rules first.
 */
function matchedVersion(
  webhook: ValidatingWebhook,
  def: ResourceDef,
  version: string,
  subresource: string,
  operation: Operation,
  namespace: string | undefined,
): string | undefined {
  // kube reports a Namespace's own name as the namespace of a request for it.
  const ns = def.group === "" && def.plural === "namespaces" ? undefined : namespace;
  if (webhook.rules.some((r) => ruleMatches(r, def, version, subresource, operation, ns))) return version;
  if (webhook.matchPolicy !== "Equivalent") return undefined;
  for (const rule of webhook.rules) {
    for (const other of def.versions) {
      if (other !== version && ruleMatches(rule, def, other, subresource, operation, ns)) return other;
    }
  }
  return undefined;
}

function labelsOf(obj: Json | null): Record<string, string> | undefined {
  const meta = obj?.metadata;
  if (meta === null || typeof meta !== "object") return undefined;
  const labels = (meta as Json).labels;
  return labels !== null && typeof labels === "object" ? (labels as Record<string, string>) : undefined;
}

/** The object selector matches the new or the old object's labels (a missing one never matches). */
function objectMatches(hook: Hook, attrs: AdmissionAttributes): boolean {
  const selector = hook.objectSelector;
  if (selector.requirements.length === 0 && !selector.nothing) return true;
  const match = (obj: Json | null) => obj !== null && matchesLabels(selector, labelsOf(obj) ?? {});
  return match(attrs.object) || match(attrs.oldObject);
}

/** Where to POST: the URL, or a Service resolved to 127.0.0.1 (with the name its certificate must carry). */
function endpointOf(webhook: ValidatingWebhook): { url: string; serverName: string | undefined } {
  const { url, service } = webhook.clientConfig;
  if (url !== undefined) return { url, serverName: undefined };
  if (!service) throw new CallFailure("no clientConfig url or service");
  return {
    url: `https://127.0.0.1:${service.port}${service.path ?? ""}`,
    serverName: `${service.name}.${service.namespace}.svc`,
  };
}

/** The object as the webhook's version sees it (Equivalent matching may ask for another version). */
function atVersion(attrs: AdmissionAttributes, obj: Json | null, version: string): Json | null {
  if (obj === null || version === attrs.version || attrs.subresource === "scale") return obj;
  return fromStorage(attrs.def, toStorage(attrs.def, obj as KObject, attrs.version), version);
}

/** `CreateV1AdmissionReview`: the AdmissionReview v1 request kube-apiserver sends. */
function admissionReview(uid: string, invocation: Invocation, attrs: AdmissionAttributes): Json {
  const { def } = attrs;
  const kindAt = (version: string) =>
    attrs.subresource === "scale" ? scaleKind : { group: def.group, version, kind: def.kind };
  const user = attrs.userInfo;
  return {
    kind: "AdmissionReview",
    apiVersion: "admission.k8s.io/v1",
    request: {
      uid,
      kind: kindAt(invocation.version),
      resource: { group: def.group, version: invocation.version, resource: def.plural },
      ...(attrs.subresource === "" ? {} : { subResource: attrs.subresource }),
      requestKind: kindAt(attrs.version),
      requestResource: { group: def.group, version: attrs.version, resource: def.plural },
      ...(attrs.subresource === "" ? {} : { requestSubResource: attrs.subresource }),
      ...(attrs.name === "" ? {} : { name: attrs.name }),
      ...(attrs.namespace === undefined ? {} : { namespace: attrs.namespace }),
      operation: attrs.operation,
      userInfo: {
        username: user.username,
        ...(user.uid === undefined ? {} : { uid: user.uid }),
        ...(user.groups === undefined || user.groups.length === 0 ? {} : { groups: user.groups }),
        ...(user.extra === undefined || Object.keys(user.extra).length === 0 ? {} : { extra: user.extra }),
      },
      object: atVersion(attrs, attrs.object, invocation.version),
      oldObject: atVersion(attrs, attrs.oldObject, invocation.version),
      dryRun: attrs.dryRun,
      options: attrs.options,
    },
  };
}

/** `VerifyAdmissionResponse` for a validating webhook's v1 answer. */
function verifyResponse(
  uid: string,
  answer: unknown,
): z.infer<typeof reviewAnswerSchema>["response"] & object {
  const invalid = (why: string) => new CallFailure(`received invalid webhook response: ${why}`);
  const parsed = reviewAnswerSchema.safeParse(answer);
  if (!parsed.success) throw invalid(parsed.error.issues[0]?.message ?? "not an AdmissionReview");
  const response = parsed.data.response;
  if (!response) throw invalid("webhook response was absent");
  if (response.uid !== uid) throw invalid(`expected response.uid="${uid}", got "${response.uid}"`);
  const gvk = `${parsed.data.apiVersion ?? ""}, Kind=${parsed.data.kind ?? ""}`;
  if (parsed.data.apiVersion !== "admission.k8s.io/v1" || parsed.data.kind !== "AdmissionReview")
    throw invalid(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${gvk}`);
  if (response.patch !== undefined && response.patch !== "")
    throw invalid("validating webhook may not return response.patch");
  if (response.patchType !== undefined) throw invalid("validating webhook may not return response.patchType");
  return response;
}

/** `webhookerrors.ToStatusErr`: the webhook's Status, at least 400, its message prefixed with who denied. */
function denial(name: string, status: z.infer<typeof statusSchema> | undefined): ApiError {
  const deniedBy = `admission webhook "${name}" denied the request`;
  const code = status?.code !== undefined && status.code >= 400 ? status.code : 400;
  const message = status?.message
    ? `${deniedBy}: ${status.message}`
    : status?.reason
      ? `${deniedBy}: ${status.reason}`
      : `${deniedBy} without explanation`;
  const details =
    status?.details !== null && typeof status?.details === "object" ? (status.details as Json) : undefined;
  return new ApiError(code, status?.reason ?? "", message, details);
}

/** client-go's error for a non-2xx answer: the Status it carries, else `NewGenericServerResponse`'s words. */
function serverResponseError(code: number, body: string): string {
  try {
    const status = statusSchema.safeParse(JSON.parse(body));
    if (
      status.success &&
      typeof status.data.message === "string" &&
      (JSON.parse(body) as Json).kind === "Status"
    )
      return status.data.message;
  } catch {
    // not JSON: the generic wording below
  }
  switch (code) {
    case 400:
      return "the server rejected our request for an unknown reason";
    case 404:
      return "the server could not find the requested resource";
    case 429:
      return "the server has received too many requests and has asked us to try again later";
    case 503:
      return "the server is currently unable to handle the request";
    case 504:
      return "the server was unable to return a response in the time allotted, but may still be processing the request";
    default:
      return code >= 500
        ? `an error on the server (${JSON.stringify(body.trim())}) has prevented the request from succeeding`
        : `the server responded with the status code ${code} but did not return more information`;
  }
}

/** Node's socket and TLS errors in the words of Go's net and crypto/tls packages, where they have a counterpart. */
function goNetError(err: Error & { code?: string }, url: URL): string {
  const host = isIP(url.hostname) === 6 ? `[${url.hostname}]` : url.hostname;
  const address = `${host}:${url.port || "443"}`;
  switch (err.code) {
    case "ECONNREFUSED":
      return `dial tcp ${address}: connect: connection refused`;
    case "ECONNRESET":
      return "EOF";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_SIGNATURE_FAILURE":
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `tls: failed to verify certificate: ${goHostnameError(err as Error & { host?: string; cert?: PeerCertificate })}`;
    default:
      return err.message;
  }
}

/** crypto/x509 `HostnameError`: the names the certificate is valid for, DNS or IP as the host is. */
function goHostnameError(err: { host?: string; cert?: PeerCertificate }): string {
  const host = err.host ?? "";
  const sans = (err.cert?.subjectaltname ?? "").split(", ").filter(Boolean);
  const ipHost = isIP(host) !== 0;
  const valid = sans
    .filter((san) => (ipHost ? san.startsWith("IP Address:") : san.startsWith("DNS:")))
    .map((san) => san.slice(san.indexOf(":") + 1));
  if (ipHost && valid.length === 0)
    return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
  if (valid.length === 0) return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  return `x509: certificate is valid for ${valid.join(", ")}, not ${host}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The registry's writes, admitted

const meta = (kind: string, extra: Json = {}): Json => ({ kind, apiVersion: "meta.k8s.io/v1", ...extra });

function writeOptionsObject(kind: "CreateOptions" | "UpdateOptions", options: WriteOptions): Json {
  return meta(kind, {
    ...(options.dryRun ? { dryRun: ["All"] } : {}),
    ...(options.fieldManager === undefined ? {} : { fieldManager: options.fieldManager }),
    // Warn is the default the HTTP layer fills in for an absent parameter.
    ...(options.fieldValidation === undefined || options.fieldValidation === "Warn"
      ? {}
      : { fieldValidation: options.fieldValidation }),
  });
}

/** The same options for the dry run that previews the stored object: its warnings are not the answer's. */
function previewOptions(options: WriteOptions): WriteOptions {
  return { ...options, dryRun: true, warnings: [] };
}

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * The registry's write verbs with validating admission webhooks between validation and storage. Each verb
 * resolves or rejects as the registry's would, with the webhooks' refusals added.
 */
export class AdmittedWrites {
  constructor(
    readonly registry: Registry,
    readonly webhooks: WebhookDispatcher,
  ) {}

  private rvOf(def: ResourceDef, namespace: string | undefined, name: string): string | undefined {
    return this.registry.store.get(resourceKey(def), def.namespaced ? namespace : undefined, name)?.obj
      .metadata.resourceVersion;
  }

  /**
   * Preview → webhooks → commit, again while the object changed under the webhooks. Without a webhook whose rules
   * match, the commit runs synchronously within this call.
   */
  private async gate<T>(
    target: {
      def: ResourceDef;
      version: string;
      subresource: AdmissionAttributes["subresource"];
      operation: Operation;
      namespace: string | undefined;
      name: string;
    },
    request: { dryRun: boolean; options: Json; userInfo: UserInfo; warnings: string[] | undefined },
    preview: () => { object: Json | null; oldObject: Json | null; name: string },
    commit: (seen: { name: string; object: Json | null } | undefined) => T,
  ): Promise<T> {
    const { def, version, subresource, operation, namespace, name } = target;
    if (!this.webhooks.mayCall(def, version, subresource, operation, def.namespaced ? namespace : undefined))
      return commit(undefined);
    for (let round = 1; ; round++) {
      const before = name === "" ? undefined : this.rvOf(def, namespace, name);
      const seen = preview();
      await this.webhooks.admit(
        {
          def,
          version,
          subresource,
          operation,
          namespace: def.kind === "Namespace" ? seen.name : def.namespaced ? namespace : undefined,
          name: seen.name,
          object: seen.object,
          oldObject: seen.oldObject,
          dryRun: request.dryRun,
          options: request.options,
          userInfo: request.userInfo,
        },
        request.warnings,
      );
      if (round < MAX_ADMISSION_ROUNDS && name !== "" && this.rvOf(def, namespace, name) !== before) continue;
      return commit(seen);
    }
  }

  create(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<KObject> {
    const input = rec(body);
    const metadata = rec(input?.metadata);
    const requested = typeof metadata?.name === "string" ? metadata.name : "";
    return this.gate(
      { def, version, subresource: "", operation: "CREATE", namespace, name: "" },
      {
        dryRun: options.dryRun === true,
        options: writeOptionsObject("CreateOptions", options),
        userInfo,
        warnings: options.warnings,
      },
      () => {
        const object = this.registry.create(
          def,
          version,
          namespace,
          structuredClone(body),
          previewOptions(options),
        );
        return { object, oldObject: null, name: object.metadata.name };
      },
      (seen) => {
        if (!seen || !input || def.review)
          return this.registry.create(def, version, namespace, body, options);
        // Store what the webhooks saw: the generated name, the uid and the creation time.
        const pinned = requested === "" ? { ...input, metadata: { ...metadata, name: seen.name } } : body;
        const object = seen.object as KObject;
        return this.registry.create(def, version, namespace, pinned, {
          ...options,
          identity: { uid: object.metadata.uid, creationTimestamp: object.metadata.creationTimestamp },
        });
      },
    );
  }

  update(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: "status" | undefined,
    options: WriteOptions = {},
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<KObject> {
    return this.gate(
      { def, version, subresource: subresource ?? "", operation: "UPDATE", namespace, name },
      {
        dryRun: options.dryRun === true,
        options: writeOptionsObject("UpdateOptions", options),
        userInfo,
        warnings: options.warnings,
      },
      () => {
        const oldObject = this.registry.get(def, version, namespace, name);
        const object = this.registry.update(
          def,
          version,
          namespace,
          name,
          structuredClone(body),
          subresource,
          previewOptions(options),
        );
        return { object, oldObject, name };
      },
      () => this.registry.update(def, version, namespace, name, body, subresource, options),
    );
  }

  patch(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    contentType: string,
    text: string,
    subresource: "status" | undefined,
    options: WriteOptions = {},
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<{ object: KObject; created: boolean }> {
    const exists = this.rvOf(def, namespace, name) !== undefined;
    // A patch is an UPDATE; server-side apply of a missing object is a CREATE (kube's patcher).
    const operation: Operation = exists ? "UPDATE" : "CREATE";
    return this.gate(
      { def, version, subresource: subresource ?? "", operation, namespace, name },
      {
        dryRun: options.dryRun === true,
        options: writeOptionsObject(exists ? "UpdateOptions" : "CreateOptions", options),
        userInfo,
        warnings: options.warnings,
      },
      () => {
        const oldObject = exists ? this.registry.get(def, version, namespace, name) : null;
        const { object } = this.registry.patch(
          def,
          version,
          namespace,
          name,
          contentType,
          text,
          subresource,
          previewOptions(options),
        );
        return { object, oldObject, name };
      },
      (seen) => {
        // An apply that creates stores the uid and creation time its webhooks saw.
        const object = seen?.object as KObject | undefined;
        const identity =
          operation === "CREATE" && object
            ? { identity: { uid: object.metadata.uid, creationTimestamp: object.metadata.creationTimestamp } }
            : {};
        return this.registry.patch(def, version, namespace, name, contentType, text, subresource, {
          ...options,
          ...identity,
        });
      },
    );
  }

  /** PUT or a json/merge PATCH of `/scale` (the registry's `writeScale`). */
  writeScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    mutate: (scale: Json) => Json,
    options: WriteOptions,
    version: string,
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<Json> {
    return this.gate(
      { def, version, subresource: "scale", operation: "UPDATE", namespace, name },
      {
        dryRun: options.dryRun === true,
        options: writeOptionsObject("UpdateOptions", options),
        userInfo,
        warnings: options.warnings,
      },
      () => {
        const oldObject = this.registry.getScale(def, namespace, name);
        const object = this.registry.writeScale(
          def,
          namespace,
          name,
          mutate,
          previewOptions(options),
          version,
        );
        return { object, oldObject, name };
      },
      () => this.registry.writeScale(def, namespace, name, mutate, options, version),
    );
  }

  /** Server-side apply of `/scale`. */
  applyScale(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    text: string,
    options: WriteOptions,
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<Json> {
    return this.gate(
      { def, version, subresource: "scale", operation: "UPDATE", namespace, name },
      {
        dryRun: options.dryRun === true,
        options: writeOptionsObject("UpdateOptions", options),
        userInfo,
        warnings: options.warnings,
      },
      () => {
        const oldObject = this.registry.getScale(def, namespace, name);
        const object = this.registry.applyScale(def, version, namespace, name, text, previewOptions(options));
        return { object, oldObject, name };
      },
      () => this.registry.applyScale(def, version, namespace, name, text, options),
    );
  }

  delete(
    def: ResourceDef,
    version: string,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
    userInfo: UserInfo = LOCAL_ADMIN,
  ): Promise<DeleteResult> {
    return this.gate(
      { def, version, subresource: "", operation: "DELETE", namespace, name },
      {
        dryRun: options.dryRun === true,
        options: deleteOptionsObject(options),
        userInfo,
        warnings: undefined,
      },
      () => {
        const oldObject = this.registry.get(def, version, namespace, name);
        // Preconditions and a missing object fail before the webhooks, as in kube's store.
        this.registry.delete(def, version, namespace, name, { ...options, dryRun: true });
        return { object: null, oldObject, name };
      },
      () => this.registry.delete(def, version, namespace, name, options),
    );
  }
}

function deleteOptionsObject(options: DeleteOptions): Json {
  return meta("DeleteOptions", {
    ...(options.dryRun ? { dryRun: ["All"] } : {}),
    ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
    ...(options.preconditions === undefined ? {} : { preconditions: options.preconditions }),
  });
}
