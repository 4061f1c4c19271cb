/**
 * The pure pieces behind the local cluster's fidelity fixes: built-in printers for Node, ConfigMap, Secret and
 * the workload kinds (Kubernetes printers.go), unknown-field pruning per schema (typed decoding for built-ins,
 * apiextensions pruning for CRDs), ObjectMeta's omitempty, and the duplicate-key scan.
 */
import { describe, expect, it } from "vitest";
import { duplicateFields, goFormat } from "../../infra/local/fieldvalidation";
import { RESOURCES, type ResourceDef } from "../../infra/local/resources";
import { normalizeObjectMeta, pruneUnknownFields } from "../../infra/local/schema";
import { columnDefinitions, tableFor } from "../../infra/local/tables";

type Obj = Record<string, unknown>;

const NOW = new Date("2024-06-01T12:00:00Z");
const meta = (name: string, extra: Obj = {}): Obj => ({
  name,
  creationTimestamp: "2024-06-01T11:58:30Z",
  ...extra,
});

function def(kind: string): ResourceDef {
  const found = RESOURCES.find((r) => r.kind === kind);
  if (found === undefined) throw new Error(`no resource ${kind}`);
  return found;
}

function cells(kind: string, obj: Obj): unknown[] {
  const table = tableFor(def(kind), [obj], {
    includeObject: "None",
    now: NOW,
    withColumnDefinitions: true,
    listMetadata: { resourceVersion: "1" },
  });
  return ((table.rows as Obj[])[0]?.cells as unknown[]) ?? [];
}

const names = (kind: string) =>
  columnDefinitions(def(kind)).map((c) => (c.priority > 0 ? `${c.name}*` : c.name));

const template = {
  spec: {
    containers: [
      { name: "web", image: "nginx:1" },
      { name: "log", image: "busybox" },
    ],
  },
};

describe("built-in printers", () => {
  it.each([
    [
      "Node",
      [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "Internal-IP*",
        "External-IP*",
        "OS-Image*",
        "Kernel-Version*",
        "Container-Runtime*",
      ],
    ],
    ["ConfigMap", ["Name", "Data", "Age"]],
    ["Secret", ["Name", "Type", "Data", "Age"]],
    [
      "Deployment",
      ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers*", "Images*", "Selector*"],
    ],
    ["ReplicaSet", ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"]],
    [
      "ReplicationController",
      ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"],
    ],
    [
      "DaemonSet",
      [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
        "Containers*",
        "Images*",
        "Selector*",
      ],
    ],
  ])("%s columns", (kind, expected) => {
    expect(names(kind)).toEqual(expected);
  });

  it.each<[string, Obj, unknown[]]>([
    // ready, two roles (sorted), addresses and node info
    [
      "ready node",
      {
        metadata: meta("n1", {
          labels: { "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge" },
        }),
        status: {
          conditions: [
            { type: "MemoryPressure", status: "False" },
            { type: "Ready", status: "True" },
          ],
          addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
          nodeInfo: {
            kubeletVersion: "v1.34.0",
            osImage: "Linux",
            kernelVersion: "6.1",
            containerRuntimeVersion: "containerd://2",
          },
        },
      },
      [
        "n1",
        "Ready",
        "edge,worker",
        "90s",
        "v1.34.0",
        "10.0.0.1",
        "<none>",
        "Linux",
        "6.1",
        "containerd://2",
      ],
    ],
    // not ready and cordoned, nothing reported
    [
      "cordoned node",
      {
        metadata: meta("n2"),
        spec: { unschedulable: true },
        status: { conditions: [{ type: "Ready", status: "Unknown" }] },
      },
      [
        "n2",
        "NotReady,SchedulingDisabled",
        "<none>",
        "90s",
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
      ],
    ],
    // a node that never reported
    [
      "new node",
      { metadata: meta("n3") },
      ["n3", "Unknown", "<none>", "90s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"],
    ],
  ])("Node: %s", (_, obj, expected) => {
    expect(cells("Node", obj)).toEqual(expected);
  });

  it("ConfigMap counts data and binaryData; Secret shows its type and data count", () => {
    expect(cells("ConfigMap", { metadata: meta("c"), data: { a: "1" }, binaryData: { b: "AA==" } })).toEqual([
      "c",
      2,
      "90s",
    ]);
    expect(cells("Secret", { metadata: meta("s"), type: "Opaque", data: { a: "MQ==" } })).toEqual([
      "s",
      "Opaque",
      1,
      "90s",
    ]);
  });

  it("workloads show replica counts, containers, images and selectors", () => {
    const selector = {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }],
    };
    expect(
      cells("Deployment", {
        metadata: meta("d"),
        spec: { replicas: 3, selector, template },
        status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      }),
    ).toEqual(["d", "2/3", 3, 2, "90s", "web,log", "nginx:1,busybox", "app=web,tier in (a,b)"]);
    expect(
      cells("ReplicaSet", {
        metadata: meta("r"),
        spec: { replicas: 2, selector, template },
        status: { replicas: 2, readyReplicas: 1 },
      }),
    ).toEqual(["r", 2, 2, 1, "90s", "web,log", "nginx:1,busybox", "app=web,tier in (a,b)"]);
    expect(
      cells("ReplicationController", {
        metadata: meta("rc"),
        spec: { replicas: 1, selector: { app: "web" }, template },
      }),
    ).toEqual(["rc", 1, 0, 0, "90s", "web,log", "nginx:1,busybox", "app=web"]);
    expect(
      cells("DaemonSet", {
        metadata: meta("ds"),
        spec: {
          selector,
          template: { spec: { ...template.spec, nodeSelector: { "kubernetes.io/os": "linux" } } },
        },
        status: {
          desiredNumberScheduled: 2,
          currentNumberScheduled: 2,
          numberReady: 1,
          updatedNumberScheduled: 2,
          numberAvailable: 1,
        },
      }),
    ).toEqual([
      "ds",
      2,
      2,
      1,
      2,
      1,
      "kubernetes.io/os=linux",
      "90s",
      "web,log",
      "nginx:1,busybox",
      "app=web,tier in (a,b)",
    ]);
  });
});

