/**
 * How Kubernetes API failures become `KubeError`s: the HTTP code and the `Status` body's `reason` (never its
 * message text) pick a reason code and whether a retry can help; network failures and aborted requests are
 * Unavailable and Timeout. Sources: apimachinery `pkg/api/errors/errors.go` and
 * shared/reference/apiserver-fidelity.md §4.
 */
import { AbortError, ApiException, FetchError } from "@kubernetes/client-node";
import { z } from "zod";
import { ReasonedError } from "../errors";

export const KUBE_ERROR_REASONS = [
  "NotFound",
  "AlreadyExists",
  "Conflict",
  "Invalid",
  "Forbidden",
  "Unauthorized",
  "BadRequest",
  "TooManyRequests",
  "ServerError",
  "Unavailable",
  "Timeout",
  "MalformedObject",
] as const;

/** Why a Kubernetes call failed, in the Kubernetes condition style. */
export type KubeErrorReason = (typeof KUBE_ERROR_REASONS)[number];

/** The request an error belongs to, for logs and messages. */
export interface KubeRequestContext {
  readonly verb: string;
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

export interface KubeErrorOptions {
  readonly retryable: boolean;
  readonly status: number;
  /** The `reason` of the server's Status object, verbatim (e.g. `MethodNotAllowed`, `Expired`). */
  readonly statusReason?: string | undefined;
  /** Seconds the server asked us to wait (`Retry-After` or `details.retryAfterSeconds`). */
  readonly retryAfterSeconds?: number | undefined;
  readonly context?: KubeRequestContext | undefined;
  readonly details?: Record<string, unknown>;
  readonly cause?: unknown;
}

/** A failed Kubernetes API call. Branch on `reason` and `retryable`; the message is the server's. */
export class KubeError extends ReasonedError {
  declare readonly reason: KubeErrorReason;
  readonly statusReason: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly context: KubeRequestContext | undefined;

