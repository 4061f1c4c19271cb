/**
 * Fuzzing the local API server's decoding and patch paths (fast-check, fixed seed, a few seconds): raw requests
 * over node:http to creates, updates, every patch type (merge, JSON, strategic merge, server-side apply in JSON and
 * YAML), status and scale subresources, with random and adversarial bodies — any JSON, nesting up to 20,000 deep,
 * JSON patches with odd pointers, YAML alias bombs, protobuf garbage, invalid UTF-8, 4 MB bodies, claimed
 * encodings — and random query parameters (dryRun, fieldManager, fieldValidation, force). Properties: never a 5xx;
 * nothing stored when a request is refused or is a dry run; memory bounded; still healthy after.
 *
 * A longer campaign: FUZZ_RUNS=2000 FUZZ_SEED=<n> npx vitest run <this file>.
 */
import { request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import { collectGarbage, heapInUse } from "../support/function-server";

const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const NS = "fuzz";

interface Reply {
  readonly status: number;
  readonly body: string;
}

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

const VM = {
  apiVersion: "kubevirt.io/v1",
  kind: "VirtualMachine",
  metadata: { name: "vm-a", namespace: NS, labels: { app: "a" } },
  spec: {
    runStrategy: "Halted",
    template: { metadata: { labels: { app: "a" } }, spec: { domain: { devices: {} } } },
  },
};
const POOL = {
  apiVersion: "pool.kubevirt.io/v1beta1",
  kind: "VirtualMachinePool",
  metadata: { name: "pool-a", namespace: NS },
  spec: {
    replicas: 1,
    paused: true,
    selector: { matchLabels: { pool: "a" } },
    virtualMachineTemplate: {
      metadata: { labels: { pool: "a" } },
      spec: {
        runStrategy: "Halted",
        template: { metadata: { labels: { pool: "a" } }, spec: { domain: {} } },
      },
    },
  },
};
const HPA = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "hpa-a", namespace: NS },
  spec: {
    scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1beta1", kind: "VirtualMachinePool", name: "pool-a" },
    minReplicas: 1,
    maxReplicas: 3,
    metrics: [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
      },
    ],
  },
};

/** Collections (POST) and items (PUT, PATCH) with their subresources; the items exist before the run. */
const COLLECTIONS = [
  "/api/v1/namespaces",
  `/api/v1/namespaces/${NS}/services`,
  `/api/v1/namespaces/${NS}/events`,
  `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`,
  `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools`,
  `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`,
  `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachineinstancereplicasets`,
];
const ITEMS = [
  `/api/v1/namespaces/${NS}`,
  `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines/vm-a`,
  `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines/vm-a/status`,
  `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools/pool-a`,
  `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools/pool-a/status`,
  `/apis/pool.kubevirt.io/v1beta1/namespaces/${NS}/virtualmachinepools/pool-a/scale`,
  `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/hpa-a`,
  `/apis/autoscaling/v1/namespaces/${NS}/horizontalpodautoscalers/hpa-a/status`,
];
const PATCH_TYPES = [
  "application/merge-patch+json",
  "application/json-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
  "application/apply-patch+cbor",
  "application/json",
  "text/plain",
];
const BODY_TYPES = [
  "application/json",
  "application/yaml",
  "application/vnd.kubernetes.protobuf",
  "text/plain",
];

