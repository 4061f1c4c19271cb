/**
 * Zod schemas for HorizontalPodAutoscaler (autoscaling/v2 and autoscaling/v1), `normalizeHpa` which turns either
 * version into one fully defaulted v2 spec the way kube-apiserver converts and defaults it, Kubernetes quantity
 * parsing/formatting for metric targets and values, and the step-scaling config for threshold alerts. Objects are
 * loose so fields added upstream survive. Facts: shared/reference/scaling-triggers.md §1; upstream
 * `pkg/apis/autoscaling/v2/defaults.go` and `pkg/apis/autoscaling/v1/conversion.go`.
 */
import { z } from "zod";
import { ReasonedError } from "../errors";
import type { LabelSelector } from "./kubevirt";
import { ConditionSchema, LabelSelectorSchema, ObjectMetaSchema } from "./kubevirt";

// ---------------------------------------------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------------------------------------------

/**
 * A resource.Quantity as it appears in JSON: a string ("500m", "2Gi") or a bare number (YAML `averageValue: 100`).
 */
export const HpaQuantitySchema = z.union([z.string(), z.number()]);
export type HpaQuantityInput = z.infer<typeof HpaQuantitySchema>;

/** How a quantity prints (resource.Format). */
export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** A parsed quantity: the original text, an approximate float and the exact milli-value rounded up. */
export interface ParsedQuantity {
  readonly text: string;
  readonly value: number;
  /** resource.Quantity.MilliValue(): value × 1000 rounded up, computed exactly (no float error). */
  readonly milli: number;
  readonly format: QuantityFormat;
}

// The only quantity code in node_modules is @kubernetes/client-node's `quantityToScalar`, which may only be imported by
// shared/kube, throws on "1.5k" and has no exponent form; so this is a small exact parser of the upstream grammar.
const QUANTITY_PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$/;
const DECIMAL_SUFFIX_EXPONENTS: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIX_POWERS: Readonly<Record<string, number>> = {
  Ki: 10,
  Mi: 20,
  Gi: 30,
  Ti: 40,
  Pi: 50,
  Ei: 60,
};

/**
 * Parses a Kubernetes quantity ("500m", "1k", "2Gi", "1.5", "1e3"). Returns undefined when the text is not one.
 */
export function parseQuantity(input: HpaQuantityInput): ParsedQuantity | undefined {
  const text = typeof input === "number" ? numberToQuantityText(input) : input.trim();
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) return undefined;
  const [, sign = "", numberPart = "", suffix = ""] = match;
  const [intDigits = "", fracDigits = ""] = numberPart.split(".");
  let numerator = BigInt(`${intDigits}${fracDigits}` || "0") * 1000n;
  let denominator = 10n ** BigInt(fracDigits.length);
  let format: QuantityFormat = "DecimalSI";
  let scale: number;
  const binaryPower = BINARY_SUFFIX_POWERS[suffix];
  if (binaryPower !== undefined) {
    format = "BinarySI";
    numerator *= 2n ** BigInt(binaryPower);
    scale = 2 ** binaryPower;
  } else {
    const isExponent = /^[eE][+-]?\d+$/.test(suffix);
    if (isExponent) format = "DecimalExponent";
    const exponent = isExponent ? Number(suffix.slice(1)) : (DECIMAL_SUFFIX_EXPONENTS[suffix] ?? 0);
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
    scale = 10 ** exponent;
  }
  const negative = sign === "-";
  const milliMagnitude = negative ? numerator / denominator : ceilDiv(numerator, denominator);
  const milli = Number(negative ? -milliMagnitude : milliMagnitude);
  const value = (negative ? -1 : 1) * Number(numberPart) * scale;
  return { text, value, milli, format };
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

function numberToQuantityText(value: number): string {
  // JavaScript prints 1e21 as "1e+21", which the grammar accepts; NaN/Infinity fail the pattern as they should.
  return String(value);
}

