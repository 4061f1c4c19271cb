/**
 * The function server as `npm start` serves it, for tests that need real HTTP: every function's routes
 * (`ALL_ROUTES`, or the ones given) in the function app, on @hono/node-server at 127.0.0.1:0, over a Kube whose
 * `stats()` count every request the functions send, with a logger whose lines the test reads, and passes asked
 * for by the admission hook recorded instead of run (so no write lands after its answer). Also a raw HTTP
 * client that streams a chunked upload of any size from one reused buffer and stops when the answer comes.
 */
import { request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { pino } from "pino";
import { createFunctionApp, type RouteFactory } from "../../functions/app";
import { createRuntime } from "../../functions/bootstrap";
import { type Runtime, settingsFromEnv } from "../../functions/runtime";
import { ALL_ROUTES } from "../../infra/cli/server";
import type { Secrets } from "../../shared/config";
import { createKube, type Kube } from "../../shared/kube";
import type { PoolRef } from "../../shared/reconcile";

export interface TestFunctionServer {
  readonly app: Hono;
  /** The Node HTTP server underneath (its `request` event says the app has started on a request). */
  readonly http: Server;
  readonly url: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly kube: Kube;
  /** Passes asked for through `runtime.triggerPass` (the admission hook's way), recorded and not run. */
  readonly triggered: PoolRef[];
  /** Every log line, parsed (level is pino's number: 30 info, 40 warn, 50 error); lines over 2 KiB cut short. */
  readonly lines: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestFunctionServerOptions {
  readonly kubeconfig: string;
  readonly secrets: Partial<Secrets>;
  readonly routes?: readonly RouteFactory[];
  readonly devMode?: boolean;
}

export async function startTestFunctionServer(
  options: TestFunctionServerOptions,
): Promise<TestFunctionServer> {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug", base: null },
    {
      write: (line: string) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        // A fuzzer's megabyte strings would otherwise stay in the test's memory, not the server's.
        const { level, reason, status, path, msg } = parsed;
        lines.push(
          line.length <= 2048 ? parsed : { level, reason, status, path, msg: String(msg).slice(0, 200) },
        );
      },
    },
  );
  const kube = createKube({ kind: "kubeconfig", path: options.kubeconfig }, { retry: { maxAttempts: 1 } });
  const triggered: PoolRef[] = [];
  const runtime = createRuntime({
    kube,
    triggerPass: async (ref) => {
      triggered.push(ref);
    },
    secrets: options.secrets,
    settings: settingsFromEnv({}),
    devMode: options.devMode ?? false,
    log,
  });
  const app = createFunctionApp(runtime, options.routes ?? ALL_ROUTES);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    app,
    http: server as Server,
    url: `http://127.0.0.1:${port}`,
    port,
    runtime,
    kube,
    triggered,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** Request verbs that change something, from `kube.stats()`. */
export function writesOf(kube: Kube): number {
  const { byVerb } = kube.stats();
  return ["create", "update", "patch", "delete"].reduce((sum, verb) => sum + (byVerb[verb] ?? 0), 0);
}

export interface UploadResult {
  /** The answer's status, or undefined when the connection ended without one. */
  readonly status: number | undefined;
  readonly body: string;
  /** Body bytes the client handed to the socket before the answer came (or the connection ended). */
  readonly sent: number;
}

/**
 * POSTs `total` bytes of `fill` as a chunked body (64 KiB chunks, honouring backpressure, so the client holds
 * one chunk), stopping as soon as the answer's headers arrive.
 */
export function chunkedUpload(
  port: number,
  path: string,
  headers: Record<string, string>,
  total: number,
  fill = "x",
): Promise<UploadResult> {
  const chunk = Buffer.alloc(64 * 1024, fill);
  return new Promise((resolve) => {
    let sent = 0;
    let status: number | undefined;
    let body = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ status, body, sent });
    };
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      headers: { ...headers, "transfer-encoding": "chunked" },
    });
    req.on("response", (res) => {
      status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        body += text;
      });
      res.on("end", () => {
        req.destroy();
        finish();
      });
      res.on("error", finish);
    });
    req.on("error", finish);
    req.on("close", finish);
    const pump = () => {
      while (status === undefined && !req.destroyed && sent < total) {
        const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
        sent += piece.length;
        if (!req.write(piece)) {
          req.once("drain", pump);
          return;
        }
      }
      if (sent >= total && status === undefined && !req.destroyed) req.end();
    };
    pump();
  });
}

/** The largest growth of the process's JS heap plus buffers over a baseline while `work` runs (sampled every 5 ms). */
export async function peakMemoryGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const used = () => {
    const m = process.memoryUsage();
    return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
  };
  const base = used();
  let peak = 0;
  const sample = () => {
    const now = used();
    peak = Math.max(peak, now.heap - base.heap, now.rss - base.rss);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await work();
    sample();
    return { result, growth: peak };
  } finally {
    clearInterval(timer);
  }
}

setFlagsFromString("--expose-gc");
/** A full garbage collection (V8's `gc`, exposed at run time), so what is left on the heap is what is retained. */
export const collectGarbage = runInNewContext("gc") as () => void;

/** The JS heap plus array buffers, in bytes. */
export function heapInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
