import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PoolId, resolvePoolRef, resolveScaleTarget, resolveVmRef } from "../../shared/chatops";

const pool = (kind: "vmpool" | "vmirs", namespace: string, name: string): PoolId => ({
  kind: kind === "vmpool" ? "VirtualMachinePool" : "VirtualMachineInstanceReplicaSet",
  namespace,
  name,
});

const CANDIDATES: readonly PoolId[] = [
  pool("vmpool", "default", "vm-pool-cirros"),
  pool("vmirs", "default", "testreplicaset"),
  pool("vmpool", "default", "web"),
  pool("vmirs", "default", "web"),
  pool("vmpool", "prod", "web"),
];

describe("resolvePoolRef", () => {
  it.each([
    // bare name in the default namespace, only one kind has it
    [{ name: "vm-pool-cirros" }, pool("vmpool", "default", "vm-pool-cirros")],
    // bare name resolves across kinds: a VMIRS
    [{ name: "testreplicaset" }, pool("vmirs", "default", "testreplicaset")],
    // explicit namespace where only one kind has the name
    [{ namespace: "prod", name: "web" }, pool("vmpool", "prod", "web")],
    // a kind prefix disambiguates
    [
      { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "web" },
      pool("vmirs", "default", "web"),
    ],
  ] as const)("%j resolves", (ref, expected) => {
    expect(resolvePoolRef(ref, CANDIDATES, "default")).toEqual({ ok: true, pool: expected });
  });

  it("reports an ambiguous bare name with both candidates", () => {
    expect(resolvePoolRef({ name: "web" }, CANDIDATES, "default")).toEqual({
      ok: false,
      reason: "AmbiguousPool",
      message: '"web" matches vmpool/default/web and vmirs/default/web; name one of them in full.',
      candidates: [pool("vmpool", "default", "web"), pool("vmirs", "default", "web")],
    });
  });

  it.each([
    // not in the default namespace
    [
      { name: "nope" },
      'No VirtualMachinePool or VirtualMachineInstanceReplicaSet named "nope" in namespace "default". Try list default.',
      "default",
    ],
    // exists, but in another namespace than the default
    [
      { name: "vm-pool-cirros" },
      'No VirtualMachinePool or VirtualMachineInstanceReplicaSet named "vm-pool-cirros" in namespace "prod". Try list prod.',
      "prod",
    ],
    // exists, but as the other kind
    [
      { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "vm-pool-cirros" },
      'No VirtualMachineInstanceReplicaSet named "vm-pool-cirros" in namespace "default". Try list default.',
      "default",
    ],
  ] as const)("%j is not found", (ref, message, defaultNamespace) => {
    expect(resolvePoolRef(ref, CANDIDATES, defaultNamespace)).toEqual({
      ok: false,
      reason: "PoolNotFound",
      message,
      candidates: [],
    });
  });
});

describe("resolveVmRef", () => {
  it("fills the default namespace only when none was typed", () => {
    expect(resolveVmRef({ name: "vm-1" }, "default")).toEqual({ namespace: "default", name: "vm-1" });
    expect(resolveVmRef({ namespace: "prod", name: "vm-1" }, "default")).toEqual({
      namespace: "prod",
      name: "vm-1",
    });
  });
});

describe("resolveScaleTarget", () => {
  it.each([
    // absolute ignores the current count
    [{ kind: "absolute", replicas: 4 }, 9, 4, false],
    // relative adds
    [{ kind: "relative", delta: 2 }, 3, 5, false],
    // relative below zero clamps to zero and says so
    [{ kind: "relative", delta: -5 }, 3, 0, true],
    // relative above the limit clamps to the limit
    [{ kind: "relative", delta: 10 }, 9995, 10000, true],
  ] as const)("%j on %i → %i", (target, current, replicas, clamped) => {
    expect(resolveScaleTarget(target, current)).toEqual({ replicas, clamped });
  });

  it("always lands within 0..10000", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        (current, delta) => {
          const { replicas } = resolveScaleTarget({ kind: "relative", delta }, current);
          expect(replicas).toBeGreaterThanOrEqual(0);
          expect(replicas).toBeLessThanOrEqual(10_000);
        },
      ),
    );
  });
});
