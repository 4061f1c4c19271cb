/**
 * Label validation on the embedded API server speaks kube-apiserver's messages (apimachinery's ValidateLabels):
 * one cause per problem, so a 64-character value is refused for its length, not only for its format.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

let env: TestCluster;
beforeAll(async () => {
  env = await startTestCluster({ simulator: false });
});
afterAll(async () => env?.close());

async function createNamespace(labels: Record<string, string>) {
  const response = await fetch(`${env.cluster.url}/api/v1/namespaces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "labelled", labels } }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      reason?: string;
      details?: { causes?: { message: string; field: string }[] };
    },
  };
}

describe("label validation", () => {
  it("a 64-character value: 422 with kube-apiserver's length message", async () => {
    const value = "v".repeat(64);
    const { status, body } = await createNamespace({ app: value });
    expect(status).toBe(422);
    expect(body.reason).toBe("Invalid");
    expect(body.details?.causes).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "metadata.labels",
        message: `Invalid value: "${value}": must be no more than 63 characters`,
      },
    ]);
  });

  it("a value of 63 characters is accepted", async () => {
    const { status } = await createNamespace({ app: "v".repeat(63) });
    expect(status).toBe(201);
  });

  it("a bad key and a badly formed value each get their own cause", async () => {
    const { status, body } = await createNamespace({ "bad key": "-x" });
    expect(status).toBe(422);
    const messages = body.details?.causes?.map((c) => c.message) ?? [];
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(
      /^Invalid value: "bad key": name part must consist of alphanumeric characters/,
    );
    expect(messages[1]).toMatch(/^Invalid value: "-x": a valid label must be an empty string or consist of/);
  });
});
