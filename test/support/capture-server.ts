/**
 * A throwaway Kubernetes API server on 127.0.0.1 that serves just enough discovery for kubectl to resolve
 * `vmpool`, `hpa` and `namespaces`, answers a GET of one VirtualMachinePool, and records every request body
 * byte for byte. Tests use it to capture what a real kubectl binary puts on the wire (e.g. protobuf POST
 * bodies), without depending on the local cluster under test. Discovery shapes follow
 * shared/reference/apiserver-fidelity.md §1.4.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { kubectlBinary } from "./kubectl";

/** One request as kubectl sent it. */
export interface CapturedRequest {
  readonly method: string;
  /** Path plus query string, verbatim. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly body: Buffer;
}

/** The answer to a write request: status code plus a JSON body. */
export interface CaptureReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface CaptureServerOptions {
  /**
   * Write requests whose path matches get a 404 "the server could not find the requested resource", as from a
   * server without that API version; e.g. `/autoscaling\/v2\//` makes kubectl 1.33 autoscale retry with v1.
   */
  readonly rejectWrites?: RegExp;
  /**
   * Answers POST/PUT/PATCH requests. The default echoes a minimal object built from the URL with 201, which is
   * enough for kubectl to print its success line.
   */
  readonly onWrite?: (request: CapturedRequest) => CaptureReply;
}

export interface CaptureServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request received so far, in arrival order. */
  readonly requests: readonly CapturedRequest[];
  /** The bodies of write requests whose path matches `pathPattern`, in arrival order. */
  writesTo(pathPattern: RegExp): CapturedRequest[];
  close(): Promise<void>;
}

const AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const CRD_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];
const SUB_VERBS = ["get", "patch", "update"];

export const POOL_NAME = "vm-pool-cirros";

function discoveryList(items: unknown[]): Record<string, unknown> {
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

function coreDiscovery(): Record<string, unknown> {
  return discoveryList([
    {
      metadata: { creationTimestamp: null },
      versions: [
        {
          version: "v1",
          freshness: "Current",
          resources: [
            {
              resource: "namespaces",
              singularResource: "namespace",
              scope: "Cluster",
              responseKind: { group: "", version: "v1", kind: "Namespace" },
              verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
              shortNames: ["ns"],
            },
          ],
        },
      ],
    },
  ]);
}

function hpaResource(version: string): Record<string, unknown> {
  return {
    resource: "horizontalpodautoscalers",
    singularResource: "horizontalpodautoscaler",
    scope: "Namespaced",
    responseKind: { group: "autoscaling", version, kind: "HorizontalPodAutoscaler" },
    verbs: CRD_VERBS,
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: [
      {
        subresource: "status",
        responseKind: { group: "autoscaling", version, kind: "HorizontalPodAutoscaler" },
        verbs: SUB_VERBS,
      },
    ],
  };
}

function groupsDiscovery(): Record<string, unknown> {
  return discoveryList([
    {
      metadata: { name: "autoscaling", creationTimestamp: null },
      versions: ["v2", "v1"].map((version) => ({
        version,
        freshness: "Current",
        resources: [hpaResource(version)],
      })),
    },
    {
      metadata: { name: "pool.kubevirt.io", creationTimestamp: null },
      versions: [
        {
          version: "v1alpha1",
          freshness: "Current",
          resources: [
            {
              resource: "virtualmachinepools",
              singularResource: "virtualmachinepool",
              scope: "Namespaced",
              responseKind: { group: "pool.kubevirt.io", version: "v1alpha1", kind: "VirtualMachinePool" },
              verbs: CRD_VERBS,
              shortNames: ["vmpool", "vmpools"],
              categories: ["all"],
              subresources: [
                {
                  subresource: "scale",
                  responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
                  verbs: SUB_VERBS,
                },
                {
                  subresource: "status",
                  responseKind: {
                    group: "pool.kubevirt.io",
                    version: "v1alpha1",
                    kind: "VirtualMachinePool",
                  },
                  verbs: SUB_VERBS,
                },
              ],
            },
          ],
        },
      ],
    },
  ]);
}

function pool(): Record<string, unknown> {
  return {
    apiVersion: "pool.kubevirt.io/v1alpha1",
    kind: "VirtualMachinePool",
    metadata: {
      name: POOL_NAME,
      namespace: "default",
      uid: "04cfbde4-c977-40ec-bdaf-36cd1854fb0e",
      resourceVersion: "1",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { "kubevirt.io/vmpool": POOL_NAME } },
      virtualMachineTemplate: { metadata: { labels: { "kubevirt.io/vmpool": POOL_NAME } }, spec: {} },
    },
    status: { replicas: 3, readyReplicas: 3, labelSelector: `kubevirt.io/vmpool=${POOL_NAME}` },
  };
}

