/**
 * Uploads abandoned mid-body on the function server over real HTTP: a client that goes away is its own doing, so
 * it is counted and logged as a client abort (`ClientClosedRequest`, nginx's 499, at info), never as a 5xx, an
 * `InternalError` or an error-level line; nobody can fire 5xx alerts by hanging up. Issue 10, defect 7.
 */
import { request, type ServerResponse } from "node:http";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteFactory } from "../../functions/app";
import { readRawBody } from "../../functions/http";
import { startTestFunctionServer, type TestFunctionServer, writesOf } from "../support/function-server";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

const SECRETS = {
  alertmanagerToken: "alertmanager-token-0123456789",
  slackSigningSecret: "slack-signing-secret-0123456789",
  mattermostToken: "mattermost-token-0123456789",
  reconcileToken: "reconcile-token-0123456789",
};
const ROUNDS = 10;

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

/** Sends the headers and part of a body, then hangs up once the server has started on the request. */
function abandon(
  path: string,
  headers: Record<string, string>,
  framing: "chunked" | "length",
  target = server,
): Promise<void> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port: target.port,
      path,
      method: "POST",
      headers: {
        ...headers,
        ...(framing === "chunked" ? { "transfer-encoding": "chunked" } : { "content-length": "6000" }),
      },
    });
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    // The Node server has dispatched the request to the app by the time its later listeners hear of it.
    target.http.once("request", () => setImmediate(() => req.destroy()));
    req.write('{"alerts": [');
    req.write("x".repeat(4096));
  });
}

async function scrape(): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

function sum(text: string, match: (series: string) => boolean): number {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#") && match(line.slice(0, line.lastIndexOf(" "))))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

const serverErrors = (text: string) =>
  sum(text, (s) => s.startsWith("vmpool_http_request_duration_seconds_count{") && /status="5\d\d"/.test(s));
const internalErrors = (text: string) =>
  sum(text, (s) => s.startsWith("vmpool_http_errors_total{") && /reason="InternalError"/.test(s));
const clientAborts = (text: string) =>
  sum(
    text,
    (s) => s.startsWith("vmpool_http_errors_total{") && /reason="ClientClosedRequest",status="499"/.test(s),
  );

describe("an upload abandoned mid-body", () => {
  const json = { "content-type": "application/json" };
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const bearer = (token: string) => ({ ...json, authorization: `Bearer ${token}` });
  it.each<[string, Record<string, string>]>([
    ["/hooks/alertmanager", bearer(SECRETS.alertmanagerToken)],
    ["/hooks/grafana", bearer(SECRETS.alertmanagerToken)],
    ["/hooks/metrics", bearer(SECRETS.alertmanagerToken)],
    ["/hooks/events", bearer(SECRETS.alertmanagerToken)],
    ["/reconcile", bearer(SECRETS.reconcileToken)],
    ["/hooks/slack", { ...form, "x-slack-request-timestamp": "1", "x-slack-signature": "v0=00" }],
    ["/hooks/mattermost", form],
  ])("at %s is a client abort, not a server error", async (path, headers) => {
    const before = await scrape();
    const linesBefore = server.lines.length;
    const writes = writesOf(server.kube);
    for (let round = 0; round < ROUNDS; round++) {
      await abandon(path, headers, "chunked");
      await abandon(path, headers, "length");
    }
    const reported = () => server.lines.slice(linesBefore).filter((line) => line.path === path);
    await eventually(() => (reported().length >= 2 * ROUNDS ? true : undefined), 10_000, "a line per abort");
    const after = await scrape();

    expect(serverErrors(after) - serverErrors(before)).toBe(0);
    expect(internalErrors(after) - internalErrors(before)).toBe(0);
    expect(clientAborts(after) - clientAborts(before)).toBe(2 * ROUNDS);
    const lines = reported();
    expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    expect(lines.every((line) => line.reason === "ClientClosedRequest" && line.status === 499)).toBe(true);
    expect(writesOf(server.kube)).toBe(writes);
  });
});

describe("a client gone before its route reads the body", () => {
  // A route that awaits something before reading (none does today): the client has gone by then.
  const late: RouteFactory = () =>
    new Hono().post("/late", async (c) => {
      const { outgoing } = c.env as { outgoing: ServerResponse };
      if (!outgoing.destroyed) await new Promise((resolve) => outgoing.once("close", resolve));
      return c.text(await readRawBody(c));
    });
  let lateServer: TestFunctionServer;
  beforeAll(async () => {
    lateServer = await startTestFunctionServer({
      kubeconfig: env.kubeconfig,
      secrets: SECRETS,
      routes: [late],
    });
  });
  afterAll(async () => lateServer?.close());

  it("is a client abort too", async () => {
    const before = await scrape();
    for (let round = 0; round < ROUNDS; round++) {
      await abandon("/late", { "content-type": "application/json" }, "chunked", lateServer);
      await abandon("/late", { "content-type": "application/json" }, "length", lateServer);
    }
    const reported = () => lateServer.lines.filter((line) => line.path === "/late");
    await eventually(() => (reported().length >= 2 * ROUNDS ? true : undefined), 10_000, "a line per abort");
    const after = await scrape();
    expect(serverErrors(after) - serverErrors(before)).toBe(0);
    expect(internalErrors(after) - internalErrors(before)).toBe(0);
    expect(clientAborts(after) - clientAborts(before)).toBe(2 * ROUNDS);
    expect(reported().every((line) => line.reason === "ClientClosedRequest" && line.level === 30)).toBe(true);
  });
});