const DECIMAL_SUFFIXES: Readonly<Record<number, string>> = {
  [-9]: "n",
  [-6]: "u",
  [-3]: "m",
  0: "",
  3: "k",
  6: "M",
  9: "G",
  12: "T",
  15: "P",
  18: "E",
};
const BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;

/**
 * Prints a milli-value the way `resource.NewMilliQuantity(milli, format).String()` does (canonical form:
 * `1500m`, `2`, `2k`; BinarySI uses Ki/Mi/Gi only for whole multiples of 1024 and falls back to DecimalSI).
 */
export function formatQuantity(milli: number, format: "DecimalSI" | "BinarySI" = "DecimalSI"): string {
  const whole = Math.trunc(milli);
  if (whole === 0) return "0";
  const sign = whole < 0 ? "-" : "";
  const magnitude = BigInt(Math.abs(whole));
  if (format === "BinarySI" && magnitude % 1000n === 0n && magnitude / 1000n >= 1024n) {
    let units = magnitude / 1000n;
    let power = 0;
    while (units % 1024n === 0n && power < BINARY_SUFFIXES.length - 1) {
      units /= 1024n;
      power += 1;
    }
    return `${sign}${units}${BINARY_SUFFIXES[power]}`;
  }
  let mantissa = magnitude;
  let exponent = -3;
  while (mantissa % 1000n === 0n && exponent < 18) {
    mantissa /= 1000n;
    exponent += 3;
  }
  return `${sign}${mantissa}${DECIMAL_SUFFIXES[exponent] ?? `e${exponent}`}`;
}

// ---------------------------------------------------------------------------------------------------------------
// autoscaling/v2
// ---------------------------------------------------------------------------------------------------------------

/** autoscaling CrossVersionObjectReference (scale target, described object). */
export const HpaObjectReferenceSchema = z.looseObject({
  apiVersion: z.string().nullish(),
  kind: z.string(),
  name: z.string(),
});
export type HpaObjectReference = z.infer<typeof HpaObjectReferenceSchema>;

const HpaMetricIdentifierSchema = z.looseObject({
  name: z.string(),
  selector: LabelSelectorSchema.nullish(),
});

/** autoscaling/v2 MetricTarget. */
export const HpaMetricTargetSchema = z.looseObject({
  type: z.enum(["Utilization", "Value", "AverageValue"]),
  value: HpaQuantitySchema.nullish(),
  averageValue: HpaQuantitySchema.nullish(),
  averageUtilization: z.number().int().nullish(),
});
export type HpaMetricTarget = z.infer<typeof HpaMetricTargetSchema>;

/** autoscaling/v2 MetricSpec, one variant per source type. */
export const HpaMetricSpecSchema = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("Resource"),
    resource: z.looseObject({ name: z.string(), target: HpaMetricTargetSchema }),
  }),
  z.looseObject({
    type: z.literal("ContainerResource"),
    containerResource: z.looseObject({
      name: z.string(),
      container: z.string(),
      target: HpaMetricTargetSchema,
    }),
  }),
  z.looseObject({
    type: z.literal("Pods"),
    pods: z.looseObject({ metric: HpaMetricIdentifierSchema, target: HpaMetricTargetSchema }),
  }),
  z.looseObject({
    type: z.literal("Object"),
    object: z.looseObject({
      describedObject: HpaObjectReferenceSchema,
      metric: HpaMetricIdentifierSchema,
      target: HpaMetricTargetSchema,
    }),
  }),
  z.looseObject({
    type: z.literal("External"),
    external: z.looseObject({ metric: HpaMetricIdentifierSchema, target: HpaMetricTargetSchema }),
  }),
]);
export type HpaMetricSpec = z.infer<typeof HpaMetricSpecSchema>;

/** autoscaling/v2 HPAScalingPolicy. */
export const HpaScalingPolicySchema = z.looseObject({
  type: z.enum(["Pods", "Percent"]),
  value: z.number().int(),
  periodSeconds: z.number().int(),
});
export type HpaScalingPolicy = z.infer<typeof HpaScalingPolicySchema>;

