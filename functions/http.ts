/**
 * HTTP conventions shared by every function's routes: one error shape (`{ error: { reason, message } }`) rendered
 * from ReasonedErrors by a single `onError`, bearer-token checks with a timing-safe compare, a body size limit
 * that stops reading at the limit, and JSON body parsing through a zod schema whose failures name the field
 * (400), never a crash or a 500. Routes check credentials that come in headers before the body is read.
 */
import { timingSafeEqual } from "node:crypto";
import { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { describeIssue } from "../shared/config";
import { ReasonedError } from "../shared/errors";
import type { Logger } from "../shared/log";
import { metrics } from "../shared/metrics";
import { FIRST_ISSUE } from "../shared/schemas";

/** Body for every error answer. */
export function errorBody(reason: string, message: string): { error: { reason: string; message: string } } {
  return { error: { reason, message } };
}

/** nginx's status for a client that closed the connection before the answer: its own doing, not a server error. */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The error handler of every route (counted in `vmpool_http_errors_total` by reason): ReasonedErrors render
 * themselves. Anything else is a 500 `InternalError`, logged as an error, unless the client had already gone (an
 * upload abandoned mid-body fails the body read): then it is `ClientClosedRequest` (499) at info, so nobody can
 * fire 5xx alerts by hanging up.
 */
export function renderError(err: unknown, c: Context, log: Logger): Response {
  const error = err instanceof ReasonedError ? err : clientGone(c) ? clientClosed(err) : undefined;
  if (error === undefined) {
    log.error({ err, path: c.req.path }, "unhandled error");
    metrics.recordHttpError("InternalError", 500);
    return c.json(errorBody("InternalError", "internal error"), 500);
  }
  const status = error.status >= 400 && error.status < 600 ? error.status : 500;
  const message = bounded(error.message);
  if (status >= 500) log.error({ err: error, reason: error.reason }, message);
  else log.info({ reason: error.reason, status, path: c.req.path }, message);
  metrics.recordHttpError(error.reason, status);
  return c.json(errorBody(error.reason, message), status as 400);
}

/** Longest message an error answer or its log line carries: messages quote the input, which may be a megabyte. */
export const MAX_ERROR_MESSAGE = 1000;

function bounded(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE) return message;
  return `${message.slice(0, MAX_ERROR_MESSAGE)}… (${message.length - MAX_ERROR_MESSAGE} more characters)`;
}

/** Whether the client went away before the answer: the request's signal, or a body it never finished. */
function clientGone(c: Context): boolean {
  return c.req.raw.signal.aborted || cutShort(c);
}

/**
 * On the Node server, whether the connection closed before the request's body was complete. A body first read
 * after that gets no aborted signal and reads as empty instead of failing. (Lambda bodies arrive whole.)
 */
function cutShort(c: Context): boolean {
  const incoming: unknown = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage && incoming.destroyed && !incoming.complete;
}

function clientClosed(cause?: unknown): ReasonedError {
  return new ReasonedError("ClientClosedRequest", "the client closed the connection before the answer", {
    status: CLIENT_CLOSED_REQUEST,
    cause,
  });
}

/** Timing-safe string equality (false for different lengths without leaking where they differ). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * Checks `Authorization: Bearer <token>` against `expected`; throws 401 `Unauthorized` (missing or wrong) or
 * 503 `NotConfigured` when no token is configured (outside dev mode every secret must be set).
 */
export function requireBearer(header: string | undefined, expected: string | undefined, what: string): void {
  if (!expected)
    throw new ReasonedError("NotConfigured", `${what} is not configured on this server`, { status: 503 });
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match?.[1]) throw new ReasonedError("Unauthorized", "missing bearer token", { status: 401 });
  if (!safeEqual(match[1].trim(), expected))
    throw new ReasonedError("Unauthorized", "invalid bearer token", { status: 401 });
}

/** Largest JSON body any route accepts. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

function tooLarge(limit: number): ReasonedError {
  return new ReasonedError("PayloadTooLarge", `body larger than ${limit} bytes`, { status: 413 });
}

/**
 * Refuses a body larger than `limit` with 413 `PayloadTooLarge`. hono's bodyLimit refuses a declared
 * Content-Length above the limit unread, and reads a chunked body only up to the limit, then stops (the Node
 * server discards what else arrives, for at most 500 ms, and closes the connection), so an upload of any size
 * costs at most `limit` bytes. Put it after the checks of credentials that come in headers.
 */
export function limitBody(limit = MAX_JSON_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: limit,
    onError: () => {
      throw tooLarge(limit);
    },
  });
}

/**
 * Reads the raw body, refusing anything larger than `limit` with 413 (behind `limitBody`, a second check), and a
 * body cut short by a client that went away with 499: a truncated request is never taken for a whole one.
 */
export async function readRawBody(c: Context, limit = MAX_JSON_BODY_BYTES): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  const buffer = await c.req.arrayBuffer();
  if (cutShort(c)) throw clientClosed();
  if (buffer.byteLength > limit) throw tooLarge(limit);
  return new TextDecoder().decode(buffer);
}

/** Parses a JSON body with `schema`; malformed JSON or a schema failure is a 400 naming the field. */
export async function parseJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  what = "body",
): Promise<z.infer<S>> {
  const text = await readRawBody(c);
  let raw: unknown;
  if (text.trim() === "") raw = {};
  else {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ReasonedError("MalformedBody", `${what} is not valid JSON`, { status: 400 });
    }
  }
  // Only the first issue is reported: stop there, so a body of a million bad entries costs one.
  const parsed = schema.safeParse(raw, FIRST_ISSUE);
  if (!parsed.success)
    throw new ReasonedError("InvalidBody", `${what}: ${describeIssue(parsed.error, what)}`, { status: 400 });
  return parsed.data;
}
