import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../infra/local/errors";
import {
  acceptedPatchTypes,
  applyJsonPatch,
  applyMergePatch,
  applyServerSideApply,
  applyStrategicMergePatch,
  MAX_JSON_PATCH_OPERATIONS,
  PATCH_TYPES,
  parseApplyBody,
  parsePatchBody,
  recordUpdateManager,
  resolvePatchType,
} from "../../infra/local/patch";

type Obj = Record<string, unknown>;

function apiErrorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError, but the call succeeded");
}

/** A deep copy of `base` with `edit` applied, for building expected objects from a fixture. */
function edited<T>(base: T, edit: (draft: T) => void): T {
  const draft = structuredClone(base);
  edit(draft);
  return draft;
}

const CR_415 =
  "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

describe("patch media types", () => {
  it.each([
    // CRs: apiextensions customresource_handler.go, no strategic merge
    [false, [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.applyYaml]],
    // built-ins: apiserver installer.go order, strategic merge before apply
    [true, [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.applyYaml]],
  ])("builtin=%s accepts %j", (builtin, expected) => {
    expect(acceptedPatchTypes(builtin)).toEqual(expected);
  });

  it.each([
    // plain media type
    ["application/merge-patch+json", false, PATCH_TYPES.merge],
    // parameters are dropped like handlers/patch.go does
    ["application/json-patch+json; charset=utf-8", false, PATCH_TYPES.json],
    // built-ins take kubectl patch's default
    ["application/strategic-merge-patch+json", true, PATCH_TYPES.strategic],
    // apply
    ["application/apply-patch+yaml", false, PATCH_TYPES.applyYaml],
  ])("resolves %s (builtin=%s)", (contentType, builtin, expected) => {
    expect(resolvePatchType(contentType, builtin)).toBe(expected);
  });

  it.each([
    // kubectl patch's default type on a CR: the exact Status kubectl prints (fidelity §3.4)
    ["application/strategic-merge-patch+json"],
    // CBOR apply is behind an alpha gate upstream
    ["application/apply-patch+cbor"],
    // a plain JSON body is not a patch
    ["application/json"],
    // no Content-Type at all
    [undefined],
  ])("answers 415 for %s on a CR", (contentType) => {
    const err = apiErrorOf(() => resolvePatchType(contentType, false));
    expect(err.toStatus()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: CR_415,
      reason: "UnsupportedMediaType",
      code: 415,
    });
  });
});

describe("parsePatchBody", () => {
  it.each([
    // merge patch body
    [PATCH_TYPES.merge, '{"spec":{"replicas":3}}', { spec: { replicas: 3 } }],
    // JSON patch body stays an array; applyJsonPatch validates it
    [PATCH_TYPES.json, '[{"op":"remove","path":"/spec"}]', [{ op: "remove", path: "/spec" }]],
    // apply body as YAML (client-node and hand-written clients)
    [
      PATCH_TYPES.applyYaml,
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n",
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "foo" },
      },
    ],
    // apply body as JSON (what kubectl apply --server-side sends)
    [
      PATCH_TYPES.applyYaml,
      '{"apiVersion":"v1","kind":"Namespace"}',
      { apiVersion: "v1", kind: "Namespace" },
    ],
  ])("parses %s", (contentType, text, expected) => {
    expect(parsePatchBody(contentType, text)).toEqual(expected);
  });

  it.each([
    // truncated JSON: apiserver's validateAndTranscodePatch message
    [PATCH_TYPES.merge, '{"spec":', "invalid JSON patch"],
    // empty body
    [PATCH_TYPES.strategic, "", "invalid JSON patch"],
    // broken YAML
    [PATCH_TYPES.applyYaml, "spec: [1\n", /^error encoding patch: /],
    // two documents in one apply body
    [PATCH_TYPES.applyYaml, "a: 1\n---\nb: 2\n", /^error encoding patch: /],
    // duplicate keys are rejected outright, as upstream
    [PATCH_TYPES.applyYaml, "a: 1\na: 2\n", /^error encoding patch: /],
    // a YAML list is not an object
    [
      PATCH_TYPES.applyYaml,
      "- a\n- b\n",
      "error decoding patch: an apply patch must be a YAML or JSON object, got array",
    ],
    // an empty apply body
    [
      PATCH_TYPES.applyYaml,
      "",
      "error decoding patch: an apply patch must be a YAML or JSON object, got null",
    ],
  ])("rejects a malformed %s body with 400", (contentType, text, message) => {
    const err = apiErrorOf(() => parsePatchBody(contentType, text));
    expect([err.code, err.reason]).toEqual([400, "BadRequest"]);
    expect(err.message).toMatch(message);
  });

  it("answers 415 before parsing when the endpoint does not take the type", () => {
    expect(apiErrorOf(() => parsePatchBody(PATCH_TYPES.strategic, "{", false)).code).toBe(415);
  });
});

describe("parseApplyBody", () => {
  it.each([
    // YAML 1.1 booleans, as go-yaml v2 behind sigs.k8s.io/yaml reads them
    ["paused: yes\nrunning: off\n", { paused: true, running: false }],
    // timestamps stay strings (go-yaml v2 keeps them as strings in interface{})
    ["at: 2025-01-02T03:04:05Z\n", { at: "2025-01-02T03:04:05Z" }],
    // numbers and quoted numbers
    ["replicas: 3\nport: '8080'\n", { replicas: 3, port: "8080" }],
    // null
    ["selector: ~\n", { selector: null }],
  ])("parses %j", (text, expected) => {
    expect(parseApplyBody(text)).toEqual(expected);
  });
});

