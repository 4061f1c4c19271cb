/**
 * Deeply nested bodies on the embedded API server: answered with a 4xx that names the problem, never a 500 from
 * a stack overflow in decoding, merging or managedFields (issue 10, defect 2). Up to the limit they are handled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

let env: TestCluster;
beforeAll(async () => {
  env = await startTestCluster({ simulator: false });
});
afterAll(async () => env?.close());

/** `{"a":{"a":…{}}}` with `levels` objects below the root. */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels)}{}${"}".repeat(levels)}`;
}

function vm(name: string, levels: number): string {
  return `{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"${name}"},"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{"devices":{}},"x":${nested(levels)}}}}}`;
}

const base = () => `${env.cluster.url}/apis/kubevirt.io/v1/namespaces/default/virtualmachines`;

async function send(method: string, url: string, body: string, contentType = "application/json") {
  const response = await fetch(url, { method, headers: { "content-type": contentType }, body });
  return { status: response.status, body: (await response.json()) as { reason?: string; message?: string } };
}

describe("deeply nested bodies", () => {
  it.each([2_000, 20_000])("a create nested %i deep: 400 BadRequest naming the depth", async (levels) => {
    const { status, body } = await send("POST", base(), vm(`deep-${levels}`, levels));
    expect(status).toBe(400);
    expect(body.reason).toBe("BadRequest");
    expect(body.message).toMatch(/exceeded max depth/);
  });

  it("a merge patch nested 2,000 deep: 400, and the object is unchanged", async () => {
    expect((await send("POST", base(), vm("target", 1))).status).toBe(201);
    const before = await (await fetch(`${base()}/target`)).json();
    const { status, body } = await send(
      "PATCH",
      `${base()}/target`,
      `{"spec":{"template":{"spec":{"x":${nested(2_000)}}}}}`,
      "application/merge-patch+json",
    );
    expect(status).toBe(400);
    expect(body.message).toMatch(/exceeded max depth/);
    expect(await (await fetch(`${base()}/target`)).json()).toEqual(before);
  });

  it("bodies just under the limit are created and merge-patched (no 5xx)", async () => {
    const created = await send("POST", base(), vm("under", 980));
    expect(created.status).toBe(201);
    const patched = await send(
      "PATCH",
      `${base()}/under`,
      `{"spec":{"template":{"spec":{"y":${nested(980)}}}}}`,
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
  });

  it("braces inside strings do not count", async () => {
    const text = vm("strings", 1).replace('"domain":', `"note":"${"{".repeat(5_000)}","domain":`);
    expect((await send("POST", base(), text)).status).toBe(201);
  });
});
