/**
 * The scheduled autoscale pass on the embedded cluster, pulling from its resource metrics API (metrics.k8s.io,
 * computed from the simulated load) the way the HPA controller's sync loop pulls from metrics-server: the same
 * schedule definition `npm start` fires (`autoscale-schedule`, at a short local interval), real kubectl for
 * `top`, `scale` and `describe hpa`. Embedded only: on the real control plane metrics.k8s.io is an aggregated API
 * started on request (`metricsApi`), exercised by `hpa-side-by-side.test.ts` against the real HPA controller.
 *
 * Steady 100% load against a 50% target with maxReplicas 6: the recommendation is 6. A manual `kubectl scale` to 4
 * is corrected by the first pass that starts after it; a load change is scaled on by the first pass after it; a
 * steady pool costs no write; an alert is an immediate evaluation, and a repeated delivery never stops the
 * periodic one from correcting a manual scale.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autoscaleDeps } from "../../functions/autoscale/routes";
import { SCHEDULES } from "../../infra/aws/definitions";
import { type AutoscaleAllReport, autoscaleAll, autoscaleConfigFromEnv } from "../../shared/autoscale";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { reconcileAll, reconcilePool } from "../../shared/reconcile";
import { type RunningScheduler, startScheduler } from "../../shared/schedule";
import { type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { autoscaleHpa, seedPool, TOKEN, testRuntime, writeCount } from "./autoscale-support";

const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32");
const NS = "default";
const POOL = "pull-pool";
/** The pass interval here; `npm start` uses 15 s (LOCAL_AUTOSCALE_INTERVAL_MS), Lambda 60 s. */
const INTERVAL_MS = 1500;

interface Pass {
  readonly startedAt: number;
  readonly report: AutoscaleAllReport;
}

