/**
 * The real cluster `npm start -- --real` and the tests run: a control plane from the built binaries, KubeVirt's
 * CRDs, the functions' least-privilege identity, and (unless disabled) the KubeVirt simulator over the API.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ControlPlane, type HpaControllerSettings, startControlPlane } from "./control-plane";
import { installAdmissionWebhook, installCrds, installFunctionIdentity } from "./install";
import { type MetricsApiService, startMetricsApiService } from "./metrics-apiservice";
import { ensureServingCert } from "./pki";

/** What a simulator attached to the real cluster must offer to be stopped with it. */
export interface AttachedSimulator {
  stop(): void | Promise<void>;
}

export interface RealClusterOptions {
  readonly apiPort: number;
  readonly dataDir: string;
  readonly fresh?: boolean;
  readonly binDir?: string;
  readonly unsafeNoFsync?: boolean;
  /** Starts the simulator once the CRDs are installed, given the admin kubeconfig path. */
  readonly simulator?: (adminKubeconfig: string) => Promise<AttachedSimulator>;
  /**
   * Serve metrics.k8s.io as an aggregated API (an APIService in front of `infra/real/metrics-apiservice.ts`), with
   * the simulator's load of a VMI without the annotation. Off by default: the start stays as fast.
   */
  readonly metricsApi?: { readonly defaultCpuLoad?: number };
  /** Run kube-controller-manager's HPA controller with these flags (off by default: our function does its job). */
  readonly hpa?: HpaControllerSettings;
}

export interface RealCluster {
  readonly url: string;
  readonly port: number;
  readonly controlPlane: ControlPlane;
  /** The admin kubeconfig (what a user's kubectl uses). */
  readonly kubeconfig: string;
  /** A kubeconfig with the token of the functions' ServiceAccount (the least-privilege ClusterRole). */
  readonly functionsKubeconfig: string;
  readonly functionsUser: string;
  readonly crds: readonly string[];
  readonly simulator: AttachedSimulator | undefined;
  readonly metricsApi: MetricsApiService | undefined;
  /** A serving certificate and key for the admission webhook on 127.0.0.1, signed by the control plane's CA. */
  readonly webhookTls: { readonly cert: string; readonly key: string };
  /** Applies infra/kubernetes' ValidatingWebhookConfiguration pointing at `url` (HTTPS, served with `webhookTls`). */
  installAdmission(url: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts everything and resolves once the product can run on it. */
export async function startRealCluster(options: RealClusterOptions): Promise<RealCluster> {
  mkdirSync(options.dataDir, { recursive: true });
  let crds: string[] = [];
  const controlPlane = await startControlPlane({
    beforeControllers: async (admin) => {
      crds = await installCrds(admin);
    },
    apiPort: options.apiPort,
    dataDir: options.dataDir,
    ...(options.fresh ? { fresh: true } : {}),
    ...(options.binDir ? { binDir: options.binDir } : {}),
    ...(options.unsafeNoFsync ? { unsafeNoFsync: true } : {}),
    ...(options.hpa ? { hpa: options.hpa } : {}),
  });
  let simulator: AttachedSimulator | undefined;
  let metricsApi: MetricsApiService | undefined;
  try {
    const identity = await installFunctionIdentity(controlPlane.admin);
    const kubeconfig = controlPlane.writeKubeconfig(join(options.dataDir, "admin.kubeconfig"));
    const functionsKubeconfig = controlPlane.writeKubeconfig(
      join(options.dataDir, "functions.kubeconfig"),
      identity.token,
      identity.user,
    );
    metricsApi = options.metricsApi
      ? await startMetricsApiService({
          admin: controlPlane.admin,
          pki: controlPlane.pki,
          aggregation: controlPlane.aggregation,
          ...(options.metricsApi.defaultCpuLoad === undefined
            ? {}
            : { defaultCpuLoad: options.metricsApi.defaultCpuLoad }),
        })
      : undefined;
    simulator = options.simulator ? await options.simulator(kubeconfig) : undefined;
    return {
      url: controlPlane.url,
      port: controlPlane.port,
      controlPlane,
      kubeconfig,
      functionsKubeconfig,
      functionsUser: identity.user,
      crds,
      simulator,
      metricsApi,
      webhookTls: ensureServingCert(controlPlane.pki, "webhook"),
      installAdmission: async (url) => {
        await installAdmissionWebhook(controlPlane.admin, url, controlPlane.pki.caCertPem);
      },
      close: async () => {
        await simulator?.stop();
        await controlPlane.stop();
        await metricsApi?.close();
      },
    };
  } catch (err) {
    await simulator?.stop();
    await controlPlane.stop();
    await metricsApi?.close();
    throw err;
  }
}
