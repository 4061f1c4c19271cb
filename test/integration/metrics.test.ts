/**
 * `GET /metrics` on the function app after real work against the local cluster: a reconcile-all pass that
 * creates a pool's VMs, a manual `POST /reconcile` of one pool, a pool that does not exist (a Kubernetes API
 * NotFound) and a refused request. The metrics registry is process-wide, so every assertion is a difference
 * between two scrapes.
 */

import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { reconcileRoutes } from "../../functions/reconcile/routes";
import { createKube } from "../../shared/kube";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";

const TOKEN = "reconcile-token-for-metrics-0123456789";
const labels = { "kubevirt.io/vmpool": "metered" };

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  let env: TestCluster;
  let r: Reconciler;
  let app: Hono;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: { startDelayMs: 5, stepDelayMs: 5 } });
    r = reconciler(env, { reconcileToken: TOKEN });
    app = createFunctionApp(r.runtime, [reconcileRoutes]);
    await createKube({ kind: "kubeconfig", path: env.kubeconfig }).create("VirtualMachinePool", {
      metadata: { name: "metered", namespace: "default" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        virtualMachineTemplate: {
          metadata: { labels },
          spec: {
            runStrategy: "Always",
            template: { metadata: { labels }, spec: { domain: { devices: {} } } },
          },
        },
      },
    } as never);
  });
  afterAll(async () => env?.close());

  const scrape = async () => {
    const response = await app.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const reconcile = (body: unknown, token = TOKEN) =>
    app.request("/reconcile", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("exposes passes, actions and their latency after a pass", async () => {
    const before = await scrape();
    const results = await r.tick();
    expect(results).toContainEqual(expect.objectContaining({ outcome: "Acted" }));
    const after = await scrape();

    const acted = 'vmpool_passes_total{kind="VirtualMachinePool",outcome="Acted",reason="Acted"}';
    expect(sample(after, acted) - sample(before, acted)).toBe(1);
    const created = 'vmpool_actions_total{action="createVM",result="ok"}';
    expect(sample(after, created) - sample(before, created)).toBe(2);
    const timed = 'vmpool_pass_duration_seconds_count{kind="VirtualMachinePool",outcome="Acted"}';
    expect(sample(after, timed) - sample(before, timed)).toBe(1);
    const all = "vmpool_reconcile_all_duration_seconds_count";
    expect(sample(after, all) - sample(before, all)).toBe(1);
  });

  it("counts a manual pass, Kubernetes API errors by reason and the server's own answers", async () => {
    const before = await scrape();
    expect((await reconcile({ namespace: "default", name: "metered" })).status).toBe(200);
    expect((await reconcile({ namespace: "default", name: "absent" })).status).toBe(404);
    expect((await reconcile({}, "wrong-token")).status).toBe(401);
    const after = await scrape();

    const notFound = 'vmpool_passes_total{kind="VirtualMachinePool",outcome="NotFound",reason="NotFound"}';
    expect(sample(after, notFound) - sample(before, notFound)).toBe(1);
    const apiError = 'vmpool_kube_api_errors_total{reason="NotFound",verb="get",kind="VirtualMachinePool"}';
    expect(sample(after, apiError) - sample(before, apiError)).toBeGreaterThanOrEqual(1);
    const refused = 'vmpool_http_errors_total{reason="Unauthorized",status="401"}';
    expect(sample(after, refused) - sample(before, refused)).toBe(1);
    const answered =
      'vmpool_http_request_duration_seconds_count{method="POST",route="/reconcile",status="200"}';
    expect(sample(after, answered) - sample(before, answered)).toBe(1);
  });

  it("labels unknown paths as unmatched, never by their raw path", async () => {
    expect((await app.request("/no/such/path/12345")).status).toBe(404);
    const text = await scrape();
    expect(text).not.toContain("12345");
    expect(
      sample(text, 'vmpool_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}'),
    ).toBeGreaterThanOrEqual(1);
  });
});
