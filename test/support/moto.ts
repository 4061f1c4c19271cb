/**
 * moto's server (a real AWS API emulator, Python) on 127.0.0.1 for the AWS tests: started on a free port, ready
 * once it answers, reset between suites, stopped after them. It runs under a small Python wrapper that exits when
 * our end of its stdin closes, so a test worker that dies (even by SIGKILL) takes the emulator with it; a
 * `process.on("exit")` hook kills it too. Suites skip with one line when moto is absent.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";

/** The account and credentials moto accepts by default. */
export const MOTO_ACCOUNT = "123456789012";
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

/** Exits when stdin reaches EOF (our process went away), then runs moto's own server entry. */
const WRAPPER = [
  "import os, sys, threading",
  "from moto.server import main",
  "threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()",
  "main(sys.argv[1:])",
].join("\n");

type Launcher = { readonly command: string; readonly args: readonly string[] };

let cachedLauncher: Launcher | string | undefined;

/** How to start moto here, or why it cannot start (the skip line). */
function launcher(): Launcher | string {
  if (cachedLauncher !== undefined) return cachedLauncher;
  const python = spawnSync("python3", ["-c", "import moto.server"], { stdio: "ignore", timeout: 30_000 });
  if (python.status === 0) {
    cachedLauncher = { command: "python3", args: ["-c", WRAPPER] };
  } else {
    const server = onPath("moto_server");
    cachedLauncher =
      server === undefined
        ? "moto is not installed (no moto_server on PATH and python3 cannot import moto)"
        : { command: server, args: [] };
  }
  return cachedLauncher;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Why the moto suites cannot run here, or undefined when they can. */
export function motoSkipReason(): string | undefined {
  if (process.env.VMPOOL_MOTO === "0") return "VMPOOL_MOTO=0";
  const found = launcher();
  return typeof found === "string" ? found : undefined;
}

export interface Moto {
  /** `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` and the clients' `endpoint` take. */
  readonly endpoint: string;
  /** The environment a child process (the vmpool CLI) needs to reach moto and nothing else. */
  readonly env: Readonly<Record<string, string>>;
  /** Forgets every resource in every region (moto's `/moto-api/reset`). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts moto on a free port of 127.0.0.1 and waits until it answers (at most `timeoutMs`). */
export async function startMoto(timeoutMs = 30_000): Promise<Moto> {
  const found = launcher();
  if (typeof found === "string") throw new Error(found);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(found.command, [...found.args, "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["pipe", "ignore", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4_000);
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      kill();
      throw new Error(`moto did not start on ${endpoint}:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      // Never a profile, a credentials file or the instance metadata service of this machine.
      AWS_CONFIG_FILE: "/nonexistent/vmpool-test-aws-config",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/vmpool-test-aws-credentials",
      AWS_EC2_METADATA_DISABLED: "true",
    },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: async () => {
      process.removeListener("exit", kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin?.end();
      child.kill("SIGTERM");
      const timer = setTimeout(kill, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
