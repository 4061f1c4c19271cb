/**
 * One suite, two control planes: the embedded API server (`infra/local`) and, where `vmpool control-plane build`
 * made the binaries, a real kube-apiserver + kube-controller-manager + etcd (`infra/real`) with the KubeVirt
 * simulator over the API. Suites written with `describeClusters` run unchanged on both; on the real one the
 * functions use the token of their own ServiceAccount (the least-privilege ClusterRole), never admin.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import { type Simulator, type SimulatorOptions, startApiSimulator } from "../../infra/local/simulator";
import { localAdmission } from "../../infra/local/webhook-install";
import { builtBinaries, goVersion, type RealClusterOptions, startRealCluster } from "../../infra/real";

export type ClusterKind = "embedded" | "real";

export interface SuiteCluster {
  readonly kind: ClusterKind;
  /** The admin kubeconfig: what a user's kubectl uses. */
  readonly kubeconfig: string;
  /** What the functions use: the same on the embedded server, the functions' ServiceAccount token on the real one. */
  readonly functionsKubeconfig: string;
  readonly simulator: Simulator;
  /** The embedded cluster's internals (fault injection), undefined on the real one. */
  readonly local: LocalCluster | undefined;
  /**
   * The function server as this control plane's admission webhook: the certificate its HTTPS listener serves
   * (signed by a CA the API server trusts through the caBundle) and how to apply infra/kubernetes/40-admission.yaml
   * pointing at a URL.
   */
  readonly admission: {
    /** PEM of the CA the API server trusts the webhook with (the configuration's caBundle). */
    readonly caPem: string;
    readonly webhookTls: { readonly cert: string; readonly key: string };
    install(url: string): Promise<void>;
  };
  readonly dir: string;
  close(): Promise<void>;
}

export interface SuiteClusterOptions {
  readonly simulator?: SimulatorOptions;
  /** The real control plane's extras (the aggregated metrics.k8s.io, the HPA controller); ignored on the embedded one. */
  readonly real?: Pick<RealClusterOptions, "metricsApi" | "hpa">;
}

/** Why the real control plane cannot run here, or undefined when it can. */
export function realSkipReason(): string | undefined {
  if (process.env.VMPOOL_REAL === "0") return "VMPOOL_REAL=0";
  if (builtBinaries()) return undefined;
  return goVersion()
    ? "real control plane not built: run npx vmpool control-plane build"
    : "no Go on this machine to build the real control plane";
}

/** Starts a cluster of the given kind with the simulator attached. */
export async function startSuiteCluster(
  kind: ClusterKind,
  options: SuiteClusterOptions = {},
): Promise<SuiteCluster> {
  const dir = mkdtempSync(join(tmpdir(), `vmpool-${kind}-`));
  if (kind === "embedded") {
    const local = await startLocalCluster({
      port: 0,
      ...(options.simulator ? { simulator: options.simulator } : {}),
    });
    const kubeconfig = local.writeKubeconfig(join(dir, "kubeconfig"));
    if (!local.simulator) throw new Error("the embedded cluster started without its simulator");
    return {
      kind,
      kubeconfig,
      functionsKubeconfig: kubeconfig,
      simulator: local.simulator,
      local,
      admission: localAdmission(local, dir),
      dir,
      close: async () => {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  let simulator: Simulator | undefined;
  const real = await startRealCluster({
    apiPort: 0,
    dataDir: dir,
    unsafeNoFsync: true,
    ...options.real,
    simulator: async (kubeconfigPath) => {
      simulator = await startApiSimulator({ kubeconfigPath, ...options.simulator });
      return simulator;
    },
  });
  if (!simulator) throw new Error("the real cluster started without the simulator");
  return {
    kind,
    kubeconfig: real.kubeconfig,
    functionsKubeconfig: real.functionsKubeconfig,
    simulator,
    local: undefined,
    admission: {
      caPem: real.controlPlane.pki.caCertPem,
      webhookTls: real.webhookTls,
      install: (url) => real.installAdmission(url),
    },
    dir,
    close: async () => {
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Declares `body` once per control plane: `<title> [embedded]` and `<title> [real]`, the latter skipped with
 * its reason in the title where the real control plane cannot run.
 */
export function describeClusters(title: string, body: (kind: ClusterKind) => void, skip?: string): void {
  for (const kind of ["embedded", "real"] as const) {
    const reason = skip ?? (kind === "real" ? realSkipReason() : undefined);
    describe.skipIf(reason !== undefined)(`${title} [${kind}]${reason ? ` (skipped: ${reason})` : ""}`, () =>
      body(kind),
    );
  }
}
