/**
 * Resource metrics decided from per-pod samples, as upstream `GetResourceReplicas` / `calcPlainMetricReplicas`
 * (kubernetes `pkg/controller/podautoscaler/replica_calculator.go`) compute them: utilization is summed usage over
 * summed requests of the ready pods (so unequal requests weigh as they should), missing pods count as the target
 * (at least 100%) on a scale-down and 0 on a scale-up, unready pods as 0 on a scale-up, tolerance 0.1, and a pod
 * set with no usable sample is an error that can block a scale-down but never a scale-up.
 */
import { describe, expect, it } from "vitest";
import { decide, type ObservedMetric, type ResourcePodSamples } from "../../shared/planning/hpa";
import { NOW, spec, WARM } from "./hpa-fixtures";

const CPU = "Resource/cpu";
const ready = (usage: number, request = 100) => ({ usage, request });
const pods = (p: Partial<ResourcePodSamples>): ObservedMetric => ({
  pods: { ready: p.ready ?? [], missing: p.missing ?? [], unready: p.unready ?? [] },
});

function decideCpu(current: number, observed: ObservedMetric, target = 50, max = 20) {
  const hpa = spec("v2-cpu", (s) => {
    s.minReplicas = 1;
    s.maxReplicas = max;
    s.metrics[0].resource.target.averageUtilization = target;
  });
  return decide({ hpa, currentReplicas: current, metrics: { [CPU]: observed }, history: WARM, now: NOW });
}

describe("Resource metrics from per-pod samples (replica_calculator.go)", () => {
  it.each([
    // 3 pods at exactly the target: within tolerance.
    { current: 3, observed: pods({ ready: [ready(50), ready(50), ready(50)] }), desired: 3 },
    // 100% against 50%: twice the ready pods.
    { current: 3, observed: pods({ ready: [ready(100), ready(100), ready(100)] }), desired: 6 },
    // 10% over the target is still within the default tolerance 0.1.
    { current: 4, observed: pods({ ready: [ready(55), ready(55), ready(55), ready(55)] }), desired: 4 },
    // Unequal requests: 200m used of 400m requested is 50%, not the 66% a mean of per-pod percentages gives.
    { current: 2, observed: pods({ ready: [ready(100, 100), ready(100, 300)] }), desired: 2 },
    // A scale-down with a missing pod: it counts as 100% of its request, 55% → within tolerance, hold at 4.
    {
      current: 4,
      observed: pods({ ready: [ready(40), ready(40), ready(40)], missing: [{ request: 100 }] }),
      desired: 4,
    },
    // The same samples without the missing pod: ceil(0.8 × 3) = 3.
    { current: 3, observed: pods({ ready: [ready(40), ready(40), ready(40)] }), desired: 3 },
    // A scale-up with an unready pod: it counts as 0 of its 300m, 65% → ceil(1.3 × 2) = 3 (not 11).
    { current: 2, observed: pods({ ready: [ready(260)], unready: [{ request: 300 }] }), desired: 3 },
    // A scale-up with a missing pod: 0 usage; 150m of 200m = 75% → ceil(1.5 × 2) = 3.
    { current: 2, observed: pods({ ready: [ready(150)], missing: [{ request: 100 }] }), desired: 3 },
    // A scale-down whose missing pods turn the ratio above 1 changes direction: hold.
    {
      current: 3,
      observed: pods({ ready: [ready(30)], missing: [{ request: 100 }, { request: 100 }] }),
      desired: 3,
    },
  ])("$current pods → $desired", ({ current, observed, desired }) => {
    expect(decideCpu(current, observed).desiredReplicas).toBe(desired);
  });

  it("reports the controller's status values: integer utilization and the raw average usage", () => {
    const decision = decideCpu(3, pods({ ready: [ready(101, 101), ready(101, 101), ready(101, 101)] }));
    expect(decision.currentMetrics[0]).toEqual({
      type: "Resource",
      resource: { name: "cpu", current: { averageUtilization: 100, averageValue: "101m" } },
    });
  });

  it("truncates utilization as upstream's integer division does (100m of 300m is 33%)", () => {
    const decision = decideCpu(3, pods({ ready: [ready(100, 300)] }), 50);
    expect(decision.currentMetrics[0]).toMatchObject({ resource: { current: { averageUtilization: 33 } } });
    // 33 / 50 = 0.66 → ceil(0.66 × 1) = 1.
    expect(decision.desiredReplicas).toBe(1);
  });

  it("no ready sample is FailedGetResourceMetric with the calculator's own error, and blocks a scale-down", () => {
    const decision = decideCpu(4, pods({ unready: [{ request: 100 }] }));
    expect(decision.changed).toBe(false);
    expect(decision.conditions.find((c) => c.type === "ScalingActive")).toMatchObject({
      status: "False",
      reason: "FailedGetResourceMetric",
      message:
        "the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)",
    });
  });

  it("a compute error (a missing request) is not worded as a fetch failure", () => {
    const decision = decideCpu(3, {
      error: "missing request for cpu in container compute of Pod virt-launcher-a-1",
      errorStage: "compute",
    });
    expect(decision.events[0]?.message).toBe(
      "failed to get cpu utilization: missing request for cpu in container compute of Pod virt-launcher-a-1",
    );
  });

  it("a fetch error is wrapped as upstream wraps the metrics API's errors", () => {
    const decision = decideCpu(3, { error: "unable to fetch metrics from resource metrics API: 404" });
    expect(decision.events[0]?.message).toBe(
      "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: 404",
    );
  });

  it("AverageValue targets average the usage over the ready pods (requests do not matter)", () => {
    const hpa = spec("v2-cpu", (s) => {
      s.minReplicas = 1;
      s.metrics[0].resource.target = { type: "AverageValue", averageValue: "100m" };
    });
    const decision = decide({
      hpa,
      currentReplicas: 2,
      metrics: { [CPU]: pods({ ready: [ready(300, 1), ready(100, 1000)] }) },
      history: WARM,
      now: NOW,
    });
    expect(decision.desiredReplicas).toBe(4);
    expect(decision.currentMetrics[0]).toMatchObject({ resource: { current: { averageValue: "200m" } } });
  });
});
