/**
 * The Prometheus pull source: reads an HPA's metrics from Prometheus with instant queries, as an HPA backed by
 * prometheus-adapter would, and hands `decide` one observation (or the reason it has none) per metric.
 * - Resource `cpu` / `memory`: KubeVirt's own per-VMI series (virt-handler's `kubevirt_vmi_cpu_usage_seconds_total`
 *   rate, `kubevirt_vmi_memory_resident_bytes`) for the VMIs of the virt-launcher pods the target's
 *   `status.selector` selects, over the requests in those pods' specs, grouped exactly as the HPA controller
 *   groups pods (pods.ts). Queries can be replaced (`resource:cpu`, `resource:memory`).
 * - External and Object metrics: the query named for the metric's name in the HPA's
 *   `vmpool-functions.io/prometheus-queries` annotation (JSON, wins) or in `VMPOOL_PROMETHEUS_QUERIES`. External
 *   values are the sum of the returned series; an Object's is its (summed) series.
 * Placeholders in a query are replaced by PromQL-escaped text: `{{namespace}}`, `{{pool}}`, `{{kind}}`, and
 * `{{selector}}` (the metric's label selector as matchers) for External/Object; `{{object_kind}}`,
 * `{{object_name}}` for Object; `{{names}}` (a regex of the pool's VMI names) and `{{window}}` for Resource.
 * A pass costs one pod list per namespace and one query per namespace and Resource query (over the VMIs of all
 * its targets), plus one per External/Object metric. A metric Prometheus cannot answer gets an error, never a
 * value: as in the HPA it can block a scale-down and never cause a scale-up. Pods and ContainerResource metrics
 * are left to other sources.
 */
import pMap from "p-map";
import { z } from "zod";
import { describeIssue } from "../../config";
import { ReasonedError } from "../../errors";
import { matches, parseSelector, type Selector } from "../../labels";
import type { ObservedMetric } from "../../planning/hpa";
import { metricKey, toMilli } from "../../planning/hpa";
import type { LabelSelector, NormalizedMetric } from "../../schemas";
import {
  LAUNCHER_SELECTOR,
  type PodFields,
  PodFieldsSchema,
  type PodSample,
  resourcePodObservation,
  vmiNameOf,
} from "../pods";
import type { HpaObject } from "../policy";
import { type NamedQuery, namedQuery, renderQuery } from "./named-queries";
import {
  exactAlternation,
  instantQuery,
  type PrometheusEndpoint,
  type PromSample,
  promString,
} from "./promql";
import type { PullContext, PullSource, PullTarget } from "./types";

/** On an HPA: JSON `{"<metric name>": "<PromQL>"}`; wins over `VMPOOL_PROMETHEUS_QUERIES`. */
export const PROMETHEUS_QUERIES_ANNOTATION = "vmpool-functions.io/prometheus-queries";

/** The Resource queries used unless the mapping names `resource:<name>`. */
export const DEFAULT_RESOURCE_QUERIES: Readonly<Record<string, string>> = {
  cpu: 'sum by (name) (rate(kubevirt_vmi_cpu_usage_seconds_total{namespace="{{namespace}}",name=~"{{names}}"}[{{window}}]))',
  memory: 'sum by (name) (kubevirt_vmi_memory_resident_bytes{namespace="{{namespace}}",name=~"{{names}}"})',
};

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5000;
export const DEFAULT_PROMETHEUS_MAX_BYTES = 4 * 2 ** 20;
export const DEFAULT_RATE_WINDOW = "1m";
/** Queries of one pass in flight at once. */
const QUERIES_IN_FLIGHT = 8;

const DURATION = /^(\d+(ms|s|m|h))+$/;
const DURATION_PART = /(\d+)(ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A PromQL duration (`30s`, `1m30s`) in milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART))
    total += Number(amount) * (UNIT_MS[unit ?? "s"] ?? 0);
  return total;
}

/** Metric name → PromQL (template); keys are metric names, or `resource:cpu` / `resource:memory`. */
export const PrometheusQueriesSchema = z.record(
  z.string().min(1).max(253),
  z.string().min(1, "must be a PromQL query").max(16_384),
);
export type PrometheusQueries = z.infer<typeof PrometheusQueriesSchema>;

/** How the source reaches Prometheus and what it asks. */
export interface PrometheusSettings {
  readonly endpoint: PrometheusEndpoint;
  readonly queries: PrometheusQueries;
  /** The range of `rate(…[window])` in Resource queries. */
  readonly window: string;
}

