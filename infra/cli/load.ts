/**
 * `vmpool load <pool> <percent>`: sets the simulated CPU load of every VMI of a pool in the local cluster (the
 * `vmpool.local/cpu-load` annotation), which the alert emitter of `npm start` turns into Alertmanager alerts.
 */
import { setPoolCpuLoad } from "../../shared/autoscale";
import { createKube } from "../../shared/kube";
import { clusterKubeconfig } from "./data-dir";
import { parsePoolArg } from "./reconcile";

export async function runLoad(
  positionals: string[],
  flags: { readonly cluster?: string | undefined; readonly "data-dir"?: string | undefined },
  print: (s: string) => void,
): Promise<number> {
  const [poolArg, percentArg, ...extra] = positionals;
  if (!poolArg || percentArg === undefined || extra.length > 0) {
    throw new Error("usage: vmpool load <ns/name | vmirs/ns/name> <percent>");
  }
  const percent = Number(percentArg);
  if (!Number.isFinite(percent) || percent < 0 || percent > 1000) {
    throw new Error(`invalid percent "${percentArg}": a number between 0 and 1000`);
  }
  const path = clusterKubeconfig(flags);
  const ref = parsePoolArg(poolArg);
  const vmis = await setPoolCpuLoad(createKube({ kind: "kubeconfig", path }), ref, percent);
  print(`${ref.namespace}/${ref.name}: CPU load ${percent}% on ${vmis.length} VMI(s): ${vmis.join(", ")}`);
  return 0;
}
