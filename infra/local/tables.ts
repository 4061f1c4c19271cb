/**
 * Server-side printing for the local API server: the meta.k8s.io/v1 `Table` kube-apiserver returns when kubectl
 * asks for `as=Table`, with CRD printer columns (apiextensions `tableconvertor.go`), the built-in column sets of
 * Kubernetes `printers.go` for the core kinds we serve, server-computed ages (`duration.HumanDuration`) and the
 * `includeObject` row payloads (`handlers/response.go` `asTable`). Pure: objects in, Table JSON out.
 */
import { JSONPath } from "jsonpath-plus";
import { badRequest } from "./errors";
import type { PrinterColumn, ResourceDef } from "./resources";

export type IncludeObject = "None" | "Metadata" | "Object";

export interface ListMetadata {
  readonly resourceVersion: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

export interface TableOptions {
  readonly includeObject: IncludeObject;
  readonly now: Date;
  /** False for watch events after the first, which carry `columnDefinitions: null` (watchEmbeddedEncoder). */
  readonly withColumnDefinitions: boolean;
  readonly listMetadata: ListMetadata;
}

export interface ColumnDefinition {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Durations and timestamps

/**
 * apimachinery `util/duration.HumanDuration`: `<invalid>` below -1s, `0s` just below zero, then `Ns` (< 2m),
 * `XmYs` (< 10m), `Nm` (< 3h), `XhYm` (< 8h), `Nh` (< 48h), `XdYh` (< 8d), `Nd` (< 2y), `XyYd` (< 8y), `Ny`.
 */
export function humanDuration(ms: number): string {
  if (Number.isNaN(ms)) return "<invalid>";
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (valid for year 1, unlike Date.UTC). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Go's zero `time.Time` (0001-01-01T00:00:00Z), which Kubernetes prints as `<unknown>`. */
const ZERO_TIME_MS = daysFromCivil(1, 1, 1) * DAY_MS;

/** Epoch milliseconds of an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339, …)` accepts it, else undefined. */
function parseTimestamp(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[8] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = m[7] === undefined ? 0 : Number(`0${m[7]}`) * 1000;
  const local = daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000;
  return local + fraction - offsetMinutes * 60_000;
}

/**
 * A CRD `date` cell (`cellForJSONValue`): "" and "null" are the zero time (`<unknown>`), an unparsable string is
 * `<invalid>`, anything else the age relative to `nowMs`.
 */
function dateCell(value: string, nowMs: number): string {
  if (value === "" || value === "null") return "<unknown>";
  const at = parseTimestamp(value);
  if (at === undefined) return "<invalid>";
  return at === ZERO_TIME_MS ? "<unknown>" : humanDuration(nowMs - at);
}

/** `translateTimestampSince` of a typed object: absent (or, unrepresentable in Go, unparsable) is the zero time. */
function since(value: unknown, nowMs: number): string {
  const at = typeof value === "string" ? parseTimestamp(value) : undefined;
  return at === undefined || at === ZERO_TIME_MS ? "<unknown>" : humanDuration(nowMs - at);
}

// ---------------------------------------------------------------------------------------------------------------
// JSONPath cells (CRD printer columns)

/** Not found, as distinct from a JSON null. */
const MISSING: unique symbol = Symbol("missing");
type Found = unknown;

type Step =
  | { readonly kind: "key"; readonly key: string; readonly index: number | undefined }
  | { readonly kind: "wildcard" }
  | { readonly kind: "filter"; readonly path: readonly string[]; readonly literal: string | number };

const INDEX = /^-?\d+$/;
const SIMPLE_FILTER =
  /^\?\(\s*@((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*==\s*(?:'([^']*)'|"([^"]*)"|(-?\d+(?:\.\d+)?))\s*\)$/;

/** kubectl-style `.a.b[0]` (optionally wrapped in `{}`) to the `$`-rooted form jsonpath-plus parses. */
function normalizePath(jsonPath: string): string {
  let p = jsonPath.trim();
  if (p.startsWith("{") && p.endsWith("}")) p = p.slice(1, -1).trim();
  if (p.startsWith("$")) return p;
  return p.startsWith(".") || p.startsWith("[") ? `$${p}` : `$.${p}`;
}

/**
 * Compiles a path to steps the fast walker handles (keys, indexes, `*`, `?(@.x=='v')` filters), or undefined
 * when it needs the full jsonpath-plus evaluator (recursive descent, slices, scripts).
 */
function compileSteps(normalized: string): Step[] | undefined {
  const segments = JSONPath.toPathArray(normalized);
  const steps: Step[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg === "*") {
      steps.push({ kind: "wildcard" });
      continue;
    }
    const filter = SIMPLE_FILTER.exec(seg);
    if (filter !== null) {
      const literal = filter[2] ?? filter[3] ?? Number(filter[4]);
      steps.push({ kind: "filter", path: (filter[1] as string).slice(1).split("."), literal });
      continue;
    }
    if (seg === ".." || seg === "" || /^[?(@^~`$]/.test(seg) || seg.includes(":")) return undefined;
    steps.push({ kind: "key", key: seg, index: INDEX.test(seg) ? Number(seg) : undefined });
  }
  return steps;
}

function child(node: object, step: Extract<Step, { kind: "key" }>): Found {
  if (Array.isArray(node)) {
    if (step.index === undefined) return MISSING;
    const i = step.index < 0 ? node.length + step.index : step.index;
    return i >= 0 && i < node.length ? node[i] : MISSING;
  }
  return Object.hasOwn(node, step.key) ? (node as Obj)[step.key] : MISSING;
}

function filterMatches(item: unknown, step: Extract<Step, { kind: "filter" }>): boolean {
  let node = item;
  for (const key of step.path) {
    if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.hasOwn(node, key))
      return false;
    node = (node as Obj)[key];
  }
  return node === step.literal;
}

/** The first result in document order, like `FindResults(...)[0][0]` with missing keys allowed. */
function walk(start: unknown, steps: readonly Step[], from: number): Found {
  let node = start;
  for (let i = from; i < steps.length; i++) {
    const step = steps[i] as Step;
    if (node === null || typeof node !== "object") return MISSING;
    if (step.kind === "key") {
      node = child(node, step);
      if (node === MISSING) return MISSING;
      continue;
    }
    const items: readonly unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const item of items) {
      if (step.kind === "filter" && !filterMatches(item, step)) continue;
      const found = walk(item, steps, i + 1);
      if (found !== MISSING) return found;
    }
    return MISSING;
  }
  return node;
}

const readerCache = new Map<string, (obj: Obj) => Found>();

/** A cached reader for one printer-column path: the fast walker when possible, jsonpath-plus otherwise. */
function readerFor(jsonPath: string): (obj: Obj) => Found {
  const cached = readerCache.get(jsonPath);
  if (cached !== undefined) return cached;
  const normalized = normalizePath(jsonPath);
  const steps = compileSteps(normalized);
  const reader =
    steps !== undefined
      ? (obj: Obj) => walk(obj, steps, 0)
      : (obj: Obj) => {
          const results = JSONPath({ path: normalized, json: obj, wrap: true }) as unknown[];
          return results.length === 0 ? MISSING : results[0];
        };
  readerCache.set(jsonPath, reader);
  return reader;
}

/** Go's `%v` of a float64: shortest digits, exponent form below 1e-4 or from 1e6 (two-digit exponent). */
function goNumber(n: number): string {
  // Unstructured JSON decodes integral numbers to int64, which print as plain digits.
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return n.toFixed(0);
  const exponent = Number(n.toExponential().split("e")[1]);
  if (exponent < -4 || exponent >= 6) {
    return n.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  }
  return String(n);
}

/** Go's encoding/json output for a decoded value: map keys sorted, HTML characters escaped. */
function goJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === "object") {
      const out: Obj = {};
      for (const key of Object.keys(v).sort()) out[key] = sorted((v as Obj)[key]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sorted(value))
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** client-go JSONPath text output for a `string` column: scalars as Go prints them, maps and lists as JSON. */
function jsonPathText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return goNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return goJson(value);
}

/** `cellForJSONValue` plus the string-column text path: a wrong JSON type gives null. */
function typedCell(type: string, value: Found, nowMs: number): unknown {
  if (value === MISSING || value === null || value === undefined) return null;
  switch (type) {
    case "string":
      return jsonPathText(value);
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      return typeof value === "string" ? dateCell(value, nowMs) : null;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Column definitions

const NAME_DOC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_DOC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

function column(
  name: string,
  type: string,
  description: string,
  priority = 0,
  format = "",
): ColumnDefinition {
  return { name, type, format, description, priority };
}

const NAME_COLUMN = column("Name", "string", NAME_DOC, 0, "name");
const AGE_COLUMN = column("Age", "string", CREATION_DOC);

/** A CRD version without printer columns gets a single Age column (apiextensions `serveDefaultColumnsIfEmpty`). */
const DEFAULT_CRD_COLUMNS: readonly PrinterColumn[] = [
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

interface Printer {
  readonly columns: readonly ColumnDefinition[];
  cells(obj: Obj, nowMs: number): unknown[];
  conditions?(obj: Obj): readonly Obj[] | undefined;
}

function crdPrinter(printerColumns: readonly PrinterColumn[]): Printer {
  const source = printerColumns.length === 0 ? DEFAULT_CRD_COLUMNS : printerColumns;
  const columns = [
    NAME_COLUMN,
    ...source.map((c) =>
      column(
        c.name,
        c.type,
        c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
        c.priority ?? 0,
        c.format ?? "",
      ),
    ),
  ];
  const readers = source.map((c) => readerFor(c.jsonPath));
  const types = source.map((c) => c.type);
  return {
    columns,
    cells(obj, nowMs) {
      const cells: unknown[] = new Array(readers.length + 1);
      cells[0] = nameOf(obj);
      for (let i = 0; i < readers.length; i++) {
        cells[i + 1] = typedCell(types[i] as string, (readers[i] as (o: Obj) => Found)(obj), nowMs);
      }
      return cells;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in printers (Kubernetes pkg/printers/internalversion/printers.go; the server prints with Wide: true)

function rec(value: unknown): Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};
}
function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(rec) : [];
}
function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
function int(value: unknown): number {
  return typeof value === "number" ? Math.trunc(value) : 0;
}
function nameOf(obj: Obj): string {
  return str(rec(obj.metadata).name);
}
function ageOf(obj: Obj, nowMs: number): string {
  return since(rec(obj.metadata).creationTimestamp, nowMs);
}
function timestamp(value: unknown): number | undefined {
  const at = typeof value === "string" ? parseTimestamp(value) : undefined;
  return at === ZERO_TIME_MS ? undefined : at;
}

/** `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty. */
function formatLabels(labels: unknown): string {
  const map = rec(labels);
  const keys = Object.keys(map).sort();
  return keys.length === 0 ? "<none>" : keys.map((k) => `${k}=${str(map[k])}`).join(",");
}

const namespacePrinter: Printer = {
  columns: [NAME_COLUMN, column("Status", "string", "The status of the namespace"), AGE_COLUMN],
  cells: (obj, now) => [nameOf(obj), str(rec(obj.status).phase), ageOf(obj, now)],
};

const leasePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column(
      "Holder",
      "string",
      "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.",
    ),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [nameOf(obj), str(rec(obj.spec).holderIdentity), ageOf(obj, now)],
};

/** `resource.Quantity.String()` of a stored quantity; every quantity in HPA metrics is a pointer, nil prints `<nil>`. */
function quantity(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return goNumber(value);
  return "<nil>";
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

function percent(value: unknown): string | undefined {
  return typeof value === "number" ? `${Math.trunc(value)}%` : undefined;
}

/** One `formatHPAMetrics` entry; `status` is the currentMetrics entry at the same index, if any. */
function formatMetric(spec: Obj, status: Obj | undefined): string {
  const sourceKey: Readonly<Record<string, string>> = {
    External: "external",
    Pods: "pods",
    Object: "object",
    Resource: "resource",
    ContainerResource: "containerResource",
  };
  const key = sourceKey[str(spec.type)];
  if (key === undefined) return "<unknown type>";
  const source = rec(spec[key]);
  const target = rec(source.target);
  const current = status !== undefined && present(status[key]) ? rec(rec(status[key]).current) : undefined;
  switch (key) {
    case "pods":
      return `${current === undefined ? "<unknown>" : quantity(current.averageValue)}/${quantity(target.averageValue)}`;
    case "external":
    case "object":
      if (present(target.averageValue)) {
        const now = present(current?.averageValue) ? quantity(current?.averageValue) : "<unknown>";
        return `${now}/${quantity(target.averageValue)} (avg)`;
      }
      return `${current === undefined ? "<unknown>" : quantity(current.value)}/${quantity(target.value)}`;
    default: {
      const name = str(source.name);
      if (present(target.averageValue)) {
        const now = current === undefined ? "<unknown>" : quantity(current.averageValue);
        return `${name}: ${now}/${quantity(target.averageValue)}`;
      }
      const now = percent(current?.averageUtilization) ?? "<unknown>";
      return `${name}: ${now}/${percent(target.averageUtilization) ?? "<auto>"}`;
    }
  }
}

/**
 * The HPA's metric specs and statuses in autoscaling/v2 shape; an autoscaling/v1 object's CPU fields are lifted
 * the way v1→internal conversion does.
 */
function hpaMetrics(spec: Obj, status: Obj): { specs: Obj[]; statuses: Obj[] } {
  if (spec.metrics === undefined && typeof spec.targetCPUUtilizationPercentage === "number") {
    const cpu = (field: string, value: unknown): Obj => ({
      type: "Resource",
      resource: { name: "cpu", [field]: { type: "Utilization", averageUtilization: value } },
    });
    return {
      specs: [cpu("target", spec.targetCPUUtilizationPercentage)],
      statuses:
        typeof status.currentCPUUtilizationPercentage === "number"
          ? [cpu("current", status.currentCPUUtilizationPercentage)]
          : [],
    };
  }
  return { specs: list(spec.metrics), statuses: list(status.currentMetrics) };
}

/** `formatHPAMetrics`: at most two entries, then `+ N more...`; `<none>` without metrics. */
function formatHpaMetrics(specs: readonly Obj[], statuses: readonly Obj[]): string {
  if (specs.length === 0) return "<none>";
  const max = 2;
  const entries = specs.map((spec, i) => formatMetric(spec, statuses[i]));
  const shown = entries.slice(0, max).join(", ");
  return entries.length > max ? `${shown} + ${entries.length - max} more...` : shown;
}

const HPA_DOCS = {
  scaleTargetRef:
    "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
  metrics:
    "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond. If not set, the default metric will be set to 80% average CPU utilization.",
  minReplicas:
    "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.",
  maxReplicas:
    "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.",
  currentReplicas:
    "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
};

const hpaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Reference", "string", HPA_DOCS.scaleTargetRef),
    column("Targets", "string", HPA_DOCS.metrics),
    column("MinPods", "string", HPA_DOCS.minReplicas),
    column("MaxPods", "string", HPA_DOCS.maxReplicas),
    column("Replicas", "string", HPA_DOCS.currentReplicas),
    AGE_COLUMN,
  ],
  cells(obj, now) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    const ref = rec(spec.scaleTargetRef);
    const { specs, statuses } = hpaMetrics(spec, status);
    return [
      nameOf(obj),
      `${str(ref.kind)}/${str(ref.name)}`,
      formatHpaMetrics(specs, statuses),
      typeof spec.minReplicas === "number" ? String(Math.trunc(spec.minReplicas)) : "<unset>",
      int(spec.maxReplicas),
      int(status.currentReplicas),
      ageOf(obj, now),
    ];
  },
};

const EVENT_DOCS = {
  lastTimestamp: "The time at which the most recent occurrence of this event was recorded.",
  type: "Type of this event (Normal, Warning), new types could be added in the future",
  reason:
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  involvedObject: "The object that this event is about.",
  fieldPath:
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
  source: "The component reporting this event. Should be a short machine understandable string.",
  message: "A human-readable description of the status of this operation.",
  firstTimestamp: "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
  count: "The number of times this event has occurred.",
};

/** `formatEventSource`: component (or reportingController), then `, host` (or reportingInstance) if any. */
function eventSource(obj: Obj): string {
  const source = rec(obj.source);
  const component = str(source.component) || str(obj.reportingController);
  const instance = str(source.host) || str(obj.reportingInstance);
  return instance === "" ? component : `${component}, ${instance}`;
}

const eventPrinter: Printer = {
  columns: [
    column("Last Seen", "string", EVENT_DOCS.lastTimestamp),
    column("Type", "string", EVENT_DOCS.type),
    column("Reason", "string", EVENT_DOCS.reason),
    column("Object", "string", EVENT_DOCS.involvedObject),
    column("Subobject", "string", EVENT_DOCS.fieldPath, 1),
    column("Source", "string", EVENT_DOCS.source, 1),
    column("Message", "string", EVENT_DOCS.message),
    column("First Seen", "string", EVENT_DOCS.firstTimestamp, 1),
    column("Count", "string", EVENT_DOCS.count, 1),
    column("Name", "string", NAME_DOC, 1, "name"),
  ],
  cells(obj, now) {
    const firstSeen =
      timestamp(obj.firstTimestamp) === undefined
        ? since(obj.eventTime, now)
        : since(obj.firstTimestamp, now);
    let lastSeen = timestamp(obj.lastTimestamp) === undefined ? firstSeen : since(obj.lastTimestamp, now);
    let count = int(obj.count);
    const series = obj.series;
    if (series !== undefined && series !== null) {
      lastSeen = since(rec(series).lastObservedTime, now);
      count = int(rec(series).count);
    } else if (count === 0) {
      // Singleton events of the events.k8s.io API carry no count.
      count = 1;
    }
    const involved = rec(obj.involvedObject);
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) === "" ? kind : `${kind}/${str(involved.name)}`;
    return [
      lastSeen,
      str(obj.type),
      str(obj.reason),
      target,
      str(involved.fieldPath),
      eventSource(obj),
      str(obj.message).trim(),
      firstSeen,
      count,
      nameOf(obj),
    ];
  },
};

const POD_DOCS = {
  podIP:
    "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
  nodeName:
    "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
  nominatedNodeName:
    "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
  readinessGates:
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
};

const hasCondition = (conditions: readonly Obj[], type: string): boolean =>
  conditions.some((c) => c.type === type && c.status === "True");

/** Keeps the later of a running "last restart" time and a container's last termination (`Time.Before`). */
function laterRestart(current: number | undefined, container: Obj): number | undefined {
  const terminated = rec(container.lastState).terminated;
  if (terminated === undefined || terminated === null) return current;
  const finished = timestamp(rec(terminated).finishedAt);
  return finished !== undefined && (current === undefined || current < finished) ? finished : current;
}

/** Status reason of a terminated container without one: `Signal:N` or `ExitCode:N`. */
function terminationReason(terminated: Obj, prefix: string): string {
  if (str(terminated.reason) !== "") return `${prefix}${str(terminated.reason)}`;
  const signal = int(terminated.signal);
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${int(terminated.exitCode)}`;
}

/** `printPod`: READY, STATUS (the same reason precedence as kubectl) and RESTARTS with the last restart age. */
function podCells(pod: Obj, now: number): unknown[] {
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const conditions = list(status.conditions);
  const initContainers = list(spec.initContainers);
  const restartable = new Set(
    initContainers.filter((c) => c.restartPolicy === "Always").map((c) => str(c.name)),
  );
  const total = list(spec.containers).length + restartable.size;
  let ready = 0;
  let restarts = 0;
  let restartableRestarts = 0;
  let lastRestart: number | undefined;
  let lastRestartableRestart: number | undefined;
  let reason = str(status.reason) !== "" ? str(status.reason) : str(status.phase);
  if (conditions.some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated"))
    reason = "SchedulingGated";

  let initializing = false;
  const initStatuses = list(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i] as Obj;
    const state = rec(c.state);
    const terminated =
      state.terminated === undefined || state.terminated === null ? undefined : rec(state.terminated);
    const waiting = state.waiting === undefined || state.waiting === null ? undefined : rec(state.waiting);
    const isRestartable = restartable.has(str(c.name));
    restarts += int(c.restartCount);
    lastRestart = laterRestart(lastRestart, c);
    if (isRestartable) {
      restartableRestarts += int(c.restartCount);
      lastRestartableRestart = laterRestart(lastRestartableRestart, c);
    }
    if (terminated !== undefined && int(terminated.exitCode) === 0) continue;
    if (isRestartable && c.started === true) {
      if (c.ready === true) ready++;
      continue;
    }
    if (terminated !== undefined) reason = terminationReason(terminated, "Init:");
    else if (waiting !== undefined && str(waiting.reason) !== "" && waiting.reason !== "PodInitializing") {
      reason = `Init:${str(waiting.reason)}`;
    } else reason = `Init:${i}/${initContainers.length}`;
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(conditions, "Initialized")) {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i] as Obj;
      const state = rec(c.state);
      restarts += int(c.restartCount);
      lastRestart = laterRestart(lastRestart, c);
      const waiting = rec(state.waiting);
      const terminated =
        state.terminated === undefined || state.terminated === null ? undefined : rec(state.terminated);
      if (str(waiting.reason) !== "") reason = str(waiting.reason);
      else if (terminated !== undefined) reason = terminationReason(terminated, "");
      else if (c.ready === true && state.running !== undefined && state.running !== null) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning)
      reason = hasCondition(conditions, "Ready") ? "Running" : "NotReady";
  }

  const metadata = rec(pod.metadata);
  if (metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null) {
    reason = status.reason === "NodeLost" ? "Unknown" : "Terminating";
  }

  const restartText =
    restarts !== 0 && lastRestart !== undefined
      ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
      : `${restarts}`;
  const gates = list(spec.readinessGates);
  const gatesText =
    gates.length === 0
      ? "<none>"
      : `${gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === "True").length}/${gates.length}`;
  const podIP = str(rec(list(status.podIPs)[0]).ip) || str(status.podIP);
  return [
    nameOf(pod),
    `${ready}/${total}`,
    reason,
    restartText,
    ageOf(pod, now),
    podIP || "<none>",
    str(spec.nodeName) || "<none>",
    str(status.nominatedNodeName) || "<none>",
    gatesText,
  ];
}

const POD_SUCCEEDED = [
  { type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." },
];
const POD_FAILED = [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];

const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "string", "The aggregate status of the containers in this pod."),
    column(
      "Restarts",
      "string",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE_COLUMN,
    column("IP", "string", POD_DOCS.podIP, 1),
    column("Node", "string", POD_DOCS.nodeName, 1),
    column("Nominated Node", "string", POD_DOCS.nominatedNodeName, 1),
    column("Readiness Gates", "string", POD_DOCS.readinessGates, 1),
  ],
  cells: podCells,
  conditions(pod) {
    const phase = rec(pod.status).phase;
    return phase === "Succeeded" ? POD_SUCCEEDED : phase === "Failed" ? POD_FAILED : undefined;
  },
};

const SERVICE_DOCS = {
  type: 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  clusterIP:
    'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  externalIPs:
    "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
  ports:
    "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  selector:
    "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(str) : []);

/** `getServiceExternalIP` with wide output (no clipping of load-balancer addresses). */
function serviceExternalIP(spec: Obj, status: Obj, type: string): string {
  const external = strings(spec.externalIPs);
  switch (type) {
    case "ClusterIP":
    case "NodePort":
      return external.length > 0 ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = list(rec(status.loadBalancer).ingress)
        .map((i) => str(i.ip) || str(i.hostname))
        .filter((a) => a !== "");
      const lb = [...new Set(ingress)].sort();
      if (external.length > 0) return [...lb, ...external].join(",");
      return lb.length > 0 ? lb.join(",") : "<pending>";
    }
    case "ExternalName":
      return str(spec.externalName);
    default:
      return "<unknown>";
  }
}

const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Type", "string", SERVICE_DOCS.type),
    column("Cluster-IP", "string", SERVICE_DOCS.clusterIP),
    column("External-IP", "string", SERVICE_DOCS.externalIPs),
    column("Port(s)", "string", SERVICE_DOCS.ports),
    AGE_COLUMN,
    column("Selector", "string", SERVICE_DOCS.selector, 1),
  ],
  cells(obj, now) {
    const spec = rec(obj.spec);
    // type and port protocol are always defaulted by a real server (ClusterIP, TCP).
    const type = str(spec.type) || "ClusterIP";
    const clusterIP = strings(spec.clusterIPs)[0] ?? (str(spec.clusterIP) || "<none>");
    const ports = list(spec.ports)
      .map((p) => {
        const protocol = str(p.protocol) || "TCP";
        return int(p.nodePort) > 0
          ? `${int(p.port)}:${int(p.nodePort)}/${protocol}`
          : `${int(p.port)}/${protocol}`;
      })
      .join(",");
    return [
      nameOf(obj),
      type,
      clusterIP,
      serviceExternalIP(spec, rec(obj.status), type),
      ports || "<none>",
      ageOf(obj, now),
      formatLabels(spec.selector),
    ];
  },
};

const hostPort = (ip: string, port: number): string =>
  ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;

/** `formatEndpoints` over all ports: up to three addresses, then `+ N more...`; `<none>` without subsets. */
function formatEndpoints(obj: Obj): string {
  const subsets = list(obj.subsets);
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const shown: string[] = [];
  let count = 0;
  for (const subset of subsets) {
    const addresses = list(subset.addresses).map((a) => str(a.ip));
    const ports = list(subset.ports);
    const groups = ports.length === 0 ? [undefined] : ports.map((p) => int(p.port));
    for (const port of groups) {
      count += addresses.length;
      for (const ip of addresses) {
        if (shown.length === max) break;
        shown.push(port === undefined ? ip : hostPort(ip, port));
      }
    }
  }
  const joined = shown.join(",");
  return count > max ? `${joined} + ${count - max} more...` : joined;
}

const endpointsPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column(
      "Endpoints",
      "string",
      "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
    ),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [nameOf(obj), formatEndpoints(obj), ageOf(obj, now)],
};

/** `<lowercase Kind.group>/<name>` of the controller owner reference, `<none>` without one. */
function controllerOf(obj: Obj): string {
  const ref = list(rec(obj.metadata).ownerReferences).find((r) => r.controller === true);
  if (ref === undefined) return "<none>";
  const apiVersion = str(ref.apiVersion);
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const kind = str(ref.kind);
  if (group === "" && kind === "") return str(ref.name);
  const groupKind = group === "" ? kind : `${kind}.${group}`;
  return `${groupKind.toLowerCase()}/${str(ref.name)}`;
}

const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Controller", "string", "Controller of the object"),
    column("Revision", "string", "revision indicates the revision of the state represented by Data."),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [nameOf(obj), controllerOf(obj), int(obj.revision), ageOf(obj, now)],
};

/** `rest.NewDefaultTableConvertor`, for a built-in kind without a printer: name and RFC 3339 creation time. */
const defaultPrinter: Printer = {
  columns: [NAME_COLUMN, column("Created At", "date", CREATION_DOC)],
  cells(obj) {
    const at = timestamp(rec(obj.metadata).creationTimestamp) ?? ZERO_TIME_MS;
    return [nameOf(obj), formatRfc3339(at)];
  },
};

/** `Time.UTC().Format(time.RFC3339)` (whole seconds). */
function formatRfc3339(ms: number): string {
  if (ms === ZERO_TIME_MS) return "0001-01-01T00:00:00Z";
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** `findNodeRoles`: `node-role.kubernetes.io/<role>` label suffixes and `kubernetes.io/role`, sorted, unique. */
function nodeRoles(labels: Obj): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith("node-role.kubernetes.io/")) {
      const role = key.slice("node-role.kubernetes.io/".length);
      if (role !== "") roles.add(role);
    } else if (key === "kubernetes.io/role" && str(value) !== "") roles.add(str(value));
  }
  return [...roles].sort();
}

function nodeAddress(obj: Obj, type: string): string {
  return str(list(rec(obj.status).addresses).find((a) => a.type === type)?.address) || "<none>";
}

const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Status", "string", "The status of the node"),
    column("Roles", "string", "The roles of the node"),
    AGE_COLUMN,
    column("Version", "string", "Kubelet version reported by the node."),
    column("Internal-IP", "string", "List of addresses reachable to the node.", 1),
    column("External-IP", "string", "List of addresses reachable to the node.", 1),
    column("OS-Image", "string", "OS image reported by the node.", 1),
    column("Kernel-Version", "string", "Kernel version reported by the node.", 1),
    column("Container-Runtime", "string", "Container runtime version reported by the node.", 1),
  ],
  cells(obj, now) {
    const status = rec(obj.status);
    const ready = list(status.conditions).find((c) => c.type === "Ready");
    const states = ready === undefined ? ["Unknown"] : [ready.status === "True" ? "Ready" : "NotReady"];
    if (rec(obj.spec).unschedulable === true) states.push("SchedulingDisabled");
    const info = rec(status.nodeInfo);
    return [
      nameOf(obj),
      states.join(","),
      nodeRoles(rec(rec(obj.metadata).labels)).join(",") || "<none>",
      ageOf(obj, now),
      str(info.kubeletVersion),
      nodeAddress(obj, "InternalIP"),
      nodeAddress(obj, "ExternalIP"),
      str(info.osImage) || "<unknown>",
      str(info.kernelVersion) || "<unknown>",
      str(info.containerRuntimeVersion) || "<unknown>",
    ];
  },
};

const configMapPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Data", "integer", "Number of entries in the data and binaryData."),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [
    nameOf(obj),
    Object.keys(rec(obj.data)).length + Object.keys(rec(obj.binaryData)).length,
    ageOf(obj, now),
  ],
};

/** `printValidatingWebhook`: the number of webhooks. */
const validatingWebhookPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column(
      "Webhooks",
      "integer",
      "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [nameOf(obj), Array.isArray(obj.webhooks) ? obj.webhooks.length : 0, ageOf(obj, now)],
};

const secretPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Type", "string", "The type of the secret"),
    column("Data", "integer", "The number of entries in the data"),
    AGE_COLUMN,
  ],
  cells: (obj, now) => [nameOf(obj), str(obj.type), Object.keys(rec(obj.data)).length, ageOf(obj, now)],
};

/** `metav1.LabelSelectorAsSelector(...).String()`: sorted requirements, `<none>` for a nil selector. */
function formatLabelSelector(selector: unknown): string {
  if (selector === undefined || selector === null) return "<none>";
  const sel = rec(selector);
  const parts: [string, string][] = Object.entries(rec(sel.matchLabels)).map(([k, v]) => [
    k,
    `${k}=${str(v)}`,
  ]);
  for (const e of list(sel.matchExpressions)) {
    const key = str(e.key);
    const values = (Array.isArray(e.values) ? e.values.map(str) : []).sort().join(",");
    const text =
      e.operator === "In"
        ? `${key} in (${values})`
        : e.operator === "NotIn"
          ? `${key} notin (${values})`
          : e.operator === "Exists"
            ? key
            : `!${key}`;
    parts.push([key, text]);
  }
  return parts
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, text]) => text)
    .join(",");
}

function templateContainers(obj: Obj): Obj[] {
  return list(rec(rec(rec(obj.spec).template).spec).containers);
}

const WORKLOAD_WIDE = [
  column("Containers", "string", "Names of each container in the template.", 1),
  column("Images", "string", "Images referenced by each container in the template.", 1),
  column(
    "Selector",
    "string",
    "Label selector for pods. Existing pods selected by this will be the ones affected.",
    1,
  ),
];

function workloadWide(obj: Obj, selector: string): string[] {
  const containers = templateContainers(obj);
  return [
    containers.map((c) => str(c.name)).join(","),
    containers.map((c) => str(c.image)).join(","),
    selector,
  ];
}

const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Ready", "string", "Number of the pod with ready state"),
    column(
      "Up-to-date",
      "string",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    column(
      "Available",
      "string",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE_COLUMN,
    ...WORKLOAD_WIDE,
  ],
  cells(obj, now) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    return [
      nameOf(obj),
      `${int(status.readyReplicas)}/${int(spec.replicas)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      ageOf(obj, now),
      ...workloadWide(obj, formatLabelSelector(spec.selector)),
    ];
  },
};

const replicaColumns = [
  NAME_COLUMN,
  column("Desired", "integer", "Number of desired pods."),
  column("Current", "integer", "Number of actual pods."),
  column("Ready", "integer", "Number of ready pods."),
  AGE_COLUMN,
  ...WORKLOAD_WIDE,
];

const replicaSetPrinter: Printer = {
  columns: replicaColumns,
  cells(obj, now) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    return [
      nameOf(obj),
      int(spec.replicas),
      int(status.replicas),
      int(status.readyReplicas),
      ageOf(obj, now),
      ...workloadWide(obj, formatLabelSelector(spec.selector)),
    ];
  },
};

const replicationControllerPrinter: Printer = {
  columns: replicaColumns,
  cells(obj, now) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    return [
      nameOf(obj),
      int(spec.replicas),
      int(status.replicas),
      int(status.readyReplicas),
      ageOf(obj, now),
      ...workloadWide(obj, formatLabels(spec.selector)),
    ];
  },
};

const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
    column(
      "Current",
      "integer",
      "The number of nodes that are running at least one daemon pod and are supposed to.",
    ),
    column(
      "Ready",
      "integer",
      "The number of nodes that should be running the daemon pod and have one ready.",
    ),
    column("Up-to-date", "integer", "The total number of nodes that are running the updated daemon pod."),
    column(
      "Available",
      "integer",
      "The number of nodes that should be running the daemon pod and have one available.",
    ),
    column("Node Selector", "string", "Labels a node must have for the daemon pod to run there."),
    AGE_COLUMN,
    ...WORKLOAD_WIDE,
  ],
  cells(obj, now) {
    const spec = rec(obj.spec);
    const status = rec(obj.status);
    return [
      nameOf(obj),
      int(status.desiredNumberScheduled),
      int(status.currentNumberScheduled),
      int(status.numberReady),
      int(status.updatedNumberScheduled),
      int(status.numberAvailable),
      formatLabels(rec(rec(spec.template).spec).nodeSelector),
      ageOf(obj, now),
      ...workloadWide(obj, formatLabelSelector(spec.selector)),
    ];
  },
};

