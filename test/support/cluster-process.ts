/**
 * The local cluster in its own process (`vmpool cluster`), as real clients see an API server: benchmarks use it
 * so the client's work does not share the server's event loop.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");

export interface ClusterProcess {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts `vmpool cluster` without the simulator; `dataDir` keeps a journal, otherwise in memory. */
export async function startClusterProcess(options: { dataDir?: string } = {}): Promise<ClusterProcess> {
  const scratch = mkdtempSync(join(tmpdir(), "vmpool-cluster-proc-"));
  const args = [
    "--import",
    "tsx",
    join(ROOT, "infra/cli/main.ts"),
    "cluster",
    "--api-port",
    "0",
    "--no-simulator",
    // Benchmarks measure the API server, not TLS: plain HTTP without the token (the Host check stays).
    "--insecure",
  ];
  if (options.dataDir) args.push("--data-dir", options.dataDir, "--fresh");
  else args.push("--in-memory", "--data-dir", scratch);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, LOG_LEVEL: "warn" },
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vmpool cluster did not start: ${out}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /Local cluster: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`vmpool cluster exited with ${code}: ${out}`)));
  });
  return {
    url,
    close: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
