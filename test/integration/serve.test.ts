/**
 * `vmpool serve`, the in-cluster Deployment's command: refuses to start without every secret (naming each), and
 * otherwise serves /healthz and /metrics (with process metrics) and reconciles at the deployed schedule's rate.
 * Run here against the local cluster through `--cluster`, since tests have no service account.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedReconcileIntervalMs, parseServeFlags, startServe } from "../../infra/cli/serve";
import { hasReason } from "../../shared/errors";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const ROOT = join(import.meta.dirname, "../..");
const SECRETS = {
  VMPOOL_ALERTMANAGER_TOKEN: "alertmanager-token-0123456789",
  VMPOOL_SLACK_SIGNING_SECRET: "slack-signing-secret-0123456789",
  VMPOOL_MATTERMOST_TOKEN: "mattermost-token-0123456789",
  VMPOOL_RECONCILE_TOKEN: "reconcile-token-0123456789",
};

describe("vmpool serve", () => {
  let env: TestCluster;
  beforeAll(async () => {
    env = await startTestCluster();
  });
  afterAll(async () => env?.close());

  it("fails fast, naming every missing secret, before touching a cluster", async () => {
    const partial = { VMPOOL_RECONCILE_TOKEN: SECRETS.VMPOOL_RECONCILE_TOKEN };
    const err = await startServe(parseServeFlags({}), partial).catch((e: unknown) => e);
    expect(hasReason(err, "MissingSecrets")).toBe(true);
    for (const name of [
      "VMPOOL_ALERTMANAGER_TOKEN",
      "VMPOOL_SLACK_SIGNING_SECRET",
      "VMPOOL_MATTERMOST_TOKEN",
    ]) {
      expect((err as Error).message).toContain(name);
    }
    expect((err as Error).message).not.toContain("VMPOOL_RECONCILE_TOKEN");
  });

  it("as a command, exits with status 2 and the missing variables on stderr", async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, "infra/cli/vmpool.mjs"), "serve", "--port", "0"],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent" }, timeout: 60_000 },
        (error, _stdout, stderr) =>
          resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing secrets: VMPOOL_ALERTMANAGER_TOKEN, .*VMPOOL_RECONCILE_TOKEN/);
  }, 60_000);

  it("serves /healthz and /metrics and reconciles at the deployed rate", async () => {
    const server = await startServe(
      parseServeFlags({ port: "0", hostname: "127.0.0.1", cluster: env.kubeconfig }),
      SECRETS,
    );
    try {
      expect(server.intervalMs).toBe(deployedReconcileIntervalMs());
      expect(server.intervalMs).toBe(60_000);
      expect(server.runtime.devMode).toBe(false);
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain("process_cpu_user_seconds_total");
      expect(metrics).toContain("# TYPE vmpool_passes_total counter");
    } finally {
      await server.stop();
    }
  });

  it.each([
    // a port out of range
    [{ port: "70000" }, /--port/],
    // an interval below 100 ms
    [{ "interval-ms": "5" }, /--interval-ms/],
  ])("rejects bad flags %j", (flags, message) => {
    expect(() => parseServeFlags(flags)).toThrow(message);
  });
});