/** `printResourceQuota`: `<resource>: <used>/<hard>` per status.hard entry, limits.* in the Limit column. */
const resourceQuotaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    AGE_COLUMN,
    column(
      "Request",
      "string",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    column(
      "Limit",
      "string",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  cells(obj, now) {
    const status = rec(obj.status);
    const hard = rec(status.hard);
    const used = rec(status.used);
    const request: string[] = [];
    const limit: string[] = [];
    for (const resource of Object.keys(hard).sort()) {
      const text = `${resource}: ${str(used[resource]) || "0"}/${str(hard[resource])}`;
      (resource.split(".")[0] === "limits" && resource.includes(".") ? limit : request).push(text);
    }
    return [nameOf(obj), ageOf(obj, now), request.join(", "), limit.join(", ")];
  },
};

const BUILTIN_PRINTERS: Readonly<Record<string, Printer>> = {
  ResourceQuota: resourceQuotaPrinter,
  Node: nodePrinter,
  ConfigMap: configMapPrinter,
  ValidatingWebhookConfiguration: validatingWebhookPrinter,
  Secret: secretPrinter,
  Deployment: deploymentPrinter,
  ReplicaSet: replicaSetPrinter,
  ReplicationController: replicationControllerPrinter,
  DaemonSet: daemonSetPrinter,
  Namespace: namespacePrinter,
  Lease: leasePrinter,
  HorizontalPodAutoscaler: hpaPrinter,
  Event: eventPrinter,
  Pod: podPrinter,
  Service: servicePrinter,
  Endpoints: endpointsPrinter,
  ControllerRevision: controllerRevisionPrinter,
};

const printers = new WeakMap<ResourceDef, Printer>();

function printerFor(def: ResourceDef): Printer {
  let printer = printers.get(def);
  if (printer === undefined) {
    printer =
      def.printerColumns !== undefined
        ? crdPrinter(def.printerColumns)
        : (BUILTIN_PRINTERS[def.kind] ?? defaultPrinter);
    printers.set(def, printer);
  }
  return printer;
}

// ---------------------------------------------------------------------------------------------------------------
// Table assembly and request options

/** The Table's columns for a kind (what the first watch event and every list carry). */
export function columnDefinitions(def: ResourceDef): readonly ColumnDefinition[] {
  return printerFor(def).columns;
}

function rowObject(obj: Obj, include: IncludeObject): unknown {
  switch (include) {
    case "Object":
      return obj;
    case "None":
      // RawExtension without an object marshals as JSON null; the field has no effective omitempty.
      return null;
    default:
      return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata ?? {} };
  }
}

