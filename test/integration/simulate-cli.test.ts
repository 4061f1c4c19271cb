/**
 * `vmpool simulate` as users run it: in its own process against a cluster named by a kubeconfig. Bad flags and
 * unsuitable clusters (KubeVirt's controllers running, KubeVirt's CRDs missing) exit 2 with one line naming the
 * problem; on a suitable cluster it prints one line, runs VMs, and stops on Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeKubeconfig } from "../../infra/local";
import { RESOURCES } from "../../infra/local/resources";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

const ROOT = join(import.meta.dirname, "../..");

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

function simulate(args: string[]): Run {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "infra/cli/main.ts"), "simulate", ...args],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOG_LEVEL: "warn" },
    },
  );
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout?.on("data", (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    run.stderr += d.toString();
  });
  return run;
}

let cluster: TestCluster | undefined;
let server: Server | undefined;
let running: Run | undefined;
let scratch: string | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill("SIGKILL");
    await running.exit;
  }
  running = undefined;
  await cluster?.close();
  cluster = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe("vmpool simulate", () => {
  it.concurrent.each([
    // The kubeconfig is required.
    [[], "--kubeconfig"],
    // At least one node.
    [["--kubeconfig", "x", "--nodes", "0"], "--nodes"],
    // A number.
    [["--kubeconfig", "x", "--seed", "many"], "--seed"],
  ])("refuses the flags %j, naming %s, with exit status 2", async (args, flag) => {
    const run = simulate(args);
    expect(await run.exit).toBe(2);
    expect(run.stderr).toContain(`invalid flag ${flag}`);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a cluster where KubeVirt's virt-controller runs", async () => {
    cluster = await startTestCluster({ simulator: false });
    const pods = RESOURCES.find((r) => r.plural === "pods");
    if (!pods) throw new Error("pods");
    cluster.cluster.registry.create(pods, "v1", "kube-system", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "virt-controller-6b8d5-x2k4q", labels: { "kubevirt.io": "virt-controller" } },
      spec: { containers: [{ name: "virt-controller", image: "quay.io/kubevirt/virt-controller:v1.5.0" }] },
    });
    const run = simulate(["--kubeconfig", cluster.kubeconfig]);
    expect(await run.exit).toBe(2);
    expect(run.stderr.trim()).toBe(
      "vmpool: KubeVirt's virt-controller runs here (pod kube-system/virt-controller-6b8d5-x2k4q); the simulator refuses to fight it",
    );
  });

  it("refuses a cluster without KubeVirt's CRDs and says how to install them", async () => {
    // A bare API server: no kubevirt.io or cdi.kubevirt.io group, no pods of KubeVirt's.
    server = createServer((req, res) => {
      res.setHeader("Content-Type", "application/json");
      if (req.url?.startsWith("/api/v1/pods")) {
        res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items: [] }));
        return;
      }
      res.statusCode = 404;
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
        }),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    scratch = mkdtempSync(join(tmpdir(), "vmpool-simulate-cli-"));
    const kubeconfig = writeKubeconfig(join(scratch, "kubeconfig"), `http://127.0.0.1:${port}`);
    const run = simulate(["--kubeconfig", kubeconfig]);
    expect(await run.exit).toBe(2);
    expect(run.stderr.trim()).toBe(
      "vmpool: the cluster serves no virtualmachines.kubevirt.io, virtualmachineinstances.kubevirt.io, datavolumes.cdi.kubevirt.io: install KubeVirt's CRDs first (kubectl apply -f infra/kubernetes/crds/)",
    );
  });

  it("prints one line, runs a VM on the cluster, and stops on Ctrl-C", async () => {
    cluster = await startTestCluster({ simulator: false });
    const run = simulate(["--kubeconfig", cluster.kubeconfig, "--nodes", "3", "--seed", "5"]);
    running = run;
    await eventually(() => (run.stdout.includes("Ctrl-C") ? true : undefined), 30_000, "the running line");
    expect(run.stdout.trim().split("\n")).toEqual([
      `vmpool simulate: simulating KubeVirt (3 nodes, seed 5) on the cluster of ${cluster.kubeconfig}; Ctrl-C stops`,
    ]);
    const vms = RESOURCES.find((r) => r.plural === "virtualmachines");
    if (!vms) throw new Error("virtualmachines");
    cluster.cluster.registry.create(vms, "v1", "default", {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "demo" },
      spec: { runStrategy: "Always", template: { spec: { domain: { devices: {} } } } },
    });
    const store = cluster.cluster.store;
    const vmi = await eventually(() => {
      const obj = store.get("virtualmachineinstances.kubevirt.io", "default", "demo")?.obj;
      return (obj?.status as { phase?: string } | undefined)?.phase === "Running" ? obj : undefined;
    }, 15_000);
    expect(["node01", "node02", "node03"]).toContain((vmi.status as { nodeName?: string }).nodeName);
    run.child.kill("SIGINT");
    expect(await run.exit).toBe(0);
  });
});
