/**
 * Decodes the protobuf request bodies kubectl ≥1.32 sends for built-in kinds (client-go 0.32 typed clients prefer
 * `application/vnd.kubernetes.protobuf`): `kubectl autoscale` POSTs a HorizontalPodAutoscaler (autoscaling/v2, then
 * autoscaling/v1), `kubectl create namespace|configmap|secret` a v1 Namespace, ConfigMap or Secret, and `kubectl auth
 * can-i|whoami` the authorization/authentication reviews. client-go does not fall back to JSON on 415, so the
 * local cluster must read these. Output is the JSON object kubectl would have sent instead, so the rest of the
 * server only ever sees JSON. See ../shared/reference/apiserver-fidelity.md §3.1 "Body encodings".
 */
import protobuf from "protobufjs";
import { ApiError, badRequest } from "./errors";
import {
  buildRoot,
  type FieldSpec,
  MESSAGES,
  PROTOBUF_KINDS,
  type ProtobufKind,
  QUANTITY,
  TIME,
  UNKNOWN,
} from "./protobuf-schema";

export { PROTOBUF_KINDS, type ProtobufKind } from "./protobuf-schema";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

/** apimachinery `pkg/runtime/serializer/protobuf/protobuf.go` `protoEncodingPrefix`: "k8s" + encoding style 0. */
const MAGIC = [0x6b, 0x38, 0x73, 0x00] as const;

const root = buildRoot();

type Decoded = Record<string, unknown>;

/** True for `application/vnd.kubernetes.protobuf`, with or without parameters, in any letter case. */
export function isProtobufContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase();
  return mediaType === PROTOBUF_CONTENT_TYPE;
}

/**
 * Decodes a Kubernetes protobuf body (`k8s\x00` + `runtime.Unknown`) into the JSON object kube-apiserver would
 * accept: apiVersion, kind, metadata with only the fields that were set, spec/status with Go's JSON field names and
 * omitempty behaviour, `metav1.Time` as second-precision RFC3339, quantities as strings.
 *
 * @throws ApiError 415 UnsupportedMediaType for kinds other than {@link PROTOBUF_KINDS}; 400 BadRequest for bytes
 *   that are not a well-formed Kubernetes protobuf message.
 */
export function decodeProtobufBody(body: Uint8Array): Record<string, unknown> {
  const envelope = decodeMessage(UNKNOWN, stripMagic(body), "runtime.Unknown envelope");
  const { apiVersion, kind } = readTypeMeta(envelope);
  const target = findKind(apiVersion, kind);
  const contentEncoding = envelope.contentEncoding;
  if (typeof contentEncoding === "string" && contentEncoding !== "") {
    throw badRequest(`protobuf envelope content encoding "${contentEncoding}" is not supported`);
  }
  const raw = envelope.raw instanceof Uint8Array ? envelope.raw : new Uint8Array();
  const object = decodeMessage(target.message, raw, `${kind} ${apiVersion}`);
  return { apiVersion, kind, ...messageToJson(target.message, object) };
}

/** The message after the 4-byte magic, with the same errors apimachinery's protobuf serializer reports. */
function stripMagic(body: Uint8Array): Uint8Array {
  if (body.length === 0) throw badRequest("empty data");
  if (body.length < MAGIC.length || MAGIC.some((byte, i) => body[i] !== byte)) {
    throw badRequest(
      `provided data does not appear to be a protobuf message, expected prefix [${MAGIC.join(" ")}]`,
    );
  }
  if (body.length === MAGIC.length) throw badRequest("empty body");
  return body.subarray(MAGIC.length);
}

/** protobufjs decode with its RangeError/Error turned into a 400 that names what was being decoded. */
function decodeMessage(message: string, bytes: Uint8Array, what: string): Decoded {
  try {
    return root.lookupType(message).decode(bytes) as unknown as Decoded;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw badRequest(`unable to decode protobuf ${what}: truncated or malformed message (${detail})`);
  }
}

function readTypeMeta(envelope: Decoded): { apiVersion: string; kind: string } {
  const typeMeta = (envelope.typeMeta ?? {}) as Decoded;
  const apiVersion = typeof typeMeta.apiVersion === "string" ? typeMeta.apiVersion : "";
  const kind = typeof typeMeta.kind === "string" ? typeMeta.kind : "";
  if (kind === "") throw badRequest("Object 'Kind' is missing in protobuf envelope");
  if (apiVersion === "") throw badRequest("Object 'apiVersion' is missing in protobuf envelope");
  return { apiVersion, kind };
}

function findKind(apiVersion: string, kind: string): ProtobufKind {
  const found = PROTOBUF_KINDS.find((k) => k.apiVersion === apiVersion && k.kind === kind);
  if (found) return found;
  const accepted = PROTOBUF_KINDS.map((k) => `${k.kind} (${k.apiVersion})`).join(", ");
  throw new ApiError(
    415,
    "UnsupportedMediaType",
    `protobuf request bodies are only accepted for ${accepted}, not ${kind} (${apiVersion}); send application/json`,
  );
}

