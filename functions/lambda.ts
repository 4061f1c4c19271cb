/**
 * The Lambda side of every function: one entry per function that dispatches HTTP events (function URL, API
 * Gateway, ALB — through `hono/aws-lambda`) to the same hono routes the Node server serves, and EventBridge events to
 * the function's event handler. The runtime is built once per cold start, lazily (importing a handler reads nothing).
 * Each invocation logs through a child logger carrying its `invocationId` (the Lambda request id).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { ReasonedError } from "../shared/errors";
import type { Logger } from "../shared/log";
import { createFunctionApp, type RouteFactory } from "./app";
import type { Runtime } from "./runtime";

/** The current invocation's logger. Async-context scoped, so overlapping invocations never swap ids. */
const invocationLog = new AsyncLocalStorage<Logger>();

/**
 * A view of `runtime` whose `log` is the current invocation's child logger (the base logger outside one). The app
 * is built outside any invocation, so a route factory that keeps a logger keeps the base one, never a stale id.
 */
function perInvocationLog(runtime: Runtime): Runtime {
  const view = { ...runtime };
  Object.defineProperty(view, "log", { get: () => invocationLog.getStore() ?? runtime.log });
  return view;
}

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
    runtime ??= perInvocationLog(getRuntime());
    const log = runtime.log.child({ invocationId: context?.awsRequestId ?? randomUUID() });
    if (isHttpEvent(event)) {
      http ??= handle(createFunctionApp(runtime, options.routes));
      const app = http;
      return invocationLog.run(log, () => app(event, context));
    }
    if (isEventBridgeEvent(event)) {
      const view = runtime;
      return invocationLog.run(log, () => options.onEvent(view, event));
    }
    // A malformed invocation is answered, not thrown: retrying it (EventBridge, async Lambda) cannot help.
    const err = new ReasonedError("UnsupportedEvent", "expected an EventBridge event or an HTTP event", {
      status: 400,
    });
    log.warn({ reason: err.reason }, err.message);
    return { ok: false, reason: err.reason, message: err.message };
  };
}
