/**
 * `vmpool serve` with `VMPOOL_WATCH=true` (issue 12, item 4) and the timer effectively off (600 s): the watch alone
 * makes it react. A scale gives the new VMs (the seed's replica set: VMIs) within about a second; the watch
 * connections dropped (a proxy between the server and the API server cut) and re-established resume from their
 * resourceVersion, so a scale made while they were down is still seen; on the embedded server, a watch resumed from
 * before its history is 410 Expired and relists. On both control planes; on the real one the functions use their
 * ServiceAccount's token, so the ClusterRole's watch rules are exercised too. The server stops with its watches.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { parseServeEnv, parseServeFlags, startServe } from "../../infra/cli/serve";
import type { FunctionServer } from "../../infra/cli/server";
import { createKube, type Kube } from "../../shared/kube";
import {
  type ClusterKind,
  describeClusters,
  type SuiteCluster,
  startSuiteCluster,
} from "../support/clusters";
import { eventually } from "../support/local-cluster";
import { kubeconfigPort, kubeconfigVia, startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { EXAMPLES, seedPool } from "./autoscale-support";

const SECRETS = {
  VMPOOL_ALERTMANAGER_TOKEN: "alertmanager-token-0123456789",
  VMPOOL_SLACK_SIGNING_SECRET: "slack-signing-secret-0123456789",
  VMPOOL_MATTERMOST_TOKEN: "mattermost-token-0123456789",
  VMPOOL_RECONCILE_TOKEN: "reconcile-token-0123456789",
};
/** The figure for a scale → new VMs is about 1 s; this bound allows for a loaded 2-core machine. */
const REACTION_BOUND_MS = 3000;

it.each([
  ["true", true],
  ["false", false],
  [undefined, false],
])("VMPOOL_WATCH=%s parses as %s", (value, watch) => {
  expect(parseServeEnv(value === undefined ? {} : { VMPOOL_WATCH: value }).VMPOOL_WATCH).toBe(watch);
});

it.each(["yes", "1", "TRUE", ""])("VMPOOL_WATCH=%j is refused, naming the variable", async (value) => {
  const err = await startServe(parseServeFlags({}), { ...SECRETS, VMPOOL_WATCH: value }).catch(
    (e: unknown) => e,
  );
  expect((err as Error).message).toMatch(/VMPOOL_WATCH: must be true or false/);
});

