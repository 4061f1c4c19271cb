import { describe, expect, it } from "vitest";
import type { History, ObservedMetric } from "../../shared/planning/hpa";
import {
  decide,
  decodeHistory,
  EMPTY_HISTORY,
  encodeHistory,
  mergeConditions,
  rescaleFailed,
} from "../../shared/planning/hpa";
import type { HpaSpecV2 } from "../../shared/schemas/hpa";
import { ago, type Json, NOW, spec, WARM } from "./hpa-fixtures";

type Metrics = Record<string, ObservedMetric>;

const cpu50 = spec("v2-cpu");
const cpu50min1 = spec("v2-cpu", (s) => {
  s.minReplicas = 1;
});
const withDefaultBehavior = spec("v2-cpu", (s) => {
  s.minReplicas = 1;
  s.behavior = {};
});
const podsMetric = (s: Json) => {
  s.minReplicas = 1;
  s.metrics = [
    {
      type: "Pods",
      pods: {
        metric: { name: "packets_per_second" },
        target: { type: "AverageValue", averageValue: "100m" },
      },
    },
  ];
};
const pods100m = spec("v2-cpu", podsMetric);
const cpuAndPods = spec("v2-cpu", (s) => {
  s.minReplicas = 1;
  s.metrics.push({
    type: "Pods",
    pods: { metric: { name: "packets_per_second" }, target: { type: "AverageValue", averageValue: "100m" } },
  });
});
const external = (target: Json, behavior?: Json) =>
  spec("v2-cpu", (s) => {
    s.minReplicas = 1;
    s.maxReplicas = 100;
    s.metrics = [{ type: "External", external: { metric: { name: "queue_depth" }, target } }];
    if (behavior !== undefined) s.behavior = behavior;
  });
const queuePerPod5 = external({ type: "AverageValue", averageValue: "5" });
const queueTotal10 = external({ type: "Value", value: 10 });
const ingress10k = spec("v2-cpu", (s) => {
  s.minReplicas = 1;
  s.metrics = [
    {
      type: "Object",
      object: {
        describedObject: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "main-route" },
        metric: { name: "requests_per_second" },
        target: { type: "Value", value: "10k" },
      },
    },
  ];
});
const docsScaleDown = spec("v2-behavior");
const docsScaleDownMin = spec("v2-behavior", (s) => {
  s.behavior.scaleDown.selectPolicy = "Min";
});

const CPU = "Resource/cpu";
const PODS = "Pods/packets_per_second";
const QUEUE = "External/queue_depth";
const INGRESS = "Object/Ingress/main-route/requests_per_second";

interface Row {
  readonly hpa: HpaSpecV2;
  readonly current: number;
  readonly metrics: Metrics;
  readonly history?: History;
  readonly statusReplicas?: number;
  readonly readyPodCount?: number;
}

function run(row: Row) {
  return decide({
    hpa: row.hpa,
    currentReplicas: row.current,
    metrics: row.metrics,
    history: row.history ?? WARM,
    now: NOW,
    ...(row.statusReplicas === undefined ? {} : { statusReplicas: row.statusReplicas }),
    ...(row.readyPodCount === undefined ? {} : { readyPodCount: row.readyPodCount }),
  });
}

const recs = (...entries: [value: number, secondsAgo: number][]): History => ({
  ...WARM,
  recommendations: entries.map(([value, seconds]) => ({ value, at: ago(seconds) })),
});

