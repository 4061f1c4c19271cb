/**
 * Who may talk to the local API server. It listens on loopback only, but a web page can still reach loopback
 * through the browser: by DNS rebinding (a name of the attacker's that resolves to 127.0.0.1, so the request
 * carries `Host: evil.example`) or by a plain cross-origin request. The first is refused by the Host check
 * (loopback names and the configured address only), the second by the bearer token `npm start` generates into
 * the kubeconfig: a page can neither read the kubeconfig nor set an Authorization header without a preflight.
 * kube-apiserver answers its health and version endpoints without credentials; so does this server.
 */
import { secretsEqual } from "../../shared/chatops/secrets";
import { ApiError, forbidden } from "./errors";

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "::1"]);
const PUBLIC_PATHS: ReadonlySet<string> = new Set(["/healthz", "/livez", "/readyz", "/version"]);

export interface ApiAuth {
  /** The bearer token every request but the public ones must carry; undefined: no token (tests, `--insecure`). */
  readonly token?: string | undefined;
  /** Extra host names the server answers to besides the loopback ones (its configured address). */
  readonly hosts?: readonly string[];
}

/** The host name of a `Host` header value (`name`, `name:port`, `[v6]`, `[v6]:port`), lower-cased. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.indexOf(":");
  return colon < 0 ? value : value.slice(0, colon);
}

/** True when a request with this `Host` header may be answered. A request without one (HTTP/1.0) is local. */
export function hostAllowed(header: string | undefined, auth: ApiAuth): boolean {
  if (header === undefined) return true;
  const name = hostName(header);
  return LOOPBACK_NAMES.has(name) || (auth.hosts ?? []).some((h) => h.toLowerCase() === name);
}

/** True when `authorization` carries the expected bearer token (always, when no token is configured). */
export function bearerMatches(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1] !== undefined && secretsEqual(match[1], token);
}

/** kube-apiserver's answer to a request without valid credentials. */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

/**
 * The error for a request this server must not answer, or undefined to go on: the Host check first (it applies
 * to every path), then the token (except on the public paths).
 */
export function refusal(
  request: {
    readonly host: string | undefined;
    readonly authorization: string | undefined;
    readonly path: string;
  },
  auth: ApiAuth,
): ApiError | undefined {
  if (!hostAllowed(request.host, auth)) {
    return forbidden(
      `host "${request.host}" is not allowed: the local API server answers only to 127.0.0.1, localhost and ::1`,
    );
  }
  if (PUBLIC_PATHS.has(request.path)) return undefined;
  return bearerMatches(request.authorization, auth.token) ? undefined : unauthorized();
}
