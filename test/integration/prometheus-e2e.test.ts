/**
 * The real Prometheus and Alertmanager end to end, all on 127.0.0.1: the local cluster with the KubeVirt
 * simulator, its virt-handler metrics double (infra/local/kubevirt-metrics.ts) scraped by Prometheus every
 * second, and the function server.
 * - Pull: the scheduled pass (`autoscaleAll`) with the Prometheus source queries Prometheus for KubeVirt's CPU
 *   series of the pool's VMIs, and scales the pool when the simulated load rises; likewise for an External metric
 *   whose PromQL is named on the HPA.
 * - Push: an alerting rule over the same series fires in Prometheus, the real Alertmanager posts its webhook to
 *   `/hooks/alertmanager` with the token, and the pool scales.
 * Skipped, with one line saying why, where the `prometheus` or `prometheus-alertmanager` binary is absent.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { autoscaleDeps, autoscaleRoutes } from "../../functions/autoscale/routes";
import { type KubevirtMetricsServer, startKubevirtMetricsServer } from "../../infra/local/kubevirt-metrics";
import { autoscaleAll, autoscaleConfigFromEnv, setPoolCpuLoad } from "../../shared/autoscale";
import { PodFieldsSchema } from "../../shared/autoscale/pods";
import {
  PROMETHEUS_QUERIES_ANNOTATION,
  prometheusPullSource,
} from "../../shared/autoscale/sources/prometheus";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { type PoolRef, reconcilePool } from "../../shared/reconcile";
import { parseQuantity } from "../../shared/schemas";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import {
  prometheusSkipReason,
  type RunningProgram,
  startAlertmanager,
  startPrometheus,
} from "../support/prometheus";
import { autoscaleHpa, seedPool, TOKEN, testRuntime } from "./autoscale-support";

const skip = prometheusSkipReason();

const NS = "default";
/** The rate window of the pull source's CPU query: two scrapes and a half. */
const WINDOW = "3s";

/** `count × target utilization ≥ value`: the HPA's `ceil(current × value / target)` for a steady load. */
function hpaDesired(current: number, value: number, target: number): number {
  return Math.ceil((current * value) / target);
}

