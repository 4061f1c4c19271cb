/**
 * The local demo's metric pipeline, standing in for Prometheus + Alertmanager: every interval the emitter reads
 * the simulated CPU load of each autoscaled pool's Ready VMIs (the local simulator's `vmpool.local/cpu-load`
 * annotation) and POSTs an Alertmanager-shaped notification per pool to the autoscale webhook, so `npm start`
 * shows alert → HPA decision → new VMs end to end. `setPoolCpuLoad` is what `vmpool load <pool> <pct>` runs.
 * Both talk to the cluster only through shared/kube, so they work against the local cluster from any process.
 */
import { ReasonedError } from "../errors";
import type { Kube } from "../kube";
import { type Logger, logger } from "../log";
import { formatRef, POOL_KINDS, type PoolRef } from "../reconcile";
import type { VirtualMachine, VirtualMachineInstance } from "../schemas";
import { targetsPool } from "./policy";
import { type AlertMapping, DEFAULT_ALERT_MAPPING, labelsFingerprint } from "./signal";

/** The simulator's CPU-load annotation on a VMI (infra/local/simulator `SIMULATOR_ANNOTATIONS.cpuLoad`). */
export const CPU_LOAD_ANNOTATION = "vmpool.local/cpu-load";
/** The simulator's load of a VMI without the annotation (its `defaultCpuLoad`). */
export const DEFAULT_CPU_PERCENT = 10;
const ZERO_TIME = "0001-01-01T00:00:00Z";
const ALERT_NAME = "PoolCpuLoad";

/** The simulated CPU load of one autoscaled pool. */
export interface PoolCpuLoad {
  readonly ref: PoolRef;
  /** `<namespace>/<name>` of the HPA targeting it. */
  readonly hpa: string;
  /** Ready VMIs counted. */
  readonly ready: number;
  /** Mean utilization in percent; undefined when no VMI is Ready. */
  readonly averagePercent: number | undefined;
}

function parsePercent(text: string | undefined): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text ?? "");
  return match ? Number(match[1]) : undefined;
}

function isReady(vmi: VirtualMachineInstance): boolean {
  const status = vmi.status as { phase?: unknown; conditions?: unknown } | undefined;
  const conditions = Array.isArray(status?.conditions)
    ? (status.conditions as { type?: unknown; status?: unknown }[])
    : [];
  return (
    !vmi.metadata.deletionTimestamp &&
    status?.phase === "Running" &&
    conditions.some((condition) => condition.type === "Ready" && condition.status === "True")
  );
}

function ownedBy(
  object: { metadata: { ownerReferences?: readonly { uid: string }[] | null | undefined } },
  uid: string,
) {
  return (object.metadata.ownerReferences ?? []).some((owner) => owner.uid === uid);
}

/** The VMIs of a pool: through its VMs for a VirtualMachinePool, directly for a replica set. */
function vmisOf(
  ref: PoolRef,
  uid: string,
  vms: readonly VirtualMachine[],
  vmis: readonly VirtualMachineInstance[],
): VirtualMachineInstance[] {
  if (ref.kind === "VirtualMachineInstanceReplicaSet") return vmis.filter((vmi) => ownedBy(vmi, uid));
  const names = new Set(vms.filter((vm) => ownedBy(vm, uid)).map((vm) => vm.metadata.name));
  return vmis.filter((vmi) => names.has(vmi.metadata.name));
}

async function readPoolVmis(kube: Kube, ref: PoolRef): Promise<VirtualMachineInstance[] | undefined> {
  const [pool, vms, vmis] = await Promise.all([
    kube.get(ref.kind, ref.namespace, ref.name),
    ref.kind === "VirtualMachinePool" ? kube.list("VirtualMachine", { namespace: ref.namespace }) : [],
    kube.list("VirtualMachineInstance", { namespace: ref.namespace }),
  ]);
  if (!pool) return undefined;
  return vmisOf(ref, pool.metadata.uid ?? "", vms, vmis);
}

/**
 * Sets the simulated CPU load of every VMI of a pool (new VMIs start at the simulator's default). Refuses NaN and
 * negative loads (400) and unknown pools (404); returns the VMIs it set.
 */
export async function setPoolCpuLoad(kube: Kube, ref: PoolRef, percent: number): Promise<string[]> {
  if (!Number.isFinite(percent) || percent < 0) {
    throw new ReasonedError("InvalidCpuLoad", `CPU load must be a number ≥ 0, got ${percent}`, {
      status: 400,
    });
  }
  const vmis = await readPoolVmis(kube, ref);
  if (vmis === undefined)
    throw new ReasonedError("NotFound", `${ref.kind} ${ref.namespace}/${ref.name} does not exist`, {
      status: 404,
    });
  await Promise.all(
    vmis.map((vmi) =>
      kube.patch(
        "VirtualMachineInstance",
        ref.namespace,
        vmi.metadata.name,
        { metadata: { annotations: { [CPU_LOAD_ANNOTATION]: String(percent) } } },
        "merge",
      ),
    ),
  );
  return vmis.map((vmi) => vmi.metadata.name).sort();
}