describe("applyMergePatch (RFC 7386)", () => {
  it.each([
    // RFC 7386 appendix A: replace a member
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    // add a member
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    // null deletes
    [{ a: "b" }, { a: null }, {}],
    // null deletes only its member
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    // a scalar replaces an array
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    // an array replaces a scalar
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    // nested merge with nested delete
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    // arrays are replaced, never merged
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    // array target, array patch
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    // a non-object patch replaces the whole target
    [{ a: "b" }, ["c"], ["c"]],
    // a null patch replaces the whole target
    [{ a: "foo" }, null, null],
    // a string patch replaces the whole target
    [{ a: "foo" }, "bar", "bar"],
    // nulls already in the target are untouched
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    // an object patch on an array target starts from {} and drops its nulls
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    // nulls inside a new subtree are dropped
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("%j + %j = %j", (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it("keeps a __proto__ key an ordinary field", () => {
    const patch = JSON.parse('{"metadata":{"__proto__":{"polluted":true}}}') as Obj;
    const result = applyMergePatch({ metadata: {} }, patch) as { metadata: Obj };
    expect(Object.hasOwn(result.metadata, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(result.metadata)).toBe(Object.prototype);
  });

  it("is idempotent and never mutates its inputs", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (target, patch) => {
        const targetBefore = structuredClone(target);
        const patchBefore = structuredClone(patch);
        const once = applyMergePatch(target, patch);
        expect(applyMergePatch(once, patch)).toEqual(once);
        expect(target).toEqual(targetBefore);
        expect(patch).toEqual(patchBefore);
      }),
    );
  });

  it("shares no structure with the patch", () => {
    const patch = { spec: { template: { a: 1 } } };
    const result = applyMergePatch({}, patch) as { spec: { template: { a: number } } };
    result.spec.template.a = 2;
    expect(patch.spec.template.a).toBe(1);
  });
});

describe("applyJsonPatch (RFC 6902)", () => {
  const target = { group: "pool.kubevirt.io", kind: "VirtualMachinePool", name: "pool" };
  const pool = {
    apiVersion: "pool.kubevirt.io/v1alpha1",
    kind: "VirtualMachinePool",
    metadata: { name: "pool", labels: { app: "web" } as Obj },
    spec: { replicas: 2 } as Obj,
    status: { conditions: [{ type: "Ready", status: "True" }] as Obj[] },
  };
  type Pool = typeof pool;

  it.each<[string, unknown[], (p: Pool) => void]>([
    // add a new member
    [
      "add",
      [{ op: "add", path: "/spec/paused", value: true }],
      (p) => {
        p.spec.paused = true;
      },
    ],
    // "-" appends to an array
    [
      "add -",
      [{ op: "add", path: "/status/conditions/-", value: { type: "Synced" } }],
      (p) => {
        p.status.conditions.push({ type: "Synced" });
      },
    ],
    // an index inserts before the element there
    [
      "add at index",
      [{ op: "add", path: "/status/conditions/0", value: { type: "First" } }],
      (p) => {
        p.status.conditions.unshift({ type: "First" });
      },
    ],
    // remove a member
    [
      "remove",
      [{ op: "remove", path: "/metadata/labels/app" }],
      (p) => {
        delete p.metadata.labels.app;
      },
    ],
    // replace a value (kubectl scale via client-node's default patch type)
    [
      "replace",
      [{ op: "replace", path: "/spec/replicas", value: 5 }],
      (p) => {
        p.spec.replicas = 5;
      },
    ],
    // move a member
    [
      "move",
      [{ op: "move", from: "/metadata/labels/app", path: "/metadata/labels/tier" }],
      (p) => {
        p.metadata.labels = { tier: "web" };
      },
    ],
    // copy a member
    [
      "copy",
      [{ op: "copy", from: "/spec/replicas", path: "/spec/minReplicas" }],
      (p) => {
        p.spec.minReplicas = 2;
      },
    ],
    // a passing test guards the following replace (optimistic update)
    [
      "test then replace",
      [
        { op: "test", path: "/spec/replicas", value: 2 },
        { op: "replace", path: "/spec/replicas", value: 3 },
      ],
      (p) => {
        p.spec.replicas = 3;
      },
    ],
    // "~1" escapes "/" in a key (annotation names)
    [
      "escaped key",
      [
        { op: "add", path: "/metadata/annotations", value: {} },
        { op: "add", path: "/metadata/annotations/kubevirt.io~1flavor", value: "small" },
      ],
      (p) => {
        (p.metadata as Obj).annotations = { "kubevirt.io/flavor": "small" };
      },
    ],
  ])("%s", (_name, ops, edit) => {
    expect(applyJsonPatch(pool, ops, target)).toEqual(edited(pool, edit));
  });

  it.each([
    // the body is an object, not an operation list
    [{ op: "add" }, "error decoding patch: a JSON patch must be an array of operations, got object"],
    // an element that is not an object
    [["add"], "error decoding patch: operation 0: Operation is not an object"],
    // an op RFC 6902 does not define
    [[{ op: "frobnicate", path: "/spec" }], 'error decoding patch: operation 0: unknown op "frobnicate"'],
    // fast-json-patch's private _get is not RFC 6902 either
    [[{ op: "_get", path: "/spec" }], 'error decoding patch: operation 0: unknown op "_get"'],
    // path missing
    [
      [{ op: "replace", value: 1 }],
      "error decoding patch: operation 0: Operation `path` property is not a string",
    ],
    // path not a JSON pointer
    [
      [{ op: "remove", path: "spec" }],
      'error decoding patch: operation 0: Operation `path` property must start with "/"',
    ],
    // add without value (reported at its index)
    [
      [
        { op: "test", path: "/spec", value: {} },
        { op: "add", path: "/spec/x" },
      ],
      "error decoding patch: operation 1: Operation `value` property is not present (applicable in `add`, `replace` and `test` operations)",
    ],
    // move without from
    [
      [{ op: "move", path: "/spec/x" }],
      "error decoding patch: operation 0: Operation `from` property is not present (applicable in `move` and `copy` operations)",
    ],
  ])("rejects malformed patch %j with 400", (ops, message) => {
    const err = apiErrorOf(() => applyJsonPatch(pool, ops, target));
    expect([err.code, err.reason, err.message]).toEqual([400, "BadRequest", message]);
  });

  it.each([
    // remove a path that does not exist
    [[{ op: "remove", path: "/spec/paused" }]],
    // replace a path that does not exist
    [[{ op: "replace", path: "/spec/missing", value: 1 }]],
    // add under a parent that does not exist
    [[{ op: "add", path: "/spec/template/metadata", value: {} }]],
    // a failing test
    [[{ op: "test", path: "/spec/replicas", value: 3 }]],
    // a test on a missing path
    [[{ op: "test", path: "/spec/paused", value: false }]],
    // move from a path that does not exist
    [[{ op: "move", from: "/spec/nope", path: "/spec/x" }]],
    // add into a scalar
    [[{ op: "add", path: "/spec/replicas/x", value: 1 }]],
    // an array index past the end
    [[{ op: "add", path: "/status/conditions/5", value: {} }]],
    // a later op fails after earlier ones applied: nothing is kept
    [
      [
        { op: "replace", path: "/spec/replicas", value: 9 },
        { op: "remove", path: "/nope" },
      ],
    ],
  ])("answers 422 with kube's generic Status when %j cannot be applied", (ops) => {
    const err = apiErrorOf(() => applyJsonPatch(pool, ops, target));
    expect(err.toStatus()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "the server rejected our request due to an error in our request",
      reason: "Invalid",
      details: {},
      code: 422,
    });
    expect(pool.spec.replicas).toBe(2);
  });

  it("answers 413 above 10000 operations and accepts exactly 10000", () => {
    const op = { op: "test", path: "/spec/replicas", value: 2 };
    const err = apiErrorOf(() =>
      applyJsonPatch(
        pool,
        Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => op),
        target,
      ),
    );
    expect([err.code, err.reason, err.message]).toEqual([
      413,
      "RequestEntityTooLarge",
      "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
    ]);
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS }, () => op);
    expect(applyJsonPatch(pool, ops, target)).toEqual(pool);
  });

  it("mutates neither the target nor the operations", () => {
    const before = structuredClone(pool);
    const ops = [
      { op: "add", path: "/spec/template", value: { labels: { a: "1" } } },
      { op: "replace", path: "/spec/template/labels/a", value: "2" },
    ];
    const opsBefore = structuredClone(ops);
    const result = applyJsonPatch(pool, ops, target) as { spec: { template: unknown } };
    expect(result.spec.template).toEqual({ labels: { a: "2" } });
    expect(pool).toEqual(before);
    expect(ops).toEqual(opsBefore);
  });
});

