/**
 * What only the real control plane can show, with real kubectl: the server is kube-apiserver at the pinned
 * release; garbage collection and Endpoints/EndpointSlices are done by kube-controller-manager (the simulator
 * over the API writes neither); the functions' kubeconfig is their ServiceAccount bound to the least-privilege
 * ClusterRole, not admin; and a restart on the same data directory keeps every object (etcd is durable).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubernetesVersion, startRealCluster } from "../../infra/real";
import { realSkipReason, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary } from "../support/kubectl";
import { eventually } from "../support/local-cluster";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33");
const skip = realSkipReason() ?? (binary ? undefined : "no kubectl.1.33 found");

describe.skipIf(skip !== undefined)(`the real control plane${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let env: SuiteCluster;
  let admin: Kubectl;
  let functions: Kubectl;

  beforeAll(async () => {
    env = await startSuiteCluster("real", { simulator: { startDelayMs: 10, stepDelayMs: 10 } });
    admin = kubectl(binary as string, env.kubeconfig);
    functions = kubectl(binary as string, env.functionsKubeconfig);
  });
  afterAll(async () => env?.close());

  it("kubectl version shows kube-apiserver at the release infra/real pins", async () => {
    const version = await admin.run(["version", "-o", "json"]);
    expect(version.code).toBe(0);
    const server = (JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion;
    expect(server.gitVersion).toBe(`v${kubernetesVersion()}`);
  });

  it("KubeVirt's CRDs are installed and served with their short names", async () => {
    const resources = await admin.run(["api-resources", "-o", "name"]);
    for (const name of [
      "virtualmachines.kubevirt.io",
      "virtualmachineinstances.kubevirt.io",
      "virtualmachineinstancereplicasets.kubevirt.io",
      "virtualmachinepools.pool.kubevirt.io",
      "datavolumes.cdi.kubevirt.io",
    ])
      expect(resources.stdout.split("\n")).toContain(name);
    expect((await admin.run(["get", "vmpool"])).code).toBe(0);
  });

  it("the functions run as their ServiceAccount, allowed what the ClusterRole grants and nothing more", async () => {
    const whoami = await functions.run(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    expect(whoami.stdout).toBe("system:serviceaccount:vmpool-functions:vmpool-functions");
    const can = async (...args: string[]) => (await functions.run(["auth", "can-i", ...args])).stdout.trim();
    expect(await can("create", "virtualmachines.kubevirt.io", "-n", "default")).toBe("yes");
    expect(
      await can("patch", "virtualmachinepools.pool.kubevirt.io", "--subresource=scale", "-n", "default"),
    ).toBe("yes");
    expect(await can("list", "secrets", "-n", "default")).toBe("no");
    expect(await can("delete", "virtualmachinepools.pool.kubevirt.io", "-n", "default")).toBe("no");
    expect(await can("create", "pods", "-n", "default")).toBe("no");
  });

  it("garbage collection is kube-controller-manager's: a VM owned by a ConfigMap goes when the ConfigMap does", async () => {
    // Neither the functions (not running here) nor the simulator delete VMs: only the real garbage collector can.
    expect((await admin.run(["create", "configmap", "owner"])).code).toBe(0);
    const uid = (await admin.run(["get", "configmap", "owner", "-o", "jsonpath={.metadata.uid}"])).stdout;
    const vm = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: {
        name: "owned",
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }],
      },
      spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
    };
    expect((await admin.run(["create", "-f", "-"], JSON.stringify(vm))).code).toBe(0);
    expect((await admin.run(["delete", "configmap", "owner"])).code).toBe(0);
    await eventually(
      async () => ((await admin.run(["get", "vm", "owned"])).code !== 0 ? true : undefined),
      20_000,
      "the owned VM collected",
    );
  });

  it("Endpoints and EndpointSlices of the seed Service come from kube-controller-manager's controllers", async () => {
    // Launcher pods of VMs the simulator runs; no pool controller needed for that.
    const vm = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm-pool-cirros-0", labels: { "kubevirt.io/vmpool": "vm-pool-cirros" } },
      spec: {
        runStrategy: "Always",
        template: {
          metadata: { labels: { "kubevirt.io/vmpool": "vm-pool-cirros" } },
          spec: { domain: { devices: {} } },
        },
      },
    };
    expect((await admin.run(["create", "-f", "-"], JSON.stringify(vm))).code).toBe(0);
    expect((await admin.run(["apply", "-f", join(EXAMPLES, "vm-pool-cirros-ssh.yaml")])).code).toBe(0);
    const ip = await eventually(
      async () => {
        const found = (
          await admin.run([
            "get",
            "endpoints",
            "vm-pool-cirros-ssh",
            "-o",
            "jsonpath={.subsets[0].addresses[0].ip}",
          ])
        ).stdout;
        return found || undefined;
      },
      20_000,
      "an endpoint address",
    );
    const podIp = (
      await admin.run([
        "get",
        "pods",
        "-l",
        "kubevirt.io/vmpool=vm-pool-cirros",
        "-o",
        "jsonpath={.items[0].status.podIP}",
      ])
    ).stdout;
    expect(ip).toBe(podIp);
    const managers = (
      await admin.run([
        "get",
        "endpoints",
        "vm-pool-cirros-ssh",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
      ])
    ).stdout;
    expect(managers).toBe("kube-controller-manager");
    const slice = await admin.run([
      "get",
      "endpointslices",
      "-l",
      "kubernetes.io/service-name=vm-pool-cirros-ssh",
      "-o",
      "jsonpath={.items[0].metadata.labels.endpointslice\\.kubernetes\\.io/managed-by} {.items[0].endpoints[0].addresses[0]}",
    ]);
    expect(slice.stdout).toBe(`endpointslice-controller.k8s.io ${podIp}`);
  });
});

describe.skipIf(realSkipReason() !== undefined)(
  `the real control plane restarted on its data directory${realSkipReason() ? ` (skipped: ${realSkipReason()})` : ""}`,
  () => {
    it("keeps every object and its credentials, and --fresh starts empty", async () => {
      const { mkdtempSync, rmSync } = await import("node:fs");
      const { tmpdir } = await import("node:os");
      const dir = mkdtempSync(join(tmpdir(), "vmpool-restart-"));
      try {
        const first = await startRealCluster({ apiPort: 0, dataDir: dir });
        const k1 = kubectl(binary ?? "kubectl", first.kubeconfig);
        expect((await k1.run(["create", "configmap", "survivor", "--from-literal=a=1"])).code).toBe(0);
        await first.close();

        const second = await startRealCluster({ apiPort: 0, dataDir: dir });
        const k2 = kubectl(binary ?? "kubectl", second.kubeconfig);
        expect((await k2.run(["get", "configmap", "survivor", "-o", "jsonpath={.data.a}"])).stdout).toBe("1");
        await second.close();

        const fresh = await startRealCluster({ apiPort: 0, dataDir: dir, fresh: true });
        const k3 = kubectl(binary ?? "kubectl", fresh.kubeconfig);
        expect((await k3.run(["get", "configmap", "survivor"])).code).not.toBe(0);
        await fresh.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
