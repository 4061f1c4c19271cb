/**
 * The Prometheus pull source against a tiny fake Prometheus on 127.0.0.1 (hono): the query API client's answers
 * and failures (vector, scalar, refused query, timeout, unreachable, oversized and malformed answers), the
 * Resource observation from KubeVirt's per-VMI series over the virt-launcher pods the target selects (grouped
 * as the HPA groups pods), External/Object metrics from queries named on the HPA or in the mapping, and what an
 * unavailable Prometheus does to a decision (the HPA's FailedGetResourceMetric, no scale). The end-to-end test
 * with the real Prometheus is test/integration/prometheus-e2e.test.ts.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderQuery } from "../../shared/autoscale/sources/named-queries";
import {
  PROMETHEUS_QUERIES_ANNOTATION,
  type PrometheusSettings,
  prometheusPullSource,
  prometheusSettingsFromEnv,
  selectorMatchers,
} from "../../shared/autoscale/sources/prometheus";
import { instantQuery } from "../../shared/autoscale/sources/promql";
import type { PullObservation, PullTarget } from "../../shared/autoscale/sources/types";
import { ReasonedError } from "../../shared/errors";
import type { Kube } from "../../shared/kube";
import { decide, EMPTY_HISTORY } from "../../shared/planning/hpa";
import { normalizeHpa } from "../../shared/schemas";

const silent = pino({ level: "silent" });
const NOW = new Date("2026-06-01T12:00:00Z");
const LONG_AGO = "2026-06-01T11:00:00Z";

type Answer = { status?: number; body: unknown } | { hang: true } | { raw: string; status?: number };

interface FakePrometheus {
  url: string;
  /** Form fields and authorization of every query received. */
  readonly received: {
    query: string;
    timeout: string | null;
    time: string | null;
    authorization: string | undefined;
  }[];
  /** Answers by query; the default answers an empty vector. */
  answer: (query: string) => Answer;
  close(): Promise<void>;
}

async function fakePrometheus(): Promise<FakePrometheus> {
  const fake: FakePrometheus = {
    url: "",
    received: [],
    answer: () => vector([]),
    close: async () => undefined,
  };
  const app = new Hono();
  app.post("/api/v1/query", async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const query = form.get("query") ?? "";
    fake.received.push({
      query,
      timeout: form.get("timeout"),
      time: form.get("time"),
      authorization: c.req.header("authorization"),
    });
    const answer = fake.answer(query);
    if ("hang" in answer) return new Promise<Response>(() => undefined);
    if ("raw" in answer) return c.body(answer.raw, (answer.status ?? 200) as 200);
    return c.json(answer.body, (answer.status ?? 200) as 200);
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    });
  return fake;
}

function vector(series: { metric: Record<string, string>; value: string }[]): Answer {
  return {
    body: {
      status: "success",
      data: {
        resultType: "vector",
        result: series.map((s) => ({ metric: s.metric, value: [NOW.getTime() / 1000, s.value] })),
      },
    },
  };
}

let prom: FakePrometheus;
beforeAll(async () => {
  prom = await fakePrometheus();
});
afterAll(async () => {
  await prom.close();
});
beforeEach(() => {
  prom.received.length = 0;
  prom.answer = () => vector([]);
});

