/**
 * The simulator's settings and their defaults. Defaults are fast enough for a live demo (a VM runs about a second
 * after it is created); tests pass millisecond timings. Every delay is measured from the moment the simulator saw
 * the object enter its current phase.
 */
import { ReasonedError } from "../../../shared/errors";
import { nodeNames } from "./node";

/** Delays in milliseconds. */
export interface SimulatorTimings {
  /** Quiet period after a change before the object is looked at (changes within it coalesce). */
  readonly debounceMs: number;
  /** VMI Pending → Scheduling (the launcher pod is created). */
  readonly pendingMs: number;
  /** VMI Scheduling → Scheduled (the pod is bound to a node and running). */
  readonly schedulingMs: number;
  /** VMI Scheduled → Running (or Failed, for a failed start). */
  readonly scheduledMs: number;
  /** Graceful shutdown of a deleted VMI before it turns Succeeded and goes away. */
  readonly stopMs: number;
  /** DataVolume Pending → ImportScheduled (or CloneScheduled). */
  readonly dvPendingMs: number;
  /** DataVolume ImportScheduled → ImportInProgress. */
  readonly dvScheduledMs: number;
  /** Duration of the import itself, reported as `progress` in steps. */
  readonly dvImportMs: number;
  /** Crash-loop backoff unit: the n-th consecutive failure waits unit·n² plus up to half of that again. */
  readonly crashLoopBaseMs: number;
  /** Upper bound of the crash-loop backoff (KubeVirt: 300 s). */
  readonly crashLoopMaxMs: number;
  /** How long Endpoints updates of one Service coalesce. */
  readonly endpointsDelayMs: number;
  /** Retry delay after an unexpected API error. */
  readonly retryMs: number;
  /** Renewal interval of a simulated node's heartbeat Lease (the kubelet's: a quarter of its 40 s duration). */
  readonly nodeLeaseMs: number;
}

export interface SimulatorOptions {
  /** `false`: the simulator does nothing at all (benchmarks of the bare API server). Default true. */
  readonly enabled?: boolean;
  /** Seed of every random choice (nodes, IPs, MACs, pod names, injected failures, backoff jitter). Default 1. */
  readonly seed?: string | number;
  /** Node names VMIs are scheduled to. Default `node01`, `node02` (kubevirtci's names). */
  readonly nodes?: readonly string[];
  /**
   * Register the nodes as Node objects with a Ready status and a heartbeat Lease, as a kubelet would. Default
   * false in the embedded cluster (its node names are only labels); the API shell turns it on. A cluster that
   * does not serve Nodes is tolerated (logged once).
   */
  readonly registerNodes?: boolean;
  /** Fraction (0–1) of VMI starts that end in phase Failed instead of Running. Default 0. */
  readonly startFailureRate?: number;
  /** CPU utilization (percent) of a VMI without the `vmpool.local/cpu-load` annotation. Default 10. */
  readonly defaultCpuLoad?: number;
  /** Record core/v1 Events like virt-controller and virt-handler do. Default true. */
  readonly recordEvents?: boolean;
  /**
   * Record the upstream components (virt-controller, virt-handler, kubelet, …) in `managedFields` of what the
   * simulator writes. Default false: field tracking costs more than the rest of a write, which matters with
   * thousands of VMs.
   */
  readonly recordManagedFields?: boolean;
  /** Most objects looked at per queue flush, so a burst of thousands of VMs never blocks the API server. */
  readonly batchSize?: number;
  /** Most wall-clock milliseconds one queue flush may take before yielding to the API server. Default 25. */
  readonly budgetMs?: number;
  /** Objects looked at concurrently within a flush. Default 1 (embedded: every write is synchronous anyway). */
  readonly concurrency?: number;
  /** Shorthand for `timings.pendingMs`. */
  readonly startDelayMs?: number;
  /** Shorthand for every later step (VMI, DataVolume, graceful stop) not set in `timings`. */
  readonly stepDelayMs?: number;
  readonly timings?: Partial<SimulatorTimings>;
  /** Clock in epoch milliseconds; default the backend's (the embedded registry's, or the wall clock). */
  readonly now?: () => number;
}

export interface ResolvedOptions {
  readonly seed: string | number;
  readonly nodes: readonly string[];
  readonly registerNodes: boolean;
  readonly concurrency: number;
  readonly startFailureRate: number;
  readonly defaultCpuLoad: number;
  readonly recordEvents: boolean;
  readonly recordManagedFields: boolean;
  readonly batchSize: number;
  readonly budgetMs: number;
  readonly timings: SimulatorTimings;
}

export const DEFAULT_TIMINGS: SimulatorTimings = {
  debounceMs: 5,
  pendingMs: 300,
  schedulingMs: 300,
  scheduledMs: 500,
  stopMs: 300,
  dvPendingMs: 300,
  dvScheduledMs: 300,
  dvImportMs: 1200,
  crashLoopBaseMs: 1000,
  crashLoopMaxMs: 30_000,
  endpointsDelayMs: 20,
  retryMs: 1000,
  nodeLeaseMs: 10_000,
};

const STEP_TIMINGS = [
  "schedulingMs",
  "scheduledMs",
  "stopMs",
  "dvPendingMs",
  "dvScheduledMs",
  "dvImportMs",
] as const;

function invalidOption(message: string): ReasonedError {
  return new ReasonedError("InvalidSimulatorOptions", message, { status: 400 });
}

/** Applies defaults and shorthands; throws ReasonedError `InvalidSimulatorOptions` on nonsense values. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const timings: Record<string, number> = { ...DEFAULT_TIMINGS };
  if (options.stepDelayMs !== undefined) for (const key of STEP_TIMINGS) timings[key] = options.stepDelayMs;
  if (options.startDelayMs !== undefined) timings.pendingMs = options.startDelayMs;
  for (const [key, value] of Object.entries(options.timings ?? {}))
    if (value !== undefined) timings[key] = value;
  for (const [key, value] of Object.entries(timings)) {
    if (!Number.isFinite(value) || value < 0)
      throw invalidOption(`timing ${key} must be a number ≥ 0, got ${value}`);
  }
  const rate = options.startFailureRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) throw invalidOption(`startFailureRate must be between 0 and 1, got ${rate}`);
  const nodes = options.nodes ?? nodeNames(2);
  if (nodes.length === 0) throw invalidOption("nodes must name at least one node");
  const cpu = options.defaultCpuLoad ?? 10;
  if (!Number.isFinite(cpu) || cpu < 0) throw invalidOption(`defaultCpuLoad must be ≥ 0, got ${cpu}`);
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw invalidOption(`batchSize must be a positive integer`);
  const budgetMs = options.budgetMs ?? 25;
  if (!Number.isFinite(budgetMs) || budgetMs <= 0) throw invalidOption("budgetMs must be a number > 0");
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw invalidOption("concurrency must be a positive integer");
  if (timings.nodeLeaseMs === 0) throw invalidOption("timing nodeLeaseMs must be > 0");
  return {
    budgetMs,
    seed: options.seed ?? 1,
    nodes,
    registerNodes: options.registerNodes ?? false,
    concurrency,
    startFailureRate: rate,
    defaultCpuLoad: cpu,
    recordEvents: options.recordEvents ?? true,
    recordManagedFields: options.recordManagedFields ?? false,
    batchSize,
    timings: timings as unknown as SimulatorTimings,
  };
}
