/**
 * What an autoscale decision adds to its pool's scaling history: the HPA's decision (scaled, or unchanged with
 * the HPA's reason, or a rescale that failed) with the metric values it was made on, current over target
 * (`cpu 100%/50%`). The scheduled pass repeats steady decisions every interval; `appendEntries` coalesces a
 * repeat into the entry that already says so, and a decision that only refreshed the HPA's history is not even
 * read for. Pure, except `recordAutoscaleHistory`.
 */
import { z } from "zod";
import { type EntryInput, POOL_API_VERSIONS, recordHistory } from "../history";
import type { Kube, Scale } from "../kube";
import type { Logger } from "../log";
import type { MetricStatus } from "../planning/hpa";
import type { PoolRef } from "../reconcile";
import type { Decided } from "./decide";
import type { AlertResult } from "./usecase";

const QuantitiesSchema = z.looseObject({
  averageUtilization: z.number().nullish(),
  averageValue: z.union([z.string(), z.number()]).nullish(),
  value: z.union([z.string(), z.number()]).nullish(),
});

const MetricSourceSchema = z.looseObject({
  name: z.string().nullish(),
  metric: z.looseObject({ name: z.string().nullish() }).nullish(),
  current: QuantitiesSchema.nullish(),
  target: QuantitiesSchema.nullish(),
});

/** The metric's source: the field named after its type (`resource`, `pods`, `object`, …), or the metric itself. */
function sourceOf(metric: unknown): z.infer<typeof MetricSourceSchema> | undefined {
  const typed = z.looseObject({ type: z.string() }).safeParse(metric);
  if (!typed.success || typed.data.type === "") return undefined;
  const key = `${typed.data.type.charAt(0).toLowerCase()}${typed.data.type.slice(1)}`;
  // Statuses nest the source under its type's field; normalized specs (shared/schemas `normalizeHpa`) are flat.
  const source = MetricSourceSchema.safeParse(typed.data[key] ?? metric);
  return source.success ? source.data : undefined;
}

function quantity(q: z.infer<typeof QuantitiesSchema> | null | undefined): string | undefined {
  if (!q) return undefined;
  if (typeof q.averageUtilization === "number") return `${q.averageUtilization}%`;
  const v = q.averageValue ?? q.value;
  return v === undefined || v === null ? undefined : String(v);
}

/** `cpu 100%/50%, requests 40/50`: each metric's current value over its target; failed metrics are `?`. */
export function formatMetrics(current: readonly MetricStatus[], specMetrics: readonly unknown[]): string {
  return current
    .map((status, i) => {
      const source = sourceOf(status);
      const spec = sourceOf(specMetrics[i]);
      const name =
        source?.name ?? source?.metric?.name ?? spec?.name ?? spec?.metric?.name ?? `metric ${i + 1}`;
      const target = quantity(spec?.target);
      return `${name} ${quantity(source?.current) ?? "?"}${target ? `/${target}` : ""}`;
    })
    .join(", ");
}

/** The entry for one decision and what came of it. */
export function decisionEntry(
  hpaName: string,
  decision: Decided,
  result: Pick<AlertResult, "outcome" | "reason" | "message">,
  specMetrics: readonly unknown[],
  scale: Scale,
): EntryInput {
  const metrics = formatMetrics(decision.currentMetrics, specMetrics);
  const scaled = result.outcome === "Scaled";
  return {
    kind: "hpa",
    actor: hpaName,
    from: decision.currentReplicas,
    to: scaled ? decision.desiredReplicas : decision.currentReplicas,
    decision: scaled ? "scaled" : "unchanged",
    reason: result.reason,
    message:
      result.outcome === "Failed"
        ? `could not scale to ${decision.desiredReplicas}: ${result.message}`
        : decision.message,
    ...(metrics === "" ? {} : { metrics }),
    ...(scale.status?.replicas === undefined ? {} : { current: scale.status.replicas }),
  };
}

/** Best effort, after the decision's writes: never fails the decision. */
export async function recordAutoscaleHistory(
  deps: { readonly kube: Kube; readonly log: Logger; readonly now: () => Date },
  ref: PoolRef,
  scale: Scale,
  entry: EntryInput,
): Promise<void> {
  const uid =
    scale.metadata.uid ??
    (await deps.kube.get(ref.kind, ref.namespace, ref.name).catch(() => undefined))?.metadata.uid;
  if (!uid) return;
  await recordHistory(deps, { ref, apiVersion: POOL_API_VERSIONS[ref.kind], uid }, () => [entry]);
}