/**
 * autoscaling/v2 HPAScalingRules. `tolerance` (a Quantity, KEP-4951, feature gate HPAConfigurableTolerance) lives
 * here on scaleUp/scaleDown, not on a policy.
 */
export const HpaScalingRulesSchema = z.looseObject({
  stabilizationWindowSeconds: z.number().int().nullish(),
  selectPolicy: z.enum(["Max", "Min", "Disabled"]).nullish(),
  policies: z.array(HpaScalingPolicySchema).nullish(),
  tolerance: HpaQuantitySchema.nullish(),
});
export type HpaScalingRules = z.infer<typeof HpaScalingRulesSchema>;

/** autoscaling/v2 HorizontalPodAutoscalerBehavior. */
export const HpaBehaviorSchema = z.looseObject({
  scaleUp: HpaScalingRulesSchema.nullish(),
  scaleDown: HpaScalingRulesSchema.nullish(),
});
export type HpaBehavior = z.infer<typeof HpaBehaviorSchema>;

/** autoscaling/v2 HorizontalPodAutoscalerStatus (metric statuses kept opaque). */
export const HpaStatusV2Schema = z.looseObject({
  observedGeneration: z.number().int().nullish(),
  lastScaleTime: z.string().nullish(),
  currentReplicas: z.number().int().nullish(),
  desiredReplicas: z.number().int().nullish(),
  currentMetrics: z.array(z.looseObject({ type: z.string() })).nullish(),
  conditions: z.array(ConditionSchema).nullish(),
});

/** autoscaling/v2 HorizontalPodAutoscaler. */
export const HorizontalPodAutoscalerV2Schema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema.optional(),
  spec: z.looseObject({
    scaleTargetRef: HpaObjectReferenceSchema,
    minReplicas: z.number().int().nullish(),
    maxReplicas: z.number().int(),
    metrics: z.array(HpaMetricSpecSchema).nullish(),
    behavior: HpaBehaviorSchema.nullish(),
  }),
  status: HpaStatusV2Schema.nullish(),
});
export type HorizontalPodAutoscalerV2 = z.infer<typeof HorizontalPodAutoscalerV2Schema>;

// ---------------------------------------------------------------------------------------------------------------
// autoscaling/v1
// ---------------------------------------------------------------------------------------------------------------

/** autoscaling/v1 HorizontalPodAutoscaler (CPU target only; v2-only fields ride in annotations). */
export const HorizontalPodAutoscalerV1Schema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema.optional(),
  spec: z.looseObject({
    scaleTargetRef: HpaObjectReferenceSchema,
    minReplicas: z.number().int().nullish(),
    maxReplicas: z.number().int(),
    targetCPUUtilizationPercentage: z.number().int().nullish(),
  }),
  status: z
    .looseObject({
      observedGeneration: z.number().int().nullish(),
      lastScaleTime: z.string().nullish(),
      currentReplicas: z.number().int().nullish(),
      desiredReplicas: z.number().int().nullish(),
      currentCPUUtilizationPercentage: z.number().int().nullish(),
    })
    .nullish(),
});
export type HorizontalPodAutoscalerV1 = z.infer<typeof HorizontalPodAutoscalerV1Schema>;

/** Annotations kube-apiserver uses to carry v2-only fields through an autoscaling/v1 read. */
export const HPA_V1_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics";
export const HPA_V1_BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior";

