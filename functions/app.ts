/**
 * The function server: one hono app serving every function's HTTP routes (webhooks, the manual reconcile trigger),
 * `/healthz` and `/metrics`. The Node server (`npm start`, the in-cluster Deployment) serves it directly; on Lambda
 * each function's handler wraps the same app with `hono/aws-lambda`.
 */
import { Hono } from "hono";
import { renderError } from "./http";
import type { Runtime } from "./runtime";

/** A function contributes routes under the app root. */
export type RouteFactory = (runtime: Runtime) => Hono;

/** Builds the app from the routes of the functions given (all of them on the Node server). */
export function createFunctionApp(runtime: Runtime, routes: readonly RouteFactory[]): Hono {
  const app = new Hono();
  app.onError((err, c) => renderError(err, c, runtime.log));
  app.notFound((c) =>
    c.json({ error: { reason: "NotFound", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.get("/healthz", (c) => c.json({ ok: true }));
  for (const factory of routes) app.route("/", factory(runtime));
  return app;
}
