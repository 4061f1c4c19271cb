/**
 * Label key and value validation with apimachinery's exact messages (`pkg/api/validate/content/kube.go`, `dns.go`,
 * `errors.go`) and the `field.Error` rendering (`<path>: Invalid value: <value>: <detail>`) the API server sends
 * back for a bad selector. Parse-time only: nothing here runs per matched object.
 */

const LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_MAX = 63;
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);

const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX = 63;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX = 253;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

const encoder = new TextEncoder();

/** Go measures these limits in bytes, not UTF-16 code units. */
function byteLength(value: string): number {
  return encoder.encode(value).length;
}

/** apimachinery `RegexError`, including its doubled space before each "or". */
function regexError(message: string, re: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${re}')`;
  let out = `${message} (e.g. `;
  examples.forEach((example, i) => {
    if (i > 0) out += " or ";
    out += `'${example}', `;
  });
  return `${out}regex used for validation is '${re}')`;
}

// apimachinery 1.34 (pkg/util/validation MaxLenError) says "characters" although it counts bytes.
const maxLenError = (length: number): string => `must be no more than ${length} characters`;

function dns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"));
  }
  return errs;
}

/** `content.IsLabelKey`: `[prefix/]name`, each part with its own rules. Empty list when valid. */
export function labelKeyErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? "";
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const msg of dns1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (byteLength(name) > LABEL_KEY_MAX) errs.push(`name part ${maxLenError(LABEL_KEY_MAX)}`);
  if (!LABEL_KEY_RE.test(name)) {
    errs.push(`name part ${regexError(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")}`);
  }
  return errs;
}

/** `content.IsLabelValue`: empty or up to 63 bytes of `[A-Za-z0-9_.-]`, alphanumeric at both ends. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX) errs.push(maxLenError(LABEL_VALUE_MAX));
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  }
  return errs;
}

const GO_ESCAPES: Readonly<Record<number, string>> = {
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  34: '\\"',
  92: "\\\\",
};

/** Go's `%q` (strconv.Quote) for the ASCII range; other printable characters pass through as Go keeps them. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    const escaped = GO_ESCAPES[code];
    if (escaped !== undefined) out += escaped;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * A `field.Invalid` error rendered like `field.Error.Error()`. `badValue` is a string (quoted with %q) or a string
 * list (JSON, `null` for Go's nil slice).
 */
export function invalidField(
  path: string,
  badValue: string | readonly string[] | null,
  detail: string,
): string {
  const rendered = typeof badValue === "string" ? goQuote(badValue) : JSON.stringify(badValue);
  return `${path}: Invalid value: ${rendered}: ${detail}`;
}

/** `utilerrors.NewAggregate(...).Error()`: one message as is, several deduplicated inside `[…]`. */
export function aggregate(messages: readonly string[]): string {
  if (messages.length === 1) return messages[0] ?? "";
  const unique = [...new Set(messages)];
  return unique.length === 1 ? (unique[0] ?? "") : `[${unique.join(", ")}]`;
}