// The metrics annotation holds autoscaling/v1 MetricSpec items (the v2beta1-style field names).
const V1AnnotationMetricSchema = z.looseObject({
  type: z.enum(["Resource", "ContainerResource", "Pods", "Object", "External"]),
  resource: z
    .looseObject({
      name: z.string(),
      targetAverageUtilization: z.number().int().nullish(),
      targetAverageValue: HpaQuantitySchema.nullish(),
    })
    .nullish(),
  containerResource: z
    .looseObject({
      name: z.string(),
      container: z.string(),
      targetAverageUtilization: z.number().int().nullish(),
      targetAverageValue: HpaQuantitySchema.nullish(),
    })
    .nullish(),
  pods: z
    .looseObject({
      metricName: z.string(),
      targetAverageValue: HpaQuantitySchema,
      selector: LabelSelectorSchema.nullish(),
    })
    .nullish(),
  object: z
    .looseObject({
      target: HpaObjectReferenceSchema,
      metricName: z.string(),
      targetValue: HpaQuantitySchema,
      selector: LabelSelectorSchema.nullish(),
      averageValue: HpaQuantitySchema.nullish(),
    })
    .nullish(),
  external: z
    .looseObject({
      metricName: z.string(),
      metricSelector: LabelSelectorSchema.nullish(),
      targetValue: HpaQuantitySchema.nullish(),
      targetAverageValue: HpaQuantitySchema.nullish(),
    })
    .nullish(),
});
type V1AnnotationMetric = z.infer<typeof V1AnnotationMetricSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Normalized spec
// ---------------------------------------------------------------------------------------------------------------

/** Default tolerance (`--horizontal-pod-autoscaler-tolerance`). */
export const DEFAULT_HPA_TOLERANCE = 0.1;
/** Default scale-down stabilization (`--horizontal-pod-autoscaler-downscale-stabilization`, 5 min). */
export const DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300;
/** Default target when an HPA names no metric (autoscaling.DefaultCPUUtilization). */
export const DEFAULT_CPU_UTILIZATION = 80;
/** Longest allowed policy period (apiserver validation). */
export const MAX_POLICY_PERIOD_SECONDS = 1800;
/** Longest allowed stabilization window (apiserver validation). */
export const MAX_STABILIZATION_WINDOW_SECONDS = 3600;

export type HpaSelectPolicy = "Max" | "Min" | "Disabled";

/** One direction's rules with every field filled. */
export interface NormalizedScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: HpaSelectPolicy;
  readonly policies: readonly HpaScalingPolicy[];
}

/** spec.behavior with every field filled. */
export interface NormalizedBehavior {
  readonly scaleUp: NormalizedScalingRules;
  readonly scaleDown: NormalizedScalingRules;
}

/** A metric target with its quantity parsed. */
export type NormalizedTarget =
  | { readonly type: "Utilization"; readonly averageUtilization: number }
  | { readonly type: "AverageValue"; readonly averageValue: ParsedQuantity }
  | { readonly type: "Value"; readonly value: ParsedQuantity };

/** One metric of the normalized spec; `source` is the v2 MetricSpec it came from. */
export type NormalizedMetric =
  | { readonly type: "Resource"; readonly name: string; readonly target: NormalizedTarget }
  | {
      readonly type: "ContainerResource";
      readonly name: string;
      readonly container: string;
      readonly target: NormalizedTarget;
    }
  | {
      readonly type: "Pods" | "External";
      readonly name: string;
      readonly selector: LabelSelector | null;
      readonly target: NormalizedTarget;
    }
  | {
      readonly type: "Object";
      readonly name: string;
      readonly selector: LabelSelector | null;
      readonly describedObject: HpaObjectReference;
      readonly target: NormalizedTarget;
    };

/**
 * An HPA as the controller sees it after conversion and defaulting. `behavior` is null when the object sets none:
 * upstream then runs its pre-behavior rules (scale-up capped at max(2×current, 4) per sync, 300 s scale-down
 * stabilization, no scale-up stabilization), which differ from the filled defaults for small targets.
 */
export interface HpaSpecV2 {
  readonly namespace: string;
  readonly name: string;
  readonly scaleTargetRef: HpaObjectReference;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metrics: readonly NormalizedMetric[];
  readonly behavior: NormalizedBehavior | null;
  /** Per direction; from spec.behavior.scale{Up,Down}.tolerance, else the cluster default 0.1. */
  readonly tolerance: { readonly scaleUp: number; readonly scaleDown: number };
}

