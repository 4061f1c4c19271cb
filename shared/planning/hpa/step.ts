/**
 * `decideStep`: scaling for threshold alerts that carry no metric value. While the alert fires, add a step
 * ("+N" or "+P%" of current, rounded up, at least 1); once resolved, optionally remove a step. Both stay within
 * [minReplicas, maxReplicas], respect a cooldown since the last scale (from the persisted history), and a step
 * down also waits out the HPA's scale-down stabilization window: each firing decision records its proposal like
 * an HPA recommendation, so the count stays up until the window has passed since the alert last fired. Resolved
 * decisions record nothing: their proposals are relative to a size that is about to shrink, so they would hold
 * every later step for a whole window. selectPolicy Disabled blocks its direction.
 */
import type { HpaSpecV2, ScalingStep, StepScalingConfig } from "../../schemas/hpa";
import { DEFAULT_DOWNSCALE_STABILIZATION_SECONDS } from "../../schemas/hpa";
import { kubeTime } from "./conditions";
import type { History } from "./history";
import { recordRecommendation, recordScale, seedHistory } from "./history";
import { longestPeriods, longestWindowSeconds } from "./limits";

/** Input of one step decision. */
export interface StepInput {
  readonly hpa: HpaSpecV2;
  readonly currentReplicas: number;
  readonly alert: "firing" | "resolved";
  readonly config: StepScalingConfig;
  readonly history: History;
  readonly now: Date;
}

/** Outcome of one step decision (same meaning as the fields of `Decision`). */
export interface StepDecision {
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly changed: boolean;
  readonly reason: string;
  readonly message: string;
  readonly lastScaleTime: string | null;
  readonly history: History;
  readonly historyIfScaleFails: History;
}

/** Replicas one step adds or removes at the current count. */
export function stepSize(step: ScalingStep, currentReplicas: number): number {
  if (step.kind === "count") return step.count;
  return Math.max(1, Math.ceil((currentReplicas * step.percent) / 100));
}

function stepLabel(step: ScalingStep, sign: "+" | "-"): string {
  return step.kind === "count" ? `${sign}${step.count}` : `${sign}${step.percent}%`;
}

/** Decides one step for a firing or resolved threshold alert. */
export function decideStep(input: StepInput): StepDecision {
  const now = input.now.getTime();
  const { hpa, config, currentReplicas: current } = input;
  const seeded = seedHistory(input.history, current, now);
  const keep = (history: History, reason: string, message: string): StepDecision => ({
    currentReplicas: current,
    desiredReplicas: current,
    changed: false,
    reason,
    message,
    lastScaleTime: history.lastScaleTime === null ? null : kubeTime(history.lastScaleTime),
    history,
    historyIfScaleFails: history,
  });
  const scaleTo = (history: History, desired: number, why: string): StepDecision => ({
    currentReplicas: current,
    desiredReplicas: desired,
    changed: true,
    reason: "SuccessfulRescale",
    message: `New size: ${desired}; reason: ${why}`,
    lastScaleTime: kubeTime(now),
    history: recordScale(history, current, desired, now, longestPeriods(hpa.behavior)),
    historyIfScaleFails: history,
  });

  if (current === 0) {
    return keep(
      seeded,
      "ScalingDisabled",
      "scaling is disabled since the replica count of the target is zero",
    );
  }
  if (current > hpa.maxReplicas)
    return scaleTo(seeded, hpa.maxReplicas, "Current number of replicas above Spec.MaxReplicas");
  if (current < hpa.minReplicas)
    return scaleTo(seeded, hpa.minReplicas, "Current number of replicas below Spec.MinReplicas");

  const firing = input.alert === "firing";
  const step = firing ? config.stepUp : config.stepDown;
  if (step === undefined)
    return keep(seeded, "NoStepDown", "alert resolved; no stepDown configured, keeping the size");
  const proposal = firing
    ? Math.min(hpa.maxReplicas, current + stepSize(step, current))
    : Math.max(hpa.minReplicas, current - stepSize(step, current));
  const history = firing
    ? recordRecommendation(seeded, proposal, now, longestWindowSeconds(hpa.behavior))
    : seeded;
  const rules = firing ? hpa.behavior?.scaleUp : hpa.behavior?.scaleDown;

  if (rules?.selectPolicy === "Disabled") {
    const direction = firing ? "scaleUp" : "scaleDown";
    return keep(
      history,
      firing ? "ScaleUpLimit" : "ScaleDownLimit",
      `scaling is disabled by spec.behavior.${direction}.selectPolicy`,
    );
  }
  if (proposal === current) {
    return firing
      ? keep(history, "TooManyReplicas", `already at maxReplicas (${hpa.maxReplicas})`)
      : keep(history, "TooFewReplicas", `already at minReplicas (${hpa.minReplicas})`);
  }
  const last = seeded.lastScaleTime;
  const readyAt = last === null ? now : last + config.cooldownSeconds * 1000;
  if (now < readyAt) {
    return keep(
      history,
      "CooldownActive",
      `last scale at ${kubeTime(last ?? now)}; next step allowed from ${kubeTime(readyAt)}`,
    );
  }
  if (firing) return scaleTo(history, proposal, `alert firing, step ${stepLabel(step, "+")}`);

  const windowSeconds =
    hpa.behavior?.scaleDown.stabilizationWindowSeconds ?? DEFAULT_DOWNSCALE_STABILIZATION_SECONDS;
  const cutoff = now - windowSeconds * 1000;
  const highestRecent = seeded.recommendations.reduce(
    (highest, entry) => (entry.at > cutoff ? Math.max(highest, entry.value) : highest),
    proposal,
  );
  const stabilized = Math.min(current, highestRecent);
  if (stabilized === current) {
    return keep(
      history,
      "ScaleDownStabilized",
      "recent recommendations were higher than current one, applying the highest recent recommendation",
    );
  }
  return scaleTo(history, stabilized, `alert resolved, step ${stepLabel(step, "-")}`);
}
