/**
 * The function server: one hono app serving every function's HTTP routes (webhooks, the manual reconcile trigger,
 * the read-only `/ui` page of functions/ui), `/healthz` and `/metrics`. The Node server (`npm start`, the in-cluster Deployment) serves it directly; on Lambda
 * each function's handler wraps the same app with `hono/aws-lambda`.
 */
import { Hono } from "hono";
import { routePath } from "hono/route";
import { metrics } from "../shared/metrics";
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
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // The matched pattern (`/hooks/slack`), never the raw path: labels stay bounded.
    const route = c.res.status === 404 && routePath(c, -1) === "/*" ? "unmatched" : routePath(c, -1);
    metrics.recordHttp(c.req.method, route, c.res.status, (performance.now() - started) / 1000);
  });
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/metrics", async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "Content-Type": contentType });
  });
  for (const factory of routes) app.route("/", factory(runtime));
  return app;
}
