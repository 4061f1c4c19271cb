/**
 * Payloads full of bad entries from an authenticated sender, over real HTTP: parsing stops at the first bad entry
 * (only that one is reported), so a megabyte of them costs what one costs: a 400 naming the first bad field, at
 * most a couple of zod issues built, and the process's peak RSS bounded (reporting every entry took 700 MB and
 * 8 s of blocked event loop for a megabyte of `{}` alerts).
 * Found by the function server's fuzz suite.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  peakMemoryGrowth,
  startTestFunctionServer,
  type TestFunctionServer,
  writesOf,
} from "../support/function-server";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const TOKEN = "alertmanager-token-0123456789";
const FIXTURES = join(import.meta.dirname, "../fixtures");
type Json = Record<string, unknown> & { alerts: Record<string, unknown>[]; detail: Record<string, unknown> };
const fixture = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Json;
const many = (n: number, value: unknown) => Array.from({ length: n }, () => value);
const numbered = (n: number, value: unknown) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

let env: TestCluster;
let server: TestFunctionServer;
/** Issues zod has built in this process (its global error map sees each one; the server runs in this process). */
let issues = 0;
z.config({
  customError: () => {
    issues++;
    return undefined;
  },
});

beforeAll(async () => {
  env = await startTestCluster({ simulator: false });
  server = await startTestFunctionServer({
    kubeconfig: env.kubeconfig,
    secrets: { alertmanagerToken: TOKEN, reconcileToken: TOKEN },
  });
});
afterAll(async () => {
  await server?.close();
  await env?.close();
});

const am = fixture("alertmanager/firing-cpu-high.json");
const review = fixture("admission/vm-status-update.json") as unknown as {
  request: { object: { metadata: Record<string, unknown> } };
};
/** The review with its object's metadata overridden. */
const reviewWith = (metadata: Record<string, unknown>) => ({
  ...review,
  request: {
    ...review.request,
    object: { ...review.request.object, metadata: { ...review.request.object.metadata, ...metadata } },
  },
});
const grafana = fixture("grafana/firing-cpu.json");
const alarm = fixture("cloudwatch/alarm-cpu-high.json");

describe("a megabyte of bad entries", () => {
  it.each<[string, string, unknown, string]>([
    // Alerts that are empty objects, each missing three required fields.
    ["alerts", "/hooks/alertmanager", { ...am, alerts: many(300_000, {}) }, "alerts.0.status"],
    // Labels whose values are numbers.
    [
      "labels",
      "/hooks/alertmanager",
      { ...am, alerts: [{ ...am.alerts[0], labels: numbered(80_000, 1) }] },
      "alerts.0.labels.k0",
    ],
    ["common labels", "/hooks/alertmanager", { ...am, commonLabels: numbered(80_000, 1) }, "commonLabels.k0"],
    // Grafana values that are strings.
    [
      "values",
      "/hooks/grafana",
      { ...grafana, alerts: [{ ...grafana.alerts[0], values: numbered(70_000, "x") }] },
      "alerts.0.values.k0",
    ],
    ["resources", "/hooks/events", { ...alarm, resources: many(400_000, 1) }, "resources.0"],
    [
      "alarm tags",
      "/hooks/events",
      { ...alarm, detail: { ...alarm.detail, alarmTags: numbered(80_000, 1) } },
      "detail.alarmTags.k0",
    ],
    [
      "datapoints",
      "/hooks/events",
      {
        ...alarm,
        detail: {
          ...alarm.detail,
          state: {
            ...(alarm.detail.state as object),
            reasonData: JSON.stringify({ recentDatapoints: many(150_000, "a") }),
          },
        },
      },
      "detail.state.reasonData.recentDatapoints",
    ],
    // The admission hook takes no credentials: a megabyte of bad owner references or labels from anyone.
    [
      "owner references",
      "/hooks/admission",
      reviewWith({ ownerReferences: many(300_000, {}) }),
      "request.object.metadata.ownerReferences.0.apiVersion",
    ],
    [
      "admitted labels",
      "/hooks/admission",
      reviewWith({ labels: numbered(80_000, 1) }),
      "request.object.metadata.labels.k0",
    ],
  ])("(%s) costs what its first costs: 400 naming the field", async (_case, path, payload, field) => {
    const body = JSON.stringify(payload);
    expect(body.length).toBeGreaterThan(400_000);
    expect(body.length).toBeLessThan(1024 * 1024);
    const writes = writesOf(server.kube);
    const issuesBefore = issues;
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const { result, growth } = await peakMemoryGrowth(async () => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body,
      });
      return { status: response.status, json: (await response.json()) as { error: { message: string } } };
    });
    expect(result.status).toBe(400);
    expect(result.json.error.message).toContain(`${field}: `);
    expect(issues - issuesBefore).toBeLessThanOrEqual(2);
    // Parsing is synchronous, so the sampler cannot see inside it; the process's peak RSS can. Parsing the JSON
    // itself takes its share (300,000 empty objects are 20 MB), which every entry reported would multiply.
    const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    expect(Math.max(growth, peakGrowth)).toBeLessThan(64 * 1024 * 1024);
    expect(writesOf(server.kube)).toBe(writes);
  });
});

describe("an error answer", () => {
  it.each<[string, string, unknown]>([
    // An unknown pool kind is quoted in the message.
    [
      "a long kind label",
      "/hooks/alertmanager",
      {
        ...am,
        alerts: [
          {
            ...am.alerts[0],
            labels: { ...(am.alerts[0]?.labels as object), pool_kind: "k".repeat(900_000) },
          },
        ],
      },
    ],
    // Unknown keys are listed.
    ["many unknown keys", "/reconcile", numbered(80_000, 1)],
  ])(
    "quotes a bounded part of the input (%s), in the answer and the log line",
    async (_case, path, payload) => {
      const lines = server.lines.length;
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text.length).toBeLessThan(2048);
      expect((JSON.parse(text) as { error: { message: string } }).error.message).toMatch(
        /… \(\d+ more characters\)$/,
      );
      const logged = server.lines.slice(lines).find((line) => line.status === 400);
      expect(JSON.stringify(logged).length).toBeLessThan(2048);
    },
  );
});
