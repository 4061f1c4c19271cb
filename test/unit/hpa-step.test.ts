import { describe, expect, it } from "vitest";
import type { History } from "../../shared/planning/hpa";
import { decideStep, EMPTY_HISTORY } from "../../shared/planning/hpa";
import type { StepScalingConfigInput } from "../../shared/schemas/hpa";
import { StepScalingConfigSchema } from "../../shared/schemas/hpa";
import { ago, NOW, spec, WARM } from "./hpa-fixtures";

const cpu = spec("v2-cpu"); // min 3, max 10, no behavior (300 s scale-down window)
const downDisabled = spec("v2-cpu", (s) => {
  s.behavior = { scaleDown: { selectPolicy: "Disabled" } };
});

const config = (input: StepScalingConfigInput) => StepScalingConfigSchema.parse(input);
const twoUpOneDown = config({ stepUp: "+2", stepDown: "-1", cooldownSeconds: 300 });
const scaledAgo = (seconds: number): History => ({ ...WARM, lastScaleTime: ago(seconds) });
const recommended = (value: number, seconds: number): History => ({
  ...WARM,
  recommendations: [{ value, at: ago(seconds) }],
});

describe("decideStep", () => {
  it.each<[string, Parameters<typeof decideStep>[0], number, string]>([
    // firing adds the fixed step
    [
      "firing adds +2",
      { hpa: cpu, currentReplicas: 3, alert: "firing", config: twoUpOneDown, history: WARM, now: NOW },
      5,
      "SuccessfulRescale",
    ],
    // a percentage rounds up: 50% of 3 → 2
    [
      "+50% of 3 adds 2",
      {
        hpa: cpu,
        currentReplicas: 3,
        alert: "firing",
        config: config({ stepUp: "+50%" }),
        history: WARM,
        now: NOW,
      },
      5,
      "SuccessfulRescale",
    ],
    // a tiny percentage still adds one
    [
      "+10% of 3 adds at least 1",
      {
        hpa: cpu,
        currentReplicas: 3,
        alert: "firing",
        config: config({ stepUp: "+10%" }),
        history: WARM,
        now: NOW,
      },
      4,
      "SuccessfulRescale",
    ],
    // the step stops at maxReplicas
    [
      "9 + 2 stops at max 10",
      { hpa: cpu, currentReplicas: 9, alert: "firing", config: twoUpOneDown, history: WARM, now: NOW },
      10,
      "SuccessfulRescale",
    ],
    // already at max
    [
      "at max nothing to add",
      { hpa: cpu, currentReplicas: 10, alert: "firing", config: twoUpOneDown, history: WARM, now: NOW },
      10,
      "TooManyReplicas",
    ],
    // a redelivered alert inside the cooldown does nothing
    [
      "inside the cooldown",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "firing",
        config: twoUpOneDown,
        history: scaledAgo(100),
        now: NOW,
      },
      5,
      "CooldownActive",
    ],
    // once the cooldown passed the next step happens
    [
      "after the cooldown",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "firing",
        config: twoUpOneDown,
        history: scaledAgo(300),
        now: NOW,
      },
      7,
      "SuccessfulRescale",
    ],
    // resolved without a step down keeps the size
    [
      "resolved without stepDown",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "resolved",
        config: config({ stepUp: "+1" }),
        history: WARM,
        now: NOW,
      },
      5,
      "NoStepDown",
    ],
    // a firing proposal (7) a minute ago holds the step down for the HPA's 300 s window
    [
      "resolved inside the scale-down window",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "resolved",
        config: twoUpOneDown,
        history: recommended(7, 60),
        now: NOW,
      },
      5,
      "ScaleDownStabilized",
    ],
    // after the window the step down happens
    [
      "resolved after the window",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "resolved",
        config: twoUpOneDown,
        history: recommended(7, 301),
        now: NOW,
      },
      4,
      "SuccessfulRescale",
    ],
    // the step down stops at minReplicas
    [
      "at min nothing to remove",
      { hpa: cpu, currentReplicas: 3, alert: "resolved", config: twoUpOneDown, history: WARM, now: NOW },
      3,
      "TooFewReplicas",
    ],
    // selectPolicy Disabled blocks the step down
    [
      "scale-down disabled by the HPA behavior",
      {
        hpa: downDisabled,
        currentReplicas: 5,
        alert: "resolved",
        config: twoUpOneDown,
        history: WARM,
        now: NOW,
      },
      5,
      "ScaleDownLimit",
    ],
    // a cold start seeds the current size, which holds a step down
    [
      "cold start holds a step down",
      {
        hpa: cpu,
        currentReplicas: 5,
        alert: "resolved",
        config: twoUpOneDown,
        history: EMPTY_HISTORY,
        now: NOW,
      },
      5,
      "ScaleDownStabilized",
    ],
    // a target parked at zero stays there
    [
      "zero replicas is left alone",
      { hpa: cpu, currentReplicas: 0, alert: "firing", config: twoUpOneDown, history: WARM, now: NOW },
      0,
      "ScalingDisabled",
    ],
    // out of range is corrected regardless of the alert and the cooldown
    [
      "above max comes back to max",
      {
        hpa: cpu,
        currentReplicas: 12,
        alert: "firing",
        config: twoUpOneDown,
        history: scaledAgo(1),
        now: NOW,
      },
      10,
      "SuccessfulRescale",
    ],
  ])("%s", (_name, input, desired, reason) => {
    const decision = decideStep(input);
    expect(decision.desiredReplicas).toBe(desired);
    expect(decision.reason).toBe(reason);
    expect(decision.changed).toBe(desired !== input.currentReplicas);
  });

  it("steps up once per cooldown while firing and back down after the window once resolved", () => {
    const stepping = config({ stepUp: "+2", stepDown: "-2", cooldownSeconds: 120 });
    let current = 3;
    let history: History = WARM;
    const sizes: number[] = [];
    const alerts = [...Array<"firing">(6).fill("firing"), ...Array<"resolved">(10).fill("resolved")];
    alerts.forEach((alert, minute) => {
      const decision = decideStep({
        hpa: cpu,
        currentReplicas: current,
        alert,
        config: stepping,
        history,
        now: new Date(NOW.getTime() + minute * 60_000),
      });
      history = decision.history;
      current = decision.desiredReplicas;
      sizes.push(current);
    });
    // Up every 2 minutes while firing (the last firing proposal, 10, comes at minute 5 inside the cooldown); down
    // waits until 300 s after that proposal, then steps every 2 minutes to minReplicas.
    expect(sizes).toEqual([5, 5, 7, 7, 9, 9, 9, 9, 9, 9, 7, 7, 5, 5, 3, 3]);
  });
});
