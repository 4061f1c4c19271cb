/**
 * `vmpool serve`, the in-cluster Deployment's command: refuses to start without every secret (naming each), and
 * otherwise serves /healthz and /metrics (with process metrics) and reconciles at the deployed schedule's rate.
 * Run here against the local cluster through `--cluster`, since tests have no service account.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployedReconcileIntervalMs,
  parseServeFlags,
  readServeTls,
  startServe,
} from "../../infra/cli/serve";
import { call } from "../../infra/real/http";
import { ensureCa, ensureServingCert } from "../../infra/real/pki";
import { hasReason } from "../../shared/errors";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const ROOT = join(import.meta.dirname, "../..");
/** An AdmissionReview kube-apiserver sent (a pool scale), from the fixtures. */
const ADMISSION_FIXTURE = "pool-scale-update.json";
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

  it("serves admission over HTTPS with the certificate the environment names (kube-apiserver calls webhooks over TLS only)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmpool-serve-tls-"));
    try {
      const ca = ensureCa(dir, "serve-test-ca");
      ensureServingCert({ dir }, "webhook");
      const server = await startServe(
        parseServeFlags({ port: "0", "tls-port": "0", hostname: "127.0.0.1", cluster: env.kubeconfig }),
        {
          ...SECRETS,
          VMPOOL_TLS_CERT_FILE: join(dir, "webhook.crt"),
          VMPOOL_TLS_KEY_FILE: join(dir, "webhook.key"),
        },
      );
      try {
        expect(server.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const review = readFileSync(join(ROOT, "test/fixtures/admission", ADMISSION_FIXTURE), "utf8");
        const answer = await call({ url: server.httpsUrl as string, ca }, "POST", "/hooks/admission", review);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({
          kind: "AdmissionReview",
          response: { allowed: true },
        });
        // The CA is the only trust: a client that does not know it is refused at the handshake.
        await expect(call({ url: server.httpsUrl as string }, "GET", "/healthz")).rejects.toThrow(
          /certificate/,
        );
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts without HTTPS, warning, when the optional TLS Secret is not mounted (neither file exists)", async () => {
    const warnings: string[] = [];
    const settings = {
      VMPOOL_WATCH: false,
      VMPOOL_TLS_CERT_FILE: "/nonexistent/tls.crt",
      VMPOOL_TLS_KEY_FILE: "/nonexistent/tls.key",
    };
    expect(readServeTls(settings, (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining("no TLS certificate at /nonexistent/tls.crt")]);
    const server = await startServe(
      parseServeFlags({ port: "0", hostname: "127.0.0.1", cluster: env.kubeconfig }),
      {
        ...SECRETS,
        VMPOOL_TLS_CERT_FILE: "/nonexistent/tls.crt",
        VMPOOL_TLS_KEY_FILE: "/nonexistent/tls.key",
      },
    );
    try {
      expect(server.httpsUrl).toBeUndefined();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it.each([
    [{ VMPOOL_TLS_CERT_FILE: "/tmp/x.crt" }, /VMPOOL_TLS_KEY_FILE.*set both or neither/],
    [
      { VMPOOL_TLS_CERT_FILE: "/nonexistent/tls.crt", VMPOOL_TLS_KEY_FILE: join(ROOT, "package.json") },
      /VMPOOL_TLS_CERT_FILE: cannot read \/nonexistent\/tls\.crt \(ENOENT\)/,
    ],
    [
      { VMPOOL_TLS_CERT_FILE: join(ROOT, "package.json"), VMPOOL_TLS_KEY_FILE: join(ROOT, "package.json") },
      /VMPOOL_TLS_CERT_FILE: .*holds no PEM certificate/,
    ],
    [{ VMPOOL_WATCH: "yes" }, /VMPOOL_WATCH/],
  ])("refuses a bad TLS or watch setting %j, naming the variable", async (extra, message) => {
    const err = await startServe(parseServeFlags({ port: "0", cluster: env.kubeconfig }), {
      ...SECRETS,
      ...extra,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(message);
  });

  it.each([
    // a port out of range
    [{ port: "70000" }, /--port/],
    [{ "tls-port": "-1" }, /--tls-port/],
    // an interval below 100 ms
    [{ "interval-ms": "5" }, /--interval-ms/],
  ])("rejects bad flags %j", (flags, message) => {
    expect(() => parseServeFlags(flags)).toThrow(message);
  });
});
