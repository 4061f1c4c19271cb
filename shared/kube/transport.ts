/**
 * One HTTP request to the API server through `@kubernetes/client-node`'s own request context, authentication
 * (kubeconfig TLS, tokens, exec and token-file providers) and fetch. We build the path ourselves because the
 * generated CustomObjectsApi can only address `/apis/<group>/...` (not core/v1 Events and Pods, nor group
 * discovery) and the typed APIs turn timestamps into Dates; raw JSON lets every kind be zod-validated the same
 * way. Non-2xx answers throw `ApiException` with the raw body text, exactly as the generated APIs do. Connections
 * are kept alive and shared between requests.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import {
  type AgentOptions,
  Agent as HttpsAgent,
  request as httpsRequest,
  type RequestOptions,
} from "node:https";
import { createInterface } from "node:readline";
import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import type { BearerSource } from "./eks";
import { malformedObject } from "./errors";
import type { WatchStream } from "./watch";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  readonly method: Method;
  /** Path below the cluster's server URL, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialised as the request body. */
  readonly body?: unknown;
  /** Defaults to `application/json` when there is a body. */
  readonly contentType?: string;
  readonly signal: AbortSignal;
}

/** Sends a request and resolves to the parsed JSON body (undefined when empty). */
export type Transport = (request: HttpRequest) => Promise<unknown>;

/** Idle keep-alive sockets close after this, well before an API server or a load balancer drops them. */
const IDLE_SOCKET_MS = 15_000;
/** What makes two agents' connections interchangeable: the server's CA and name, and the client's identity. */
const TLS_IDENTITY = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

type Agent = HttpAgent | HttpsAgent;

/**
 * client-node builds a new Agent for every request (`KubeConfig.applySecurityAuthentication`), so every request
 * pays a TCP and a TLS handshake, and a pass sends hundreds. This keeps one keep-alive agent per TLS identity
 * instead (a rotated client certificate gets a new one) and leaves proxy agents as they come.
 */
export function agentReuse(): (fresh: Agent | undefined) => Agent | undefined {
  let current: { readonly key: string; readonly agent: Agent } | undefined;
  return (fresh) => {
    const kind = fresh?.constructor;
    if (!fresh || (kind !== HttpsAgent && kind !== HttpAgent)) return fresh;
    const options = (fresh as Agent & { readonly options: AgentOptions }).options;
    const key = JSON.stringify([kind === HttpsAgent, ...TLS_IDENTITY.map((f) => String(options[f] ?? ""))]);
    if (current?.key !== key) {
      const reused = { ...options, keepAlive: true, timeout: IDLE_SOCKET_MS };
      current = { key, agent: kind === HttpsAgent ? new HttpsAgent(reused) : new HttpAgent(reused) };
    }
    return current.agent;
  };
}

const METHODS: Record<Method, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

/**
 * A Transport for the current context of `kc`. `bearer`, when given, supplies the Authorization token per request
 * (EKS tokens expire every 15 minutes) and is told to forget it when the server answers 401.
 */
export function clientNodeTransport(kc: KubeConfig, bearer?: BearerSource): Transport {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const server = cluster.server.replace(/\/+$/, "");
  const http = new IsomorphicFetchHttpLibrary();
  const reuse = agentReuse();

  return async (request) => {
    const context = new RequestContext(`${server}${request.path}`, METHODS[request.method]);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) context.setQueryParam(key, value);
    }
    context.setHeaderParam("Accept", "application/json");
    if (request.body !== undefined) {
      context.setHeaderParam("Content-Type", request.contentType ?? "application/json");
      context.setBody(JSON.stringify(request.body));
    }
    context.setSignal(request.signal);
    await kc.applySecurityAuthentication(context);
    const agent = reuse(context.getAgent());
    if (agent) context.setAgent(agent);
    if (bearer) context.setHeaderParam("Authorization", `Bearer ${await bearer.token()}`);
    const response = await http.send(context).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode === 401) bearer?.invalidate();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP request", text, response.headers);
    }
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw malformedObject(
        `the API server answered ${request.method} ${request.path} with a body that is not JSON`,
      );
    }
  };
}

/** Opens a streaming watch of a collection path; `onEvent` gets each line's `type` and `object`. */
export type OpenWatch = (
  path: string,
  query: Readonly<Record<string, string>>,
  onEvent: (type: unknown, object: unknown) => void,
) => WatchStream;

/**
 * Streaming watches for the current context of `kc`, authenticated from the kubeconfig as every request is
 * (`applyToHTTPSOptions`: its agent with the cluster's CA and client certificate, and its token). client-node's own
 * `Watch` hands out its AbortController only once the answer's headers arrived, so a watch the server has not
 * answered yet could not be ended; this one aborts at any time. A non-200 answer rejects with its `statusCode`.
 */
export function clientNodeWatch(kc: KubeConfig): OpenWatch {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const server = cluster.server.replace(/\/+$/, "");
  return (path, query, onEvent) => {
    const controller = new AbortController();
    const done = (async () => {
      const url = new URL(`${server}${path}`);
      url.searchParams.set("watch", "true");
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      const options: RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      controller.signal.throwIfAborted();
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      await new Promise<void>((resolve, reject) => {
        const req = send(
          url,
          {
            ...options,
            method: "GET",
            headers: { ...options.headers, Accept: "application/json" },
            signal: controller.signal,
          },
          (res) => {
            if (res.statusCode !== 200) {
              res.resume();
              reject(
                Object.assign(new Error(`watch ${path}: HTTP ${res.statusCode}`), {
                  statusCode: res.statusCode,
                }),
              );
              return;
            }
            const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
            // readline re-emits the stream's errors (a connection reset): they end this watch, nothing else.
            lines.on("error", reject);
            lines.on("line", (line) => {
              let event: { type?: unknown; object?: unknown } | undefined;
              try {
                event = JSON.parse(line) as typeof event;
              } catch {
                return;
              }
              onEvent(event?.type, event?.object);
            });
            res.on("error", reject);
            res.on("close", () =>
              res.complete ? resolve() : reject(new Error(`watch ${path}: connection lost`)),
            );
          },
        );
        req.on("error", reject);
        req.end();
      });
    })();
    return { done, abort: () => controller.abort() };
  };
}
