/**
 * The walkthrough against `npm start` itself (`startDev`, as the command wires it: HTTPS local cluster with
 * a token, function server, scheduler firing `autoscale-schedule` from the shared definitions), with real
 * kubectl: `kubectl top pod` and `kubectl top node` print the simulated load, and with 100% load against a 50%
 * target the pool goes 3 → 6 and a `kubectl scale` to 4 is put back — by the scheduled pass alone (the alert
 * emitter is off by default). The autoscale interval is shortened to keep the test short.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevHandle, parseDevFlags, startDev } from "../../infra/cli/dev";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { EXAMPLES } from "./autoscale-support";

const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32");
const INTERVAL_MS = 2000;

describe.skipIf(!binary)("npm start: kubectl top and the scheduled autoscale pass", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-dev-autoscale-"));
  let dev: DevHandle;
  let k: Kubectl;
  const lines: string[] = [];

  beforeAll(async () => {
    dev = await startDev(
      parseDevFlags({
        "api-port": "0",
        port: "0",
        "data-dir": dir,
        "in-memory": true,
        "interval-ms": "500",
        "autoscale-interval-ms": String(INTERVAL_MS),
      }),
      (line) => lines.push(line),
    );
    k = kubectl(binary as string, dev.kubeconfigPath);
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const replicas = async () =>
    Number((await k.run(["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.spec.replicas}"])).stdout);

  it("prints the schedule and no alert emitter", () => {
    expect(lines.some((l) => l.includes(`autoscale-all every ${INTERVAL_MS / 1000} s`))).toBe(true);
    expect(lines.some((l) => l.startsWith("Alert emitter"))).toBe(false);
  });

  it("kubectl top pod and top node print the simulated load", async () => {
    expect((await k.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")])).code).toBe(0);
    const rows = await eventually(
      async () => {
        const top = await k.run(["top", "pod"]);
        const body = table(top.stdout).slice(1);
        return top.code === 0 && body.length === 3 ? body : undefined;
      },
      30_000,
      "three launcher pods in kubectl top pod",
    );
    for (const row of rows) expect(row[0]).toMatch(/^virt-launcher-vm-pool-cirros-\d-/);
    const nodes = table((await k.run(["top", "node"])).stdout);
    expect(nodes[0]).toEqual(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]);
    expect(nodes.slice(1).every((row) => /^\d+%$/.test(row[2] ?? ""))).toBe(true);
  });

  it("scales 3 → 6 at 100% against 50% and puts a manual kubectl scale back, with no alert", async () => {
    const hpa = await k.run([
      "autoscale",
      "vmpool",
      "vm-pool-cirros",
      "--min=3",
      "--max=6",
      "--cpu-percent=50",
    ]);
    expect(hpa.code).toBe(0);
    const vmis = (await k.run(["get", "vmis", "-o", "jsonpath={.items[*].metadata.name}"])).stdout.split(" ");
    for (const vmi of vmis) {
      expect((await k.run(["annotate", "vmi", vmi, "vmpool.local/cpu-load=100", "--overwrite"])).code).toBe(
        0,
      );
    }
    // The first samples count one window (15 s) after the pods became ready, as for the HPA controller.
    await eventually(async () => ((await replicas()) === 6 ? true : undefined), 60_000, "6 replicas");
    expect((await k.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "4"])).code).toBe(0);
    const scaledAt = Date.now();
    await eventually(
      async () => ((await replicas()) === 6 ? true : undefined),
      INTERVAL_MS * 3,
      "put back to 6",
    );
    expect(Date.now() - scaledAt).toBeLessThan(INTERVAL_MS * 3);
    const described = (await k.run(["describe", "hpa", "vm-pool-cirros"])).stdout;
    expect(described).toMatch(
      /resource cpu on pods\s+\(as a percentage of request\):\s+\d+% \(\d+m\) \/ 50%/,
    );
  });
});
