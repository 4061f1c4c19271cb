/**
 * Real kubectl (1.27 and 1.33, the oldest and newest we support) against the local cluster, running the seed
 * documents' commands and asserting on what a user sees. Skipped with a clear message where a binary is absent.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const VERSIONS = ["1.27", "1.33"] as const;

const VM_YAML = (name: string, labels = "app: demo") => `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
  labels:
    ${labels}
spec:
  runStrategy: Always
  template:
    metadata:
      labels:
        ${labels}
    spec:
      domain:
        devices: {}
        resources:
          requests:
            memory: 64Mi
`;

describe.each(VERSIONS)("kubectl %s against the local cluster", (version) => {
  const binary = kubectlBinary(version);
  let env: TestCluster;
  let k: Kubectl;

  beforeAll(async () => {
    if (!binary) return;
    env = await startTestCluster({ simulator: { startDelayMs: 20, stepDelayMs: 20 } });
    k = kubectl(binary, env.kubeconfig);
  });
  afterAll(async () => {
    await env?.close();
  });

  const itk = binary ? it : it.skip;
  if (!binary) it.skip(`kubectl.${version} is not installed next to kubectl on PATH`, () => {});

  itk("creates the seed pool and lists it with KubeVirt's printer columns", async () => {
    const created = await k.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")]);
    expect(created.stderr).toBe("");
    expect(created.stdout.trim()).toBe("virtualmachinepool.pool.kubevirt.io/vm-pool-cirros created");
    const got = await k.run(["get", "vmpool"]);
    const rows = table(got.stdout);
    expect(rows[0]).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    expect(rows[1]?.[0]).toBe("vm-pool-cirros");
    expect(rows[1]?.[1]).toBe("3");
  });

  itk("applies the seed replica set (v1alpha3 manifest) and shows it through kubevirt.io/v1", async () => {
    const applied = await k.run(["apply", "-f", join(EXAMPLES, "vmirs.yaml")]);
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim()).toBe("virtualmachineinstancereplicaset.kubevirt.io/testreplicaset created");
    expect(applied.stderr).toContain("kubevirt.io/v1alpha3 is now deprecated");
    const got = await k.run(["get", "-f", join(EXAMPLES, "vmirs.yaml")]);
    expect(table(got.stdout)[0]).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    const yaml = await k.run([
      "get",
      "vmirs",
      "testreplicaset",
      "-o",
      "jsonpath={.apiVersion} {.spec.replicas}",
    ]);
    expect(yaml.stdout).toBe("kubevirt.io/v1 2");
  });

  itk("creates both HPAs and the SSH Service from the seed manifests", async () => {
    for (const file of ["vm-pool-cirros-hpa.yaml", "vmirs-hpa.yaml", "vm-pool-cirros-ssh.yaml"]) {
      const res = await k.run(["apply", "-f", join(EXAMPLES, file)]);
      expect(res.stderr).toBe("");
      expect(res.stdout).toMatch(/ created\n$/);
    }
    const hpa = table((await k.run(["get", "hpa"])).stdout);
    expect(hpa[0]).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
    const names = hpa.slice(1).map((r) => r[0]);
    expect(names).toEqual(["testreplicaset", "vm-pool-cirros"]);
    const pool = hpa.find((r) => r[0] === "vm-pool-cirros");
    expect(pool?.[1]).toBe("VirtualMachinePool/vm-pool-cirros");
    expect(pool?.join(" ")).toContain("/50%");
    const rs = hpa.find((r) => r[0] === "testreplicaset");
    expect(rs?.join(" ")).toContain("/80%");
    // One object seen through both versions.
    const v1 = await k.run([
      "get",
      "--raw",
      "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/vm-pool-cirros",
    ]);
    expect(JSON.parse(v1.stdout)).toMatchObject({
      apiVersion: "autoscaling/v1",
      spec: { targetCPUUtilizationPercentage: 50 },
    });
    const svc = table((await k.run(["get", "svc", "vm-pool-cirros-ssh"])).stdout);
    expect(svc[0]?.slice(0, 4)).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP"]);
    expect(svc[1]?.[1]).toBe("ClusterIP");
    expect(svc[1]?.join(" ")).toContain("2222/TCP");
  });

  itk("runs a VM: the simulator gives it a Running VMI with KubeVirt's columns", async () => {
    const res = await k.run(["create", "-f", "-"], VM_YAML("vm-demo"));
    expect(res.stdout.trim()).toBe("virtualmachine.kubevirt.io/vm-demo created");
    await eventually(
      async () => {
        const rows = table((await k.run(["get", "vmi", "vm-demo"])).stdout);
        return rows[1]?.[2] === "Running" ? rows : undefined;
      },
      15_000,
      "vmi Running",
    );
    const vmis = table((await k.run(["get", "vmis"])).stdout);
    expect(vmis[0]).toEqual(["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]);
    const vm = table((await k.run(["get", "vm", "vm-demo"])).stdout);
    expect(vm[0]).toEqual(["NAME", "AGE", "STATUS", "READY"]);
    expect(vm[1]?.[2]).toBe("Running");
    const wide = table((await k.run(["get", "vmi", "vm-demo", "-o", "wide"])).stdout);
    expect(wide[0]).toContain("LIVE-MIGRATABLE");
  });

  itk("describes a pool with its Events section", async () => {
    const uid = (await k.run(["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.metadata.uid}"])).stdout;
    const event = `apiVersion: v1
kind: Event
metadata:
  name: vm-pool-cirros.test
involvedObject:
  apiVersion: pool.kubevirt.io/v1beta1
  kind: VirtualMachinePool
  name: vm-pool-cirros
  namespace: default
  uid: ${uid}
reason: SuccessfulCreate
message: Created VM default/vm-pool-cirros-0
type: Normal
source:
  component: virtualmachinepool-controller
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
`;
    expect((await k.run(["create", "-f", "-"], event)).code).toBe(0);
    const described = await k.run(["describe", "vmpool", "vm-pool-cirros"]);
    expect(described.stdout).toMatch(/^Name:\s+vm-pool-cirros$/m);
    expect(described.stdout).toMatch(/^Kind:\s+VirtualMachinePool$/m);
    expect(described.stdout).toContain("Events:");
    expect(described.stdout).toMatch(
      /Normal\s+SuccessfulCreate\s+\S+\s+virtualmachinepool-controller\s+Created VM default\/vm-pool-cirros-0/,
    );
  });

  itk("scales the pool through the scale subresource", async () => {
    const res = await k.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"]);
    expect(res.stdout.trim()).toBe("virtualmachinepool.pool.kubevirt.io/vm-pool-cirros scaled");
    const replicas = await k.run(["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.spec.replicas}"]);
    expect(replicas.stdout).toBe("5");
    const generation = await k.run([
      "get",
      "vmpool",
      "vm-pool-cirros",
      "-o",
      "jsonpath={.metadata.generation}",
    ]);
    expect(generation.stdout).toBe("2");
  });

  itk("autoscales the replica set like the seed document (protobuf body on 1.33)", async () => {
    await k.run(["delete", "hpa", "testreplicaset"]);
    const res = await k.run(["autoscale", "vmirs", "testreplicaset", "--min=2", "--max=5"]);
    expect(res.stderr).toBe("");
    expect(res.stdout.trim()).toBe("horizontalpodautoscaler.autoscaling/testreplicaset autoscaled");
    const spec = await k.run([
      "get",
      "hpa",
      "testreplicaset",
      "-o",
      "jsonpath={.spec.minReplicas} {.spec.maxReplicas} {.spec.scaleTargetRef.kind}",
    ]);
    expect(spec.stdout).toBe("2 5 VirtualMachineInstanceReplicaSet");
  });

  itk("patches a VM with --type merge (the seed's ownerReferences removal) and --type json", async () => {
    const owned = VM_YAML("vm-owned").replace(
      "  labels:",
      `  ownerReferences:
  - apiVersion: pool.kubevirt.io/v1beta1
    kind: VirtualMachinePool
    name: vm-pool-cirros
    uid: ${(await k.run(["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.metadata.uid}"])).stdout}
    controller: true
  labels:`,
    );
    expect((await k.run(["create", "-f", "-"], owned)).code).toBe(0);
    const merge = await k.run([
      "patch",
      "vm",
      "vm-owned",
      "--type",
      "merge",
      "--patch",
      '{"metadata":{"ownerReferences":null}}',
    ]);
    expect(merge.stdout.trim()).toBe("virtualmachine.kubevirt.io/vm-owned patched");
    const refs = await k.run(["get", "vm", "vm-owned", "-o", "jsonpath={.metadata.ownerReferences}"]);
    expect(refs.stdout).toBe("");
    const json = await k.run([
      "patch",
      "vm",
      "vm-owned",
      "--type",
      "json",
      "-p",
      '[{"op":"add","path":"/metadata/labels/tier","value":"gold"}]',
    ]);
    expect(json.stdout.trim()).toBe("virtualmachine.kubevirt.io/vm-owned patched");
    const label = await k.run(["get", "vm", "-l", "tier=gold", "-o", "name"]);
    expect(label.stdout.trim()).toBe("virtualmachine.kubevirt.io/vm-owned");
    const bad = await k.run(["patch", "vmpool", "vm-pool-cirros", "-p", '{"spec":{"replicas":4}}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("application/strategic-merge-patch+json is not supported");
  });

  itk("deletes a VM and garbage-collects its VMI", async () => {
    await eventually(async () =>
      (await k.run(["get", "vmi", "vm-demo", "-o", "name"])).code === 0 ? true : undefined,
    );
    const res = await k.run(["delete", "vm", "vm-demo"]);
    expect(res.stdout.trim()).toBe('virtualmachine.kubevirt.io "vm-demo" deleted');
    await eventually(
      async () => {
        const vmi = await k.run(["get", "vmi", "vm-demo"]);
        return vmi.code !== 0 && vmi.stderr.includes("NotFound") ? vmi.stderr : undefined;
      },
      10_000,
      "vmi deleted by GC",
    );
    const missing = await k.run(["delete", "vm", "nope"]);
    expect(missing.stderr.trim()).toBe(
      'Error from server (NotFound): virtualmachines.kubevirt.io "nope" not found',
    );
  });

  itk("watches VMIs with get -w and prints new rows as they appear", async () => {
    const child = k.spawn(["get", "vmi", "-w"]);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    try {
      await eventually(() => (out.includes("NAME") ? true : undefined), 10_000, "watch header");
      expect((await k.run(["create", "-f", "-"], VM_YAML("vm-watched"))).code).toBe(0);
      await eventually(
        () => (/vm-watched\s+\S+\s+Running/.test(out) ? true : undefined),
        15_000,
        "watched Running row",
      );
      expect(out.split("\n")[0]).toMatch(/^NAME\s+AGE\s+PHASE\s+IP\s+NODENAME\s+READY/);
    } finally {
      child.kill();
    }
  });

  itk("creates a namespace (protobuf body on 1.33) and refuses writes to a missing one", async () => {
    const res = await k.run(["create", "namespace", `demo-${version.replace(".", "-")}`]);
    expect(res.stderr).toBe("");
    expect(res.stdout.trim()).toBe(`namespace/demo-${version.replace(".", "-")} created`);
    const ns = table((await k.run(["get", "ns"])).stdout);
    expect(ns[0]).toEqual(["NAME", "STATUS", "AGE"]);
    expect(ns.map((r) => r[0])).toContain("kube-system");
    const missing = await k.run(["create", "-n", "nowhere", "-f", "-"], VM_YAML("vm-x"));
    expect(missing.stderr).toContain('namespaces "nowhere" not found');
  });

  itk("rejects invalid pools with KubeVirt's admission messages and stores nothing", async () => {
    const bad = (await import("node:fs"))
      .readFileSync(join(EXAMPLES, "vm-pool-cirros.yaml"), "utf8")
      .replace("name: vm-pool-cirros\nspec", "name: bad-pool\nspec")
      .replace(
        "  selector:\n    matchLabels:\n      kubevirt.io/vmpool: vm-pool-cirros",
        "  selector:\n    matchLabels:\n      kubevirt.io/vmpool: other",
      );
    const res = await k.run(["create", "-f", "-"], bad);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("selector does not match labels.");
    const get = await k.run(["get", "vmpool", "bad-pool"]);
    expect(get.stderr).toContain('virtualmachinepools.pool.kubevirt.io "bad-pool" not found');
    const unknown = await k.run(["get", "foobars"]);
    expect(unknown.stderr).toContain('the server doesn\'t have a resource type "foobars"');
  });
});
