import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DecideInput, History, ObservedMetric } from "../../shared/planning/hpa";
import { decide, decodeHistory, encodeHistory } from "../../shared/planning/hpa";
import { recordRecommendation } from "../../shared/planning/hpa/history";
import type { HpaScalingPolicy, HpaSpecV2 } from "../../shared/schemas/hpa";
import { normalizeHpa } from "../../shared/schemas/hpa";
import { fixture, type Json, NOW } from "./hpa-fixtures";

const now = NOW.getTime();

const policyArb = fc.record({
  type: fc.constantFrom("Pods" as const, "Percent" as const),
  value: fc.integer({ min: 1, max: 100 }),
  periodSeconds: fc.integer({ min: 1, max: 600 }),
});
const rulesArb = fc.record(
  {
    stabilizationWindowSeconds: fc.integer({ min: 0, max: 600 }),
    selectPolicy: fc.constantFrom("Max", "Min", "Disabled"),
    policies: fc.array(policyArb, { minLength: 1, maxLength: 3 }),
    tolerance: fc.constantFrom("0", "0.05", "0.1", "0.25"),
  },
  { requiredKeys: [] },
);
const behaviorArb = fc.option(fc.record({ scaleUp: rulesArb, scaleDown: rulesArb }, { requiredKeys: [] }), {
  nil: undefined,
});

type MetricCase = { readonly spec: Json; readonly key: string; readonly observed: ObservedMetric };

const metricArb: fc.Arbitrary<MetricCase> = fc.oneof(
  fc
    .record({
      target: fc.integer({ min: 1, max: 200 }),
      value: fc.double({ min: 0, max: 2000, noNaN: true }),
      missingPods: fc.integer({ min: 0, max: 3 }),
      unreadyPods: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ target, value, missingPods, unreadyPods }) => ({
      spec: {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } },
      },
      key: "Resource/cpu",
      observed: { value, missingPods, unreadyPods },
    })),
  fc
    .record({
      type: fc.constantFrom("Value", "AverageValue"),
      target: fc.integer({ min: 1, max: 50 }),
      value: fc.double({ min: 0, max: 5000, noNaN: true }),
    })
    .map(({ type, target, value }) => ({
      spec: {
        type: "External",
        external: {
          metric: { name: "queue" },
          target: type === "Value" ? { type, value: target } : { type, averageValue: target },
        },
      },
      key: "External/queue",
      observed: { value },
    })),
);

const timedArb = fc.record({
  value: fc.integer({ min: 0, max: 200 }),
  secondsAgo: fc.integer({ min: 0, max: 1800 }),
});
const historyArb: fc.Arbitrary<History> = fc
  .record({
    seeded: fc.boolean(),
    recommendations: fc.array(timedArb, { maxLength: 12 }),
    scaleUpEvents: fc.array(timedArb, { maxLength: 6 }),
    scaleDownEvents: fc.array(timedArb, { maxLength: 6 }),
    lastScaleSecondsAgo: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: null }),
  })
  .map((raw) => {
    const toTimed = (entries: { value: number; secondsAgo: number }[]) =>
      entries.map(({ value, secondsAgo }) => ({ value, at: now - secondsAgo * 1000 }));
    return {
      seeded: raw.seeded,
      recommendations: toTimed(raw.recommendations),
      scaleUpEvents: toTimed(raw.scaleUpEvents),
      scaleDownEvents: toTimed(raw.scaleDownEvents),
      lastScaleTime: raw.lastScaleSecondsAgo === null ? null : now - raw.lastScaleSecondsAgo * 1000,
    };
  });

function hpaOf(min: number, max: number, metricSpec: Json, behavior: Json | undefined): HpaSpecV2 {
  const object = fixture("v2-cpu");
  Object.assign(object.spec, { minReplicas: min, maxReplicas: max, metrics: [metricSpec] });
  if (behavior !== undefined) object.spec.behavior = behavior;
  return normalizeHpa(object);
}

const inputArb: fc.Arbitrary<DecideInput> = fc
  .record({
    min: fc.integer({ min: 1, max: 10 }),
    span: fc.integer({ min: 0, max: 30 }),
    metric: metricArb,
    behavior: behaviorArb,
    currentFactor: fc.double({ min: 0.01, max: 3, noNaN: true }),
    readyPodCount: fc.integer({ min: 0, max: 60 }),
    history: historyArb,
  })
  .map(({ min, span, metric, behavior, currentFactor, readyPodCount, history }) => {
    const max = min + span;
    return {
      hpa: hpaOf(min, max, metric.spec, behavior),
      currentReplicas: Math.max(1, Math.round(max * currentFactor)),
      readyPodCount,
      metrics: { [metric.key]: metric.observed },
      history,
      now: NOW,
    };
  });