describe("decide: per-metric proposals, tolerance, min/max (HPA docs 'Algorithm details')", () => {
  it.each<[string, Row, number, string]>([
    // the pool scenario: min 3, max 10, cpu 50%, 3 replicas at 100% → ceil(3 × 100/50)
    [
      "cpu 100% of a 50% target doubles 3 → 6",
      { hpa: cpu50, current: 3, metrics: { [CPU]: { value: 100 } } },
      6,
      "SuccessfulRescale",
    ],
    // docs: current 200m, desired 100m → ratio 2.0 doubles
    [
      "200m vs 100m doubles",
      { hpa: pods100m, current: 3, metrics: { [PODS]: { value: 0.2 } } },
      6,
      "SuccessfulRescale",
    ],
    // docs: current 50m, desired 100m → ratio 0.5 halves
    [
      "50m vs 100m halves",
      { hpa: pods100m, current: 4, metrics: { [PODS]: { value: 0.05 } } },
      2,
      "SuccessfulRescale",
    ],
    // docs: a ratio close enough to 1.0 skips scaling (52% → ratio 1.04, within 0.1)
    [
      "ratio 1.04 is inside the tolerance",
      { hpa: cpu50, current: 4, metrics: { [CPU]: { value: 52.5 } } },
      4,
      "ReadyForNewScale",
    ],
    // 47% → ratio 0.94, within 0.1
    [
      "ratio 0.94 is inside the tolerance",
      { hpa: cpu50, current: 4, metrics: { [CPU]: { value: 47 } } },
      4,
      "ReadyForNewScale",
    ],
    // 60% → ratio 1.2: ceil(5 × 1.2) = 6
    [
      "ratio 1.2 scales 5 → 6",
      { hpa: cpu50, current: 5, metrics: { [CPU]: { value: 60 } } },
      6,
      "SuccessfulRescale",
    ],
    // ceil(8 × 2) = 16 is clamped to maxReplicas
    [
      "clamped to maxReplicas 10",
      { hpa: cpu50, current: 8, metrics: { [CPU]: { value: 100 } } },
      10,
      "SuccessfulRescale",
    ],
    // ceil(4 × 0.2) = 1 is raised to minReplicas
    [
      "raised to minReplicas 3",
      { hpa: cpu50, current: 4, metrics: { [CPU]: { value: 10 } } },
      3,
      "SuccessfulRescale",
    ],
    // walkthrough (php-apache, 305% of 50%): without behavior a step is capped at max(2 × 1, 4)
    [
      "no behavior: up-scale capped at max(2×current, 4)",
      { hpa: cpu50min1, current: 1, metrics: { [CPU]: { value: 305 } } },
      4,
      "SuccessfulRescale",
    ],
    // the same with default behavior: Pods 4/15 s beats Percent 100/15 s → 1 + 4
    [
      "default behavior: up-scale capped at current + 4",
      { hpa: withDefaultBehavior, current: 1, metrics: { [CPU]: { value: 305 } } },
      5,
      "SuccessfulRescale",
    ],
    // docs: several metrics → the largest proposal (cpu says 6, pods says 8)
    [
      "several metrics: the largest wins",
      { hpa: cpuAndPods, current: 5, metrics: { [CPU]: { value: 60 }, [PODS]: { value: 0.15 } } },
      8,
      "SuccessfulRescale",
    ],
    // External AverageValue: ceil(total 30 / 5 per pod)
    [
      "External AverageValue: ceil(total / target)",
      { hpa: queuePerPod5, current: 3, metrics: { [QUEUE]: { value: 30 } } },
      6,
      "SuccessfulRescale",
    ],
    // tolerance checked against total / (target × status replicas) = 15.5 / 15
    [
      "External AverageValue inside the tolerance",
      { hpa: queuePerPod5, current: 3, metrics: { [QUEUE]: { value: 15.5 } } },
      3,
      "ReadyForNewScale",
    ],
    // External Value: ceil(4 ready × 15 / 10)
    [
      "External Value: ceil(ready × value / target)",
      { hpa: queueTotal10, current: 4, metrics: { [QUEUE]: { value: 15 } } },
      6,
      "SuccessfulRescale",
    ],
    // Object Value uses ready pods, not spec replicas: ceil(2 × 20k / 10k)
    [
      "Object Value scales by ready pods",
      { hpa: ingress10k, current: 3, readyPodCount: 2, metrics: { [INGRESS]: { value: 20_000 } } },
      4,
      "SuccessfulRescale",
    ],
    // a pod without a sample counts as 100% on a scale-down: (3 × 10 + 100) / 4 = 32% → ceil(0.64 × 4)
    [
      "a missing pod slows a scale-down",
      { hpa: cpu50min1, current: 4, metrics: { [CPU]: { value: 10, readyPods: 3, missingPods: 1 } } },
      3,
      "SuccessfulRescale",
    ],
    // the same without the missing pod: ceil(0.2 × 3)
    [
      "without missing pods the same sample halves further",
      { hpa: cpu50min1, current: 4, metrics: { [CPU]: { value: 10, readyPods: 3 } } },
      1,
      "SuccessfulRescale",
    ],
    // 2 of 4 ready at 60%: unready pods count 0 on an up-scale → 30%, the direction flips → no change
    [
      "unready pods stop a flipped decision",
      { hpa: cpu50min1, current: 4, metrics: { [CPU]: { value: 60, readyPods: 2, unreadyPods: 2 } } },
      4,
      "ReadyForNewScale",
    ],
    // the upstream quirk it guards: ratio 1.2 over 2 reporting pods proposes ceil(2.4) = 3 < 4
    [
      "only reporting pods count without the unready hint",
      { hpa: cpu50min1, current: 4, metrics: { [CPU]: { value: 60, readyPods: 2 } } },
      3,
      "SuccessfulRescale",
    ],
    // a target parked at 0 by hand disables the HPA
    [
      "zero replicas disables scaling",
      { hpa: cpu50, current: 0, metrics: { [CPU]: { value: 500 } } },
      0,
      "ScalingDisabled",
    ],
    // above maxReplicas → maxReplicas without looking at metrics
    [
      "above maxReplicas comes down to max",
      { hpa: cpu50, current: 12, metrics: {} },
      10,
      "SuccessfulRescale",
    ],
    // below minReplicas → minReplicas without looking at metrics
    ["below minReplicas comes up to min", { hpa: cpu50, current: 2, metrics: {} }, 3, "SuccessfulRescale"],
    // the only metric is missing → nothing to decide from
    [
      "a missing metric blocks the decision",
      { hpa: cpu50, current: 4, metrics: {} },
      4,
      "FailedComputeMetricsReplicas",
    ],
    // docs: failed metrics never block an up-scale the others ask for
    [
      "a failed metric does not block an up-scale",
      { hpa: cpuAndPods, current: 4, metrics: { [PODS]: { value: 0.2 } } },
      8,
      "SuccessfulRescale",
    ],
    // docs: …but they do block a scale-down
    [
      "a failed metric blocks a scale-down",
      { hpa: cpuAndPods, current: 4, metrics: { [PODS]: { value: 0.05 } } },
      4,
      "FailedComputeMetricsReplicas",
    ],
    // an observation carrying an error is a failed metric too
    [
      "an observation with an error fails",
      { hpa: cpu50, current: 4, metrics: { [CPU]: { error: "timeout" } } },
      4,
      "FailedComputeMetricsReplicas",
    ],
    // no scale-down right after a (re)start: the seed holds the current count for the window
    [
      "a cold start holds a scale-down",
      { hpa: cpu50, current: 6, metrics: { [CPU]: { value: 10 } }, history: EMPTY_HISTORY },
      6,
      "ScaleDownStabilized",
    ],
  ])("%s", (_name, row, desired, reason) => {
    const decision = run(row);
    expect(decision.desiredReplicas).toBe(desired);
    expect(decision.reason).toBe(reason);
    expect(decision.changed).toBe(desired !== row.current);
  });
});

