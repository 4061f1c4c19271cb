/**
 * The local virt-handler metrics double (infra/local/kubevirt-metrics.ts): KubeVirt's metric names and labels in
 * the Prometheus text format, CPU counters that grow with the simulated load over the launcher pod's request,
 * counters that start again for a new VMI of the same name, and nothing for VMIs that do not run. Served over
 * HTTP on 127.0.0.1 as Prometheus scrapes it.
 */
import { describe, expect, it } from "vitest";
import {
  kubevirtMetrics,
  startKubevirtMetricsServer,
  vmiLabelName,
} from "../../infra/local/kubevirt-metrics";
import { MEMORY_SHARE } from "../../infra/local/metrics-api";
import type { Kube } from "../../shared/kube";

function vmi(name: string, options: { uid?: string; phase?: string; load?: string; vcpus?: number } = {}) {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: options.uid ?? `uid-${name}`,
      labels: { "kubevirt.io/vmpool": "pool", "kubevirt.io/nodeName": "node01" },
      annotations: options.load === undefined ? {} : { "vmpool.local/cpu-load": options.load },
    },
    spec: { domain: { cpu: { cores: options.vcpus ?? 1 }, resources: { requests: { memory: "128Mi" } } } },
    status: { phase: options.phase ?? "Running", nodeName: "node01" },
  };
}

function pod(vmiName: string, cpu: string | undefined) {
  return {
    metadata: {
      name: `virt-launcher-${vmiName}-xyz12`,
      namespace: "default",
      ownerReferences: [{ kind: "VirtualMachineInstance", name: vmiName, uid: `uid-${vmiName}` }],
    },
    spec: {
      containers: [
        { name: "compute", resources: { requests: { memory: "128Mi", ...(cpu ? { cpu } : {}) } } },
        { name: "volumecontainerdisk" },
      ],
    },
  };
}

function cluster(state: { vmis: unknown[]; pods: unknown[] }): Kube {
  return {
    list: async (kind: string) => (kind === "VirtualMachineInstance" ? state.vmis : state.pods),
  } as unknown as Kube;
}

/** `name{labels} value` lines of one metric, as label text → number. */
function samples(text: string, metric: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(\{.*\}) (\S+)$/.exec(line);
    if (match?.[1] === metric) out.set(match[2] as string, Number(match[3]));
  }
  return out;
}

describe("the KubeVirt metrics exporter", () => {
  it("grows kubevirt_vmi_cpu_usage_seconds_total at load × the launcher pod's CPU request", async () => {
    let now = 1_000_000;
    const state = {
      vmis: [
        vmi("pool-0", { load: "50" }),
        vmi("pool-1", { load: "100", vcpus: 2 }),
        vmi("pool-2", { phase: "Scheduling" }),
      ],
      pods: [pod("pool-0", "200m"), pod("pool-1", undefined)],
    };
    const metrics = kubevirtMetrics({ kube: cluster(state), now: () => now });
    const first = await metrics.scrape();
    expect(first.vmis).toBe(2);
    now += 10_000;
    const { text } = await metrics.scrape();
    const labels0 =
      '{kubernetes_vmi_label_kubevirt_io_nodeName="node01",kubernetes_vmi_label_kubevirt_io_vmpool="pool",name="pool-0",namespace="default",node="node01"}';
    const labels1 = labels0.replace('name="pool-0"', 'name="pool-1"');
    const cpu = samples(text, "kubevirt_vmi_cpu_usage_seconds_total");
    // pool-0: 50 % of 200m for 10 s = 1 s. pool-1 has no CPU request: KubeVirt's 1/10 core per vCPU, 100 % → 2 s.
    expect(cpu.get(labels0)).toBeCloseTo(1, 9);
    expect(cpu.get(labels1)).toBeCloseTo(2, 9);
    expect([...cpu.keys()].some((key) => key.includes("pool-2"))).toBe(false);
    const vcpu = samples(text, "kubevirt_vmi_vcpu_seconds_total");
    expect(
      vcpu.get(labels1.replace("{", '{id="1",').replace('node="node01"}', 'node="node01",state="running"}')),
    ).toBeCloseTo(1, 9);
    // The local metrics.k8s.io's share of the 128 Mi memory request is resident; the domain has its 128 Mi.
    expect(samples(text, "kubevirt_vmi_memory_resident_bytes").get(labels0)).toBe(
      Math.round(MEMORY_SHARE * 128 * 2 ** 20),
    );
    expect(samples(text, "kubevirt_vmi_memory_domain_bytes").get(labels0)).toBe(128 * 2 ** 20);
    expect(text).toContain("# TYPE kubevirt_vmi_cpu_usage_seconds_total counter\n");
    expect(text).toContain("# TYPE kubevirt_vmi_memory_resident_bytes gauge\n");
  });

  it("starts a new VMI of the same name from zero and follows load changes from the next scrape", async () => {
    let now = 0;
    const state = { vmis: [vmi("pool-0", { load: "100" })], pods: [pod("pool-0", "100m")] };
    const metrics = kubevirtMetrics({ kube: cluster(state), now: () => now });
    await metrics.scrape();
    now = 5000;
    const before = samples((await metrics.scrape()).text, "kubevirt_vmi_cpu_usage_seconds_total");
    expect([...before.values()]).toEqual([0.5]);
    state.vmis = [vmi("pool-0", { uid: "uid-second", load: "20" })];
    now = 10_000;
    const after = samples((await metrics.scrape()).text, "kubevirt_vmi_cpu_usage_seconds_total");
    expect([...after.values()]).toEqual([0]);
    now = 20_000;
    const later = samples((await metrics.scrape()).text, "kubevirt_vmi_cpu_usage_seconds_total");
    expect([...later.values()][0]).toBeCloseTo(0.2, 9);
  });

  it("formats VMI labels as virt-handler does", () => {
    expect(vmiLabelName("kubevirt.io/vmpool")).toBe("kubernetes_vmi_label_kubevirt_io_vmpool");
    expect(vmiLabelName("app.kubernetes.io/part-of")).toBe("kubernetes_vmi_label_app_kubernetes_io_part_of");
  });

  it("serves GET /metrics on 127.0.0.1 in the text format, and 503 when the cluster cannot be read", async () => {
    const state = { vmis: [vmi("pool-0")], pods: [pod("pool-0", "100m")] };
    let broken = false;
    const kube = {
      list: async (kind: string) => {
        if (broken) throw new Error("connection refused");
        return kind === "VirtualMachineInstance" ? state.vmis : state.pods;
      },
    } as unknown as Kube;
    const server = await startKubevirtMetricsServer({ kube, port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const response = await fetch(server.url);
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(await response.text()).toMatch(/^kubevirt_vmi_cpu_usage_seconds_total\{.*name="pool-0".*\} 0$/m);
      broken = true;
      const failed = await fetch(server.url);
      expect(failed.status).toBe(503);
      await failed.text();
    } finally {
      await server.close();
    }
  });
});
