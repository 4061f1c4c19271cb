/**
 * Durability of the local cluster: `vmpool dev` is killed with SIGKILL in the middle of a stream of writes,
 * restarted on the same data directory, and every write it acknowledged is still there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

interface Dev {
  readonly child: ChildProcess;
  readonly url: string;
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
      const m = /Local cluster[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`dev exited with ${code}: ${out}`)));
  });
  return { child, url };
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
          const res = await fetch(`${first.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(vm(name)),
          });
          if (res.status === 201) acknowledged.push(name);
          if (i % 5 === 0 && res.status === 201) {
            const p = await fetch(
              `${first.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines/${name}`,
              {
                method: "PATCH",
                headers: { "Content-Type": "application/merge-patch+json" },
                body: JSON.stringify({ metadata: { labels: { patched: "yes" } } }),
              },
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
      const list = (await (
        await fetch(
          `${second.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines?labelSelector=durability%3Dyes`,
        )
      ).json()) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
      const names = new Set(list.items.map((i) => i.metadata.name));
      const lost = acknowledged.filter((n) => !names.has(n));
      expect(lost).toEqual([]);
      const labels = new Map(list.items.map((i) => [i.metadata.name, i.metadata.labels]));
      expect(patched.filter((n) => labels.get(n)?.patched !== "yes")).toEqual([]);
      // --fresh discards the journal.
      second.child.kill("SIGTERM");
      await new Promise((resolve) => second.child.once("exit", resolve));
      const third = await startDev(dir, ["--fresh"]);
      const empty = (await (
        await fetch(`${third.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines`)
      ).json()) as { items: unknown[] };
      expect(empty.items).toEqual([]);
      third.child.kill("SIGKILL");
    } finally {
      second.child.kill("SIGKILL");
    }
  });
});
