/**
 * The admission trigger: which pool a real AdmissionReview (as kube-apiserver 1.34 sends it) belongs to, and the
 * route that always allows at once and asks for a pass of it (in-process, `app.request()`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { admissionRoutes } from "../../functions/admission/routes";
import { createFunctionApp } from "../../functions/app";
import { createRuntime } from "../../functions/bootstrap";
import { createReconcileHandler } from "../../functions/reconcile/handler";
import { settingsFromEnv } from "../../functions/runtime";
import type { Kube } from "../../shared/kube";
import type { PoolRef } from "../../shared/reconcile";
import { admissionReviewSchema, admissionTarget } from "../../shared/trigger";

const FIXTURES = join(import.meta.dirname, "../fixtures/admission");
// biome-ignore lint/suspicious/noExplicitAny: negative cases edit the fixtures' fields by path
const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8"));

const pool = (name: string): PoolRef => ({ kind: "VirtualMachinePool", namespace: "default", name });
const rs = (name: string): PoolRef => ({
  kind: "VirtualMachineInstanceReplicaSet",
  namespace: "default",
  name,
});

describe("admissionTarget", () => {
  it.each([
    // kubectl apply of a new pool
    ["pool-create", { kind: "pool", ref: pool("vm-pool-cirros") }],
    // kubectl scale vmpool: the object is an autoscaling/v1 Scale, the resource names the pool
    ["pool-scale-update", { kind: "pool", ref: pool("vm-pool-cirros") }],
    // kubectl scale vmirs
    ["vmirs-scale-update", { kind: "pool", ref: rs("testreplicaset") }],
    // a pool VM turning Ready (status subresource): its controller owner
    ["vm-status-update", { kind: "pool", ref: pool("vm-pool-cirros") }],
    // a pool VM's VMI: owned by the VM, the pool named by the revision label
    ["vmi-status-update", { kind: "pool", ref: pool("vm-pool-cirros") }],
    // a replica set's VMI deleted: object is null, the owner is in oldObject
    ["vmi-replicaset-delete", { kind: "pool", ref: rs("testreplicaset") }],
    // a VM nobody owns
    ["vm-unowned-update", { kind: "none", reason: "NotOwnedByPool" }],
    // a dry run asks for nothing
    ["pool-scale-dryrun", { kind: "none", reason: "DryRun" }],
  ])("%s", (name, expected) => {
    const review = admissionReviewSchema.parse(fixture(name));
    expect(admissionTarget(review.request)).toEqual(expected);
  });

  it("falls back to reading the VM when a VM-owned VMI carries no revision label", () => {
    const review = fixture("vmi-status-update");
    delete review.request.object.metadata.labels["kubevirt.io/vm-pool-revision-name"];
    delete review.request.oldObject.metadata.labels["kubevirt.io/vm-pool-revision-name"];
    expect(admissionTarget(admissionReviewSchema.parse(review).request)).toEqual({
      kind: "viaVM",
      namespace: "default",
      name: "vm-pool-cirros-0",
    });
  });
});

interface Harness {
  readonly request: (body: unknown) => Promise<Response>;
  readonly triggered: { ref: PoolRef; reason: string }[];
  readonly reconciled: PoolRef[];
}

function harness(options: { vmOwner?: string; triggerDelayMs?: number } = {}): Harness {
  const triggered: { ref: PoolRef; reason: string }[] = [];
  const reconciled: PoolRef[] = [];
  const kube = {
    get: async (_kind: string, namespace: string, name: string) => ({
      metadata: {
        name,
        namespace,
        ownerReferences: options.vmOwner
          ? [
              {
                apiVersion: "pool.kubevirt.io/v1beta1",
                kind: "VirtualMachinePool",
                name: options.vmOwner,
                uid: "u",
                controller: true,
              },
            ]
          : [],
      },
    }),
  } as unknown as Kube;
  const runtime = createRuntime({
    kube,
    secrets: {},
    settings: settingsFromEnv({}),
    devMode: false,
    log: pino({ level: "silent" }),
    requestReconcile: async (ref) => {
      reconciled.push(ref);
    },
    triggerPass: async (ref, reason) => {
      if (options.triggerDelayMs) await new Promise((r) => setTimeout(r, options.triggerDelayMs));
      triggered.push({ ref, reason });
    },
  });
  const app = createFunctionApp(runtime, [admissionRoutes]);
  return {
    triggered,
    reconciled,
    request: async (body) =>
      await app.request("/hooks/admission", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

describe("POST /hooks/admission", () => {
  it("allows with the request's uid and asks for a pass of the owning pool", async () => {
    const h = harness();
    const answer = await h.request(fixture("pool-scale-update"));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "a3c9e1b7-4f20-4d8e-b6a1-0e9d7c5f3b21", allowed: true },
    });
    expect(h.triggered).toEqual([
      {
        ref: pool("vm-pool-cirros"),
        reason: "admission: UPDATE virtualmachinepools/scale default/vm-pool-cirros",
      },
    ]);
    expect(h.reconciled).toEqual([]);
  });

  it("asks for nothing on a dry run, and still allows", async () => {
    const h = harness();
    const answer = await h.request(fixture("pool-scale-dryrun"));
    expect(((await answer.json()) as { response: unknown }).response).toEqual({
      uid: "b9d4e2a6-5c81-4f3e-a0b7-3e6f1d8c2a59",
      allowed: true,
    });
    expect(h.triggered).toEqual([]);
  });

  it("allows objects no pool owns without asking for anything", async () => {
    const h = harness();
    const answer = await h.request(fixture("vm-unowned-update"));
    expect(((await answer.json()) as { response: { allowed: boolean } }).response.allowed).toBe(true);
    expect(h.triggered).toEqual([]);
  });

  it("reads the VM of a VMI that does not name its pool", async () => {
    const h = harness({ vmOwner: "vm-pool-cirros" });
    const review = fixture("vmi-status-update");
    delete review.request.object.metadata.labels["kubevirt.io/vm-pool-revision-name"];
    await h.request(review);
    expect(h.triggered.map((t) => t.ref)).toEqual([pool("vm-pool-cirros")]);
  });

  it("never waits long for the request to be recorded", async () => {
    const h = harness({ triggerDelayMs: 5000 });
    const started = performance.now();
    const answer = await h.request(fixture("pool-create"));
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it.each([
    ["not JSON", "{", 400, "MalformedBody", "AdmissionReview is not valid JSON"],
    [
      "another API version",
      { ...fixture("pool-create"), apiVersion: "admission.k8s.io/v1beta1" },
      400,
      "InvalidBody",
      "apiVersion",
    ],
    [
      "no request",
      { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" },
      400,
      "InvalidBody",
      "request",
    ],
    [
      "no uid",
      (() => {
        const r = fixture("pool-create");
        delete r.request.uid;
        return r;
      })(),
      400,
      "InvalidBody",
      "request.uid",
    ],
    [
      "an unknown operation",
      (() => {
        const r = fixture("pool-create");
        r.request.operation = "PATCH";
        return r;
      })(),
      400,
      "InvalidBody",
      "request.operation",
    ],
    ["an array", [], 400, "InvalidBody", "AdmissionReview"],
  ])("refuses %s with a 400 naming the field", async (_what, body, status, reason, field) => {
    const h = harness();
    const answer = await h.request(body);
    expect(answer.status).toBe(status);
    const error = ((await answer.json()) as { error: { reason: string; message: string } }).error;
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(field);
    expect(h.triggered).toEqual([]);
  });

  it("on Lambda, publishes one per-pool event through the fan-out and answers", async () => {
    const sent: unknown[] = [];
    const runtime = createRuntime({
      kube: {} as Kube,
      secrets: {},
      settings: settingsFromEnv({}),
      devMode: false,
      log: pino({ level: "silent" }),
    });
    const handler = createReconcileHandler(
      () => runtime,
      async (pools) => {
        sent.push(...pools);
        return { sent: pools.length, failed: 0 };
      },
    );
    const body = JSON.stringify(fixture("vm-status-update"));
    const answer = (await handler({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/hooks/admission",
      rawQueryString: "",
      headers: { "content-type": "application/json", host: "example.lambda-url.eu-west-1.on.aws" },
      requestContext: {
        http: {
          method: "POST",
          path: "/hooks/admission",
          protocol: "HTTP/1.1",
          sourceIp: "10.0.0.1",
          userAgent: "kube-apiserver-admission",
        },
        domainName: "example.lambda-url.eu-west-1.on.aws",
        requestId: "r1",
        routeKey: "$default",
        stage: "$default",
        time: "04/Dec/2026:20:05:15 +0000",
        timeEpoch: 1796415915000,
        accountId: "123456789012",
        apiId: "example",
        domainPrefix: "example",
      },
      body,
      isBase64Encoded: false,
    })) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).response).toEqual({
      uid: "e47b2d90-6a1c-4f35-9b8e-2c0d5a7f1e63",
      allowed: true,
    });
    expect(sent).toEqual([pool("vm-pool-cirros")]);
  });

  it("falls back to an unawaited requestReconcile where no trigger is configured", async () => {
    const reconciled: PoolRef[] = [];
    const runtime = createRuntime({
      kube: {} as Kube,
      secrets: {},
      settings: settingsFromEnv({}),
      devMode: false,
      log: pino({ level: "silent" }),
      requestReconcile: async (ref) => {
        reconciled.push(ref);
      },
    });
    const app = createFunctionApp(runtime, [admissionRoutes]);
    const answer = await app.request("/hooks/admission", {
      method: "POST",
      body: JSON.stringify(fixture("vmirs-scale-update")),
    });
    expect(answer.status).toBe(200);
    expect(reconciled).toEqual([rs("testreplicaset")]);
  });
});
