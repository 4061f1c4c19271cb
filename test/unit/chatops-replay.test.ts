/**
 * The replay guarantee of chat commands as a property of the use case (`executeText`) over an in-memory port
 * that keeps resourceVersion preconditions like the API server, with fast-check's scheduler choosing how reads,
 * writes and their answers interleave: however N distinct deliveries and their copies arrive (at once, in rounds,
 * minutes apart but inside the window, with the pool's memory partly full already), each delivery acts at most
 * once, and the pool's count is exactly what the deliveries that acted made it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ChatopsPort,
  DELIVERIES_ANNOTATION,
  DELIVERY_MEMORY_SECONDS,
  devAllowAllPolicy,
  type ExecuteOutcome,
  executeText,
  MAX_REMEMBERED_DELIVERIES,
  type PoolSnapshot,
} from "../../shared/chatops";
import { ReasonedError } from "../../shared/errors";
import type { MergePatch } from "../../shared/kube";
import { logger } from "../../shared/log";

const log = logger("chatops-replay-test");
const T0 = Date.parse("2026-11-21T12:00:00Z");
const START_REPLICAS = 3;

interface Stored {
  resourceVersion: number;
  replicas: number;
  annotations: Record<string, string>;
}

/** One pool behind a port whose every call waits for the scheduler, and whose patches check resourceVersion. */
function scheduledPort(s: fc.Scheduler, stored: Stored): ChatopsPort {
  const snapshot = (): PoolSnapshot => ({
    id: { kind: "VirtualMachinePool", namespace: "default", name: "web" },
    apiVersion: "pool.kubevirt.io/v1beta1",
    uid: "uid-web",
    resourceVersion: String(stored.resourceVersion),
    desired: stored.replicas,
    current: stored.replicas,
    ready: stored.replicas,
    paused: false,
    deleting: false,
    created: new Date(T0 - 3_600_000),
    conditions: [],
    annotations: { ...stored.annotations },
  });
  const turn = async <T>(label: string, body: () => T): Promise<T> => {
    await s.schedule(Promise.resolve(), label);
    return body();
  };
  const unused = () => Promise.reject(new Error("not used by scale"));
  return {
    getPool: (kind, _ns, name) =>
      turn("get", () => (kind === "VirtualMachinePool" && name === "web" ? snapshot() : undefined)),
    listPools: unused,
    patchPool: (_pool, patch: MergePatch) =>
      turn("patch", () => {
        const metadata = patch.metadata as { resourceVersion?: string; annotations?: Record<string, string> };
        if (metadata.resourceVersion !== String(stored.resourceVersion)) {
          throw new ReasonedError("Conflict", "the object has been modified", { status: 409 });
        }
        const spec = patch.spec as { replicas?: number } | undefined;
        if (spec?.replicas !== undefined) stored.replicas = spec.replicas;
        Object.assign(stored.annotations, metadata.annotations ?? {});
        stored.resourceVersion++;
        return snapshot();
      }),
    poolEvents: unused,
    listAutoscalers: () => turn("list hpa", () => []),
    createAutoscaler: unused,
    replaceAutoscaler: unused,
    deleteAutoscaler: unused,
    getVm: unused,
    patchVm: unused,
    dryRun: unused,
    recordEvent: () => turn("event", () => true),
    history: unused,
    recordHistory: () => turn("history", () => undefined),
  };
}

/** A delivery's copies: the first, then replays; each copy in a round, rounds minutes apart. */
const arrivals = fc
  .record({
    deliveries: fc.integer({ min: 1, max: 30 }),
    // Keys already remembered on the pool when the test starts (from other commands), up to full.
    prefilled: fc.oneof(
      fc.constant(0),
      fc.integer({ min: MAX_REMEMBERED_DELIVERIES - 20, max: MAX_REMEMBERED_DELIVERIES }),
    ),
    rounds: fc.integer({ min: 1, max: 8 }),
    // Seconds between rounds: the whole run stays inside the memory window.
    gap: fc.integer({ min: 0, max: Math.floor(DELIVERY_MEMORY_SECONDS / 10) }),
  })
  .chain(({ deliveries, prefilled, rounds, gap }) =>
    fc.record({
      prefilled: fc.constant(prefilled),
      gap: fc.constant(gap),
      copies: fc.array(
        fc.record({ delivery: fc.nat({ max: deliveries - 1 }), round: fc.nat({ max: rounds - 1 }) }),
        { minLength: deliveries, maxLength: deliveries * 3 },
      ),
    }),
  );

describe("chat-ops replay guarantee", () => {
  it("any interleaving of distinct deliveries and their copies inside the window: each acts at most once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), arrivals, async (s, { prefilled, gap, copies }) => {
        const seconds = T0 / 1000;
        const stored: Stored = {
          resourceVersion: 1,
          replicas: START_REPLICAS,
          annotations:
            prefilled === 0
              ? {}
              : {
                  [DELIVERIES_ANNOTATION]: Array.from(
                    { length: prefilled },
                    (_, i) => `other-${i}@${seconds}`,
                  ).join(" "),
                },
        };
        const port = scheduledPort(s, stored);
        let now = new Date(T0);
        const acted = new Map<string, number>();
        const outcomes: ExecuteOutcome[] = [];
        const rounds = Math.max(...copies.map((c) => c.round)) + 1;
        for (let round = 0; round < rounds; round++) {
          const inRound = copies.filter((c) => c.round === round);
          const running = inRound.map(async ({ delivery }) => {
            const key = `slack-d${delivery}`;
            const outcome = await executeText("scale web +1", {
              port,
              policy: devAllowAllPolicy(),
              subject: { userId: "U1", channelId: "C1" },
              source: "slack",
              defaultNamespace: "default",
              replicaCeiling: 1000,
              deliveryKey: key,
              issuedAt: new Date(T0),
              now: () => now,
              log,
              requestReconcile: async () => {},
            });
            outcomes.push(outcome);
            if (outcome.changed) acted.set(key, (acted.get(key) ?? 0) + 1);
          });
          await s.waitFor(Promise.all(running));
          now = new Date(now.getTime() + gap * 1000);
        }
        // Each delivery acted at most once, and the count is exactly what the deliveries that acted made it.
        for (const times of acted.values()) expect(times).toBe(1);
        const total = [...acted.values()].reduce((sum, n) => sum + n, 0);
        expect(stored.replicas).toBe(START_REPLICAS + total);
        // Nothing failed for another reason than a copy that already ran, a conflict storm, or a full memory.
        const expected = new Set(["DuplicateDelivery", "Conflict", "TooManyCommands"]);
        for (const { result } of outcomes) {
          if (result.kind === "error") expect(expected).toContain(result.reason);
        }
        // With room in the memory, someone always gets through: the first patch applied wins.
        if (prefilled < MAX_REMEMBERED_DELIVERIES) expect(total).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });
});
