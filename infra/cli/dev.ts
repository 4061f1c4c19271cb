/**
 * `vmpool dev` (what `npm start` runs): the local cluster, the function server and the local scheduler in one
 * process, with dev-mode secrets in `.local/secrets.json` and a kubeconfig real kubectl can use. A real cluster
 * is used only when named explicitly (`--cluster <kubeconfig>` or `--in-cluster`); a developer's KUBECONFIG is
 * never reconciled by accident.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { startAlertEmitter } from "../../shared/autoscale";
import { describeIssue, SECRET_KEYS, type Secrets, secretsFromEnv, secretsSchema } from "../../shared/config";
import type { ClusterSource } from "../../shared/kube";
import {
  DEFAULT_API_PORT,
  ensureLocalSecurity,
  type FaultConfig,
  faultConfigSchema,
  type LocalCluster,
  parseFaultFlag,
  startLocalCluster,
} from "../local";
import { DEFAULT_KUBEVIRT_METRICS_PORT, startKubevirtMetricsServer } from "../local/kubevirt-metrics";
import { type LocalAdmission, localAdmission } from "../local/webhook-install";
import { kubernetesVersion, type RealCluster } from "../real";
import { resolveDataDir } from "./data-dir";
import { startReal } from "./real";
import { startFunctionServer } from "./server";

export const DEFAULT_FUNCTION_PORT = 18080;

export const devFlagsSchema = z.strictObject({
  "api-port": z.coerce.number().int().min(0).max(65535).default(DEFAULT_API_PORT),
  port: z.coerce.number().int().min(0).max(65535).default(DEFAULT_FUNCTION_PORT),
  fresh: z.boolean().default(false),
  "in-memory": z.boolean().default(false),
  "data-dir": z.string().min(1).optional(),
  cluster: z.string().min(1).optional(),
  "in-cluster": z.boolean().default(false),
  fault: z.array(z.string()).default([]),
  seed: z.coerce.number().int().default(1),
  "interval-ms": z.coerce.number().int().min(100).max(86_400_000).optional(),
  "autoscale-interval-ms": z.coerce.number().int().min(100).max(86_400_000).optional(),
  /** The alert-driven demo: simulated CPU load → Alertmanager alerts every 15 s (the pull path needs none). */
  "alert-emitter": z.boolean().default(false),
  /**
   * The simulator's KubeVirt metrics (virt-handler's names) for a Prometheus to scrape; 0 = pick a free port.
   * Default 18090, or a free port when `--port 0` asks for free ones (tests running side by side).
   */
  "kubevirt-metrics-port": z.coerce.number().int().min(0).max(65535).optional(),
  real: z.boolean().default(false),
  /** Plain HTTP and no token on the local cluster (benchmarks of the bare server); the Host check stays. */
  insecure: z.boolean().default(false),
});
export type DevFlags = z.infer<typeof devFlagsSchema>;

export interface DevHandle {
  readonly cluster: LocalCluster | undefined;
  /** The real control plane (`--real`). */
  readonly real: RealCluster | undefined;
  readonly kubeconfigPath: string;
  readonly secrets: Secrets;
  stop(): Promise<void>;
}

