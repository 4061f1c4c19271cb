/**
 * The API simulator's Kubernetes client: JSON requests and streaming watches through `@kubernetes/client-node`'s
 * request context, authentication (kubeconfig TLS, tokens, exec providers) and `Watch`. The functions import
 * client-node only in shared/kube; this is a development double under infra/ that needs raw watch streams,
 * status subresources and DeleteOptions bodies that the functions' narrow verbs do not offer, so it keeps this
 * one small client of its own. Failures are `ApiError`s built from the server's Status object.
 */
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  Watch,
} from "@kubernetes/client-node";
import { agentReuse } from "../../../../shared/kube";
import { ApiError, type StatusDetails } from "../../errors";
import { rec, str } from "../json";

export type { KubeConfig };

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiRequest {
  readonly method: Method;
  /** Path below the server URL, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialised as the request body. */
  readonly body?: unknown;
  /** Defaults to `application/json` when there is a body. */
  readonly contentType?: string;
}

/** An open watch: `done` settles when the stream ends (rejects on a transport or HTTP error). */
export interface WatchHandle {
  readonly done: Promise<void>;
  abort(): void;
}

const METHODS: Record<Method, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

/** The Kubernetes StatusReason an HTTP code stands for when the body is not a Status (apimachinery's table). */
function reasonOf(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

/** The ApiError for a failed answer: the Status body when there is one, else the code alone. */
export function apiErrorOf(code: number, body: unknown, fallback: string): ApiError {
  const status = rec(body);
  if (status?.kind === "Status") {
    const details = rec(status.details);
    return new ApiError(
      typeof status.code === "number" ? status.code : code,
      str(status.reason) || reasonOf(code),
      str(status.message) ?? fallback,
      details as StatusDetails | undefined,
    );
  }
  return new ApiError(code, reasonOf(code), fallback);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface ApiClientOptions {
  /** Deadline of one request (not of a watch). Default 30 s. */
  readonly requestTimeoutMs?: number;
}

export class ApiClient {
  readonly server: string;
  private readonly http = new IsomorphicFetchHttpLibrary();
  /** Aborted by close(): every request and watch in flight ends at once. */
  private readonly closing = new AbortController();
  private readonly requestTimeoutMs: number;
  /** One keep-alive agent instead of the one client-node builds per request (a TLS handshake each). */
  private readonly reuse = agentReuse();

  constructor(
    private readonly kc: KubeConfig,
    options: ApiClientOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** A client for a kubeconfig file's current context. */
  static fromFile(path: string, options: ApiClientOptions = {}): ApiClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new ApiClient(kc, options);
  }

  /** Sends one request; resolves to the parsed JSON body (undefined when empty). */
  async request(request: ApiRequest): Promise<unknown> {
    const context = new RequestContext(`${this.server}${request.path}`, METHODS[request.method]);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) context.setQueryParam(key, value);
    }
    context.setHeaderParam("Accept", "application/json");
    context.setHeaderParam("User-Agent", "vmpool-simulator");
    if (request.body !== undefined) {
      context.setHeaderParam("Content-Type", request.contentType ?? "application/json");
      context.setBody(JSON.stringify(request.body));
    }
    context.setSignal(AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.requestTimeoutMs)]));
    await this.kc.applySecurityAuthentication(context);
    const agent = this.reuse(context.getAgent());
    if (agent) context.setAgent(agent);
    const response = await this.http.send(context).toPromise();
    const text = await response.body.text();
    const body = text.trim() === "" ? undefined : parseJson(text);
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw apiErrorOf(
        response.httpStatusCode,
        body,
        `${request.method} ${request.path}: HTTP ${response.httpStatusCode}`,
      );
    }
    return body;
  }

  /**
   * Opens a watch on a collection path; `onEvent` gets each event's type and object. A non-200 answer rejects
   * `done` with an ApiError carrying the code (client-node's Watch drops the body).
   */
  watch(
    path: string,
    query: Readonly<Record<string, string>>,
    onEvent: (type: string, object: unknown) => void,
  ): WatchHandle {
    let controller: AbortController | undefined;
    let aborted = false;
    const abort = () => {
      aborted = true;
      controller?.abort();
    };
    const done = new Promise<void>((resolve, reject) => {
      const finish = (err: unknown) => {
        this.closing.signal.removeEventListener("abort", abort);
        if (!err) resolve();
        else if (typeof (err as { statusCode?: unknown }).statusCode === "number") {
          const code = (err as { statusCode: number }).statusCode;
          reject(apiErrorOf(code, undefined, `watch ${path}: HTTP ${code}`));
        } else reject(err);
      };
      new Watch(this.kc)
        .watch(path, query, (type: string, object: unknown) => onEvent(type, object), finish)
        .then((c) => {
          controller = c;
          if (aborted) c.abort();
        })
        .catch(finish);
    });
    if (this.closing.signal.aborted) abort();
    else this.closing.signal.addEventListener("abort", abort, { once: true });
    return { done, abort };
  }

  /** Ends every request and watch in flight; later calls fail at once. */
  close(): void {
    this.closing.abort();
  }
}
