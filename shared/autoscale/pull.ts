/**
 * Reading current metrics from the configured pull sources for a batch of HPAs: each metric goes to the first
 * configured source that handles it, each source is asked once for all its targets (so a pass costs a source's
 * few requests, not a few per HPA), and a source that fails fails only the metrics it handles, with its message
 * as the HPA's FailedGet…Metric detail. Targets none of whose metrics a source handles get no observation.
 */
import { metricKey, type ObservedMetric } from "../planning/hpa";
import type { PullContext, PullObservation, PullSource, PullTarget } from "./sources/types";

/** The observations of `targets`, aligned with them; undefined where no configured source handles any metric. */
export async function pullMetrics(
  sources: readonly PullSource[],
  targets: readonly PullTarget[],
  context: PullContext,
): Promise<(PullObservation | undefined)[]> {
  const owner = targets.map((target) =>
    target.spec.metrics.map((metric) => sources.find((source) => source.handles(metric, target.hpa))),
  );
  const merged: ({ metrics: Record<string, ObservedMetric>; readyPodCount?: number } | undefined)[] =
    targets.map((_, i) => (owner[i]?.some((source) => source !== undefined) ? { metrics: {} } : undefined));
  await Promise.all(
    sources.map(async (source) => {
      const indexes = targets.flatMap((_, i) => (owner[i]?.includes(source) ? [i] : []));
      if (indexes.length === 0) return;
      const batch = indexes.map((i) => targets[i] as PullTarget);
      let observations: readonly PullObservation[];
      try {
        observations = await source.observe(batch, context);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        context.log.warn({ source: source.name, err: error }, "pull source failed");
        observations = batch.map(() => ({ metrics: {} }));
        indexes.forEach((i) => {
          const into = merged[i];
          const target = targets[i] as PullTarget;
          target.spec.metrics.forEach((metric, m) => {
            if (into && owner[i]?.[m] === source) into.metrics[metricKey(metric)] = { error };
          });
        });
      }
      indexes.forEach((i, n) => {
        const into = merged[i];
        const observed = observations[n];
        const target = targets[i] as PullTarget;
        if (!into || !observed) return;
        target.spec.metrics.forEach((metric, m) => {
          const key = metricKey(metric);
          const value = observed.metrics[key];
          if (owner[i]?.[m] === source && value !== undefined) into.metrics[key] = value;
        });
        if (into.readyPodCount === undefined && observed.readyPodCount !== undefined)
          into.readyPodCount = observed.readyPodCount;
      });
    }),
  );
  return merged;
}
