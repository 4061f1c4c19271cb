import { describe, expect, it } from "vitest";
import { ApiError } from "../../infra/local/errors";
import { type PrinterColumn, RESOURCES, type ResourceDef } from "../../infra/local/resources";
import {
  columnDefinitions,
  humanDuration,
  type IncludeObject,
  parseIncludeObject,
  type TableOptions,
  tableFor,
  wantsTable,
} from "../../infra/local/tables";

type Obj = Record<string, unknown>;

const NOW = new Date("2024-06-01T12:00:00Z");
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function def(kind: string): ResourceDef {
  const found = RESOURCES.find((r) => r.kind === kind);
  if (found === undefined) throw new Error(`no resource ${kind}`);
  return found;
}

/** A kind with custom printer columns, to exercise typed cells and the JSONPath evaluator. */
function customDef(printerColumns: readonly PrinterColumn[]): ResourceDef {
  return { ...def("VirtualMachineInstance"), printerColumns };
}

const opts = (overrides: Partial<TableOptions> = {}): TableOptions => ({
  includeObject: "Metadata",
  now: NOW,
  withColumnDefinitions: true,
  listMetadata: { resourceVersion: "42" },
  ...overrides,
});

/** Metadata created 90 seconds before NOW. */
const meta = (name: string, extra: Obj = {}): Obj => ({
  name,
  namespace: "default",
  uid: `uid-${name}`,
  resourceVersion: "7",
  creationTimestamp: "2024-06-01T11:58:30Z",
  ...extra,
});

function rows(kind: string | ResourceDef, objects: Obj[], overrides: Partial<TableOptions> = {}): Obj[] {
  const table = tableFor(typeof kind === "string" ? def(kind) : kind, objects, opts(overrides));
  return table.rows as Obj[];
}

const cellsOf = (kind: string | ResourceDef, obj: Obj): unknown[] => rows(kind, [obj])[0]?.cells as unknown[];

describe("humanDuration", () => {
  it.each<[number, string]>([
    // more than a second in the future is invalid (clock skew tolerance is under 2s)
    [-2 * SECOND, "<invalid>"],
    // up to -1.999s still counts as now
    [-1999, "0s"],
    [-1, "0s"],
    [0, "0s"],
    // seconds below two minutes
    [119 * SECOND, "119s"],
    // minutes with seconds below ten minutes
    [2 * MINUTE, "2m"],
    [2 * MINUTE + 5 * SECOND, "2m5s"],
    [9 * MINUTE + 59 * SECOND, "9m59s"],
    // whole minutes below three hours
    [10 * MINUTE + 30 * SECOND, "10m"],
    [179 * MINUTE, "179m"],
    // hours with minutes below eight hours
    [3 * HOUR, "3h"],
    [3 * HOUR + 7 * MINUTE, "3h7m"],
    // whole hours below two days
    [8 * HOUR + 30 * MINUTE, "8h"],
    [47 * HOUR, "47h"],
    // days with hours below eight days
    [2 * DAY, "2d"],
    [2 * DAY + 5 * HOUR, "2d5h"],
    [7 * DAY + 23 * HOUR, "7d23h"],
    // whole days below two years
    [8 * DAY + 3 * HOUR, "8d"],
    [729 * DAY, "729d"],
    // years with days below eight years
    [730 * DAY, "2y"],
    [731 * DAY, "2y1d"],
    // whole years from eight years
    [8 * 365 * DAY, "8y"],
    [8 * 365 * DAY + 40 * DAY, "8y"],
  ])("%d ms is %s", (ms, expected) => {
    expect(humanDuration(ms)).toBe(expected);
  });
});

