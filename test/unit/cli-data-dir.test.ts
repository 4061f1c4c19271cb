/** The CLI finds the local cluster from any directory (issue 14, rough edges): infra/cli/data-dir.ts. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterKubeconfig, PROJECT_ROOT, resolveDataDir } from "../../infra/cli/data-dir";

const scratch = mkdtempSync(join(tmpdir(), "vmpool-data-dir-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("resolveDataDir", () => {
  it("takes the flag, else VMPOOL_DATA_DIR, else the checkout's .local — never the working directory's", () => {
    expect(resolveDataDir("/x/y", { VMPOOL_DATA_DIR: "/z" })).toBe("/x/y");
    expect(resolveDataDir(undefined, { VMPOOL_DATA_DIR: "/z" })).toBe("/z");
    expect(resolveDataDir(undefined, {})).toBe(join(PROJECT_ROOT, ".local"));
    expect(() => resolveDataDir(undefined, { VMPOOL_DATA_DIR: " " })).toThrow("VMPOOL_DATA_DIR: empty");
  });
});

describe("clusterKubeconfig", () => {
  const dir = join(scratch, "data");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\n");

  it("finds the kubeconfig in the data directory named by flag or environment", () => {
    expect(clusterKubeconfig({ "data-dir": dir }, {})).toBe(join(dir, "kubeconfig"));
    expect(clusterKubeconfig({}, { VMPOOL_DATA_DIR: dir })).toBe(join(dir, "kubeconfig"));
    expect(clusterKubeconfig({ cluster: join(dir, "kubeconfig") }, {})).toBe(join(dir, "kubeconfig"));
  });

  it("says how to point at a cluster when there is none", () => {
    expect(() => clusterKubeconfig({ "data-dir": join(scratch, "none") }, {})).toThrow(
      /no local cluster kubeconfig at .*none\/kubeconfig: start one with npm start, or point at it with --data-dir DIR, VMPOOL_DATA_DIR or --cluster KUBECONFIG/,
    );
    expect(() => clusterKubeconfig({ cluster: join(scratch, "missing.yaml") }, {})).toThrow("(--cluster)");
  });
});

describe("vmpool from another directory", () => {
  const bin = join(PROJECT_ROOT, "infra/cli/vmpool.mjs");
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [bin, ...args], {
      cwd: scratch,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });

  it("looks for the cluster where VMPOOL_DATA_DIR says, and every error ends with a newline", () => {
    const missing = join(scratch, "elsewhere");
    for (const args of [["reconcile"], ["load", "default/p", "50"], ["reconcile", "--bogus"], ["nope"]]) {
      const result = run(args, { VMPOOL_DATA_DIR: missing });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/^vmpool: [\s\S]*\n$/);
      if (args[0] !== "nope" && args[1] !== "--bogus")
        expect(result.stderr).toContain(join(missing, "kubeconfig"));
    }
  }, 60_000);
});
