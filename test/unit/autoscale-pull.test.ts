/**
 * The pull path without a cluster: the metrics-server source's grouping of pods (`groupPods`) and requests
 * (`calculateRequests`) over listed Pods and PodMetrics, its failures in the HPA's words; a decision with pulled
 * metrics (pulled values win, an alert's value fills in what the pull source could not read, an unavailable metric
 * blocks a scale-down but never a scale-up); and the steady-state history that lets the scheduled pass write
 * nothing while a target holds.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { decidePool, type PullTarget } from "../../shared/autoscale";
import { metricsServerSource } from "../../shared/autoscale/sources/metrics-server";
import type { Kube } from "../../shared/kube";
import { KubeError } from "../../shared/kube";
import {
  EMPTY_HISTORY,
  holdLatestRecommendation,
  type ObservedMetric,
  onlyRefreshed,
} from "../../shared/planning/hpa";
import { normalizeHpa } from "../../shared/schemas";
import { fixture, NOW } from "./hpa-fixtures";

const SELECTOR = "kubevirt.io/vmpool=web-pool";
const log = pino({ level: "silent" });
const at = (secondsAgo: number) => new Date(NOW.getTime() - secondsAgo * 1000).toISOString();

function pod(
  name: string,
  options: {
    phase?: string;
    ready?: boolean;
    readySince?: number;
    startedAgo?: number;
    cpu?: string;
    deleted?: boolean;
  } = {},
) {
  return {
    metadata: {
      name,
      namespace: "default",
      labels: { "kubevirt.io/vmpool": "web-pool", "kubevirt.io": "virt-launcher" },
      ...(options.deleted ? { deletionTimestamp: at(1) } : {}),
    },
    spec: {
      containers: [
        {
          name: "compute",
          resources: {
            requests:
              options.cpu === undefined ? { cpu: "100m" } : options.cpu === "" ? {} : { cpu: options.cpu },
          },
        },
        { name: "volumecontainerdisk", resources: { requests: { cpu: "1m" } } },
      ],
    },
    status: {
      phase: options.phase ?? "Running",
      startTime: at(options.startedAgo ?? 600),
      conditions: [
        {
          type: "Ready",
          status: options.ready === false ? "False" : "True",
          lastTransitionTime: at(options.readySince ?? 500),
        },
      ],
    },
  };
}

function podMetrics(name: string, computeMilli: number, sampledAgo = 1) {
  return {
    metadata: { name, namespace: "default", labels: { "kubevirt.io/vmpool": "web-pool" } },
    timestamp: at(sampledAgo),
    window: "15s",
    containers: [
      { name: "compute", usage: { cpu: `${computeMilli * 1_000_000}n`, memory: "100Mi" } },
      { name: "volumecontainerdisk", usage: { cpu: "1m", memory: "1Mi" } },
    ],
  };
}

/** A Kube whose two lists answer from fixtures (or fail), and nothing else. */
function fakeKube(listed: { Pod: unknown[] | Error; PodMetrics: unknown[] | Error }): Kube {
  return {
    list: async (kind: "Pod" | "PodMetrics") => {
      const answer = listed[kind];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Kube;
}

function target(): PullTarget {
  const hpa = fixture("v2-cpu");
  return {
    hpa,
    spec: normalizeHpa(hpa),
    target: { kind: "VirtualMachinePool", namespace: "default", name: "web-pool" },
    selector: SELECTOR,
    replicas: 3,
    statusReplicas: 3,
  };
}

async function observe(listed: Parameters<typeof fakeKube>[0]): Promise<ObservedMetric | undefined> {
  const [observation] = await metricsServerSource.observe([target()], {
    kube: fakeKube(listed),
    log,
    now: NOW,
  });
  return observation?.metrics["Resource/cpu"];
}

describe("the metrics-server pull source", () => {
  it("groups pods as the HPA controller does and sums requests over containers", async () => {
    const observed = await observe({
      Pod: [
        pod("a"),
        pod("b"),
        pod("pending", { phase: "Pending" }),
        pod("gone", { deleted: true }),
        pod("failed", { phase: "Failed" }),
        pod("no-sample"),
        // Started 20 s and ready 5 s ago: its sample (1 s old, 15 s window) still covers its start-up.
        pod("just-ready", { startedAgo: 20, readySince: 5 }),
      ],
      PodMetrics: [
        podMetrics("a", 100),
        podMetrics("b", 50),
        podMetrics("gone", 100),
        podMetrics("failed", 100),
        podMetrics("just-ready", 100),
      ],
    });
    expect(observed).toEqual({
      pods: {
        ready: [
          { usage: 101, request: 101 },
          { usage: 51, request: 101 },
        ],
        missing: [{ request: 101 }],
        unready: [{ request: 101 }, { request: 101 }],
      },
    });
  });

  it("a pod without a CPU request is the calculator's error, in upstream's words", async () => {
    const observed = await observe({ Pod: [pod("a", { cpu: "" })], PodMetrics: [podMetrics("a", 100)] });
    expect(observed).toEqual({
      error: "missing request for cpu in container compute of Pod a",
      errorStage: "compute",
    });
  });

  it("an unreachable metrics API fails every Resource metric as a fetch error", async () => {
    const observed = await observe({
      Pod: [pod("a")],
      PodMetrics: new KubeError("NotFound", "the server could not find the requested resource", {
        status: 404,
        retryable: false,
      }),
    });
    expect(observed?.error).toMatch(/^unable to fetch metrics from resource metrics API: /);
    expect(observed?.errorStage).toBeUndefined();
  });

  it("no PodMetrics for the selector is upstream's 'no metrics returned from resource metrics API'", async () => {
    expect(await observe({ Pod: [pod("a")], PodMetrics: [] })).toEqual({
      error: "no metrics returned from resource metrics API",
    });
  });

  it("a target without a selector cannot be read", async () => {
    const [observation] = await metricsServerSource.observe([{ ...target(), selector: undefined }], {
      kube: fakeKube({ Pod: [], PodMetrics: [] }),
      log,
      now: NOW,
    });
    expect(observation?.metrics["Resource/cpu"]).toEqual({
      error: "selector is required",
      errorStage: "compute",
    });
  });
});

describe("a decision with pulled metrics", () => {
  const hpa = fixture("v2-mixed");
  const spec = normalizeHpa(hpa);
  const keys = spec.metrics.map((m) => `${m.type}/${m.name}`);
  const base = {
    hpa,
    spec,
    currentReplicas: 4,
    statusReplicas: 4,
    history: { ...EMPTY_HISTORY, seeded: true },
    now: NOW,
    ceiling: 1000,
  };
  const signal = (metric: string, value: number) => ({
    source: "alertmanager" as const,
    id: `${metric}/1`,
    target: { kind: "VirtualMachinePool" as const, namespace: "default", name: "web-pool" },
    metric,
    kind: "observation" as const,
    value,
  });

  it("uses the pulled value over the alert's, and the alert's where the pull source could not read", () => {
    const cpuKey = keys.find((k) => k.startsWith("Resource/cpu")) as string;
    const pulled = { [cpuKey]: { value: 50 } as ObservedMetric };
    const outcome = decidePool({ ...base, signals: [signal("cpu", 400)], pulled });
    expect(outcome.kind).toBe("decided");
    if (outcome.kind !== "decided") return;
    expect(outcome.decision.proposals.find((p) => p.key === cpuKey)).toMatchObject({ ok: true, replicas: 4 });
    const failed = decidePool({
      ...base,
      signals: [signal("cpu", 400)],
      pulled: { [cpuKey]: { error: "down" } },
    });
    if (failed.kind !== "decided") throw new Error("expected a decision");
    expect(failed.decision.proposals.find((p) => p.key === cpuKey)).toMatchObject({ ok: true });
  });

  it("an unavailable metric blocks a scale-down but never a scale-up", () => {
    const hpaCpu = fixture("v2-cpu");
    hpaCpu.spec.metrics.push({
      type: "Resource",
      resource: { name: "memory", target: { type: "AverageValue", averageValue: "1Gi" } },
    });
    const specCpu = normalizeHpa(hpaCpu);
    const input = { ...base, hpa: hpaCpu, spec: specCpu, signals: [] };
    const down = decidePool({
      ...input,
      pulled: { "Resource/cpu": { value: 10 }, "Resource/memory": { error: "down" } },
    });
    const up = decidePool({
      ...input,
      pulled: { "Resource/cpu": { value: 100 }, "Resource/memory": { error: "down" } },
    });
    if (down.kind !== "decided" || up.kind !== "decided") throw new Error("expected decisions");
    expect(down.decision.changed).toBe(false);
    expect(down.decision.conditions.find((c) => c.type === "ScalingActive")).toMatchObject({
      status: "False",
      reason: "FailedGetResourceMetric",
    });
    expect(up.decision).toMatchObject({ changed: true, desiredReplicas: 8 });
  });
});

describe("the steady-state history", () => {
  const T = NOW.getTime();
  const stored = { ...EMPTY_HISTORY, seeded: true, recommendations: [{ value: 6, at: T - 3_600_000 }] };

  it("restores the held recommendation at the previous evaluation", () => {
    expect(holdLatestRecommendation(stored, T - 15_000).recommendations).toEqual([
      { value: 6, at: T - 3_600_000 },
      { value: 6, at: T - 15_000 },
    ]);
    expect(holdLatestRecommendation(EMPTY_HISTORY, T - 15_000)).toBe(EMPTY_HISTORY);
  });

  it("a history that only repeats its latest recommendation needs no write; a new value or a scale does", () => {
    const repeated = { ...stored, recommendations: [{ value: 6, at: T }] };
    expect(onlyRefreshed(stored, repeated)).toBe(true);
    expect(
      onlyRefreshed(stored, {
        ...stored,
        recommendations: [
          { value: 6, at: T - 3_600_000 },
          { value: 5, at: T },
        ],
      }),
    ).toBe(false);
    expect(onlyRefreshed(stored, { ...repeated, lastScaleTime: T })).toBe(false);
    expect(onlyRefreshed(EMPTY_HISTORY, { ...repeated })).toBe(false);
  });
});
