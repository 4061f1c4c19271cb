/**
 * The autoscale routes in process (`app.request()`) against the embedded and the real control plane over real
 * HTTP on 127.0.0.1, as the functions' own identity (the test's setup and reads as admin): every
 * source end to end through the function app, bad input refused before any write, de-duplication of repeated
 * and concurrent deliveries, standing down for KEDA and in-cluster HPA controllers, step scaling, conflicts on
 * the HPA, and a failed scale write reported the way the HPA controller reports it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { autoscaleRoutes } from "../../functions/autoscale/routes";
import {
  type AlertResult,
  autoscaleConfigFromEnv,
  DELIVERIES_ANNOTATION,
  grafanaSignature,
  STEP_UP_ANNOTATION,
} from "../../shared/autoscale";
import { createKube, type Kube } from "../../shared/kube";
import { HISTORY_ANNOTATION } from "../../shared/planning/hpa";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { edited, type Json, payload } from "../unit/autoscale-fixtures";
import {
  autoscaleHpa,
  captureLog,
  countingKube,
  type ReconcileCall,
  seedPool,
  TOKEN,
  testRuntime,
  writeCount,
} from "./autoscale-support";

const NS = "default";
const T0 = Date.parse("2025-06-01T12:02:00Z");
const HMAC_SECRET = "grafana-hmac-secret-0123456789";

let env: SuiteCluster;
let kube: Kube;
let observer: Kube;
let clock = T0;
let scales: string[];
let reconciles: ReconcileCall[];
let lines: Record<string, unknown>[];
let app: ReturnType<typeof createFunctionApp>;

let poolCounter = 0;
/** A fresh pool with 3 replicas and (unless told otherwise) the seed HPA for it. */
async function freshPool(hpaOptions: Parameters<typeof autoscaleHpa>[1] | null = {}): Promise<string> {
  const name = `pool-${++poolCounter}`;
  await observer.create("VirtualMachinePool", seedPool(name) as never);
  if (hpaOptions !== null) await observer.create("HorizontalPodAutoscaler", autoscaleHpa(name, hpaOptions));
  return name;
}

/** The Alertmanager fixture aimed at `pool`, with optional edits. */
function alertFor(pool: string, edit: (b: Json) => void = () => {}): Json {
  return edited("alertmanager/firing-cpu-high", (b) => {
    b.alerts[0].labels.pool = pool;
    edit(b);
  });
}

function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function results(response: Response): Promise<AlertResult[]> {
  return ((await response.json()) as { results: AlertResult[] }).results;
}

async function replicas(pool: string): Promise<number | undefined> {
  return (await observer.getScale("VirtualMachinePool", NS, pool))?.spec?.replicas;
}

async function hpaOf(pool: string) {
  const hpa = await observer.get("HorizontalPodAutoscaler", NS, pool);
  if (!hpa) throw new Error(`no HPA ${pool}`);
  return hpa;
}

/** The embedded cluster's fault injector (the real control plane has none). */
function faults() {
  if (!env.local) throw new Error("fault injection needs the embedded cluster");
  return env.local.faults;
}