describe("CRD tables", () => {
  it("renders a VirtualMachine row: Age first, then Status and the Ready condition", () => {
    const vm = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: meta("vm-pool-cirros-0"),
      status: {
        printableStatus: "Running",
        conditions: [
          { type: "Paused", status: "False" },
          { type: "Ready", status: "True" },
        ],
      },
    };
    expect(cellsOf("VirtualMachine", vm)).toEqual(["vm-pool-cirros-0", "90s", "Running", "True"]);
  });

  it("renders a VirtualMachineInstance row including the priority-1 columns", () => {
    const vmi = {
      metadata: meta("vm-pool-cirros-0"),
      status: {
        phase: "Running",
        nodeName: "node01",
        interfaces: [{ ipAddress: "10.244.0.12" }, { ipAddress: "10.244.0.13" }],
        conditions: [
          { type: "Ready", status: "True" },
          { type: "LiveMigratable", status: "False" },
        ],
      },
    };
    expect(cellsOf("VirtualMachineInstance", vmi)).toEqual([
      "vm-pool-cirros-0",
      "90s",
      "Running",
      "10.244.0.12",
      "node01",
      "True",
      "False",
      null,
    ]);
  });

  it("renders a VirtualMachinePool without status as null Current/Ready cells", () => {
    const pool = { metadata: meta("vm-pool-cirros"), spec: { replicas: 3 } };
    expect(cellsOf("VirtualMachinePool", pool)).toEqual(["vm-pool-cirros", 3, null, null, "90s"]);
  });

  it("defines Name first, then each printer column with defaults filled in", () => {
    const columns = columnDefinitions(def("VirtualMachineInstance"));
    expect(columns.map((c) => [c.name, c.type, c.priority])).toEqual([
      ["Name", "string", 0],
      ["Age", "date", 0],
      ["Phase", "string", 0],
      ["IP", "string", 0],
      ["NodeName", "string", 0],
      ["Ready", "string", 0],
      ["Live-Migratable", "string", 1],
      ["Paused", "string", 1],
    ]);
    expect(columns[0]).toMatchObject({ format: "name" });
    expect(columns[0]?.description).toMatch(/^Name must be unique within a namespace\./);
    expect(columns[2]).toEqual({
      name: "Phase",
      type: "string",
      format: "",
      description: "Custom resource definition column (in JSONPath format): .status.phase",
      priority: 0,
    });
    expect(columnDefinitions(def("VirtualMachinePool"))[1]?.description).toBe(
      "Number of desired VirtualMachines",
    );
  });

  it("falls back to a single Age column when a CRD declares none", () => {
    const columns = columnDefinitions(customDef([]));
    expect(columns.map((c) => [c.name, c.type])).toEqual([
      ["Name", "string"],
      ["Age", "date"],
    ]);
  });

  it.each<[PrinterColumn["type"], unknown, unknown]>([
    // integers are truncated, other JSON types give null
    ["integer", 3, 3],
    ["integer", 2.9, 2],
    ["integer", "3", null],
    // numbers pass through
    ["number", 1.5, 1.5],
    ["number", true, null],
    // booleans only from JSON booleans
    ["boolean", false, false],
    ["boolean", "true", null],
    // string columns print any value the way client-go JSONPath does
    ["string", "text", "text"],
    ["string", 7, "7"],
    ["string", 1.5, "1.5"],
    ["string", 1234567.5, "1.2345675e+06"],
    ["string", 0.00001, "1e-05"],
    ["string", true, "true"],
    ["string", { b: 1, a: "<x>" }, '{"a":"\\u003cx\\u003e","b":1}'],
    ["string", ["a", 1], '["a",1]'],
    // JSON null is no value
    ["string", null, null],
    // dates become ages; unparsable is <invalid>, zero or empty is <unknown>
    ["date", "2024-06-01T11:00:00Z", "60m"],
    ["date", "2024-06-01T13:00:00+02:00", "60m"],
    ["date", "2024-06-01T11:59:58.5Z", "1s"],
    ["date", "2024-06-01T12:00:01.5Z", "0s"],
    ["date", "2024-06-01T12:00:05Z", "<invalid>"],
    ["date", "yesterday", "<invalid>"],
    ["date", "2024-02-30T00:00:00Z", "<invalid>"],
    ["date", "0001-01-01T00:00:00Z", "<unknown>"],
    ["date", "", "<unknown>"],
    ["date", 12, null],
  ])("a %s column shows %j as %j", (type, value, expected) => {
    const custom = customDef([{ name: "X", type, jsonPath: ".spec.x" }]);
    expect(cellsOf(custom, { metadata: meta("o"), spec: { x: value } })).toEqual(["o", expected]);
  });

  it.each<[string, Obj, unknown]>([
    // a missing key anywhere on the path is null
    [".spec.a.b", { spec: {} }, null],
    // index into a list, negative from the end
    [".spec.list[1]", { spec: { list: ["a", "b"] } }, "b"],
    [".spec.list[-1]", { spec: { list: ["a", "b", "c"] } }, "c"],
    [".spec.list[5]", { spec: { list: ["a"] } }, null],
    // filters pick the first match, with either quote style
    [
      '.spec.c[?(@.type=="B")].v',
      {
        spec: {
          c: [
            { type: "A", v: "1" },
            { type: "B", v: "2" },
          ],
        },
      },
      "2",
    ],
    // a filter on a nested field
    [".spec.c[?(@.meta.kind=='x')].v", { spec: { c: [{ meta: { kind: "x" }, v: "3" }] } }, "3"],
    // wildcard takes the first element that has the rest of the path
    [".spec.c[*].v", { spec: { c: [{}, { v: "w" }] } }, "w"],
    // bracket notation for keys with dots and slashes
    [".metadata.labels['kubevirt.io/vmpool']", { metadata: { labels: { "kubevirt.io/vmpool": "p" } } }, "p"],
    // recursive descent goes through jsonpath-plus
    ["..nodeName", { status: { deep: { nodeName: "node07" } } }, "node07"],
    // braces around the path are accepted
    ["{.spec.x}", { spec: { x: "y" } }, "y"],
  ])("path %s", (jsonPath, obj, expected) => {
    const custom = customDef([{ name: "X", type: "string", jsonPath }]);
    expect(cellsOf(custom, { metadata: meta("o"), ...obj })[1]).toEqual(expected);
  });
});

