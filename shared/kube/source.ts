/**
 * Where a client's cluster comes from: an explicit kubeconfig file or text, the in-cluster service account, a
 * server URL plus a static bearer token, or an EKS cluster whose tokens are minted in-process (./eks). Never the
 * developer's default KUBECONFIG: a cluster is only reconciled when it is named.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { z } from "zod";
import { ReasonedError } from "../errors";
import { AWS_REGION_PATTERN } from "./eks";

export const ClusterSourceSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("kubeconfig"),
    path: z.string().min(1),
    context: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal("kubeconfigText"),
    yaml: z.string().min(1),
    context: z.string().min(1).optional(),
  }),
  z.strictObject({ kind: z.literal("inCluster") }),
  z.strictObject({
    kind: z.literal("token"),
    server: z.url({ protocol: /^https?$/ }),
    token: z.string().min(1),
    /** Base64 PEM of the cluster CA; absent = the system trust store. */
    caData: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal("eks"),
    server: z.url({ protocol: /^https?$/ }),
    /** The EKS cluster name, signed into every token (`x-k8s-aws-id`); EKS's naming rule. */
    clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name"),
    region: z.string().regex(AWS_REGION_PATTERN, "must be an AWS region such as us-east-1"),
    caData: z.string().min(1).optional(),
  }),
]);

/** How to reach a cluster. */
export type ClusterSource = z.infer<typeof ClusterSourceSchema>;

function invalidSource(message: string, cause?: unknown): ReasonedError {
  return new ReasonedError("InvalidClusterSource", message, { retryable: false, status: 500, cause });
}

function load(kc: KubeConfig, source: ClusterSource): void {
  switch (source.kind) {
    case "kubeconfig":
      kc.loadFromFile(source.path);
      break;
    case "kubeconfigText":
      kc.loadFromString(source.yaml);
      break;
    case "inCluster":
      if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
        throw invalidSource("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
      }
      kc.loadFromCluster();
      break;
    case "token":
    case "eks":
      kc.loadFromOptions({
        clusters: [
          {
            name: "target",
            server: source.server,
            ...(source.caData === undefined ? {} : { caData: source.caData }),
          },
        ],
        // An EKS token changes every few minutes: the transport adds it per request (client.ts).
        users: [source.kind === "token" ? { name: "target", token: source.token } : { name: "target" }],
        contexts: [{ name: "target", cluster: "target", user: "target" }],
        currentContext: "target",
      });
      break;
  }
}

/**
 * kubectl talks plain HTTP to an `http://` server; client-node 1.4 refuses to unless `skipTLSVerify` is set
 * (`KubeConfig.createAgent`). With no TLS on the connection that flag only acknowledges the plaintext the URL
 * already names (the local cluster serves `http://127.0.0.1`), so it is set for those clusters and no others.
 */
function allowPlainHttp(kc: KubeConfig): void {
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.server.startsWith("http:") ? { ...c, skipTLSVerify: true } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
}

/**
 * A client-node KubeConfig for `source`. Throws ReasonedError `InvalidClusterSource` when the source cannot be
 * read or names no usable cluster.
 */
export function kubeConfigFrom(source: ClusterSource): KubeConfig {
  const kc = new KubeConfig();
  try {
    load(kc, source);
    allowPlainHttp(kc);
    if ("context" in source && source.context !== undefined) kc.setCurrentContext(source.context);
  } catch (err) {
    if (err instanceof ReasonedError) throw err;
    throw invalidSource(`cannot load the ${source.kind} cluster source: ${(err as Error).message}`, err);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw invalidSource(`the ${source.kind} cluster source names no current cluster`);
  return kc;
}
