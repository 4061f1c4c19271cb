/**
 * The development double of virt-handler's `/metrics` endpoint: KubeVirt's own per-VMI metric names in the
 * Prometheus text format, from the simulated load, so a real Prometheus can scrape the local cluster (or any
 * cluster the simulator drives) and the autoscale function's Prometheus source reads what it would read from
 * KubeVirt. Every scrape lists VMIs and their virt-launcher Pods through shared/kube, so it works against the
 * embedded API server and against kube-apiserver alike.
 *
 * Series per Running VMI, labelled as virt-handler labels them (`namespace`, `name`, `node`, and each VMI label as
 * `kubernetes_vmi_label_<label with . / - as _>`; KubeVirt `pkg/monitoring/metrics/virt-handler`):
 * - `kubevirt_vmi_cpu_usage_seconds_total` (counter): grows at `cpu-load % × the launcher pod's CPU request`
 *   cores, so `rate(…)` over the pool's VMIs divided by their requests is the utilization the simulator was told;
 * - `kubevirt_vmi_vcpu_seconds_total{id, state="running"}` (counter): the same time split over the vCPUs
 *   (the simulator has no hypervisor overhead);
 * - `kubevirt_vmi_memory_resident_bytes` (gauge): `memory-load % × the memory request` (default 60 %, as the
 *   local metrics.k8s.io);
 *   `kubevirt_vmi_memory_domain_bytes`, `_available_bytes`, `_usable_bytes` from the guest's memory.
 *
 * Counters live in this process, keyed by VMI uid: a VMI created again under the same name starts from zero, as
 * a new domain does. The load since the previous scrape is taken to be the load read now (scrapes are seconds
 * apart; a change shows in the next scrape).
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { z } from "zod";
import { LAUNCHER_SELECTOR } from "../../shared/autoscale/pods";
import type { Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { parseQuantity } from "../../shared/schemas";
import { DEFAULT_CPU_LOAD_PERCENT, MEMORY_SHARE } from "./metrics-api";
import { SIMULATOR_ANNOTATIONS } from "./simulator";

/** Per-VMI memory load (percent of the memory request); only this exporter reads it. */
export const MEMORY_LOAD_ANNOTATION = "vmpool.local/memory-load";
/** `npm start`'s port for these metrics (`--kubevirt-metrics-port`). */
export const DEFAULT_KUBEVIRT_METRICS_PORT = 18090;
/** Text exposition format 0.0.4, what Prometheus asks for first. */
export const PROMETHEUS_TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** As the local metrics.k8s.io: a VMI without the annotation uses this share of its memory request. */
const DEFAULT_MEMORY_PERCENT = MEMORY_SHARE * 100;
/** KubeVirt's default `cpuAllocationRatio`: a launcher without an explicit request asks for 1/10 core per vCPU. */
const CPU_ALLOCATION_RATIO = 10;
const DEFAULT_GUEST_MEMORY = 128 * 2 ** 20;

const quantity = z.union([z.string(), z.number()]);
const resourceList = z.looseObject({ cpu: quantity.optional(), memory: quantity.optional() });

/** What this module reads of a VMI: loose, as everything read from the API. */
const VmiSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z
    .looseObject({
      domain: z
        .looseObject({
          cpu: z
            .looseObject({
              cores: z.number().int().optional(),
              sockets: z.number().int().optional(),
              threads: z.number().int().optional(),
            })
            .nullish(),
          memory: z.looseObject({ guest: quantity.optional() }).nullish(),
          resources: z.looseObject({ requests: resourceList.nullish() }).nullish(),
        })
        .nullish(),
    })
    .nullish(),
  status: z.looseObject({ phase: z.string().optional(), nodeName: z.string().optional() }).nullish(),
});
type Vmi = z.infer<typeof VmiSchema>;

const PodSchema = z.looseObject({
  metadata: z.looseObject({
    namespace: z.string().optional(),
    ownerReferences: z
      .array(z.looseObject({ kind: z.string(), name: z.string(), uid: z.string().optional() }))
      .nullish(),
    deletionTimestamp: z.string().nullish(),
  }),
  spec: z
    .looseObject({
      containers: z
        .array(z.looseObject({ resources: z.looseObject({ requests: resourceList.nullish() }).nullish() }))
        .nullish(),
    })
    .nullish(),
});
type Pod = z.infer<typeof PodSchema>;

/** Requests of one VMI's launcher pod, summed over its containers; undefined where no container asks. */
interface Requests {
  readonly cpuCores: number | undefined;
  readonly memoryBytes: number | undefined;
}

function percentOf(text: string | undefined, fallback: number): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text ?? "");
  return match ? Number(match[1]) : fallback;
}

