/**
 * Our own minimal protobuf schema for the few Kubernetes messages kubectl ≥1.32 POSTs as protobuf
 * (HorizontalPodAutoscaler autoscaling/v1 and v2; core/v1 Namespace, ConfigMap and Secret; the authorization/v1 and
 * authentication/v1 self reviews), plus the `runtime.Unknown` envelope and the meta/v1 types they embed. Field
 * numbers come from the upstream `generated.proto` files (k8s.io/api autoscaling/v1, autoscaling/v2, core/v1,
 * authorization/v1, authentication/v1; k8s.io/apimachinery pkg/apis/meta/v1, pkg/runtime,
 * pkg/api/resource). Each field also records how Go's encoding/json emits it (from the `json:"…"` struct tags in
 * the matching `types.go`), so a decoded message can be rendered exactly as kubectl would have sent it as JSON.
 * ManagedFieldsEntry (ObjectMeta field 17) is deliberately absent: protobufjs skips it as an unknown field, and the
 * server recomputes managedFields anyway.
 */
import protobuf from "protobufjs";

/**
 * How Go's encoding/json emits a field:
 * - `always`: no omitempty on a value type — emitted even when zero (`0`, `""`, `{}`); a nil slice is `null` and a
 *   zero `metav1.Time` is `null`.
 * - `omitempty`: dropped when zero/empty (`""`, `0`, `false`, empty list/map, zero Time with `omitzero`).
 * - `pointer`: a `*T` with omitempty — emitted iff the field was on the wire, even when its value is zero.
 */
export type JsonRule = "always" | "omitempty" | "pointer";

export interface FieldSpec {
  /** Proto field name; identical to the JSON name for every Kubernetes type used here. */
  readonly name: string;
  readonly id: number;
  /** A protobuf scalar (`string`, `int32`, `int64`, `bool`, `bytes`) or an absolute message name. */
  readonly type: string;
  readonly json: JsonRule;
  readonly repeated?: true;
  /** `map<string, type>` */
  readonly map?: true;
}

export type MessageSpec = readonly FieldSpec[];

const META = ".k8s.io.apimachinery.pkg.apis.meta.v1";
const RUNTIME = ".k8s.io.apimachinery.pkg.runtime";
const RESOURCE = ".k8s.io.apimachinery.pkg.api.resource";
const HPA_V1 = ".k8s.io.api.autoscaling.v1";
const HPA_V2 = ".k8s.io.api.autoscaling.v2";
const CORE_V1 = ".k8s.io.api.core.v1";
const AUTHZ_V1 = ".k8s.io.api.authorization.v1";
const AUTHN_V1 = ".k8s.io.api.authentication.v1";

/** `metav1.Time`: `{seconds, nanos}`; rendered as an RFC3339 string (or `null` when zero) rather than as a message. */
export const TIME = `${META}.Time`;
/** `resource.Quantity`: `{string}`; rendered as that string. */
export const QUANTITY = `${RESOURCE}.Quantity`;
export const UNKNOWN = `${RUNTIME}.Unknown`;

function field(id: number, name: string, type: string, json: JsonRule): FieldSpec {
  return { id, name, type, json };
}

function list(id: number, name: string, type: string, json: JsonRule): FieldSpec {
  return { id, name, type, json, repeated: true };
}

function stringMap(id: number, name: string): FieldSpec {
  return { id, name, type: "string", json: "omitempty", map: true };
}

/** `map<string, bytes>`: base64 strings in JSON. */
function bytesMap(id: number, name: string): FieldSpec {
  return { id, name, type: "bytes", json: "omitempty", map: true };
}

const OBJECT_META = `${META}.ObjectMeta`;

/** The three top-level fields every Kubernetes object message shares; spec/status are Go value structs. */
function objectFields(spec: string, status: string): MessageSpec {
  return [
    field(1, "metadata", OBJECT_META, "always"),
    field(2, "spec", spec, "always"),
    field(3, "status", status, "always"),
  ];
}

const crossVersionObjectReference: MessageSpec = [
  field(1, "kind", "string", "always"),
  field(2, "name", "string", "always"),
  field(3, "apiVersion", "string", "omitempty"),
];