describeClusters("the autoscale routes", (kind) => {
  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { enabled: false } });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig }, { retry: { maxAttempts: 1 } });
    observer = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    const counted = countingKube(kube);
    scales = counted.scales;
    const captured = captureLog();
    lines = captured.lines;
    const built = testRuntime({ kube: counted.kube, now: () => new Date(clock), log: captured.log });
    reconciles = built.reconciles;
    const config = autoscaleConfigFromEnv({ VMPOOL_GRAFANA_HMAC_SECRET: HMAC_SECRET });
    app = createFunctionApp(built.runtime, [(runtime) => autoscaleRoutes(runtime, config)]);
  });

  afterAll(async () => {
    await env?.close();
  });

  beforeEach(() => {
    clock = T0;
    scales.length = 0;
    reconciles.length = 0;
    lines.length = 0;
    env.local?.faults.configure({ seed: 1, rules: [] });
  });

  describe("bad input makes no write", () => {
    let pool: string;
    let before: { writes: number; pool: string | undefined; hpa: string | undefined };
    beforeAll(async () => {
      pool = await freshPool();
    });
    beforeEach(async () => {
      before = {
        writes: writeCount(kube),
        pool: (await observer.get("VirtualMachinePool", NS, pool))?.metadata.resourceVersion,
        hpa: (await hpaOf(pool)).metadata.resourceVersion,
      };
    });
    const unchanged = async () => {
      expect(writeCount(kube)).toBe(before.writes);
      expect((await observer.get("VirtualMachinePool", NS, pool))?.metadata.resourceVersion).toBe(
        before.pool,
      );
      expect((await hpaOf(pool)).metadata.resourceVersion).toBe(before.hpa);
      expect(scales).toEqual([]);
    };

    it.each<[string, Record<string, string>]>([
      // No Authorization header at all.
      ["missing credentials", {}],
      // A wrong bearer token.
      ["a wrong token", { authorization: "Bearer wrong-token" }],
    ])("answers 401 for %s", async (_case, headers) => {
      const response = await post("/hooks/alertmanager", alertFor(pool), headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { reason: "Unauthorized" } });
      await unchanged();
    });

    it.each<[string, string, unknown, string]>([
      // Not JSON at all.
      ["malformed JSON", "/hooks/alertmanager", "{not json", "body is not valid JSON"],
      // A field removed from a valid payload.
      ["a missing pool label", "/hooks/alertmanager", "no-pool", "alerts.0.labels.pool: "],
      // NaN never moves a pool.
      ["a NaN value", "/hooks/alertmanager", "nan", "alerts.0.annotations.value: "],
      // Nor does a negative value.
      ["a negative pushed value", "/hooks/metrics", "negative", "samples.0.value: "],
    ])("answers 400 for %s, naming the field", async (_case, path, body, message) => {
      const bodies: Record<string, unknown> = {
        "no-pool": alertFor(pool, (b) => delete b.alerts[0].labels.pool),
        nan: alertFor(pool, (b) => (b.alerts[0].annotations.value = "NaN")),
        negative: { samples: [{ namespace: NS, pool, value: -10 }] },
      };
      const response = await post(path, bodies[body as string] ?? body);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { message: string } };
      expect(error.message.startsWith(message)).toBe(true);
      await unchanged();
    });

    it("answers 404 for an unknown pool, with a log line", async () => {
      const response = await post("/hooks/alertmanager", alertFor("no-such-pool"));
      expect(response.status).toBe(404);
      expect(await results(response)).toEqual([
        expect.objectContaining({
          outcome: "NotFound",
          status: 404,
          reason: "NotFound",
          pool: "vmpool/default/no-such-pool",
          message: "VirtualMachinePool default/no-such-pool does not exist",
        }),
      ]);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          pool: "vmpool/default/no-such-pool",
          msg: expect.stringContaining("does not exist"),
        }),
      );
      await unchanged();
    });

    it("answers 404 for a pool no HPA targets", async () => {
      const bare = await freshPool(null);
      const response = await post("/hooks/alertmanager", alertFor(bare));
      expect(response.status).toBe(404);
      expect((await results(response))[0]).toMatchObject({ outcome: "NotFound", reason: "NoAutoscaler" });
      expect(scales).toEqual([]);
    });
  });

  describe("an Alertmanager alert reporting 100% CPU", () => {
    it("scales the pool from 3 to 6 and records the decision on the HPA like the HPA controller", async () => {
      const pool = await freshPool();
      const response = await post("/hooks/alertmanager", alertFor(pool));
      expect(response.status).toBe(200);
      expect(await results(response)).toEqual([
        {
          alert: "PoolCpuHigh/4f2a7c3b9d1e0a56",
          source: "alertmanager",
          pool: `vmpool/default/${pool}`,
          outcome: "Scaled",
          status: 200,
          reason: "SuccessfulRescale",
          message: "New size: 6; reason: cpu resource utilization (percentage of request) above target",
          from: 3,
          to: 6,
          hpa: `default/${pool}`,
        },
      ]);
      expect(await replicas(pool)).toBe(6);
      expect(scales).toEqual([`default/${pool}=6`]);
      expect(reconciles).toEqual([
        {
          ref: { kind: "VirtualMachinePool", namespace: NS, name: pool },
          reason:
            "autoscale: New size: 6; reason: cpu resource utilization (percentage of request) above target",
        },
      ]);

      const hpa = await hpaOf(pool);
      expect(hpa.status).toMatchObject({
        currentReplicas: 3,
        desiredReplicas: 6,
        lastScaleTime: "2025-06-01T12:02:00Z",
        currentMetrics: [
          { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 100 } } },
        ],
      });
      expect(hpa.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
        "AbleToScale=True/SucceededRescale",
        "ScalingActive=True/ValidMetricFound",
        "ScalingLimited=False/DesiredWithinRange",
      ]);
      // The recommendation (6) and last scale time survive a cold start; an HPA without behavior keeps no scale
      // events (upstream's legacy path caps scale-up at max(2 × current, 4) instead).
      const history = JSON.parse(hpa.metadata.annotations?.[HISTORY_ANNOTATION] ?? "{}");
      expect(history).toMatchObject({ v: 1, l: T0 });
      expect(history.r).toContainEqual([6, T0]);
      expect(hpa.metadata.annotations?.[DELIVERIES_ANNOTATION]).toBeDefined();

      const events = await observer.list("Event", {
        namespace: NS,
        fieldSelector: `involvedObject.name=${pool},involvedObject.kind=HorizontalPodAutoscaler`,
      });
      expect(
        events.map((e) => [e.type, e.reason, e.message, e.source?.component, e.involvedObject.uid]),
      ).toEqual([
        [
          "Normal",
          "SuccessfulRescale",
          "New size: 6; reason: cpu resource utilization (percentage of request) above target",
          "horizontal-pod-autoscaler",
          hpa.metadata.uid,
        ],
      ]);
    });

    it("drops the same delivery repeated: nothing changes", async () => {
      const pool = await freshPool();
      await post("/hooks/alertmanager", alertFor(pool));
      const hpaBefore = await hpaOf(pool);
      const writes = writeCount(kube);
      const again = await post("/hooks/alertmanager", alertFor(pool));
      expect(again.status).toBe(200);
      expect((await results(again))[0]).toMatchObject({ outcome: "Duplicate", reason: "DuplicateDelivery" });
      expect(await replicas(pool)).toBe(6);
      expect(scales).toHaveLength(1);
      expect(reconciles).toHaveLength(1);
      expect(writeCount(kube)).toBe(writes);
      expect((await hpaOf(pool)).metadata.resourceVersion).toBe(hpaBefore.metadata.resourceVersion);
    });

    it("writes the scale once when twenty copies of one delivery arrive at once", async () => {
      const pool = await freshPool();
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => post("/hooks/alertmanager", alertFor(pool))),
      );
      const outcomes = (await Promise.all(responses.map(results))).map((r) => r[0]?.outcome);
      expect(outcomes.filter((o) => o === "Scaled")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "Duplicate")).toHaveLength(19);
      expect(scales).toEqual([`default/${pool}=6`]);
      expect(await replicas(pool)).toBe(6);
    });

    it("treats a later resend with a new value as a new observation", async () => {
      const pool = await freshPool();
      await post("/hooks/alertmanager", alertFor(pool));
      clock = T0 + 30_000;
      const resend = await post(
        "/hooks/alertmanager",
        alertFor(pool, (b) => (b.alerts[0].annotations.value = "80")),
      );
      // ceil(6 × 80 / 50) = 10, within the default scale-up limit (max(2 × 6, 4)).
      expect((await results(resend))[0]).toMatchObject({ outcome: "Scaled", from: 6, to: 10 });
    });

    it("scales down only after the stabilization window", async () => {
      const pool = await freshPool();
      await post("/hooks/alertmanager", alertFor(pool));
      const low = (startsAt: string) =>
        edited("alertmanager/firing-cpu-low", (b) => {
          b.alerts[0].labels.pool = pool;
          b.alerts[0].startsAt = startsAt;
        });
      clock = T0 + 60_000;
      const early = await post("/hooks/alertmanager", low("2025-06-01T12:03:00Z"));
      expect((await results(early))[0]).toMatchObject({
        outcome: "Unchanged",
        reason: "ScaleDownStabilized",
        to: 6,
      });
      clock = T0 + 301_000;
      const late = await post("/hooks/alertmanager", low("2025-06-01T12:07:00Z"));
      expect((await results(late))[0]).toMatchObject({ outcome: "Scaled", from: 6, to: 3 });
      expect(await replicas(pool)).toBe(3);
    });

    it.skipIf(kind !== "embedded")(
      "survives conflicting HPA writes and still scales once (embedded only: fault injection)",
      async () => {
        const pool = await freshPool();
        faults().configure({
          seed: 7,
          rules: [
            { kind: "conflict", verbs: ["update"], resources: ["horizontalpodautoscalers"], rate: 0.5 },
          ],
        });
        const updatesBefore = kube.stats().byVerb.update ?? 0;
        const response = await post("/hooks/alertmanager", alertFor(pool));
        expect((await results(response))[0]).toMatchObject({ outcome: "Scaled", to: 6 });
        expect(scales).toEqual([`default/${pool}=6`]);
        // Without conflicts a decision takes two updates (annotations, status): some were refused and redone.
        expect((kube.stats().byVerb.update ?? 0) - updatesBefore).toBeGreaterThan(2);
      },
    );

    it.skipIf(kind !== "embedded")(
      "reports a failed scale write as FailedRescale and lets a retry decide again (embedded only: fault injection)",
      async () => {
        const pool = await freshPool();
        const desiredBefore = (await hpaOf(pool)).status?.desiredReplicas;
        faults().configure({
          seed: 1,
          rules: [{ kind: "error", verbs: ["patch"], resources: ["virtualmachinepools"], rate: 1 }],
        });
        const failed = await post("/hooks/alertmanager", alertFor(pool));
        expect(failed.status).toBe(503);
        expect((await results(failed))[0]).toMatchObject({
          outcome: "Failed",
          reason: "FailedRescale",
          status: 503,
        });
        expect(await replicas(pool)).toBe(3);
        const hpa = await hpaOf(pool);
        expect(hpa.status?.conditions?.find((c) => c.type === "AbleToScale")).toMatchObject({
          status: "False",
          reason: "FailedUpdateScale",
        });
        // The failed target is never recorded as desired: it stays as it was (kube-apiserver defaults it to 0 on
        // create) or is the current count.
        expect([desiredBefore, 3]).toContain(hpa.status?.desiredReplicas);
        const events = await observer.list("Event", {
          namespace: NS,
          fieldSelector: `involvedObject.name=${pool}`,
        });
        expect(events.map((e) => e.reason)).toEqual(["FailedRescale"]);

        faults().configure({ seed: 1, rules: [] });
        const retried = await post("/hooks/alertmanager", alertFor(pool));
        expect((await results(retried))[0]).toMatchObject({ outcome: "Scaled", to: 6 });
      },
    );
  });

  describe("standing down", () => {
    it("for a KEDA ScaledObject's HPA, saying why and writing nothing", async () => {
      const pool = await freshPool();
      const hpa = await hpaOf(pool);
      await observer.replace("HorizontalPodAutoscaler", {
        ...hpa,
        metadata: { ...hpa.metadata, labels: { "scaledobject.keda.sh/name": pool } },
      });
      const writes = writeCount(kube);
      const response = await post("/hooks/alertmanager", alertFor(pool));
      expect((await results(response))[0]).toMatchObject({
        outcome: "StoodDown",
        reason: "KedaScaledObject",
        message: expect.stringContaining(`KEDA ScaledObject ${pool}`),
      });
      expect(writeCount(kube)).toBe(writes);
      expect(lines).toContainEqual(
        expect.objectContaining({
          reason: "KedaScaledObject",
          msg: expect.stringContaining("standing down"),
        }),
      );
    });

    it("for an in-cluster HPA controller that wrote the status recently", async () => {
      const pool = await freshPool();
      clock = Date.now();
      const controller = createKube(
        { kind: "kubeconfig", path: env.kubeconfig },
        { fieldManager: "kube-controller-manager" },
      );
      const hpa = await hpaOf(pool);
      await controller.replaceStatus("HorizontalPodAutoscaler", {
        ...hpa,
        status: { currentReplicas: 3, desiredReplicas: 3 },
      });
      const response = await post("/hooks/alertmanager", alertFor(pool));
      expect((await results(response))[0]).toMatchObject({
        outcome: "StoodDown",
        reason: "HpaControllerActive",
        message: expect.stringContaining("kube-controller-manager wrote the status"),
      });
      expect(await replicas(pool)).toBe(3);
    });
  });

  describe("the other sources", () => {
    it("steps up a value-less threshold alert by the pool's step-up annotation", async () => {
      const pool = await freshPool({ annotations: { [STEP_UP_ANNOTATION]: "+2" } });
      const body = edited("alertmanager/threshold-no-value", (b) => (b.alerts[0].labels.pool = pool));
      const response = await post("/hooks/alertmanager", body);
      expect((await results(response))[0]).toMatchObject({
        outcome: "Scaled",
        to: 5,
        message: "New size: 5; reason: alert firing, step +2",
      });
    });

    it("takes a signed Grafana notification", async () => {
      const pool = await freshPool();
      const raw = JSON.stringify(edited("grafana/firing-cpu", (b) => (b.alerts[0].labels.pool = pool)));
      const response = await post("/hooks/grafana", raw, {
        "X-Grafana-Alert-Signature": grafanaSignature(HMAC_SECRET, raw),
      });
      expect(response.status).toBe(200);
      expect((await results(response))[0]).toMatchObject({ source: "grafana", outcome: "Scaled", to: 6 });
      const unsigned = await post("/hooks/grafana", raw, { authorization: `Bearer ${TOKEN}` });
      expect(unsigned.status).toBe(401);
    });

    it("takes a CloudWatch alarm over /hooks/events and de-duplicates by the EventBridge id", async () => {
      const pool = await freshPool();
      const event = edited("cloudwatch/alarm-cpu-high", (b) => {
        b.detail.configuration.metrics[0].metricStat.metric.dimensions.pool = pool;
      });
      const first = await post("/hooks/events", event);
      // trunc(99.5) = 99 → ceil(3 × 99 / 50) = 6.
      expect((await results(first))[0]).toMatchObject({ source: "cloudwatch", outcome: "Scaled", to: 6 });
      const retry = await post("/hooks/events", event);
      expect((await results(retry))[0]).toMatchObject({ outcome: "Duplicate" });
    });

    it("takes a metric push for several pools, one result per sample", async () => {
      const a = await freshPool();
      const b = await freshPool();
      const response = await post("/hooks/metrics", {
        samples: [
          { namespace: NS, pool: a, value: 100, id: "a-1" },
          { namespace: NS, pool: b, value: 20 },
          { namespace: NS, pool: "missing-pool", value: 50 },
        ],
      });
      expect(response.status).toBe(404);
      expect((await results(response)).map((r) => [r.pool, r.outcome])).toEqual([
        [`vmpool/default/${a}`, "Scaled"],
        [`vmpool/default/${b}`, "Unchanged"],
        ["vmpool/default/missing-pool", "NotFound"],
      ]);
    });

    it("reports an alarm without data as ignored", async () => {
      const pool = await freshPool();
      const event = edited("cloudwatch/alarm-cpu-high", (b) => {
        b.detail.configuration.metrics[0].metricStat.metric.dimensions.pool = pool;
        b.detail.state.value = "INSUFFICIENT_DATA";
      });
      const response = await post("/hooks/events", event);
      expect((await results(response))[0]).toMatchObject({ outcome: "Ignored", reason: "InsufficientData" });
      expect(payload("cloudwatch/alarm-cpu-high").detail.state.value).toBe("ALARM");
    });
  });
});