/** Upstream default scale-up rules (pkg/apis/autoscaling/v2/defaults.go): Pods 4/15 s and Percent 100/15 s, Max. */
export const DEFAULT_SCALE_UP_RULES: NormalizedScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};

/** Upstream default scale-down rules: Percent 100/15 s, Max; the window comes from the controller flag (300 s). */
export const DEFAULT_SCALE_DOWN_RULES: NormalizedScalingRules = {
  stabilizationWindowSeconds: DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

function invalid(message: string): ReasonedError {
  return new ReasonedError("InvalidHorizontalPodAutoscaler", message, { status: 422, retryable: false });
}

function issuesText(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/**
 * Converts an autoscaling/v1 or v2 HorizontalPodAutoscaler into the controller's view: v1's CPU target becomes a
 * Resource cpu Utilization metric (after any metrics carried in the v1 annotation), no metric means 80% CPU,
 * minReplicas defaults to 1, a set behavior is filled field by field with upstream defaults, tolerances default to
 * 0.1. Throws ReasonedError `InvalidHorizontalPodAutoscaler` (422) for objects kube-apiserver would reject.
 */
export function normalizeHpa(obj: unknown): HpaSpecV2 {
  const apiVersion = (obj as { apiVersion?: unknown } | null)?.apiVersion;
  const spec = (obj as { spec?: Record<string, unknown> } | null)?.spec;
  const isV1 =
    apiVersion === "autoscaling/v1" ||
    (apiVersion === undefined &&
      spec !== undefined &&
      spec !== null &&
      "targetCPUUtilizationPercentage" in spec);
  return isV1 ? normalizeV1(obj) : normalizeV2(obj);
}

function normalizeV2(obj: unknown): HpaSpecV2 {
  const parsed = HorizontalPodAutoscalerV2Schema.safeParse(obj);
  if (!parsed.success)
    throw invalid(`invalid autoscaling/v2 HorizontalPodAutoscaler: ${issuesText(parsed.error)}`);
  const hpa = parsed.data;
  return buildSpec({
    metadata: hpa.metadata,
    scaleTargetRef: hpa.spec.scaleTargetRef,
    minReplicas: hpa.spec.minReplicas,
    maxReplicas: hpa.spec.maxReplicas,
    metrics: hpa.spec.metrics ?? [],
    behavior: hpa.spec.behavior ?? null,
  });
}

function normalizeV1(obj: unknown): HpaSpecV2 {
  const parsed = HorizontalPodAutoscalerV1Schema.safeParse(obj);
  if (!parsed.success)
    throw invalid(`invalid autoscaling/v1 HorizontalPodAutoscaler: ${issuesText(parsed.error)}`);
  const hpa = parsed.data;
  const annotations = hpa.metadata?.annotations ?? {};
  const metrics = annotationMetrics(annotations[HPA_V1_METRICS_ANNOTATION]);
  const cpu = hpa.spec.targetCPUUtilizationPercentage;
  if (cpu !== undefined && cpu !== null) metrics.push(cpuUtilizationMetric(cpu));
  return buildSpec({
    metadata: hpa.metadata,
    scaleTargetRef: hpa.spec.scaleTargetRef,
    minReplicas: hpa.spec.minReplicas,
    maxReplicas: hpa.spec.maxReplicas,
    metrics,
    behavior: annotationBehavior(annotations[HPA_V1_BEHAVIOR_ANNOTATION]),
  });
}

function cpuUtilizationMetric(averageUtilization: number): HpaMetricSpec {
  return { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization } } };
}

function annotationMetrics(text: string | undefined): HpaMetricSpec[] {
  if (text === undefined) return [];
  const parsed = z.array(V1AnnotationMetricSchema).safeParse(safeJson(text));
  if (!parsed.success) throw invalid(`invalid ${HPA_V1_METRICS_ANNOTATION} annotation`);
  return parsed.data.map(convertV1AnnotationMetric);
}

