/**
 * The Lambda side of every function: one entry per function that dispatches HTTP events (function URL, API
 * Gateway, ALB — through `hono/aws-lambda`) to the same hono routes the Node server serves, and EventBridge events to
 * the function's event handler. The runtime is built once per cold start, lazily (importing a handler reads nothing).
 */
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { ReasonedError } from "../shared/errors";
import { createFunctionApp, type RouteFactory } from "./app";
import type { Runtime } from "./runtime";

/** An HTTP-shaped Lambda event (function URL / API Gateway v1 or v2 / ALB). */
export function isHttpEvent(event: unknown): event is LambdaEvent {
  if (event === null || typeof event !== "object") return false;
  const e = event as Record<string, unknown>;
  return "requestContext" in e && ("httpMethod" in e || "rawPath" in e || "path" in e);
}

/** Is this an EventBridge event (has `detail-type` and `source`)? */
export function isEventBridgeEvent(event: unknown): event is Record<string, unknown> {
  return event !== null && typeof event === "object" && "detail-type" in event && "source" in event;
}

export interface LambdaEntryOptions<R> {
  readonly routes: readonly RouteFactory[];
  /** Handles an EventBridge event; returns the invocation result. */
  readonly onEvent: (runtime: Runtime, event: Record<string, unknown>) => Promise<R>;
}

/** Builds a Lambda handler. `getRuntime` is called once, on the first invocation. */
export function createLambdaEntry<R>(getRuntime: () => Runtime, options: LambdaEntryOptions<R>) {
  let runtime: Runtime | undefined;
  let http: ReturnType<typeof handle> | undefined;
  return async (event: unknown, context?: LambdaContext): Promise<unknown> => {
    runtime ??= getRuntime();
    if (isHttpEvent(event)) {
      http ??= handle(createFunctionApp(runtime, options.routes));
      return http(event, context);
    }
    if (isEventBridgeEvent(event)) return options.onEvent(runtime, event);
    // A malformed invocation is answered, not thrown: retrying it (EventBridge, async Lambda) cannot help.
    const err = new ReasonedError("UnsupportedEvent", "expected an EventBridge event or an HTTP event", {
      status: 400,
    });
    runtime.log.warn({ reason: err.reason }, err.message);
    return { ok: false, reason: err.reason, message: err.message };
  };
}