describe.skipIf(skip !== undefined)(
  `a real Prometheus and Alertmanager drive the autoscale function${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let env: TestCluster;
    let kube: Kube;
    let exporter: KubevirtMetricsServer;
    let functionUrl: string;
    let server: ReturnType<typeof serve>;
    const programs: RunningProgram[] = [];

    const reconcile = (ref: PoolRef) =>
      reconcilePool(
        {
          kube,
          log: logger("reconcile"),
          now: () => new Date(),
          random: Math.random,
          holder: "prometheus-e2e",
        },
        ref,
      );

    beforeAll(async () => {
      env = await startTestCluster({ simulator: { startDelayMs: 20, stepDelayMs: 20 } });
      kube = createKube({ kind: "kubeconfig", path: env.kubeconfig });
      exporter = await startKubevirtMetricsServer({ kube, port: 0 });
      const { runtime } = testRuntime({ kube, reconcile });
      // Alerts alone decide here: no pull source, so the alert's value is the observation.
      const alertsOnly = autoscaleConfigFromEnv({ VMPOOL_AUTOSCALE_PULL_SOURCES: "none" });
      const app = createFunctionApp(runtime, [(r) => autoscaleRoutes(r, alertsOnly)]);
      server = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
      });
      functionUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      for (const program of programs.reverse()) await program.stop();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await exporter?.close();
      await env?.close();
    });

    async function createPool(name: string, replicas: number): Promise<PoolRef> {
      const ref: PoolRef = { kind: "VirtualMachinePool", namespace: NS, name };
      await kube.create("VirtualMachinePool", seedPool(name, replicas) as never);
      await reconcile(ref);
      await eventually(
        async () => ((await runningVmis(name)) === replicas ? true : undefined),
        15_000,
        `${replicas} running VMIs of ${name}`,
      );
      return ref;
    }

    async function runningVmis(pool: string): Promise<number> {
      const vmis = await kube.list("VirtualMachineInstance", {
        namespace: NS,
        labelSelector: `kubevirt.io/vmpool=${pool}`,
      });
      return vmis.filter((vmi) => (vmi.status as { phase?: string } | undefined)?.phase === "Running").length;
    }

    async function replicasOf(ref: PoolRef): Promise<number | undefined> {
      return (await kube.getScale(ref.kind, ref.namespace, ref.name))?.spec?.replicas;
    }

    /** The CPU request of one of the pool's launcher pods in cores (all containers), what the HPA divides by. */
    async function launcherRequestCores(pool: string): Promise<number> {
      const [pod] = await kube.list("Pod", { namespace: NS, labelSelector: `kubevirt.io/vmpool=${pool}` });
      const { spec } = PodFieldsSchema.parse(pod);
      let milli = 0;
      for (const container of spec?.containers ?? []) {
        milli += parseQuantity(container.resources?.requests?.cpu ?? "0")?.milli ?? 0;
      }
      return milli / 1000;
    }

    it("Prometheus scrapes the simulator, the scheduled pass queries it and scales the pool", async ({
      annotate,
    }) => {
      const ref = await createPool("prom-pull", 3);
      // What `kubectl autoscale vmpool prom-pull --min=3 --max=10 --cpu-percent=50` creates.
      await kube.create("HorizontalPodAutoscaler", autoscaleHpa("prom-pull", { min: 3, max: 10, cpu: 50 }));
      const request = await launcherRequestCores("prom-pull");
      const prometheus = await startPrometheus({ targets: [new URL(exporter.url).host] });
      programs.push(prometheus);
      const series = `kubevirt_vmi_cpu_usage_seconds_total{namespace="${NS}",kubernetes_vmi_label_kubevirt_io_vmpool="prom-pull"}`;
      const averageRate = `avg(rate(${series}[${WINDOW}]))`;
      await eventually(
        async () => ((await queryPrometheus(prometheus.url, averageRate)) !== undefined ? true : undefined),
        20_000,
        "Prometheus to have a rate for the pool's VMIs",
      );
      const { runtime } = testRuntime({ kube, reconcile });
      const source = prometheusPullSource({
        endpoint: { url: prometheus.url, timeoutMs: 2000, maxBytes: 1024 * 1024 },
        queries: {},
        window: WINDOW,
      });
      const deps = {
        ...autoscaleDeps(runtime, autoscaleConfigFromEnv({})),
        options: { pullSources: [source] },
      };
      const resultOf = (report: Awaited<ReturnType<typeof autoscaleAll>>) =>
        report.results.find((result) => result.pool === "vmpool/default/prom-pull");

      // At the simulator's default 10 % load the pool is below its 50 % target: no scale-up, and the HPA's
      // scale-down stabilization keeps the minimum anyway.
      const quiet = resultOf(await autoscaleAll(deps));
      expect(quiet).toMatchObject({ outcome: "Unchanged" });
      expect(await replicasOf(ref)).toBe(3);

      await setPoolCpuLoad(kube, ref, 100);
      const changed = Date.now();
      // Each scrape shows the new load; once the rate window holds only new samples the value is steady.
      await eventually(
        async () => {
          const rate = await queryPrometheus(prometheus.url, averageRate);
          return rate !== undefined && rate >= 0.99 * request ? true : undefined;
        },
        20_000,
        "Prometheus to show the new load",
      );
      const steady = Date.now();
      const want = hpaDesired(3, 100, 50);
      const scaled = resultOf(await autoscaleAll(deps));
      const written = Date.now();
      expect(scaled).toMatchObject({ outcome: "Scaled", from: 3, to: want });
      expect(await replicasOf(ref)).toBe(want);
      const hpa = await kube.get("HorizontalPodAutoscaler", NS, "prom-pull");
      expect(hpa?.status?.desiredReplicas).toBe(want);
      expect(hpa?.status?.currentMetrics?.[0]).toMatchObject({ type: "Resource", resource: { name: "cpu" } });
      await eventually(
        async () => ((await runningVmis("prom-pull")) === want ? true : undefined),
        15_000,
        `${want} running VMIs`,
      );
      // A pass over a steady cluster writes nothing more.
      expect(resultOf(await autoscaleAll(deps))).toMatchObject({
        outcome: expect.stringMatching(/^(Unchanged|Scaled)$/),
      });
      await annotate(
        `prometheus-e2e pull: load change → steady in Prometheus ${steady - changed} ms (1 s scrapes, ${WINDOW} rate window) → scale written by one pass in ${written - steady} ms`,
      );
    }, 90_000);

    it("an External metric with PromQL named on the HPA is read from Prometheus and scales the pool", async () => {
      const ref = await createPool("prom-external", 3);
      const request = await launcherRequestCores("prom-external");
      // Half the request per VMI, in millicores: a pool at 100 % load wants twice its replicas.
      const targetMilli = Math.ceil((request * 1000) / 2);
      // The pool's CPU in cores, asked for by name with placeholders; AverageValue divides it by the replicas.
      const query = `sum(rate(kubevirt_vmi_cpu_usage_seconds_total{namespace="{{namespace}}",kubernetes_vmi_label_kubevirt_io_vmpool="{{pool}}"}[${WINDOW}]))`;
      await kube.create("HorizontalPodAutoscaler", {
        metadata: {
          name: "prom-external",
          namespace: NS,
          annotations: { [PROMETHEUS_QUERIES_ANNOTATION]: JSON.stringify({ pool_cpu_cores: query }) },
        },
        spec: {
          scaleTargetRef: {
            apiVersion: "pool.kubevirt.io/v1alpha1",
            kind: "VirtualMachinePool",
            name: "prom-external",
          },
          minReplicas: 3,
          maxReplicas: 10,
          metrics: [
            {
              type: "External",
              external: {
                metric: { name: "pool_cpu_cores" },
                target: { type: "AverageValue", averageValue: `${targetMilli}m` },
              },
            },
          ],
        },
      });
      const prometheus = await startPrometheus({ targets: [new URL(exporter.url).host] });
      programs.push(prometheus);
      const { runtime } = testRuntime({ kube, reconcile });
      const source = prometheusPullSource({
        endpoint: { url: prometheus.url, timeoutMs: 2000, maxBytes: 1024 * 1024 },
        queries: {},
        window: WINDOW,
      });
      const deps = {
        ...autoscaleDeps(runtime, autoscaleConfigFromEnv({})),
        options: { pullSources: [source] },
      };
      const rendered = query.replace("{{namespace}}", NS).replace("{{pool}}", "prom-external");
      await setPoolCpuLoad(kube, ref, 100);
      await eventually(
        async () => {
          const cores = await queryPrometheus(prometheus.url, rendered);
          return cores !== undefined && cores >= 3 * 0.99 * request ? true : undefined;
        },
        20_000,
        "Prometheus to show the pool's CPU",
      );
      const report = await autoscaleAll(deps);
      const want = hpaDesired(3, request * 1000, targetMilli);
      expect(report.results.find((r) => r.pool === "vmpool/default/prom-external")).toMatchObject({
        outcome: "Scaled",
        from: 3,
        to: want,
      });
      expect(await replicasOf(ref)).toBe(want);
      const hpa = await kube.get("HorizontalPodAutoscaler", NS, "prom-external");
      expect(hpa?.status?.currentMetrics?.[0]).toMatchObject({
        type: "External",
        external: { metric: { name: "pool_cpu_cores" } },
      });
    }, 90_000);

    it("an alert rule fires in Prometheus, Alertmanager posts its webhook, and the pool scales", async ({
      annotate,
    }) => {
      const ref = await createPool("prom-alert", 3);
      await kube.create("HorizontalPodAutoscaler", autoscaleHpa("prom-alert", { min: 3, max: 10, cpu: 50 }));
      const alertmanager = await startAlertmanager({
        webhookUrl: `${functionUrl}/hooks/alertmanager`,
        token: TOKEN,
      });
      programs.push(alertmanager);
      const pool = "kubernetes_vmi_label_kubevirt_io_vmpool";
      const request = await launcherRequestCores("prom-alert");
      // Utilization of the pool's VMIs in percent of their CPU request, with the labels our alert mapping reads.
      const utilization = `label_replace(100 * sum by (namespace, ${pool}) (rate(kubevirt_vmi_cpu_usage_seconds_total{${pool}="prom-alert"}[5s])) / (${request} * count by (namespace, ${pool}) (kubevirt_vmi_cpu_usage_seconds_total{${pool}="prom-alert"})), "pool", "$1", "${pool}", "(.+)")`;
      const prometheus = await startPrometheus({
        targets: [new URL(exporter.url).host],
        alertmanager: alertmanager.url,
        rules: [
          {
            name: "vmpool",
            interval: "1s",
            rules: [
              {
                alert: "PoolCpuHigh",
                expr: `${utilization} > 60`,
                // Long enough for the 5 s rate window to hold only the new load: the value sent is the steady one.
                for: "6s",
                labels: { metric: "cpu", severity: "info" },
                annotations: { value: "{{ $value }}" },
              },
            ],
          },
        ],
      });
      programs.push(prometheus);
      // Prometheus scrapes the simulator: the pool's three VMIs are up at the simulator's default 10 % load.
      await eventually(
        async () => {
          const answer = await queryPrometheus(
            prometheus.url,
            `count(kubevirt_vmi_cpu_usage_seconds_total{${pool}="prom-alert"})`,
          );
          return answer === 3 ? true : undefined;
        },
        20_000,
        "Prometheus to scrape the pool's 3 VMIs",
      );
      expect(await replicasOf(ref)).toBe(3);

      await setPoolCpuLoad(kube, ref, 100);
      const want = hpaDesired(3, 100, 50);
      const started = Date.now();
      await eventually(
        async () => ((await replicasOf(ref)) === want ? true : undefined),
        30_000,
        `the pool at ${want} replicas`,
      );
      const alerts = await fetch(`${alertmanager.url}/api/v2/alerts`).then(
        (r) => r.json() as Promise<{ labels: Record<string, string> }[]>,
      );
      expect(alerts.map((alert) => alert.labels.alertname)).toContain("PoolCpuHigh");
      await eventually(
        async () => ((await runningVmis("prom-alert")) === want ? true : undefined),
        15_000,
        `${want} running VMIs`,
      );
      const hpa = await kube.get("HorizontalPodAutoscaler", NS, "prom-alert");
      expect(hpa?.status?.desiredReplicas).toBe(want);
      await annotate(
        `prometheus-e2e: load 100% → alert → scale to ${want} written in ${Date.now() - started} ms`,
      );
    }, 90_000);
  },
);

async function queryPrometheus(url: string, query: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  const value = body.data?.result?.[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}
