/**
 * The autoscale Lambda entry with fixture events against the embedded and the real control plane, as the
 * functions' own identity (the test's setup as admin): a CloudWatch alarm state change as an
 * EventBridge event, the same event redelivered, a malformed one, an unrelated detail-type, a Function URL HTTP
 * event through `hono/aws-lambda`, a retryable failure that must throw, and one runtime per cold start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAutoscaleHandler, type EventOutcome } from "../../functions/autoscale/handler";
import type { Runtime } from "../../functions/runtime";
import { createKube, type Kube } from "../../shared/kube";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { edited, payload } from "../unit/autoscale-fixtures";
import { autoscaleHpa, seedPool, TOKEN, testRuntime } from "./autoscale-support";

let env: SuiteCluster;
let kube: Kube;
let runtimeBuilds = 0;
let handler: ReturnType<typeof createAutoscaleHandler>;

function alarmEvent(pool: string, id = "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92") {
  return edited("cloudwatch/alarm-cpu-high", (b) => {
    b.id = id;
    b.detail.configuration.metrics[0].metricStat.metric.dimensions.pool = pool;
  });
}

/** A Lambda Function URL (payload 2.0) POST. */
function httpEvent(path: string, body: unknown) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
      host: "abc.lambda-url.us-east-1.on.aws",
    },
    requestContext: {
      accountId: "anonymous",
      apiId: "abc",
      domainName: "abc.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc",
      http: {
        method: "POST",
        path,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "Alertmanager/0.28.1",
      },
      requestId: "req-1",
      routeKey: "$default",
      stage: "$default",
      time: "01/Jun/2025:12:00:00 +0000",
      timeEpoch: 1748779200000,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

describeClusters("autoscale Lambda entry", (kind) => {
  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { enabled: false } });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig }, { retry: { maxAttempts: 1 } });
    const admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    for (const name of ["alarm-pool", "http-pool", "failing-pool"]) {
      await admin.create("VirtualMachinePool", seedPool(name) as never);
      await admin.create("HorizontalPodAutoscaler", autoscaleHpa(name));
    }
    runtimeBuilds = 0;
    handler = createAutoscaleHandler(async (): Promise<Runtime> => {
      runtimeBuilds++;
      return testRuntime({ kube }).runtime;
    });
  });

  afterAll(async () => {
    await env?.close();
  });

  describe("the autoscale Lambda handler", () => {
    it("decides a CloudWatch alarm event and drops its redelivery", async () => {
      const first = (await handler(alarmEvent("alarm-pool"))) as EventOutcome;
      expect(first).toMatchObject({
        kind: "report",
        report: { status: 200, results: [{ source: "cloudwatch", outcome: "Scaled", from: 3, to: 6 }] },
      });
      const again = (await handler(alarmEvent("alarm-pool"))) as EventOutcome;
      expect(again).toMatchObject({ kind: "report", report: { results: [{ outcome: "Duplicate" }] } });
      expect((await kube.getScale("VirtualMachinePool", "default", "alarm-pool"))?.spec?.replicas).toBe(6);
    });

    it("rejects a malformed event without throwing (a retry cannot fix it)", async () => {
      const broken = edited("cloudwatch/alarm-cpu-high", (b) => delete b.detail.alarmName);
      expect(await handler(broken)).toEqual({
        kind: "rejected",
        reason: "InvalidPayload",
        message: expect.stringContaining("detail.alarmName"),
      });
    });

    it("ignores EventBridge events of other detail-types", async () => {
      const other = {
        ...payload("cloudwatch/alarm-cpu-high"),
        "detail-type": "EC2 Instance State-change Notification",
        source: "aws.ec2",
      };
      expect(await handler(other)).toEqual({
        kind: "ignored",
        detailType: "EC2 Instance State-change Notification",
      });
    });

    it("serves the webhook routes to HTTP events through hono/aws-lambda", async () => {
      const body = edited("alertmanager/firing-cpu-high", (b) => (b.alerts[0].labels.pool = "http-pool"));
      const result = (await handler(httpEvent("/hooks/alertmanager", body))) as {
        statusCode: number;
        body: string;
      };
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body)).toMatchObject({
        source: "alertmanager",
        results: [{ outcome: "Scaled", to: 6 }],
      });
    });

    it.skipIf(kind !== "embedded")(
      "throws on a retryable failure so EventBridge delivers again (embedded only: fault injection)",
      async () => {
        const faults = env.local?.faults;
        if (!faults) throw new Error("fault injection needs the embedded cluster");
        faults.configure({
          seed: 1,
          rules: [{ kind: "error", verbs: ["patch"], resources: ["virtualmachinepools"], rate: 1 }],
        });
        try {
          await expect(handler(alarmEvent("failing-pool", "retry-me"))).rejects.toMatchObject({
            reason: "AutoscaleFailed",
          });
        } finally {
          faults.configure({ seed: 1, rules: [] });
        }
        const redelivered = (await handler(alarmEvent("failing-pool", "retry-me"))) as EventOutcome;
        expect(redelivered).toMatchObject({
          kind: "report",
          report: { results: [{ outcome: "Scaled", to: 6 }] },
        });
      },
    );

    it("built the runtime once for all invocations", () => {
      expect(runtimeBuilds).toBe(1);
    });

    it("runs autoscale-all on the schedule's Scheduled Event, one result per HPA of ours", async () => {
      const scheduled = {
        ...payload("cloudwatch/alarm-cpu-high"),
        "detail-type": "Scheduled Event",
        source: "aws.events",
        detail: {},
      };
      const outcome = (await handler(scheduled)) as EventOutcome;
      expect(outcome.kind).toBe("pass");
      if (outcome.kind !== "pass") return;
      const hpas = await kube.list("HorizontalPodAutoscaler", {});
      expect(outcome.pass.hpas).toBe(hpas.length);
      expect(outcome.pass.results.map((r) => r.hpa).sort()).toEqual(
        hpas.map((h) => `${h.metadata.namespace}/${h.metadata.name}`).sort(),
      );
      const { time: _time, ...untimed } = scheduled;
      expect(await handler(untimed)).toMatchObject({ kind: "rejected", reason: "InvalidEvent" });
    });
  });
});
