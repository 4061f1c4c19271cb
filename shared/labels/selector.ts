/**
 * Label selectors as data: requirements, the metav1.LabelSelector conversion (`LabelSelectorAsSelector`), the
 * canonical string form and matching. Mirrors apimachinery `pkg/labels/selector.go` and
 * `pkg/apis/meta/v1/helpers.go`; matching is a tight loop with no allocation per object.
 */
import { ReasonedError } from "../errors";
import { aggregate, invalidField, labelKeyErrors, labelValueErrors } from "./validation";

/** apimachinery `selection.Operator`; `==` is folded into `=` (identical semantics). */
export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export type Requirement = { key: string; operator: Operator; values: string[] };

/**
 * AND of requirements, sorted by key. Empty matches everything; `nothing` marks `labels.Nothing()` (what a nil
 * metav1.LabelSelector converts to), which matches no label set at all.
 */
export type Selector = { readonly requirements: readonly Requirement[]; readonly nothing?: boolean };

export type LabelSelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** The metav1.LabelSelector JSON shape. */
export type LabelSelectorSpec = {
  readonly matchLabels?: Readonly<Record<string, string>> | null | undefined;
  readonly matchExpressions?:
    | readonly {
        readonly key: string;
        readonly operator: LabelSelectorOperator;
        readonly values?: readonly string[] | null | undefined;
      }[]
    | null
    | undefined;
};

/** Matches every label set. */
export const EVERYTHING: Selector = Object.freeze({ requirements: Object.freeze([]) });
/** Matches no label set (nil LabelSelector). */
export const NOTHING: Selector = Object.freeze({ requirements: Object.freeze([]), nothing: true });

