import { Writable } from "node:stream";
import { Hono } from "hono";
import type { LambdaContext } from "hono/aws-lambda";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../functions/bootstrap";
import { createLambdaEntry, routesFunction } from "../../functions/lambda";
import type { Runtime } from "../../functions/runtime";
import { settingsFromEnv } from "../../functions/runtime";
import { createKube } from "../../shared/kube";

/** A runtime whose logger writes JSON lines into `lines` (its kube is never called). */
function capturingRuntime(lines: Record<string, unknown>[]): Runtime {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return createRuntime({
    kube: createKube({ kind: "token", server: "http://127.0.0.1:9", token: "unused" }),
    secrets: {},
    settings: settingsFromEnv({}),
    devMode: false,
    log: pino({ level: "info", base: null }, sink),
  });
}

const context = (awsRequestId: string) => ({ awsRequestId }) as LambdaContext;

const scheduled = {
  version: "0",
  id: "e1",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  time: "2025-06-01T12:00:00Z",
  region: "us-east-1",
  resources: [],
  detail: {},
};

const httpEvent = {
  version: "2.0",
  rawPath: "/hello",
  rawQueryString: "",
  headers: { host: "example.lambda-url.us-east-1.on.aws" },
  requestContext: {
    http: { method: "GET", path: "/hello", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
  },
  isBase64Encoded: false,
};

describe("per-invocation logging on Lambda", () => {
  it("EventBridge invocations log with their own awsRequestId", async () => {
    const lines: Record<string, unknown>[] = [];
    const runtime = capturingRuntime(lines);
    const handler = createLambdaEntry(
      () => runtime,
      routesFunction([], async (rt) => {
        rt.log.info({ step: "inside" }, "handling");
        return { ok: true };
      }),
    );
    await handler(scheduled, context("req-1"));
    await handler(scheduled, context("req-2"));
    expect(lines.filter((l) => l.step === "inside").map((l) => l.invocationId)).toEqual(["req-1", "req-2"]);
  });

  it("HTTP invocations log with their id, and a logger kept by a route factory never carries a stale one", async () => {
    const lines: Record<string, unknown>[] = [];
    const runtime = capturingRuntime(lines);
    const routes = (rt: Runtime) => {
      const kept = rt.log.child({ kept: true });
      const app = new Hono();
      app.get("/hello", (c) => {
        rt.log.info({ step: "request" }, "hello");
        kept.info({ step: "kept" }, "hello");
        return c.json({ ok: true });
      });
      return app;
    };
    const handler = createLambdaEntry(
      () => runtime,
      routesFunction([routes], async () => ({})),
    );
    const first = (await handler(httpEvent, context("http-1"))) as { statusCode: number };
    await handler(httpEvent, context("http-2"));
    expect(first.statusCode).toBe(200);
    expect(lines.filter((l) => l.step === "request").map((l) => l.invocationId)).toEqual([
      "http-1",
      "http-2",
    ]);
    expect(lines.filter((l) => l.step === "kept").map((l) => l.invocationId)).toEqual([undefined, undefined]);
  });

  it("overlapping invocations keep their own ids", async () => {
    const lines: Record<string, unknown>[] = [];
    const runtime = capturingRuntime(lines);
    const handler = createLambdaEntry(
      () => runtime,
      routesFunction([], async (rt, event) => {
        await new Promise((resolve) => setTimeout(resolve, event.id === "slow" ? 20 : 1));
        rt.log.info({ step: "after-wait", event: event.id }, "done");
        return {};
      }),
    );
    await Promise.all([
      handler({ ...scheduled, id: "slow" }, context("a")),
      handler({ ...scheduled, id: "fast" }, context("b")),
    ]);
    const byEvent = Object.fromEntries(
      lines.filter((l) => l.step === "after-wait").map((l) => [l.event, l.invocationId]),
    );
    expect(byEvent).toEqual({ slow: "a", fast: "b" });
  });

  it("an invocation without a Lambda context still gets an id", async () => {
    const lines: Record<string, unknown>[] = [];
    const runtime = capturingRuntime(lines);
    const handler = createLambdaEntry(
      () => runtime,
      routesFunction([], async () => ({})),
    );
    await handler({ not: "an event" });
    const warning = lines.find((l) => l.reason === "UnsupportedEvent");
    expect(warning?.invocationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
