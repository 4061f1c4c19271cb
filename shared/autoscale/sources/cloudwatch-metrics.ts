/**
 * The CloudWatch pull source: External (and Object) metrics of HPAs read with `GetMetricData`, one call for every
 * target of a pass (up to 500 queries per call, pages followed), the newest datapoint of each query being the
 * observation. The query for a metric is named on the HPA (annotation `vmpool-functions.io/cloudwatch-queries`,
 * JSON, wins) or in `VMPOOL_CLOUDWATCH_QUERIES`: a metric (`namespace`, `metricName`, `dimensions`, `stat`,
 * `periodSeconds`) or a metric-math / Metrics Insights `expression`. Dimension values and expressions take the
 * placeholders `{{namespace}}` and `{{pool}}`; the HPA metric's `selector.matchLabels` add dimensions. No
 * datapoint, a failed query or a failed call is the metric's error, never a value (as the HPA: it can block a
 * scale-down, never cause a scale-up). This module is the only one that imports the CloudWatch SDK client.
 * Facts: CloudWatch API reference `GetMetricData`, `MetricDataQuery`, `MetricDataResult`.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { z } from "zod";
import { describeIssue } from "../../config";
import { ReasonedError } from "../../errors";
import { metricKey, type ObservedMetric } from "../../planning/hpa";
import { FIRST_ISSUE, type NormalizedMetric } from "../../schemas";
import type { HpaObject } from "../policy";
import { type NamedQuery, namedQuery, renderQuery } from "./named-queries";
import type { PullContext, PullObservation, PullSource, PullTarget } from "./types";

/** On an HPA: JSON `{"<metric name>": <query>}`; wins over `VMPOOL_CLOUDWATCH_QUERIES`. */
export const CLOUDWATCH_QUERIES_ANNOTATION = "vmpool-functions.io/cloudwatch-queries";

/** GetMetricData accepts at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;
const MAX_PAGES = 10;

const period = z.number().int().min(1).max(86_400).default(60);
const emptyValue = z.number().min(0).optional();

const MetricQuerySchema = z.strictObject({
  namespace: z.string().min(1).max(255),
  metricName: z.string().min(1).max(255),
  dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).default({}),
  stat: z.string().min(1).max(64).default("Average"),
  periodSeconds: period,
  /** The value to use when CloudWatch has no datapoint (KEDA's `minMetricValue`); unset: the metric is unavailable. */
  emptyValue,
});
const ExpressionQuerySchema = z.strictObject({
  expression: z.string().min(1).max(2048),
  periodSeconds: period,
  emptyValue,
});

/** One named CloudWatch query. */
export const CloudWatchQuerySchema = z.union([MetricQuerySchema, ExpressionQuerySchema]);
export type CloudWatchQuery = z.output<typeof CloudWatchQuerySchema>;
export const CloudWatchQueriesSchema = z.record(z.string().min(1).max(253), CloudWatchQuerySchema);
export type CloudWatchQueries = z.output<typeof CloudWatchQueriesSchema>;

export interface CloudWatchSettings {
  readonly region: string | undefined;
  readonly queries: CloudWatchQueries;
  /** How far back datapoints are looked for, in periods of the query. */
  readonly lookbackPeriods: number;
  /** Another endpoint than the service's (an emulator). */
  readonly endpoint?: string | undefined;
}

const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const queriesJson = z.string().transform((text, ctx): CloudWatchQueries => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not JSON" });
    return z.NEVER;
  }
  const parsed = CloudWatchQueriesSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: describeIssue(parsed.error, "queries") });
    return z.NEVER;
  }
  return parsed.data;
});

export const cloudwatchEnvSchema = z.object({
  VMPOOL_CLOUDWATCH_QUERIES: optional(queriesJson),
  VMPOOL_CLOUDWATCH_REGION: optional(z.string().min(1)),
  AWS_REGION: optional(z.string().min(1)),
  VMPOOL_CLOUDWATCH_LOOKBACK_PERIODS: optional(z.coerce.number().int().min(1).max(1440)),
  VMPOOL_CLOUDWATCH_ENDPOINT: optional(z.url({ protocol: /^https?$/ })),
});

