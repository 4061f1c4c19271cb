import { describe, expect, it } from "vitest";
import { planPool, planReplicaSet, seededRandom, statusAfterFailure } from "../../shared/planning";
import { parseGoDuration } from "../../shared/planning/duration";
import { shuffled } from "../../shared/planning/random";
import { ordinalOf } from "../../shared/planning/selection";
import { semanticEqual } from "../../shared/planning/semantic";
import { convergedPool, NOW, replicaSet, rsVMI } from "../support/kubevirt-fixtures";

describe("parseGoDuration", () => {
  it.each([
    // the default autohealing window
    { text: "5m", ms: 300_000 },
    // metav1.Duration's own rendering
    { text: "5m0s", ms: 300_000 },
    // compound units
    { text: "1h30m", ms: 5_400_000 },
    // fractions
    { text: "1.5s", ms: 1_500 },
    // sub-second units
    { text: "250ms", ms: 250 },
    // bare zero is allowed
    { text: "0", ms: 0 },
    // a missing unit is invalid
    { text: "300", ms: undefined },
    // an unknown unit is invalid
    { text: "5d", ms: undefined },
    // empty is invalid
    { text: "", ms: undefined },
  ])("$text → $ms", ({ text, ms }) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
});

describe("semanticEqual", () => {
  it.each([
    // Go writes creationTimestamp: null into template metadata
    {
      a: { metadata: { creationTimestamp: null, labels: { a: "1" } } },
      b: { metadata: { labels: { a: "1" } } },
      equal: true,
    },
    // empty structs and lists are unset
    { a: { resources: {}, disks: [] }, b: {}, equal: true },
    // key order does not matter
    { a: { x: 1, y: 2 }, b: { y: 2, x: 1 }, equal: true },
    // a changed value is a change
    { a: { memory: "128Mi" }, b: { memory: "256Mi" }, equal: false },
    // false is a value, not unset
    { a: { running: false }, b: {}, equal: false },
    // list order matters
    { a: { l: [1, 2] }, b: { l: [2, 1] }, equal: false },
  ])("$a vs $b → $equal", ({ a, b, equal }) => {
    expect(semanticEqual(a, b)).toBe(equal);
  });
});

describe("ordinalOf (indexFromName)", () => {
  it.each([
    // the usual pool name
    { name: "vm-pool-cirros-12", ordinal: 12 },
    // Go's Atoi accepts leading zeros
    { name: "pool-007", ordinal: 7 },
    // no numeric suffix
    { name: "pool-abc", ordinal: undefined },
    // no dash at all: the whole name is the suffix
    { name: "42", ordinal: 42 },
  ])("$name → $ordinal", ({ name, ordinal }) => {
    expect(ordinalOf(name)).toBe(ordinal);
  });
});

describe("seededRandom and shuffled", () => {
  it("replays the same sequence for the same seed and permutes without loss", () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = shuffled(items, seededRandom(42));
    expect(shuffled(items, seededRandom(42))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
  });
});

describe("statusAfterFailure", () => {
  const failure = { reason: "FailedScaleOut", message: "error during scale out: boom" };

  it("adds ReplicaFailure and a Warning event to a pool status", () => {
    const world = convergedPool(1);
    const p = planPool({ ...world, now: NOW, random: seededRandom(1) });
    const after = statusAfterFailure(p, failure, NOW);
    expect(after?.changed).toBe(true);
    expect(after?.desired.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        ...failure,
        lastProbeTime: null,
        lastTransitionTime: "2025-06-01T12:00:00Z",
      },
    ]);
    expect(after?.events).toEqual([{ type: "Warning", ...failure }]);
  });

  it("keeps an existing ReplicaFailure as it is, without a new event", () => {
    const world = convergedPool(1);
    const existing = { type: "ReplicaFailure", status: "True", reason: "FailedScaleIn", message: "old" };
    world.pool.status = { ...world.pool.status, conditions: [existing] };
    const p = planPool({ ...world, now: NOW, random: seededRandom(1) });
    const after = statusAfterFailure(p, failure, NOW);
    expect(after?.desired.conditions).toEqual([existing]);
    expect(after?.events).toEqual([]);
    expect(after?.changed).toBe(false);
  });

  it("uses the action's reason for a replica set (FailedCreate when creating)", () => {
    const p = planReplicaSet({ replicaSet: replicaSet({ replicas: 2 }), vmis: [rsVMI("a")], now: NOW });
    const reason = p.actions[0]?.onFailure.sync?.reason ?? "";
    const after = statusAfterFailure(p, { reason, message: "quota exceeded" }, NOW);
    expect(reason).toBe("FailedCreate");
    expect(after?.desired.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        reason: "FailedCreate",
        message: "quota exceeded",
        lastProbeTime: null,
        lastTransitionTime: "2025-06-01T12:00:00Z",
      },
    ]);
  });
});
