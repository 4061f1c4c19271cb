/**
 * Starting and stopping the local cluster: store (+ journal unless in-memory), registry with the seeded
 * namespaces, garbage collector and namespace controller, KubeVirt simulator, fault injector, and the HTTP
 * server on 127.0.0.1. Also writes a kubeconfig real kubectl can use.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { serve } from "@hono/node-server";
import { stringify } from "yaml";
import { logger } from "../../shared/log";
import { type FaultConfig, FaultInjector } from "./faults";
import { GarbageCollector } from "./gc";
import { createApiApp } from "./http";
import { Journal } from "./journal";
import { Registry } from "./registry";
import { type Simulator, type SimulatorOptions, startSimulator } from "./simulator";
import { Store } from "./store";
import { AdmittedWrites, WebhookDispatcher, type WebhookOptions } from "./webhooks";

const log = logger("local-cluster");

export const DEFAULT_API_PORT = 18443;

export interface LocalClusterOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Default 18443. */
  readonly port?: number;
  /** Directory for the journal; undefined keeps everything in memory. */
  readonly dataDir?: string | undefined;
  /** Start empty: discard an existing journal. */
  readonly fresh?: boolean;
  readonly faults?: FaultConfig;
  /** Simulator settings; `false` disables the simulator (benchmarks of the bare API server). */
  readonly simulator?: SimulatorOptions | false;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** Watch history kept (default 100,000 changes); tests lower it to see 410 Expired. */
  readonly historyLimit?: number;
  /** Hears every admission webhook call (tests and benchmarks). */
  readonly webhooks?: WebhookOptions;
  /**
   * Serve HTTPS with this certificate and require this bearer token (`npm start` does; see ./auth.ts). kubectl
   * sends a kubeconfig's credentials only over TLS, so the token comes with TLS. Undefined: plain HTTP, no token.
   */
  readonly secure?: LocalClusterSecurity;
}

export interface LocalClusterSecurity {
  readonly token: string;
  /** PEM serving certificate and key for 127.0.0.1 and localhost, and the CA that signed them. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface LocalCluster {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly registry: Registry;
  readonly faults: FaultInjector;
  readonly gc: GarbageCollector;
  readonly simulator: Simulator | undefined;
  /** Objects restored from the journal at start-up. */
  readonly restored: number;
  /** The bearer token and CA when served securely. */
  readonly security: LocalClusterSecurity | undefined;
  /** Writes a kubeconfig pointing at this cluster and returns its path. */
  writeKubeconfig(path: string): string;
  close(): Promise<void>;
}

/** Starts the local cluster and resolves once it accepts connections. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const store = new Store(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit });
  let journal: Journal | undefined;
  let restored = 0;
  if (options.dataDir !== undefined) {
    const path = join(options.dataDir, "journal.jsonl");
    if (options.fresh) {
      mkdirSync(options.dataDir, { recursive: true });
      writeFileSync(path, "");
    }
    ({ journal, restored } = Journal.open(path, store));
  }
  store.markHistoryStart();
  const registry = new Registry(store, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  registry.seedNamespaces();
  // The watch cache starts after bootstrap: a watch from before it (e.g. resourceVersion=1) is 410 Expired.
  store.markWatchStart();
  const faults = new FaultInjector();
  if (options.faults) faults.configure(options.faults);
  const gc = new GarbageCollector(store, registry);
  const webhooks = new WebhookDispatcher(store, options.webhooks);
  const writes = new AdmittedWrites(registry, webhooks);
  const simulator =
    options.simulator === false
      ? undefined
      : startSimulator(registry, store, options.simulator ?? {}, writes);

  const secure = options.secure;
  const load = options.simulator ? options.simulator.defaultCpuLoad : undefined;
  // The simulator's nodes stand in for Node objects only when a simulator runs (a bare API server has none).
  const metrics = {
    simulatedNodes: options.simulator !== false,
    ...(load === undefined ? {} : { defaultCpuLoad: load }),
  };
  const ctx = { registry, writes, faults, serverAddress: "", auth: { token: secure?.token }, metrics };
  const app = createApiApp(ctx);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: "127.0.0.1",
        port: options.port ?? DEFAULT_API_PORT,
        ...(secure
          ? { createServer: createHttpsServer, serverOptions: { cert: secure.cert, key: secure.key } }
          : {}),
      },
      () => resolve(s),
    );
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${secure ? "https" : "http"}://127.0.0.1:${port}`;
  ctx.serverAddress = `127.0.0.1:${port}`;
  log.info({ url, restored, journal: journal?.location ?? "in-memory" }, "local cluster listening");

  return {
    url,
    port,
    store,
    registry,
    faults,
    gc,
    simulator,
    restored,
    security: secure,
    writeKubeconfig: (path) => writeKubeconfig(path, url, secure),
    close: async () => {
      simulator?.stop();
      gc.stop();
      webhooks.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Watches are long-lived: end open connections so close() completes promptly.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      journal?.close();
    },
  };
}

/**
 * A kubeconfig with one cluster/context/user named `vmpool-local`: with `secure`, the CA and the bearer token;
 * without, plain HTTP on loopback and no credentials.
 */
export function writeKubeconfig(
  path: string,
  url: string,
  secure?: Pick<LocalClusterSecurity, "token" | "ca">,
): string {
  const cluster = secure
    ? { server: url, "certificate-authority-data": Buffer.from(secure.ca).toString("base64") }
    : // client-node refuses plain HTTP unless TLS verification is explicitly skipped; kubectl ignores the flag for http.
      { server: url, "insecure-skip-tls-verify": true };
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "vmpool-local", cluster }],
    users: [{ name: "vmpool-local", user: secure ? { token: secure.token } : {} }],
    contexts: [
      {
        name: "vmpool-local",
        context: { cluster: "vmpool-local", user: "vmpool-local", namespace: "default" },
      },
    ],
    "current-context": "vmpool-local",
    preferences: {},
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