describe("decide properties", () => {
  it("always lands within [minReplicas, maxReplicas] when the target runs", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { desiredReplicas } = decide(input);
        expect(desiredReplicas).toBeGreaterThanOrEqual(input.hpa.minReplicas);
        expect(desiredReplicas).toBeLessThanOrEqual(input.hpa.maxReplicas);
      }),
    );
  });

  it("never changes the count while the metric ratio is inside the tolerance band", () => {
    const bandArb = fc
      .record({
        min: fc.integer({ min: 1, max: 10 }),
        span: fc.integer({ min: 0, max: 30 }),
        pick: fc.double({ min: 0, max: 1, noNaN: true }),
        target: fc.integer({ min: 1, max: 200 }),
        toleranceUp: fc.constantFrom(0, 0.05, 0.1, 0.3),
        toleranceDown: fc.constantFrom(0, 0.05, 0.1, 0.3),
        position: fc.double({ min: 0, max: 1, noNaN: true }),
        behavior: fc.option(fc.record({ scaleUp: rulesArb, scaleDown: rulesArb }), { nil: undefined }),
        history: historyArb,
      })
      .filter(({ target, toleranceUp, toleranceDown }) => {
        return Math.floor(target * (1 + toleranceUp)) >= Math.ceil(target * (1 - toleranceDown));
      });
    fc.assert(
      fc.property(bandArb, (c) => {
        const max = c.min + c.span;
        const current = c.min + Math.floor(c.pick * (max - c.min));
        const low = Math.ceil(c.target * (1 - c.toleranceDown));
        const high = Math.floor(c.target * (1 + c.toleranceUp));
        const utilization = low + Math.floor(c.position * (high - low));
        const behavior = {
          ...c.behavior,
          scaleUp: { ...c.behavior?.scaleUp, tolerance: String(c.toleranceUp) },
          scaleDown: { ...c.behavior?.scaleDown, tolerance: String(c.toleranceDown) },
        };
        const cpu = {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: c.target } },
        };
        const hpa = hpaOf(c.min, max, cpu, behavior);
        const decision = decide({
          hpa,
          currentReplicas: current,
          metrics: { "Resource/cpu": { value: utilization } },
          history: c.history,
          now: NOW,
        });
        expect(decision.changed).toBe(false);
        expect(decision.desiredReplicas).toBe(current);
      }),
    );
  });

  it("gives the same decision for the same input and leaves the input untouched", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const before = JSON.stringify(input);
        const first = decide(input);
        const second = decide(structuredClone(input));
        expect(second).toEqual(first);
        expect(JSON.stringify(input)).toBe(before);
      }),
    );
  });

  it("never scales down faster than the policies allow across decisions fed their own persisted history", () => {
    const stepArb = fc.record({
      dt: fc.integer({ min: 1, max: 120 }),
      total: fc.integer({ min: 0, max: 120 }),
    });
    const scenarioArb = fc.record({
      policies: fc.array(policyArb, { minLength: 1, maxLength: 3 }),
      selectPolicy: fc.constantFrom("Max" as const, "Min" as const),
      window: fc.integer({ min: 0, max: 120 }),
      start: fc.integer({ min: 1, max: 100 }),
      steps: fc.array(stepArb, { minLength: 1, maxLength: 25 }),
    });
    fc.assert(
      fc.property(scenarioArb, ({ policies, selectPolicy, window, start, steps }) => {
        const queue = {
          type: "External",
          external: { metric: { name: "queue" }, target: { type: "AverageValue", averageValue: 1 } },
        };
        const hpa = hpaOf(1, 120, queue, {
          scaleDown: { stabilizationWindowSeconds: window, selectPolicy, policies },
        });
        const log: { at: number; change: number }[] = [];
        let current = start;
        let annotation: string | undefined;
        let t = now;
        for (const step of steps) {
          t += step.dt * 1000;
          const decision = decide({
            hpa,
            currentReplicas: current,
            metrics: { "External/queue": { value: step.total } },
            history: decodeHistory(annotation),
            now: new Date(t),
          });
          if (decision.desiredReplicas < current) {
            expect(decision.desiredReplicas).toBeGreaterThanOrEqual(
              allowedFloor(policies, selectPolicy, log, current, t),
            );
          }
          if (decision.changed) log.push({ at: t, change: decision.desiredReplicas - current });
          annotation = encodeHistory(decision.history);
          current = decision.desiredReplicas;
        }
      }),
    );
  });
});

// The lowest count the scale-down policies allow at time `t`, computed from what actually happened (the
// simulation's log), independently of the persisted history the decisions used.
function allowedFloor(
  policies: readonly HpaScalingPolicy[],
  selectPolicy: "Max" | "Min",
  log: readonly { at: number; change: number }[],
  current: number,
  t: number,
): number {
  const floors = policies.map((policy) => {
    const recent = log.filter((entry) => entry.at > t - policy.periodSeconds * 1000);
    const added = recent.reduce((sum, entry) => sum + Math.max(0, entry.change), 0);
    const removed = recent.reduce((sum, entry) => sum + Math.max(0, -entry.change), 0);
    const periodStart = current - added + removed;
    return policy.type === "Pods"
      ? periodStart - policy.value
      : Math.trunc(periodStart * (1 - policy.value / 100));
  });
  return selectPolicy === "Max" ? Math.min(...floors) : Math.max(...floors);
}

describe("history pruning property", () => {
  it("keeps every later windowed min and max what the full list would give", () => {
    const caseArb = fc.record({
      entries: fc.array(timedArb, { maxLength: 40 }),
      longest: fc.integer({ min: 0, max: 900 }),
      queries: fc.array(
        fc.record({
          later: fc.integer({ min: 0, max: 900 }),
          fraction: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    });
    fc.assert(
      fc.property(caseArb, ({ entries, longest, queries }) => {
        const sorted = entries
          .map(({ value, secondsAgo }) => ({ value, at: now - secondsAgo * 1000 }))
          .sort((a, b) => a.at - b.at);
        const full = [...sorted, { value: 7, at: now }];
        const pruned = recordRecommendation(
          {
            seeded: true,
            recommendations: sorted,
            scaleUpEvents: [],
            scaleDownEvents: [],
            lastScaleTime: null,
          },
          7,
          now,
          longest,
        ).recommendations;
        for (const { later, fraction } of queries) {
          const at = now + later * 1000;
          const cutoff = at - Math.floor(longest * fraction) * 1000;
          const values = (list: readonly { value: number; at: number }[]) =>
            list.filter((entry) => entry.at > cutoff).map((entry) => entry.value);
          expect(Math.max(...values(pruned))).toBe(Math.max(...values(full)));
          expect(Math.min(...values(pruned))).toBe(Math.min(...values(full)));
        }
      }),
    );
  });
});