/** The simulated CPU load of every pool some HPA targets. */
export async function poolCpuLoads(kube: Kube, defaultPercent = DEFAULT_CPU_PERCENT): Promise<PoolCpuLoad[]> {
  const hpas = await kube.list("HorizontalPodAutoscaler");
  const loads: PoolCpuLoad[] = [];
  for (const hpa of hpas) {
    const kind = POOL_KINDS.find((k) => k === hpa.spec.scaleTargetRef.kind);
    if (kind === undefined) continue;
    const ref: PoolRef = {
      kind,
      namespace: hpa.metadata.namespace ?? "default",
      name: hpa.spec.scaleTargetRef.name,
    };
    if (!targetsPool(hpa, ref)) continue;
    const vmis = await readPoolVmis(kube, ref);
    if (vmis === undefined) continue;
    const percents = vmis
      .filter(isReady)
      .map((vmi) => parsePercent(vmi.metadata.annotations?.[CPU_LOAD_ANNOTATION]) ?? defaultPercent);
    const total = percents.reduce((sum, value) => sum + value, 0);
    loads.push({
      ref,
      hpa: `${ref.namespace}/${hpa.metadata.name}`,
      ready: percents.length,
      averagePercent: percents.length > 0 ? total / percents.length : undefined,
    });
  }
  return loads;
}

export interface AlertEmitterOptions {
  readonly kube: Kube;
  /** The full webhook URL, e.g. `http://127.0.0.1:8080/hooks/alertmanager`. */
  readonly url: string;
  /** The Alertmanager webhook token, sent as a bearer token. */
  readonly token: string;
  /** Milliseconds between samples (default 15000, the HPA sync period); 0 samples only when `tick()` is called. */
  readonly intervalMs?: number;
  /** Load of a VMI without the annotation (default 10, the simulator's). */
  readonly defaultPercent?: number;
  /** Label names the server's mapping expects (default mapping otherwise). */
  readonly mapping?: AlertMapping;
  readonly now?: () => Date;
  readonly log?: Logger;
  readonly fetch?: typeof fetch;
}

/** What one sample sent. */
export interface EmitterTick {
  readonly sent: readonly { readonly pool: string; readonly value: string; readonly status: number }[];
  /** Pools with no Ready VMI (no value to report). */
  readonly skipped: readonly string[];
}

export interface AlertEmitter {
  /** Samples and posts once now (waits for a sample already running). */
  tick(): Promise<EmitterTick>;
  /** Stops the timer and waits for a running sample. */
  stop(): Promise<void>;
}

/** Starts sampling; the first sample runs after one interval. */
export function startAlertEmitter(options: AlertEmitterOptions): AlertEmitter {
  const log = options.log ?? logger("alert-emitter");
  const now = options.now ?? (() => new Date());
  const send = options.fetch ?? fetch;
  const mapping = options.mapping ?? DEFAULT_ALERT_MAPPING;
  const intervalMs = options.intervalMs ?? 15_000;
  /** When each pool's alert started firing, as Alertmanager keeps `startsAt` for a continuing alert. */
  const firingSince = new Map<string, string>();
  let running: Promise<EmitterTick> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const post = async (load: PoolCpuLoad, average: number) => {
    const key = formatRef(load.ref);
    const startsAt = firingSince.get(key) ?? now().toISOString();
    firingSince.set(key, startsAt);
    const value = String(Math.round(average * 10) / 10);
    const body = notification(load, value, startsAt, mapping);
    const response = await send(options.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${options.token}` },
      body: JSON.stringify(body),
    });
    await response.text();
    if (!response.ok)
      log.warn({ pool: key, status: response.status }, "the autoscale webhook refused the alert");
    return { pool: key, value, status: response.status };
  };

  const sample = async (): Promise<EmitterTick> => {
    const loads = await poolCpuLoads(options.kube, options.defaultPercent ?? DEFAULT_CPU_PERCENT);
    const skipped: string[] = [];
    const sent: EmitterTick["sent"][number][] = [];
    for (const load of loads) {
      if (load.averagePercent === undefined) {
        firingSince.delete(formatRef(load.ref));
        skipped.push(formatRef(load.ref));
        continue;
      }
      sent.push(await post(load, load.averagePercent));
    }
    log.debug({ sent, skipped }, "alert emitter sample");
    return { sent, skipped };
  };

  const tick = (): Promise<EmitterTick> => {
    running ??= sample().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = () => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      tick()
        .catch((err: unknown) =>
          log.warn({ err: err instanceof Error ? err.message : String(err) }, "alert emitter sample failed"),
        )
        .finally(schedule);
    }, intervalMs);
  };
  schedule();

  return {
    tick,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** An Alertmanager v4 notification for one pool's CPU load (grouped by namespace and pool). */
function notification(load: PoolCpuLoad, value: string, startsAt: string, mapping: AlertMapping) {
  const { ref } = load;
  const labels = {
    alertname: ALERT_NAME,
    [mapping.namespaceLabel]: ref.namespace,
    [mapping.poolLabel]: ref.name,
    [mapping.kindLabel]: ref.kind,
    [mapping.metricLabel]: "cpu",
    severity: "info",
  };
  const annotations = {
    [mapping.valueAnnotation]: value,
    summary: `average CPU of ${load.ready} Ready VMI(s) of ${formatRef(ref)} is ${value}%`,
  };
  const groupLabels = { [mapping.namespaceLabel]: ref.namespace, [mapping.poolLabel]: ref.name };
  return {
    version: "4",
    groupKey: `{}:{${mapping.namespaceLabel}="${ref.namespace}", ${mapping.poolLabel}="${ref.name}"}`,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "vmpool-autoscale",
    groupLabels,
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: "http://127.0.0.1/vmpool-alert-emitter",
    alerts: [
      {
        status: "firing",
        labels,
        annotations,
        startsAt,
        endsAt: ZERO_TIME,
        generatorURL: "http://127.0.0.1/vmpool-alert-emitter",
        fingerprint: labelsFingerprint(labels),
      },
    ],
  };
}
