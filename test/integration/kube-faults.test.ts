/**
 * shared/kube's retries against the local cluster's seeded fault injection: throttling is absorbed and counted,
 * persistent server errors and dropped connections surface as retryable errors once the attempts or the deadline
 * run out, and conflicts and unsafe creates are never repeated. Sleeping and the clock are injected: backoff
 * advances a fake clock instead of waiting.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createKube, type Kube, type KubeOptions } from "../../shared/kube";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const NS = "default";

function vm(name: string) {
  return {
    metadata: { name, namespace: NS, labels: { "kubevirt.io/vmpool": "faulty" } },
    spec: {
      runStrategy: "Always",
      template: {
        metadata: { labels: { "kubevirt.io/vmpool": "faulty" } },
        spec: { domain: { devices: {} } },
      },
    },
  };
}

describe("retries under injected faults", () => {
  let env: TestCluster;
  let clock: number;
  let slept: number[];

  const options = (maxAttempts: number): KubeOptions => ({
    now: () => new Date(clock),
    retry: {
      maxAttempts,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      random: () => 0.5,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    },
  });
  const client = (maxAttempts = 8): Kube =>
    createKube({ kind: "kubeconfig", path: env.kubeconfig }, options(maxAttempts));

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
  });
  beforeEach(() => {
    clock = Date.parse("2030-01-01T00:00:00Z");
    slept = [];
    env.cluster.faults.configure({ seed: 1, rules: [] });
  });
  afterAll(async () => env?.close());

  it("absorbs throttling at rate 0.5 and counts every retry", async () => {
    const kube = client(10);
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "throttle", rate: 0.5, retryAfterSeconds: 0 }] });
    const names = Array.from({ length: 10 }, (_, i) => `throttled-${i}`);
    for (const name of names) await kube.create("VirtualMachine", vm(name));
    const listed = await kube.list("VirtualMachine", {
      namespace: NS,
      labelSelector: "kubevirt.io/vmpool=faulty",
    });
    expect(listed.map((v) => v.metadata.name).sort()).toEqual([...names].sort());

    const stats = kube.stats();
    expect(stats.retries).toBeGreaterThan(0);
    // 11 calls succeeded; every other request was a retry of a throttled one.
    expect(stats.total).toBe(11 + stats.retries);
    expect(slept).toHaveLength(stats.retries);
  });

  it("gives up on persistent 500s after the last attempt with a retryable ServerError", async () => {
    const kube = client(4);
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "error", rate: 1 }] });
    const err = await kube.get("VirtualMachine", NS, "throttled-0").catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "ServerError", retryable: true, status: 500 });
    expect(kube.stats()).toMatchObject({ total: 4, retries: 3 });
    // Equal jitter with random 0.5: three quarters of a doubling cap.
    expect(slept).toEqual([75, 150, 300]);
  });

  it("gives up on persistent 500s when the next wait would cross the deadline", async () => {
    const kube = client(50).withDeadline(clock + 1_000);
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "error", rate: 1 }] });
    const err = await kube.get("VirtualMachine", NS, "throttled-0").catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "ServerError", retryable: true });
    // 75 + 150 + 300 = 525 ms slept; the next wait (600 ms) would end past the deadline.
    expect(slept).toEqual([75, 150, 300]);
    expect(kube.stats()).toMatchObject({ total: 4, retries: 3 });
  });

  it("reports dropped connections as a retryable Unavailable", async () => {
    const kube = client(3);
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "drop", rate: 1, verbs: ["get"] }] });
    const err = await kube.get("VirtualMachine", NS, "throttled-0").catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "Unavailable", retryable: true });
    expect(kube.stats()).toMatchObject({ total: 3, retries: 2 });
  });

  it("never repeats a write that lost a conflict", async () => {
    const kube = client();
    const current = await kube.get("VirtualMachine", NS, "throttled-1");
    if (!current) throw new Error("vm missing");
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "conflict", rate: 1, verbs: ["update"] }] });
    kube.resetStats();
    const err = await kube.replace("VirtualMachine", current).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "Conflict", retryable: false });
    expect(kube.stats()).toMatchObject({ total: 1, retries: 0 });
  });

  it("repeats a generateName create only when the server provably did nothing", async () => {
    const kube = client(10);
    const child = {
      metadata: { generateName: "faulty", namespace: NS, labels: { "kubevirt.io/vmpool": "generated" } },
      spec: vm("x").spec,
    };
    env.cluster.faults.configure({ seed: 1, rules: [{ kind: "error", rate: 1, verbs: ["create"] }] });
    await expect(kube.create("VirtualMachine", child)).rejects.toMatchObject({ reason: "ServerError" });
    expect(kube.stats()).toMatchObject({ total: 1, retries: 0 });

    kube.resetStats();
    env.cluster.faults.configure({
      seed: 3,
      rules: [{ kind: "throttle", rate: 0.5, verbs: ["create"], retryAfterSeconds: 0 }],
    });
    const created = await Promise.all(Array.from({ length: 4 }, () => kube.create("VirtualMachine", child)));
    expect(created.every((c) => c.metadata.name.startsWith("faulty"))).toBe(true);
    expect(kube.stats().retries).toBeGreaterThan(0);
    const generated = await kube.list("VirtualMachine", {
      namespace: NS,
      labelSelector: "kubevirt.io/vmpool=generated",
    });
    expect(generated).toHaveLength(4);
  });
});