function quantityValue(input: string | number | undefined): number | undefined {
  if (input === undefined) return undefined;
  const parsed = parseQuantity(input);
  return parsed && Number.isFinite(parsed.value) && parsed.value >= 0 ? parsed.value : undefined;
}

function vcpusOf(vmi: Vmi): number {
  const cpu = vmi.spec?.domain?.cpu;
  return Math.max(1, (cpu?.cores ?? 1) * (cpu?.sockets ?? 1) * (cpu?.threads ?? 1));
}

function podRequests(pod: Pod | undefined): Requests {
  let cpu: number | undefined;
  let memory: number | undefined;
  for (const container of pod?.spec?.containers ?? []) {
    const requests = container.resources?.requests;
    const c = quantityValue(requests?.cpu);
    const m = quantityValue(requests?.memory);
    if (c !== undefined) cpu = (cpu ?? 0) + c;
    if (m !== undefined) memory = (memory ?? 0) + m;
  }
  return { cpuCores: cpu, memoryBytes: memory };
}

/** The CPU cores a VMI's load is a percentage of: its launcher pod's request, as the HPA divides by. */
function cpuBasis(vmi: Vmi, pod: Requests): number {
  const fromVmi = quantityValue(vmi.spec?.domain?.resources?.requests?.cpu);
  return pod.cpuCores ?? fromVmi ?? vcpusOf(vmi) / CPU_ALLOCATION_RATIO;
}

function guestMemory(vmi: Vmi): number {
  const domain = vmi.spec?.domain;
  return (
    quantityValue(domain?.memory?.guest) ??
    quantityValue(domain?.resources?.requests?.memory) ??
    DEFAULT_GUEST_MEMORY
  );
}

