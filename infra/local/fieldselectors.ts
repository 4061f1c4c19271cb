/**
 * `fieldSelector` for the local API server: apimachinery `fields.ParseSelector` (terms split on unescaped commas,
 * `=`/`==`/`!=`, backslash escapes) plus the per-kind field-label check every list and watch applies, and the
 * value lookup the registries' `*ToSelectableFields` functions perform. Errors are 400 BadRequest with the
 * messages kube-apiserver sends.
 */
import { badRequest } from "./errors";

export type FieldOperator = "=" | "!=";

export interface FieldTerm {
  readonly field: string;
  readonly operator: FieldOperator;
  readonly value: string;
}

/** AND of terms; empty matches everything. */
export interface FieldSelector {
  readonly terms: readonly FieldTerm[];
}

/** Splits on commas that are not escaped with a backslash; escapes stay in the terms for unescapeValue. */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** `!=` and `==` are tried before `=` at each position so `a==b` does not leave `=b` as the value. */
const TERM_OPERATORS = ["!=", "==", "="] as const;

function splitTerm(
  term: string,
): { lhs: string; op: (typeof TERM_OPERATORS)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** `fields.UnescapeValue`: `\\`, `\,` and `\=` are the only escapes; bare `,` or `=` is an error. */
function unescapeValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = "";
  let inSlash = false;
  for (const c of value) {
    if (inSlash) {
      if (c !== "\\" && c !== "," && c !== "=") {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === "\\") {
      inSlash = true;
    } else if (c === "," || c === "=") {
      // Go formats the offending rune with %v, i.e. as its code point number.
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw badRequest("invalid field selector: invalid escape sequence: \\");
  return out;
}

/**
 * Parses a `fieldSelector` and checks every label against what the kind supports: `metadata.name`, plus
 * `metadata.namespace` when `namespaced`, plus `allowed` (the ResourceDef's fieldLabels). Syntax errors win over
 * unsupported labels, and labels are checked in sorted term order, as the API server does.
 * Throws ApiError 400 (`field label not supported: <label>`, `invalid selector: …`).
 */
export function parseFieldSelector(
  text: string,
  allowed: readonly string[],
  namespaced = true,
): FieldSelector {
  const parts = splitTerms(text).sort();
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const split = splitTerm(part);
    if (split === undefined) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    terms.push({
      field: split.lhs,
      operator: split.op === "!=" ? "!=" : "=",
      value: unescapeValue(split.rhs),
    });
  }
  for (const term of terms) {
    const supported =
      term.field === "metadata.name" ||
      (namespaced && term.field === "metadata.namespace") ||
      allowed.includes(term.field);
    if (!supported) throw badRequest(`field label not supported: ${term.field}`);
  }
  return { terms };
}

/** Field labels whose value is not simply the object's field at that dotted path. */
const DERIVED_FIELDS: Readonly<Record<string, (obj: Record<string, unknown>) => string>> = {
  // core/v1 Event: `source` is the reporting component, `reportingComponent` the newer reportingController.
  source: (obj) => text(lookup(obj, ["source", "component"])),
  reportingComponent: (obj) => text(lookup(obj, ["reportingController"])),
  // core/v1 Pod: the first of podIPs (conversion keeps podIP in sync), hostNetwork as a formatted bool.
  "status.podIP": (obj) =>
    text(lookup(obj, ["status", "podIPs", "0", "ip"]) ?? lookup(obj, ["status", "podIP"])),
  "spec.hostNetwork": (obj) => (lookup(obj, ["spec", "hostNetwork"]) === true ? "true" : "false"),
};

function lookup(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node)
      ? node[Number(segment)]
      : Object.hasOwn(node, segment)
        ? (node as Record<string, unknown>)[segment]
        : undefined;
  }
  return node;
}

/** Missing and non-scalar values select as "", like an unset string field. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

const pathCache = new Map<string, readonly string[]>();

function fieldValue(obj: Record<string, unknown>, field: string): string {
  const derived = DERIVED_FIELDS[field];
  if (derived !== undefined) return derived(obj);
  let path = pathCache.get(field);
  if (path === undefined) {
    path = field.split(".");
    pathCache.set(field, path);
  }
  return text(lookup(obj, path));
}

/** Whether `obj` satisfies every term; a missing field compares as "" (so `x!=foo` matches it). */
export function matchesFields(sel: FieldSelector, obj: Record<string, unknown>): boolean {
  const terms = sel.terms;
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i] as FieldTerm;
    const equal = fieldValue(obj, term.field) === term.value;
    if (equal !== (term.operator === "=")) return false;
  }
  return true;
}
