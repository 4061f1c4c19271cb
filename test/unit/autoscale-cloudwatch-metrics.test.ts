/**
 * The CloudWatch GetMetricData pull source with CloudWatch mocked (aws-sdk-client-mock): one call for every
 * target of a pass with the queries named on the HPA or in the mapping (placeholders and the metric's
 * matchLabels as dimensions), the newest datapoint as the value across pages, and errors instead of values for a
 * failed query, a failed call or no datapoints; settings from the environment.
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
} from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  CLOUDWATCH_QUERIES_ANNOTATION,
  type CloudWatchSettings,
  cloudwatchPullSource,
  cloudwatchSettingsFromEnv,
} from "../../shared/autoscale/sources/cloudwatch-metrics";
import type { PullTarget } from "../../shared/autoscale/sources/types";
import type { Kube } from "../../shared/kube";
import { normalizeHpa } from "../../shared/schemas";

const mock = mockClient(CloudWatchClient);
afterEach(() => mock.reset());

const NOW = new Date("2026-06-01T12:00:00Z");
const context = { kube: {} as Kube, log: pino({ level: "silent" }), now: NOW };

const QUEUE_METRIC = {
  type: "External",
  external: {
    metric: { name: "queue_depth", selector: { matchLabels: { Stage: "prod" } } },
    target: { type: "AverageValue", averageValue: "10" },
  },
};

function target(name: string, annotations: Record<string, string> = {}): PullTarget {
  const hpa = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, namespace: "default", annotations },
    spec: {
      scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1beta1", kind: "VirtualMachinePool", name },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [QUEUE_METRIC],
    },
  };
  return {
    hpa: hpa as unknown as PullTarget["hpa"],
    spec: normalizeHpa(hpa),
    target: { kind: "VirtualMachinePool", namespace: "default", name },
    selector: undefined,
    replicas: 2,
    statusReplicas: 2,
  };
}

const settings: CloudWatchSettings = {
  region: "eu-west-1",
  lookbackPeriods: 5,
  queries: {
    queue_depth: {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "{{namespace}}-{{pool}}" },
      stat: "Maximum",
      periodSeconds: 60,
    },
  },
};

function source(s: CloudWatchSettings = settings) {
  return cloudwatchPullSource({ settings: s, client: new CloudWatchClient({ region: "eu-west-1" }) });
}

describe("the CloudWatch pull source", () => {
  it("reads every target's metric in one GetMetricData call and takes each query's newest datapoint", async () => {
    mock.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: "q0_0",
          Values: [40, 7],
          Timestamps: [new Date("2026-06-01T11:59:00Z"), new Date("2026-06-01T11:58:00Z")],
          StatusCode: "Complete",
        },
        { Id: "q1_0", Values: [3], Timestamps: [new Date("2026-06-01T11:59:00Z")], StatusCode: "Complete" },
      ],
    });
    const observed = await source().observe([target("web"), target("batch")], context);
    expect(observed.map((o) => o.metrics)).toEqual([
      { "External/queue_depth": { value: 40 } },
      { "External/queue_depth": { value: 3 } },
    ]);
    const calls = mock.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.ScanBy).toBe("TimestampDescending");
    expect(input?.EndTime).toEqual(NOW);
    // Five periods of 60 s back.
    expect(input?.StartTime).toEqual(new Date(NOW.getTime() - 300_000));
    expect(input?.MetricDataQueries?.[0]).toEqual({
      Id: "q0_0",
      MetricStat: {
        Metric: {
          Namespace: "AWS/SQS",
          MetricName: "ApproximateNumberOfMessagesVisible",
          Dimensions: [
            { Name: "QueueName", Value: "default-web" },
            { Name: "Stage", Value: "prod" },
          ],
        },
        Period: 60,
        Stat: "Maximum",
      },
      ReturnData: true,
    });
  });

  it("follows NextToken and keeps the newest datapoint of any page", async () => {
    mock
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [{ Id: "q0_0", Values: [5], Timestamps: [new Date("2026-06-01T11:57:00Z")] }],
        NextToken: "page-2",
      })
      .resolvesOnce({
        MetricDataResults: [{ Id: "q0_0", Values: [9], Timestamps: [new Date("2026-06-01T11:59:00Z")] }],
      });
    const [observed] = await source().observe([target("web")], context);
    expect(observed?.metrics).toEqual({ "External/queue_depth": { value: 9 } });
    expect(mock.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      "page-2",
    ]);
  });

  it("uses an expression named on the HPA instead of the mapping", async () => {
    mock
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: "q0_0", Values: [12], Timestamps: [NOW] }] });
    const annotations = {
      [CLOUDWATCH_QUERIES_ANNOTATION]: JSON.stringify({
        queue_depth: {
          expression: "SELECT SUM(Backlog) FROM jobs WHERE pool = '{{pool}}'",
          periodSeconds: 30,
        },
      }),
    };
    const [observed] = await source().observe([target("web", annotations)], context);
    expect(observed?.metrics).toEqual({ "External/queue_depth": { value: 12 } });
    expect(mock.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries).toEqual([
      {
        Id: "q0_0",
        Expression: "SELECT SUM(Backlog) FROM jobs WHERE pool = 'web'",
        Period: 30,
        ReturnData: true,
      },
    ]);
  });

  it.each([
    // No datapoint in the lookback: unavailable, never 0 …
    [
      { MetricDataResults: [{ Id: "q0_0", Values: [], Timestamps: [] }] },
      { error: "CloudWatch returned no datapoints" },
    ],
    // … and a query CloudWatch could not run says why.
    [
      {
        MetricDataResults: [
          {
            Id: "q0_0",
            StatusCode: "Forbidden",
            Messages: [{ Code: "Forbidden", Value: "no access to AWS/SQS" }],
          },
        ],
      },
      { error: "CloudWatch query failed (Forbidden): no access to AWS/SQS" },
    ],
  ] satisfies [
    GetMetricDataCommandOutput | Omit<GetMetricDataCommandOutput, "$metadata">,
    { error: string },
  ][])("gives an error instead of a value (%#)", async (answer, expected) => {
    mock.on(GetMetricDataCommand).resolves(answer);
    const [observed] = await source().observe([target("web")], context);
    expect(observed?.metrics).toEqual({ "External/queue_depth": expected });
  });

  it("uses emptyValue when CloudWatch has no datapoint and the query says so", async () => {
    mock.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const withEmpty: CloudWatchSettings = {
      ...settings,
      queries: { queue_depth: { expression: "SUM(METRICS())", periodSeconds: 60, emptyValue: 0 } },
    };
    const [observed] = await source(withEmpty).observe([target("web")], context);
    expect(observed?.metrics).toEqual({ "External/queue_depth": { value: 0 } });
  });

  it("fails every metric of the call, with the SDK's message, when GetMetricData fails", async () => {
    mock.on(GetMetricDataCommand).rejects(new Error("Rate exceeded"));
    const observed = await source().observe([target("web"), target("batch")], context);
    expect(observed.map((o) => o.metrics["External/queue_depth"]?.error)).toEqual([
      "unable to fetch metrics from CloudWatch: Rate exceeded",
      "unable to fetch metrics from CloudWatch: Rate exceeded",
    ]);
  });

  it("handles only External/Object metrics that have a query", () => {
    const s = source();
    const t = target("web");
    const metric = t.spec.metrics[0];
    if (metric === undefined) throw new Error("no metric");
    expect(s.handles(metric, t.hpa)).toBe(true);
    expect(source({ ...settings, queries: {} }).handles(metric, t.hpa)).toBe(false);
  });

  it("takes a metric whose annotation is broken, to say so on the HPA", async () => {
    const broken = target("web", { [CLOUDWATCH_QUERIES_ANNOTATION]: "{" });
    const metric = broken.spec.metrics[0];
    if (metric === undefined) throw new Error("no metric");
    const s = source({ ...settings, queries: {} });
    expect(s.handles(metric, broken.hpa)).toBe(true);
    const [observed] = await s.observe([broken], context);
    expect(observed?.metrics).toEqual({
      "External/queue_depth": { error: "annotation vmpool-functions.io/cloudwatch-queries is not JSON" },
    });
    expect(mock.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe("CloudWatch settings from the environment", () => {
  it("reads the mapping, region and lookback, and names a bad variable", () => {
    expect(
      cloudwatchSettingsFromEnv({
        AWS_REGION: "us-east-1",
        VMPOOL_CLOUDWATCH_QUERIES: '{"q":{"expression":"SUM(METRICS())"}}',
        VMPOOL_CLOUDWATCH_LOOKBACK_PERIODS: "3",
      }),
    ).toEqual({
      region: "us-east-1",
      lookbackPeriods: 3,
      endpoint: undefined,
      queries: { q: { expression: "SUM(METRICS())", periodSeconds: 60 } },
    });
    expect(() =>
      cloudwatchSettingsFromEnv({ VMPOOL_CLOUDWATCH_QUERIES: '{"q":{"metricName":"x"}}' }),
    ).toThrow(/VMPOOL_CLOUDWATCH_QUERIES/);
  });
});
