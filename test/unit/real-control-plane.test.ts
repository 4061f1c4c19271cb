/**
 * The parts of the real control plane's launcher that need no binaries: the CLI without Go, the generated
 * credentials (checked with node:crypto's X509Certificate, not with the code that made them), the watchdog that
 * ends children when their parent dies (also after SIGKILL), and the `--real` flag rules.
 */
import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDevFlags } from "../../infra/cli/dev";
import { ensurePki } from "../../infra/real/pki";
import { supervise } from "../../infra/real/process";

const ROOT = join(import.meta.dirname, "../..");
const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-real-unit-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** The watchdog's `sleep` child, once bash has forked it (before that pgrep finds none, and pid 0 means "my group"). */
function childOf(watchdogPid: number): Promise<number> {
  return new Promise<number>((resolve) => {
    const look = () =>
      execFile("pgrep", ["-P", String(watchdogPid), "sleep"], (_e, out) => {
        const pid = Number(out.trim().split("\n")[0]);
        if (pid > 0) resolve(pid);
        else setTimeout(look, 50);
      });
    look();
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "infra/cli/main.ts"), ...args],
      { env, cwd: ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe("vmpool control-plane", () => {
  it("without Go on PATH: one line saying so, exit 2", async () => {
    // PATH holds only node's folder (and bash's, for completeness), so `go` cannot be found.
    const result = await cli(["control-plane", "build"], {
      PATH: `${dirname(process.execPath)}:/bin`,
      HOME: tmp(),
    });
    expect(result.code).toBe(2);
    const lines = result.out.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Go is not installed/);
  });

  it("an unknown subcommand is a usage error (exit 2)", async () => {
    const result = await cli(["control-plane", "rebuild"], { PATH: process.env.PATH ?? "", HOME: tmp() });
    expect(result.code).toBe(2);
    expect(result.out).toMatch(/usage: vmpool control-plane build/);
  });
});

describe("generated credentials", () => {
  it("a CA, a serving certificate for 127.0.0.1 signed by it, SA keys and two distinct tokens; kept on reuse", () => {
    const dir = tmp();
    const pki = ensurePki(dir);
    const ca = new X509Certificate(readFileSync(pki.caCert));
    const serving = new X509Certificate(readFileSync(pki.servingCert));
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(serving.checkHost("kubernetes.default.svc")).toBe("kubernetes.default.svc");
    expect(serving.checkIP("10.0.0.1")).toBeUndefined();
    expect(readFileSync(pki.serviceAccountKey, "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    expect(pki.adminToken).toMatch(/^[0-9a-f]{48}$/);
    expect(pki.controllerManagerToken).toMatch(/^[0-9a-f]{48}$/);
    expect(pki.adminToken).not.toBe(pki.controllerManagerToken);
    const again = ensurePki(dir);
    expect(again.adminToken).toBe(pki.adminToken);
    expect(readFileSync(again.servingCert, "utf8")).toBe(readFileSync(pki.servingCert, "utf8"));
  });
});

describe("supervised children", () => {
  it("stop() ends the child and reports its exit", async () => {
    const dir = tmp();
    const child = supervise("sleeper", "sleep", ["300"], join(dir, "sleeper.log"), 2);
    const sleeper = await childOf(child.pid as number);
    expect(alive(sleeper)).toBe(true);
    await child.stop();
    expect(child.done()).toBe(true);
    expect(await waitFor(() => !alive(sleeper), 5_000)).toBe(true);
  });

  it("a parent killed with SIGKILL leaves no child behind", async () => {
    const dir = tmp();
    const script = join(dir, "parent.ts");
    writeFileSync(
      script,
      `import { supervise } from ${JSON.stringify(join(ROOT, "infra/real/process.ts"))};
const c = supervise("sleeper", "sleep", ["300"], ${JSON.stringify(join(dir, "s.log"))}, 2);
console.log(c.pid);
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const watchdogPid = await new Promise<number>((resolve) => {
      parent.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    });
    const sleeper = await childOf(watchdogPid);
    expect(alive(sleeper)).toBe(true);
    parent.kill("SIGKILL");
    expect(await waitFor(() => !alive(sleeper) && !alive(watchdogPid), 10_000)).toBe(true);
  });
});

describe("--real flags", () => {
  it.each([
    [{ real: true, "in-memory": true }, /--in-memory: not with --real/],
    [{ real: true, cluster: "/tmp/kc" }, /--cluster: not with --real/],
    [{ real: true, fault: ["error:0.1"] }, /--fault: fault injection is the embedded cluster's/],
  ])("%o is refused naming the flag", (values, message) => {
    expect(() => parseDevFlags(values)).toThrow(message);
  });

  it("--real alone keeps the embedded defaults for ports and data dir", () => {
    const flags = parseDevFlags({ real: true });
    expect(flags.real).toBe(true);
    expect(flags["api-port"]).toBe(18443);
    expect(flags["data-dir"]).toBeUndefined(); // resolveDataDir: VMPOOL_DATA_DIR, else <checkout>/.local
  });
});
