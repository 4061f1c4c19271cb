/**
 * Follow-up passes in the Node server (issue 12, item 3), on the embedded cluster with no webhook configuration installed:
 * one admission call creates the seed pool's VMs, and with no timer and no further call the follow-ups (1 s, 2 s,
 * … after each unconverged pass) bring `status.readyReplicas` to 3 once the simulator made the VMIs Ready, then
 * stop: a converged pool costs nothing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FunctionServer, startFunctionServer } from "../../infra/cli/server";
import { createKube, type Kube } from "../../shared/kube";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import { seedPool } from "./autoscale-support";

const review = readFileSync(join(import.meta.dirname, "../fixtures/admission/pool-create.json"), "utf8");

describe("follow-up passes in the Node server", () => {
  let env: TestCluster;
  let functions: FunctionServer;
  let kube: Kube;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: { startDelayMs: 300, stepDelayMs: 100 } });
    functions = await startFunctionServer({
      source: { kind: "kubeconfig", path: env.kubeconfig },
      secrets: {},
      port: 0,
      devMode: true,
      schedule: false,
    });
    kube = createKube({ kind: "kubeconfig", path: env.kubeconfig });
  });
  afterAll(async () => {
    await functions?.stop();
    await env?.close();
  });

  /** Passes run so far (of one outcome). */
  const passes = async (outcome?: string) => {
    const text = await (await fetch(`${functions.url}/metrics`)).text();
    return [...text.matchAll(/^vmpool_passes_total\{([^}]*)\} (\d+)/gm)]
      .filter((m) => outcome === undefined || m[1]?.includes(`outcome="${outcome}"`))
      .reduce((n, m) => n + Number(m[2]), 0);
  };

  it("one admission call, then follow-ups alone converge the status, then nothing more", async () => {
    await kube.create("VirtualMachinePool", seedPool() as never);
    const answer = await fetch(`${functions.url}/hooks/admission`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: review,
    });
    expect(answer.status).toBe(200);
    await eventually(
      async () =>
        (await kube.list("VirtualMachine", { namespace: "default" })).length === 3 ? true : undefined,
      3000,
      "3 VMs",
    );
    await eventually(
      async () => {
        const pool = await kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
        return pool?.status?.readyReplicas === 3 ? true : undefined;
      },
      10_000,
      "readyReplicas 3 through follow-ups",
    );
    // The follow-up after the status write finds the pool converged, and the backoff stops there.
    const before = await passes("Converged");
    await eventually(
      async () => ((await passes("Converged")) > before ? true : undefined),
      20_000,
      "a Converged pass after the status write",
    );
    const settled = await passes();
    await new Promise((r) => setTimeout(r, 3000));
    expect(await passes()).toBe(settled);
  }, 40_000);
});