describeClusters("vmpool serve with VMPOOL_WATCH=true", (kind: ClusterKind) => {
  let env: SuiteCluster;
  let proxy: TcpProxy;
  let server: FunctionServer;
  let admin: Kube;

  const vms = async (pool: string) =>
    (
      await admin.list("VirtualMachine", {
        namespace: "default",
        labelSelector: `kubevirt.io/vmpool=${pool}`,
      })
    ).length;
  const vmsReach = (pool: string, count: number, timeoutMs: number) =>
    eventually(
      async () => ((await vms(pool)) === count ? true : undefined),
      timeoutMs,
      `${count} VMs of ${pool}`,
    );

  /** Converged passes the server ran so far. */
  const convergedPasses = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return [...text.matchAll(/^vmpool_passes_total\{([^}]*)\} (\d+)/gm)]
      .filter((m) => m[1]?.includes('outcome="Converged"'))
      .reduce((n, m) => n + Number(m[2]), 0);
  };
  /**
   * The pool is ready at `count` and a pass found it converged since, which ends its follow-ups: from here on only
   * the watch can start a pass (the timer is at 600 s).
   */
  const settled = async (pool: string, count: number) => {
    await eventually(
      async () =>
        (await admin.get("VirtualMachinePool", "default", pool))?.status?.readyReplicas === count
          ? true
          : undefined,
      15_000,
      `${pool} ready at ${count}`,
    );
    const before = await convergedPasses();
    await eventually(
      async () => ((await convergedPasses()) > before ? true : undefined),
      15_000,
      "a converged pass",
    );
  };

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { startDelayMs: 50, stepDelayMs: 20 } });
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    proxy = await startTcpProxy(kubeconfigPort(env.functionsKubeconfig));
    const kubeconfig = kubeconfigVia(
      env.functionsKubeconfig,
      join(env.dir, "functions-via-proxy"),
      proxy.port,
    );
    server = await startServe(
      parseServeFlags({ port: "0", hostname: "127.0.0.1", cluster: kubeconfig, "interval-ms": "600000" }),
      { ...SECRETS, VMPOOL_WATCH: "true" },
    );
    await server.watch?.synced;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await env?.close();
  });

  it("creating a pool and scaling it: the watch alone brings the VMs within about a second", async () => {
    expect(server.watch).toBeDefined();
    await admin.create("VirtualMachinePool", seedPool("watched", 3) as never);
    await vmsReach("watched", 3, REACTION_BOUND_MS);
    const started = Date.now();
    await admin.scale("VirtualMachinePool", "default", "watched", 5);
    await vmsReach("watched", 5, REACTION_BOUND_MS);
    expect(Date.now() - started).toBeLessThan(REACTION_BOUND_MS);
  });

  it("the seed's replica set too: created and scaled, its VMIs come from the watch alone", async () => {
    const rs = parse(readFileSync(join(EXAMPLES, "vmirs.yaml"), "utf8")) as { metadata: object };
    await admin.create("VirtualMachineInstanceReplicaSet", {
      ...rs,
      metadata: { ...rs.metadata, namespace: "default" },
    } as never);
    const vmis = async () =>
      (await admin.list("VirtualMachineInstance", { namespace: "default", labelSelector: "myvmi=myvmi" }))
        .length;
    const vmisReach = (count: number) =>
      eventually(
        async () => ((await vmis()) === count ? true : undefined),
        REACTION_BOUND_MS,
        `${count} VMIs`,
      );
    await vmisReach(2);
    await admin.scale("VirtualMachineInstanceReplicaSet", "default", "testreplicaset", 4);
    await vmisReach(4);
  });

  it("the watch connections dropped and re-established: a scale made while they were down is still seen", async () => {
    await settled("watched", 5);
    const watchesBefore = server.watch?.stats().VirtualMachinePool.watches ?? 0;
    const connectionsBefore = proxy.connections();
    proxy.cut();
    await admin.scale("VirtualMachinePool", "default", "watched", 6);
    proxy.restore();
    // Backoff after the failure (under a second for the first), then a watch from the last resourceVersion.
    await vmsReach("watched", 6, 15_000);
    expect(proxy.connections()).toBeGreaterThan(connectionsBefore);
    expect(server.watch?.stats().VirtualMachinePool.watches).toBeGreaterThan(watchesBefore);
    expect(server.watch?.stats().VirtualMachinePool.expired).toBe(0);
  });

  it.skipIf(kind !== "embedded")(
    "a watch resumed from before the server's history is 410 Expired and relists (embedded only: it can expire history at will)",
    async () => {
      const local = env.local;
      if (!local) throw new Error("no embedded cluster");
      await settled("watched", 6);
      const listsBefore = server.watch?.stats().VirtualMachinePool.lists ?? 0;
      proxy.cut();
      await admin.scale("VirtualMachinePool", "default", "watched", 7);
      // Watches may only start from now on: the reflector's last resourceVersion is older.
      local.store.markWatchStart();
      proxy.restore();
      await vmsReach("watched", 7, 15_000);
      const stats = server.watch?.stats().VirtualMachinePool;
      expect(stats?.expired).toBeGreaterThanOrEqual(1);
      expect(stats?.lists).toBeGreaterThan(listsBefore);
    },
  );

  it("stops with its watches: nothing is left in flight", async () => {
    const watch = server.watch;
    await server.stop();
    const after = watch?.stats();
    const connections = proxy.connections();
    const count = await vms("watched");
    // A change any watcher is told about (ours, directly): the stopped server's reflectors never hear of it.
    const seen: string[] = [];
    const ours = admin.watch("VirtualMachinePool", { onChange: (c) => seen.push(c.object.metadata.name) });
    await ours.synced;
    await admin.scale("VirtualMachinePool", "default", "watched", 1);
    await eventually(() => (seen.includes("watched") ? true : undefined), 5000, "our watch to see the scale");
    await ours.stop();
    expect(watch?.stats()).toEqual(after);
    expect(proxy.connections()).toBe(connections);
    expect(await vms("watched")).toBe(count);
  });
});
