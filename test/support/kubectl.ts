/**
 * Running the real kubectl binaries installed on this machine (`kubectl.1.27` … `kubectl.1.33` next to the target
 * of the `kubectl` link on PATH) against a local cluster, as a user would: a kubeconfig file, a private HOME per
 * suite (its discovery cache behaves like a user's), optional stdin.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The versioned kubectl binary, or undefined when this machine has none. */
export function kubectlBinary(version: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const onPath = join(dir, "kubectl");
    if (!dir || !existsSync(onPath)) continue;
    const candidates = [
      join(dirname(realpathSync(onPath)), `kubectl.${version}`),
      join(dir, `kubectl.${version}`),
    ];
    const found = candidates.find((c) => existsSync(c));
    if (found) return found;
  }
  return undefined;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  readonly binary: string;
  run(args: readonly string[], stdin?: string): Promise<KubectlResult>;
  /** Starts a long-running command (`get -w`); the caller kills it. */
  spawn(args: readonly string[]): ChildProcess;
}

/** A kubectl bound to one kubeconfig and one private HOME. */
export function kubectl(binary: string, kubeconfig: string): Kubectl {
  const home = mkdtempSync(join(tmpdir(), "kubectl-home-"));
  const env = { PATH: process.env.PATH ?? "", HOME: home, KUBECONFIG: kubeconfig };
  return {
    binary,
    run: (args, stdin) =>
      new Promise<KubectlResult>((resolve) => {
        const child = execFile(binary, [...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
        if (stdin !== undefined) child.stdin?.end(stdin);
        else child.stdin?.end();
      }),
    spawn: (args) => spawn(binary, [...args], { env, stdio: ["ignore", "pipe", "pipe"] }),
  };
}

/** Splits kubectl's column output into rows of cells (whitespace-separated). */
export function table(stdout: string): string[][] {
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}|\s+/));
}