describe("built-in tables", () => {
  it.each<[string, Obj, unknown[]]>([
    // HPA created by kubectl autoscale before metrics arrive
    [
      "no current metrics",
      {
        metadata: meta("vm-pool-cirros"),
        spec: {
          scaleTargetRef: {
            apiVersion: "pool.kubevirt.io/v1beta1",
            kind: "VirtualMachinePool",
            name: "vm-pool-cirros",
          },
          minReplicas: 2,
          maxReplicas: 5,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
            },
          ],
        },
        status: { currentReplicas: 2, desiredReplicas: 2 },
      },
      ["vm-pool-cirros", "VirtualMachinePool/vm-pool-cirros", "cpu: <unknown>/50%", "2", 5, 2, "90s"],
    ],
    // current utilization known, minReplicas unset
    [
      "known utilization",
      {
        metadata: meta("h"),
        spec: {
          scaleTargetRef: { kind: "VirtualMachinePool", name: "p" },
          maxReplicas: 5,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
            },
          ],
        },
        status: {
          currentReplicas: 3,
          currentMetrics: [
            { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 100 } } },
          ],
        },
      },
      ["h", "VirtualMachinePool/p", "cpu: 100%/50%", "<unset>", 5, 3, "90s"],
    ],
    // an autoscaling/v1 object is read through its CPU fields
    [
      "v1 shape",
      {
        metadata: meta("h"),
        spec: {
          scaleTargetRef: { kind: "VirtualMachinePool", name: "p" },
          maxReplicas: 4,
          targetCPUUtilizationPercentage: 80,
        },
        status: { currentCPUUtilizationPercentage: 12 },
      },
      ["h", "VirtualMachinePool/p", "cpu: 12%/80%", "<unset>", 4, 0, "90s"],
    ],
    // at most two metrics are listed, value targets and other source types
    [
      "three metrics",
      {
        metadata: meta("h"),
        spec: {
          scaleTargetRef: { kind: "VirtualMachinePool", name: "p" },
          maxReplicas: 5,
          metrics: [
            {
              type: "Resource",
              resource: { name: "memory", target: { type: "AverageValue", averageValue: "1Gi" } },
            },
            {
              type: "Pods",
              pods: { metric: { name: "qps" }, target: { type: "AverageValue", averageValue: "10" } },
            },
            { type: "External", external: { metric: { name: "q" }, target: { type: "Value", value: "30" } } },
          ],
        },
      },
      [
        "h",
        "VirtualMachinePool/p",
        "memory: <unknown>/1Gi, <unknown>/10 + 1 more...",
        "<unset>",
        5,
        0,
        "90s",
      ],
    ],
    // no metrics at all
    [
      "no metrics",
      {
        metadata: meta("h"),
        spec: { scaleTargetRef: { kind: "VirtualMachinePool", name: "p" }, maxReplicas: 1 },
      },
      ["h", "VirtualMachinePool/p", "<none>", "<unset>", 1, 0, "90s"],
    ],
  ])("HorizontalPodAutoscaler: %s", (_, hpa, expected) => {
    expect(cellsOf("HorizontalPodAutoscaler", hpa)).toEqual(expected);
  });

  it.each<[string, Obj, unknown[]]>([
    // a recorder event with first/last timestamps and a count
    [
      "classic event",
      {
        metadata: meta("vm-pool-cirros.17d"),
        involvedObject: { kind: "VirtualMachinePool", name: "vm-pool-cirros", fieldPath: "spec" },
        reason: "SuccessfulCreate",
        message: " Created VM default/vm-pool-cirros-0 \n",
        type: "Normal",
        source: { component: "virtualmachinepool-controller", host: "node01" },
        firstTimestamp: "2024-06-01T11:00:00Z",
        lastTimestamp: "2024-06-01T11:59:00Z",
        count: 3,
      },
      [
        "60s",
        "Normal",
        "SuccessfulCreate",
        "virtualmachinepool/vm-pool-cirros",
        "spec",
        "virtualmachinepool-controller, node01",
        "Created VM default/vm-pool-cirros-0",
        "60m",
        3,
        "vm-pool-cirros.17d",
      ],
    ],
    // events.k8s.io-style: eventTime, reporting fields, no count, no involved name
    [
      "new-style event",
      {
        metadata: meta("e2"),
        involvedObject: { kind: "Pod" },
        reason: "Scheduled",
        message: "m",
        type: "Warning",
        eventTime: "2024-06-01T11:59:30.123456Z",
        reportingController: "default-scheduler",
        reportingInstance: "sched-1",
      },
      ["29s", "Warning", "Scheduled", "pod", "", "default-scheduler, sched-1", "m", "29s", 1, "e2"],
    ],
    // an event series overrides last seen and count
    [
      "series",
      {
        metadata: meta("e3"),
        involvedObject: { kind: "Pod", name: "x" },
        eventTime: "2024-06-01T10:00:00Z",
        series: { count: 9, lastObservedTime: "2024-06-01T11:59:50Z" },
      },
      ["10s", "", "", "pod/x", "", "", "", "120m", 9, "e3"],
    ],
  ])("Event: %s", (_, event, expected) => {
    expect(cellsOf("Event", event)).toEqual(expected);
  });

  it.each<[string, Obj, unknown[]]>([
    // running pod with one crash-looping container and a recent restart
    [
      "crash loop",
      {
        metadata: meta("virt-launcher-a"),
        spec: { containers: [{ name: "compute" }, { name: "sidecar" }], nodeName: "node01" },
        status: {
          phase: "Running",
          podIPs: [{ ip: "10.244.0.9" }],
          conditions: [{ type: "Ready", status: "False" }],
          containerStatuses: [
            {
              name: "compute",
              ready: true,
              restartCount: 2,
              state: { running: {} },
              lastState: { terminated: { exitCode: 1, finishedAt: "2024-06-01T11:55:00Z" } },
            },
            {
              name: "sidecar",
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: "CrashLoopBackOff" } },
            },
          ],
        },
      },
      [
        "virt-launcher-a",
        "1/2",
        "CrashLoopBackOff",
        "2 (5m ago)",
        "90s",
        "10.244.0.9",
        "node01",
        "<none>",
        "<none>",
      ],
    ],
    // completed pod
    [
      "succeeded",
      {
        metadata: meta("job"),
        spec: { containers: [{ name: "c" }] },
        status: {
          phase: "Succeeded",
          containerStatuses: [{ name: "c", state: { terminated: { exitCode: 0, reason: "Completed" } } }],
        },
      },
      ["job", "0/1", "Completed", "0", "90s", "<none>", "<none>", "<none>", "<none>"],
    ],
    // init containers in progress, readiness gate not yet true
    [
      "initializing",
      {
        metadata: meta("init"),
        spec: {
          containers: [{ name: "c" }],
          initContainers: [{ name: "i" }, { name: "j" }],
          readinessGates: [{ conditionType: "x" }],
        },
        status: {
          phase: "Pending",
          initContainerStatuses: [
            { name: "i", state: { terminated: { exitCode: 0 } } },
            { name: "j", state: { running: {} } },
          ],
        },
      },
      ["init", "0/1", "Init:1/2", "0", "90s", "<none>", "<none>", "<none>", "0/1"],
    ],
    // deletion in progress wins over everything
    [
      "terminating",
      {
        metadata: meta("gone", { deletionTimestamp: "2024-06-01T11:59:00Z" }),
        spec: { containers: [{ name: "c" }] },
        status: { phase: "Running", containerStatuses: [{ name: "c", ready: true, state: { running: {} } }] },
      },
      ["gone", "1/1", "Terminating", "0", "90s", "<none>", "<none>", "<none>", "<none>"],
    ],
  ])("Pod: %s", (_, pod, expected) => {
    expect(cellsOf("Pod", pod)).toEqual(expected);
  });

  it("marks finished pods with the Completed row condition", () => {
    const [succeeded, running] = rows("Pod", [
      { metadata: meta("a"), spec: { containers: [] }, status: { phase: "Succeeded" } },
      { metadata: meta("b"), spec: { containers: [] }, status: { phase: "Running" } },
    ]);
    expect(succeeded?.conditions).toEqual([
      {
        type: "Completed",
        status: "True",
        reason: "Succeeded",
        message: "The pod has completed successfully.",
      },
    ]);
    expect(running).not.toHaveProperty("conditions");
  });

  it.each<[string, string, Obj, unknown[]]>([
    // namespace phase
    [
      "Namespace",
      "active",
      {
        metadata: { name: "default", creationTimestamp: "2024-05-01T12:00:00Z" },
        status: { phase: "Active" },
      },
      ["default", "Active", "31d"],
    ],
    // lease holder, and none
    [
      "Lease",
      "held",
      { metadata: meta("vmpool-lock"), spec: { holderIdentity: "pass-1" } },
      ["vmpool-lock", "pass-1", "90s"],
    ],
    ["Lease", "free", { metadata: meta("vmpool-lock"), spec: {} }, ["vmpool-lock", "", "90s"]],
    // service with node ports and a selector
    [
      "Service",
      "node port",
      {
        metadata: meta("svc"),
        spec: {
          type: "NodePort",
          clusterIP: "10.96.0.10",
          clusterIPs: ["10.96.0.10"],
          ports: [
            { port: 80, nodePort: 30080, protocol: "TCP" },
            { port: 53, protocol: "UDP" },
          ],
          selector: { b: "2", a: "1" },
        },
      },
      ["svc", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "90s", "a=1,b=2"],
    ],
    // load balancer addresses are sorted and deduplicated; pending without any
    [
      "Service",
      "load balancer",
      {
        metadata: meta("lb"),
        spec: { type: "LoadBalancer", clusterIPs: ["10.96.0.11"] },
        status: {
          loadBalancer: { ingress: [{ hostname: "b.example" }, { ip: "1.2.3.4" }, { ip: "1.2.3.4" }] },
        },
      },
      ["lb", "LoadBalancer", "10.96.0.11", "1.2.3.4,b.example", "<none>", "90s", "<none>"],
    ],
    [
      "Service",
      "pending load balancer",
      { metadata: meta("lb"), spec: { type: "LoadBalancer" } },
      ["lb", "LoadBalancer", "<none>", "<pending>", "<none>", "90s", "<none>"],
    ],
    // endpoints: three shown, then a count
    [
      "Endpoints",
      "many",
      {
        metadata: meta("ep"),
        subsets: [
          { addresses: [{ ip: "10.0.0.1" }, { ip: "fd00::2" }], ports: [{ port: 80 }, { port: 443 }] },
        ],
      },
      ["ep", "10.0.0.1:80,[fd00::2]:80,10.0.0.1:443 + 1 more...", "90s"],
    ],
    ["Endpoints", "none", { metadata: meta("ep") }, ["ep", "<none>", "90s"]],
    // controller revision owned by a pool
    [
      "ControllerRevision",
      "owned",
      {
        metadata: meta("vm-pool-cirros-5d8", {
          ownerReferences: [
            { apiVersion: "v1", kind: "Pod", name: "not-controller" },
            {
              apiVersion: "pool.kubevirt.io/v1beta1",
              kind: "VirtualMachinePool",
              name: "vm-pool-cirros",
              controller: true,
            },
          ],
        }),
        revision: 3,
      },
      ["vm-pool-cirros-5d8", "virtualmachinepool.pool.kubevirt.io/vm-pool-cirros", 3, "90s"],
    ],
    ["ControllerRevision", "orphan", { metadata: meta("cr") }, ["cr", "<none>", 0, "90s"]],
  ])("%s: %s", (kind, _, obj, expected) => {
    expect(cellsOf(kind, obj)).toEqual(expected);
  });

  it.each<[string, [string, number][]]>([
    // the real kube column sets, with their wide-only (priority 1) columns
    [
      "Namespace",
      [
        ["Name", 0],
        ["Status", 0],
        ["Age", 0],
      ],
    ],
    [
      "Lease",
      [
        ["Name", 0],
        ["Holder", 0],
        ["Age", 0],
      ],
    ],
    [
      "HorizontalPodAutoscaler",
      [
        ["Name", 0],
        ["Reference", 0],
        ["Targets", 0],
        ["MinPods", 0],
        ["MaxPods", 0],
        ["Replicas", 0],
        ["Age", 0],
      ],
    ],
    [
      "Event",
      [
        ["Last Seen", 0],
        ["Type", 0],
        ["Reason", 0],
        ["Object", 0],
        ["Subobject", 1],
        ["Source", 1],
        ["Message", 0],
        ["First Seen", 1],
        ["Count", 1],
        ["Name", 1],
      ],
    ],
    [
      "Pod",
      [
        ["Name", 0],
        ["Ready", 0],
        ["Status", 0],
        ["Restarts", 0],
        ["Age", 0],
        ["IP", 1],
        ["Node", 1],
        ["Nominated Node", 1],
        ["Readiness Gates", 1],
      ],
    ],
    [
      "Service",
      [
        ["Name", 0],
        ["Type", 0],
        ["Cluster-IP", 0],
        ["External-IP", 0],
        ["Port(s)", 0],
        ["Age", 0],
        ["Selector", 1],
      ],
    ],
    [
      "Endpoints",
      [
        ["Name", 0],
        ["Endpoints", 0],
        ["Age", 0],
      ],
    ],
    [
      "ControllerRevision",
      [
        ["Name", 0],
        ["Controller", 0],
        ["Revision", 0],
        ["Age", 0],
      ],
    ],
  ])("%s columns", (kind, expected) => {
    const columns = columnDefinitions(def(kind));
    expect(columns.map((c) => [c.name, c.priority])).toEqual(expected);
    // built-in ages are preformatted strings, unlike CRD date columns
    expect(columns.every((c) => c.type === "string")).toBe(true);
    expect(columns.every((c) => c.description.length > 0)).toBe(true);
  });

  it("uses the default convertor (Name, Created At) for a built-in kind without a printer", () => {
    const templates: ResourceDef = { ...def("Lease"), kind: "PodTemplate", plural: "podtemplates" };
    expect(columnDefinitions(templates).map((c) => [c.name, c.type])).toEqual([
      ["Name", "string"],
      ["Created At", "date"],
    ]);
    expect(cellsOf(templates, { metadata: meta("pt") })).toEqual(["pt", "2024-06-01T11:58:30Z"]);
    expect(cellsOf(templates, { metadata: { name: "pt" } })).toEqual(["pt", "0001-01-01T00:00:00Z"]);
  });
});

