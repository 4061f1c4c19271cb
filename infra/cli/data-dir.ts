/**
 * Where the CLI finds the local cluster, from any working directory: `--data-dir DIR`, else `VMPOOL_DATA_DIR`, else
 * the `.local` folder of this checkout (where `npm start` keeps its journal, kubeconfig and secrets) — never the
 * `.local` of whatever directory the command happens to run in. A command that talks to a cluster can also be
 * given a kubeconfig by name (`--cluster KUBECONFIG`); a real cluster is only ever used when named.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The checkout this CLI belongs to. */
export const PROJECT_ROOT = resolve(import.meta.dirname, "../..");

/** The data directory: the flag, else `VMPOOL_DATA_DIR`, else `<checkout>/.local`; an empty value is refused. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return resolve(flag);
  const fromEnv = env.VMPOOL_DATA_DIR;
  if (fromEnv !== undefined) {
    if (fromEnv.trim() === "") throw new Error("VMPOOL_DATA_DIR: empty (unset it or name a directory)");
    return resolve(fromEnv);
  }
  return join(PROJECT_ROOT, ".local");
}

/**
 * The kubeconfig a command uses: `--cluster` when named (it must exist), else the local cluster's in the data
 * directory, with an error that says how to point at it when there is none.
 */
export function clusterKubeconfig(
  flags: { readonly cluster?: string | undefined; readonly "data-dir"?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (flags.cluster !== undefined) {
    const path = resolve(flags.cluster);
    if (!existsSync(path)) throw new Error(`kubeconfig ${path} not found (--cluster)`);
    return path;
  }
  const path = join(resolveDataDir(flags["data-dir"], env), "kubeconfig");
  if (!existsSync(path)) {
    throw new Error(
      `no local cluster kubeconfig at ${path}: start one with npm start, or point at it with --data-dir DIR, VMPOOL_DATA_DIR or --cluster KUBECONFIG`,
    );
  }
  return path;
}