/** The settings from the environment (errors name the variable). */
export function cloudwatchSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): CloudWatchSettings {
  const parsed = cloudwatchEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  const e = parsed.data;
  return {
    region: e.VMPOOL_CLOUDWATCH_REGION ?? e.AWS_REGION,
    queries: e.VMPOOL_CLOUDWATCH_QUERIES ?? {},
    lookbackPeriods: e.VMPOOL_CLOUDWATCH_LOOKBACK_PERIODS ?? 5,
    endpoint: e.VMPOOL_CLOUDWATCH_ENDPOINT,
  };
}

function lookupQuery(hpa: HpaObject, queries: CloudWatchQueries, name: string): NamedQuery<CloudWatchQuery> {
  return namedQuery(hpa, CLOUDWATCH_QUERIES_ANNOTATION, CloudWatchQueriesSchema, queries, name);
}

type CustomMetric = NormalizedMetric & { readonly type: "External" | "Object" };

function isCustom(metric: NormalizedMetric): metric is CustomMetric {
  return metric.type === "External" || metric.type === "Object";
}

/** The MetricDataQuery for one metric of one target, or why there is none. */
export function metricDataQuery(
  id: string,
  query: CloudWatchQuery,
  metric: CustomMetric,
  target: PullTarget,
): MetricDataQuery | { error: string } {
  const values = { namespace: target.target.namespace, pool: target.target.name, kind: target.target.kind };
  try {
    if ("expression" in query) {
      return {
        Id: id,
        Expression: renderQuery(query.expression, values),
        Period: query.periodSeconds,
        ReturnData: true,
      };
    }
    if ((metric.selector?.matchExpressions ?? []).length > 0) {
      return { error: "CloudWatch dimensions are equalities: use selector.matchLabels only" };
    }
    const dimensions = { ...query.dimensions, ...metric.selector?.matchLabels };
    return {
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: query.namespace,
          MetricName: query.metricName,
          Dimensions: Object.entries(dimensions)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([Name, value]) => ({ Name, Value: renderQuery(value, values) })),
        },
        Period: query.periodSeconds,
        Stat: query.stat,
      },
      ReturnData: true,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** What this module reads of a GetMetricData answer (the SDK's output, checked at the edge all the same). */
const ResultSchema = z.looseObject({
  Id: z.string(),
  Values: z.array(z.number()).optional(),
  Timestamps: z.array(z.union([z.date(), z.string()])).optional(),
  StatusCode: z.string().optional(),
  Messages: z.array(z.looseObject({ Code: z.string().optional(), Value: z.string().optional() })).optional(),
});
const OutputSchema = z.looseObject({
  MetricDataResults: z.array(ResultSchema).optional(),
  NextToken: z.string().optional(),
});
type Result = z.infer<typeof ResultSchema>;

function observationOf(result: Result | undefined, query: CloudWatchQuery): ObservedMetric {
  if (result?.StatusCode === "InternalError" || result?.StatusCode === "Forbidden") {
    const why = (result.Messages ?? []).map((m) => m.Value ?? m.Code).join("; ");
    return { error: `CloudWatch query failed (${result.StatusCode})${why ? `: ${why}` : ""}` };
  }
  const values = result?.Values ?? [];
  const stamps = (result?.Timestamps ?? []).map((t) => new Date(t).getTime());
  // The newest datapoint: answers are newest first (ScanBy TimestampDescending), but pages may interleave.
  let newest: { at: number; value: number } | undefined;
  values.forEach((value, i) => {
    const at = stamps[i] ?? 0;
    if (newest === undefined || at > newest.at) newest = { at, value };
  });
  if (newest === undefined) {
    return query.emptyValue === undefined
      ? { error: "CloudWatch returned no datapoints" }
      : { value: query.emptyValue };
  }
  if (!Number.isFinite(newest.value) || newest.value < 0)
    return { error: `CloudWatch value ${newest.value} is not usable` };
  return { value: newest.value };
}

export interface CloudWatchSourceOptions {
  /** Settings, or a function read on first use (the registered source reads the environment). */
  readonly settings: CloudWatchSettings | (() => CloudWatchSettings);
  /** The client (tests stub its `send`); default: one created on first use. */
  readonly client?: CloudWatchClient;
}

/** The CloudWatch GetMetricData pull source. */
export function cloudwatchPullSource(options: CloudWatchSourceOptions): PullSource {
  let settings: CloudWatchSettings | undefined;
  let client: CloudWatchClient | undefined = options.client;
  const current = () => {
    settings ??= typeof options.settings === "function" ? options.settings() : options.settings;
    return settings;
  };
  const clientOf = (s: CloudWatchSettings) => {
    client ??= new CloudWatchClient({
      ...(s.region === undefined ? {} : { region: s.region }),
      ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
      maxAttempts: 3,
    });
    return client;
  };
  return {
    name: "cloudwatch",
    handles(metric, hpa) {
      return isCustom(metric) && lookupQuery(hpa, current().queries, metric.name) !== undefined;
    },
    async observe(targets, context: PullContext): Promise<readonly PullObservation[]> {
      const s = current();
      const out: Record<string, ObservedMetric>[] = targets.map(() => ({}));
      const pending: {
        id: string;
        target: number;
        key: string;
        query: CloudWatchQuery;
        request: MetricDataQuery;
      }[] = [];
      targets.forEach((target, t) => {
        target.spec.metrics.forEach((metric, m) => {
          if (!isCustom(metric)) return;
          const found = lookupQuery(target.hpa, s.queries, metric.name);
          if (found === undefined) return;
          const key = metricKey(metric);
          if ("error" in found) {
            out[t] = { ...out[t], [key]: { error: found.error } };
            return;
          }
          const id = `q${t}_${m}`;
          const request = metricDataQuery(id, found.query, metric, target);
          if ("error" in request) out[t] = { ...out[t], [key]: { error: request.error } };
          else pending.push({ id, target: t, key, query: found.query, request });
        });
      });
      for (let start = 0; start < pending.length; start += MAX_QUERIES_PER_CALL) {
        const batch = pending.slice(start, start + MAX_QUERIES_PER_CALL);
        const longest = Math.max(...batch.map((q) => q.query.periodSeconds));
        const end = context.now;
        const begin = new Date(end.getTime() - longest * 1000 * s.lookbackPeriods);
        const results = new Map<string, Result>();
        let failure: string | undefined;
        try {
          let token: string | undefined;
          for (let page = 0; page < MAX_PAGES; page++) {
            const raw = await clientOf(s).send(
              new GetMetricDataCommand({
                MetricDataQueries: batch.map((q) => q.request),
                StartTime: begin,
                EndTime: end,
                ScanBy: "TimestampDescending",
                ...(token === undefined ? {} : { NextToken: token }),
              }),
            );
            const parsed = OutputSchema.safeParse(raw, FIRST_ISSUE);
            if (!parsed.success)
              throw new Error(`unexpected GetMetricData answer: ${describeIssue(parsed.error, "output")}`);
            for (const result of parsed.data.MetricDataResults ?? []) {
              const seen = results.get(result.Id);
              results.set(
                result.Id,
                seen === undefined
                  ? result
                  : {
                      ...seen,
                      Values: [...(seen.Values ?? []), ...(result.Values ?? [])],
                      Timestamps: [...(seen.Timestamps ?? []), ...(result.Timestamps ?? [])],
                    },
              );
            }
            token = parsed.data.NextToken;
            if (token === undefined) break;
          }
        } catch (err) {
          failure = `unable to fetch metrics from CloudWatch: ${err instanceof Error ? err.message : String(err)}`;
          context.log.warn({ source: "cloudwatch", err: failure }, "GetMetricData failed");
        }
        for (const q of batch) {
          out[q.target] = {
            ...out[q.target],
            [q.key]: failure === undefined ? observationOf(results.get(q.id), q.query) : { error: failure },
          };
        }
      }
      return out.map((metrics) => ({ metrics }));
    },
  };
}

/** The registered source: settings from the environment, the client created on first use. */
export const cloudwatchMetricsSource: PullSource = cloudwatchPullSource({
  settings: () => cloudwatchSettingsFromEnv(),
});