// Mirrors autoscaling/v1 conversion.go: a v1 metric picks its v2 target type from which fields are set.
function convertV1AnnotationMetric(metric: V1AnnotationMetric): HpaMetricSpec {
  const { resource, containerResource, pods, object, external } = metric;
  if (metric.type === "Resource" && resource) {
    return { type: "Resource", resource: { name: resource.name, target: v1AverageTarget(resource) } };
  }
  if (metric.type === "ContainerResource" && containerResource) {
    const { name, container } = containerResource;
    return {
      type: "ContainerResource",
      containerResource: { name, container, target: v1AverageTarget(containerResource) },
    };
  }
  if (metric.type === "Pods" && pods) {
    return {
      type: "Pods",
      pods: {
        metric: { name: pods.metricName, selector: pods.selector ?? null },
        target: { type: "AverageValue", averageValue: pods.targetAverageValue },
      },
    };
  }
  if (metric.type === "Object" && object) {
    const averaged = object.averageValue !== undefined && object.averageValue !== null;
    return {
      type: "Object",
      object: {
        describedObject: object.target,
        metric: { name: object.metricName, selector: object.selector ?? null },
        target: averaged
          ? { type: "AverageValue", averageValue: object.averageValue ?? null, value: object.targetValue }
          : { type: "Value", value: object.targetValue },
      },
    };
  }
  if (metric.type === "External" && external) {
    const averaged = external.targetAverageValue !== undefined && external.targetAverageValue !== null;
    return {
      type: "External",
      external: {
        metric: { name: external.metricName, selector: external.metricSelector ?? null },
        target: averaged
          ? { type: "AverageValue", averageValue: external.targetAverageValue ?? null }
          : { type: "Value", value: external.targetValue ?? null },
      },
    };
  }
  throw invalid(`invalid ${HPA_V1_METRICS_ANNOTATION} annotation: ${metric.type} metric without its source`);
}

function v1AverageTarget(source: {
  targetAverageUtilization?: number | null | undefined;
  targetAverageValue?: HpaQuantityInput | null | undefined;
}): HpaMetricTarget {
  if (source.targetAverageUtilization !== undefined && source.targetAverageUtilization !== null) {
    return { type: "Utilization", averageUtilization: source.targetAverageUtilization };
  }
  return { type: "AverageValue", averageValue: source.targetAverageValue ?? null };
}

// The behavior annotation is the internal Go struct marshalled without JSON tags ("ScaleUp", "PeriodSeconds");
// Go's decoder matches keys case-insensitively, so lower-casing the first letter gives the v2 shape.
function annotationBehavior(text: string | undefined): HpaBehavior | null {
  if (text === undefined) return null;
  const parsed = HpaBehaviorSchema.safeParse(lowerFirstKeys(safeJson(text)));
  if (!parsed.success) throw invalid(`invalid ${HPA_V1_BEHAVIOR_ANNOTATION} annotation`);
  return parsed.data;
}

/** Behavior → ScaleUp → Policies → policy: the only levels whose keys the schema reads. */
const BEHAVIOR_KEY_DEPTH = 4;

// Bounded: the annotation is user input, and deeper values are passed on untouched (the schema never reads them).
function lowerFirstKeys(value: unknown, depth = 0): unknown {
  if (depth >= BEHAVIOR_KEY_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => lowerFirstKeys(item, depth + 1));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key.charAt(0).toLowerCase() + key.slice(1),
      lowerFirstKeys(inner, depth + 1),
    ]),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface SpecParts {
  readonly metadata: z.infer<typeof ObjectMetaSchema> | undefined;
  readonly scaleTargetRef: HpaObjectReference;
  readonly minReplicas: number | null | undefined;
  readonly maxReplicas: number;
  readonly metrics: readonly HpaMetricSpec[];
  readonly behavior: HpaBehavior | null;
}

