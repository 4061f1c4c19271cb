/**
 * shared/kube's transport keeps its connections: requests share kept-alive TLS connections, where
 * `@kubernetes/client-node` alone builds a new Agent, and so a new TCP connection and a full TLS handshake, for
 * every request (measured against the real control plane: two to three times the client CPU per request).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePki } from "../../infra/real/pki";
import { createKube, type Kube } from "../../shared/kube";

const LEASE = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name: "held", namespace: "default", resourceVersion: "1", uid: "u-1" },
  spec: { holderIdentity: "pass-a" },
};

describe("the Kubernetes transport over TLS", () => {
  let dir: string;
  let server: Server;
  let kube: Kube;
  let handshakes = 0;
  const authorizations = new Set<string | undefined>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kube-transport-"));
    const pki = ensurePki(join(dir, "pki"));
    server = createServer(
      { cert: readFileSync(pki.servingCert), key: readFileSync(pki.servingKey) },
      (req, res) => {
        authorizations.add(req.headers.authorization);
        const found = req.url?.startsWith("/apis/coordination.k8s.io/v1/namespaces/default/leases/held");
        res
          .writeHead(found ? 200 : 404, { "content-type": "application/json" })
          .end(JSON.stringify(found ? LEASE : { kind: "Status", apiVersion: "v1", code: 404 }));
      },
    );
    server.on("secureConnection", () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "tls",
            cluster: {
              server: `https://127.0.0.1:${port}`,
              "certificate-authority-data": Buffer.from(pki.caCertPem).toString("base64"),
            },
          },
        ],
        users: [{ name: "functions", user: { token: "functions-token" } }],
        contexts: [{ name: "tls", context: { cluster: "tls", user: "functions" } }],
        "current-context": "tls",
      }),
    );
    kube = createKube({ kind: "kubeconfig", path: kubeconfig });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("sends sequential requests over one connection, verified against the kubeconfig's CA", async () => {
    for (let i = 0; i < 20; i++) {
      expect((await kube.get("Lease", "default", "held"))?.spec?.holderIdentity).toBe("pass-a");
    }
    expect(handshakes).toBe(1);
    expect([...authorizations]).toEqual(["Bearer functions-token"]);
  });

  it("opens at most one connection per concurrent request and keeps them for the next ones", async () => {
    const before = handshakes;
    await Promise.all(Array.from({ length: 5 }, () => kube.get("Lease", "default", "held")));
    const opened = handshakes - before;
    expect(opened).toBeLessThanOrEqual(5);
    for (let i = 0; i < 10; i++) await kube.get("Lease", "default", "held");
    await Promise.all(Array.from({ length: 5 }, () => kube.get("Lease", "default", "held")));
    expect(handshakes - before).toBe(opened);
  });
});
