/**
 * The admission trigger against the real control plane: kube-apiserver calls POST /hooks/admission over HTTPS
 * (a certificate of its own CA, the configuration from infra/kubernetes with clientConfig pointing at 127.0.0.1),
 * and with no timer at all the function server reacts: creating the seed pool gives its VMs, `kubectl scale
 * --replicas 5` the new ones, the status catches up through the VMs' and VMIs' status writes and follow-ups.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionServer, startFunctionServer } from "../../infra/cli/server";
import { startApiSimulator } from "../../infra/local/simulator";
import { type RealCluster, startRealCluster } from "../../infra/real";
import { createKube, type Kube } from "../../shared/kube";
import { realSkipReason } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary } from "../support/kubectl";
import { eventually } from "../support/local-cluster";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33");
const skip = realSkipReason() ?? (binary ? undefined : "no kubectl.1.33 found");

/** Polls every 10 ms until `count` VMs of the seed pool exist; resolves the milliseconds it took. */
async function vmsWithin(kube: Kube, count: number, timeoutMs: number, started: number): Promise<number> {
  const deadline = started + timeoutMs;
  for (;;) {
    const vms = await kube.list("VirtualMachine", { namespace: "default" });
    if (vms.filter((vm) => vm.metadata.name.startsWith("vm-pool-cirros-")).length >= count)
      return performance.now() - started;
    if (performance.now() > deadline) throw new Error(`fewer than ${count} VMs after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(skip !== undefined)(
  `admission trigger on the real control plane${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let dir: string;
    let real: RealCluster;
    let functions: FunctionServer;
    let admin: Kubectl;
    let kube: Kube;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "vmpool-admission-"));
      real = await startRealCluster({
        apiPort: 0,
        dataDir: dir,
        unsafeNoFsync: true,
        simulator: (kubeconfigPath) =>
          startApiSimulator({ kubeconfigPath, startDelayMs: 10, stepDelayMs: 10 }),
      });
      // No scheduler: every pass here is one the API server asked for (or its follow-up).
      functions = await startFunctionServer({
        source: { kind: "kubeconfig", path: real.functionsKubeconfig },
        secrets: {},
        port: 0,
        devMode: true,
        schedule: false,
        tls: { ...real.webhookTls, port: 0 },
      });
      await real.installAdmission(`${functions.httpsUrl}/hooks/admission`);
      admin = kubectl(binary as string, real.kubeconfig);
      kube = createKube({ kind: "kubeconfig", path: real.kubeconfig });
    }, 180_000);
    afterAll(async () => {
      await functions?.stop();
      await real?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("creating the seed pool gives its 3 VMs, and its status catches up, without a timer", async () => {
      const started = performance.now();
      const applied = await admin.run(["apply", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")]);
      expect(applied.stderr).toBe("");
      const ms = await vmsWithin(kube, 3, 5000, started);
      process.stdout.write(`create → 3 VMs: ${ms.toFixed(0)} ms\n`);
      await eventually(
        async () => {
          const pool = await kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
          return (pool?.status?.readyReplicas ?? 0) === 3 ? true : undefined;
        },
        15_000,
        "readyReplicas 3",
      );
    }, 30_000);

    it("kubectl scale --replicas 5 gives the new VMs within about a second", async () => {
      const started = performance.now();
      const scaled = await admin.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"]);
      expect(scaled.code).toBe(0);
      const ms = await vmsWithin(kube, 5, 3000, started);
      process.stdout.write(`kubectl scale → 5 VMs: ${ms.toFixed(0)} ms (including kubectl's own start)\n`);
      expect(ms).toBeLessThan(3000);
      await eventually(
        async () => {
          const pool = await kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
          return (pool?.status?.readyReplicas ?? 0) === 5 ? true : undefined;
        },
        15_000,
        "readyReplicas 5",
      );
      process.stdout.write(
        `kubectl scale → readyReplicas 5: ${(performance.now() - started).toFixed(0)} ms\n`,
      );
      // Nothing but the API server's calls ran a pass here: the scheduler is off.
      const metrics = await (await fetch(`${functions.url}/metrics`)).text();
      expect(metrics).toMatch(/route="\/hooks\/admission",status="200"/);
    }, 30_000);
  },
);
