/**
 * `vmpool cluster`: the local cluster alone (API server + simulator, no functions, no scheduler), for using it as a
 * Kubernetes API double from other tools, and for benchmarks that run the server in its own process.
 */
import { join } from "node:path";
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { DEFAULT_API_PORT, ensureLocalSecurity, startLocalCluster } from "../local";
import { resolveDataDir } from "./data-dir";
import { startReal } from "./real";

const flagsSchema = z.strictObject({
  "api-port": z.coerce.number().int().min(0).max(65535).default(DEFAULT_API_PORT),
  fresh: z.boolean().default(false),
  "in-memory": z.boolean().default(false),
  "data-dir": z.string().min(1).optional(),
  "no-simulator": z.boolean().default(false),
  real: z.boolean().default(false),
  /** Plain HTTP and no token (benchmarks of the bare server); the Host check stays. */
  insecure: z.boolean().default(false),
});

/** Starts the cluster; resolves a stop function once it listens. */
export async function runCluster(
  values: Record<string, unknown>,
  print: (s: string) => void,
): Promise<() => Promise<void>> {
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`invalid flag --${describeIssue(parsed.error, "flags")}`);
  const flags = parsed.data;
  const dataDir = resolveDataDir(flags["data-dir"]);
  if (flags.real) {
    if (flags["in-memory"]) throw new Error("invalid flag --in-memory: not with --real");
    if (flags.insecure) throw new Error("invalid flag --insecure: not with --real");
    const { cluster, kubeconfig } = await startReal(
      { apiPort: flags["api-port"], dataDir, fresh: flags.fresh, simulator: !flags["no-simulator"], seed: 1 },
      print,
    );
    print(`Real control plane: ${cluster.url}`);
    print(`export KUBECONFIG=${kubeconfig}`);
    return () => cluster.close();
  }
  const cluster = await startLocalCluster({
    port: flags["api-port"],
    dataDir: flags["in-memory"] ? undefined : join(dataDir, "cluster"),
    fresh: flags.fresh,
    ...(flags["no-simulator"] ? { simulator: false as const } : {}),
    ...(flags.insecure ? {} : { secure: ensureLocalSecurity(dataDir) }),
  });
  const kubeconfig = cluster.writeKubeconfig(join(dataDir, "kubeconfig"));
  print(`Local cluster: ${cluster.url}`);
  print(`export KUBECONFIG=${kubeconfig}`);
  return () => cluster.close();
}
