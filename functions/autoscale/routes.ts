/**
 * The autoscale function's HTTP routes, one per registered signal source (`POST /hooks/alertmanager`,
 * `/hooks/grafana`, `/hooks/events`, `/hooks/metrics`): check the credentials the headers carry (401) before
 * reading the body up to the size limit (413), authenticate the delivery in full, parse (400 naming the field),
 * run the shared use-case, answer with one result per alert. Nothing is written before the delivery is
 * authenticated and parsed.
 */
import { Hono, type MiddlewareHandler } from "hono";
import {
  type AutoscaleConfig,
  type AutoscaleDeps,
  autoscale,
  autoscaleConfigFromEnv,
  type Delivery,
  PULL_SOURCES,
  type Signal,
  type SignalSource,
  SOURCES,
  type SourceContext,
} from "../../shared/autoscale";
import { ReasonedError } from "../../shared/errors";
import { limitBody, readRawBody } from "../http";
import type { Runtime } from "../runtime";

/** The use-case's dependencies from the runtime (built once per cold start). */
export function autoscaleDeps(runtime: Runtime, config: AutoscaleConfig): AutoscaleDeps {
  return {
    kube: runtime.kube,
    log: runtime.log.child({ function: "autoscale" }),
    now: runtime.now,
    requestReconcile: (ref, reason) => runtime.requestReconcile(ref, reason),
    random: runtime.random,
    options: {
      dedupeSeconds: config.dedupeSeconds,
      foreignWindowSeconds: config.foreignWindowSeconds,
      maxReplicas: runtime.settings.VMPOOL_MAX_REPLICAS,
      concurrency: runtime.settings.VMPOOL_CONCURRENCY,
      deadlineMs: runtime.settings.VMPOOL_PASS_DEADLINE_MS,
      pullSources: config.pullSources.map((name) => PULL_SOURCES[name]),
      intervalMs: config.intervalSeconds * 1000,
    },
  };
}

/** What sources authenticate and parse with. */
export function sourceContext(runtime: Runtime, config: AutoscaleConfig): SourceContext {
  return {
    mapping: config.mapping,
    token: runtime.secrets.alertmanagerToken,
    grafanaHmac: config.grafanaHmac,
    now: runtime.now(),
  };
}

/** Authenticates, then parses a delivery's JSON body into signals (401 / 400 before any cluster call). */
export function acceptDelivery(source: SignalSource, delivery: Delivery, context: SourceContext): Signal[] {
  source.authenticate(delivery, context);
  let body: unknown;
  try {
    body = JSON.parse(delivery.rawBody);
  } catch {
    throw new ReasonedError("MalformedBody", "body is not valid JSON", { status: 400 });
  }
  return source.parse(body, context);
}

/** The RouteFactory of the autoscale function; `config` defaults to the environment's. */
export function autoscaleRoutes(runtime: Runtime, config: AutoscaleConfig = autoscaleConfigFromEnv()): Hono {
  const app = new Hono();
  const deps = autoscaleDeps(runtime, config);
  for (const source of Object.values(SOURCES)) {
    const headersFirst: MiddlewareHandler = (c, next) => {
      source.authenticateHeaders({ header: (name) => c.req.header(name) }, sourceContext(runtime, config));
      return next();
    };
    app.post(source.path, headersFirst, limitBody(), async (c) => {
      const delivery: Delivery = { rawBody: await readRawBody(c), header: (name) => c.req.header(name) };
      const signals = acceptDelivery(source, delivery, sourceContext(runtime, config));
      const report = await autoscale(deps, signals);
      return c.json({ source: source.name, results: report.results }, report.status as 200);
    });
  }
  return app;
}
