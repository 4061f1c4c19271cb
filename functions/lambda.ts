/**
 * The Lambda side of every function: one entry per function that dispatches HTTP events (function URL, API
 * Gateway, ALB — through `hono/aws-lambda`) to the same hono routes the Node server serves, and EventBridge events to
 * the function's event handler. The runtime is built once per cold start, lazily (importing a handler reads nothing).
 * Each invocation logs through a child logger carrying its `invocationId` (the Lambda request id).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
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

/** What a function contributes to its Lambda entry. `S` is what it builds once per cold start besides the runtime. */
export interface LambdaFunction<S> {
  /** Built once per cold start (built again on the next invocation if it failed). */
  readonly prepare: (runtime: Runtime) => S | Promise<S>;
  /** The hono app HTTP events go to. */
  readonly app: (state: S, runtime: Runtime) => Hono;
  /** Handles an EventBridge event; the result is the invocation's result (throw to have EventBridge retry). */
  readonly onEvent: (state: S, runtime: Runtime, event: Record<string, unknown>) => Promise<unknown>;
}

/** The usual case: the function's routes in the shared function app, and an EventBridge handler. */
export function routesFunction(
  routes: readonly RouteFactory[],
  onEvent: (runtime: Runtime, event: Record<string, unknown>) => Promise<unknown>,
): LambdaFunction<undefined> {
  return {
    prepare: () => undefined,
    app: (_state, runtime) => createFunctionApp(runtime, routes),
    onEvent: (_state, runtime, event) => onEvent(runtime, event),
  };
}

/**
 * Builds a Lambda handler. `getRuntime` and `fn.prepare` run once, on the first invocation (again after a failure).
 * HTTP events go to the app, EventBridge events to `onEvent`; anything else is answered, not thrown.
 */
export function createLambdaEntry<S>(getRuntime: () => Runtime | Promise<Runtime>, fn: LambdaFunction<S>) {
  let cold: Promise<{ runtime: Runtime; state: S; http: ReturnType<typeof handle> }> | undefined;
  const start = () => {
    cold ??= (async () => {
      const runtime = perInvocationLog(await getRuntime());
      const state = await fn.prepare(runtime);
      return { runtime, state, http: handle(fn.app(state, runtime)) };
    })();
    cold.catch(() => {
      cold = undefined;
    });
    return cold;
  };
  return async (event: unknown, context?: LambdaContext): Promise<unknown> => {
    const { runtime, state, http } = await start();
    const log = runtime.log.child({ invocationId: context?.awsRequestId ?? randomUUID() });
    if (isHttpEvent(event)) return invocationLog.run(log, () => http(event, context));
    if (isEventBridgeEvent(event)) return invocationLog.run(log, () => fn.onEvent(state, runtime, event));
    // A malformed invocation is answered, not thrown: retrying it (EventBridge, async Lambda) cannot help.
    const err = new ReasonedError("UnsupportedEvent", "expected an EventBridge event or an HTTP event", {
      status: 400,
    });
    log.warn({ reason: err.reason }, err.message);
    return { ok: false, reason: err.reason, message: err.message };
  };
}
