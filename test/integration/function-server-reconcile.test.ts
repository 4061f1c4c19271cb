/**
 * `POST /reconcile` over real HTTP: names and namespaces are checked as every other entry point checks them (the
 * shared pool reference schema, DNS-1123 as kube-apiserver applies it) before any Kubernetes request, so `.`,
 * path separators, NUL or a right-to-left override never reach a URL. Issue 10, defect 6.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestFunctionServer, type TestFunctionServer } from "../support/function-server";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const TOKEN = "reconcile-token-0123456789";

let env: TestCluster;
let server: TestFunctionServer;

beforeAll(async () => {
  env = await startTestCluster({ simulator: false });
  server = await startTestFunctionServer({ kubeconfig: env.kubeconfig, secrets: { reconcileToken: TOKEN } });
});
afterAll(async () => {
  await server?.close();
  await env?.close();
});

function reconcile(body: unknown): Promise<Response> {
  return fetch(`${server.url}/reconcile`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("POST /reconcile names", () => {
  it.each([
    // `.` once turned the request into a list of every pool in the namespace.
    [{ namespace: "default", name: "." }, "name"],
    [{ namespace: "default", name: ".." }, "name"],
    // A path separator would address another resource.
    [{ namespace: "default", name: "a/b" }, "name"],
    [{ namespace: "default", name: "pool\u0000" }, "name"],
    // A right-to-left override makes a log line read differently from what it names.
    [{ namespace: "default", name: "\u202Elooc-mv" }, "name"],
    [{ namespace: "default", name: "Upper" }, "name"],
    [{ namespace: "default", name: "" }, "name"],
    [{ namespace: "default", name: "a".repeat(254) }, "name"],
    [{ namespace: "default", name: "pool-", kind: "VirtualMachineInstanceReplicaSet" }, "name"],
    [{ namespace: ".", name: "pool" }, "namespace"],
    [{ namespace: "de\u202Efault", name: "pool" }, "namespace"],
    [{ namespace: "a".repeat(64), name: "pool" }, "namespace"],
    // A namespace alone (a reconcile of one namespace) is checked the same way.
    [{ namespace: "kube\u0000system" }, "namespace"],
  ])("refuses %j with 400 naming the %s, before any Kubernetes request", async (body, field) => {
    const before = server.kube.stats().total;
    const response = await reconcile(body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { reason: string; message: string } };
    expect(error.reason).toBe("InvalidBody");
    expect(error.message).toMatch(new RegExp(`^body: ${field}: `));
    expect(server.kube.stats().total).toBe(before);
  });

  it.each([
    // The longest names Kubernetes allows are still taken.
    [
      {
        namespace: "a".repeat(63),
        name: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
      },
    ],
    [{ namespace: "default", name: "vm-pool.cirros-1" }],
  ])("passes a valid name on (%j: 404 for a pool that does not exist)", async (body) => {
    const response = await reconcile(body);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ results: [{ outcome: "NotFound", name: body.name }] });
  });
});