function buildSpec(parts: SpecParts): HpaSpecV2 {
  const minReplicas = parts.minReplicas ?? 1;
  if (parts.maxReplicas < 1) throw invalid("spec.maxReplicas: must be greater than or equal to 1");
  // minReplicas 0 needs the alpha HPAScaleToZero gate, which we do not emulate.
  if (minReplicas < 1) throw invalid("spec.minReplicas: must be greater than or equal to 1");
  if (parts.maxReplicas < minReplicas) {
    throw invalid("spec.maxReplicas: must be greater than or equal to `minReplicas`");
  }
  const metricSpecs =
    parts.metrics.length > 0 ? parts.metrics : [cpuUtilizationMetric(DEFAULT_CPU_UTILIZATION)];
  return {
    namespace: parts.metadata?.namespace ?? "",
    name: parts.metadata?.name ?? "",
    scaleTargetRef: parts.scaleTargetRef,
    minReplicas,
    maxReplicas: parts.maxReplicas,
    metrics: metricSpecs.map((metric, index) => normalizeMetric(metric, `spec.metrics[${index}]`)),
    behavior: parts.behavior === null ? null : fillBehavior(parts.behavior),
    tolerance: {
      scaleUp: normalizeTolerance(parts.behavior?.scaleUp?.tolerance, "spec.behavior.scaleUp.tolerance"),
      scaleDown: normalizeTolerance(
        parts.behavior?.scaleDown?.tolerance,
        "spec.behavior.scaleDown.tolerance",
      ),
    },
  };
}

function normalizeTolerance(raw: HpaQuantityInput | null | undefined, path: string): number {
  if (raw === undefined || raw === null) return DEFAULT_HPA_TOLERANCE;
  const quantity = parseQuantity(raw);
  if (!quantity || quantity.value < 0) throw invalid(`${path}: must be a non-negative quantity`);
  return quantity.value;
}

function fillBehavior(behavior: HpaBehavior): NormalizedBehavior {
  return {
    scaleUp: fillRules(behavior.scaleUp, DEFAULT_SCALE_UP_RULES, "spec.behavior.scaleUp"),
    scaleDown: fillRules(behavior.scaleDown, DEFAULT_SCALE_DOWN_RULES, "spec.behavior.scaleDown"),
  };
}

function fillRules(
  rules: HpaScalingRules | null | undefined,
  defaults: NormalizedScalingRules,
  path: string,
): NormalizedScalingRules {
  const filled: NormalizedScalingRules = {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? defaults.selectPolicy,
    policies: rules?.policies ?? defaults.policies,
  };
  const window = filled.stabilizationWindowSeconds;
  if (window < 0 || window > MAX_STABILIZATION_WINDOW_SECONDS) {
    throw invalid(
      `${path}.stabilizationWindowSeconds: must be between 0 and ${MAX_STABILIZATION_WINDOW_SECONDS}`,
    );
  }
  filled.policies.forEach((policy, index) => {
    if (policy.value <= 0) throw invalid(`${path}.policies[${index}].value: must be greater than zero`);
    if (policy.periodSeconds <= 0 || policy.periodSeconds > MAX_POLICY_PERIOD_SECONDS) {
      throw invalid(
        `${path}.policies[${index}].periodSeconds: must be greater than zero and less than or equal to ${MAX_POLICY_PERIOD_SECONDS}`,
      );
    }
  });
  return filled;
}

// Source/target combinations follow apiserver validation: Utilization only for (Container)Resource, Pods only
// AverageValue, Resource never Value.
const ALLOWED_TARGETS: Readonly<Record<HpaMetricSpec["type"], readonly HpaMetricTarget["type"][]>> = {
  Resource: ["Utilization", "AverageValue"],
  ContainerResource: ["Utilization", "AverageValue"],
  Pods: ["AverageValue"],
  Object: ["Value", "AverageValue"],
  External: ["Value", "AverageValue"],
};