describe("decide: behavior — stabilization and scaling policies (HPA docs 'Configurable scaling behavior')", () => {
  const downWindow300 = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleDown: { stabilizationWindowSeconds: 300 } },
  );
  const upWindow60 = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleUp: { stabilizationWindowSeconds: 60 } },
  );
  const tenPercentAtMostFive = external(
    { type: "AverageValue", averageValue: "1" },
    {
      scaleDown: {
        stabilizationWindowSeconds: 0,
        selectPolicy: "Min",
        policies: [
          { type: "Percent", value: 10, periodSeconds: 60 },
          { type: "Pods", value: 5, periodSeconds: 60 },
        ],
      },
    },
  );
  const downDisabled = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleDown: { selectPolicy: "Disabled" } },
  );
  const upDisabled = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleUp: { selectPolicy: "Disabled" } },
  );
  const upFast = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleUp: { policies: [{ type: "Percent", value: 900, periodSeconds: 60 }] } },
  );
  const upFourPerMinute = external(
    { type: "AverageValue", averageValue: "1" },
    { scaleUp: { policies: [{ type: "Pods", value: 4, periodSeconds: 60 }] } },
  );
  const downTwoPerMinute = external(
    { type: "AverageValue", averageValue: "1" },
    {
      scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: "Pods", value: 2, periodSeconds: 60 }] },
    },
  );
  const upEvent = (value: number, secondsAgo: number): History => ({
    ...WARM,
    scaleUpEvents: [{ value, at: ago(secondsAgo) }],
  });
  const queue = (total: number): Metrics => ({ [QUEUE]: { value: total } });

  it.each<[string, Row, number, string]>([
    // docs: scale-down takes the highest recommendation of the window (8 two minutes ago)
    [
      "down window keeps the highest recent recommendation",
      {
        hpa: downWindow300,
        current: 8,
        statusReplicas: 8,
        metrics: queue(4),
        history: recs([8, 200], [6, 100]),
      },
      8,
      "ScaleDownStabilized",
    ],
    // recommendations older than the window no longer count; default Percent 100/15 s allows the full step
    [
      "outside the window the scale-down happens",
      { hpa: downWindow300, current: 8, statusReplicas: 8, metrics: queue(4), history: recs([8, 400]) },
      4,
      "SuccessfulRescale",
    ],
    // a recent lower recommendation inside the up window holds the scale-up
    [
      "up window keeps the lowest recent recommendation",
      { hpa: upWindow60, current: 3, statusReplicas: 3, metrics: queue(6), history: recs([3, 30]) },
      3,
      "ScaleUpStabilized",
    ],
    // docs: Pods 4/60 and Percent 10/60, Max: 80 replicas lose 8 (10%) in the first minute
    [
      "docs: 80 → 72 under Pods 4 / Percent 10 per minute",
      { hpa: docsScaleDown, current: 80, statusReplicas: 80, metrics: queue(10) },
      72,
      "SuccessfulRescale",
    ],
    // selectPolicy Min picks the smallest change: Pods 4
    [
      "selectPolicy Min removes only 4",
      { hpa: docsScaleDownMin, current: 80, statusReplicas: 80, metrics: queue(10) },
      76,
      "SuccessfulRescale",
    ],
    // docs: 10% per minute but at most 5 pods (Min): 100 → 95
    [
      "docs: at most 5 pods per minute at 100",
      { hpa: tenPercentAtMostFive, current: 100, statusReplicas: 100, metrics: queue(10) },
      95,
      "SuccessfulRescale",
    ],
    // …and at 40 replicas the 10% floor (36) is the smaller change
    [
      "docs: 10% per minute at 40",
      { hpa: tenPercentAtMostFive, current: 40, statusReplicas: 40, metrics: queue(10) },
      36,
      "SuccessfulRescale",
    ],
    // docs: selectPolicy Disabled turns scale-down off
    [
      "scale-down disabled",
      { hpa: downDisabled, current: 8, statusReplicas: 8, metrics: queue(2), history: recs([2, 400]) },
      8,
      "ScaleDownLimit",
    ],
    // selectPolicy Disabled on scaleUp
    [
      "scale-up disabled",
      { hpa: upDisabled, current: 5, statusReplicas: 5, metrics: queue(10) },
      5,
      "ScaleUpLimit",
    ],
    // Percent 900 per minute: 1 replica may become 10 at once
    [
      "Percent 900 multiplies by ten",
      { hpa: upFast, current: 1, statusReplicas: 1, metrics: queue(20) },
      10,
      "SuccessfulRescale",
    ],
    // 4 already added 30 s ago: the period started at 4, so 8 is the cap and nothing more is allowed
    [
      "a recent scale-up uses up the period's budget",
      { hpa: upFourPerMinute, current: 8, statusReplicas: 8, metrics: queue(20), history: upEvent(4, 30) },
      8,
      "ScaleUpLimit",
    ],
    // …61 s later that event left the period
    [
      "after the period the budget is back",
      { hpa: upFourPerMinute, current: 8, statusReplicas: 8, metrics: queue(20), history: upEvent(4, 61) },
      12,
      "SuccessfulRescale",
    ],
    // replicas added within the period lower the period start for scale-down too: 8 − 4 + 0 − 2 = 2
    [
      "a recent scale-up lowers the scale-down floor",
      { hpa: downTwoPerMinute, current: 8, statusReplicas: 8, metrics: queue(1), history: upEvent(4, 30) },
      2,
      "SuccessfulRescale",
    ],
  ])("%s", (_name, row, desired, reason) => {
    const decision = run(row);
    expect(decision.desiredReplicas).toBe(desired);
    expect(decision.reason).toBe(reason);
  });

  it("docs: 80 → 10 with Pods 4 / Percent 10 per minute, one step per minute, history carried in the annotation", () => {
    let current = 80;
    let annotation: string | undefined;
    const sizes: number[] = [];
    for (let minute = 0; current > 10 && minute < 30; minute += 1) {
      const decision = decide({
        hpa: docsScaleDown,
        currentReplicas: current,
        statusReplicas: current,
        metrics: queue(10),
        history: annotation === undefined ? WARM : decodeHistory(annotation),
        now: new Date(NOW.getTime() + minute * 61_000),
      });
      annotation = encodeHistory(decision.history);
      current = decision.desiredReplicas;
      sizes.push(current);
    }
    // 10% while that is more than 4 pods, then 4 pods per minute (the largest change wins), then the target.
    expect(sizes).toEqual([72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]);
  });

  it("does not step again within the policy period when decisions come every 15 s", () => {
    let current = 80;
    let history: History = WARM;
    const sizes: number[] = [];
    for (const seconds of [0, 15, 30, 45, 61]) {
      const decision = decide({
        hpa: docsScaleDown,
        currentReplicas: current,
        statusReplicas: current,
        metrics: queue(10),
        history,
        now: new Date(NOW.getTime() + seconds * 1000),
      });
      history = decision.history;
      current = decision.desiredReplicas;
      sizes.push(current);
    }
    expect(sizes).toEqual([72, 72, 72, 72, 64]);
  });

  it("applies per-direction tolerances (KEP-4951)", () => {
    const tight = spec("v2-cpu", (s) => {
      s.behavior = { scaleUp: { tolerance: "0.05" }, scaleDown: { tolerance: "0.2" } };
    });
    const at = (value: number, current = 5) =>
      decide({ hpa: tight, currentReplicas: current, metrics: { [CPU]: { value } }, history: WARM, now: NOW })
        .desiredReplicas;
    expect(at(52)).toBe(5); // ratio 1.04 ≤ 1.05
    expect(at(53)).toBe(6); // ratio 1.06 > 1.05: ceil(5.3)
    expect(at(41)).toBe(5); // ratio 0.82 ≥ 0.8
    expect(at(39)).toBe(4); // ratio 0.78 < 0.8: ceil(3.9)
  });
});