/** Dev-mode secrets: environment first, else `.local/secrets.json`, generated (mode 0600) when missing. */
export function loadDevSecrets(dataDir: string): Secrets {
  const path = join(dataDir, "secrets.json");
  let stored: Partial<Secrets> = {};
  if (existsSync(path)) {
    const parsed = secretsSchema.partial().safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (parsed.success) stored = parsed.data as Partial<Secrets>;
  }
  const fromEnv = secretsFromEnv();
  const secrets = {} as Secrets;
  for (const key of SECRET_KEYS)
    secrets[key] = fromEnv[key] ?? stored[key] ?? randomBytes(24).toString("hex");
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/**
 * The chat-ops policy `npm start` uses unless one is configured: allow everyone everything, labelled as such in the
 * file itself. Nothing but dev mode has a default grant.
 */
export function writeDevPolicy(dataDir: string): string {
  const path = join(dataDir, "chatops-policy.yaml");
  const text = `# DEVELOPMENT ONLY — written by \`npm start\` (vmpool dev) so the chat-ops demo works.
# It lets ANY chat user do ANYTHING in ANY namespace. Never deploy it: outside dev mode nothing is allowed
# unless a policy file (VMPOOL_CHATOPS_POLICY_FILE) grants it.
rules:
  - name: dev-allow-all
    users: ["*"]
    namespaces: ["*"]
    verbs: [read, scale, pause, autoscale, release]
`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** Starts everything `npm start` runs. */
export async function startDev(flags: DevFlags, print: (line: string) => void): Promise<DevHandle> {
  const dataDir = resolveDataDir(flags["data-dir"]);
  const secrets = loadDevSecrets(dataDir);
  process.env.VMPOOL_CHATOPS_POLICY_FILE ??= writeDevPolicy(dataDir);
  let cluster: LocalCluster | undefined;
  let real: RealCluster | undefined;
  let admission: LocalAdmission | undefined;
  let source: ClusterSource;
  let kubeconfigPath: string;
  if (flags.real) {
    const started = await startReal(
      { apiPort: flags["api-port"], dataDir, fresh: flags.fresh, simulator: true, seed: flags.seed },
      print,
    );
    real = started.cluster;
    kubeconfigPath = started.kubeconfig;
    // The functions run as their own ServiceAccount, bound to the least-privilege ClusterRole, never as admin.
    source = { kind: "kubeconfig", path: real.functionsKubeconfig };
  } else if (flags.cluster || flags["in-cluster"]) {
    // A real cluster only when named explicitly: never the developer's KUBECONFIG by accident.
    source = flags.cluster ? { kind: "kubeconfig", path: resolve(flags.cluster) } : { kind: "inCluster" };
    kubeconfigPath = flags.cluster ? resolve(flags.cluster) : "(in-cluster service account)";
  } else {
    const faults = faultsFrom(flags, process.env.VMPOOL_LOCAL_FAULTS);
    cluster = await startLocalCluster({
      port: flags["api-port"],
      dataDir: flags["in-memory"] ? undefined : join(dataDir, "cluster"),
      fresh: flags.fresh,
      ...(faults ? { faults } : {}),
      ...(flags.insecure ? {} : { secure: ensureLocalSecurity(dataDir) }),
    });
    kubeconfigPath = cluster.writeKubeconfig(join(dataDir, "kubeconfig"));
    source = { kind: "kubeconfig", path: kubeconfigPath };
    // The embedded server calls admission webhooks too: the same configuration as on the real control plane.
    admission = localAdmission(cluster, dataDir);
  }
  const functions = await startFunctionServer({
    source,
    secrets,
    port: flags.port,
    devMode: true,
    schedule: true,
    ...(flags["interval-ms"] === undefined ? {} : { intervalMs: flags["interval-ms"] }),
    ...(flags["autoscale-interval-ms"] === undefined
      ? {}
      : { autoscaleIntervalMs: flags["autoscale-interval-ms"] }),
    // kube-apiserver calls admission webhooks over HTTPS only: a second listener with a certificate of its CA.
    ...(real ? { tls: { ...real.webhookTls, port: 0 } } : {}),
    ...(admission ? { tls: { ...admission.webhookTls, port: 0 } } : {}),
  });
  const admissionUrl = functions.httpsUrl ? `${functions.httpsUrl}/hooks/admission` : undefined;
  if (real && admissionUrl) await real.installAdmission(admissionUrl);
  if (admission && admissionUrl) await admission.install(admissionUrl);
  // The alert-driven demo (`--alert-emitter`): the simulated CPU load of each pool's VMIs becomes Alertmanager
  // alerts every 15 s. By default the scheduled autoscale pass reads the same load from metrics.k8s.io instead.
  const emitter =
    flags["alert-emitter"] && (cluster || real) && secrets.alertmanagerToken
      ? startAlertEmitter({
          kube: functions.runtime.kube,
          url: `${functions.url}/hooks/alertmanager`,
          token: secrets.alertmanagerToken,
          intervalMs: 15_000,
        })
      : undefined;
  // What virt-handler's /metrics would show for the simulated load, for a real Prometheus to scrape.
  const kubevirtMetrics =
    cluster || real
      ? await startKubevirtMetricsServer({
          kube: functions.runtime.kube,
          port: flags["kubevirt-metrics-port"] ?? (flags.port === 0 ? 0 : DEFAULT_KUBEVIRT_METRICS_PORT),
        })
      : undefined;
  if (real) {
    print(
      `Real control plane (kube-apiserver ${kubernetesVersion()}, kube-controller-manager, etcd; KubeVirt simulator over the API): ${real.url}`,
    );
    print(
      `Functions run as ${real.functionsUser} (ClusterRole vmpool-functions); logs in ${real.controlPlane.logDir}`,
    );
  } else if (cluster) {
    print(
      `Local cluster (KubeVirt simulator): ${cluster.url}${cluster.restored > 0 ? ` (restored ${cluster.restored} objects)` : ""}`,
    );
  } else print(`Cluster: ${kubeconfigPath}`);
  print(
    `Function server: ${functions.url}  (POST /reconcile, /hooks/alertmanager, /hooks/slack, /hooks/mattermost, /hooks/events, /hooks/admission; GET /healthz, /metrics)`,
  );
  print(`Pools and scaling history: ${functions.url}/ui`);
  print(
    `Scheduler: reconcile-all every ${functions.intervalMs / 1000} s, autoscale-all every ${functions.autoscaleIntervalMs / 1000} s (HPAs read from ${process.env.VMPOOL_AUTOSCALE_PULL_SOURCES || "metrics-server"})`,
  );
  if ((real || admission) && admissionUrl)
    print(
      `Admission webhook: ${admissionUrl} (ValidatingWebhookConfiguration vmpool-functions): writes trigger passes`,
    );
  if (emitter)
    print(
      "Alert emitter: simulated CPU load → POST /hooks/alertmanager every 15 s (set it: npx vmpool load <pool> <percent>)",
    );
  if (kubevirtMetrics)
    print(
      `KubeVirt metrics for Prometheus (kubevirt_vmi_*, from the simulated load): ${kubevirtMetrics.url}`,
    );
  print(`Dev secrets: ${join(dataDir, "secrets.json")}`);
  print("");
  print(`export KUBECONFIG=${kubeconfigPath}`);
  return {
    cluster,
    real,
    kubeconfigPath,
    secrets,
    stop: async () => {
      await emitter?.stop();
      await kubevirtMetrics?.close();
      await admission?.remove().catch(() => undefined);
      await functions.stop();
      await cluster?.close();
      await real?.close();
    },
  };
}

/** Fault rules from `--fault` flags, else the `VMPOOL_LOCAL_FAULTS` JSON variable; errors name the source. */
export function faultsFrom(flags: DevFlags, envJson: string | undefined): FaultConfig | undefined {
  if (flags.fault.length > 0) return { seed: flags.seed, rules: flags.fault.map(parseFaultFlag) };
  if (envJson === undefined || envJson.trim() === "") return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(envJson);
  } catch {
    throw new Error("VMPOOL_LOCAL_FAULTS: not valid JSON");
  }
  const parsed = faultConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`VMPOOL_LOCAL_FAULTS: ${describeIssue(parsed.error, "value")}`);
  return parsed.data;
}

/** Parses `dev` flags; errors name the flag. */
export function parseDevFlags(values: Record<string, unknown>): DevFlags {
  const parsed = devFlagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  const flags = parsed.data;
  if (flags.real) {
    // These belong to the embedded server or name another cluster: meaningless on the real control plane.
    const clash = (["cluster", "in-cluster", "in-memory", "insecure"] as const).find((f) => flags[f]);
    if (clash) throw new Error(`invalid flag --${clash}: not with --real`);
    if (flags.fault.length > 0)
      throw new Error("invalid flag --fault: fault injection is the embedded cluster's (not with --real)");
  }
  return flags;
}