const nested = (depth: number, open: string, close: string, leaf = "1") =>
  `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;

/** Bodies: real objects with one part replaced, random JSON, and the adversarial shapes listed above. */
const bodyArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(VM, POOL, HPA),
      fc.constantFrom("metadata", "spec", "status", "kind", "apiVersion"),
      fc.jsonValue(),
    )
    .map(([base, key, value]) => Buffer.from(JSON.stringify({ ...base, [key]: value }))),
  fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .array(
      fc.record({
        op: fc.constantFrom("add", "remove", "replace", "move", "copy", "test", "bogus"),
        path: fc.constantFrom(
          "/spec/replicas",
          "/metadata/labels/x",
          "/metadata/~1",
          "/-",
          "",
          "/spec/0",
          "/a/b/c/d",
          "/metadata/name",
          "/metadata/resourceVersion",
        ),
        from: fc.constantFrom("/metadata", "/spec", "/nope"),
        value: fc.jsonValue({ maxDepth: 3 }),
      }),
      { maxLength: 6 },
    )
    .map((ops) => Buffer.from(JSON.stringify(ops))),
  fc.integer({ min: 900, max: 20_000 }).map((d) => Buffer.from(nested(d, "[", "]"))),
  fc
    .integer({ min: 900, max: 20_000 })
    .map((d) => Buffer.from(`{"metadata":{"labels":${nested(d, '{"a":', "}")}}}`)),
  fc.constant(
    Buffer.from(
      [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        ...Array.from(
          { length: 9 },
          (_, i) =>
            `${"bcdefghij"[i]}: &${"bcdefghij"[i]} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`,
        ),
      ].join("\n"),
    ),
  ),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.constant(
    Buffer.concat([
      Buffer.from('{"metadata":{"name":"'),
      Buffer.from([0xff, 0xfe, 0xc0]),
      Buffer.from('"}}'),
    ]),
  ),
  fc.constant(Buffer.from(`{"metadata":{"name":"x","labels":{"a":"${"z".repeat(4 * 1024 * 1024)}"}}}`)),
  fc.constant(Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')),
);

const queryArb = fc
  .record(
    {
      dryRun: fc.constantFrom("All", "bogus", ""),
      fieldManager: fc.oneof(fc.constantFrom("kubectl", "", "x".repeat(200)), fc.string({ maxLength: 20 })),
      fieldValidation: fc.constantFrom("Strict", "Warn", "Ignore", "bogus"),
      force: fc.constantFrom("true", "false", "maybe"),
    },
    { requiredKeys: [] },
  )
  .map((q) => new URLSearchParams(q as Record<string, string>).toString());

/** Plausible writes, so that the campaign also reaches past the decoders into storage. */
const plausibleArb = fc.oneof(
  fc.record({
    method: fc.constant("PATCH"),
    path: fc.constantFrom(ITEMS[1] as string, ITEMS[3] as string, ITEMS[6] as string),
    type: fc.constantFrom("application/merge-patch+json", "application/strategic-merge-patch+json"),
    body: fc
      .dictionary(
        fc.oneof(fc.constantFrom("app", "tier", "a/b", "x.io/y"), fc.string({ maxLength: 70 })),
        fc.string({ maxLength: 70 }),
        { maxKeys: 3 },
      )
      .map((labels) => Buffer.from(JSON.stringify({ metadata: { labels } }))),
    query: fc.constantFrom("", "dryRun=All", "fieldManager=fuzz"),
    encoding: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constant("PATCH"),
    path: fc.constant(ITEMS[5] as string),
    type: fc.constant("application/merge-patch+json"),
    body: fc
      .oneof(fc.integer({ min: -3, max: 5 }), fc.jsonValue({ maxDepth: 1 }))
      .map((r) => Buffer.from(JSON.stringify({ spec: { replicas: r } }))),
    query: fc.constantFrom("", "dryRun=All"),
    encoding: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constant("POST"),
    path: fc.constant(COLLECTIONS[0] as string),
    type: fc.constantFrom("application/json", "application/yaml"),
    body: fc
      .oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.string({ maxLength: 70 }))
      .map((name) =>
        Buffer.from(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
      ),
    query: fc.constantFrom("", "dryRun=All", "fieldValidation=Strict"),
    encoding: fc.constant(undefined),
  }),
);

/** Reads with random selectors, paging and versions (list decoding: label and field selectors, continue tokens). */
const readArb = fc.record({
  method: fc.constant("GET"),
  path: fc.constantFrom(...COLLECTIONS, ...ITEMS),
  type: fc.constant("application/json"),
  body: fc.constant(Buffer.alloc(0)),
  query: fc
    .record(
      {
        labelSelector: fc.oneof(
          fc.constantFrom("app in (a,b)", "!x", "a=b,c!=d", "a in (", "x notin ()"),
          fc.string(),
        ),
        fieldSelector: fc.oneof(
          fc.constantFrom("metadata.name=vm-a", "status.phase!=Running", "spec.x=1"),
          fc.string(),
        ),
        limit: fc.oneof(fc.integer({ min: -5, max: 1000 }).map(String), fc.string({ maxLength: 5 })),
        continue: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 40 })),
        resourceVersion: fc.oneof(fc.constantFrom("0", "1", "-1", "abc"), fc.string({ maxLength: 5 })),
        resourceVersionMatch: fc.constantFrom("NotOlderThan", "Exact", "bogus"),
      },
      { requiredKeys: [] },
    )
    .map((q) => new URLSearchParams(q as Record<string, string>).toString()),
  encoding: fc.constant(undefined),
});

const requestArb = fc.oneof(
  plausibleArb,
  readArb,
  fc.record({
    method: fc.constant("POST"),
    path: fc.constantFrom(...COLLECTIONS),
    type: fc.constantFrom(...BODY_TYPES),
    body: bodyArb,
    query: queryArb,
    encoding: fc.constantFrom(undefined, "gzip", "br", "identity"),
  }),
  fc.record({
    method: fc.constantFrom("PUT", "PATCH"),
    path: fc.constantFrom(...ITEMS),
    type: fc.constantFrom(...PATCH_TYPES, ...BODY_TYPES),
    body: bodyArb,
    query: queryArb,
    encoding: fc.constantFrom(undefined, "gzip"),
  }),
);

/**
 * The 5xx answers kube-apiserver itself gives here, which the embedded server copies on purpose (the differential
 * suite holds the two servers to the same answer): a server-side apply with a field the schema does not declare is
 * a 500 without a reason (kubernetes#122480, case `apply-strict-unknown`), and a read at a resourceVersion newer
 * than the store's is a 504 `ResourceVersionTooLarge` after a short wait. Any other 5xx fails the property.
 */
function upstream5xx(type: string, reply: Reply): boolean {
  if (reply.status < 500) return false;
  const status = JSON.parse(reply.body) as {
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string }[] };
  };
  if (reply.status === 504) return status.details?.causes?.[0]?.reason === "ResourceVersionTooLarge";
  if (reply.status !== 500 || !type.startsWith("application/apply-patch")) return false;
  return !status.reason && /^failed to create typed patch object \(/.test(status.message ?? "");
}

describe("local API server fuzzing: decoding and patch paths", () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster({ port: 0, simulator: false });
    const json = { "content-type": "application/json" };
    const create = async (path: string, obj: unknown) => {
      const res = await send(cluster.url, "POST", path, json, Buffer.from(JSON.stringify(obj)));
      if (res.status !== 201) throw new Error(`seeding ${path}: ${res.status} ${res.body}`);
    };
    await create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await create(COLLECTIONS[3] as string, VM);
    await create(COLLECTIONS[4] as string, POOL);
    await create(COLLECTIONS[5] as string, HPA);
  });
  afterAll(() => cluster?.close());

  it("never answers 5xx, stores nothing when it refuses or dry-runs, and keeps memory bounded", async () => {
    const statuses = new Map<number, number>();
    collectGarbage();
    const heapBefore = heapInUse();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const before = cluster.store.currentResourceVersion();
        const headers: Record<string, string> = { "content-type": r.type, accept: "application/json" };
        if (r.encoding) headers["content-encoding"] = r.encoding;
        const reply = await send(cluster.url, r.method, `${r.path}?${r.query}`, headers, r.body);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (!upstream5xx(r.type, reply)) {
          expect(reply.status, `${r.method} ${r.path} ${r.type}: ${reply.body.slice(0, 300)}`).toBeLessThan(
            500,
          );
        }
        const after = cluster.store.currentResourceVersion();
        if (reply.status >= 400 || /(^|&)dryRun=All(&|$)/.test(r.query)) {
          expect(after, `${r.method} ${r.path} ${reply.status} wrote`).toBe(before);
        }
        if (reply.status >= 400) {
          const status = JSON.parse(reply.body) as { kind?: string; code?: number; message?: string };
          expect(status).toMatchObject({ kind: "Status", code: reply.status });
          expect(status.message?.length ?? 0).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The campaign reached past the decoders: some requests were accepted, and each kind of refusal was seen.
    const accepted = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    expect(accepted).toBeGreaterThan(0);
    for (const code of [400, 413, 415])
      expect(statuses.get(code) ?? 0, `no ${code} in ${[...statuses]}`).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    collectGarbage();
    expect(heapInUse() - heapBefore).toBeLessThan(200 * 1024 * 1024);
    expect((await send(cluster.url, "GET", "/readyz", {})).status).toBe(200);
  }, 240_000);
});