/** `kubevirt.io/vmpool` → `kubernetes_vmi_label_kubevirt_io_vmpool`, as virt-handler's label formatter does. */
export function vmiLabelName(label: string): string {
  return `kubernetes_vmi_label_${label.replace(/[./-]/g, "_")}`;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label value escaping of the text format: backslash, double quote and line feed. */
function escapeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((name) => `${name}="${escapeValue(labels[name] ?? "")}"`).join(",")}}`;
}

function sampleValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(12).replace(/\.?0+$/, "");
}

interface Family {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly samples: string[];
}

/** HELP texts as KubeVirt's metrics documentation words them (kubevirt/monitoring docs/metrics.md). */
const FAMILIES = {
  cpuUsage: {
    name: "kubevirt_vmi_cpu_usage_seconds_total",
    type: "counter",
    help: "Total CPU time spent in all modes (sum of both vcpu and hypervisor usage).",
  },
  vcpu: {
    name: "kubevirt_vmi_vcpu_seconds_total",
    type: "counter",
    help: "Total amount of time spent in each state by each vcpu (cpu_time excluding hypervisor time).",
  },
  resident: {
    name: "kubevirt_vmi_memory_resident_bytes",
    type: "gauge",
    help: "Resident set size of the process running the domain.",
  },
  domain: {
    name: "kubevirt_vmi_memory_domain_bytes",
    type: "gauge",
    help: "The amount of memory in bytes allocated to the domain.",
  },
  available: {
    name: "kubevirt_vmi_memory_available_bytes",
    type: "gauge",
    help: "Amount of usable memory as seen by the domain.",
  },
  usable: {
    name: "kubevirt_vmi_memory_usable_bytes",
    type: "gauge",
    help: "The amount of memory which can be reclaimed by balloon without pushing the guest system to swap.",
  },
} as const;

type FamilyKey = keyof typeof FAMILIES;

export interface KubevirtMetricsOptions {
  readonly kube: Kube;
  /** Milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
  /** Load of a VMI without the CPU-load annotation (default 10, the simulator's). */
  readonly defaultCpuPercent?: number;
}

/** What one scrape saw. */
export interface KubevirtScrape {
  readonly text: string;
  /** Running VMIs reported. */
  readonly vmis: number;
}

export interface KubevirtMetrics {
  /** Reads the cluster, advances every counter to now and renders the text format. */
  scrape(): Promise<KubevirtScrape>;
}

/** The exporter's state and rendering, without a server (tests and other servers mount `scrape`). */
export function kubevirtMetrics(options: KubevirtMetricsOptions): KubevirtMetrics {
  const now = options.now ?? Date.now;
  const defaultCpu = options.defaultCpuPercent ?? DEFAULT_CPU_LOAD_PERCENT;
  /** VMI uid → CPU seconds so far and when they were last advanced. */
  const counters = new Map<string, { seconds: number; at: number }>();
  let running: Promise<KubevirtScrape> | undefined;

  const scrapeOnce = async (): Promise<KubevirtScrape> => {
    const [rawVmis, rawPods] = await Promise.all([
      options.kube.list("VirtualMachineInstance", { pageSize: 0 }),
      options.kube.list("Pod", { pageSize: 0, labelSelector: LAUNCHER_SELECTOR }),
    ]);
    const at = now();
    const podsByVmi = new Map<string, Pod>();
    for (const raw of rawPods) {
      const parsed = PodSchema.safeParse(raw);
      if (!parsed.success || parsed.data.metadata.deletionTimestamp) continue;
      const owner = parsed.data.metadata.ownerReferences?.find((o) => o.kind === "VirtualMachineInstance");
      if (owner) podsByVmi.set(`${parsed.data.metadata.namespace ?? ""}/${owner.name}`, parsed.data);
    }
    const families = Object.fromEntries(
      Object.entries(FAMILIES).map(([key, family]) => [key, { ...family, samples: [] as string[] }]),
    ) as Record<FamilyKey, Family>;
    const add = (key: FamilyKey, labels: Record<string, string>, value: number) => {
      families[key].samples.push(`${families[key].name}${labelText(labels)} ${sampleValue(value)}`);
    };
    const seen = new Set<string>();
    let reported = 0;
    for (const raw of rawVmis) {
      const parsed = VmiSchema.safeParse(raw);
      if (!parsed.success) continue;
      const vmi = parsed.data;
      if (vmi.status?.phase !== "Running") continue;
      const namespace = vmi.metadata.namespace ?? "";
      const uid = vmi.metadata.uid ?? `${namespace}/${vmi.metadata.name}`;
      seen.add(uid);
      reported++;
      const requests = podRequests(podsByVmi.get(`${namespace}/${vmi.metadata.name}`));
      const annotations = vmi.metadata.annotations ?? {};
      const cores =
        (percentOf(annotations[SIMULATOR_ANNOTATIONS.cpuLoad], defaultCpu) / 100) * cpuBasis(vmi, requests);
      const counter = counters.get(uid) ?? { seconds: 0, at };
      counter.seconds += (Math.max(0, at - counter.at) / 1000) * cores;
      counter.at = at;
      counters.set(uid, counter);

      const labels: Record<string, string> = {};
      for (const [label, value] of Object.entries(vmi.metadata.labels ?? {})) {
        const name = vmiLabelName(label);
        if (LABEL_NAME.test(name)) labels[name] = value;
      }
      Object.assign(labels, { namespace, name: vmi.metadata.name, node: vmi.status?.nodeName ?? "" });
      add("cpuUsage", labels, counter.seconds);
      const vcpus = vcpusOf(vmi);
      for (let id = 0; id < vcpus; id++) {
        add("vcpu", { ...labels, id: String(id), state: "running" }, counter.seconds / vcpus);
      }
      const guest = guestMemory(vmi);
      const memoryBasis = requests.memoryBytes ?? guest;
      const resident = Math.round(
        (percentOf(annotations[MEMORY_LOAD_ANNOTATION], DEFAULT_MEMORY_PERCENT) / 100) * memoryBasis,
      );
      add("resident", labels, resident);
      add("domain", labels, guest);
      add("available", labels, guest);
      add("usable", labels, Math.max(0, guest - resident));
    }
    // A VMI that stopped running forgets its counter, as its domain's statistics go with it.
    for (const uid of counters.keys()) if (!seen.has(uid)) counters.delete(uid);
    const text = Object.values(families)
      .filter((family) => family.samples.length > 0)
      .map(
        (family) =>
          `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n${family.samples.join("\n")}\n`,
      )
      .join("");
    return { text, vmis: reported };
  };

  return {
    // Concurrent scrapes share one read, so two scrapers cannot double-count an interval.
    scrape: () => {
      running ??= scrapeOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}

export interface KubevirtMetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on 127.0.0.1:`port` (0 picks a free one). */
export async function startKubevirtMetricsServer(
  options: KubevirtMetricsOptions & { readonly port?: number },
): Promise<KubevirtMetricsServer> {
  const log = logger("kubevirt-metrics");
  const metrics = kubevirtMetrics(options);
  const app = new Hono();
  app.get("/metrics", async (c) => {
    try {
      const { text } = await metrics.scrape();
      return c.body(text, 200, { "Content-Type": PROMETHEUS_TEXT_TYPE });
    } catch (err) {
      // A failed read is a failed scrape (Prometheus marks `up` 0), never made-up values.
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "KubeVirt metrics scrape failed");
      return c.text("cannot read the cluster\n", 503);
    }
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: options.port ?? 0 }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