describe("applyStrategicMergePatch", () => {
  const hpa = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", labels: { a: "1", b: "2" } as Obj, finalizers: ["x", "y"] },
    spec: {
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [{ type: "Resource", resource: { name: "cpu" } }] as Obj[],
    },
    status: {
      conditions: [
        { type: "AbleToScale", status: "True" },
        { type: "ScalingActive", status: "False", reason: "Off" },
      ] as Obj[],
    },
  };
  const [able, active] = hpa.status.conditions;

  it.each<[string, Obj, (h: typeof hpa) => void]>([
    // merge-patch semantics for maps: null deletes, scalars replace
    [
      "maps merge",
      { metadata: { labels: { a: null, c: "3" } }, spec: { maxReplicas: 7 } },
      (h) => {
        h.metadata.labels = { b: "2", c: "3" };
        h.spec.maxReplicas = 7;
      },
    ],
    // spec.metrics has no patch strategy: replaced whole
    [
      "atomic list replaced",
      { spec: { metrics: [{ type: "Pods" }] } },
      (h) => {
        h.spec.metrics = [{ type: "Pods" }];
      },
    ],
    // status.conditions merges by type; null deletes inside the item; live order kept
    [
      "keyed item merged",
      { status: { conditions: [{ type: "ScalingActive", status: "True", reason: null }] } },
      (h) => {
        h.status.conditions = [able as Obj, { type: "ScalingActive", status: "True" }];
      },
    ],
    // without $setElementOrder kube puts items new to the list ahead of live-only ones
    [
      "keyed item added",
      { status: { conditions: [{ type: "ScalingLimited", status: "False" }] } },
      (h) => {
        h.status.conditions = [{ type: "ScalingLimited", status: "False" }, able as Obj, active as Obj];
      },
    ],
    // $setElementOrder (what kubectl sends) places the new item last
    [
      "keyed item added in order",
      {
        status: {
          "$setElementOrder/conditions": [
            { type: "AbleToScale" },
            { type: "ScalingActive" },
            { type: "ScalingLimited" },
          ],
          conditions: [{ type: "ScalingLimited", status: "False" }],
        },
      },
      (h) => {
        h.status.conditions.push({ type: "ScalingLimited", status: "False" });
      },
    ],
    // $patch: delete removes the item with that key
    [
      "keyed item deleted",
      { status: { conditions: [{ type: "AbleToScale", $patch: "delete" }] } },
      (h) => {
        h.status.conditions = [active as Obj];
      },
    ],
    // $patch: replace in a list replaces it with the other items
    [
      "keyed list replaced",
      { status: { conditions: [{ $patch: "replace" }, { type: "New", status: "True" }] } },
      (h) => {
        h.status.conditions = [{ type: "New", status: "True" }];
      },
    ],
    // $patch: replace in a map replaces the map
    [
      "map replaced",
      { metadata: { labels: { $patch: "replace", z: "9" } } },
      (h) => {
        h.metadata.labels = { z: "9" };
      },
    ],
    // $patch: delete in a map leaves an empty map, as kube's mergeMap returns
    [
      "map deleted",
      { metadata: { labels: { $patch: "delete" } } },
      (h) => {
        h.metadata.labels = {};
      },
    ],
    // $patch: merge is the documented default
    [
      "explicit merge",
      { metadata: { labels: { $patch: "merge", c: "3" } } },
      (h) => {
        h.metadata.labels.c = "3";
      },
    ],
    // $retainKeys clears every field not listed
    [
      "retainKeys",
      { spec: { $retainKeys: ["maxReplicas", "metrics"], maxReplicas: 9 } },
      (h) => {
        h.spec = { maxReplicas: 9, metrics: h.spec.metrics } as typeof h.spec;
      },
    ],
    // finalizers is a set-like list: union, patch order first without $setElementOrder
    [
      "finalizers union",
      { metadata: { finalizers: ["z", "x"] } },
      (h) => {
        h.metadata.finalizers = ["z", "x", "y"];
      },
    ],
    // kubectl's ordered form of the same addition
    [
      "finalizers in order",
      { metadata: { "$setElementOrder/finalizers": ["x", "y", "z"], finalizers: ["z"] } },
      (h) => {
        h.metadata.finalizers = ["x", "y", "z"];
      },
    ],
    // $deleteFromPrimitiveList removes values from a set-like list
    [
      "deleteFromPrimitiveList",
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["x", "absent"] } },
      (h) => {
        h.metadata.finalizers = ["y"];
      },
    ],
    // add and delete in one patch, as kubectl computes it
    [
      "add and delete",
      {
        metadata: {
          "$deleteFromPrimitiveList/finalizers": ["x"],
          "$setElementOrder/finalizers": ["y", "w"],
          finalizers: ["w"],
        },
      },
      (h) => {
        h.metadata.finalizers = ["y", "w"];
      },
    ],
    // ownerReferences merge by uid on every kind
    [
      "ownerReferences",
      {
        metadata: { ownerReferences: [{ uid: "u1", kind: "VirtualMachinePool", name: "pool" }] },
      },
      (h) => {
        (h.metadata as Obj).ownerReferences = [{ uid: "u1", kind: "VirtualMachinePool", name: "pool" }];
      },
    ],
  ])("HPA: %s", (_name, patch, edit) => {
    expect(applyStrategicMergePatch(hpa, patch, "HorizontalPodAutoscaler")).toEqual(edited(hpa, edit));
  });

  it.each<[string, string, Obj, Obj, Obj]>([
    // containers merge by name, env inside merges by name
    [
      "Pod containers and env",
      "Pod",
      {
        spec: {
          containers: [
            {
              name: "app",
              image: "app:1",
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
              ],
            },
            { name: "side", image: "side:1" },
          ],
        },
      },
      { spec: { containers: [{ name: "app", image: "app:2", env: [{ name: "B", value: "3" }] }] } },
      {
        spec: {
          containers: [
            {
              name: "app",
              image: "app:2",
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "3" },
              ],
            },
            { name: "side", image: "side:1" },
          ],
        },
      },
    ],
    // upstream strategicpatch vector "set elements order in a list with server-only items 2"
    [
      "Pod $setElementOrder with server-only items",
      "Pod",
      {
        spec: {
          containers: [
            { name: "c1", other: "a" },
            { name: "c2", v: 2 },
            { name: "c9" },
            { name: "c3", v: 3 },
            { name: "c4", v: 4 },
          ],
        },
      },
      {
        spec: {
          "$setElementOrder/containers": [{ name: "c2" }, { name: "c1" }, { name: "c4" }, { name: "c3" }],
        },
      },
      {
        spec: {
          containers: [
            { name: "c2", v: 2 },
            { name: "c1", other: "a" },
            { name: "c9" },
            { name: "c4", v: 4 },
            { name: "c3", v: 3 },
          ],
        },
      },
    ],
    // upstream vector "… server-only items": the server-only item goes last
    [
      "Pod $setElementOrder with a trailing server-only item",
      "Pod",
      {
        spec: {
          containers: [
            { name: "c1", other: "a" },
            { name: "c3" },
            { name: "c4" },
            { name: "c2" },
            { name: "c9" },
          ],
        },
      },
      {
        spec: {
          "$setElementOrder/containers": [{ name: "c4" }, { name: "c2" }, { name: "c3" }, { name: "c1" }],
        },
      },
      {
        spec: {
          containers: [
            { name: "c4" },
            { name: "c2" },
            { name: "c3" },
            { name: "c1", other: "a" },
            { name: "c9" },
          ],
        },
      },
    ],
    // Service ports merge by port
    [
      "Service ports",
      "Service",
      {
        spec: {
          ports: [
            { port: 80, name: "http" },
            { port: 443, name: "https" },
          ],
        },
      },
      { spec: { ports: [{ port: 80, targetPort: 8080 }] } },
      {
        spec: {
          ports: [
            { port: 80, name: "http", targetPort: 8080 },
            { port: 443, name: "https" },
          ],
        },
      },
    ],
    // Namespace conditions merge by type
    [
      "Namespace conditions",
      "Namespace",
      { status: { phase: "Active", conditions: [{ type: "A", status: "False" }] } },
      { status: { conditions: [{ type: "A", status: "True" }] } },
      { status: { phase: "Active", conditions: [{ type: "A", status: "True" }] } },
    ],
    // Endpoints subsets have no patch strategy: replaced
    [
      "Endpoints subsets",
      "Endpoints",
      { subsets: [{ addresses: [{ ip: "10.0.0.1" }] }] },
      { subsets: [{ addresses: [{ ip: "10.0.0.2" }] }] },
      { subsets: [{ addresses: [{ ip: "10.0.0.2" }] }] },
    ],
    // Event: plain merge semantics
    [
      "Event count",
      "Event",
      { count: 1, reason: "Scaled", series: { count: 1 } },
      { count: 2, series: { lastObservedTime: "t" } },
      { count: 2, reason: "Scaled", series: { count: 1, lastObservedTime: "t" } },
    ],
    // a list absent from the target is added without its directives
    [
      "new keyed list",
      "Namespace",
      { metadata: { name: "ns" } },
      {
        status: {
          conditions: [
            { type: "A", status: "True" },
            { type: "B", $patch: "delete" },
          ],
        },
      },
      { metadata: { name: "ns" }, status: { conditions: [{ type: "A", status: "True" }] } },
    ],
  ])("%s", (_name, kind, target, patch, expected) => {
    expect(applyStrategicMergePatch(target, patch, kind)).toEqual(expected);
  });

  it.each<[string, string, unknown, string | RegExp]>([
    // CRs never take strategic merge (apimachinery ErrUnsupportedStrategicMergePatchFormat)
    ["CR kind", "VirtualMachinePool", { spec: {} }, "strategic merge patch format is not supported"],
    // the patch must be an object
    ["array patch", "HorizontalPodAutoscaler", [1], "invalid JSON document"],
    // an unknown $ key
    [
      "unknown directive",
      "HorizontalPodAutoscaler",
      { spec: { $foo: 1 } },
      'unknown strategic merge patch directive "$foo"',
    ],
    // an unknown $patch value in a map
    [
      "unknown $patch",
      "HorizontalPodAutoscaler",
      { spec: { $patch: "bogus" } },
      /^unknown patch type: bogus in map: /,
    ],
    // $patch: merge inside a list is unsupported upstream
    [
      "list $patch merge",
      "HorizontalPodAutoscaler",
      { status: { conditions: [{ $patch: "merge" }] } },
      "merging lists cannot yet be specified in the patch",
    ],
    // an item without the merge key
    [
      "missing merge key",
      "HorizontalPodAutoscaler",
      { status: { conditions: [{ status: "True" }] } },
      /does not contain declared merge key: type$/,
    ],
    // a delete item without the merge key
    [
      "delete without key",
      "HorizontalPodAutoscaler",
      { status: { conditions: [{ $patch: "delete" }] } },
      /does not contain declared merge key: type$/,
    ],
    // $retainKeys must list every field the patch sets
    [
      "retainKeys incomplete",
      "HorizontalPodAutoscaler",
      { spec: { $retainKeys: ["minReplicas"], maxReplicas: 2 } },
      "invalid patch format of retainKeys",
    ],
    // $retainKeys must be a list
    [
      "retainKeys not a list",
      "HorizontalPodAutoscaler",
      { spec: { $retainKeys: "minReplicas" } },
      "invalid patch format of retainKeys",
    ],
    // $setElementOrder must be a list
    [
      "setElementOrder not a list",
      "HorizontalPodAutoscaler",
      { status: { "$setElementOrder/conditions": {} } },
      "invalid patch format of setElementOrder list",
    ],
    // $setElementOrder needs a list name
    [
      "setElementOrder without a list",
      "HorizontalPodAutoscaler",
      { status: { $setElementOrder: [] } },
      "invalid patch format of setElementOrder list",
    ],
    // patch items out of the directive's order
    [
      "setElementOrder mismatch",
      "HorizontalPodAutoscaler",
      {
        status: {
          "$setElementOrder/conditions": [{ type: "A" }, { type: "B" }],
          conditions: [{ type: "B" }, { type: "A" }],
        },
      },
      /doesn't match \$setElementOrder list/,
    ],
    // $deleteFromPrimitiveList must be a list
    [
      "deleteFromPrimitiveList not a list",
      "HorizontalPodAutoscaler",
      { metadata: { "$deleteFromPrimitiveList/finalizers": "x" } },
      "invalid patch format of primitive list",
    ],
    // a set-like list takes scalars only
    [
      "object in finalizers",
      "HorizontalPodAutoscaler",
      { metadata: { finalizers: [{ a: 1 }] } },
      "invalid patch format of primitive list",
    ],
  ])("rejects %s with 400", (_name, kind, patch, message) => {
    const err = apiErrorOf(() => applyStrategicMergePatch(hpa, patch, kind));
    expect([err.code, err.reason]).toEqual([400, "BadRequest"]);
    expect(err.message).toMatch(message);
  });

  it("mutates neither target nor patch", () => {
    const before = structuredClone(hpa);
    const patch = {
      metadata: { labels: { $patch: "replace", z: "1" }, "$deleteFromPrimitiveList/finalizers": ["x"] },
      status: {
        conditions: [
          { type: "AbleToScale", $patch: "delete" },
          { type: "ScalingActive", status: "True" },
        ],
      },
    };
    const patchBefore = structuredClone(patch);
    const result = applyStrategicMergePatch(hpa, patch, "HorizontalPodAutoscaler") as typeof hpa;
    (result.status.conditions[0] as Obj).status = "Changed";
    expect(hpa).toEqual(before);
    expect(patch).toEqual(patchBefore);
  });
});

