/**
 * `vmpool history <ns/name | vmirs/ns/name> [-o table|json] [--cluster KUBECONFIG] [--data-dir DIR]`: the scaling
 * history of one pool (who or what changed its replica count, or decided not to, when and why), oldest first, as
 * a table or as JSON (one array of entries, as stored). Without `--cluster` it reads the local cluster.
 */
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { formatHistoryTable, readHistory } from "../../shared/history";
import { createKube } from "../../shared/kube";
import { formatRef } from "../../shared/reconcile";
import { clusterKubeconfig } from "./data-dir";
import { parsePoolArg } from "./reconcile";

const flagsSchema = z.strictObject({
  output: z.enum(["table", "json"]).default("table"),
  cluster: z.string().min(1).optional(),
  "data-dir": z.string().min(1).optional(),
});

export const HISTORY_USAGE =
  "usage: vmpool history <ns/name | vmirs/ns/name> [-o table|json] [--cluster KUBECONFIG] [--data-dir DIR]";

/** Runs the command; returns the process exit code (1 when the pool does not exist). */
export async function runHistory(
  positionals: string[],
  values: Record<string, unknown>,
  print: (s: string) => void,
): Promise<number> {
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  const flags = parsed.data;
  const [arg, ...rest] = positionals;
  if (arg === undefined || rest.length > 0) throw new Error(HISTORY_USAGE);
  const ref = parsePoolArg(arg);
  const kube = createKube({ kind: "kubeconfig", path: clusterKubeconfig(flags) });
  const pool = await kube.get(ref.kind, ref.namespace, ref.name);
  if (!pool) throw new Error(`${formatRef(ref)} does not exist`);
  const entries = await readHistory(kube, ref, pool.metadata.uid);
  if (flags.output === "json") print(JSON.stringify(entries, null, 2));
  else if (entries.length === 0) print(`no scaling history for ${formatRef(ref)} yet`);
  else print(formatHistoryTable(entries));
  return 0;
}
