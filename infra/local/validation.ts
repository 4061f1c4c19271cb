/**
 * Object-meta validation the local cluster applies to every write, with apimachinery's messages
 * (`validation.IsDNS1123Subdomain`, `IsDNS1123Label`, `ValidateObjectMeta`), and the name generator of
 * apiserver `pkg/storage/names/generate.go`.
 */
import { goQuote, labelKeyErrors, labelValueErrors } from "../../shared/labels";
import type { StatusCause } from "./errors";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Field errors for `metadata.name` (a DNS-1123 label for namespaces, a subdomain otherwise). */
export function validateName(name: string, label: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const max = label ? 63 : 253;
  if (name.length > max) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: "${name}": must be no more than ${max} characters`,
      field: "metadata.name",
    });
  }
  if (!(label ? DNS1123_LABEL : DNS1123_SUBDOMAIN).test(name)) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: "${name}": ${label ? LABEL_MSG : SUBDOMAIN_MSG}`,
      field: "metadata.name",
    });
  }
  return causes;
}

/** Field errors for `metadata.labels` (qualified-name keys, ≤63-char values). */
export function validateLabels(labels: unknown): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) {
    return [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: must be a map of strings",
        field: "metadata.labels",
      },
    ];
  }
  // apimachinery's ValidateLabels: one field.Invalid per message of IsQualifiedName (key) and IsValidLabelValue
  // (value), so a 64-character value says "must be no more than 63 characters", not only the format.
  const causes: StatusCause[] = [];
  const invalid = (bad: string, message: string): StatusCause => ({
    reason: "FieldValueInvalid",
    message: `Invalid value: ${goQuote(bad)}: ${message}`,
    field: "metadata.labels",
  });
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    for (const message of labelKeyErrors(key)) causes.push(invalid(key, message));
    if (typeof value !== "string") {
      causes.push({
        reason: "FieldValueInvalid",
        message: "Invalid value: must be a string",
        field: "metadata.labels",
      });
      continue;
    }
    for (const message of labelValueErrors(value)) causes.push(invalid(value, message));
  }
  return causes;
}

const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const MAX_GENERATED_PREFIX = 58;

/** `generateName` + 5 random characters from apiserver's alphabet (prefix truncated to 58 characters). */
export function generateName(prefix: string, random: () => number): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)] ?? "b";
  return `${prefix.slice(0, MAX_GENERATED_PREFIX)}${suffix}`;
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Normalizes a client-sent metav1.Time to second precision (client-node sends milliseconds). */
export function normalizeTime(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? value : formatTime(new Date(parsed));
}

const MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00";

/**
 * Why Go's `time.Parse` with metav1.MicroTime's layout (`2006-01-02T15:04:05.000000Z07:00`) refuses `value`, as
 * its error reads (`parsing time "…" as "…": cannot parse "<rest>" as "<element>"`), or undefined if it parses.
 */
export function microTimeError(value: string): string | undefined {
  const steps: [RegExp, string][] = [
    [/^\d{4}/, "2006"],
    [/^-/, "-"],
    [/^\d{2}/, "01"],
    [/^-/, "-"],
    [/^\d{2}/, "02"],
    [/^T/, "T"],
    [/^\d{2}/, "15"],
    [/^:/, ":"],
    [/^\d{2}/, "04"],
    [/^:/, ":"],
    [/^\d{2}/, "05"],
    [/^\.\d{6}/, ".000000"],
    [/^(Z|[+-]\d{2}:\d{2})$/, "Z07:00"],
  ];
  let rest = value;
  for (const [pattern, element] of steps) {
    const match = pattern.exec(rest);
    // A seventh fractional digit is left for the zone to fail on, as in Go.
    if (!match) {
      return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(MICRO_LAYOUT)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(element)}`;
    }
    rest = rest.slice(match[0].length);
  }
  return undefined;
}