/** Sentinel for "Go's encoder would leave this key out". */
const OMIT = Symbol("omit");

function messageToJson(message: string, decoded: Decoded): Decoded {
  const out: Decoded = {};
  for (const spec of MESSAGES.get(message) ?? []) {
    const value = fieldToJson(spec, decoded);
    if (value !== OMIT) out[spec.name] = value;
  }
  return out;
}

function fieldToJson(spec: FieldSpec, decoded: Decoded): unknown {
  const raw = decoded[spec.name];
  if (spec.repeated) return listToJson(spec, Array.isArray(raw) ? raw : []);
  if (spec.map) return mapToJson(spec, (raw ?? {}) as Record<string, unknown>);
  const present = Object.hasOwn(decoded, spec.name);
  switch (spec.json) {
    case "pointer":
      return present ? valueToJson(spec, raw) : OMIT;
    case "omitempty": {
      const value = present ? valueToJson(spec, raw) : OMIT;
      return isGoZero(value) ? OMIT : value;
    }
    case "always":
      return present ? valueToJson(spec, raw) : zeroJson(spec.type);
  }
}

/** A nil slice is `null` without omitempty (proto decoding never yields an empty non-nil slice). */
function listToJson(spec: FieldSpec, items: readonly unknown[]): unknown {
  if (items.length === 0) return spec.json === "always" ? null : OMIT;
  return items.map((item) => valueToJson(spec, item));
}

function mapToJson(spec: FieldSpec, entries: Record<string, unknown>): unknown {
  // `map<string, bytes>` ([]byte values) is base64 in Go's JSON.
  const copy = Object.fromEntries(
    Object.entries(entries).map(([k, v]) => [
      k,
      v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v,
    ]),
  );
  if (Object.keys(copy).length === 0) return spec.json === "always" ? null : OMIT;
  return copy;
}

function isGoZero(value: unknown): boolean {
  return value === OMIT || value === null || value === "" || value === 0 || value === false;
}

function zeroJson(type: string): unknown {
  switch (type) {
    case "string":
      return "";
    case "int32":
    case "int64":
      return 0;
    case "bool":
      return false;
    case TIME:
      return null;
    case QUANTITY:
      return "0";
    default:
      return messageToJson(type, {});
  }
}

function valueToJson(spec: FieldSpec, value: unknown): unknown {
  switch (spec.type) {
    case "string":
    case "int32":
    case "bool":
      return value;
    case "int64":
      return int64ToNumber(spec.name, value);
    case TIME:
      return timeToJson(spec.name, value as Decoded);
    case QUANTITY:
      return quantityToJson(spec.name, value as Decoded);
    default:
      return messageToJson(spec.type, value as Decoded);
  }
}

function int64ToNumber(name: string, value: unknown): number {
  const n =
    typeof value === "number" ? value : protobuf.util.LongBits.from(value as protobuf.Long).toNumber();
  if (!Number.isSafeInteger(n))
    throw badRequest(`protobuf field ${name}: int64 value out of the JSON-safe range`);
  return n;
}

/**
 * `metav1.Time`: an empty message is the zero time (`null` in Go's JSON); otherwise whole seconds, because
 * apimachinery's `Time.Unmarshal` drops nanos too (`time_proto.go`).
 */
function timeToJson(name: string, time: Decoded): string | null {
  if (!Object.hasOwn(time, "seconds") && !Object.hasOwn(time, "nanos")) return null;
  const seconds = Object.hasOwn(time, "seconds") ? int64ToNumber(name, time.seconds) : 0;
  const date = new Date(seconds * 1000);
  const year = date.getUTCFullYear();
  // Go's Time.MarshalJSON refuses years outside [0,9999]; so do we instead of emitting a malformed timestamp.
  if (Number.isNaN(year) || year < 0 || year > 9999) {
    throw badRequest(`protobuf field ${name}: time ${seconds}s is outside the years 0-9999`);
  }
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `resource.ParseQuantity` grammar: signed decimal number with an optional binary-SI, decimal-SI or exponent suffix. */
const QUANTITY_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[eE][+-]?\d+|[numkMGTPE])?$/;

/** A Quantity is `{string}`; an empty message is the zero quantity, and like Go we reject unparsable strings. */
function quantityToJson(name: string, quantity: Decoded): string {
  if (!Object.hasOwn(quantity, "string")) return "0";
  const text = String(quantity.string);
  if (!QUANTITY_PATTERN.test(text)) {
    throw badRequest(
      `protobuf field ${name}: quantities must match the regular expression ${QUANTITY_PATTERN.source}`,
    );
  }
  return text;
}