const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const queriesJson = z.string().transform((text, ctx): PrometheusQueries => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not JSON" });
    return z.NEVER;
  }
  const parsed = PrometheusQueriesSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: describeIssue(parsed.error, "queries") });
    return z.NEVER;
  }
  return parsed.data;
});

/** The Prometheus source's settings in the environment; unset `VMPOOL_PROMETHEUS_URL` turns the source off. */
export const prometheusEnvSchema = z.object({
  VMPOOL_PROMETHEUS_URL: optional(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" })),
  VMPOOL_PROMETHEUS_TOKEN: optional(z.string().min(1)),
  VMPOOL_PROMETHEUS_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(60_000)),
  VMPOOL_PROMETHEUS_MAX_BYTES: optional(
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 2 ** 20),
  ),
  VMPOOL_PROMETHEUS_QUERIES: optional(queriesJson),
  VMPOOL_PROMETHEUS_RATE_WINDOW: optional(
    z.string().regex(DURATION, "must be a PromQL duration such as 1m or 30s"),
  ),
});

/** Parses the settings (errors name the variable); undefined when no URL is configured. */
export function prometheusSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): PrometheusSettings | undefined {
  const parsed = prometheusEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  const e = parsed.data;
  if (e.VMPOOL_PROMETHEUS_URL === undefined) return undefined;
  return {
    endpoint: {
      url: e.VMPOOL_PROMETHEUS_URL,
      bearerToken: e.VMPOOL_PROMETHEUS_TOKEN,
      timeoutMs: e.VMPOOL_PROMETHEUS_TIMEOUT_MS ?? DEFAULT_PROMETHEUS_TIMEOUT_MS,
      maxBytes: e.VMPOOL_PROMETHEUS_MAX_BYTES ?? DEFAULT_PROMETHEUS_MAX_BYTES,
    },
    queries: e.VMPOOL_PROMETHEUS_QUERIES ?? {},
    window: e.VMPOOL_PROMETHEUS_RATE_WINDOW ?? DEFAULT_RATE_WINDOW,
  };
}

function lookupQuery(hpa: HpaObject, queries: PrometheusQueries, key: string): NamedQuery<string> {
  return namedQuery(hpa, PROMETHEUS_QUERIES_ANNOTATION, PrometheusQueriesSchema, queries, key);
}

/** A label selector as PromQL matchers (`a="x",b=~"y|z"`), for `{{selector}}`; empty for none. */
export function selectorMatchers(selector: LabelSelector | null): string {
  if (selector === null) return "";
  const out = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}="${promString(value)}"`);
  for (const requirement of selector.matchExpressions ?? []) {
    const values = promString(exactAlternation(requirement.values ?? []));
    switch (requirement.operator) {
      case "In":
        out.push(`${requirement.key}=~"${values}"`);
        break;
      case "NotIn":
        out.push(`${requirement.key}!~"${values}"`);
        break;
      case "Exists":
        out.push(`${requirement.key}!=""`);
        break;
      case "DoesNotExist":
        out.push(`${requirement.key}=""`);
        break;
    }
  }
  return out.join(",");
}

function detail(err: unknown): string {
  return `unable to fetch metrics from Prometheus: ${err instanceof Error ? err.message : String(err)}`;
}

/** The single-target reads of one pass, with what they share. */
interface Reading {
  readonly settings: PrometheusSettings;
  readonly context: PullContext;
}

function valuesOf(target: PullTarget): Record<string, string> {
  return {
    namespace: promString(target.target.namespace),
    pool: promString(target.target.name),
    kind: promString(target.target.kind),
  };
}

/** One value from the series of an External or Object query: their sum, refusing NaN, ±Inf and negatives. */
async function scalarObservation(reading: Reading, promql: string): Promise<ObservedMetric> {
  const series = await instantQuery(reading.settings.endpoint, promql, reading.context.now);
  if (series.length === 0) return { error: "the query returned no series" };
  const total = series.reduce((sum, sample) => sum + sample.value, 0);
  if (!Number.isFinite(total)) return { error: `the query's value is ${total}` };
  if (total < 0) return { error: `the query's value is negative (${total})` };
  return { value: total };
}

