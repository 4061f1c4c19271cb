/**
 * Where command results may be posted. A `response_url` comes from a verified request, but it is still a URL we
 * POST to from inside the deployment, so it must match an allowed origin: by default any https host (Slack's
 * `hooks.slack.com`, a company's Mattermost); a deployment can narrow it, and tests widen it to
 * `http://127.0.0.1:*` for a local receiver. Pure.
 */
import { ReasonedError } from "../errors";

/** One allowed origin: scheme, host (`*`, `*.example.com` or exact) and port (`*`, exact, or the default). */
export interface OriginRule {
  readonly protocol: "http:" | "https:";
  readonly host: string;
  readonly port: string | undefined;
}

/** Any https URL: Slack's response URLs, and Mattermost servers wherever they run. */
export const DEFAULT_RESPONSE_URL_ORIGINS = "https://*";

const ENTRY =
  /^(https?):\/\/(\*|\*\.[a-z0-9-]+(?:\.[a-z0-9-]+)*|[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\*|\d{1,5}))?\/?$/iu;

/**
 * Parse a comma-separated list such as `https://hooks.slack.com, http://127.0.0.1:*`. Throws `InvalidSetting`
 * naming the entry that is not an origin pattern, and for an empty list (nothing could ever be answered).
 */
export function parseResponseUrlOrigins(text: string, setting = "response URL origins"): OriginRule[] {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) {
    throw new ReasonedError("InvalidSetting", `${setting}: no origins given`, { status: 500 });
  }
  return entries.map((entry) => {
    const match = ENTRY.exec(entry);
    if (match === null) {
      throw new ReasonedError(
        "InvalidSetting",
        `${setting}: ${JSON.stringify(entry)} is not an origin such as https://hooks.slack.com or http://127.0.0.1:*`,
        { status: 500 },
      );
    }
    const [, scheme = "", host = "", port] = match;
    return { protocol: `${scheme.toLowerCase()}:` as OriginRule["protocol"], host: host.toLowerCase(), port };
  });
}

/** True when some rule allows plain http (the form parsers then accept http response URLs too). */
export function allowsHttp(rules: readonly OriginRule[]): boolean {
  return rules.some((rule) => rule.protocol === "http:");
}

/** True when `url` is an absolute URL without credentials whose origin matches one of `rules`. */
export function isResponseUrlAllowed(url: string, rules: readonly OriginRule[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "") return false;
  return rules.some(
    (rule) =>
      rule.protocol === parsed.protocol &&
      hostMatches(rule.host, parsed.hostname) &&
      (rule.port === "*" || Number(rule.port ?? defaultPort(rule.protocol)) === effectivePort(parsed)),
  );
}

function defaultPort(protocol: string): number {
  return protocol === "https:" ? 443 : 80;
}

/** URL drops a default port (`https://x:443/` has port ""), so compare numbers with the default filled in. */
function effectivePort(url: URL): number {
  return url.port === "" ? defaultPort(url.protocol) : Number(url.port);
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}
