/**
 * `vmpool serve`: the function server as the in-cluster Deployment runs it (infra/kubernetes): every function's
 * routes on 0.0.0.0, the scheduler firing reconcile-all at the deployed schedule's rate, the service account's
 * cluster, and no dev-mode defaults — every secret comes from the environment (a Kubernetes Secret), and a missing
 * one stops the process at once, named. With `VMPOOL_WATCH=true` it also watches pools, replica sets, VMs and VMIs
 * and triggers a pass of the pool each change belongs to (the timer stays the safety net).
 */
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { describeIssue, requireSecrets, secretsFromEnv } from "../../shared/config";
import type { ClusterSource } from "../../shared/kube";
import { logger } from "../../shared/log";
import { metrics } from "../../shared/metrics";
import { parseSchedule } from "../../shared/schedule";
import { SCHEDULES } from "../aws/definitions";
import { type FunctionServer, startFunctionServer } from "./server";

const log = logger("serve");

export const DEFAULT_SERVE_PORT = 8080;
export const DEFAULT_TLS_PORT = 8443;

export const serveFlagsSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(DEFAULT_SERVE_PORT),
  hostname: z.string().min(1).default("0.0.0.0"),
  /** Outside a cluster (testing the Deployment's command by hand): a kubeconfig instead of the service account. */
  cluster: z.string().min(1).optional(),
  /** Overrides the reconcile interval (default: the deployed schedule's rate). */
  "interval-ms": z.coerce.number().int().min(100).max(86_400_000).optional(),
  /** The HTTPS listener for admission calls (kube-apiserver calls webhooks over TLS only), when a certificate is set. */
  "tls-port": z.coerce.number().int().min(0).max(65535).default(DEFAULT_TLS_PORT),
});
export type ServeFlags = z.infer<typeof serveFlagsSchema>;

/** `serve`'s own environment (the Deployment sets it; infra/kubernetes/20-deployment.yaml). */
export const serveEnvSchema = z
  .object({
    VMPOOL_WATCH: z
      .enum(["true", "false"], { error: "must be true or false" })
      .default("false")
      .transform((value) => value === "true"),
    /** PEM certificate and key of the HTTPS listener (a `kubernetes.io/tls` Secret mounted as files). */
    VMPOOL_TLS_CERT_FILE: z.string().min(1).optional(),
    VMPOOL_TLS_KEY_FILE: z.string().min(1).optional(),
  })
  .refine((env) => (env.VMPOOL_TLS_CERT_FILE === undefined) === (env.VMPOOL_TLS_KEY_FILE === undefined), {
    path: ["VMPOOL_TLS_KEY_FILE"],
    message: "VMPOOL_TLS_CERT_FILE and VMPOOL_TLS_KEY_FILE go together: set both or neither",
  });

/**
 * The certificate and key files named by the environment, read; the error names the variable. Both files absent is
 * not an error: the Deployment mounts the TLS Secret as optional, so a cluster without one still runs, with a
 * warning that admission calls will fail (and, with failurePolicy Ignore, be ignored: the timer drives the pools).
 */
export function readServeTls(
  env: z.infer<typeof serveEnvSchema>,
  warn: (message: string) => void = () => {},
): { readonly cert: string; readonly key: string } | undefined {
  const certFile = env.VMPOOL_TLS_CERT_FILE;
  const keyFile = env.VMPOOL_TLS_KEY_FILE;
  if (certFile === undefined || keyFile === undefined) return undefined;
  if (!existsSync(certFile) && !existsSync(keyFile)) {
    warn(
      `no TLS certificate at ${certFile}: admission calls cannot reach this server, so only the timer${env.VMPOOL_WATCH ? " and the watch" : ""} trigger passes`,
    );
    return undefined;
  }
  const read = (
    name: "VMPOOL_TLS_CERT_FILE" | "VMPOOL_TLS_KEY_FILE",
    path: string,
    marker: RegExp,
    what: string,
  ) => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(
        `invalid setting ${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`,
      );
    }
    if (!marker.test(text)) throw new Error(`invalid setting ${name}: ${path} holds no PEM ${what}`);
    return text;
  };
  return {
    cert: read("VMPOOL_TLS_CERT_FILE", certFile, /-----BEGIN CERTIFICATE-----/, "certificate"),
    key: read("VMPOOL_TLS_KEY_FILE", keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"),
  };
}

/** Parses `serve`'s environment; the error names the variable. */
export function parseServeEnv(env: NodeJS.ProcessEnv): z.infer<typeof serveEnvSchema> {
  const parsed = serveEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid setting ${describeIssue(parsed.error)}`);
  return parsed.data;
}

/** Parses `serve` flags; errors name the flag. */
export function parseServeFlags(values: Record<string, unknown>): ServeFlags {
  const parsed = serveFlagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  return parsed.data;
}

/**
 * The reconcile interval in-cluster: the rate of the schedule `infra/aws` deploys to EventBridge, so both runtimes
 * reconcile equally often (a cron schedule falls back to one minute).
 */
export function deployedReconcileIntervalMs(): number {
  const definition = SCHEDULES.find((s) => s.target === "reconcile");
  const schedule = definition ? parseSchedule(definition.scheduleExpression) : undefined;
  return schedule?.kind === "rate" ? schedule.intervalMs : 60_000;
}

/** Starts the in-cluster function server. Throws `MissingSecrets` naming each unset variable before anything else. */
export async function startServe(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FunctionServer> {
  const secrets = requireSecrets(secretsFromEnv(env));
  const settings = parseServeEnv(env);
  const tls = readServeTls(settings, (message) => log.warn(message));
  const source: ClusterSource = flags.cluster
    ? { kind: "kubeconfig", path: flags.cluster }
    : { kind: "inCluster" };
  metrics.collectProcessMetrics();
  return startFunctionServer({
    source,
    secrets,
    port: flags.port,
    hostname: flags.hostname,
    devMode: false,
    schedule: true,
    intervalMs: flags["interval-ms"] ?? deployedReconcileIntervalMs(),
    ...(settings.VMPOOL_WATCH ? { watch: {} } : {}),
    ...(tls ? { tls: { ...tls, port: flags["tls-port"] } } : {}),
  });
}