/** The single error type every selector failure raises; the API server maps it to 400 BadRequest. */
export function invalidSelector(message: string): ReasonedError {
  return new ReasonedError("InvalidSelector", message, { status: 400 });
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Go `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits, int64 range. Short values stay numbers so the
 * matching loop does not allocate; only values beyond 15 digits become bigints.
 */
export function parseInt64(s: string): number | bigint | undefined {
  const n = s.length;
  let i = 0;
  if (n === 0) return undefined;
  const first = s.charCodeAt(0);
  if (first === 43 || first === 45) i = 1;
  if (i === n) return undefined;
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return undefined;
  }
  if (n - i <= 15) return Number(s);
  const big = BigInt(s);
  return big > INT64_MAX || big < INT64_MIN ? undefined : big;
}

function compareInt64(a: number | bigint, b: number | bigint): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `labels.NewRequirement` validation: the aggregated field-error message, or undefined when valid. Paths are the
 * ones Go prints for a nil parent path (`key`, `values`, `values[i][key]`); `null` values render as Go's nil slice.
 */
export function requirementError(
  key: string,
  operator: Operator,
  values: readonly string[] | null,
): string | undefined {
  const errs: string[] = [];
  const keyErrs = labelKeyErrors(key);
  if (keyErrs.length > 0) errs.push(invalidField("key", key, keyErrs.join("; ")));
  const vals = values ?? [];
  switch (operator) {
    case "in":
    case "notin":
      if (vals.length === 0) {
        errs.push(invalidField("values", values, "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case "=":
    case "!=":
      if (vals.length !== 1) {
        errs.push(invalidField("values", values, "exact-match compatibility requires one single value"));
      }
      break;
    case "exists":
    case "!":
      if (vals.length !== 0) {
        errs.push(invalidField("values", values, "values set must be empty for exists and does not exist"));
      }
      break;
    case "gt":
    case "lt":
      if (vals.length !== 1) {
        errs.push(invalidField("values", values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalidField(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"),
          );
        }
      });
      break;
  }
  vals.forEach((v, i) => {
    const valueErrs = labelValueErrors(v);
    if (valueErrs.length > 0) errs.push(invalidField(`values[${i}][${key}]`, v, valueErrs.join("; ")));
  });
  return errs.length === 0 ? undefined : aggregate(errs);
}

/** Sorts requirements by key, stably (Go's sort is unstable; ties only arise for repeated keys). */
export function sortByKey(requirements: Requirement[]): Requirement[] {
  return requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function hasValue(values: readonly string[], value: string): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === value) return true;
  return false;
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>> | undefined): boolean {
  // Label values are strings, so undefined doubles as "key absent" without a second lookup.
  const value = labels !== undefined && Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
  switch (r.operator) {
    case "=":
    case "in":
      return value !== undefined && hasValue(r.values, value);
    case "!=":
    case "notin":
      return value === undefined || !hasValue(r.values, value);
    case "exists":
      return value !== undefined;
    case "!":
      return value === undefined;
    case "gt":
    case "lt": {
      if (value === undefined || r.values.length !== 1) return false;
      const have = parseInt64(value);
      const want = parseInt64(r.values[0] as string);
      if (have === undefined || want === undefined) return false;
      const cmp = compareInt64(have, want);
      return r.operator === "gt" ? cmp > 0 : cmp < 0;
    }
  }
}

/**
 * Whether `labels` satisfies every requirement. `!=` and `notin` also match when the key is absent; `gt`/`lt`
 * compare as int64 and fail on a missing or non-integer label.
 */
export function matches(selector: Selector, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (selector.nothing === true) return false;
  const reqs = selector.requirements;
  for (let i = 0; i < reqs.length; i++) {
    if (!requirementMatches(reqs[i] as Requirement, labels)) return false;
  }
  return true;
}

const EXPRESSION_OPERATORS: Readonly<Record<string, Operator>> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

function checked(key: string, operator: Operator, values: readonly string[] | null): Requirement {
  const err = requirementError(key, operator, values);
  if (err !== undefined) throw invalidSelector(err);
  return { key, operator, values: values === null ? [] : [...values] };
}

/**
 * `metav1.LabelSelectorAsSelector`: nil → {@link NOTHING}, `{}` → {@link EVERYTHING}, otherwise matchLabels as
 * `=` and matchExpressions as set requirements. Throws ReasonedError `InvalidSelector` for a bad key, value or
 * operator.
 */
export function fromLabelSelector(spec: LabelSelectorSpec | undefined | null): Selector {
  if (spec === undefined || spec === null) return NOTHING;
  const labels = spec.matchLabels ?? {};
  const expressions = spec.matchExpressions ?? [];
  const labelKeys = Object.keys(labels);
  if (labelKeys.length + expressions.length === 0) return EVERYTHING;
  const requirements: Requirement[] = [];
  for (const key of labelKeys) requirements.push(checked(key, "=", [labels[key] as string]));
  for (const expr of expressions) {
    const operator = EXPRESSION_OPERATORS[expr.operator];
    if (operator === undefined) {
      throw invalidSelector(
        `${JSON.stringify(String(expr.operator))} is not a valid label selector operator`,
      );
    }
    const values =
      expr.values === undefined || expr.values === null || expr.values.length === 0 ? null : expr.values;
    requirements.push(checked(expr.key, operator, values));
  }
  return { requirements: sortByKey(requirements) };
}

function requirementString(r: Requirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    default:
      break;
  }
  // Requirement values are a set upstream (sets.String), so duplicates print once: `in (,,)` would not parse.
  const values = [...new Set(r.values)].sort().join(",");
  switch (r.operator) {
    case "in":
      return `${r.key} in (${values})`;
    case "notin":
      return `${r.key} notin (${values})`;
    case "gt":
      return `${r.key}>${values}`;
    case "lt":
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

/** `Selector.String()`: requirements joined by `,`; both everything and nothing print as "". */
export function selectorString(selector: Selector): string {
  return selector.requirements.map(requirementString).join(",");
}

/**
 * The canonical string of a metav1.LabelSelector (`LabelSelectorAsSelector(spec).String()`), as KubeVirt writes
 * to `status.labelSelector`: requirements sorted by key, set values sorted. Throws `InvalidSelector` like
 * {@link fromLabelSelector}.
 */
export function canonicalString(spec: LabelSelectorSpec | undefined | null): string {
  return selectorString(fromLabelSelector(spec));
}

/** True for a nil selector or one with neither matchLabels nor matchExpressions. */
export function isEmptySpec(spec: LabelSelectorSpec | undefined | null): boolean {
  if (spec === undefined || spec === null) return true;
  return Object.keys(spec.matchLabels ?? {}).length === 0 && (spec.matchExpressions ?? []).length === 0;
}