function normalizeMetric(metric: HpaMetricSpec, path: string): NormalizedMetric {
  switch (metric.type) {
    case "Resource":
      return {
        type: "Resource",
        name: metric.resource.name,
        target: normalizeTarget(metric, metric.resource.target, path),
      };
    case "ContainerResource": {
      const { name, container, target } = metric.containerResource;
      return { type: "ContainerResource", name, container, target: normalizeTarget(metric, target, path) };
    }
    case "Pods": {
      const { metric: id, target } = metric.pods;
      return {
        type: "Pods",
        name: id.name,
        selector: id.selector ?? null,
        target: normalizeTarget(metric, target, path),
      };
    }
    case "Object": {
      const { metric: id, target, describedObject } = metric.object;
      return {
        type: "Object",
        name: id.name,
        selector: id.selector ?? null,
        describedObject,
        target: normalizeTarget(metric, target, path),
      };
    }
    case "External": {
      const { metric: id, target } = metric.external;
      return {
        type: "External",
        name: id.name,
        selector: id.selector ?? null,
        target: normalizeTarget(metric, target, path),
      };
    }
  }
}

function normalizeTarget(metric: HpaMetricSpec, target: HpaMetricTarget, path: string): NormalizedTarget {
  if (!ALLOWED_TARGETS[metric.type].includes(target.type)) {
    throw invalid(`${path}.target.type: ${target.type} is not supported for ${metric.type} metrics`);
  }
  switch (target.type) {
    case "Utilization": {
      const averageUtilization = target.averageUtilization;
      if (averageUtilization === undefined || averageUtilization === null || averageUtilization <= 0) {
        throw invalid(`${path}.target.averageUtilization: must be set and greater than 0`);
      }
      return { type: "Utilization", averageUtilization };
    }
    case "AverageValue":
      return {
        type: "AverageValue",
        averageValue: positiveQuantity(target.averageValue, `${path}.target.averageValue`),
      };
    case "Value":
      return { type: "Value", value: positiveQuantity(target.value, `${path}.target.value`) };
  }
}

function positiveQuantity(raw: HpaQuantityInput | null | undefined, path: string): ParsedQuantity {
  const quantity = raw === undefined || raw === null ? undefined : parseQuantity(raw);
  if (!quantity || quantity.milli <= 0) throw invalid(`${path}: must be a positive quantity`);
  return quantity;
}

// ---------------------------------------------------------------------------------------------------------------
// Step scaling config (threshold alerts that carry no value)
// ---------------------------------------------------------------------------------------------------------------

const STEP_PATTERN = /^([+-]?)(\d+)(%?)$/;

/** A step: a fixed count or a percentage of the current replicas. */
export type ScalingStep =
  | { readonly kind: "count"; readonly count: number }
  | { readonly kind: "percent"; readonly percent: number };

function stepSchema(direction: "+" | "-") {
  return z
    .string()
    .trim()
    .transform((text, ctx): ScalingStep => {
      const match = STEP_PATTERN.exec(text);
      const [, sign = "", digits = "", percent = ""] = match ?? [];
      const amount = Number(digits);
      if (!match || (sign !== "" && sign !== direction) || amount < 1) {
        ctx.addIssue({
          code: "custom",
          message: `expected "${direction}N" or "${direction}P%" with N, P ≥ 1`,
        });
        return z.NEVER;
      }
      return percent ? { kind: "percent", percent: amount } : { kind: "count", count: amount };
    });
}

/**
 * Step scaling for a pool driven by threshold alerts: `stepUp` "+N" or "+P%" while firing, optional `stepDown`
 * "-N" or "-P%" once resolved, never more often than `cooldownSeconds` (default 300).
 */
export const StepScalingConfigSchema = z.object({
  stepUp: stepSchema("+"),
  stepDown: stepSchema("-").optional(),
  cooldownSeconds: z.number().int().min(0).max(86_400).default(300),
});
export type StepScalingConfig = z.output<typeof StepScalingConfigSchema>;
export type StepScalingConfigInput = z.input<typeof StepScalingConfigSchema>;
