/**
 * Request bodies on the function server over real HTTP (@hono/node-server on 127.0.0.1, a local cluster behind
 * it): a chunked upload far larger than any route accepts is refused early, with credentials that come in headers
 * checked before a byte of the body is read (401) and every route stopping at its size limit (413), so memory grows
 * by far less than the upload; and nothing is written. Issue 10, defect 3.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import { autoscaleConfigFromEnv } from "../../shared/autoscale";
import {
  chunkedUpload,
  peakMemoryGrowth,
  startTestFunctionServer,
  type TestFunctionServer,
  writesOf,
} from "../support/function-server";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const SECRETS = {
  alertmanagerToken: "alertmanager-token-0123456789",
  slackSigningSecret: "slack-signing-secret-0123456789",
  mattermostToken: "mattermost-token-0123456789",
  reconcileToken: "reconcile-token-0123456789",
};
const UPLOAD = 200 * 1024 * 1024;
const BOUND = 50 * 1024 * 1024;
const JSON_TYPE = { "content-type": "application/json" };
const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };

let env: TestCluster;
let server: TestFunctionServer;

beforeAll(async () => {
  env = await startTestCluster({ simulator: false });
  server = await startTestFunctionServer({ kubeconfig: env.kubeconfig, secrets: SECRETS });
});
afterAll(async () => {
  await server?.close();
  await env?.close();
});

async function refusedEarly(s: TestFunctionServer, path: string, headers: Record<string, string>) {
  const writes = writesOf(s.kube);
  const { result, growth } = await peakMemoryGrowth(() => chunkedUpload(s.port, path, headers, UPLOAD));
  expect(growth).toBeLessThan(BOUND);
  // The answer came while the client was still sending: the server did not wait for the whole body.
  expect(result.sent).toBeLessThan(UPLOAD);
  expect(writesOf(s.kube)).toBe(writes);
  return {
    status: result.status,
    reason: (JSON.parse(result.body) as { error: { reason: string } }).error.reason,
  };
}

describe("a 200 MB chunked upload", () => {
  it.each([
    // Each autoscale source with no Authorization header at all.
    ["/hooks/alertmanager", {}],
    ["/hooks/grafana", {}],
    ["/hooks/metrics", {}],
    ["/hooks/events", {}],
    // A wrong token is refused just as early.
    ["/hooks/alertmanager", { authorization: "Bearer wrong" }],
    ["/reconcile", {}],
  ])("without credentials to %s is refused with 401 before the body is read (%j)", async (path, auth) => {
    expect(await refusedEarly(server, path, { ...JSON_TYPE, ...auth })).toEqual({
      status: 401,
      reason: "Unauthorized",
    });
  });

  it.each([
    ["/hooks/alertmanager", `Bearer ${SECRETS.alertmanagerToken}`],
    ["/hooks/grafana", `Bearer ${SECRETS.alertmanagerToken}`],
    ["/hooks/metrics", `Bearer ${SECRETS.alertmanagerToken}`],
    ["/hooks/events", `Bearer ${SECRETS.alertmanagerToken}`],
    ["/reconcile", `Bearer ${SECRETS.reconcileToken}`],
  ])("with valid credentials to %s stops at the size limit with 413", async (path, authorization) => {
    expect(await refusedEarly(server, path, { ...JSON_TYPE, authorization })).toEqual({
      status: 413,
      reason: "PayloadTooLarge",
    });
  });

  it.each([
    // Slack signs the body, so it must be read, but only up to the limit.
    ["/hooks/slack", { "x-slack-request-timestamp": "1", "x-slack-signature": "v0=00" }],
    // Mattermost's token may come in the form body.
    ["/hooks/mattermost", {}],
  ])("to %s stops at the size limit with 413", async (path, headers) => {
    expect(await refusedEarly(server, path, { ...FORM_TYPE, ...headers })).toEqual({
      status: 413,
      reason: "PayloadTooLarge",
    });
  });
});

describe("Grafana with an HMAC signing secret", () => {
  let signed: TestFunctionServer;
  beforeAll(async () => {
    const config = autoscaleConfigFromEnv({ VMPOOL_GRAFANA_HMAC_SECRET: "grafana-hmac-secret-0123456789" });
    signed = await startTestFunctionServer({
      kubeconfig: env.kubeconfig,
      secrets: SECRETS,
      routes: [(runtime) => autoscaleRoutes(runtime, config)],
    });
  });
  afterAll(async () => signed?.close());

  it("refuses an upload without a signature header with 401 before reading it", async () => {
    expect(await refusedEarly(signed, "/hooks/grafana", JSON_TYPE)).toEqual({
      status: 401,
      reason: "Unauthorized",
    });
  });

  it("reads a signed upload only up to the size limit (413)", async () => {
    const headers = { ...JSON_TYPE, "x-grafana-alert-signature": "00".repeat(32) };
    expect(await refusedEarly(signed, "/hooks/grafana", headers)).toEqual({
      status: 413,
      reason: "PayloadTooLarge",
    });
  });
});
