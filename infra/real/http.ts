/**
 * The few raw requests the launcher makes before any client is useful (readiness probes, installing CRDs and
 * RBAC, a TokenRequest): HTTPS with our CA and the admin token (plain HTTP for etcd's /health). Hand-written because these are a dozen lines
 * with node:https, and client-node has no call for /readyz.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface Endpoint {
  readonly url: string;
  readonly ca?: string;
  readonly token?: string;
  /** Accept any certificate (kube-controller-manager serves a self-signed one). */
  readonly insecure?: boolean;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request; resolves with the status and body, rejects only on a transport error or the timeout. */
export function call(
  endpoint: Endpoint,
  method: string,
  path: string,
  body?: string,
  contentType = "application/json",
  timeoutMs = 10_000,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const target = new URL(path, endpoint.url);
    const request = target.protocol === "http:" ? httpRequest : httpsRequest;
    const req = request(
      target,
      {
        method,
        ...(endpoint.ca ? { ca: endpoint.ca } : {}),
        rejectUnauthorized: !endpoint.insecure,
        // node:https verifies the certificate against a Host header when one is given: keep it the URL's host.
        ...(extraHeaders.host && target.protocol === "https:" ? { servername: "localhost" } : {}),
        headers: {
          accept: "application/json",
          ...(endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}),
          ...(body === undefined ? {} : { "content-type": contentType }),
          ...extraHeaders,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Polls `probe` every 200 ms until it returns true; rejects with `what` after `timeoutMs`. */
export async function until(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  failed?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const reason = failed?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${last})` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