describe("decide: conditions, status, events and history", () => {
  it("reports what the controller would after the 3 → 6 scale-up", () => {
    const decision = run({ hpa: cpu50, current: 3, metrics: { [CPU]: { value: 100, averageUsage: 0.5 } } });
    expect(decision.conditions).toEqual([
      {
        type: "AbleToScale",
        status: "True",
        reason: "SucceededRescale",
        message: "the HPA controller was able to update the target scale to 6",
      },
      {
        type: "ScalingActive",
        status: "True",
        reason: "ValidMetricFound",
        message:
          "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
      },
      {
        type: "ScalingLimited",
        status: "False",
        reason: "DesiredWithinRange",
        message: "the desired count is within the acceptable range",
      },
    ]);
    expect(decision.events).toEqual([
      {
        type: "Normal",
        reason: "SuccessfulRescale",
        message: "New size: 6; reason: cpu resource utilization (percentage of request) above target",
      },
    ]);
    expect(decision.currentMetrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", current: { averageUtilization: 100, averageValue: "500m" } },
      },
    ]);
    expect(decision.lastScaleTime).toBe("2025-06-01T12:00:00Z");
    expect(decision.history.lastScaleTime).toBe(NOW.getTime());
    expect(decision.history.recommendations).toContainEqual({ value: 6, at: NOW.getTime() });
    expect(decision.historyIfScaleFails.lastScaleTime).toBeNull();
  });

  it("sets ScalingLimited TooManyReplicas when maxReplicas cuts the proposal", () => {
    const decision = run({ hpa: cpu50, current: 8, metrics: { [CPU]: { value: 100 } } });
    expect(decision.conditions.find((c) => c.type === "ScalingLimited")).toMatchObject({
      status: "True",
      reason: "TooManyReplicas",
    });
  });

  it("records scale events only when the HPA has a behavior", () => {
    const legacy = run({ hpa: cpu50, current: 3, metrics: { [CPU]: { value: 100 } } });
    const withBehavior = run({ hpa: withDefaultBehavior, current: 3, metrics: { [CPU]: { value: 100 } } });
    expect(legacy.history.scaleUpEvents).toEqual([]);
    expect(withBehavior.history.scaleUpEvents).toEqual([{ value: 3, at: NOW.getTime() }]);
    expect(withBehavior.historyIfScaleFails.scaleUpEvents).toEqual([]);
  });

  it("explains a missing metric like the controller's condition and event", () => {
    const decision = run({ hpa: cpu50, current: 4, metrics: {} });
    expect(decision.conditions.find((c) => c.type === "ScalingActive")).toEqual({
      type: "ScalingActive",
      status: "False",
      reason: "FailedGetResourceMetric",
      message:
        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    });
    expect(decision.message).toBe(
      "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    );
    expect(decision.events.map((event) => event.reason)).toEqual([
      "FailedGetResourceMetric",
      "FailedComputeMetricsReplicas",
    ]);
    expect(decision.currentMetrics).toEqual([{ type: "" }]);
  });

  it("names an External metric with its selector as Go prints it", () => {
    const hpa = spec("v2-behavior");
    const decision = run({ hpa, current: 2, statusReplicas: 2, metrics: { [QUEUE]: { value: 6 } } });
    expect(decision.conditions.find((c) => c.type === "ScalingActive")?.message).toBe(
      "the HPA was able to successfully calculate a replica count from external metric queue_depth(&LabelSelector{MatchLabels:map[string]string{queue: orders,},MatchExpressions:[]LabelSelectorRequirement{},})",
    );
    expect(decision.currentMetrics).toEqual([
      {
        type: "External",
        external: {
          metric: { name: "queue_depth", selector: { matchLabels: { queue: "orders" } } },
          current: { averageValue: "3" },
        },
      },
    ]);
  });

  it("reports ScalingDisabled for a target at zero", () => {
    const decision = run({ hpa: cpu50, current: 0, metrics: { [CPU]: { value: 100 } } });
    expect(decision.conditions).toContainEqual({
      type: "ScalingActive",
      status: "False",
      reason: "ScalingDisabled",
      message: "scaling is disabled since the replica count of the target is zero",
    });
  });

  it("turns a failed scale write into FailedUpdateScale and FailedRescale", () => {
    const decision = run({ hpa: cpu50, current: 3, metrics: { [CPU]: { value: 100 } } });
    const failed = rescaleFailed(decision, "the server is currently unable to handle the request");
    expect(failed.conditions.find((c) => c.type === "AbleToScale")).toMatchObject({
      status: "False",
      reason: "FailedUpdateScale",
    });
    expect(failed.events).toEqual([
      {
        type: "Warning",
        reason: "FailedRescale",
        message:
          "New size: 6; reason: cpu resource utilization (percentage of request) above target; error: the server is currently unable to handle the request",
      },
    ]);
  });

  it("merges conditions into status, moving lastTransitionTime only when the status flips", () => {
    const stored = [
      {
        type: "AbleToScale",
        status: "True",
        reason: "ReadyForNewScale",
        message: "m",
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
      {
        type: "ScaledToZero",
        status: "False",
        reason: "NotScaledToZero",
        message: "m",
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
      {
        type: "ScalingActive",
        status: "True",
        reason: "ValidMetricFound",
        message: "m",
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
    ];
    const decision = run({ hpa: cpu50, current: 0, metrics: {} });
    const merged = mergeConditions(stored, decision.conditions, NOW);
    expect(merged.map((c) => [c.type, c.reason, c.lastTransitionTime])).toEqual([
      ["AbleToScale", "SucceededGetScale", "2025-01-01T00:00:00Z"],
      ["ScaledToZero", "NotScaledToZero", "2025-01-01T00:00:00Z"],
      ["ScalingActive", "ScalingDisabled", "2025-06-01T12:00:00Z"],
    ]);
  });
});
