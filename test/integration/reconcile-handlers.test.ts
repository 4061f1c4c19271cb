/**
 * The reconcile function's edges on the embedded and the real control plane, as the functions' own identity: the
 * Lambda entry with EventBridge fixtures (schedule, per-pool fan-out event, malformed events), `POST /reconcile`
 * over HTTP (function URL event and the Node app), and bad pools that bypass admission (as on a cluster without
 * KubeVirt's webhook, which the real control plane is): no writes or a clear failure report.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { passDeps } from "../../functions/bootstrap";
import { createReconcileHandler, onReconcileEvent } from "../../functions/reconcile/handler";
import { reconcileRoutes } from "../../functions/reconcile/routes";
import type { KObject } from "../../infra/local/store";
import { createKube, type Kube } from "../../shared/kube";
import { reconcilePool } from "../../shared/reconcile";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Reconciler, reconciler } from "../support/reconcile";

const FIXTURES = join(import.meta.dirname, "../fixtures/eventbridge");
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as Record<string, unknown>;
const TOKEN = "reconcile-token-for-tests-0123456789";

function poolObject(
  name: string,
  overrides: { selector?: Record<string, string>; runStrategy?: string | null } = {},
) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: "",
      creationTimestamp: "2026-01-01T00:00:00Z",
      generation: 1,
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: overrides.selector ?? labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: {
          runStrategy: "Always",
          template: { metadata: { labels }, spec: { domain: { devices: {} } } },
        },
      },
    },
  } as unknown as KObject;
}

describeClusters("reconcile function edges", (kind) => {
  let env: SuiteCluster;
  let r: Reconciler;
  /** The test's own reads and setup writes, as an operator with kubectl would make them. */
  let admin: Kube;

  /** Creates a pool through the API as a user would: name, annotations and spec (KubeVirt's admission applies). */
  const createPool = (obj: KObject) =>
    admin.create("VirtualMachinePool", {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: {
        name: obj.metadata.name,
        namespace: "default",
        ...(obj.metadata.annotations ? { annotations: obj.metadata.annotations } : {}),
      },
      spec: obj.spec,
    } as never);

  /**
   * Stores a pool KubeVirt's admission webhook would refuse: the embedded server emulates the webhook, so the
   * test writes to its store; the real control plane has KubeVirt's CRDs but not its webhook, so a create takes it.
   */
  const createUnadmitted = async (obj: KObject) => {
    if (env.local) env.local.store.put("virtualmachinepools.pool.kubevirt.io", obj);
    else await createPool(obj);
  };

  const vmNames = async () =>
    (await admin.list("VirtualMachine", { namespace: "default" })).map((vm) => vm.metadata.name);

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { startDelayMs: 5, stepDelayMs: 5 } });
    r = reconciler(env, { reconcileToken: TOKEN });
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    await createPool(poolObject("good"));
  });
  afterAll(async () => env?.close());

  /** One pass of one pool (other pools of the cluster may still be converging; their writes must not count). */
  const passFor = (name: string) =>
    reconcilePool(passDeps(r.runtime, `handlers-${name}`), {
      kind: "VirtualMachinePool",
      namespace: "default",
      name,
    });

  const writesDuring = async <T>(fn: () => T | Promise<T>): Promise<{ value: T; writes: number }> => {
    r.runtime.kube.resetStats();
    const value = await fn();
    const writes = Object.entries(r.runtime.kube.stats().byVerb)
      .filter(([verb]) => !["get", "list"].includes(verb))
      .reduce((n, [, c]) => n + c, 0);
    return { value, writes };
  };

  it("a scheduled event runs a reconcile-all pass", async () => {
    const result = (await onReconcileEvent(r.runtime, fixture("scheduled-event.json"))) as {
      ok: boolean;
      results: { name: string; outcome: string }[];
    };
    expect(result.ok).toBe(true);
    expect(result.results).toContainEqual(expect.objectContaining({ name: "good", outcome: "Acted" }));
    expect(await vmNames()).toEqual(["good-0", "good-1", "good-2"]);
  });

  it("a Pool Reconcile Requested event runs one pool's pass; the fan-out publishes one event per pool", async () => {
    const result = (await onReconcileEvent(r.runtime, fixture("pool-reconcile-requested.json"))) as {
      results: { name: string }[];
    };
    expect(result.results.map((x) => x.name)).toEqual(["good"]);
    const published: { kind: string; namespace: string; name: string }[][] = [];
    const fanned = (await onReconcileEvent(r.runtime, fixture("scheduled-event.json"), async (pools) => {
      published.push(pools);
      return { sent: pools.length, failed: 0 };
    })) as { fannedOut: number };
    expect(fanned.fannedOut).toBe(1);
    expect(published).toEqual([[{ kind: "VirtualMachinePool", namespace: "default", name: "good" }]]);
  });

  it.each([
    // not an EventBridge event of ours: wrong detail-type
    [
      "wrong detail-type",
      { ...fixture("scheduled-event.json"), "detail-type": "Something Else" },
      "InvalidEvent",
    ],
    // per-pool event without the pool's name
    [
      "missing detail.name",
      {
        ...fixture("pool-reconcile-requested.json"),
        detail: { kind: "VirtualMachinePool", namespace: "default" },
      },
      "InvalidEvent",
    ],
    // unknown pool kind
    [
      "bad detail.kind",
      {
        ...fixture("pool-reconcile-requested.json"),
        detail: { kind: "Deployment", namespace: "default", name: "x" },
      },
      "InvalidEvent",
    ],
  ])("a malformed event (%s) is answered with a clear error and no writes", async (_label, event, reason) => {
    const { value, writes } = await writesDuring(() => onReconcileEvent(r.runtime, event));
    expect(value).toMatchObject({ ok: false, reason });
    expect((value as { message: string }).message).toMatch(/invalid reconcile event: /);
    expect(writes).toBe(0);
  });

  it("the Lambda entry dispatches HTTP events to POST /reconcile and refuses other shapes", async () => {
    const handler = createReconcileHandler(() => r.runtime);
    const http = (await handler({
      ...fixture("function-url-reconcile.json"),
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ namespace: "default", name: "good", dryRun: true }),
    })) as { statusCode: number; body: string };
    expect(http.statusCode).toBe(200);
    expect(JSON.parse(http.body).results[0]).toMatchObject({ name: "good", outcome: "DryRun" });
    expect(await handler({ hello: "world" })).toMatchObject({ ok: false, reason: "UnsupportedEvent" });
  });

  it.each([
    // no credentials
    [{}, "{}", 401, "Unauthorized"],
    // wrong token
    [{ authorization: "Bearer nope" }, "{}", 401, "Unauthorized"],
    // malformed JSON
    [{ authorization: `Bearer ${TOKEN}` }, "{", 400, "MalformedBody"],
    // a field of the wrong type
    [{ authorization: `Bearer ${TOKEN}` }, '{"dryRun":"yes"}', 400, "InvalidBody"],
    // an invalid namespace
    [{ authorization: `Bearer ${TOKEN}` }, '{"namespace":"Not_Valid"}', 400, "InvalidBody"],
    // a name without its namespace
    [{ authorization: `Bearer ${TOKEN}` }, '{"name":"good"}', 400, "InvalidBody"],
    // an unknown pool
    [{ authorization: `Bearer ${TOKEN}` }, '{"namespace":"default","name":"nope"}', 404, undefined],
  ])("POST /reconcile %j %s → %i", async (headers, body, status, reason) => {
    const app = createFunctionApp(r.runtime, [reconcileRoutes]);
    const { value: res, writes } = await writesDuring(() =>
      app.request("/reconcile", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      }),
    );
    expect(res.status).toBe(status);
    const json = (await res.json()) as {
      error?: { reason: string; message: string };
      results?: { outcome: string }[];
    };
    if (reason) {
      expect(json.error?.reason).toBe(reason);
      if (status === 400) expect(json.error?.message).toMatch(/^body/);
    } else expect(json.results?.[0]?.outcome).toBe("NotFound");
    expect(writes).toBe(0);
  });

  it("a pool whose selector does not match its template labels is skipped with a reason and no writes", async () => {
    await createUnadmitted(poolObject("mismatch", { selector: { other: "x" } }));
    const { value, writes } = await writesDuring(() => passFor("mismatch"));
    expect(value?.outcome).toBe("Skipped");
    expect(value?.message).toMatch(/selector/i);
    expect(writes).toBe(0);
    await admin.delete("VirtualMachinePool", "default", "mismatch");
  });

  it("a pool with a broken template (no runStrategy, admitted where no KubeVirt webhook runs) is reported once and creates nothing", async () => {
    const broken = poolObject("broken") as unknown as {
      spec: { virtualMachineTemplate: { spec: Record<string, unknown> } };
    };
    delete broken.spec.virtualMachineTemplate.spec.runStrategy;
    await createUnadmitted(broken as unknown as KObject);
    r.runtime.kube.resetStats();
    const result = await passFor("broken");
    expect(result).toMatchObject({ outcome: "Skipped", reason: "InvalidTemplate", statusWritten: true });
    expect(result?.message).toContain("RunStrategy must be specified");
    expect(r.runtime.kube.stats().byVerb.create ?? 0).toBe(1); // the Warning event, no VM
    const vms = await vmNames();
    expect(vms.filter((n) => n.startsWith("broken"))).toEqual([]);
    const events = (await admin.list("Event", { namespace: "default" })).filter(
      (e) => e.involvedObject.name === "broken",
    );
    expect(events).toEqual([expect.objectContaining({ type: "Warning", reason: "InvalidTemplate" })]);
    const status = (await admin.get("VirtualMachinePool", "default", "broken"))?.status as {
      conditions?: { type: string; reason: string }[];
    };
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ type: "ReplicaFailure", reason: "InvalidTemplate" }),
    );
    // Reported once: the next pass writes nothing.
    const { value: again, writes } = await writesDuring(() => passFor("broken"));
    expect(again?.outcome).toBe("Skipped");
    expect(writes).toBe(0);
  });

  it("a pool with an empty selector is reported once (condition and Warning event) and creates nothing", async () => {
    const empty = poolObject("empty") as unknown as { spec: { selector: unknown; replicas: number } };
    empty.spec.selector = {};
    await createUnadmitted(empty as unknown as KObject);
    const dry = await reconcilePool(
      passDeps(r.runtime, "handlers-empty-dry"),
      { kind: "VirtualMachinePool", namespace: "default", name: "empty" },
      { dryRun: true },
    );
    // The dry run says why, and shows the replicas the spec asks for, not 0.
    expect(dry).toMatchObject({ outcome: "Skipped", reason: "EmptySelector" });
    expect(dry?.plan?.summary.desired).toBe(3);
    const result = await passFor("empty");
    expect(result).toMatchObject({ outcome: "Skipped", reason: "EmptySelector", statusWritten: true });
    expect(result?.message).toContain("spec.selector is empty");
    expect((await vmNames()).filter((n) => n.startsWith("empty"))).toEqual([]);
    const events = (await admin.list("Event", { namespace: "default" })).filter(
      (e) => e.involvedObject.name === "empty",
    );
    expect(events).toEqual([expect.objectContaining({ type: "Warning", reason: "EmptySelector" })]);
    const conditions = async () => {
      const status = (await admin.get("VirtualMachinePool", "default", "empty"))?.status as
        | { conditions?: { type: string; reason: string }[] }
        | undefined;
      return status?.conditions ?? [];
    };
    expect(await conditions()).toContainEqual(
      expect.objectContaining({ type: "ReplicaFailure", reason: "EmptySelector" }),
    );
    const { value: again, writes } = await writesDuring(() => passFor("empty"));
    expect(again?.outcome).toBe("Skipped");
    expect(writes).toBe(0);
  });

  it("stands down for a pool opted out with vmpool-functions.io/managed=false: no writes at all", async () => {
    const theirs = poolObject("theirs");
    theirs.metadata.annotations = { "vmpool-functions.io/managed": "false" };
    await createPool(theirs);
    const { value, writes } = await writesDuring(() => passFor("theirs"));
    expect(value).toMatchObject({ outcome: "StoodDown", reason: "OptedOut" });
    expect(writes).toBe(0);
    const vms = await vmNames();
    expect(vms.filter((n) => n.startsWith("theirs"))).toEqual([]);
  });
});