describe("Table envelope", () => {
  const vm = {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: meta("vm"),
    spec: { running: true },
  };

  it.each<[IncludeObject, unknown]>([
    // default: only the metadata, as PartialObjectMetadata
    ["Metadata", { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: vm.metadata }],
    // --sort-by needs the whole object
    ["Object", vm],
    // None serializes the empty RawExtension as null
    ["None", null],
  ])("includeObject=%s puts %j in the row", (includeObject, expected) => {
    expect(rows("VirtualMachine", [vm], { includeObject })[0]?.object).toEqual(expected);
  });

  it("carries kind, apiVersion, list metadata and column definitions", () => {
    const table = tableFor(
      def("VirtualMachine"),
      [vm],
      opts({ listMetadata: { resourceVersion: "42", continue: "tok", remainingItemCount: 3 } }),
    );
    expect(table.kind).toBe("Table");
    expect(table.apiVersion).toBe("meta.k8s.io/v1");
    expect(table.metadata).toEqual({ resourceVersion: "42", continue: "tok", remainingItemCount: 3 });
    expect((table.columnDefinitions as { name: string }[]).map((c) => c.name)).toEqual([
      "Name",
      "Age",
      "Status",
      "Ready",
    ]);
    expect(Object.keys(table)).toEqual(["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]);
  });

  it("omits empty list metadata and sends null column definitions for later watch events", () => {
    const table = tableFor(
      def("VirtualMachine"),
      [],
      opts({ withColumnDefinitions: false, listMetadata: { resourceVersion: "" } }),
    );
    expect(table.metadata).toEqual({});
    expect(table.columnDefinitions).toBeNull();
    expect(table.rows).toEqual([]);
  });
});

describe("wantsTable", () => {
  it.each<[string | undefined, boolean]>([
    // what kubectl get sends
    [
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      true,
    ],
    // parameters in any order, with spaces
    ["application/json; g=meta.k8s.io; as=Table; v=v1", true],
    // v1beta1 alone is still a Table request
    ["application/json;as=Table;v=v1beta1;g=meta.k8s.io", true],
    // plain JSON, protobuf, wildcard, nothing
    ["application/json", false],
    ["application/vnd.kubernetes.protobuf,application/json", false],
    ["*/*", false],
    [undefined, false],
    ["", false],
    // plain JSON preferred before the Table clause
    ["application/json,application/json;as=Table;v=v1;g=meta.k8s.io", false],
    // q values reorder clauses
    ["application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io", true],
    // a Table clause with q=0 is refused
    ["application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json", false],
    // unknown Table versions and other targets are skipped
    ["application/json;as=Table;v=v2;g=meta.k8s.io,application/json", false],
    [
      "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
      true,
    ],
  ])("%j → %s", (accept, expected) => {
    expect(wantsTable(accept)).toBe(expected);
  });
});

describe("parseIncludeObject", () => {
  it.each<[string | undefined, IncludeObject]>([
    // absent and empty default to Metadata
    [undefined, "Metadata"],
    ["", "Metadata"],
    // the three legal values
    ["Metadata", "Metadata"],
    ["Object", "Object"],
    ["None", "None"],
  ])("%j → %s", (value, expected) => {
    expect(parseIncludeObject(value)).toBe(expected);
  });

  it("rejects other values with the TableOptions validation message", () => {
    let error: unknown;
    try {
      parseIncludeObject("object");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(400);
    expect((error as ApiError).message).toBe(
      "Unable to convert to Table as requested: includeObject: Invalid value: \"object\": must be 'Metadata', 'Object', 'None', or empty",
    );
  });
});
