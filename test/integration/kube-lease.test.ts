/**
 * Per-pool Leases through shared/kube against the embedded and the real control plane, as the functions' own
 * identity: acquire, held, expiry takeover at the exact
 * boundary, release, renewal by the same holder, and races that must end with exactly one holder. The clock is
 * injected, so expiry is decided by the test, not by waiting.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { createKube, type Kube, type LeaseAcquisition } from "../../shared/kube";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";

const NS = "default";
const TTL = 15;
const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function expectAcquired(result: LeaseAcquisition) {
  if (!result.acquired) throw new Error(`expected the lease, got LeaseHeld by ${result.holder}`);
  return result;
}

describeClusters("per-pool leases", (kind) => {
  let env: SuiteCluster;
  let clock = T0;
  let kube: Kube;
  let leaseName: string;
  let counter = 0;

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { enabled: false } });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig }, { now: () => new Date(clock) });
  });
  beforeEach(() => {
    clock = T0;
    leaseName = `vmpool-lease-${counter++}`;
    env.local?.faults.configure({ seed: 1, rules: [] });
  });
  afterAll(async () => env?.close());

  const acquire = (holder: string) =>
    kube.acquireLease({ namespace: NS, name: leaseName, holder, ttlSeconds: TTL });

  it("creates a missing lease for its first holder", async () => {
    const result = expectAcquired(await acquire("pass-a"));
    expect(result.lease.spec).toMatchObject({
      holderIdentity: "pass-a",
      leaseDurationSeconds: TTL,
      leaseTransitions: 0,
      renewTime: "2030-01-01T00:00:00.000000Z",
      acquireTime: "2030-01-01T00:00:00.000000Z",
    });
    const stored = await kube.get("Lease", NS, leaseName);
    expect(stored?.spec?.holderIdentity).toBe("pass-a");
    expect(stored?.spec?.renewTime).toMatch(MICRO_TIME);
  });

  it("reports a live holder as LeaseHeld with its expiry, up to and including the expiry instant", async () => {
    expectAcquired(await acquire("pass-a"));
    clock = T0 + 5_000;
    expect(await acquire("pass-b")).toEqual({
      acquired: false,
      reason: "LeaseHeld",
      holder: "pass-a",
      expiresAt: new Date(T0 + TTL * 1000),
    });
    clock = T0 + TTL * 1000;
    expect(await acquire("pass-b")).toMatchObject({ acquired: false, holder: "pass-a" });
  });

  it("takes over an expired lease, counting a transition and a new acquireTime", async () => {
    expectAcquired(await acquire("pass-a"));
    clock = T0 + TTL * 1000 + 1;
    const taken = expectAcquired(await acquire("pass-b"));
    expect(taken.lease.spec).toMatchObject({
      holderIdentity: "pass-b",
      leaseTransitions: 1,
      acquireTime: "2030-01-01T00:00:15.001000Z",
      renewTime: "2030-01-01T00:00:15.001000Z",
    });
  });

  it("renews for the same holder without a transition", async () => {
    expectAcquired(await acquire("pass-a"));
    clock = T0 + 3_000;
    const renewed = expectAcquired(await acquire("pass-a"));
    expect(renewed.lease.spec).toMatchObject({
      holderIdentity: "pass-a",
      leaseTransitions: 0,
      acquireTime: "2030-01-01T00:00:00.000000Z",
      renewTime: "2030-01-01T00:00:03.000000Z",
    });
  });

  it("releases so the next pass acquires at once, and a stale release changes nothing", async () => {
    const first = expectAcquired(await acquire("pass-a"));
    clock = T0 + 1_000;
    expect(await first.release()).toBe(true);
    expect((await kube.get("Lease", NS, leaseName))?.spec?.holderIdentity).toBe("");
    expect(await first.release()).toBe(true);

    const second = expectAcquired(await acquire("pass-b"));
    expect(second.lease.spec?.holderIdentity).toBe("pass-b");
    // pass-b's view is older than pass-c's takeover: its release is a 409 and is ignored.
    clock = T0 + 1_000 + TTL * 1000 + 1;
    expectAcquired(await acquire("pass-c"));
    expect(await second.release()).toBe(false);
    expect((await kube.get("Lease", NS, leaseName))?.spec?.holderIdentity).toBe("pass-c");
  });

  it("lets exactly one of many concurrent passes create a missing lease", async () => {
    const holders = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
    const results = await Promise.all(holders.map((h) => acquire(h)));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = (await kube.get("Lease", NS, leaseName))?.spec?.holderIdentity;
    for (const r of results) if (!r.acquired) expect(r.holder).toBe(winner);
  });

  it("lets exactly one of many concurrent passes take over an expired lease", async () => {
    expectAcquired(await acquire("old"));
    clock = T0 + TTL * 1000 + 1;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => acquire(`racer-${i}`)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    expect(results.filter((r) => !r.acquired).every((r) => r.reason === "LeaseHeld")).toBe(true);
  });

  it.skipIf(kind !== "embedded")(
    "treats a 409 on the takeover write as LeaseHeld (embedded only: fault injection)",
    async () => {
      expectAcquired(await acquire("old"));
      clock = T0 + TTL * 1000 + 1;
      env.local?.faults.configure({
        seed: 1,
        rules: [{ kind: "conflict", rate: 1, verbs: ["update"], resources: ["leases"] }],
      });
      expect(await acquire("pass-b")).toMatchObject({ acquired: false, reason: "LeaseHeld", holder: "old" });
    },
  );
});
