/**
 * `vmpool serve`: the function server as the in-cluster Deployment runs it (infra/kubernetes): every function's
 * routes on 0.0.0.0, the scheduler firing reconcile-all at the deployed schedule's rate, the service account's
 * cluster, and no dev-mode defaults — every secret comes from the environment (a Kubernetes Secret), and a missing
 * one stops the process at once, named. With `VMPOOL_WATCH=true` it also watches pools, replica sets, VMs and VMIs
 * and triggers a pass of the pool each change belongs to (the timer stays the safety net).
 */
import { z } from "zod";
import { describeIssue, requireSecrets, secretsFromEnv } from "../../shared/config";
import type { ClusterSource } from "../../shared/kube";
import { metrics } from "../../shared/metrics";
import { parseSchedule } from "../../shared/schedule";
import { SCHEDULES } from "../aws/definitions";
import { type FunctionServer, startFunctionServer } from "./server";

export const DEFAULT_SERVE_PORT = 8080;

export const serveFlagsSchema = z.strictObject({
  port: z.coerce.number().int().min(0).max(65535).default(DEFAULT_SERVE_PORT),
  hostname: z.string().min(1).default("0.0.0.0"),
  /** Outside a cluster (testing the Deployment's command by hand): a kubeconfig instead of the service account. */
  cluster: z.string().min(1).optional(),
  /** Overrides the reconcile interval (default: the deployed schedule's rate). */
  "interval-ms": z.coerce.number().int().min(100).max(86_400_000).optional(),
});
export type ServeFlags = z.infer<typeof serveFlagsSchema>;

/** `serve`'s own environment (the Deployment sets it; infra/kubernetes/20-deployment.yaml). */
export const serveEnvSchema = z.object({
  VMPOOL_WATCH: z
    .enum(["true", "false"], { error: "must be true or false" })
    .default("false")
    .transform((value) => value === "true"),
});

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
  const { VMPOOL_WATCH: watch } = parseServeEnv(env);
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
    ...(watch ? { watch: {} } : {}),
  });
}