  constructor(reason: KubeErrorReason, message: string, options: KubeErrorOptions) {
    super(reason, message, {
      retryable: options.retryable,
      status: options.status,
      cause: options.cause,
      details: {
        ...options.details,
        ...(options.context === undefined ? {} : { request: options.context }),
        ...(options.statusReason === undefined ? {} : { statusReason: options.statusReason }),
      },
    });
    this.name = "KubeError";
    this.statusReason = options.statusReason;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.context = options.context;
  }
}

/** True when `err` is a KubeError with the given reason. */
export function isKubeError(err: unknown, reason?: KubeErrorReason): err is KubeError {
  return err instanceof KubeError && (reason === undefined || err.reason === reason);
}

const StatusSchema = z.looseObject({
  kind: z.literal("Status"),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().int().optional(),
  details: z
    .looseObject({
      name: z.string().optional(),
      group: z.string().optional(),
      kind: z.string().optional(),
      causes: z.array(z.looseObject({})).optional(),
      retryAfterSeconds: z.number().int().optional(),
    })
    .nullable()
    .optional(),
});
type Status = z.infer<typeof StatusSchema>;

/** Parses a response body as a k8s Status; undefined for anything else (plain-text 429s, proxies' HTML). */
export function parseStatus(body: unknown): Status | undefined {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const parsed = StatusSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The reason code and retry advice for an HTTP failure. Pure: table-tested. */
export function classifyStatus(
  code: number,
  statusReason: string | undefined,
): { reason: KubeErrorReason; retryable: boolean } {
  switch (code) {
    case 400:
      return { reason: "BadRequest", retryable: false };
    case 401:
      return { reason: "Unauthorized", retryable: false };
    case 403:
      return { reason: "Forbidden", retryable: false };
    case 404:
      return { reason: "NotFound", retryable: false };
    case 409:
      return { reason: statusReason === "AlreadyExists" ? "AlreadyExists" : "Conflict", retryable: false };
    // 410 Expired/Gone: a resourceVersion or continue token too old to serve; like a Conflict, re-read.
    case 410:
      return { reason: "Conflict", retryable: false };
    case 422:
      return { reason: "Invalid", retryable: false };
    case 429:
      return { reason: "TooManyRequests", retryable: true };
    case 503:
      return { reason: "Unavailable", retryable: true };
    case 504:
      return { reason: "Timeout", retryable: true };
  }
  if (code >= 500) {
    const timedOut = statusReason === "ServerTimeout" || statusReason === "Timeout";
    return { reason: timedOut ? "Timeout" : "ServerError", retryable: true };
  }
  if (code >= 400) return { reason: "BadRequest", retryable: false };
  return { reason: "ServerError", retryable: false };
}

/** `Retry-After` as delta-seconds (the only form kube-apiserver sends); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

const MAX_TEXT_MESSAGE = 300;

/** The KubeError for a non-2xx response: code, raw body (string, as ApiException carries it) and headers. */
export function errorFromResponse(
  code: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  context?: KubeRequestContext,
): KubeError {
  const status = parseStatus(body);
  const { reason, retryable } = classifyStatus(code, status?.reason);
  const retryAfterSeconds =
    parseRetryAfter(headers["retry-after"] ?? headers["Retry-After"]) ?? status?.details?.retryAfterSeconds;
  const text = typeof body === "string" ? body.trim().slice(0, MAX_TEXT_MESSAGE) : "";
  const message = status?.message ?? (text === "" ? `HTTP ${code}` : text);
  return new KubeError(reason, message, {
    retryable,
    status: code,
    statusReason: status?.reason,
    retryAfterSeconds,
    context,
    details: status?.details ? { status: status.details } : {},
  });
}

/** A response body or object that does not have the shape we read. */
export function malformedObject(
  message: string,
  context?: KubeRequestContext,
  details?: Record<string, unknown>,
): KubeError {
  return new KubeError("MalformedObject", message, {
    retryable: false,
    status: 502,
    context,
    ...(details === undefined ? {} : { details }),
  });
}

/** A request that could not finish before its deadline. */
export function timeoutError(message: string, context?: KubeRequestContext, cause?: unknown): KubeError {
  return new KubeError("Timeout", message, { retryable: true, status: 504, context, cause });
}

/** A caller mistake caught before any request is sent (e.g. an update without a resourceVersion). */
export function badRequest(message: string, context?: KubeRequestContext): KubeError {
  return new KubeError("BadRequest", message, { retryable: false, status: 400, context });
}

/**
 * True when a failure proves the server did not act on the request: a 429 is refused before processing, and a
 * refused connection never reached it. Only such failures may repeat a request that is unsafe to repeat (a
 * `generateName` create, which would otherwise make a second object).
 */
export function provablyNotProcessed(err: KubeError): boolean {
  return err.reason === "TooManyRequests" || err.details.networkError === "ECONNREFUSED";
}

const TIMEOUT_FETCH_TYPES = new Set(["request-timeout", "body-timeout"]);

/**
 * Maps anything a Kubernetes call can throw to a KubeError: client-node's ApiException (its body is the raw
 * response text), node-fetch's network and abort errors. Other errors are programming faults and are rethrown.
 */
export function toKubeError(err: unknown, context?: KubeRequestContext): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    const headers = (err.headers ?? {}) as Record<string, string>;
    return errorFromResponse(err.code, err.body, headers, context);
  }
  if (err instanceof AbortError || (err instanceof Error && err.name === "AbortError")) {
    return timeoutError("the request to the API server did not finish before its deadline", context, err);
  }
  if (err instanceof FetchError) {
    if (TIMEOUT_FETCH_TYPES.has(err.type)) {
      return timeoutError(`the API server did not answer in time: ${err.message}`, context, err);
    }
    const code = err.code ?? err.type;
    return new KubeError("Unavailable", `cannot reach the API server (${code}): ${err.message}`, {
      retryable: true,
      status: 503,
      context,
      cause: err,
      details: { networkError: code },
    });
  }
  throw err;
}
