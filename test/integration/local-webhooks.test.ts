/**
 * The embedded API server calls validating admission webhooks as kube-apiserver does (issue 12, item 2): stored
 * ValidatingWebhookConfigurations with kube's defaults and validation; rules, subresources, scope, Equivalent
 * versions, namespace and object selectors; the AdmissionReview v1 it sends; denials, failure policies, timeouts
 * (which block nothing else), trust through caBundle only, dry runs; and the simulator's own writes admitted too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LocalCluster, RESOURCES, type ResourceDef, startLocalCluster } from "../../infra/local";
import { WebhookDispatcher } from "../../infra/local/webhooks";
import { eventually } from "../support/local-cluster";
import { startTestWebhook, type TestWebhook } from "../support/webhook-server";

const CONFIGS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
const POOLS = "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools";

let cluster: LocalCluster;
let hook: TestWebhook;
let other: TestWebhook;

beforeAll(async () => {
  cluster = await startLocalCluster({ port: 0, simulator: false });
  hook = await startTestWebhook();
  other = await startTestWebhook();
});
afterAll(async () => {
  await hook?.close();
  await other?.close();
  await cluster?.close();
});
afterEach(async () => {
  await api("DELETE", `${CONFIGS}/test`);
  hook.received.length = 0;
  hook.answer = () => ({ kind: "allow" });
  for (const name of ["p1", "p2", "p3"]) await api("DELETE", `${POOLS}/${name}`);
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${cluster.url}${path}`, {
    method,
    headers: { "content-type": contentType },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  };
}

type Webhook = Record<string, unknown>;

function webhook(extra: Webhook = {}, url = hook.url, caBundle = hook.caBundle): Webhook {
  return {
    name: "pools.test.vmpool-functions.io",
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    clientConfig: { url, caBundle },
    rules: [
      {
        apiGroups: ["pool.kubevirt.io"],
        apiVersions: ["*"],
        operations: ["CREATE", "UPDATE", "DELETE"],
        resources: ["virtualmachinepools", "virtualmachinepools/scale"],
      },
    ],
    ...extra,
  };
}

async function install(...webhooks: Webhook[]): Promise<Record<string, unknown>> {
  const reply = await api("POST", CONFIGS, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "test" },
    webhooks,
  });
  expect(reply.status).toBe(201);
  return reply.body;
}

function pool(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      virtualMachineTemplate: {
        metadata: { labels: { app: name } },
        spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
      },
    },
  };
}

const requests = () => hook.received.map((r) => r.review.request);

describe("ValidatingWebhookConfiguration on the embedded server", () => {
  it("is stored with kube's v1 defaults", async () => {
    const stored = await install(webhook({ clientConfig: { service: { namespace: "ns", name: "svc" } } }));
    const [w] = stored.webhooks as Webhook[];
    expect(w).toMatchObject({
      failurePolicy: "Fail",
      matchPolicy: "Equivalent",
      namespaceSelector: {},
      objectSelector: {},
      timeoutSeconds: 10,
      clientConfig: { service: { namespace: "ns", name: "svc", port: 443 } },
      rules: [{ scope: "*" }],
    });
    const listed = await api("GET", CONFIGS);
    expect((listed.body.items as unknown[]).length).toBe(1);
  });

  it.each([
    // timeoutSeconds above kube's maximum of 30
    [
      { timeoutSeconds: 31 },
      "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds",
    ],
    // v1 has no default for sideEffects
    [
      { sideEffects: undefined },
      "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
    ],
    // Some is a v1beta1 value
    [
      { sideEffects: "Some" },
      'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
    ],
    // webhooks are called over TLS only
    [
      { clientConfig: { url: "http://127.0.0.1:1/x" } },
      "'https' is the only allowed URL scheme; desired format: https://host[/path]",
    ],
    // neither url nor service
    [
      { clientConfig: {} },
      "webhooks[0].clientConfig: Required value: exactly one of url or service is required",
    ],
    // a name kube would not accept
    [
      { name: "short" },
      'webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
    ],
  ])("refuses %j with kube's message", async (extra, message) => {
    const reply = await api("POST", CONFIGS, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "test" },
      webhooks: [webhook(extra)],
    });
    expect(reply.status).toBe(422);
    expect(reply.body.message).toContain(message);
  });
});

describe("calling webhooks on writes", () => {
  it("sends the AdmissionReview v1 kube-apiserver sends, with the defaulted object, before storing", async () => {
    await install(webhook({ timeoutSeconds: 3 }));
    const created = await api("POST", `${POOLS}?fieldManager=test-manager`, pool("p1", { team: "a" }));
    expect(created.status).toBe(201);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.query).toBe("timeout=3s");
    const request = requests()[0] as Record<string, unknown>;
    expect(request).toMatchObject({
      kind: { group: "pool.kubevirt.io", version: "v1beta1", kind: "VirtualMachinePool" },
      resource: { group: "pool.kubevirt.io", version: "v1beta1", resource: "virtualmachinepools" },
      requestKind: { group: "pool.kubevirt.io", version: "v1beta1", kind: "VirtualMachinePool" },
      requestResource: { group: "pool.kubevirt.io", version: "v1beta1", resource: "virtualmachinepools" },
      name: "p1",
      namespace: "default",
      operation: "CREATE",
      userInfo: { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1", fieldManager: "test-manager" },
    });
    expect(request.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(request).not.toHaveProperty("subResource");
    const object = request.object as { metadata: Record<string, unknown> };
    expect(object.metadata).toMatchObject({
      name: "p1",
      namespace: "default",
      generation: 1,
      labels: { team: "a" },
    });
    expect(object.metadata.resourceVersion).toBeUndefined();
    // The stored object is the one reviewed: same uid and creation time.
    const stored = created.body.metadata as Record<string, unknown>;
    expect([stored.uid, stored.creationTimestamp]).toEqual([
      object.metadata.uid,
      object.metadata.creationTimestamp,
    ]);

    const update = await api(
      "PATCH",
      `${POOLS}/p1`,
      { metadata: { labels: { team: "b" } } },
      "application/merge-patch+json",
    );
    expect(update.status).toBe(200);
    const updated = requests()[1] as unknown as {
      operation: string;
      options: unknown;
      object: { metadata: { labels: unknown } };
      oldObject: { metadata: { labels: unknown } };
    };
    expect(updated.operation).toBe("UPDATE");
    expect(updated.options).toEqual({ kind: "UpdateOptions", apiVersion: "meta.k8s.io/v1" });
    expect(updated.object.metadata.labels).toEqual({ team: "b" });
    expect(updated.oldObject.metadata.labels).toEqual({ team: "a" });

    const deleted = await api("DELETE", `${POOLS}/p1`);
    expect(deleted.status).toBe(200);
    expect(requests()[2]).toMatchObject({
      operation: "DELETE",
      object: null,
      oldObject: { metadata: { name: "p1" } },
      options: { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1" },
    });
  });

  it("sends a server-side apply that creates as a CREATE, and stores the object it reviewed", async () => {
    await install(webhook());
    const applied = await api(
      "PATCH",
      `${POOLS}/p2?fieldManager=applier`,
      JSON.stringify(pool("p2")),
      "application/apply-patch+yaml",
    );
    expect(applied.status).toBe(201);
    const request = requests()[0] as unknown as {
      operation: string;
      options: unknown;
      object: { metadata: { uid: string } };
    };
    expect(request.operation).toBe("CREATE");
    expect(request.options).toEqual({
      kind: "CreateOptions",
      apiVersion: "meta.k8s.io/v1",
      fieldManager: "applier",
    });
    expect((applied.body.metadata as { uid: string }).uid).toBe(request.object.metadata.uid);
    await api(
      "PATCH",
      `${POOLS}/p2?fieldManager=applier`,
      JSON.stringify(pool("p2", { a: "b" })),
      "application/apply-patch+yaml",
    );
    expect(requests()[1]).toMatchObject({
      operation: "UPDATE",
      options: { kind: "UpdateOptions", fieldManager: "applier" },
    });
  });

  it("sends /scale writes as the Scale with subResource scale, and /status only to rules that list it", async () => {
    await api("POST", POOLS, pool("p1"));
    await install(webhook());
    const scaled = await api(
      "PATCH",
      `${POOLS}/p1/scale`,
      { spec: { replicas: 4 } },
      "application/merge-patch+json",
    );
    expect(scaled.status).toBe(200);
    expect(requests()[0]).toMatchObject({
      operation: "UPDATE",
      kind: { group: "autoscaling", version: "v1", kind: "Scale" },
      resource: { group: "pool.kubevirt.io", resource: "virtualmachinepools" },
      subResource: "scale",
      requestSubResource: "scale",
      object: { kind: "Scale", spec: { replicas: 4 } },
      oldObject: { kind: "Scale", spec: { replicas: 1 } },
    });
    const status = await api(
      "PATCH",
      `${POOLS}/p1/status`,
      { status: { replicas: 1 } },
      "application/merge-patch+json",
    );
    expect(status.status).toBe(200);
    expect(hook.received).toHaveLength(1);
    await api("DELETE", `${CONFIGS}/test`);
    await install(
      webhook({
        rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["UPDATE"], resources: ["*/status"] }],
      }),
    );
    await api("PATCH", `${POOLS}/p1/status`, { status: { replicas: 2 } }, "application/merge-patch+json");
    expect(requests()[1]).toMatchObject({ subResource: "status", object: { status: { replicas: 2 } } });
    // `*/status` does not match the main resource.
    await api("PATCH", `${POOLS}/p1`, { metadata: { labels: { x: "y" } } }, "application/merge-patch+json");
    expect(hook.received).toHaveLength(2);
  });

  it.each([
    // an operation the rule does not list
    [{ operations: ["UPDATE"] }, false],
    // another group
    [{ apiGroups: ["kubevirt.io"] }, false],
    // Cluster scope never matches a namespaced object
    [{ scope: "Cluster" }, false],
    // Namespaced scope does
    [{ scope: "Namespaced" }, true],
    // every resource, but not its subresources
    [{ resources: ["*"] }, true],
    // only the scale subresource
    [{ resources: ["virtualmachinepools/scale"] }, false],
  ])("rule %j matches a create: %s", async (override, called) => {
    const base = {
      apiGroups: ["pool.kubevirt.io"],
      apiVersions: ["*"],
      operations: ["CREATE"],
      resources: ["virtualmachinepools"],
    };
    await install(webhook({ rules: [{ ...base, ...override }] }));
    expect((await api("POST", POOLS, pool("p1"))).status).toBe(201);
    expect(hook.received.length).toBe(called ? 1 : 0);
  });

  it("matchPolicy Equivalent calls a rule for another served version with the object converted; Exact does not", async () => {
    const rules = [
      {
        apiGroups: ["pool.kubevirt.io"],
        apiVersions: ["v1alpha1"],
        operations: ["CREATE"],
        resources: ["virtualmachinepools"],
      },
    ];
    await install(webhook({ rules }));
    await api("POST", POOLS, pool("p1"));
    expect(requests()[0]).toMatchObject({
      kind: { version: "v1alpha1", kind: "VirtualMachinePool" },
      resource: { version: "v1alpha1" },
      requestKind: { version: "v1beta1" },
      requestResource: { version: "v1beta1" },
      object: { apiVersion: "pool.kubevirt.io/v1alpha1" },
    });
    await api("DELETE", `${CONFIGS}/test`);
    await install(webhook({ rules, matchPolicy: "Exact" }));
    await api("POST", POOLS, pool("p2"));
    expect(hook.received).toHaveLength(1);
  });

  it("honours namespaceSelector (the namespace's labels) and objectSelector (new or old labels)", async () => {
    await install(
      webhook({
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["default"] }],
        },
      }),
    );
    await api("POST", POOLS, pool("p1"));
    expect(hook.received).toHaveLength(0);
    await api("DELETE", `${CONFIGS}/test`);
    await install(webhook({ objectSelector: { matchLabels: { watched: "yes" } } }));
    await api("POST", POOLS, pool("p2"));
    expect(hook.received).toHaveLength(0);
    await api("POST", POOLS, pool("p3", { watched: "yes" }));
    expect(hook.received).toHaveLength(1);
    // Removing the label still calls: the old object matches.
    await api(
      "PATCH",
      `${POOLS}/p3`,
      { metadata: { labels: { watched: null } } },
      "application/merge-patch+json",
    );
    expect(hook.received).toHaveLength(2);
    await api(
      "PATCH",
      `${POOLS}/p3`,
      { metadata: { labels: { other: "1" } } },
      "application/merge-patch+json",
    );
    expect(hook.received).toHaveLength(2);
  });

  it("refuses a denied write with the webhook's status and message, and stores nothing", async () => {
    hook.answer = () => ({
      kind: "deny",
      status: { code: 403, reason: "Forbidden", message: "pools are frozen" },
    });
    await install(webhook());
    const reply = await api("POST", POOLS, pool("p1"));
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Forbidden",
      code: 403,
      message: 'admission webhook "pools.test.vmpool-functions.io" denied the request: pools are frozen',
    });
    expect((await api("GET", `${POOLS}/p1`)).status).toBe(404);
    // No message and no code: 400 "without explanation".
    hook.answer = () => ({ kind: "deny", status: {} });
    const bare = await api("POST", POOLS, pool("p1"));
    expect(bare.status).toBe(400);
    expect(bare.body.message).toBe(
      'admission webhook "pools.test.vmpool-functions.io" denied the request without explanation',
    );
  });

  it("passes the webhook's warnings on as Warning headers", async () => {
    hook.answer = () => ({ kind: "allow", warnings: ["pool p1 looks odd"] });
    await install(webhook());
    const reply = await api("POST", POOLS, pool("p1"));
    expect(reply.status).toBe(201);
    expect(reply.headers.get("warning")).toBe('299 - "pool p1 looks odd"');
  });

  it("failurePolicy Fail: an unreachable webhook refuses the write with kube-apiserver's 500; Ignore lets it through", async () => {
    const closed = await startTestWebhook();
    const url = closed.url;
    const port = new URL(url).port;
    await closed.close();
    await install(webhook({ failurePolicy: "Fail", timeoutSeconds: 1 }, url));
    const reply = await api("POST", POOLS, pool("p1"));
    expect(reply.status).toBe(500);
    const message = `failed calling webhook "pools.test.vmpool-functions.io": failed to call webhook: Post "${url}?timeout=1s": dial tcp 127.0.0.1:${port}: connect: connection refused`;
    expect(reply.body).toMatchObject({
      reason: "InternalError",
      code: 500,
      message: `Internal error occurred: ${message}`,
      details: { causes: [{ message }] },
    });
    expect((await api("GET", `${POOLS}/p1`)).status).toBe(404);
    await api("DELETE", `${CONFIGS}/test`);
    await install(webhook({ failurePolicy: "Ignore", timeoutSeconds: 1 }, url));
    expect((await api("POST", POOLS, pool("p1"))).status).toBe(201);
  });

  it.each([
    // an HTTP error without a Status body
    [
      { kind: "http", code: 500, body: "boom" },
      'failed to call webhook: an error on the server ("boom") has prevented the request from succeeding',
    ],
    // the answer names another request
    [
      {
        kind: "raw",
        body: () => ({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid: "other", allowed: true },
        }),
      },
      'received invalid webhook response: expected response.uid="',
    ],
    // a validating webhook may not patch
    [
      {
        kind: "raw",
        body: (uid: string) => ({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid, allowed: true, patch: "W10=" },
        }),
      },
      "received invalid webhook response: validating webhook may not return response.patch",
    ],
    // no response at all
    [
      { kind: "raw", body: () => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }) },
      "received invalid webhook response: webhook response was absent",
    ],
  ] as const)(
    "a webhook answering %j fails the call (Fail: 500, Ignore: allowed)",
    async (answer, reason) => {
      hook.answer = () => answer;
      await install(webhook({ failurePolicy: "Fail" }));
      const refused = await api("POST", POOLS, pool("p1"));
      expect(refused.status).toBe(500);
      expect(refused.body.message).toContain(
        `Internal error occurred: failed calling webhook "pools.test.vmpool-functions.io": ${reason}`,
      );
      await api("DELETE", `${CONFIGS}/test`);
      await install(webhook({ failurePolicy: "Ignore" }));
      expect((await api("POST", POOLS, pool("p1"))).status).toBe(201);
    },
  );

  it("a webhook that never answers costs its timeoutSeconds and blocks nothing else", async () => {
    hook.answer = () => ({ kind: "hang" });
    await install(webhook({ failurePolicy: "Fail", timeoutSeconds: 1 }));
    let written = false;
    const write = api("POST", POOLS, pool("p1")).finally(() => {
      written = true;
    });
    await eventually(() => (hook.received.length === 1 ? true : undefined), 2000, "the webhook called");
    // Other requests are served while the write waits for its webhook.
    expect((await api("GET", POOLS)).status).toBe(200);
    expect(
      (await api("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "c1" } })).status,
    ).toBe(201);
    expect(written).toBe(false);
    const reply = await write;
    expect(reply.status).toBe(500);
    expect(reply.body.message).toMatch(
      /failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/validate\?timeout=1s": context deadline exceeded$/,
    );
    await api("DELETE", "/api/v1/namespaces/default/configmaps/c1");
    await api("DELETE", `${CONFIGS}/test`);
    await install(webhook({ failurePolicy: "Ignore", timeoutSeconds: 1 }));
    expect((await api("POST", POOLS, pool("p1"))).status).toBe(201);
  });

  it("trusts only the caBundle: a certificate of another CA fails the call", async () => {
    await install(webhook({ failurePolicy: "Fail" }, hook.url, other.caBundle));
    const reply = await api("POST", POOLS, pool("p1"));
    expect(reply.status).toBe(500);
    expect(reply.body.message).toContain(
      "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    );
    expect(hook.received).toHaveLength(0);
  });

  it("calls clientConfig.service at 127.0.0.1:<port><path>, verifying the certificate for <name>.<namespace>.svc", async () => {
    const port = Number(new URL(hook.url).port);
    await install(
      webhook({
        failurePolicy: "Fail",
        clientConfig: {
          service: { namespace: "hooks", name: "pools", port, path: "/validate" },
          caBundle: hook.caBundle,
        },
      }),
    );
    const reply = await api("POST", POOLS, pool("p1"));
    expect(reply.status).toBe(500);
    // The test webhook's certificate names localhost and 127.0.0.1 only, as a Service's name would not be.
    expect(reply.body.message).toBe(
      `Internal error occurred: failed calling webhook "pools.test.vmpool-functions.io": failed to call webhook: Post "https://127.0.0.1:${port}/validate?timeout=10s": tls: failed to verify certificate: x509: certificate is valid for localhost, not pools.hooks.svc`,
    );
  });

  it("calls the webhooks of a dry run with dryRun true and stores nothing", async () => {
    await install(webhook({ sideEffects: "NoneOnDryRun" }));
    const reply = await api("POST", `${POOLS}?dryRun=All`, pool("p1"));
    expect(reply.status).toBe(201);
    expect(requests()[0]).toMatchObject({ dryRun: true, options: { dryRun: ["All"] } });
    expect((await api("GET", `${POOLS}/p1`)).status).toBe(404);
  });

  it("refuses a dry run a webhook with side effects would see (a configuration from before v1)", async () => {
    // v1 validation refuses sideEffects Some, so the stored object is written below the API, as a v1beta1 one was.
    cluster.store.put("validatingwebhookconfigurations.admissionregistration.k8s.io", {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "test", uid: "u", resourceVersion: "", creationTimestamp: "2026-01-01T00:00:00Z" },
      webhooks: [{ ...webhook(), sideEffects: "Some" }],
    });
    const dispatcher = new WebhookDispatcher(cluster.store);
    expect(dispatcher.mayCall(poolsDef(), "v1beta1", "", "CREATE", "default")).toBe(true);
    const reply = await api("POST", `${POOLS}?dryRun=All`, pool("p1"));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      reason: "BadRequest",
      message: 'admission webhook "pools.test.vmpool-functions.io" does not support dry run',
    });
    expect(hook.received).toHaveLength(0);
    // A real write still reaches it.
    expect((await api("POST", POOLS, pool("p1"))).status).toBe(201);
    expect(hook.received).toHaveLength(1);
    dispatcher.close();
  });

  it("never sends writes of webhook configurations themselves", async () => {
    await install(
      webhook({ rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }] }),
    );
    const patched = await api(
      "PATCH",
      `${CONFIGS}/test`,
      { metadata: { labels: { a: "b" } } },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
    expect(hook.received).toHaveLength(0);
  });
});