async function customObservation(
  reading: Reading,
  metric: NormalizedMetric,
  target: PullTarget,
): Promise<ObservedMetric> {
  if (metric.type !== "External" && metric.type !== "Object") return { error: "not a custom metric" };
  const found = lookupQuery(target.hpa, reading.settings.queries, metric.name);
  if (found === undefined) {
    return {
      error: `no Prometheus query for metric ${metric.name} (annotation ${PROMETHEUS_QUERIES_ANNOTATION} or VMPOOL_PROMETHEUS_QUERIES)`,
    };
  }
  if ("error" in found) return { error: found.error };
  const values: Record<string, string> = { ...valuesOf(target), selector: selectorMatchers(metric.selector) };
  if (metric.type === "Object") {
    values.object_kind = promString(metric.describedObject.kind);
    values.object_name = promString(metric.describedObject.name);
  }
  try {
    return await scalarObservation(reading, renderQuery(found.query, values));
  } catch (err) {
    return { error: detail(err) };
  }
}

type ResourceMetric = NormalizedMetric & { readonly type: "Resource" };

/** One Resource query of a pass: its template, and the targets (with their VMI → pod maps) that need it. */
interface ResourceQuery {
  readonly template: string;
  readonly namespace: string;
  readonly uses: {
    readonly index: number;
    readonly metric: ResourceMetric;
    readonly vmis: Map<string, string>;
  }[];
}

/** The pods `selector` selects among a namespace's launcher pods, or why there are none to look at. */
function selectedPods(
  pods: readonly PodFields[],
  selector: string | undefined,
): PodFields[] | { error: string } {
  if (selector === undefined || selector === "") {
    return { error: "the target's scale subresource has no status.selector" };
  }
  let parsed: Selector;
  try {
    parsed = parseSelector(selector);
  } catch (err) {
    return { error: `the target's selector ${JSON.stringify(selector)} is invalid: ${String(err)}` };
  }
  return pods.filter((pod) => matches(parsed, pod.metadata.labels ?? undefined));
}