describe("applyServerSideApply", () => {
  const API = "pool.kubevirt.io/v1alpha1";
  const T0 = "2025-01-02T03:04:05Z";
  const T1 = "2025-01-02T04:00:00Z";
  const T2 = "2025-01-02T05:00:00Z";
  /** A pool manifest; `labels: null` leaves labels out of the configuration. */
  const pool = (spec: Obj, labels: Obj | null = { app: "web" }): Obj => ({
    apiVersion: API,
    kind: "VirtualMachinePool",
    metadata: { name: "pool", namespace: "default", ...(labels === null ? {} : { labels }) },
    spec,
  });
  const opts = (manager: string, now: string, force = false) => ({ manager, force, apiVersion: API, now });
  const managed = (obj: Obj): Obj[] => (obj.metadata as Obj).managedFields as Obj[];
  const created = applyServerSideApply(
    undefined,
    pool({ replicas: 2, paused: false }),
    opts("kubectl", T0),
  ).object;

  it("creates the object and records the applier in FieldsV1", () => {
    expect(created).toEqual({
      ...pool({ replicas: 2, paused: false }),
      metadata: {
        name: "pool",
        namespace: "default",
        labels: { app: "web" },
        managedFields: [
          {
            manager: "kubectl",
            operation: "Apply",
            apiVersion: API,
            time: T0,
            fieldsType: "FieldsV1",
            fieldsV1: {
              "f:metadata": { "f:labels": { "f:app": {} } },
              "f:spec": { "f:paused": {}, "f:replicas": {} },
            },
          },
        ],
      },
    });
    // kube's ManagedFieldsEntry field order
    expect(Object.keys(managed(created)[0] ?? {})).toEqual([
      "manager",
      "operation",
      "apiVersion",
      "time",
      "fieldsType",
      "fieldsV1",
    ]);
  });

  it("updates fields the same manager applies again and stamps the time", () => {
    const { object } = applyServerSideApply(
      created,
      pool({ replicas: 3, paused: false }),
      opts("kubectl", T1),
    );
    expect(object.spec).toEqual({ replicas: 3, paused: false });
    expect(managed(object)).toMatchObject([{ manager: "kubectl", time: T1 }]);
  });

  it("keeps the time when a re-apply changes nothing", () => {
    const { object } = applyServerSideApply(
      created,
      pool({ replicas: 2, paused: false }),
      opts("kubectl", T1),
    );
    expect(object).toEqual(created);
  });

  it("removes fields the same manager applied before and dropped now", () => {
    const { object } = applyServerSideApply(created, pool({ replicas: 2 }, null), opts("kubectl", T1));
    expect(object.spec).toEqual({ replicas: 2 });
    expect((object.metadata as Obj).labels).toBeUndefined();
    expect(managed(object)[0]?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
  });

  it("keeps a dropped field another applier also owns", () => {
    const shared = applyServerSideApply(created, pool({ paused: false }, null), opts("gitops", T1)).object;
    const { object } = applyServerSideApply(shared, pool({ replicas: 2 }), opts("kubectl", T2));
    expect(object.spec).toEqual({ replicas: 2, paused: false });
    expect(managed(object).map((e) => [e.manager, e.fieldsV1])).toEqual([
      ["gitops", { "f:spec": { "f:paused": {} } }],
      ["kubectl", { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } }],
    ]);
  });

  it("shares ownership when another applier applies the same value", () => {
    const { object } = applyServerSideApply(created, pool({ replicas: 2 }, null), opts("gitops", T1));
    expect(object.spec).toEqual({ replicas: 2, paused: false });
    const owners = Object.fromEntries(managed(object).map((e) => [e.manager, e.fieldsV1]));
    expect(owners).toEqual({
      kubectl: {
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": { "f:paused": {}, "f:replicas": {} },
      },
      gitops: { "f:spec": { "f:replicas": {} } },
    });
    // the object did not change, so kube stamps no time on the new co-owner
    expect(managed(object).find((e) => e.manager === "gitops")?.time).toBeUndefined();
  });

  const scaled = recordUpdateManager(
    created,
    { ...created, spec: { replicas: 5, paused: false } },
    "kubectl-client-side-apply",
    "Update",
    API,
    T1,
  );

  it.each<[string, () => Obj, number, string, Obj[]]>([
    // fidelity §3.6's example: an Update manager owns .spec.replicas
    [
      "one Update manager",
      () => applyServerSideApply(scaled, pool({ replicas: 3, paused: false }), opts("kubectl", T2)).object,
      1,
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using pool.kubevirt.io/v1alpha1: .spec.replicas',
      [
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "kubectl-client-side-apply" using pool.kubevirt.io/v1alpha1',
          field: ".spec.replicas",
        },
      ],
    ],
    // another applier: no "using" suffix
    [
      "another applier",
      () => applyServerSideApply(created, pool({ replicas: 7 }, null), opts("gitops", T1)).object,
      1,
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
      [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.replicas" }],
    ],
    // several fields and managers: grouped by sorted manager, one cause per field
    [
      "several managers",
      () => {
        const labelled = recordUpdateManager(
          created,
          pool({ replicas: 2, paused: false }, { app: "db" }),
          "kubectl-label",
          "Update",
          API,
          T1,
        );
        return applyServerSideApply(
          labelled,
          pool({ replicas: 9, paused: true }, { app: "x" }),
          opts("gitops", T2),
        ).object;
      },
      3,
      'Apply failed with 3 conflicts: conflicts with "kubectl":\n- .spec.paused\n- .spec.replicas\nconflicts with "kubectl-label" using pool.kubevirt.io/v1alpha1:\n- .metadata.labels.app',
      [
        { reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.paused" },
        { reason: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.replicas" },
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "kubectl-label" using pool.kubevirt.io/v1alpha1',
          field: ".metadata.labels.app",
        },
      ],
    ],
    // a subresource writer is named with its subresource
    [
      "a /scale writer",
      () => {
        const viaScale = recordUpdateManager(
          created,
          pool({ replicas: 4, paused: false }),
          "vmpool-scaler",
          "Update",
          API,
          T1,
          "scale",
        );
        return applyServerSideApply(viaScale, pool({ replicas: 2, paused: false }), opts("kubectl", T2))
          .object;
      },
      1,
      'Apply failed with 1 conflict: conflict with "vmpool-scaler" with subresource "scale" using pool.kubevirt.io/v1alpha1: .spec.replicas',
      [
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "vmpool-scaler" with subresource "scale" using pool.kubevirt.io/v1alpha1',
          field: ".spec.replicas",
        },
      ],
    ],
    // an applied null clears the field, which still changes another manager's field
    [
      "an applied null",
      () => applyServerSideApply(scaled, pool({ replicas: null, paused: false }), opts("gitops", T2)).object,
      1,
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using pool.kubevirt.io/v1alpha1: .spec.replicas',
      [
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "kubectl-client-side-apply" using pool.kubevirt.io/v1alpha1',
          field: ".spec.replicas",
        },
      ],
    ],
  ])("answers 409 on a conflict with %s", (_name, run, _count, message, causes) => {
    const err = apiErrorOf(run);
    expect(err.toStatus()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason: "Conflict",
      details: { causes },
      code: 409,
    });
  });

  it("takes ownership with force", () => {
    const { object } = applyServerSideApply(
      scaled,
      pool({ replicas: 3, paused: false }),
      opts("kubectl", T2, true),
    );
    expect(object.spec).toEqual({ replicas: 3, paused: false });
    // the Update manager owned nothing else, so its entry is gone
    expect(managed(object).map((e) => [e.manager, e.operation, e.time])).toEqual([["kubectl", "Apply", T2]]);
  });

  it("records keyed lists as k: items and set lists as v: items", () => {
    const hpa = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: {
        name: "web",
        finalizers: ["example.com/guard"],
        ownerReferences: [{ uid: "u1", name: "pool" }],
      },
      status: { conditions: [{ type: "Ready", status: "True" }], currentMetrics: [{ type: "Resource" }] },
    };
    const { object } = applyServerSideApply(undefined, hpa, {
      ...opts("ctl", T0),
      apiVersion: "autoscaling/v2",
    });
    expect(managed(object)[0]?.fieldsV1).toEqual({
      "f:metadata": {
        "f:finalizers": { 'v:"example.com/guard"': {} },
        "f:ownerReferences": { 'k:{"uid":"u1"}': { ".": {}, "f:name": {}, "f:uid": {} } },
      },
      "f:status": {
        "f:conditions": { 'k:{"type":"Ready"}': { ".": {}, "f:status": {}, "f:type": {} } },
        "f:currentMetrics": {},
      },
    });
  });

  it("merges keyed list items, prunes dropped ones and names them in conflicts", () => {
    const hpa = (conditions: Obj[]) => ({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      status: { conditions },
    });
    const hpaOpts = (manager: string, now: string) => ({
      ...opts(manager, now),
      apiVersion: "autoscaling/v2",
    });
    const first = applyServerSideApply(
      undefined,
      hpa([
        { type: "Ready", status: "True" },
        { type: "Synced", status: "True" },
      ]),
      hpaOpts("ctl", T0),
    ).object;
    const other = applyServerSideApply(
      first,
      hpa([{ type: "Extra", status: "False" }]),
      hpaOpts("other", T1),
    ).object;
    expect((other.status as Obj).conditions).toEqual([
      { type: "Ready", status: "True" },
      { type: "Synced", status: "True" },
      { type: "Extra", status: "False" },
    ]);
    const dropped = applyServerSideApply(
      other,
      hpa([{ type: "Ready", status: "True" }]),
      hpaOpts("ctl", T2),
    ).object;
    expect((dropped.status as Obj).conditions).toEqual([
      { type: "Ready", status: "True" },
      { type: "Extra", status: "False" },
    ]);
    const err = apiErrorOf(() =>
      applyServerSideApply(dropped, hpa([{ type: "Ready", status: "False" }]), hpaOpts("other", T2)),
    );
    expect(err.statusDetails?.causes).toEqual([
      {
        reason: "FieldManagerConflict",
        message: 'conflict with "ctl"',
        field: '.status.conditions[type="Ready"].status',
      },
    ]);
  });

  it("keeps a keyed item (and its key) whose other fields another manager still owns", () => {
    const hpa = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    };
    const hpaOpts = { ...opts("a", T1), apiVersion: "autoscaling/v2" };
    const first = applyServerSideApply(undefined, hpa, hpaOpts).object;
    // "b" only adds a reason to the condition, so it owns that field and not the item or its key
    const both = recordUpdateManager(
      first,
      { ...first, status: { conditions: [{ type: "Ready", status: "True", reason: "Fine" }] } },
      "b",
      "Update",
      "autoscaling/v2",
      T1,
    );
    const bare = { apiVersion: hpa.apiVersion, kind: hpa.kind, metadata: { name: "web" } };
    const { object } = applyServerSideApply(both, bare, { ...hpaOpts, now: T2 });
    expect((object.status as Obj).conditions).toEqual([{ type: "Ready", reason: "Fine" }]);
    expect(managed(object).map((e) => [e.manager, e.fieldsV1])).toEqual([
      ["b", { "f:status": { "f:conditions": { 'k:{"type":"Ready"}': { "f:reason": {} } } } }],
    ]);
  });

  it("never owns fields the endpoint resets", () => {
    const applied = { ...pool({ replicas: 2 }), status: { replicas: 9 } };
    const { object } = applyServerSideApply(undefined, applied, {
      ...opts("kubectl", T0),
      ignoredFields: ["status"],
    });
    expect(managed(object)[0]?.fieldsV1).toEqual({
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": { "f:replicas": {} },
    });
  });

  it("applies a YAML body", () => {
    const body = parseApplyBody(
      `apiVersion: ${API}\nkind: VirtualMachinePool\nmetadata:\n  name: pool\n  namespace: default\nspec:\n  replicas: 4\n  paused: no\n`,
    );
    const { object } = applyServerSideApply(created, body, opts("kubectl", T1));
    expect(object.spec).toEqual({ replicas: 4, paused: false });
    expect((object.metadata as Obj).labels).toBeUndefined();
  });

  it.each<[string, Obj, string, number, string]>([
    // the server passes "" when ?fieldManager is missing
    [
      "no fieldManager",
      pool({}),
      "",
      422,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ],
    // apimachinery FieldManagerMaxLength
    [
      "a long fieldManager",
      pool({}),
      "m".repeat(129),
      422,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
    ],
    // an apply body may not carry managedFields
    [
      "managedFields in the body",
      { ...pool({}), metadata: { name: "pool", managedFields: [] } },
      "kubectl",
      400,
      "metadata.managedFields must be nil",
    ],
    // the applied apiVersion must be the endpoint's
    [
      "another version",
      { ...pool({}), apiVersion: "kubevirt.io/v1" },
      "kubectl",
      400,
      "Incorrect version specified in apply patch. Specified patch version: kubevirt.io/v1, expected: pool.kubevirt.io/v1alpha1",
    ],
  ])("rejects %s", (_name, applied, manager, code, message) => {
    const err = apiErrorOf(() => applyServerSideApply(created, applied, opts(manager, T1)));
    expect([err.code, err.message]).toEqual([code, message]);
  });

  it("mutates neither live nor the applied object", () => {
    const liveBefore = structuredClone(scaled);
    const applied = pool({ replicas: 8 }, null);
    const appliedBefore = structuredClone(applied);
    const { object } = applyServerSideApply(scaled, applied, opts("kubectl", T2, true));
    (object.spec as Obj).replicas = 99;
    expect(scaled).toEqual(liveBefore);
    expect(applied).toEqual(appliedBefore);
  });
});

