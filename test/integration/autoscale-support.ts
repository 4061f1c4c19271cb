/**
 * Shared pieces of the autoscale integration tests: the seed pool, the HPA `kubectl autoscale` creates, a
 * function Runtime over a local cluster with an injectable clock and a recording `requestReconcile`, a logger
 * whose lines the test can read, and a Kube wrapper that counts scale writes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { parse } from "yaml";
import { type Runtime, settingsSchema } from "../../functions/runtime";
import type { Kube } from "../../shared/kube";
import type { Logger } from "../../shared/log";
import type { PoolRef } from "../../shared/reconcile";

export const TOKEN = "autoscale-test-token-0123456789";
export const EXAMPLES = join(import.meta.dirname, "../../examples");

/** `examples/vm-pool-cirros.yaml` renamed, in namespace default. */
export function seedPool(name = "vm-pool-cirros", replicas = 3): Record<string, unknown> {
  const text = readFileSync(join(EXAMPLES, "vm-pool-cirros.yaml"), "utf8").replaceAll("vm-pool-cirros", name);
  const pool = parse(text) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  return { ...pool, metadata: { ...pool.metadata, namespace: "default" }, spec: { ...pool.spec, replicas } };
}

/** What `kubectl autoscale vmpool <name> --min --max --cpu-percent` (kubectl ≥ 1.33: autoscaling/v2) creates. */
export function autoscaleHpa(
  name: string,
  options: { min?: number; max?: number; cpu?: number; annotations?: Record<string, string> } = {},
) {
  return {
    metadata: {
      name,
      namespace: "default",
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: {
      scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1alpha1", kind: "VirtualMachinePool", name },
      minReplicas: options.min ?? 3,
      maxReplicas: options.max ?? 10,
      metrics: [
        {
          type: "Resource" as const,
          resource: {
            name: "cpu",
            target: { type: "Utilization" as const, averageUtilization: options.cpu ?? 50 },
          },
        },
      ],
    },
  };
}

/** A pino logger at info whose JSON lines land in `lines`. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info", base: null },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

export interface ReconcileCall {
  readonly ref: PoolRef;
  readonly reason: string;
}

/** A Runtime for tests; `requestReconcile` records its calls and then runs `reconcile` when given. */
export function testRuntime(options: {
  kube: Kube;
  now?: () => Date;
  log?: Logger;
  reconcile?: (ref: PoolRef) => Promise<unknown>;
  /** null: no token configured. */
  token?: string | null;
}): { runtime: Runtime; reconciles: ReconcileCall[] } {
  const reconciles: ReconcileCall[] = [];
  const runtime: Runtime = {
    kube: options.kube,
    secrets: options.token === null ? {} : { alertmanagerToken: options.token ?? TOKEN },
    settings: settingsSchema.parse({}),
    now: options.now ?? (() => new Date()),
    random: Math.random,
    log: options.log ?? pino({ level: "silent" }),
    devMode: true,
    requestReconcile: async (ref, reason) => {
      reconciles.push({ ref, reason });
      await options.reconcile?.(ref);
    },
  };
  return { runtime, reconciles };
}

/** Counts `scale` calls (and every write verb) made through a Kube, sharing the client underneath. */
export function countingKube(kube: Kube): { kube: Kube; scales: string[] } {
  const scales: string[] = [];
  const wrap = (inner: Kube): Kube =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property === "scale") {
          return async (...args: Parameters<Kube["scale"]>) => {
            const result = await target.scale(...args);
            scales.push(`${args[1]}/${args[2]}=${args[3]}`);
            return result;
          };
        }
        if (property === "withDeadline") return (deadline: number) => wrap(target.withDeadline(deadline));
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { kube: wrap(kube), scales };
}

/** Request verbs that change something, from `kube.stats()`. */
export function writeCount(kube: Kube): number {
  const { byVerb } = kube.stats();
  return ["create", "update", "patch", "delete"].reduce((sum, verb) => sum + (byVerb[verb] ?? 0), 0);
}
