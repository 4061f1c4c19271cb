/**
 * The local demo loop against a local cluster with the KubeVirt simulator: `setPoolCpuLoad` (behind `vmpool load`)
 * sets the simulated load of a pool's VMIs, the alert emitter reads it and posts an Alertmanager notification to
 * the function server, and the pool scales.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import { SIMULATOR_ANNOTATIONS } from "../../infra/local/simulator";
import {
  autoscaleConfigFromEnv,
  CPU_LOAD_ANNOTATION,
  poolCpuLoads,
  setPoolCpuLoad,
  startAlertEmitter,
} from "../../shared/autoscale";
import { ReasonedError } from "../../shared/errors";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { type PoolRef, reconcilePool } from "../../shared/reconcile";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import { autoscaleHpa, seedPool, TOKEN, testRuntime } from "./autoscale-support";

const REF: PoolRef = { kind: "VirtualMachinePool", namespace: "default", name: "demo-pool" };

let env: TestCluster;
let kube: Kube;
let server: ReturnType<typeof serve>;
let hook: string;

const reconcile = (ref: PoolRef) =>
  reconcilePool(
    { kube, log: logger("reconcile"), now: () => new Date(), random: Math.random, holder: "emitter-test" },
    ref,
  );

async function readyVmis(): Promise<number> {
  const [load] = await poolCpuLoads(kube);
  return load?.ready ?? 0;
}

beforeAll(async () => {
  env = await startTestCluster({ simulator: { startDelayMs: 20, stepDelayMs: 20 } });
  kube = createKube({ kind: "kubeconfig", path: env.kubeconfig });
  await kube.create("VirtualMachinePool", seedPool(REF.name) as never);
  await kube.create("HorizontalPodAutoscaler", autoscaleHpa(REF.name));
  await reconcile(REF);
  await eventually(async () => ((await readyVmis()) === 3 ? true : undefined), 15_000, "3 ready VMIs");
  // Alert-driven only (VMPOOL_AUTOSCALE_PULL_SOURCES=none): the emitter's alerts carry the observation.
  const alertOnly = { ...autoscaleConfigFromEnv({}), pullSources: [] };
  const app = createFunctionApp(testRuntime({ kube, reconcile }).runtime, [
    (r) => autoscaleRoutes(r, alertOnly),
  ]);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alertmanager`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await env?.close();
});

describe("the local alert demo", () => {
  it("uses the simulator's CPU-load annotation", () => {
    expect(CPU_LOAD_ANNOTATION).toBe(SIMULATOR_ANNOTATIONS.cpuLoad);
  });

  it("reads the simulator's default load until one is set", async () => {
    expect(await poolCpuLoads(kube)).toEqual([
      { ref: REF, hpa: "default/demo-pool", ready: 3, averagePercent: 10 },
    ]);
  });

  it.each<[string, PoolRef, number, number]>([
    // NaN is not a load.
    ["NaN", REF, Number.NaN, 400],
    // Neither is a negative one.
    ["a negative load", REF, -1, 400],
    // An unknown pool.
    ["an unknown pool", { ...REF, name: "nope" }, 50, 404],
  ])("refuses %s", async (_case, ref, percent, status) => {
    const error = await setPoolCpuLoad(kube, ref, percent).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ReasonedError);
    expect((error as ReasonedError).status).toBe(status);
  });

  it("sets a pool's load, and the emitter's alert scales it from 3 to 6", async () => {
    const set = await setPoolCpuLoad(kube, REF, 100);
    expect(set).toHaveLength(3);
    expect(env.cluster.simulator?.cpuLoad("default").averagePercent).toBe(100);
    const emitter = startAlertEmitter({ kube, url: hook, token: TOKEN, intervalMs: 0 });
    try {
      const tick = await emitter.tick();
      expect(tick).toEqual({
        sent: [{ pool: "vmpool/default/demo-pool", value: "100", status: 200 }],
        skipped: [],
      });
    } finally {
      await emitter.stop();
    }
    expect((await kube.getScale("VirtualMachinePool", "default", REF.name))?.spec?.replicas).toBe(6);
    await eventually(async () => ((await readyVmis()) === 6 ? true : undefined), 15_000, "6 ready VMIs");
  });

  it("samples on its own every interval until stopped", async () => {
    const posted: unknown[] = [];
    const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      posted.push(JSON.parse(String(init?.body)));
      return new Response("{}", { status: 200 });
    }) as typeof fetch;
    const emitter = startAlertEmitter({ kube, url: hook, token: TOKEN, intervalMs: 20, fetch: fakeFetch });
    await eventually(() => (posted.length >= 2 ? true : undefined), 10_000, "two samples");
    await emitter.stop();
    const count = posted.length;
    expect(posted[0]).toMatchObject({
      version: "4",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "PoolCpuLoad", namespace: "default", pool: "demo-pool", metric: "cpu" },
        },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(posted.length).toBe(count);
  });
});
