/**
 * Server-side field validation (`fieldValidation=Strict|Warn|Ignore`, default Warn): the strict decoding errors
 * kube-apiserver collects while decoding a write (duplicate fields in the JSON body, fields the kind's schema does
 * not declare), and how they surface: Strict fails the request, Warn turns each into a `Warning: 299` header, Ignore
 * drops them silently. Messages follow apimachinery `runtime.strictDecodingError` and sigs.k8s.io/json; where they
 * surface follows apiserver `handlers/create.go`, `update.go` and `patch.go`.
 */
import { ApiError, badRequest, invalid } from "./errors";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** `fieldValidation` as the handlers read it: absent or empty means Warn (apiserver `handlers/rest.go`). */
export function fieldValidationOf(value: string | undefined): FieldValidation {
  if (value === undefined || value === "") return "Warn";
  return value as FieldValidation;
}

/** True for the values `ValidateFieldValidation` accepts. */
export function isFieldValidation(value: string | undefined): boolean {
  return value === undefined || value === "" || value === "Strict" || value === "Warn" || value === "Ignore";
}

export const unknownField = (path: string): string => `unknown field "${path}"`;
export const duplicateField = (path: string): string => `duplicate field "${path}"`;

/** `strict decoding error: <e1>, <e2>` (apimachinery `runtime/error.go`). */
export function strictDecodingMessage(errors: readonly string[]): string {
  return `strict decoding error: ${errors.join(", ")}`;
}

/**
 * Create and update: Strict fails with the decode error's 400 (`transformDecodeError`), Warn records warnings,
 * Ignore drops the errors. Returns nothing; the caller has already pruned the object.
 */
export function reportDecodeErrors(
  kind: string,
  version: string,
  errors: readonly string[],
  directive: FieldValidation,
  warnings: string[] | undefined,
): void {
  if (errors.length === 0 || directive === "Ignore") return;
  if (directive === "Warn") {
    warnings?.push(...errors);
    return;
  }
  throw badRequest(
    `${kind} in version "${version}" cannot be handled as a ${kind}: ${strictDecodingMessage(errors)}`,
  );
}

/**
 * JSON, merge and strategic patches: Strict fails with 422 Invalid on the `patch` field, whose value is the
 * patched object's JSON (json/merge) or the patch map as Go prints it (strategic).
 */
export function reportPatchErrors(
  errors: readonly string[],
  directive: FieldValidation,
  warnings: string[] | undefined,
  invalidValue: string,
): void {
  if (errors.length === 0 || directive === "Ignore") return;
  if (directive === "Warn") {
    warnings?.push(...errors);
    return;
  }
  throw invalid("", "", "", [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(invalidValue)}: ${strictDecodingMessage(errors)}`,
      field: "patch",
    },
  ]);
}

/**
 * Server-side apply of a configuration with a field the schema does not declare: structured-merge-diff's typed
 * conversion fails, and kube-apiserver answers the plain error as a 500 without a reason (upstream issue
 * kubernetes#122480), whatever `fieldValidation` says.
 */
export function undeclaredFieldsError(
  namespace: string,
  name: string,
  gvk: { group: string; version: string; kind: string },
  paths: readonly string[],
): ApiError {
  const messages = paths.map((p) => `${p}: field not declared in schema`);
  const detail =
    messages.length === 1 ? messages[0] : ["errors:", ...messages.map((m) => `  ${m}`)].join("\n");
  return new ApiError(
    500,
    "",
    `failed to create typed patch object (${namespace}/${name}; ${gvk.group}/${gvk.version}, Kind=${gvk.kind}): ${detail}`,
  );
}

/** JSON with every object's keys sorted, as Go's encoding/json writes a `map[string]interface{}`. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** `%+v` of a decoded JSON value as Go prints a `map[string]interface{}`: sorted keys, `map[k:v]`, `[a b]`. */
export function goFormat(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return `[${value.map(goFormat).join(" ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, v]) => `${k}:${goFormat(v)}`).join(" ")}]`;
  }
  return String(value);
}

/** One key of a JSON document, in document order; `duplicate` when its object already had the key. */
export interface FieldEvent {
  readonly path: string;
  readonly duplicate: boolean;
}

/**
 * Paths of the keys that repeat within one JSON object of `text` (already known to be valid JSON), as
 * sigs.k8s.io/json's strict decoder names them: `spec.replicas`, `spec.items[0].name`.
 */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  for (const event of scanFields(text))
    if (event.duplicate && !out.includes(event.path)) out.push(event.path);
  return out;
}

/**
 * Strict decoding errors in the order a typed decode reports them: document order, a duplicate where it repeats,
 * an unknown field where it first appears (`events` from {@link scanFields}; unknown paths not in the text last).
 */
export function inDocumentOrder(events: readonly FieldEvent[], unknown: readonly string[]): string[] {
  const first = new Map<string, number>();
  const positioned: { at: number; text: string }[] = [];
  events.forEach((event, i) => {
    if (event.duplicate) positioned.push({ at: i, text: duplicateField(event.path) });
    else if (!first.has(event.path)) first.set(event.path, i);
  });
  for (const path of unknown)
    positioned.push({ at: first.get(path) ?? events.length, text: unknownField(path) });
  const seen = new Set<string>();
  return positioned
    .sort((a, b) => a.at - b.at)
    .map((p) => p.text)
    .filter((text) => !seen.has(text) && seen.add(text) !== undefined);
}

/** Every key of `text` (valid JSON) with its path, in document order. A linear scan: no values are built. */
export function scanFields(text: string): FieldEvent[] {
  const out: FieldEvent[] = [];
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  const readString = (): string => {
    const start = ++i;
    let escaped = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c === 0x22) break;
      i++;
    }
    const raw = text.slice(start, i);
    i++;
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const value = (path: string): void => {
    ws();
    const c = text.charCodeAt(i);
    if (c === 0x7b) object(path);
    else if (c === 0x5b) array(path);
    else if (c === 0x22) readString();
    else {
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09)
          break;
        i++;
      }
    }
  };
  const object = (path: string): void => {
    i++;
    const seen = new Set<string>();
    for (;;) {
      ws();
      if (i >= n || text.charCodeAt(i) === 0x7d) {
        i++;
        return;
      }
      if (text.charCodeAt(i) === 0x2c) {
        i++;
        continue;
      }
      const key = readString();
      const child = path === "" ? key : `${path}.${key}`;
      out.push({ path: child, duplicate: seen.has(key) });
      seen.add(key);
      ws();
      i++; // the colon
      value(child);
    }
  };
  const array = (path: string): void => {
    i++;
    let index = 0;
    for (;;) {
      ws();
      if (i >= n || text.charCodeAt(i) === 0x5d) {
        i++;
        return;
      }
      if (text.charCodeAt(i) === 0x2c) {
        i++;
        continue;
      }
      value(`${path}[${index}]`);
      index++;
    }
  };
  value("");
  return out;
}
