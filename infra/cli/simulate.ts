/**
 * `vmpool simulate --kubeconfig FILE [--nodes N] [--seed N]`: the KubeVirt simulator over the Kubernetes API, for
 * any cluster without KubeVirt (kind, a CI cluster, `npm start -- --real`'s control plane). It refuses a cluster
 * where KubeVirt's own controllers run, and one without KubeVirt's CRDs. Flags are validated with zod; errors name
 * the flag.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { type ApiSimulator, startApiSimulator } from "../local/simulator";

const flagsSchema = z.strictObject({
  kubeconfig: z.string({ error: "required: the cluster's kubeconfig file" }).min(1),
  nodes: z.coerce.number().int().min(1).max(250).default(2),
  seed: z.coerce.number().int().default(1),
});

export type SimulateFlags = z.infer<typeof flagsSchema>;

/** Parses the flags; throws an Error naming the bad flag. */
export function parseSimulateFlags(values: Record<string, unknown>): SimulateFlags {
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  return parsed.data;
}

/** Starts simulating; resolves once the caches are filled, after printing one line. */
export async function runSimulate(
  flags: SimulateFlags,
  print: (line: string) => void,
): Promise<ApiSimulator> {
  const kubeconfigPath = resolve(flags.kubeconfig);
  if (!existsSync(kubeconfigPath)) throw new Error(`kubeconfig ${kubeconfigPath} not found`);
  const simulator = await startApiSimulator({ kubeconfigPath, nodes: flags.nodes, seed: flags.seed });
  print(
    `vmpool simulate: simulating KubeVirt (${flags.nodes} node${flags.nodes === 1 ? "" : "s"}, seed ${flags.seed}) on the cluster of ${kubeconfigPath}; Ctrl-C stops`,
  );
  return simulator;
}
