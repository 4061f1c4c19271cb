/**
 * The KubeVirt simulator over the Kubernetes API: the embedded cluster's shell and pure rules, driven by list+watch
 * caches and HTTP writes instead of the in-process store, the way KWOK fakes nodes and pods. It registers fake
 * Nodes (with heartbeat Leases), runs `virt-launcher-<vmi>-xxxxx` Pods bound to them with IPs and Ready
 * conditions (the cluster's own endpoints controller fills Endpoints from them), VMI phases, VM status,
 * DataVolumes, start failures and crashes; it removes its VMI finalizer on deletion so garbage collection and
 * namespace deletion never hang; and it refuses a cluster where KubeVirt's own controllers run.
 */
import { z } from "zod";
import { describeIssue } from "../../../../shared/config";
import { ReasonedError } from "../../../../shared/errors";
import type { LabelSelectorSpec } from "../../../../shared/labels";
import { nodeNames } from "../node";
import type { SimulatorOptions } from "../options";
import { seededDraw } from "../random";
import { type CpuLoadSample, KubevirtSimulator, type Simulator } from "../simulator";
import { ApiBackend } from "./backend";
import { ApiClient, type KubeConfig } from "./client";
import { inspectCluster } from "./guard";
import type { Backoff, InformerStats } from "./informer";

export interface ApiSimulatorOptions extends Omit<SimulatorOptions, "enabled" | "nodes"> {
  /** The cluster: a kubeconfig file (its current context)… */
  readonly kubeconfigPath?: string;
  /** …or a loaded KubeConfig. */
  readonly kubeConfig?: KubeConfig;
  /** How many fake nodes (named node01, node02, …), or their names. Default 2. */
  readonly nodes?: number | readonly string[];
  /** Server-side timeout asked for each watch; the cache then resumes it. Default 300–600 s, as client-go. */
  readonly watchTimeoutSeconds?: number;
  /** Backoff of a failing list or watch. Default 800 ms doubling to 30 s (client-go's reflector). */
  readonly watchBackoff?: Backoff;
}

/** A simulator attached to a cluster over the API. */
export interface ApiSimulator extends Simulator {
  /** Per watched kind: how often its cache listed, watched, relisted after 410 Expired, and failed. */
  cacheStats(): Record<string, InformerStats>;
}

const nodesSchema = z.union([
  z.number().int().min(1).max(250),
  z.array(z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, "must be a DNS name")).min(1),
]);

class AttachedApiSimulator implements ApiSimulator {
  constructor(
    private readonly shell: KubevirtSimulator,
    private readonly backend: ApiBackend,
  ) {}
  stop(): void {
    this.shell.stop();
    this.backend.stop();
  }
  idle(): Promise<void> {
    return this.shell.idle();
  }
  cpuLoad(namespace: string, selector?: string | LabelSelectorSpec): CpuLoadSample {
    return this.shell.cpuLoad(namespace, selector);
  }
  setCpuLoad(namespace: string, vmiName: string, percent: number): Promise<void> {
    return this.shell.setCpuLoad(namespace, vmiName, percent);
  }
  crash(namespace: string, vmiName: string): Promise<void> {
    return this.shell.crash(namespace, vmiName);
  }
  cacheStats(): Record<string, InformerStats> {
    return this.backend.stats();
  }
}

function clientFor(options: ApiSimulatorOptions): ApiClient {
  if (options.kubeConfig && options.kubeconfigPath !== undefined) {
    throw new ReasonedError("InvalidSimulatorOptions", "give kubeconfigPath or kubeConfig, not both", {
      status: 400,
    });
  }
  if (options.kubeConfig) return new ApiClient(options.kubeConfig);
  if (options.kubeconfigPath === undefined) {
    throw new ReasonedError("InvalidSimulatorOptions", "kubeconfigPath or kubeConfig is required", {
      status: 400,
    });
  }
  return ApiClient.fromFile(options.kubeconfigPath);
}

/**
 * Checks the cluster (throws ReasonedError `KubevirtRunning`, `KubevirtCrdsMissing` or `ClusterUnreachable`),
 * fills the caches, registers the nodes and starts simulating. Resolves once every cache holds a first list.
 */
export async function startApiSimulator(options: ApiSimulatorOptions): Promise<ApiSimulator> {
  const nodes = nodesSchema.safeParse(options.nodes ?? 2);
  if (!nodes.success) {
    throw new ReasonedError("InvalidSimulatorOptions", describeIssue(nodes.error, "nodes"), { status: 400 });
  }
  const names = typeof nodes.data === "number" ? nodeNames(nodes.data) : nodes.data;
  const client = clientFor(options);
  const seed = options.seed ?? 1;
  const draw = seededDraw(seed);
  let draws = 0;
  try {
    const facts = await inspectCluster(client);
    const backend = new ApiBackend(client, {
      statusSubresources: facts.statusSubresources,
      now: options.now ?? Date.now,
      watchTimeoutSeconds:
        options.watchTimeoutSeconds ?? Math.round(300 * (1 + draw("watch-timeout", String(seed)))),
      backoff: options.watchBackoff ?? { baseMs: 800, maxMs: 30_000 },
      random: () => draw("backoff", draws++),
    });
    const shell = new KubevirtSimulator(backend, {
      ...options,
      nodes: names,
      registerNodes: options.registerNodes ?? true,
      recordManagedFields: options.recordManagedFields ?? true,
      concurrency: options.concurrency ?? 8,
    });
    try {
      await backend.start();
      shell.start();
    } catch (err) {
      backend.stop();
      throw err;
    }
    return new AttachedApiSimulator(shell, backend);
  } catch (err) {
    client.close();
    throw err;
  }
}
