/**
 * A local cluster for one test file: in memory (or journaled in a temp dir), on a free port of 127.0.0.1, with
 * a kubeconfig file for kubectl and client-node.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalCluster, type LocalClusterOptions, startLocalCluster } from "../../infra/local";

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly kubeconfig: string;
  readonly dir: string;
  close(): Promise<void>;
}

export async function startTestCluster(options: LocalClusterOptions = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-cluster-"));
  const cluster = await startLocalCluster({ port: 0, ...options });
  const kubeconfig = cluster.writeKubeconfig(join(dir, "kubeconfig"));
  return {
    cluster,
    kubeconfig,
    dir,
    close: async () => {
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