/** Every message the decoder knows, by absolute name, fields in Go struct order (which is JSON output order). */
export const MESSAGES: ReadonlyMap<string, MessageSpec> = new Map<string, MessageSpec>([
  [
    `${RUNTIME}.TypeMeta`,
    [field(1, "apiVersion", "string", "omitempty"), field(2, "kind", "string", "omitempty")],
  ],
  [
    UNKNOWN,
    [
      field(1, "typeMeta", `${RUNTIME}.TypeMeta`, "always"),
      field(2, "raw", "bytes", "always"),
      field(3, "contentEncoding", "string", "omitempty"),
      field(4, "contentType", "string", "omitempty"),
    ],
  ],
  [QUANTITY, [field(1, "string", "string", "always")]],
  [TIME, [field(1, "seconds", "int64", "always"), field(2, "nanos", "int32", "always")]],
  [
    OBJECT_META,
    [
      field(1, "name", "string", "omitempty"),
      field(2, "generateName", "string", "omitempty"),
      field(3, "namespace", "string", "omitempty"),
      field(4, "selfLink", "string", "omitempty"),
      field(5, "uid", "string", "omitempty"),
      field(6, "resourceVersion", "string", "omitempty"),
      field(7, "generation", "int64", "omitempty"),
      // `json:"creationTimestamp,omitempty,omitzero"` in current apimachinery: a zero time is left out.
      field(8, "creationTimestamp", TIME, "omitempty"),
      field(9, "deletionTimestamp", TIME, "pointer"),
      field(10, "deletionGracePeriodSeconds", "int64", "pointer"),
      stringMap(11, "labels"),
      stringMap(12, "annotations"),
      list(13, "ownerReferences", `${META}.OwnerReference`, "omitempty"),
      list(14, "finalizers", "string", "omitempty"),
    ],
  ],
  [
    `${META}.OwnerReference`,
    [
      field(5, "apiVersion", "string", "always"),
      field(1, "kind", "string", "always"),
      field(3, "name", "string", "always"),
      field(4, "uid", "string", "always"),
      field(6, "controller", "bool", "pointer"),
      field(7, "blockOwnerDeletion", "bool", "pointer"),
    ],
  ],
  [
    `${META}.LabelSelector`,
    [
      stringMap(1, "matchLabels"),
      list(2, "matchExpressions", `${META}.LabelSelectorRequirement`, "omitempty"),
    ],
  ],
  [
    `${META}.LabelSelectorRequirement`,
    [
      field(1, "key", "string", "always"),
      field(2, "operator", "string", "always"),
      list(3, "values", "string", "omitempty"),
    ],
  ],

  // autoscaling/v1
  [
    `${HPA_V1}.HorizontalPodAutoscaler`,
    objectFields(`${HPA_V1}.HorizontalPodAutoscalerSpec`, `${HPA_V1}.HorizontalPodAutoscalerStatus`),
  ],
  [`${HPA_V1}.CrossVersionObjectReference`, crossVersionObjectReference],
  [
    `${HPA_V1}.HorizontalPodAutoscalerSpec`,
    [
      field(1, "scaleTargetRef", `${HPA_V1}.CrossVersionObjectReference`, "always"),
      field(2, "minReplicas", "int32", "pointer"),
      field(3, "maxReplicas", "int32", "always"),
      field(4, "targetCPUUtilizationPercentage", "int32", "pointer"),
    ],
  ],
  [
    `${HPA_V1}.HorizontalPodAutoscalerStatus`,
    [
      field(1, "observedGeneration", "int64", "pointer"),
      field(2, "lastScaleTime", TIME, "pointer"),
      field(3, "currentReplicas", "int32", "always"),
      field(4, "desiredReplicas", "int32", "always"),
      field(5, "currentCPUUtilizationPercentage", "int32", "pointer"),
    ],
  ],

  // autoscaling/v2
  [
    `${HPA_V2}.HorizontalPodAutoscaler`,
    objectFields(`${HPA_V2}.HorizontalPodAutoscalerSpec`, `${HPA_V2}.HorizontalPodAutoscalerStatus`),
  ],
  [`${HPA_V2}.CrossVersionObjectReference`, crossVersionObjectReference],
  [
    `${HPA_V2}.HorizontalPodAutoscalerSpec`,
    [
      field(1, "scaleTargetRef", `${HPA_V2}.CrossVersionObjectReference`, "always"),
      field(2, "minReplicas", "int32", "pointer"),
      field(3, "maxReplicas", "int32", "always"),
      list(4, "metrics", `${HPA_V2}.MetricSpec`, "omitempty"),
      field(5, "behavior", `${HPA_V2}.HorizontalPodAutoscalerBehavior`, "pointer"),
    ],
  ],
  [
    `${HPA_V2}.MetricSpec`,
    [
      field(1, "type", "string", "always"),
      field(2, "object", `${HPA_V2}.ObjectMetricSource`, "pointer"),
      field(3, "pods", `${HPA_V2}.PodsMetricSource`, "pointer"),
      field(4, "resource", `${HPA_V2}.ResourceMetricSource`, "pointer"),
      field(7, "containerResource", `${HPA_V2}.ContainerResourceMetricSource`, "pointer"),
      field(5, "external", `${HPA_V2}.ExternalMetricSource`, "pointer"),
    ],
  ],
  [
    `${HPA_V2}.HorizontalPodAutoscalerBehavior`,
    [
      field(1, "scaleUp", `${HPA_V2}.HPAScalingRules`, "pointer"),
      field(2, "scaleDown", `${HPA_V2}.HPAScalingRules`, "pointer"),
    ],
  ],
  [
    `${HPA_V2}.HPAScalingRules`,
    [
      field(3, "stabilizationWindowSeconds", "int32", "pointer"),
      field(1, "selectPolicy", "string", "pointer"),
      list(2, "policies", `${HPA_V2}.HPAScalingPolicy`, "omitempty"),
      field(4, "tolerance", QUANTITY, "pointer"),
    ],
  ],
  [
    `${HPA_V2}.HPAScalingPolicy`,
    [
      field(1, "type", "string", "always"),
      field(2, "value", "int32", "always"),
      field(3, "periodSeconds", "int32", "always"),
    ],
  ],
  [
    `${HPA_V2}.ObjectMetricSource`,
    [
      field(1, "describedObject", `${HPA_V2}.CrossVersionObjectReference`, "always"),
      field(2, "target", `${HPA_V2}.MetricTarget`, "always"),
      field(3, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
    ],
  ],
  [
    `${HPA_V2}.PodsMetricSource`,
    [
      field(1, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
      field(2, "target", `${HPA_V2}.MetricTarget`, "always"),
    ],
  ],
  [
    `${HPA_V2}.ResourceMetricSource`,
    [field(1, "name", "string", "always"), field(2, "target", `${HPA_V2}.MetricTarget`, "always")],
  ],
  [
    `${HPA_V2}.ContainerResourceMetricSource`,
    [
      field(1, "name", "string", "always"),
      field(2, "target", `${HPA_V2}.MetricTarget`, "always"),
      field(3, "container", "string", "always"),
    ],
  ],
  [
    `${HPA_V2}.ExternalMetricSource`,
    [
      field(1, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
      field(2, "target", `${HPA_V2}.MetricTarget`, "always"),
    ],
  ],
  [
    `${HPA_V2}.MetricIdentifier`,
    [field(1, "name", "string", "always"), field(2, "selector", `${META}.LabelSelector`, "pointer")],
  ],
  [
    `${HPA_V2}.MetricTarget`,
    [
      field(1, "type", "string", "always"),
      field(2, "value", QUANTITY, "pointer"),
      field(3, "averageValue", QUANTITY, "pointer"),
      field(4, "averageUtilization", "int32", "pointer"),
    ],
  ],
  [
    `${HPA_V2}.HorizontalPodAutoscalerStatus`,
    [
      field(1, "observedGeneration", "int64", "pointer"),
      field(2, "lastScaleTime", TIME, "pointer"),
      field(3, "currentReplicas", "int32", "omitempty"),
      field(4, "desiredReplicas", "int32", "always"),
      // `json:"currentMetrics"` without omitempty: Go writes `null` for the empty list kubectl sends.
      list(5, "currentMetrics", `${HPA_V2}.MetricStatus`, "always"),
      list(6, "conditions", `${HPA_V2}.HorizontalPodAutoscalerCondition`, "omitempty"),
    ],
  ],
  [
    `${HPA_V2}.HorizontalPodAutoscalerCondition`,
    [
      field(1, "type", "string", "always"),
      field(2, "status", "string", "always"),
      field(3, "lastTransitionTime", TIME, "always"),
      field(4, "reason", "string", "omitempty"),
      field(5, "message", "string", "omitempty"),
      field(6, "observedGeneration", "int64", "pointer"),
    ],
  ],
  [
    `${HPA_V2}.MetricStatus`,
    [
      field(1, "type", "string", "always"),
      field(2, "object", `${HPA_V2}.ObjectMetricStatus`, "pointer"),
      field(3, "pods", `${HPA_V2}.PodsMetricStatus`, "pointer"),
      field(4, "resource", `${HPA_V2}.ResourceMetricStatus`, "pointer"),
      field(7, "containerResource", `${HPA_V2}.ContainerResourceMetricStatus`, "pointer"),
      field(5, "external", `${HPA_V2}.ExternalMetricStatus`, "pointer"),
    ],
  ],
  [
    `${HPA_V2}.ObjectMetricStatus`,
    [
      field(1, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
      field(2, "current", `${HPA_V2}.MetricValueStatus`, "always"),
      field(3, "describedObject", `${HPA_V2}.CrossVersionObjectReference`, "always"),
    ],
  ],
  [
    `${HPA_V2}.PodsMetricStatus`,
    [
      field(1, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
      field(2, "current", `${HPA_V2}.MetricValueStatus`, "always"),
    ],
  ],
  [
    `${HPA_V2}.ResourceMetricStatus`,
    [field(1, "name", "string", "always"), field(2, "current", `${HPA_V2}.MetricValueStatus`, "always")],
  ],
  [
    `${HPA_V2}.ContainerResourceMetricStatus`,
    [
      field(1, "name", "string", "always"),
      field(2, "current", `${HPA_V2}.MetricValueStatus`, "always"),
      field(3, "container", "string", "always"),
    ],
  ],
  [
    `${HPA_V2}.ExternalMetricStatus`,
    [
      field(1, "metric", `${HPA_V2}.MetricIdentifier`, "always"),
      field(2, "current", `${HPA_V2}.MetricValueStatus`, "always"),
    ],
  ],
  [
    `${HPA_V2}.MetricValueStatus`,
    [
      field(1, "value", QUANTITY, "pointer"),
      field(2, "averageValue", QUANTITY, "pointer"),
      field(3, "averageUtilization", "int32", "pointer"),
    ],
  ],

  // authorization.k8s.io/v1 and authentication.k8s.io/v1: what `kubectl auth can-i` / `whoami` POST.
  [
    `${AUTHZ_V1}.SelfSubjectAccessReview`,
    objectFields(`${AUTHZ_V1}.SelfSubjectAccessReviewSpec`, `${AUTHZ_V1}.SubjectAccessReviewStatus`),
  ],
  [
    `${AUTHZ_V1}.SelfSubjectAccessReviewSpec`,
    [
      field(1, "resourceAttributes", `${AUTHZ_V1}.ResourceAttributes`, "pointer"),
      field(2, "nonResourceAttributes", `${AUTHZ_V1}.NonResourceAttributes`, "pointer"),
    ],
  ],
  [
    `${AUTHZ_V1}.ResourceAttributes`,
    [
      field(1, "namespace", "string", "omitempty"),
      field(2, "verb", "string", "omitempty"),
      field(3, "group", "string", "omitempty"),
      field(4, "version", "string", "omitempty"),
      field(5, "resource", "string", "omitempty"),
      field(6, "subresource", "string", "omitempty"),
      field(7, "name", "string", "omitempty"),
      field(8, "fieldSelector", `${AUTHZ_V1}.FieldSelectorAttributes`, "pointer"),
      field(9, "labelSelector", `${AUTHZ_V1}.LabelSelectorAttributes`, "pointer"),
    ],
  ],
  // Parsed requirements (field 2) are left out: the local server allows everything anyway.
  [`${AUTHZ_V1}.FieldSelectorAttributes`, [field(1, "rawSelector", "string", "omitempty")]],
  [`${AUTHZ_V1}.LabelSelectorAttributes`, [field(1, "rawSelector", "string", "omitempty")]],
  [
    `${AUTHZ_V1}.NonResourceAttributes`,
    [field(1, "path", "string", "omitempty"), field(2, "verb", "string", "omitempty")],
  ],
  [
    `${AUTHZ_V1}.SubjectAccessReviewStatus`,
    [
      field(1, "allowed", "bool", "always"),
      field(4, "denied", "bool", "omitempty"),
      field(2, "reason", "string", "omitempty"),
      field(3, "evaluationError", "string", "omitempty"),
    ],
  ],
  [
    `${AUTHZ_V1}.SelfSubjectRulesReview`,
    [
      field(1, "metadata", OBJECT_META, "always"),
      field(2, "spec", `${AUTHZ_V1}.SelfSubjectRulesReviewSpec`, "always"),
    ],
  ],
  [`${AUTHZ_V1}.SelfSubjectRulesReviewSpec`, [field(1, "namespace", "string", "omitempty")]],
  [`${AUTHN_V1}.SelfSubjectReview`, [field(1, "metadata", OBJECT_META, "always")]],

  // core/v1
  [
    `${CORE_V1}.ConfigMap`,
    [
      field(1, "metadata", OBJECT_META, "always"),
      field(4, "immutable", "bool", "pointer"),
      stringMap(2, "data"),
      bytesMap(3, "binaryData"),
    ],
  ],
  [
    `${CORE_V1}.Secret`,
    [
      field(1, "metadata", OBJECT_META, "always"),
      field(5, "immutable", "bool", "pointer"),
      bytesMap(2, "data"),
      stringMap(4, "stringData"),
      field(3, "type", "string", "omitempty"),
    ],
  ],
  [`${CORE_V1}.Namespace`, objectFields(`${CORE_V1}.NamespaceSpec`, `${CORE_V1}.NamespaceStatus`)],
  [`${CORE_V1}.NamespaceSpec`, [list(1, "finalizers", "string", "omitempty")]],
  [
    `${CORE_V1}.NamespaceStatus`,
    [
      field(1, "phase", "string", "omitempty"),
      list(2, "conditions", `${CORE_V1}.NamespaceCondition`, "omitempty"),
    ],
  ],
  [
    `${CORE_V1}.NamespaceCondition`,
    [
      field(1, "type", "string", "always"),
      field(2, "status", "string", "always"),
      field(4, "lastTransitionTime", TIME, "always"),
      field(5, "reason", "string", "omitempty"),
      field(6, "message", "string", "omitempty"),
    ],
  ],
]);

/** A top-level kind the decoder accepts, with the message its `runtime.Unknown.raw` holds. */
export interface ProtobufKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly message: string;
}

export const PROTOBUF_KINDS: readonly ProtobufKind[] = [
  {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    message: `${HPA_V1}.HorizontalPodAutoscaler`,
  },
  {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    message: `${HPA_V2}.HorizontalPodAutoscaler`,
  },
  { apiVersion: "v1", kind: "Namespace", message: `${CORE_V1}.Namespace` },
  { apiVersion: "v1", kind: "ConfigMap", message: `${CORE_V1}.ConfigMap` },
  { apiVersion: "v1", kind: "Secret", message: `${CORE_V1}.Secret` },
  {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    message: `${AUTHZ_V1}.SelfSubjectAccessReview`,
  },
  {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectRulesReview",
    message: `${AUTHZ_V1}.SelfSubjectRulesReview`,
  },
  {
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    message: `${AUTHN_V1}.SelfSubjectReview`,
  },
];

function splitName(absolute: string): { pkg: string; name: string } {
  const at = absolute.lastIndexOf(".");
  return { pkg: absolute.slice(1, at), name: absolute.slice(at + 1) };
}

function toProtobufField(spec: FieldSpec): protobuf.Field | protobuf.MapField {
  if (spec.map) return new protobuf.MapField(spec.name, spec.id, "string", spec.type);
  return new protobuf.Field(spec.name, spec.id, spec.type, spec.repeated ? "repeated" : "optional");
}

/**
 * Builds the protobufjs reflection root from {@link MESSAGES}. `resolveAll` makes a typo in a type reference fail
 * at module load instead of on the first request.
 */
export function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const [absolute, fields] of MESSAGES) {
    const { pkg, name } = splitName(absolute);
    const type = new protobuf.Type(name);
    for (const spec of fields) type.add(toProtobufField(spec));
    root.define(pkg).add(type);
  }
  root.resolveAll();
  return root;
}