const endpoint = (overrides: Partial<PrometheusSettings["endpoint"]> = {}) => ({
  url: prom.url,
  timeoutMs: 2000,
  maxBytes: 64 * 1024,
  ...overrides,
});

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ReasonedError) return `${err.reason}: ${err.message}`;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("instantQuery", () => {
  it("POSTs the query form (with its own timeout and the time) and parses an instant vector", async () => {
    prom.answer = () =>
      vector([
        { metric: { name: "a" }, value: "0.25" },
        { metric: { name: "b" }, value: "NaN" },
      ]);
    const samples = await instantQuery(endpoint({ bearerToken: "s3cret" }), "up", NOW);
    expect(samples).toEqual([
      { labels: { name: "a" }, value: 0.25 },
      { labels: { name: "b" }, value: Number.NaN },
    ]);
    expect(prom.received).toEqual([
      {
        query: "up",
        timeout: "2s",
        time: String(NOW.getTime() / 1000).concat(".000"),
        authorization: "Bearer s3cret",
      },
    ]);
  });

  it("reads a scalar as one series without labels", async () => {
    prom.answer = () => ({
      body: { status: "success", data: { resultType: "scalar", result: [1, "+Inf"] } },
    });
    expect(await instantQuery(endpoint(), "scalar(1)")).toEqual([
      { labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });

  it.each([
    // Prometheus refused the query: its errorType and error are kept.
    [
      { status: 400, body: { status: "error", errorType: "bad_data", error: "parse error at char 3" } },
      /^PrometheusQueryFailed: .*bad_data.*parse error/,
    ],
    // A range vector is not an instant value.
    [
      { body: { status: "success", data: { resultType: "matrix", result: [] } } },
      /^InvalidPrometheusResponse: .*matrix/,
    ],
    // A shape we do not know names the field.
    [
      { body: { status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1] }] } } },
      /^InvalidPrometheusResponse: .*data\.result\.0\.value/,
    ],
    // A sample value that is not Go's float text.
    [
      {
        body: {
          status: "success",
          data: { resultType: "vector", result: [{ metric: {}, value: [1, "ten"] }] },
        },
      },
      /^InvalidPrometheusResponse: .*"ten"/,
    ],
    // A proxy's HTML error page in front of Prometheus.
    [{ raw: "<html>bad gateway</html>", status: 502 }, /^PrometheusUnreachable: .*502/],
  ] satisfies [Answer, RegExp][])("refuses a bad answer (%#)", async (answer, expected) => {
    prom.answer = () => answer;
    expect(await reason(instantQuery(endpoint(), "q"))).toMatch(expected);
  });

  it("stops reading an answer larger than maxBytes", async () => {
    const big = Array.from({ length: 2000 }, (_, i) => ({ metric: { name: `vmi-${i}` }, value: "1" }));
    prom.answer = () => vector(big);
    expect(await reason(instantQuery(endpoint({ maxBytes: 4096 }), "q"))).toMatch(
      /^PrometheusResponseTooLarge: .*4096 bytes/,
    );
  });

  it("gives up after timeoutMs when Prometheus does not answer", async () => {
    prom.answer = () => ({ hang: true });
    const started = Date.now();
    expect(await reason(instantQuery(endpoint({ timeoutMs: 200 }), "q"))).toMatch(
      /^PrometheusTimeout: .*200 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("says so when nothing listens", async () => {
    const other = await fakePrometheus();
    const url = other.url;
    await other.close();
    expect(await reason(instantQuery({ url, timeoutMs: 2000, maxBytes: 1024 }, "q"))).toMatch(
      /^PrometheusUnreachable: cannot reach Prometheus at http:\/\/127\.0\.0\.1/,
    );
  });
});

describe("query templates", () => {
  it("fills placeholders and refuses unknown ones", () => {
    expect(
      renderQuery('x{namespace="{{namespace}}",{{ selector }}}', { namespace: "ns", selector: 'a="b"' }),
    ).toBe('x{namespace="ns",a="b"}');
    expect(() => renderQuery("x{{{nmespace}}}", { namespace: "ns" })).toThrow(
      /unknown placeholder \{\{nmespace\}\}/,
    );
  });

  it("turns a label selector into PromQL matchers, values escaped", () => {
    expect(
      selectorMatchers({
        matchLabels: { queue: 'a"b' },
        matchExpressions: [
          { key: "env", operator: "In", values: ["prod", "canary.1"] },
          { key: "tier", operator: "NotIn", values: ["dev"] },
          { key: "team", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      }),
    ).toBe('queue="a\\"b",env=~"prod|canary\\\\.1",tier!~"dev",team!="",legacy=""');
    expect(selectorMatchers(null)).toBe("");
  });
});

describe("settings from the environment", () => {
  it("is off without a URL and parses every variable", () => {
    expect(prometheusSettingsFromEnv({})).toBeUndefined();
    const settings = prometheusSettingsFromEnv({
      VMPOOL_PROMETHEUS_URL: "http://127.0.0.1:9090/prom",
      VMPOOL_PROMETHEUS_TIMEOUT_MS: "750",
      VMPOOL_PROMETHEUS_QUERIES: '{"queue_depth":"sum(q)"}',
      VMPOOL_PROMETHEUS_RATE_WINDOW: "30s",
    });
    expect(settings).toMatchObject({
      endpoint: { url: "http://127.0.0.1:9090/prom", timeoutMs: 750 },
      queries: { queue_depth: "sum(q)" },
      window: "30s",
    });
  });

  it.each([
    [{ VMPOOL_PROMETHEUS_URL: "ftp://x" }, /VMPOOL_PROMETHEUS_URL/],
    [
      { VMPOOL_PROMETHEUS_URL: "http://x", VMPOOL_PROMETHEUS_QUERIES: "{" },
      /VMPOOL_PROMETHEUS_QUERIES.*not JSON/,
    ],
    [
      { VMPOOL_PROMETHEUS_URL: "http://x", VMPOOL_PROMETHEUS_QUERIES: '{"a":""}' },
      /VMPOOL_PROMETHEUS_QUERIES/,
    ],
    [
      { VMPOOL_PROMETHEUS_URL: "http://x", VMPOOL_PROMETHEUS_RATE_WINDOW: "1 minute" },
      /VMPOOL_PROMETHEUS_RATE_WINDOW/,
    ],
  ])("names the variable that is wrong (%#)", (env, expected) => {
    expect(() => prometheusSettingsFromEnv(env)).toThrow(expected);
  });
});

/** A virt-launcher pod of VMI `vmi` as the simulator makes it: Running, Ready long ago, `cpu` requested. */
function launcherPod(vmi: string, options: { phase?: string; ready?: boolean; cpu?: string | null } = {}) {
  return {
    metadata: {
      name: `virt-launcher-${vmi}-abcde`,
      namespace: "default",
      labels: { "kubevirt.io": "virt-launcher", "kubevirt.io/vmpool": vmi.replace(/-\d+$/, "") },
      ownerReferences: [
        { apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstance", name: vmi, uid: `uid-${vmi}` },
      ],
    },
    spec: {
      containers: [
        {
          name: "compute",
          resources:
            options.cpu === null ? {} : { requests: { cpu: options.cpu ?? "100m", memory: "128Mi" } },
        },
      ],
    },
    status: {
      phase: options.phase ?? "Running",
      startTime: LONG_AGO,
      conditions: [
        { type: "Ready", status: options.ready === false ? "False" : "True", lastTransitionTime: LONG_AGO },
      ],
    },
  };
}

function fakeKube(pods: unknown[], listed: { labelSelector?: string; namespace?: string }[] = []): Kube {
  return {
    list: async (kind: string, options: { labelSelector?: string; namespace?: string }) => {
      if (kind !== "Pod") throw new Error(`unexpected list of ${kind}`);
      listed.push(options);
      return pods;
    },
  } as unknown as Kube;
}

function hpa(metrics: unknown[], annotations: Record<string, string> = {}) {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "pool", namespace: "default", annotations },
    spec: {
      scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1beta1", kind: "VirtualMachinePool", name: "pool" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics,
    },
  };
}

const CPU_50 = {
  type: "Resource",
  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
};
const QUEUE = {
  type: "External",
  external: {
    metric: { name: "queue_depth", selector: { matchLabels: { queue: "jobs" } } },
    target: { type: "AverageValue", averageValue: "10" },
  },
};

function pullTarget(object: ReturnType<typeof hpa>, replicas = 3): PullTarget {
  return {
    hpa: object as unknown as PullTarget["hpa"],
    spec: normalizeHpa(object),
    target: { kind: "VirtualMachinePool", namespace: "default", name: "pool" },
    selector: "kubevirt.io/vmpool=pool",
    replicas,
    statusReplicas: replicas,
  };
}

function settings(queries: Record<string, string> = {}): PrometheusSettings {
  return { endpoint: endpoint(), queries, window: "1m" };
}

/** What `decide` makes of observed metrics for a target: the cpu utilization it reports and the replicas it wants. */
function utilizationOf(target: PullTarget, metrics: PullObservation["metrics"]) {
  const decision = decide({
    hpa: target.spec,
    currentReplicas: target.replicas,
    metrics,
    history: EMPTY_HISTORY,
    now: NOW,
  });
  const status = decision.currentMetrics[0] as { resource?: { current?: { averageUtilization?: number } } };
  return { utilization: status.resource?.current?.averageUtilization, desired: decision.desiredReplicas };
}

const rateAnswer = (rates: Record<string, string>) => () =>
  vector(Object.entries(rates).map(([name, value]) => ({ metric: { name }, value })));

describe("the Prometheus pull source", () => {
  it("computes cpu utilization from the KubeVirt series of the selected pods' VMIs over their requests", async () => {
    const listed: { labelSelector?: string; namespace?: string }[] = [];
    const kube = fakeKube(
      ["pool-0", "pool-1", "pool-2"].map((vmi) => launcherPod(vmi)),
      listed,
    );
    prom.answer = rateAnswer({ "pool-0": "0.1", "pool-1": "0.1", "pool-2": "0.07" });
    const source = prometheusPullSource(settings());
    const target = pullTarget(hpa([CPU_50]));
    const [observed] = await source.observe([target], { kube, log: silent, now: NOW });
    // Per pod in millicores, as the HPA controller sees them.
    expect(observed?.metrics["Resource/cpu"]).toEqual({
      pods: {
        ready: [
          { usage: 100, request: 100 },
          { usage: 100, request: 100 },
          { usage: 70, request: 100 },
        ],
        missing: [],
        unready: [],
      },
    });
    // (0.1 + 0.1 + 0.07) cores over 3 × 100m requested = 90 % against 50 %: ceil(3 × 90 / 50) = 6.
    expect(utilizationOf(target, observed?.metrics ?? {})).toEqual({ utilization: 90, desired: 6 });
    expect(listed).toEqual([{ namespace: "default", labelSelector: "kubevirt.io=virt-launcher" }]);
    expect(prom.received.map((r) => r.query)).toEqual([
      'sum by (name) (rate(kubevirt_vmi_cpu_usage_seconds_total{namespace="default",name=~"pool-0|pool-1|pool-2"}[1m]))',
    ]);
  });

  it("reads a pass's targets with one pod list per namespace and one query per Resource query", async () => {
    const listed: { labelSelector?: string; namespace?: string }[] = [];
    const pods = ["web-0", "web-1", "batch-0", "batch-1", "batch-2", "other-0"].map((vmi) =>
      launcherPod(vmi),
    );
    const kube = fakeKube(pods, listed);
    prom.answer = rateAnswer({
      "web-0": "0.1",
      "web-1": "0.05",
      "batch-0": "0.02",
      "batch-1": "0.02",
      "batch-2": "0.02",
    });
    const web = { ...pullTarget(hpa([CPU_50]), 2), selector: "kubevirt.io/vmpool=web" };
    const batch = { ...pullTarget(hpa([CPU_50]), 3), selector: "kubevirt.io/vmpool=batch" };
    const observed = await prometheusPullSource(settings()).observe([web, batch], {
      kube,
      log: silent,
      now: NOW,
    });
    // 150m of 200m and 60m of 300m: 75 % and 20 % (in milli-units, as upstream: never 19).
    expect(
      observed.map((o, i) => utilizationOf([web, batch][i] as PullTarget, o.metrics).utilization),
    ).toEqual([75, 20]);
    expect(observed.map((o) => o.metrics["Resource/cpu"]?.pods?.ready.length)).toEqual([2, 3]);
    expect(listed).toHaveLength(1);
    expect(prom.received.map((r) => r.query)).toEqual([
      'sum by (name) (rate(kubevirt_vmi_cpu_usage_seconds_total{namespace="default",name=~"batch-0|batch-1|batch-2|web-0|web-1"}[1m]))',
    ]);
  });

  it("counts pods without a series as missing and pending or unready ones as unready, as the HPA does", async () => {
    const kube = fakeKube([
      launcherPod("pool-0"),
      launcherPod("pool-1"),
      launcherPod("pool-2", { phase: "Pending" }),
      {
        ...launcherPod("pool-3", { ready: false }),
        status: {
          ...launcherPod("pool-3").status,
          startTime: new Date(NOW.getTime() - 60_000).toISOString(),
          conditions: [
            {
              type: "Ready",
              status: "False",
              lastTransitionTime: new Date(NOW.getTime() - 60_000).toISOString(),
            },
          ],
        },
      },
    ]);
    prom.answer = rateAnswer({ "pool-0": "0.2", "pool-3": "0.05" });
    const [observed] = await prometheusPullSource(settings()).observe([pullTarget(hpa([CPU_50]), 4)], {
      kube,
      log: silent,
      now: NOW,
    });
    expect(observed?.metrics["Resource/cpu"]).toEqual({
      pods: {
        ready: [{ usage: 200, request: 100 }],
        missing: [{ request: 100 }],
        unready: [{ request: 100 }, { request: 100 }],
      },
    });
  });

  it("reports the HPA's error for a pod without a CPU request", async () => {
    const kube = fakeKube([launcherPod("pool-0", { cpu: null })]);
    prom.answer = rateAnswer({ "pool-0": "0.1" });
    const [observed] = await prometheusPullSource(settings()).observe([pullTarget(hpa([CPU_50]), 1)], {
      kube,
      log: silent,
      now: NOW,
    });
    expect(observed?.metrics["Resource/cpu"]?.error).toBe(
      "missing request for cpu in container compute of Pod virt-launcher-pool-0-abcde",
    );
  });

  it("reads an External metric with the query named on the HPA, its selector as matchers, summing the series", async () => {
    const query = 'sum by (queue) (rabbitmq_queue_messages{namespace="{{namespace}}",{{selector}}})';
    const object = hpa([QUEUE], { [PROMETHEUS_QUERIES_ANNOTATION]: JSON.stringify({ queue_depth: query }) });
    prom.answer = () =>
      vector([
        { metric: { queue: "jobs" }, value: "30" },
        { metric: { queue: "jobs" }, value: "12" },
      ]);
    const source = prometheusPullSource(settings({ queue_depth: "this is overridden by the annotation" }));
    const metric = normalizeHpa(object).metrics[0];
    expect(metric && source.handles(metric, pullTarget(object).hpa)).toBe(true);
    const [observed] = await source.observe([pullTarget(object)], {
      kube: fakeKube([]),
      log: silent,
      now: NOW,
    });
    expect(observed?.metrics).toEqual({ "External/queue_depth": { value: 42 } });
    expect(prom.received.map((r) => r.query)).toEqual([
      'sum by (queue) (rabbitmq_queue_messages{namespace="default",queue="jobs"})',
    ]);
  });

  it("leaves a custom metric without a query to other sources, and handles nothing when unconfigured", () => {
    const object = hpa([QUEUE]);
    const metric = normalizeHpa(object).metrics[0];
    if (metric === undefined) throw new Error("no metric");
    expect(prometheusPullSource(settings()).handles(metric, pullTarget(object).hpa)).toBe(false);
    const cpu = normalizeHpa(hpa([CPU_50])).metrics[0];
    if (cpu === undefined) throw new Error("no metric");
    expect(prometheusPullSource(() => undefined).handles(cpu, pullTarget(object).hpa)).toBe(false);
    expect(prometheusPullSource(settings()).handles(cpu, pullTarget(object).hpa)).toBe(true);
  });

  it.each([
    // The series is NaN (0/0 in the query): no value.
    [
      () => vector([{ metric: {}, value: "NaN" }]),
      { [PROMETHEUS_QUERIES_ANNOTATION]: '{"queue_depth":"q"}' },
      /value is NaN/,
    ],
    // Nothing matched.
    [() => vector([]), { [PROMETHEUS_QUERIES_ANNOTATION]: '{"queue_depth":"q"}' }, /returned no series/],
    // A broken annotation names itself.
    [
      () => vector([]),
      { [PROMETHEUS_QUERIES_ANNOTATION]: "{queue_depth" },
      /annotation vmpool-functions.io\/prometheus-queries is not JSON/,
    ],
    // A misspelt placeholder never queries something else.
    [
      () => vector([]),
      { [PROMETHEUS_QUERIES_ANNOTATION]: '{"queue_depth":"q{ns=\\"{{nmespace}}\\"}"}' },
      /unknown placeholder/,
    ],
  ] satisfies [() => Answer, Record<string, string>, RegExp][])(
    "gives a custom metric an error instead of a value (%#)",
    async (answer, annotations, expected) => {
      prom.answer = answer;
      const object = hpa([QUEUE], annotations);
      const source = prometheusPullSource(settings({ queue_depth: "fallback" }));
      const [observed] = await source.observe([pullTarget(object)], {
        kube: fakeKube([]),
        log: silent,
        now: NOW,
      });
      expect(observed?.metrics["External/queue_depth"]?.error).toMatch(expected);
    },
  );

  it("never scales on an unavailable Prometheus: the decision keeps the replicas with the HPA's reason", async () => {
    const kube = fakeKube(["pool-0", "pool-1", "pool-2"].map((vmi) => launcherPod(vmi)));
    const down = prometheusPullSource({
      ...settings(),
      endpoint: { ...endpoint(), url: "http://127.0.0.1:1" },
    });
    const object = hpa([CPU_50]);
    const [observed] = await down.observe([pullTarget(object)], { kube, log: silent, now: NOW });
    expect(observed?.metrics["Resource/cpu"]?.error).toMatch(
      /^unable to fetch metrics from Prometheus: cannot reach Prometheus/,
    );
    const decision = decide({
      hpa: normalizeHpa(object),
      currentReplicas: 3,
      metrics: observed?.metrics ?? {},
      history: EMPTY_HISTORY,
      now: NOW,
    });
    expect(decision).toMatchObject({ changed: false, desiredReplicas: 3 });
    expect(decision.events.map((e) => e.reason)).toContain("FailedGetResourceMetric");
    expect(decision.conditions.find((c) => c.type === "ScalingActive")).toMatchObject({
      status: "False",
      reason: "FailedGetResourceMetric",
    });
  });
});
