/**
 * Durability of the local cluster: `vmpool dev` is killed with SIGKILL in the middle of a stream of writes,
 * restarted on the same data directory, and every write it acknowledged is still there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { call, type Endpoint } from "../../infra/real/http";

const ROOT = join(import.meta.dirname, "../..");
const VMS = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines";

interface Dev {
  readonly child: ChildProcess;
  /** The API server as `npm start` serves it: HTTPS with the data directory's CA and bearer token. */
  readonly api: Endpoint;
}

async function startDev(dataDir: string, extra: string[] = []): Promise<Dev> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "infra/cli/main.ts"),
      "dev",
      "--api-port",
      "0",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      ...extra,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" } },
  );
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev did not start: ${out}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /Local cluster[^\n]*?(https:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`dev exited with ${code}: ${out}`)));
  });
  const ca = readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");
  const token = readFileSync(join(dataDir, "api-token"), "utf8").trim();
  return { child, api: { url, ca, token } };
}

function vm(name: string) {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, labels: { durability: "yes" } },
    spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
  };
}

describe("local cluster durability", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-durability-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every acknowledged write across kill -9 and restart", async () => {
    const first = await startDev(dir, ["--fresh"]);
    const acknowledged: string[] = [];
    const patched: string[] = [];
    let stop = false;
    const writer = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const name = `vm-w${worker}-${i}`;
        try {
          const res = await call(first.api, "POST", VMS, JSON.stringify(vm(name)));
          if (res.status === 201) acknowledged.push(name);
          if (i % 5 === 0 && res.status === 201) {
            const p = await call(
              first.api,
              "PATCH",
              `${VMS}/${name}`,
              JSON.stringify({ metadata: { labels: { patched: "yes" } } }),
              "application/merge-patch+json",
            );
            if (p.status === 200) patched.push(name);
          }
        } catch {
          return; // the server died mid-request: that write was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acknowledged.length < 200) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill("SIGKILL");
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);

    const second = await startDev(dir);
    try {
      const list = JSON.parse(
        (await call(second.api, "GET", `${VMS}?labelSelector=durability%3Dyes`)).body,
      ) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
      const names = new Set(list.items.map((i) => i.metadata.name));
      const lost = acknowledged.filter((n) => !names.has(n));
      expect(lost).toEqual([]);
      const labels = new Map(list.items.map((i) => [i.metadata.name, i.metadata.labels]));
      expect(patched.filter((n) => labels.get(n)?.patched !== "yes")).toEqual([]);
      // --fresh discards the journal.
      second.child.kill("SIGTERM");
      await new Promise((resolve) => second.child.once("exit", resolve));
      const third = await startDev(dir, ["--fresh"]);
      const empty = JSON.parse((await call(third.api, "GET", VMS)).body) as { items: unknown[] };
      expect(empty.items).toEqual([]);
      third.child.kill("SIGKILL");
    } finally {
      second.child.kill("SIGKILL");
    }
  });
});