describe("the embedded simulator's writes", () => {
  let withSimulator: LocalCluster;
  beforeAll(async () => {
    withSimulator = await startLocalCluster({ port: 0, simulator: { startDelayMs: 10, stepDelayMs: 10 } });
  });
  afterAll(async () => {
    await withSimulator?.close();
  });

  it("go through the webhooks too, as KubeVirt's service account (VMI status updates included)", async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${withSimulator.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    await post(CONFIGS, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "vmis" },
      webhooks: [
        webhook({
          name: "vmis.test.vmpool-functions.io",
          failurePolicy: "Ignore",
          rules: [
            {
              apiGroups: ["kubevirt.io"],
              apiVersions: ["*"],
              operations: ["CREATE", "UPDATE"],
              resources: ["virtualmachineinstances"],
            },
          ],
        }),
      ],
    });
    const vm = await post("/apis/kubevirt.io/v1/namespaces/default/virtualmachines", {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm1" },
      spec: { runStrategy: "Always", template: { spec: { domain: { devices: {} } } } },
    });
    expect(vm.status).toBe(201);
    const running = await eventually(
      () =>
        requests().find(
          (r) =>
            (r.object as { status?: { phase?: string } } | null)?.status?.phase === "Running" &&
            r.operation === "UPDATE",
        ),
      10_000,
      "a VMI status update reaching the webhook",
    );
    expect(running).toMatchObject({
      name: "vm1",
      userInfo: { username: "system:serviceaccount:kubevirt:kubevirt-handler" },
      resource: { resource: "virtualmachineinstances" },
    });
    expect(requests().some((r) => r.operation === "CREATE" && r.name === "vm1")).toBe(true);
  });
});

function poolsDef(): ResourceDef {
  const def = RESOURCES.find((r) => r.plural === "virtualmachinepools");
  if (!def) throw new Error("no virtualmachinepools resource");
  return def;
}
