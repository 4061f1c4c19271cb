/**
 * `vmpool reconcile [ns/name | vmirs/ns/name] [--dry-run] [--cluster KUBECONFIG]`: one pass for one pool, or a
 * reconcile-all pass, printed like `terraform plan`. Without `--cluster` it talks to the local cluster that
 * `npm start` runs (`.local/kubeconfig`); a real cluster is only ever used when named.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { createKube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { formatPlan, type PoolRef, poolRefSchema, reconcileAll, reconcilePool } from "../../shared/reconcile";
import { clusterKubeconfig } from "./data-dir";

const flagsSchema = z.strictObject({
  "dry-run": z.boolean().default(false),
  cluster: z.string().min(1).optional(),
  "data-dir": z.string().min(1).optional(),
});

/** Parses `ns/name`, `name` (namespace default), `vmpool/ns/name` or `vmirs/ns/name`. */
export function parsePoolArg(arg: string): PoolRef {
  const parts = arg.split("/");
  let kind: PoolRef["kind"] = "VirtualMachinePool";
  if (parts.length === 3) {
    const prefix = parts.shift();
    if (prefix === "vmirs") kind = "VirtualMachineInstanceReplicaSet";
    else if (prefix !== "vmpool")
      throw new Error(`unknown kind "${prefix}" in "${arg}": use vmpool/ or vmirs/`);
  }
  const [namespace, name] = parts.length === 2 ? parts : ["default", parts[0]];
  const parsed = poolRefSchema.safeParse({ kind, namespace, name });
  if (!parsed.success) throw new Error(`invalid pool "${arg}": ${describeIssue(parsed.error, "pool")}`);
  return parsed.data;
}

/** Runs the command; returns the process exit code. */
export async function runReconcile(
  positionals: string[],
  values: Record<string, unknown>,
  print: (s: string) => void,
): Promise<number> {
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  const flags = parsed.data;
  if (positionals.length > 1)
    throw new Error("usage: vmpool reconcile [ns/name | vmirs/ns/name] [--dry-run] [--cluster KUBECONFIG]");
  const path = clusterKubeconfig(flags);
  const deps = {
    kube: createKube({ kind: "kubeconfig", path }),
    log: logger("reconcile-cli"),
    now: () => new Date(),
    random: Math.random,
    holder: `cli-${randomUUID()}`,
  };
  const options = { dryRun: flags["dry-run"] };
  const results = positionals[0]
    ? [await reconcilePool(deps, parsePoolArg(positionals[0]), options)]
    : await reconcileAll(deps, options);
  if (results.length === 0) print("no pools found");
  for (const result of results) print(formatPlan(result));
  return results.some((r) => r.outcome === "Failed" || r.outcome === "NotFound") ? 1 : 0;
}
