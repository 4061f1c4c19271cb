/**
 * Starting a real control plane from the binaries `vmpool control-plane build` made: etcd, kube-apiserver (TLS
 * on 127.0.0.1 with our CA, RBAC, service-account keys, an admin token) and kube-controller-manager with only
 * the controllers a KubeVirt cluster without nodes needs (garbage collector, namespace, service accounts,
 * Endpoints and EndpointSlices; no HPA controller, since our autoscale function does its job, unless `hpa` asks
 * for it). kube-apiserver's aggregation layer is configured as kubeadm does it (a front-proxy CA and client
 * certificate, the request-header flags), so an extension API server can be registered with an APIService.
 * Resolves once all three are ready; `stop()` ends them in reverse order, and they end by themselves if we die.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { builtBinaries, DEFAULT_BIN_DIR } from "./build";
import { call, type Endpoint, until } from "./http";
import { ensureCa, ensureClientCert, ensurePki, type Pki } from "./pki";
import { type Supervised, supervise } from "./process";

/** The controllers kube-controller-manager runs here (names from its `--controllers` flag). */
export const CONTROLLERS = [
  "garbage-collector-controller",
  "namespace-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
] as const;

/** The HPA controller's name in `--controllers`, added only when `hpa` is given. */
export const HPA_CONTROLLER = "horizontal-pod-autoscaler-controller";

/** kube-controller-manager's HPA flags (`--horizontal-pod-autoscaler-…`), in seconds. */
export interface HpaControllerSettings {
  readonly syncPeriodSeconds: number;
  readonly tolerance: number;
  /** Used for HPAs without `behavior`; an HPA's own `behavior.scaleDown.stabilizationWindowSeconds` wins. */
  readonly downscaleStabilizationSeconds: number;
  readonly cpuInitializationPeriodSeconds: number;
  readonly initialReadinessDelaySeconds: number;
}

/** The front-proxy identity kube-apiserver's aggregation layer presents to extension API servers. */
export interface Aggregation {
  /** PEM of the CA that signs the front-proxy client certificate (`--requestheader-client-ca-file`). */
  readonly requestHeaderCaPem: string;
  /** The common names allowed to assert a user in request headers (`--requestheader-allowed-names`). */
  readonly allowedNames: readonly string[];
  readonly usernameHeader: string;
  readonly groupHeader: string;
  readonly extraHeaderPrefix: string;
}

const FRONT_PROXY_CLIENT = "front-proxy-client";

export interface ControlPlaneOptions {
  /** kube-apiserver's port on 127.0.0.1; 0 picks a free one. */
  readonly apiPort: number;
  /** Everything lives here: etcd's data, the credentials, the logs. */
  readonly dataDir: string;
  /** Wipe etcd's data first (credentials are kept). */
  readonly fresh?: boolean;
  readonly binDir?: string;
  /** Skip fsync in etcd (tests and benchmarks: durability is not what they measure). */
  readonly unsafeNoFsync?: boolean;
  /**
   * Runs once kube-apiserver is ready, before kube-controller-manager starts: CRDs installed here are in the
   * garbage collector's first discovery, so their dependents are collected from the start (a CRD added later
   * waits for its next discovery resync, 30 s).
   */
  readonly beforeControllers?: (admin: Endpoint) => Promise<void>;
  /** Runs the HPA controller too, with these flags. */
  readonly hpa?: HpaControllerSettings;
}

export interface ControlPlane {
  readonly url: string;
  readonly port: number;
  readonly pki: Pki;
  readonly aggregation: Aggregation;
  /** The admin endpoint (CA + admin token) for raw requests. */
  readonly admin: Endpoint;
  readonly dataDir: string;
  readonly logDir: string;
  /** The child processes, in start order. */
  readonly processes: readonly Supervised[];
  /** Writes a kubeconfig for `token` (default: the admin's) and returns its path. */
  writeKubeconfig(path: string, token?: string, user?: string): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A kubeconfig text for one server and one bearer token. */
export function kubeconfigText(url: string, caPem: string, token: string, user: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "vmpool-real",
        cluster: { server: url, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "vmpool-real", context: { cluster: "vmpool-real", user, namespace: "default" } }],
    "current-context": "vmpool-real",
    preferences: {},
  });
}

function exitReason(processes: readonly Supervised[], logDir: string): string | undefined {
  const dead = processes.find((p) => p.done());
  return dead ? `${dead.name} exited (see ${join(logDir, `${dead.name}.log`)})` : undefined;
}

