/**
 * Building a Runtime: from explicit parts (the Node server, tests) or from the environment once per Lambda cold
 * start. `requestReconcile` runs the pass inline by default; on Lambda with a fan-out bus configured it publishes a
 * `Pool Reconcile Requested` event instead, so the pass runs in its own invocation.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { describeIssue, type Secrets, secretsFromEnv } from "../shared/config";
import { ReasonedError } from "../shared/errors";
import { type ClusterSource, ClusterSourceSchema, createKube, type Kube } from "../shared/kube";
import { type Logger, logger } from "../shared/log";
import { formatRef, type PoolRef, reconcilePool } from "../shared/reconcile";
import { type Runtime, type Settings, settingsFromEnv } from "./runtime";

export interface RuntimeParts {
  readonly kube: Kube;
  readonly secrets: Partial<Secrets>;
  readonly settings: Settings;
  readonly devMode: boolean;
  readonly log?: Logger;
  readonly now?: () => Date;
  readonly random?: () => number;
  readonly requestReconcile?: Runtime["requestReconcile"];
  readonly triggerPass?: Runtime["triggerPass"];
}

/** A runtime whose `requestReconcile` runs a pass inline unless another implementation is given. */
export function createRuntime(parts: RuntimeParts): Runtime {
  const log = parts.log ?? logger("functions");
  const now = parts.now ?? (() => new Date());
  const random = parts.random ?? Math.random;
  const runtime: Runtime = {
    kube: parts.kube,
    secrets: parts.secrets,
    settings: parts.settings,
    devMode: parts.devMode,
    log,
    now,
    random,
    requestReconcile:
      parts.requestReconcile ??
      (async (ref: PoolRef, reason: string) => {
        const result = await reconcilePool(passDeps(runtime, `request-${randomUUID()}`), ref);
        log.info({ pool: formatRef(ref), reason, outcome: result.outcome }, "requested reconcile ran");
      }),
    ...(parts.triggerPass ? { triggerPass: parts.triggerPass } : {}),
  };
  return runtime;
}

/** The dependencies of a reconcile pass, from a runtime and a lease holder identity. */
export function passDeps(runtime: Runtime, holder: string) {
  return {
    kube: runtime.kube,
    log: runtime.log,
    now: runtime.now,
    random: runtime.random,
    holder,
    manage: runtime.settings.VMPOOL_MANAGE,
    deadlineMs: runtime.settings.VMPOOL_PASS_DEADLINE_MS,
  };
}

const clusterEnvSchema = z.object({
  VMPOOL_KUBECONFIG: z.string().min(1).optional(),
  VMPOOL_KUBECONFIG_YAML: z.string().min(1).optional(),
  VMPOOL_IN_CLUSTER: z.enum(["true", "false"]).optional(),
  VMPOOL_EKS_CLUSTER: z.string().min(1).optional(),
  VMPOOL_KUBE_SERVER: z.url().optional(),
  VMPOOL_KUBE_TOKEN: z.string().min(1).optional(),
  VMPOOL_KUBE_CA_DATA: z.string().min(1).optional(),
  /** Set by the Lambda runtime. */
  AWS_REGION: z.string().min(1).optional(),
});
type ClusterEnv = z.infer<typeof clusterEnvSchema>;

function invalidSetting(message: string): ReasonedError {
  return new ReasonedError("InvalidSettings", message, { status: 500 });
}

/** An EKS cluster from `VMPOOL_EKS_CLUSTER` + `VMPOOL_KUBE_SERVER` + `AWS_REGION` (+ `VMPOOL_KUBE_CA_DATA`). */
function eksSource(e: ClusterEnv & { VMPOOL_EKS_CLUSTER: string }): ClusterSource {
  const missing = (["VMPOOL_KUBE_SERVER", "AWS_REGION"] as const).filter((key) => !e[key]);
  if (missing.length > 0) {
    throw invalidSetting(`VMPOOL_EKS_CLUSTER is set, so ${missing.join(" and ")} must be set too`);
  }
  const parsed = ClusterSourceSchema.safeParse({
    kind: "eks",
    server: e.VMPOOL_KUBE_SERVER,
    clusterName: e.VMPOOL_EKS_CLUSTER,
    region: e.AWS_REGION,
    ...(e.VMPOOL_KUBE_CA_DATA ? { caData: e.VMPOOL_KUBE_CA_DATA } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable =
      { clusterName: "VMPOOL_EKS_CLUSTER", region: "AWS_REGION", server: "VMPOOL_KUBE_SERVER" }[
        String(issue?.path[0])
      ] ?? "VMPOOL_EKS_CLUSTER";
    throw invalidSetting(`invalid setting ${variable}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * The cluster named by the environment: a kubeconfig path or text (e.g. from a secret), the in-cluster service
 * account, an EKS cluster (tokens minted in-process), or a server plus bearer token. Nothing implicit: a
 * developer's KUBECONFIG is never picked up.
 */
export function clusterSourceFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterSource {
  const parsed = clusterEnvSchema.safeParse(env);
  if (!parsed.success) throw invalidSetting(`invalid setting ${describeIssue(parsed.error)}`);
  const e = parsed.data;
  if (e.VMPOOL_KUBECONFIG) return { kind: "kubeconfig", path: e.VMPOOL_KUBECONFIG };
  if (e.VMPOOL_KUBECONFIG_YAML) return { kind: "kubeconfigText", yaml: e.VMPOOL_KUBECONFIG_YAML };
  if (e.VMPOOL_IN_CLUSTER === "true") return { kind: "inCluster" };
  if (e.VMPOOL_EKS_CLUSTER) return eksSource({ ...e, VMPOOL_EKS_CLUSTER: e.VMPOOL_EKS_CLUSTER });
  if (e.VMPOOL_KUBE_SERVER && e.VMPOOL_KUBE_TOKEN) {
    return {
      kind: "token",
      server: e.VMPOOL_KUBE_SERVER,
      token: e.VMPOOL_KUBE_TOKEN,
      ...(e.VMPOOL_KUBE_CA_DATA ? { caData: e.VMPOOL_KUBE_CA_DATA } : {}),
    };
  }
  throw new ReasonedError(
    "NoCluster",
    "no cluster configured: set VMPOOL_KUBECONFIG, VMPOOL_KUBECONFIG_YAML, VMPOOL_IN_CLUSTER=true, VMPOOL_EKS_CLUSTER + VMPOOL_KUBE_SERVER + AWS_REGION, or VMPOOL_KUBE_SERVER + VMPOOL_KUBE_TOKEN",
    { status: 500 },
  );
}

/** A runtime from the environment (Lambda cold start, in-cluster Deployment). */
export function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): Runtime {
  return createRuntime({
    kube: createKube(clusterSourceFromEnv(env)),
    secrets: secretsFromEnv(env),
    settings: settingsFromEnv(env),
    devMode: false,
  });
}