describe.skipIf(!binary)("autoscale-all pulling metrics.k8s.io on the embedded cluster", () => {
  let env: SuiteCluster;
  let kube: Kube;
  let k: Kubectl;
  let scheduler: RunningScheduler;
  let deps: ReturnType<typeof autoscaleDeps>;
  const passes: Pass[] = [];

  beforeAll(async () => {
    env = await startSuiteCluster("embedded", {
      simulator: { startDelayMs: 20, stepDelayMs: 20, defaultCpuLoad: 100 },
    });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig });
    k = kubectl(binary as string, env.kubeconfig);
    const passDeps = {
      kube,
      log: logger("reconcile"),
      now: () => new Date(),
      random: Math.random,
      holder: "pull-test",
    };
    const reconcile = (ref: Parameters<typeof reconcilePool>[1]) => reconcilePool(passDeps, ref);
    const { runtime } = testRuntime({ kube, reconcile });
    const config = autoscaleConfigFromEnv({});
    const base = autoscaleDeps(runtime, config);
    deps = { ...base, options: { ...base.options, intervalMs: INTERVAL_MS } };
    expect(config.pullSources).toEqual(["metrics-server"]);
    // The definitions `npm start` and EventBridge share, at this test's interval.
    const definitions = SCHEDULES.map((d) => ({
      ...d,
      localIntervalMs: d.target === "autoscale" ? INTERVAL_MS : 300,
    }));
    expect(definitions.map((d) => d.target).sort()).toEqual(["autoscale", "reconcile"]);
    scheduler = startScheduler({
      definitions,
      fire: async (definition) => {
        if (definition.target === "reconcile") {
          await reconcileAll(passDeps);
          return;
        }
        const startedAt = Date.now();
        passes.push({ startedAt, report: await autoscaleAll(deps) });
      },
    });
  });

  afterAll(async () => {
    scheduler?.stop();
    await env?.close();
  });

  const replicas = async () => (await kube.getScale("VirtualMachinePool", NS, POOL))?.spec?.replicas;
  const readyVmis = async () =>
    (await kube.list("VirtualMachineInstance", { namespace: NS })).filter(
      (vmi) => vmi.status?.phase === "Running",
    ).length;

  /** The first pass that started after `at`, once it has finished. */
  const firstPassAfter = (at: number) =>
    eventually(() => passes.find((p) => p.startedAt > at), INTERVAL_MS * 3, "a pass after the change");

  it("serves PodMetrics that `kubectl top pod` prints, and NodeMetrics for `kubectl top node`", async () => {
    await kube.create("VirtualMachinePool", seedPool(POOL, 3) as never);
    await eventually(async () => ((await readyVmis()) === 3 ? true : undefined), 30_000, "3 running VMIs");
    const pods = await eventually(async () => {
      const listed = await kube.list("Pod", { namespace: NS, labelSelector: `kubevirt.io/vmpool=${POOL}` });
      return listed.filter((p) => p.status?.phase === "Running").length === 3 ? listed : undefined;
    });
    const top = await k.run(["top", "pod", "-l", `kubevirt.io/vmpool=${POOL}`]);
    expect(top.stderr).toBe("");
    expect(top.code).toBe(0);
    const rows = table(top.stdout);
    expect(rows[0]).toEqual(["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    // At 100% load every container uses its whole CPU request, so a pod's CPU is the sum of its requests.
    for (const pod of pods) {
      const containers = (pod.spec as { containers: { resources?: { requests?: { cpu?: string } } }[] })
        .containers;
      const milli = containers.reduce(
        (sum, c) => sum + Number(c.resources?.requests?.cpu?.replace("m", "")),
        0,
      );
      expect(rows.find((row) => row[0] === pod.metadata.name)?.[1]).toBe(`${milli}m`);
    }
    const nodes = await k.run(["top", "node"]);
    expect(nodes.stderr).toBe("");
    expect(table(nodes.stdout)[0]).toEqual(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]);
    expect(table(nodes.stdout).length).toBeGreaterThan(1);
    const raw = await k.run(["get", "--raw", `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods`]);
    expect(JSON.parse(raw.stdout).kind).toBe("PodMetricsList");
    // Discovered like any resource and printed from the server's Table, with metrics-server's columns.
    const listed = await k.run(["get", "pods.metrics.k8s.io", "-l", `kubevirt.io/vmpool=${POOL}`]);
    expect(listed.stderr).toBe("");
    const printed = table(listed.stdout);
    expect(printed[0]).toEqual(["NAME", "CPU", "MEMORY", "WINDOW"]);
    expect(
      printed
        .slice(1)
        .map((row) => row[0])
        .sort(),
    ).toEqual(pods.map((p) => p.metadata.name).sort());
    const one = await k.run(["get", "nodes.metrics.k8s.io", "node01", "-o", "json"]);
    expect(JSON.parse(one.stdout)).toMatchObject({ kind: "NodeMetrics", metadata: { name: "node01" } });
  });

  it("scales to the recommendation once the pods' samples count, and `kubectl describe hpa` shows current values", async () => {
    const hpa = autoscaleHpa(POOL, { min: 3, max: 6, cpu: 50 });
    const createdAt = Date.now();
    await kube.create("HorizontalPodAutoscaler", hpa as never);
    // As the HPA controller does, a CPU sample taken less than one window (15 s) after its pod became ready is
    // not used: until then every pass reports that it has no metrics for the (just started) pods.
    const scaled = await eventually(
      () =>
        passes.find(
          (p) =>
            p.startedAt > createdAt &&
            p.report.results.some((r) => r.pool === `vmpool/${NS}/${POOL}` && r.outcome === "Scaled"),
        ),
      30_000,
      "a pass that scales",
    );
    for (const earlier of passes.filter((p) => p.startedAt > createdAt && p.startedAt < scaled.startedAt)) {
      expect(earlier.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`)?.reason).toBe(
        "FailedComputeMetricsReplicas",
      );
    }
    expect(scaled.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`)).toMatchObject({
      outcome: "Scaled",
      from: 3,
      to: 6,
    });
    expect(await replicas()).toBe(6);
    const described = await k.run(["describe", "hpa", POOL]);
    expect(described.stdout).not.toContain("<nil>");
    // kubectl prints Resource Utilization metrics as `<utilization>% (<averageValue>) / <target>%`.
    expect(described.stdout).toMatch(
      /resource cpu on pods\s+\(as a percentage of request\):\s+100% \(\d+m\) \/ 50%/,
    );
    await eventually(async () => ((await readyVmis()) === 6 ? true : undefined), 30_000, "6 running VMIs");
  });

  it("costs no write while steady", async () => {
    // Let the new pods' first samples settle (the HPA ignores CPU samples taken less than a window after ready).
    await eventually(
      () => {
        const last = passes.at(-1);
        const result = last?.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`);
        return result?.outcome === "Unchanged" && result.reason !== "FailedComputeMetricsReplicas"
          ? true
          : undefined;
      },
      30_000,
      "a steady pass",
    );
    kube.resetStats();
    const from = passes.length;
    await eventually(() => (passes.length >= from + 2 ? true : undefined), INTERVAL_MS * 4, "two passes");
    expect(writeCount(kube)).toBe(0);
  });

  it("corrects a manual `kubectl scale` away from the recommendation at the first pass after it", async () => {
    const scaled = await k.run(["scale", "vmpool", POOL, "--replicas", "4"]);
    expect(scaled.code).toBe(0);
    const at = Date.now();
    const pass = await firstPassAfter(at);
    expect(pass.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`)).toMatchObject({
      outcome: "Scaled",
      from: 4,
      to: 6,
    });
    expect(pass.startedAt - at).toBeLessThanOrEqual(INTERVAL_MS);
    expect(await replicas()).toBe(6);
  });

  it("an alert's duplicate delivery is collapsed, and never suppresses the periodic correction", async () => {
    const alert = {
      version: "4",
      groupKey: '{}:{alertname="CpuHigh"}',
      status: "firing",
      receiver: "vmpool",
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: "http://alertmanager",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "CpuHigh", namespace: NS, pool: POOL },
          annotations: { value: "100" },
          startsAt: "2025-06-01T12:00:00Z",
          endsAt: "0001-01-01T00:00:00Z",
          fingerprint: "f00d",
        },
      ],
    };
    const { autoscale, SOURCES } = await import("../../shared/autoscale");
    const context = {
      mapping: autoscaleConfigFromEnv({}).mapping,
      token: TOKEN,
      grafanaHmac: undefined,
      now: new Date(),
    };
    const signals = SOURCES.alertmanager.parse(alert, context);
    const first = await autoscale(deps, signals);
    expect(first.results[0]?.outcome).not.toBe("Duplicate");
    await k.run(["scale", "vmpool", POOL, "--replicas", "5"]);
    const at = Date.now();
    const repeat = await autoscale(deps, signals);
    expect(repeat.results[0]).toMatchObject({ outcome: "Duplicate", reason: "DuplicateDelivery" });
    expect(await replicas()).toBe(5);
    const pass = await firstPassAfter(at);
    expect(pass.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`)).toMatchObject({
      outcome: "Scaled",
      to: 6,
    });
  });

  it("a load change reaches a scale write at the first pass after it", async () => {
    const vmis = await kube.list("VirtualMachineInstance", { namespace: NS });
    await eventually(() => (passes.at(-1)?.report.results.length ? true : undefined));
    // 10% of request against 50%: the raw recommendation is 2 and minReplicas holds it at 3, after the
    // 300 s stabilization window; with it off (behavior) the first pass after the change scales in.
    await kube.patch(
      "HorizontalPodAutoscaler",
      NS,
      POOL,
      { spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
      "merge",
    );
    await Promise.all(vmis.map((vmi) => env.simulator.setCpuLoad(NS, vmi.metadata.name, 10)));
    const at = Date.now();
    const pass = await firstPassAfter(at);
    expect(pass.report.results.find((r) => r.pool === `vmpool/${NS}/${POOL}`)).toMatchObject({
      outcome: "Scaled",
      from: 6,
      to: 3,
    });
  });
});
