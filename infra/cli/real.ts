/**
 * The real control plane for `vmpool dev --real` and `vmpool cluster --real`: builds it first when Go is there
 * and the binaries are missing or stale, then starts it with KubeVirt's CRDs, the functions' identity and the
 * KubeVirt simulator over the API, and writes the admin kubeconfig where `npm start` always writes it.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { buildControlPlane, type RealCluster, startRealCluster } from "../real";

export interface RealStartOptions {
  readonly apiPort: number;
  readonly dataDir: string;
  readonly fresh: boolean;
  readonly simulator: boolean;
  readonly seed: number;
}

/** Builds if needed, starts, and returns the cluster with the admin kubeconfig at `<dataDir>/kubeconfig`. */
export async function startReal(
  options: RealStartOptions,
  print: (line: string) => void,
): Promise<{ cluster: RealCluster; kubeconfig: string }> {
  const build = await buildControlPlane(print);
  if (build.kind === "no-go")
    throw new Error(
      "--real needs Go (1.24 or newer) to build kube-apiserver, kube-controller-manager and etcd",
    );
  if (build.kind === "failed")
    throw new Error(`--real: building the control plane failed (go build exit ${build.code})`);
  if (build.kind === "built") print(`Built the real control plane in ${build.seconds.toFixed(0)} s`);
  const { startApiSimulator } = await import("../local/simulator");
  const cluster = await startRealCluster({
    apiPort: options.apiPort,
    dataDir: join(options.dataDir, "real"),
    fresh: options.fresh,
    ...(options.simulator
      ? { simulator: (kubeconfigPath: string) => startApiSimulator({ kubeconfigPath, seed: options.seed }) }
      : {}),
  });
  const kubeconfig = join(options.dataDir, "kubeconfig");
  copyFileSync(cluster.kubeconfig, kubeconfig);
  return { cluster, kubeconfig };
}