/** Starts etcd, kube-apiserver and kube-controller-manager and waits until each is ready. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const bins = builtBinaries(options.binDir ?? DEFAULT_BIN_DIR);
  if (!bins) throw new Error("the real control plane is not built: run npx vmpool control-plane build");
  const dataDir = options.dataDir;
  const etcdDir = join(dataDir, "etcd");
  const logDir = join(dataDir, "logs");
  if (options.fresh) rmSync(etcdDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const pki = ensurePki(join(dataDir, "pki"));
  const frontProxy = { dir: join(dataDir, "pki", "front-proxy") };
  const aggregation: Aggregation = {
    requestHeaderCaPem: ensureCa(frontProxy.dir, "front-proxy-ca"),
    allowedNames: [FRONT_PROXY_CLIENT],
    usernameHeader: "X-Remote-User",
    groupHeader: "X-Remote-Group",
    extraHeaderPrefix: "X-Remote-Extra-",
  };
  const proxyClient = ensureClientCert(frontProxy, FRONT_PROXY_CLIENT, FRONT_PROXY_CLIENT);
  const [etcdPort, peerPort, kcmPort] = [await freePort(), await freePort(), await freePort()];
  const apiPort = options.apiPort === 0 ? await freePort() : options.apiPort;
  const url = `https://127.0.0.1:${apiPort}`;
  const admin: Endpoint = { url, ca: pki.caCertPem, token: pki.adminToken };
  const processes: Supervised[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    processes.push(
      supervise(
        "etcd",
        bins.etcd,
        [
          "--name=vmpool",
          `--data-dir=${etcdDir}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=vmpool=http://127.0.0.1:${peerPort}`,
          "--log-level=warn",
          ...(options.unsafeNoFsync ? ["--unsafe-no-fsync"] : []),
        ],
        join(logDir, "etcd.log"),
      ),
    );
    await until(
      async () =>
        (await call({ url: etcdUrl }, "GET", "/health").catch(() => ({ status: 0 }))).status === 200,
      30_000,
      "etcd",
      () => exitReason(processes, logDir),
    );

    processes.push(
      supervise(
        "kube-apiserver",
        bins["kube-apiserver"],
        [
          `--etcd-servers=${etcdUrl}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${apiPort}`,
          `--tls-cert-file=${pki.servingCert}`,
          `--tls-private-key-file=${pki.servingKey}`,
          `--client-ca-file=${pki.caCert}`,
          `--token-auth-file=${pki.tokenFile}`,
          "--authorization-mode=RBAC",
          "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
          `--service-account-key-file=${pki.serviceAccountPub}`,
          `--service-account-signing-key-file=${pki.serviceAccountKey}`,
          "--service-cluster-ip-range=10.96.0.0/16",
          `--cert-dir=${join(dataDir, "pki")}`,
          `--requestheader-client-ca-file=${join(frontProxy.dir, "ca.crt")}`,
          `--requestheader-allowed-names=${aggregation.allowedNames.join(",")}`,
          `--requestheader-username-headers=${aggregation.usernameHeader}`,
          `--requestheader-group-headers=${aggregation.groupHeader}`,
          `--requestheader-extra-headers-prefix=${aggregation.extraHeaderPrefix}`,
          `--proxy-client-cert-file=${proxyClient.certPath}`,
          `--proxy-client-key-file=${proxyClient.keyPath}`,
          "--enable-priority-and-fairness=false",
          "--profiling=false",
          "--v=1",
        ],
        join(logDir, "kube-apiserver.log"),
      ),
    );
    await until(
      async () => (await call(admin, "GET", "/readyz")).status === 200,
      90_000,
      "kube-apiserver /readyz",
      () => exitReason(processes, logDir),
    );

    await options.beforeControllers?.(admin);

    const kcmKubeconfig = join(dataDir, "kube-controller-manager.kubeconfig");
    writeFileSync(
      kcmKubeconfig,
      kubeconfigText(url, pki.caCertPem, pki.controllerManagerToken, "system:kube-controller-manager"),
      { mode: 0o600 },
    );
    processes.push(
      supervise(
        "kube-controller-manager",
        bins["kube-controller-manager"],
        [
          `--kubeconfig=${kcmKubeconfig}`,
          `--authentication-kubeconfig=${kcmKubeconfig}`,
          `--authorization-kubeconfig=${kcmKubeconfig}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(dataDir, "kcm-certs")}`,
          `--controllers=${[...CONTROLLERS, ...(options.hpa ? [HPA_CONTROLLER] : [])].join(",")}`,
          ...(options.hpa ? hpaFlags(options.hpa) : []),
          `--service-account-private-key-file=${pki.serviceAccountKey}`,
          `--root-ca-file=${pki.caCert}`,
          "--leader-elect=false",
          "--profiling=false",
          "--v=1",
        ],
        join(logDir, "kube-controller-manager.log"),
      ),
    );
    await until(
      async () =>
        (await call({ url: `https://127.0.0.1:${kcmPort}`, insecure: true }, "GET", "/healthz")).status ===
        200,
      60_000,
      "kube-controller-manager /healthz",
      () => exitReason(processes, logDir),
    );
    // Pods need their namespace's `default` ServiceAccount: wait until the serviceaccount controller made it.
    await until(
      async () =>
        (await call(admin, "GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
      30_000,
      "the default ServiceAccount",
      () => exitReason(processes, logDir),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    port: apiPort,
    pki,
    aggregation,
    admin,
    dataDir,
    logDir,
    processes,
    writeKubeconfig: (path, token = pki.adminToken, user = "vmpool-admin") => {
      writeFileSync(path, kubeconfigText(url, pki.caCertPem, token, user), { mode: 0o600 });
      return path;
    },
    stop,
  };
}

function hpaFlags(hpa: HpaControllerSettings): string[] {
  const prefix = "--horizontal-pod-autoscaler";
  return [
    `${prefix}-sync-period=${hpa.syncPeriodSeconds}s`,
    `${prefix}-tolerance=${hpa.tolerance}`,
    `${prefix}-downscale-stabilization=${hpa.downscaleStabilizationSeconds}s`,
    `${prefix}-cpu-initialization-period=${hpa.cpuInitializationPeriodSeconds}s`,
    `${prefix}-initial-readiness-delay=${hpa.initialReadinessDelaySeconds}s`,
  ];
}
