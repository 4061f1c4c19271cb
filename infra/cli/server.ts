/**
 * The function server on Node: every function's routes in one hono app (`functions/app.ts`) on 127.0.0.1 (or
 * 0.0.0.0 in-cluster), plus the local scheduler firing the same schedule definitions `infra/aws` deploys to
 * EventBridge. Used by `vmpool dev` (npm start) and `vmpool serve` (the in-cluster Deployment).
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createFunctionApp, type RouteFactory } from "../../functions/app";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { chatopsRoutes } from "../../functions/chatops/routes";
import { reconcileRoutes } from "../../functions/reconcile/routes";
import { type Runtime, settingsFromEnv } from "../../functions/runtime";
import type { Secrets } from "../../shared/config";
import { type ClusterSource, createKube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { reconcileAll } from "../../shared/reconcile";
import { startScheduler } from "../../shared/schedule";
import { SCHEDULES } from "../aws/definitions";

const log = logger("function-server");

/** Every function's routes, as the Node server serves them. */
export const ALL_ROUTES: readonly RouteFactory[] = [
  reconcileRoutes,
  (runtime) => autoscaleRoutes(runtime),
  chatopsRoutes,
];

export interface FunctionServerOptions {
  readonly source: ClusterSource;
  readonly secrets: Partial<Secrets>;
  readonly port: number;
  readonly hostname?: string;
  readonly devMode: boolean;
  /** Run the local scheduler (reconcile-all on the schedule definitions). */
  readonly schedule: boolean;
  /** Overrides every schedule's interval (default: each definition's local interval, 10 s). */
  readonly intervalMs?: number;
}

export interface FunctionServer {
  readonly url: string;
  readonly runtime: Runtime;
  readonly intervalMs: number;
  stop(): Promise<void>;
}

export async function startFunctionServer(options: FunctionServerOptions): Promise<FunctionServer> {
  const runtime = createRuntime({
    kube: createKube(options.source),
    secrets: options.secrets,
    settings: settingsFromEnv(),
    devMode: options.devMode,
  });
  const app = createFunctionApp(runtime, ALL_ROUTES);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.hostname ?? "127.0.0.1", port: options.port }, () =>
      resolve(s),
    );
    s.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${options.hostname ?? "127.0.0.1"}:${address.port}`;
  const intervalMs = options.intervalMs ?? SCHEDULES[0]?.localIntervalMs ?? 10_000;
  const scheduler = options.schedule
    ? startScheduler({
        definitions: SCHEDULES,
        intervalOverrideMs: intervalMs,
        fire: async (definition) => {
          if (definition.target !== "reconcile") return;
          const results = await reconcileAll(passDeps(runtime, `schedule-${randomUUID()}`), {
            concurrency: runtime.settings.VMPOOL_CONCURRENCY,
          });
          const acted = results.filter((r) => r.outcome !== "Converged");
          if (acted.length > 0) {
            log.info(
              { pools: results.length, outcomes: acted.map((r) => `${r.ref.name}:${r.outcome}`) },
              "scheduled pass",
            );
          }
        },
      })
    : undefined;
  return {
    url,
    runtime,
    intervalMs,
    stop: async () => {
      scheduler?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