/**
 * Renders objects (already in their served version) as a meta.k8s.io/v1 Table: one row per object, cells per the
 * kind's columns, `object` per includeObject (PartialObjectMetadata, the full object, or null for None).
 */
export function tableFor(
  def: ResourceDef,
  objects: readonly Obj[],
  opts: TableOptions,
): Record<string, unknown> {
  const printer = printerFor(def);
  const now = opts.now.getTime();
  const rows: Obj[] = new Array(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i] as Obj;
    const conditions = printer.conditions?.(obj);
    rows[i] =
      conditions === undefined
        ? { cells: printer.cells(obj, now), object: rowObject(obj, opts.includeObject) }
        : { cells: printer.cells(obj, now), conditions, object: rowObject(obj, opts.includeObject) };
  }
  const meta = opts.listMetadata;
  const metadata: Obj = {};
  if (meta.resourceVersion !== "") metadata.resourceVersion = meta.resourceVersion;
  if (meta.continue !== undefined && meta.continue !== "") metadata.continue = meta.continue;
  if (meta.remainingItemCount !== undefined) metadata.remainingItemCount = meta.remainingItemCount;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    // A nil Go slice without omitempty: later watch events send `null`, not an empty list.
    columnDefinitions: opts.withColumnDefinitions ? printer.columns : null,
    rows,
  };
}

interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(",")
    .map((clause) => {
      const [type = "", ...rest] = clause.split(";").map((p) => p.trim());
      const params = new Map<string, string>();
      for (const p of rest) {
        const eq = p.indexOf("=");
        if (eq > 0)
          params.set(
            p.slice(0, eq).trim().toLowerCase(),
            p
              .slice(eq + 1)
              .trim()
              .replace(/^"|"$/g, ""),
          );
      }
      const q = params.has("q") ? Number(params.get("q")) : 1;
      return { type: type.toLowerCase(), params, q: Number.isNaN(q) ? 0 : q };
    })
    .filter((r) => r.type !== "" && r.q > 0)
    .sort((a, b) => b.q - a.q);
}

const PLAIN_TYPES = new Set(["application/json", "application/*", "*/*", "application/yaml"]);

/**
 * Whether an Accept header asks for a Table: the first acceptable clause (by q, then order) is
 * `application/json;as=Table;g=meta.k8s.io;v=v1|v1beta1` in any parameter order. Clauses we cannot serve
 * (other `as=` targets, protobuf Tables) are skipped, as the server's negotiation does; either Table version is
 * answered with v1.
 */
export function wantsTable(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return false;
  for (const range of parseAccept(accept)) {
    const as = range.params.get("as");
    if (as === undefined) {
      if (PLAIN_TYPES.has(range.type) || range.type === "application/vnd.kubernetes.protobuf") return false;
      continue;
    }
    const version = range.params.get("v");
    if (
      range.type === "application/json" &&
      as === "Table" &&
      range.params.get("g") === "meta.k8s.io" &&
      (version === "v1" || version === "v1beta1")
    ) {
      return true;
    }
  }
  return false;
}

/**
 * The `includeObject` query parameter of a Table request: absent or empty means Metadata. Anything else fails
 * TableOptions validation with the API server's message (`optionsForTransform` runs before `asTable`).
 */
export function parseIncludeObject(value: string | undefined): IncludeObject {
  if (value === undefined || value === "" || value === "Metadata") return "Metadata";
  if (value === "Object" || value === "None") return value;
  throw badRequest(
    `Unable to convert to Table as requested: includeObject: Invalid value: ${JSON.stringify(value)}: must be 'Metadata', 'Object', 'None', or empty`,
  );
}