async function listLaunchers(reading: Reading, namespace: string): Promise<PodFields[] | { error: string }> {
  try {
    const listed = await reading.context.kube.list("Pod", { namespace, labelSelector: LAUNCHER_SELECTOR });
    return listed.flatMap((pod) => {
      const parsed = PodFieldsSchema.safeParse(pod);
      return parsed.success ? [parsed.data] : [];
    });
  } catch (err) {
    return { error: `unable to list the target's pods: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Every target's Resource metrics in few requests: one pod list per namespace, and one query per namespace and
 * query template over the VMIs of all the targets that use it; the answers are split by VMI name.
 */
async function observeResources(
  reading: Reading,
  targets: readonly PullTarget[],
  out: Record<string, ObservedMetric>[],
): Promise<void> {
  const { settings, context } = reading;
  const now = context.now.getTime();
  const wanted = targets.map((target) =>
    target.spec.metrics.filter(
      (metric): metric is ResourceMetric =>
        metric.type === "Resource" && handlesMetric(settings, metric, target.hpa),
    ),
  );
  const namespaces = [
    ...new Set(targets.filter((_, i) => (wanted[i] ?? []).length > 0).map((t) => t.target.namespace)),
  ];
  const launchers = new Map(
    await Promise.all(namespaces.map(async (ns) => [ns, await listLaunchers(reading, ns)] as const)),
  );
  const podsOf: (PodFields[] | undefined)[] = targets.map(() => undefined);
  const queries = new Map<string, ResourceQuery>();
  targets.forEach((target, index) => {
    const metrics = wanted[index] ?? [];
    if (metrics.length === 0) return;
    const listed = launchers.get(target.target.namespace) ?? [];
    const pods = "error" in listed ? listed : selectedPods(listed, target.selector);
    if ("error" in pods) {
      for (const metric of metrics)
        out[index] = { ...out[index], [metricKey(metric)]: { error: pods.error } };
      return;
    }
    podsOf[index] = pods;
    const vmis = new Map<string, string>();
    for (const pod of pods) {
      const vmi = vmiNameOf(pod);
      if (vmi !== undefined) vmis.set(vmi, pod.metadata.name);
    }
    for (const metric of metrics) {
      const found = lookupQuery(target.hpa, settings.queries, `resource:${metric.name}`) ?? {
        query: DEFAULT_RESOURCE_QUERIES[metric.name] ?? "",
      };
      if ("error" in found) {
        out[index] = { ...out[index], [metricKey(metric)]: { error: found.error } };
        continue;
      }
      const key = `${target.target.namespace}\n${found.query}`;
      const query = queries.get(key) ?? {
        template: found.query,
        namespace: target.target.namespace,
        uses: [],
      };
      query.uses.push({ index, metric, vmis });
      queries.set(key, query);
    }
  });
  const windowMs = durationMs(settings.window);
  await pMap(
    [...queries.values()],
    async (query) => {
      const names = [...new Set(query.uses.flatMap((use) => [...use.vmis.keys()]))].sort();
      let series: PromSample[] = [];
      let failure: string | undefined;
      if (names.length > 0) {
        try {
          const promql = renderQuery(query.template, {
            namespace: promString(query.namespace),
            names: promString(exactAlternation(names)),
            window: settings.window,
          });
          series = await instantQuery(settings.endpoint, promql, context.now);
        } catch (err) {
          failure = detail(err);
        }
      }
      const byVmi = new Map<string, number>();
      for (const sample of series) {
        // A NaN or negative rate is no sample at all: the pod counts as missing, as without metrics-server data.
        if (sample.labels.name !== undefined && Number.isFinite(sample.value) && sample.value >= 0)
          byVmi.set(sample.labels.name, sample.value);
      }
      for (const use of query.uses) {
        const key = metricKey(use.metric);
        if (failure !== undefined) {
          out[use.index] = { ...out[use.index], [key]: { error: failure } };
          continue;
        }
        const samples = new Map<string, PodSample>();
        for (const [vmi, pod] of use.vmis) {
          const value = byVmi.get(vmi);
          if (value !== undefined) samples.set(pod, { value: toMilli(value), timestamp: now, windowMs });
        }
        out[use.index] = {
          ...out[use.index],
          [key]: resourcePodObservation(use.metric, podsOf[use.index] ?? [], samples, now),
        };
      }
    },
    { concurrency: QUERIES_IN_FLIGHT },
  );
}

/** Every target's External and Object metrics: one query each (their queries differ). */
async function observeCustom(
  reading: Reading,
  targets: readonly PullTarget[],
  out: Record<string, ObservedMetric>[],
): Promise<void> {
  const jobs = targets.flatMap((target, index) =>
    target.spec.metrics
      .filter((metric) => metric.type !== "Resource" && handlesMetric(reading.settings, metric, target.hpa))
      .map((metric) => ({ index, metric, target })),
  );
  await pMap(
    jobs,
    async ({ index, metric, target }) => {
      const observed = await customObservation(reading, metric, target);
      out[index] = { ...out[index], [metricKey(metric)]: observed };
    },
    { concurrency: QUERIES_IN_FLIGHT },
  );
}

/** Resource cpu and memory always (KubeVirt's series); External and Object metrics that have a query. */
function handlesMetric(settings: PrometheusSettings, metric: NormalizedMetric, hpa: HpaObject): boolean {
  switch (metric.type) {
    case "Resource":
      return (
        DEFAULT_RESOURCE_QUERIES[metric.name] !== undefined ||
        lookupQuery(hpa, settings.queries, `resource:${metric.name}`) !== undefined
      );
    case "External":
    case "Object":
      return lookupQuery(hpa, settings.queries, metric.name) !== undefined;
    default:
      return false;
  }
}

/**
 * The Prometheus pull source over `settings`, or over the environment's (`VMPOOL_PROMETHEUS_*`, read once on first
 * use) when given a function. Without a URL it handles nothing.
 */
export function prometheusPullSource(
  settings: PrometheusSettings | (() => PrometheusSettings | undefined),
): PullSource {
  let resolved: { value: PrometheusSettings | undefined } | undefined;
  const current = () => {
    resolved ??= { value: typeof settings === "function" ? settings() : settings };
    return resolved.value;
  };
  return {
    name: "prometheus",
    handles(metric, hpa) {
      const configured = current();
      return configured !== undefined && handlesMetric(configured, metric, hpa);
    },
    async observe(targets, context) {
      const configured = current();
      if (configured === undefined) return targets.map(() => ({ metrics: {} }));
      const reading: Reading = { settings: configured, context };
      const out: Record<string, ObservedMetric>[] = targets.map(() => ({}));
      await Promise.all([observeResources(reading, targets, out), observeCustom(reading, targets, out)]);
      return out.map((metrics) => ({ metrics }));
    },
  };
}

/** The registered source: settings from the environment. */
export const prometheusSource: PullSource = prometheusPullSource(() => prometheusSettingsFromEnv());
