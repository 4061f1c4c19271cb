/**
 * The issue's walkthrough end to end on the embedded and on the real control plane with the KubeVirt simulator,
 * real kubectl (admin) and the function server on 127.0.0.1 (as the functions' own identity): create the seed
 * pool, `kubectl autoscale vmpool vm-pool-cirros --min=3 --max=10 --cpu-percent=50`, POST an Alertmanager
 * payload reporting 100% CPU → the pool goes to 6 and the reconcile pass makes the VMs appear; `kubectl get hpa`
 * and `kubectl describe hpa` show the decision; the same delivery repeated changes nothing; a low-load alert
 * scales down only after the stabilization window (the function's clock is injected). Skipped with a clear
 * message where kubectl is not installed.
 */
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import type { AlertResult } from "../../shared/autoscale";
import { autoscaleConfigFromEnv } from "../../shared/autoscale";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { reconcilePool } from "../../shared/reconcile";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { edited } from "../unit/autoscale-fixtures";
import { EXAMPLES, type ReconcileCall, TOKEN, testRuntime } from "./autoscale-support";

const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32") ?? kubectlBinary("1.27");
const POOL = "vm-pool-cirros";
const NS = "default";

describeClusters(
  "autoscaling the seed pool from an Alertmanager alert",
  (kind) => {
    let env: SuiteCluster;
    let kube: Kube;
    let k: Kubectl;
    let url: string;
    let server: ReturnType<typeof serve>;
    let reconciles: ReconcileCall[];
    let clock = Date.parse("2025-06-01T12:02:00Z");

    beforeAll(async () => {
      env = await startSuiteCluster(kind, { simulator: { startDelayMs: 20, stepDelayMs: 20 } });
      kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig });
      k = kubectl(binary as string, env.kubeconfig);
      const reconcile = (ref: Parameters<typeof reconcilePool>[1]) =>
        reconcilePool(
          {
            kube,
            log: logger("reconcile"),
            now: () => new Date(),
            random: Math.random,
            holder: "autoscale-e2e",
          },
          ref,
        );
      const built = testRuntime({ kube, now: () => new Date(clock), reconcile });
      reconciles = built.reconciles;
      // Alert-driven only (VMPOOL_AUTOSCALE_PULL_SOURCES=none): the alert's value is the observation.
      const alertOnly = { ...autoscaleConfigFromEnv({}), pullSources: [] };
      const app = createFunctionApp(built.runtime, [(r) => autoscaleRoutes(r, alertOnly)]);
      server = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await env?.close();
    });

    async function postAlert(body: unknown): Promise<{ status: number; results: AlertResult[] }> {
      const response = await fetch(`${url}/hooks/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      return {
        status: response.status,
        results: ((await response.json()) as { results: AlertResult[] }).results,
      };
    }

    async function runningVmis(): Promise<number> {
      const vmis = await kube.list("VirtualMachineInstance", { namespace: NS });
      return vmis.filter((vmi) => (vmi.status as { phase?: string } | undefined)?.phase === "Running").length;
    }

    describe.sequential("step by step", () => {
      it("starts from the seed pool with 3 running VMs and kubectl autoscale's HPA", async () => {
        const created = await k.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")]);
        expect(created.stdout.trim()).toBe("virtualmachinepool.pool.kubevirt.io/vm-pool-cirros created");
        await reconcilePool(
          { kube, log: logger("reconcile"), now: () => new Date(), random: Math.random, holder: "setup" },
          { kind: "VirtualMachinePool", namespace: NS, name: POOL },
        );
        await eventually(
          async () => ((await runningVmis()) === 3 ? true : undefined),
          15_000,
          "3 running VMIs",
        );
        const autoscaled = await k.run([
          "autoscale",
          "vmpool",
          POOL,
          "--min=3",
          "--max=10",
          "--cpu-percent=50",
        ]);
        expect(autoscaled.stderr).toBe("");
        expect(autoscaled.stdout.trim()).toBe(
          "horizontalpodautoscaler.autoscaling/vm-pool-cirros autoscaled",
        );
      });

      it("scales to 6 on an alert reporting 100% CPU, and the VMs appear", async () => {
        const { status, results } = await postAlert(edited("alertmanager/firing-cpu-high", () => {}));
        expect(status).toBe(200);
        expect(results).toEqual([expect.objectContaining({ outcome: "Scaled", from: 3, to: 6 })]);
        const pool = table((await k.run(["get", "vmpool", POOL])).stdout);
        expect(pool[1]?.[1]).toBe("6");
        expect(reconciles.map((call) => call.ref.name)).toEqual([POOL]);
        await eventually(
          async () => ((await runningVmis()) === 6 ? true : undefined),
          15_000,
          "6 running VMIs",
        );
        const vms = table((await k.run(["get", "vms", "-o", "name"])).stdout).map((row) => row[0]);
        expect(vms).toHaveLength(6);
      });

      it("shows the decision in kubectl get hpa and kubectl describe hpa", async () => {
        const rows = table((await k.run(["get", "hpa", POOL])).stdout);
        expect(rows[0]).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
        expect(rows[1]?.slice(0, 2)).toEqual([POOL, "VirtualMachinePool/vm-pool-cirros"]);
        expect(rows[1]?.join(" ")).toContain("cpu: 100%/50%");
        const described = (await k.run(["describe", "hpa", POOL])).stdout;
        expect(described).toMatch(/VirtualMachinePool pods:\s+3 current \/ 6 desired/);
        expect(described).toMatch(/AbleToScale\s+True\s+SucceededRescale/);
        expect(described).toMatch(/ScalingActive\s+True\s+ValidMetricFound/);
        // As the HPA controller writes it: the utilization and the average usage it means (no `(<nil>)`).
        expect(described).not.toContain("<nil>");
        expect(described).toMatch(
          /resource cpu on pods\s+\(as a percentage of request\):\s+100% \(\d+m\) \/ 50%/,
        );
        expect(described).toMatch(
          /Normal\s+SuccessfulRescale\s+.*horizontal-pod-autoscaler\s+New size: 6; reason: cpu resource utilization \(percentage of request\) above target/,
        );
      });

      it("changes nothing when the same delivery is repeated", async () => {
        const before = await kube.get("HorizontalPodAutoscaler", NS, POOL);
        const { results } = await postAlert(edited("alertmanager/firing-cpu-high", () => {}));
        expect(results).toEqual([expect.objectContaining({ outcome: "Duplicate" })]);
        expect((await kube.getScale("VirtualMachinePool", NS, POOL))?.spec?.replicas).toBe(6);
        expect((await kube.get("HorizontalPodAutoscaler", NS, POOL))?.metadata.resourceVersion).toBe(
          before?.metadata.resourceVersion,
        );
        expect(reconciles).toHaveLength(1);
      });

      it("scales down on low load only after the 300 s stabilization window", async () => {
        const low = (startsAt: string) =>
          edited("alertmanager/firing-cpu-low", (b) => (b.alerts[0].startsAt = startsAt));
        clock += 60_000;
        const early = await postAlert(low("2025-06-01T12:03:00Z"));
        expect(early.results).toEqual([
          expect.objectContaining({ outcome: "Unchanged", reason: "ScaleDownStabilized" }),
        ]);
        expect((await kube.getScale("VirtualMachinePool", NS, POOL))?.spec?.replicas).toBe(6);
        clock += 241_000;
        const late = await postAlert(low("2025-06-01T12:07:00Z"));
        // ceil(6 × 10 / 50) = 2, held at minReplicas 3.
        expect(late.results).toEqual([expect.objectContaining({ outcome: "Scaled", from: 6, to: 3 })]);
        await eventually(
          async () => ((await runningVmis()) === 3 ? true : undefined),
          15_000,
          "3 running VMIs",
        );
        const described = (await k.run(["describe", "hpa", POOL])).stdout;
        expect(described).toContain("New size: 3; reason: All metrics below target");
      });
    });
  },
  binary ? undefined : "no kubectl.1.33/1.32/1.27 found",
);
