/**
 * A plain JSON metric push at `POST /hooks/metrics`, for anything that can `curl`: a list of samples, each naming
 * a pool and carrying a value. Our own format, so it is strict (a misspelt key is a 400, not a silent default).
 * A sample with an `id` is de-duplicated by it; one without is a fresh observation every time. Auth: the shared
 * token as bearer or basic-auth password.
 *
 * ```json
 * { "samples": [ { "namespace": "default", "pool": "vm-pool-cirros", "metric": "cpu", "value": 100, "id": "s-1" } ] }
 * ```
 */
import { z } from "zod";
import { requireToken } from "../auth";
import { type AlertMapping, parsePayload, resolveTarget, type Signal } from "../signal";
import type { SignalSource } from "./types";

const SampleSchema = z.strictObject({
  namespace: z.string().min(1).optional(),
  pool: z.string().min(1),
  kind: z.string().min(1).optional(),
  metric: z.string().min(1).optional(),
  value: z.number().min(0, "must not be negative"),
  id: z.string().min(1).max(256).optional(),
});

/** The push payload. */
export const MetricPushSchema = z.strictObject({
  samples: z.array(SampleSchema).min(1).max(1000),
});
export type MetricPush = z.infer<typeof MetricPushSchema>;

function sampleKeys(mapping: AlertMapping): AlertMapping {
  return { ...mapping, poolLabel: "pool", namespaceLabel: "namespace", kindLabel: "kind" };
}

export const metricPushSource: SignalSource = {
  name: "metric-push",
  path: "/hooks/metrics",
  // The token travels in a header, so the headers alone decide.
  authenticateHeaders(headers, context) {
    requireToken(headers, context.token, "the metrics webhook token (alertmanagerToken)");
  },
  authenticate(delivery, context) {
    requireToken(delivery, context.token, "the metrics webhook token (alertmanagerToken)");
  },
  parse(body, context) {
    const { mapping } = context;
    return parsePayload(MetricPushSchema, body, "body").samples.map((sample, index): Signal => {
      // The sample's own keys play the labels' part, so defaults (namespace, kind) and errors come out the same.
      const labels: Record<string, string> = { pool: sample.pool };
      if (sample.namespace !== undefined) labels.namespace = sample.namespace;
      if (sample.kind !== undefined) labels.kind = sample.kind;
      const target = resolveTarget(labels, sampleKeys(mapping), `samples.${index}`);
      const metric = sample.metric ?? mapping.defaultMetric;
      return {
        source: "metric-push",
        id: sample.id ?? `${metric}@${target.namespace}/${target.name}`,
        target,
        metric,
        kind: "observation",
        value: sample.value,
        ...(sample.id === undefined ? {} : { deliveryKey: `push|${sample.id}` }),
      };
    });
  },
};
