/**
 * Who may send signals: a shared token presented as `Authorization: Bearer <token>` or as the password of basic
 * auth (Alertmanager's `http_config` offers both, so do Grafana and EventBridge API destination connections), and
 * Grafana's HMAC-SHA256 signature over the raw body (grafana/alerting `http/hmac.go`: lowercase hex, optionally
 * over `<unix seconds>:<body>` when a timestamp header is configured). Comparisons are timing-safe.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ReasonedError } from "../errors";
import type { Delivery, DeliveryHeaders } from "./sources/types";

/** Grafana signs with this header unless the contact point names another (grafana/alerting defaultHeaderName). */
export const GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alert-Signature";
/** How far a signed timestamp may be from our clock before the delivery counts as a replay. */
export const MAX_SIGNATURE_AGE_SECONDS = 300;

export interface HmacConfig {
  readonly secret: string;
  readonly header: string;
  /** When set, the MAC covers `<timestamp>:<body>` and the timestamp must be recent. */
  readonly timestampHeader?: string | undefined;
}

function unauthorized(message: string): ReasonedError {
  return new ReasonedError("Unauthorized", message, { status: 401 });
}

function timingSafeStringEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** The secret a basic-auth or bearer `Authorization` header presents, or undefined for any other shape. */
function presentedSecret(header: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  // The username is free-form (Alertmanager requires one); only the password is the secret.
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Accepts `Authorization: Bearer <token>` or basic auth whose password is `token`. Throws 401 `Unauthorized`
 * (missing or wrong), or 503 `NotConfigured` when no token is configured: outside dev mode nothing has a default.
 */
export function requireToken(delivery: DeliveryHeaders, token: string | undefined, what: string): void {
  if (!token)
    throw new ReasonedError("NotConfigured", `${what} is not configured on this server`, { status: 503 });
  const header = delivery.header("authorization");
  if (header === undefined || header.trim() === "")
    throw unauthorized("missing credentials: send Authorization: Bearer <token> or basic auth");
  const secret = presentedSecret(header);
  if (secret === undefined) throw unauthorized("unsupported Authorization scheme (use Bearer or Basic)");
  if (!timingSafeStringEqual(secret, token)) throw unauthorized("invalid credentials");
}

/** The lowercase hex HMAC-SHA256 Grafana would send for `body` (and `timestamp`, when one is signed). */
export function grafanaSignature(secret: string, body: string, timestamp?: string): string {
  const mac = createHmac("sha256", secret);
  if (timestamp !== undefined) mac.update(`${timestamp}:`);
  mac.update(body);
  return mac.digest("hex");
}

/** The signature header and, when one is signed, a recent timestamp header; throws 401 naming what is wrong. */
function signedHeaders(
  headers: DeliveryHeaders,
  config: HmacConfig,
  now: Date,
): { signature: string; timestamp: string | undefined } {
  const signature = headers.header(config.header);
  if (signature === undefined || signature === "") throw unauthorized(`missing ${config.header} signature`);
  if (config.timestampHeader === undefined) return { signature, timestamp: undefined };
  const timestamp = headers.header(config.timestampHeader);
  if (timestamp === undefined || !/^\d+$/.test(timestamp))
    throw unauthorized(`missing or invalid ${config.timestampHeader} timestamp`);
  const ageSeconds = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (ageSeconds > MAX_SIGNATURE_AGE_SECONDS)
    throw unauthorized(`${config.timestampHeader} is more than ${MAX_SIGNATURE_AGE_SECONDS} s away from now`);
  return { signature, timestamp };
}

/** What the headers of a Grafana delivery can show before its body is read: a signature, a recent timestamp. */
export function requireHmacHeaders(headers: DeliveryHeaders, config: HmacConfig, now: Date): void {
  signedHeaders(headers, config, now);
}

/** Checks Grafana's signature over the raw body; throws 401 naming what is missing or wrong. */
export function requireHmac(delivery: Delivery, config: HmacConfig, now: Date): void {
  const { signature, timestamp } = signedHeaders(delivery, config, now);
  const expected = grafanaSignature(config.secret, delivery.rawBody, timestamp);
  if (!timingSafeStringEqual(signature.trim().toLowerCase(), expected))
    throw unauthorized("invalid signature");
}