describe("pruneUnknownFields", () => {
  it("drops a built-in kind's unknown fields at every described level, in document order", () => {
    const lease: Obj = {
      zz: 1,
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: "l",
        bogus: true,
        ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "n", uid: "u", extra: 1 }],
      },
      spec: { holderIdentity: "a", nope: 2 },
    };
    expect(pruneUnknownFields(def("Lease"), "v1", lease)).toEqual([
      "zz",
      "metadata.bogus",
      "metadata.ownerReferences[0].extra",
      "spec.nope",
    ]);
    expect(lease).toEqual({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l", ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "n", uid: "u" }] },
      spec: { holderIdentity: "a" },
    });
  });

  it("keeps what a schema leaves open (container specs, annotations' values)", () => {
    const pod: Obj = {
      metadata: { name: "p", annotations: { "x/y": "z" } },
      spec: { containers: [{ name: "c", image: "i", anything: { deep: true } }] },
    };
    expect(pruneUnknownFields(def("Pod"), "v1", pod)).toEqual([]);
    expect(pod).toEqual({
      metadata: { name: "p", annotations: { "x/y": "z" } },
      spec: { containers: [{ name: "c", image: "i", anything: { deep: true } }] },
    });
  });

  it("reports a CRD's metadata fields first, then the rest sorted, and drops nulls the schema does not allow", () => {
    const vm: Obj = {
      b: 1,
      a: 2,
      metadata: { name: "v", zeta: 1 },
      spec: { anything: { kept: true } },
      status: null,
    };
    expect(pruneUnknownFields(def("VirtualMachine"), "v1", vm)).toEqual(["metadata.zeta", "a", "b"]);
    // spec keeps unknown fields (x-kubernetes-preserve-unknown-fields); a null status is not allowed, so it goes
    expect(vm).toEqual({ metadata: { name: "v" }, spec: { anything: { kept: true } } });
  });

  it("never mistakes Object.prototype members for declared fields", () => {
    const obj: Obj = { metadata: { name: "x", constructor: 1 }, spec: { toString: 2 } };
    expect(pruneUnknownFields(def("Lease"), "v1", obj)).toEqual(["metadata.constructor", "spec.toString"]);
  });
});

describe("normalizeObjectMeta", () => {
  it("omits empty values as ObjectMeta's omitempty tags do, keeping a zero grace period", () => {
    expect(
      normalizeObjectMeta({
        name: "x",
        generateName: "",
        labels: {},
        annotations: {},
        finalizers: [],
        ownerReferences: [],
        creationTimestamp: null,
        deletionGracePeriodSeconds: 0,
        generation: 0,
      }),
    ).toEqual({ name: "x", deletionGracePeriodSeconds: 0 });
    const untouched = { name: "x", labels: { a: "b" } };
    expect(normalizeObjectMeta(untouched)).toBe(untouched);
  });
});

describe("duplicateFields", () => {
  it.each<[string, string[]]>([
    ['{"a":1,"b":2}', []],
    ['{"a":1,"a":2}', ["a"]],
    ['{"spec":{"x":1,"y":{"z":[1,{"k":1,"k":2}]},"x":3}}', ["spec.y.z[1].k", "spec.x"]],
    // escaped keys are compared decoded; strings with braces are not structure
    ['{"a\\u0062":1,"ab":2,"s":"{\\"q\\":1,\\"q\\":2}"}', ["ab"]],
    ['[{"n":1,"n":1},{"n":2}]', ["[0].n"]],
  ])("%s", (text, expected) => {
    expect(duplicateFields(text)).toEqual(expected);
  });
});

describe("goFormat", () => {
  it("prints a decoded patch as Go prints a map[string]interface{}", () => {
    expect(goFormat({ spec: { b: [1, "x"], a: null }, metadata: { labels: { k: "v" } } })).toBe(
      "map[metadata:map[labels:map[k:v]] spec:map[a:<nil> b:[1 x]]]",
    );
  });
});
