/**
 * The function server on Node: every function's routes in one hono app (`functions/app.ts`) on 127.0.0.1 (or
 * 0.0.0.0 in-cluster), plus the local scheduler firing the same schedule definitions `infra/aws` deploys to
 * EventBridge. Used by `vmpool dev` (npm start) and `vmpool serve` (the in-cluster Deployment).
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { admissionRoutes } from "../../functions/admission/routes";
import { createFunctionApp, type RouteFactory } from "../../functions/app";
import { autoscaleDeps, autoscaleRoutes } from "../../functions/autoscale/routes";
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { chatopsRoutes } from "../../functions/chatops/routes";
import { reconcileRoutes } from "../../functions/reconcile/routes";
import { type Runtime, settingsFromEnv } from "../../functions/runtime";
import { uiRoutes } from "../../functions/ui/routes";
import { type AutoscaleDeps, autoscaleAll, autoscaleConfigFromEnv } from "../../shared/autoscale";
import type { Secrets } from "../../shared/config";
import { type ClusterSource, createKube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { formatRef, reconcileAll, reconcilePool } from "../../shared/reconcile";
import { startScheduler } from "../../shared/schedule";
import {
  createPassCoalescer,
  type PassCoalescer,
  startWatchTrigger,
  type WatchTrigger,
  type WatchTriggerOptions,
} from "../../shared/trigger";
import { SCHEDULES } from "../aws/definitions";

const log = logger("function-server");

/** Every function's routes, as the Node server serves them. */
export const ALL_ROUTES: readonly RouteFactory[] = [
  reconcileRoutes,
  (runtime) => autoscaleRoutes(runtime),
  chatopsRoutes,
  admissionRoutes,
  uiRoutes,
];

export interface FunctionServerOptions {
  readonly source: ClusterSource;
  readonly secrets: Partial<Secrets>;
  readonly port: number;
  readonly hostname?: string;
  readonly devMode: boolean;
  /** Run the local scheduler (reconcile-all on the schedule definitions). */
  readonly schedule: boolean;
  /** Overrides the reconcile schedule's interval (default: its local interval, 10 s). */
  readonly intervalMs?: number;
  /** Overrides the autoscale pass's interval (default: its local interval, 15 s). */
  readonly autoscaleIntervalMs?: number;
  /**
   * Also serve the routes over HTTPS (the API server calls admission webhooks over TLS only): PEM certificate and
   * key, on `port` (0 = pick a free one) of the same hostname.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly port: number };
  /**
   * Watch pools, replica sets, VMs and VMIs and trigger passes of the pools they belong to (`VMPOOL_WATCH=true`);
   * the reflector's settings, or `{}` for its defaults. Absent: no watch.
   */
  readonly watch?: NonNullable<WatchTriggerOptions["watch"]>;
}

export interface FunctionServer {
  readonly url: string;
  /** The HTTPS listener's URL, when `tls` was given. */
  readonly httpsUrl: string | undefined;
  readonly runtime: Runtime;
  readonly intervalMs: number;
  readonly autoscaleIntervalMs: number;
  /** The watch trigger, when `watch` was given. */
  readonly watch: WatchTrigger | undefined;
  stop(): Promise<void>;
}

export async function startFunctionServer(options: FunctionServerOptions): Promise<FunctionServer> {
  let coalescer: PassCoalescer | undefined;
  const runtime = createRuntime({
    kube: createKube(options.source),
    secrets: options.secrets,
    settings: settingsFromEnv(),
    devMode: options.devMode,
    triggerPass: async (ref, reason) => coalescer?.request(ref, reason),
  });
  coalescer = createPassCoalescer({
    run: async (ref, reasons) => {
      const result = await reconcilePool(passDeps(runtime, `trigger-${randomUUID()}`), ref);
      if (result.outcome !== "Converged")
        log.info({ pool: formatRef(ref), reasons, outcome: result.outcome }, "triggered pass");
      return result;
    },
    onError: (ref, err) => log.warn({ pool: formatRef(ref), err }, "triggered pass failed"),
  });
  const watch = options.watch
    ? startWatchTrigger({
        kube: runtime.kube,
        request: (ref, reason) => coalescer?.request(ref, reason),
        log,
        watch: options.watch,
      })
    : undefined;
  const app = createFunctionApp(runtime, ALL_ROUTES);
  const hostname = options.hostname ?? "127.0.0.1";
  const listen = (extra: Partial<Parameters<typeof serve>[0]>, port: number) =>
    new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname, port, ...extra }, () => resolve(s));
      s.once("error", reject);
    });
  const server = await listen({}, options.port);
  const secure = options.tls
    ? await listen(
        { createServer: createHttpsServer, serverOptions: { cert: options.tls.cert, key: options.tls.key } },
        options.tls.port,
      )
    : undefined;
  const address = server.address() as AddressInfo;
  const url = `http://${hostname}:${address.port}`;
  const httpsUrl = secure ? `https://${hostname}:${(secure.address() as AddressInfo).port}` : undefined;
  const localInterval = (target: string, fallback: number) =>
    SCHEDULES.find((d) => d.target === target)?.localIntervalMs ?? fallback;
  const intervalMs = options.intervalMs ?? localInterval("reconcile", 10_000);
  const autoscaleIntervalMs = options.autoscaleIntervalMs ?? localInterval("autoscale", 15_000);
  const interval: Record<string, number> = { reconcile: intervalMs, autoscale: autoscaleIntervalMs };
  const scheduled = autoscaleDeps(runtime, autoscaleConfigFromEnv());
  const autoscalePassDeps: AutoscaleDeps = {
    ...scheduled,
    log: runtime.log.child({ function: "autoscale", trigger: "schedule" }),
    options: { ...scheduled.options, intervalMs: autoscaleIntervalMs },
  };
  const scheduler = options.schedule
    ? startScheduler({
        definitions: SCHEDULES.map((d) => ({ ...d, localIntervalMs: interval[d.target] ?? intervalMs })),
        fire: async (definition) => {
          if (definition.target === "autoscale") {
            const pass = await autoscaleAll(autoscalePassDeps);
            const acted = pass.results.filter((r) => r.outcome === "Scaled" || r.outcome === "Failed");
            if (acted.length > 0) {
              log.info(
                {
                  hpas: pass.results.length,
                  outcomes: acted.map((r) => `${r.hpa ?? r.pool}:${r.outcome}:${r.reason}`),
                },
                "scheduled autoscale pass",
              );
            }
            return;
          }
          if (definition.target !== "reconcile") return;
          const results = await reconcileAll(passDeps(runtime, `schedule-${randomUUID()}`), {
            concurrency: runtime.settings.VMPOOL_CONCURRENCY,
          });
          for (const r of results) coalescer?.afterPass(r);
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
    httpsUrl,
    runtime,
    intervalMs,
    autoscaleIntervalMs,
    watch,
    stop: async () => {
      scheduler?.stop();
      await watch?.stop();
      coalescer?.stop();
      await Promise.all(
        [server, secure].map(
          (s) =>
            new Promise<void>((resolve) => {
              if (!s) return resolve();
              s.close(() => resolve());
              // kube-apiserver keeps its webhook connections alive: end them, or close() waits for them forever.
              (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        ),
      );
    },
  };
}