function notFoundStatus(): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the server could not find the requested resource",
    reason: "NotFound",
    code: 404,
  };
}

/**
 * The default answer to a write: 201 echoing a JSON body, or for other encodings a minimal object of the kind the
 * URL names, which is all kubectl needs to print its success line.
 */
function defaultWrite(request: CapturedRequest): CaptureReply {
  if (request.contentType?.startsWith("application/json")) {
    return { status: 201, body: JSON.parse(request.body.toString("utf8")) as Record<string, unknown> };
  }
  const path = request.url.split("?")[0] ?? "";
  if (path === "/api/v1/namespaces") {
    return { status: 201, body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "captured" } } };
  }
  const hpa = /^\/apis\/autoscaling\/(v1|v2)\/namespaces\/([^/]+)\/horizontalpodautoscalers$/.exec(path);
  if (hpa) {
    return {
      status: 201,
      body: {
        apiVersion: `autoscaling/${hpa[1]}`,
        kind: "HorizontalPodAutoscaler",
        metadata: { name: POOL_NAME, namespace: hpa[2] },
      },
    };
  }
  return { status: 404, body: notFoundStatus() };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  res.writeHead(status, { "Content-Type": contentType });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

interface ServedReply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
}

function readReply(path: string): ServedReply {
  if (path === "/api") return { status: 200, body: coreDiscovery(), contentType: AGGREGATED_V2 };
  if (path === "/apis") return { status: 200, body: groupsDiscovery(), contentType: AGGREGATED_V2 };
  if (path === `/apis/pool.kubevirt.io/v1alpha1/namespaces/default/virtualmachinepools/${POOL_NAME}`) {
    return { status: 200, body: pool() };
  }
  return { status: 404, body: notFoundStatus() };
}

/** Starts the capture server on an ephemeral 127.0.0.1 port. */
export async function startCaptureServer(options: CaptureServerOptions = {}): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const onWrite = options.onWrite ?? defaultWrite;
  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        const request: CapturedRequest = {
          method: req.method ?? "GET",
          url: req.url ?? "/",
          contentType: req.headers["content-type"],
          accept: req.headers.accept,
          body,
        };
        requests.push(request);
        const path = request.url.split("?")[0] ?? "/";
        const reply: ServedReply =
          request.method === "GET"
            ? readReply(path)
            : options.rejectWrites?.test(path)
              ? { status: 404, body: notFoundStatus() }
              : onWrite(request);
        send(res, reply.status, reply.body, reply.contentType);
      },
      () => send(res, 400, { kind: "Status", apiVersion: "v1", status: "Failure", code: 400 }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    writesTo: (pathPattern) =>
      requests.filter((r) => r.method !== "GET" && pathPattern.test(r.url.split("?")[0] ?? "")),
    close: () =>
      new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

export { kubectlBinary };

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs kubectl against `serverUrl` with a fresh temporary HOME (so no discovery cache or kubeconfig leaks in) and
 * the namespace `default`.
 */
export async function runKubectl(
  binary: string,
  serverUrl: string,
  args: readonly string[],
): Promise<KubectlResult> {
  const home = mkdtempSync(join(tmpdir(), "kubectl-capture-"));
  try {
    return await new Promise<KubectlResult>((resolve) => {
      execFile(
        binary,
        ["--server", serverUrl, "--namespace", "default", ...args],
        { env: { PATH: process.env.PATH ?? "", HOME: home, KUBECONFIG: join(home, "absent-kubeconfig") } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface KubectlCapture {
  readonly result: KubectlResult;
  /** The write requests kubectl sent, in order. */
  readonly writes: readonly CapturedRequest[];
}

/** Runs one kubectl command against a fresh capture server and returns what it wrote. */
export async function captureKubectlWrites(
  binary: string,
  args: readonly string[],
  options: CaptureServerOptions = {},
): Promise<KubectlCapture> {
  const server = await startCaptureServer(options);
  try {
    const result = await runKubectl(binary, server.url, args);
    return { result, writes: server.writesTo(/./) };
  } finally {
    await server.close();
  }
}