describe("recordUpdateManager", () => {
  const API = "v1";
  const T0 = "2025-01-02T03:04:05Z";
  const T1 = "2025-01-02T04:00:00Z";
  const ns = (labels: Obj, extra: Obj = {}): Obj => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "dev", uid: "u", resourceVersion: "1", labels, ...extra },
    spec: { finalizers: ["kubernetes"] },
  });
  const managed = (obj: Obj): Obj[] | undefined => (obj.metadata as Obj).managedFields as Obj[] | undefined;
  const created = recordUpdateManager(undefined, ns({ team: "a" }), "kubectl-create", "Update", API, T0);

  it("gives a creator every field except the system ones", () => {
    expect(managed(created)).toEqual([
      {
        manager: "kubectl-create",
        operation: "Update",
        apiVersion: "v1",
        time: T0,
        fieldsType: "FieldsV1",
        // maps the write created are owned too ("." marks a member with children)
        fieldsV1: {
          "f:metadata": { "f:labels": { ".": {}, "f:team": {} } },
          "f:spec": { ".": {}, "f:finalizers": {} },
        },
      },
    ]);
  });

  const createdFields = {
    "f:metadata": { "f:labels": { ".": {}, "f:team": {} } },
    "f:spec": { ".": {}, "f:finalizers": {} },
  };
  const createdWithoutTeam = { "f:metadata": { "f:labels": {} }, "f:spec": { ".": {}, "f:finalizers": {} } };

  it.each<[string, Obj, [string, string | undefined, unknown][]]>([
    // a write that changes nothing keeps managedFields as they were
    ["no change", ns({ team: "a" }), [["kubectl-create", T0, createdFields]]],
    // a changed label moves to the writer, an added one is the writer's; the creator keeps the labels map
    // itself
    [
      "changed label",
      ns({ team: "b", tier: "x" }),
      [
        ["kubectl-create", T0, createdWithoutTeam],
        ["kubectl-label", T1, { "f:metadata": { "f:labels": { "f:team": {}, "f:tier": {} } } }],
      ],
    ],
    // a removed label leaves its owner; removing changes nothing the writer could own
    ["removed label", ns({}), [["kubectl-create", T0, createdWithoutTeam]]],
    // an added set-like list is owned as a whole and item by item, as kube records finalizers
    [
      "added finalizer",
      ns({ team: "a" }, { finalizers: ["example.com/x"] }),
      [
        ["kubectl-create", T0, createdFields],
        ["kubectl-label", T1, { "f:metadata": { "f:finalizers": { ".": {}, 'v:"example.com/x"': {} } } }],
      ],
    ],
    // an added keyed list: the status map, the list and each item are owned along with the item's fields
    [
      "added condition",
      { ...ns({ team: "a" }), status: { conditions: [{ type: "A", status: "True" }] } },
      [
        ["kubectl-create", T0, createdFields],
        [
          "kubectl-label",
          T1,
          {
            "f:status": {
              ".": {},
              "f:conditions": { ".": {}, 'k:{"type":"A"}': { ".": {}, "f:status": {}, "f:type": {} } },
            },
          },
        ],
      ],
    ],
    // managedFields: [] in the request resets ownership to this write's changes
    [
      "reset",
      ns({ team: "c" }, { managedFields: [] }),
      [["kubectl-label", T1, { "f:metadata": { "f:labels": { "f:team": {} } } }]],
    ],
  ])("%s", (_name, after, expected) => {
    // the client echoes the live managedFields back unless the row sets its own
    const request = { ...after, metadata: { managedFields: managed(created), ...(after.metadata as Obj) } };
    const result = recordUpdateManager(created, request, "kubectl-label", "Update", API, T1);
    expect(managed(result)?.map((e) => [e.manager, e.time, e.fieldsV1])).toEqual(expected);
  });

  it("keeps live managedFields when the request carries none, and ignores them on a subresource", () => {
    const bare = ns({ team: "a" });
    expect(managed(recordUpdateManager(created, bare, "x", "Update", API, T1))).toEqual(managed(created));
    const forged = ns(
      { team: "a" },
      { managedFields: [{ manager: "forged", operation: "Update", fieldsV1: { "f:a": {} } }] },
    );
    expect(managed(recordUpdateManager(created, forged, "x", "Update", API, T1, "status"))).toEqual(
      managed(created),
    );
  });

  it("mutates neither input", () => {
    const after = ns({ team: "z" });
    const createdBefore = structuredClone(created);
    const afterBefore = structuredClone(after);
    recordUpdateManager(created, after, "x", "Update", API, T1);
    expect(created).toEqual(createdBefore);
    expect(after).toEqual(afterBefore);
  });
});
