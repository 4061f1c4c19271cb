/**
 * The local API server as `npm start` serves it refuses what a web page could send it (issue 10, defect 8):
 * HTTPS with the data directory's CA, a bearer token in the kubeconfig that real kubectl and client-node use, and
 * a Host check against DNS rebinding — before the fix, `Host: evil.example.com` with no credentials created a
 * namespace. `PUT /local/faults` is behind the same checks. Health and version stay public, as in kube-apiserver.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevHandle, parseDevFlags, startDev } from "../../infra/cli/dev";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import { call, type Endpoint } from "../../infra/real/http";
import { kubectl, kubectlBinary } from "../support/kubectl";

const ROOT = join(import.meta.dirname, "../..");
const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32");

/** One request with an explicit Host header (node:https sets Host from the URL unless told otherwise). */
function withHost(api: Endpoint, host: string, method: string, path: string, body?: string) {
  return call({ ...api }, method, path, body, "application/json", 10_000, { host });
}

describe("local API server: TLS, bearer token and Host check (npm start's configuration)", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-local-security-"));
  let dev: DevHandle;
  let api: Endpoint;
  const anonymous = (): Endpoint => ({ url: api.url, ...(api.ca ? { ca: api.ca } : {}) });

  beforeAll(async () => {
    dev = await startDev(
      parseDevFlags({ "api-port": "0", port: "0", "data-dir": dir, "in-memory": true, "interval-ms": "300" }),
      () => {},
    );
    const cluster = dev.cluster;
    if (!cluster?.security) throw new Error("npm start did not serve the local cluster securely");
    api = { url: cluster.url, ca: cluster.security.ca, token: cluster.security.token };
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS on 127.0.0.1 and writes the CA and token into the kubeconfig", () => {
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const text = readFileSync(dev.kubeconfigPath, "utf8");
    expect(text).toContain(`token: ${api.token}`);
    expect(text).toContain(`certificate-authority-data: ${Buffer.from(api.ca ?? "").toString("base64")}`);
    expect(readFileSync(join(dir, "api-token"), "utf8").trim()).toBe(api.token);
  });

  it("refuses a request without a token, or with a wrong one, with kube-apiserver's 401 — and writes nothing", async () => {
    const body = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "no-token" } });
    const none = await call(anonymous(), "POST", "/api/v1/namespaces", body);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    const wrong = await call({ ...api, token: `${api.token}x` }, "POST", "/api/v1/namespaces", body);
    expect(wrong.status).toBe(401);
    expect((await call(api, "GET", "/api/v1/namespaces/no-token")).status).toBe(404);
  });

  it("refuses a foreign Host (DNS rebinding) even with the token, and writes nothing", async () => {
    const body = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "rebound" } });
    for (const host of [
      "evil.example.com",
      "evil.example.com:18443",
      "127.0.0.1.evil.example.com",
      "[::2]:1",
    ]) {
      const res = await withHost(api, host, "POST", "/api/v1/namespaces", body);
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body).message, host).toContain("is not allowed");
    }
    expect((await call(api, "GET", "/api/v1/namespaces/rebound")).status).toBe(404);
    // Loopback names are the server's own.
    for (const host of ["localhost", `127.0.0.1:${new URL(api.url).port}`, "[::1]:443", "localhost:1"]) {
      expect((await withHost(api, host, "GET", "/api/v1/namespaces/default")).status, host).toBe(200);
    }
  });

  it("keeps PUT /local/faults behind the token", async () => {
    const faults = JSON.stringify({ seed: 1, rules: [{ kind: "error", rate: 1 }] });
    expect((await call(anonymous(), "PUT", "/local/faults", faults)).status).toBe(401);
    expect((await withHost(api, "evil.example.com", "PUT", "/local/faults", faults)).status).toBe(403);
    // No fault was installed: an authorised read still succeeds.
    expect((await call(api, "GET", "/api/v1/namespaces/default")).status).toBe(200);
  });

  it("answers /healthz, /readyz and /version without credentials, as kube-apiserver does", async () => {
    for (const path of ["/healthz", "/readyz", "/livez", "/version"]) {
      expect((await call(anonymous(), "GET", path)).status, path).toBe(200);
    }
  });

  it("does not answer plain HTTP on its port", async () => {
    const port = Number(new URL(api.url).port);
    const status = await new Promise<number | string>((resolve) => {
      const req = httpRequest(
        { host: "127.0.0.1", port, path: "/api/v1/namespaces", timeout: 5000 },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (err) => resolve(err.message));
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.end();
    });
    // Node's TLS server answers a plaintext request with a bare 400 and never reaches the API.
    expect(status === 400 || typeof status === "string").toBe(true);
  });

  const itk = binary ? it : it.skip;
  if (!binary) it.skip("kubectl.1.33 / 1.32 is not installed next to kubectl on PATH", () => {});
  itk(
    "works for real kubectl with the printed kubeconfig, and the functions reach it with client-node",
    async () => {
      const k = kubectl(binary as string, dev.kubeconfigPath);
      const created = await k.run(["create", "namespace", "secured"]);
      expect(created.stderr).toBe("");
      expect(created.stdout).toContain("namespace/secured created");
      const got = await k.run(["get", "namespace", "secured", "-o", "jsonpath={.status.phase}"]);
      expect(got.stdout).toBe("Active");
      // The functions read and write the cluster through the same kubeconfig (client-node over TLS with the token):
      // the timer's passes create the seed pool's VMs.
      const applied = await k.run(["apply", "-f", join(ROOT, "examples/vm-pool-cirros.yaml")]);
      expect(applied.code, applied.stderr).toBe(0);
      let names: string[] = [];
      for (let i = 0; i < 100 && names.length < 3; i++) {
        const vms = await k.run(["get", "vm", "-o", "jsonpath={.items[*].metadata.name}"]);
        names = vms.stdout.split(" ").filter((n) => n.startsWith("vm-pool-cirros-"));
        if (names.length < 3) await setTimeout(200);
      }
      expect(names.sort()).toEqual(["vm-pool-cirros-0", "vm-pool-cirros-1", "vm-pool-cirros-2"]);
    },
  );
});

describe("local API server without TLS (tests, --insecure): the Host check stays", () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster({ port: 0, simulator: false });
  });
  afterAll(() => cluster?.close());

  it("refuses a foreign Host and writes nothing; loopback names pass", async () => {
    const api = { url: cluster.url };
    const body = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "rebound" } });
    const refused = await call(api, "POST", "/api/v1/namespaces", body, "application/json", 10_000, {
      host: "evil.example.com",
    });
    expect(refused.status).toBe(403);
    expect((await call(api, "GET", "/api/v1/namespaces/rebound")).status).toBe(404);
    expect((await call(api, "POST", "/api/v1/namespaces", body)).status).toBe(201);
  });
});
