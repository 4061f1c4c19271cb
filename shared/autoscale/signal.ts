/**
 * The vocabulary every source speaks: a `Signal` is what one alert, alarm or metric sample says about one pool,
 * and the alert mapping says which labels name that pool, its kind and its metric, and which annotation carries
 * the observed value. Sources parse their payloads into signals; nothing downstream knows where a signal came from.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { ReasonedError } from "../errors";
import { POOL_KINDS, type PoolKind, type PoolRef, poolRefSchema } from "../reconcile";
import { FIRST_ISSUE } from "../schemas";

/** The sources registered in `SOURCES`. */
export type SourceName = "alertmanager" | "grafana" | "cloudwatch" | "metric-push";

/**
 * What a signal asks for. `observation`: a current measurement (`value` set) decided like the HPA controller;
 * `firing`/`resolved`: a threshold alert without a value, handled by step scaling; `ignored`: nothing to decide
 * (an alarm with insufficient data), reported with `note`.
 */
export type SignalKind = "observation" | "firing" | "resolved" | "ignored";

/** One alert, alarm or sample about one pool. */
export interface Signal {
  readonly source: SourceName;
  /** Names the alert in responses and logs: `alertname/fingerprint`, the alarm name, the sample id. */
  readonly id: string;
  readonly target: PoolRef;
  /** Matched against the names of the HPA's metrics (`cpu` is the Resource metric `cpu`). */
  readonly metric: string;
  readonly kind: SignalKind;
  /** Observations only: in the metric target's units (percent of request for a Utilization target). */
  readonly value?: number;
  /**
   * The identity of this delivery of this signal: a repeated delivery carries the same key and is dropped.
   * Undefined means the source cannot tell repeats apart (a metric push without an id): never de-duplicated.
   */
  readonly deliveryKey?: string;
  /** Why an `ignored` signal needs nothing. */
  readonly note?: { readonly reason: string; readonly message: string };
}

/**
 * Which labels (Alertmanager, Grafana), alarm tags or metric dimensions (CloudWatch) name the target, and which
 * annotation carries the value. Configured with `VMPOOL_ALERT_MAPPING` (JSON); every field has a default.
 */
export const AlertMappingSchema = z.strictObject({
  namespaceLabel: z.string().min(1).default("namespace"),
  poolLabel: z.string().min(1).default("pool"),
  kindLabel: z.string().min(1).default("pool_kind"),
  metricLabel: z.string().min(1).default("metric"),
  valueAnnotation: z.string().min(1).default("value"),
  defaultMetric: z.string().min(1).default("cpu"),
  defaultKind: z.enum(POOL_KINDS).default("VirtualMachinePool"),
  /** Used when an alert has no namespace label; unset means the label is required. */
  defaultNamespace: z.string().min(1).optional(),
  /** Grafana only: take the value from `values[<refId>]` when the value annotation is absent. */
  grafanaValueRefId: z.string().min(1).optional(),
});
export type AlertMapping = z.output<typeof AlertMappingSchema>;

/** The mapping with every default applied. */
export const DEFAULT_ALERT_MAPPING: AlertMapping = AlertMappingSchema.parse({});

/** 400 naming the field that is wrong (no write happens for a payload that fails to parse). */
export function invalidPayload(field: string, message: string): ReasonedError {
  return new ReasonedError("InvalidPayload", `${field}: ${message}`, { status: 400 });
}

// kubectl's names for the two kinds (`kubectl autoscale vmpool|vmirs`) are accepted as label values too.
const KIND_ALIASES: Readonly<Record<string, PoolKind>> = {
  virtualmachinepool: "VirtualMachinePool",
  virtualmachinepools: "VirtualMachinePool",
  vmpool: "VirtualMachinePool",
  vmpools: "VirtualMachinePool",
  virtualmachineinstancereplicaset: "VirtualMachineInstanceReplicaSet",
  virtualmachineinstancereplicasets: "VirtualMachineInstanceReplicaSet",
  vmirs: "VirtualMachineInstanceReplicaSet",
  vmirss: "VirtualMachineInstanceReplicaSet",
};

/**
 * The pool a label set names under `mapping`. `path` is where the labels sit in the payload, so a missing or
 * invalid label is reported as e.g. `alerts.0.labels.pool`.
 */
export function resolveTarget(
  labels: Readonly<Record<string, string>>,
  mapping: AlertMapping,
  path: string,
): PoolRef {
  const name = labels[mapping.poolLabel];
  if (name === undefined || name === "")
    throw invalidPayload(`${path}.${mapping.poolLabel}`, "required: names the pool");
  const namespace = labels[mapping.namespaceLabel] || mapping.defaultNamespace;
  if (namespace === undefined)
    throw invalidPayload(`${path}.${mapping.namespaceLabel}`, "required: names the pool's namespace");
  const kindText = labels[mapping.kindLabel];
  const kind =
    kindText === undefined || kindText === "" ? mapping.defaultKind : KIND_ALIASES[kindText.toLowerCase()];
  if (kind === undefined) {
    throw invalidPayload(
      `${path}.${mapping.kindLabel}`,
      `unknown pool kind "${kindText}" (VirtualMachinePool or VirtualMachineInstanceReplicaSet)`,
    );
  }
  const parsed = poolRefSchema.safeParse({ kind, namespace, name });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const label = issue?.path[0] === "namespace" ? mapping.namespaceLabel : mapping.poolLabel;
    throw invalidPayload(`${path}.${label}`, issue?.message ?? "invalid");
  }
  return parsed.data;
}

/** The metric a label set names, or the mapping's default. */
export function metricOf(labels: Readonly<Record<string, string>>, mapping: AlertMapping): string {
  const metric = labels[mapping.metricLabel];
  return metric === undefined || metric === "" ? mapping.defaultMetric : metric;
}

// Plain decimals and exponents as Prometheus templates print them; "NaN", "+Inf" and hex are refused.
const VALUE_PATTERN = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses an observed value from text (`"100"`, `"85.5"`, `"85.5%"`, `"1e3"`). NaN, infinities and negative values
 * are refused with a 400 naming `field`: a value we cannot trust must never move a pool.
 */
export function parseValueText(text: string, field: string): number {
  const trimmed = text.trim().replace(/%$/, "").trim();
  if (!VALUE_PATTERN.test(trimmed)) {
    const why = /^-/.test(trimmed) ? "must not be negative" : "must be a finite number ≥ 0";
    throw invalidPayload(field, `${why}, got ${JSON.stringify(text)}`);
  }
  return checkValue(Number(trimmed), field);
}

/** Refuses NaN, infinities and negative numbers (400 naming `field`). */
export function checkValue(value: number, field: string): number {
  if (!Number.isFinite(value)) throw invalidPayload(field, `must be a finite number, got ${value}`);
  if (value < 0) throw invalidPayload(field, `must not be negative, got ${value}`);
  return value;
}

/** Parses a payload with its source's schema; a failure is a 400 naming the first wrong field. */
export function parsePayload<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body, FIRST_ISSUE);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : what;
  throw invalidPayload(field, issue?.message ?? "invalid");
}

/**
 * A stable 16-hex-digit fingerprint of a label set (sorted `name=value` pairs), for alerts that carry none and
 * for the local alert emitter. Alertmanager computes its own (FNV-64a); only stability matters here.
 */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const text = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join("\xff");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
