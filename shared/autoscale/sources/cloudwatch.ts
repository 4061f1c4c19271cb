/**
 * CloudWatch "Alarm State Change" events from EventBridge: delivered to the Lambda handler as the event itself,
 * or over HTTP at `POST /hooks/events` by an EventBridge API destination (whose connection sends the shared token
 * as `Authorization: Bearer <token>` — auth type API_KEY with key `Authorization` — or as basic-auth password).
 * The pool is named by the alarm's tags (`alarmTags`, when tag propagation is on) or, failing that, by the
 * dimensions of its metric, using the same label names as alerts. ALARM and OK transitions carry the latest
 * datapoint (`state.reasonData.recentDatapoints`, a JSON string), which is the observation; without datapoints
 * ALARM is a firing step and OK a resolved one; INSUFFICIENT_DATA is ignored. The EventBridge `id` identifies
 * the delivery. Facts: CloudWatch user guide "Alarm events and EventBridge"; reference scaling-triggers.md §3.3.
 */
import { z } from "zod";
import { ALARM_STATE_CHANGE_DETAIL_TYPE, CLOUDWATCH_SOURCE } from "../../../infra/aws/contract";
import { FIRST_ISSUE, nameMap } from "../../schemas";
import { requireToken } from "../auth";
import { checkValue, invalidPayload, metricOf, parsePayload, resolveTarget, type Signal } from "../signal";
import type { SignalSource } from "./types";

const StateSchema = z.looseObject({
  value: z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]),
  reason: z.string().optional(),
  reasonData: z.string().optional(),
  timestamp: z.string().optional(),
});

const AlarmMetricSchema = z.looseObject({
  id: z.string().optional(),
  metricStat: z
    .looseObject({
      metric: z.looseObject({
        namespace: z.string().optional(),
        name: z.string().optional(),
        dimensions: nameMap(z.string()).optional(),
      }),
      period: z.number().optional(),
      stat: z.string().optional(),
    })
    .optional(),
  expression: z.string().optional(),
  returnData: z.boolean().optional(),
});

/** The EventBridge envelope of a CloudWatch alarm state change (loose). */
export const AlarmStateChangeSchema = z.looseObject({
  version: z.string(),
  id: z.string().min(1),
  "detail-type": z.literal(ALARM_STATE_CHANGE_DETAIL_TYPE),
  source: z.literal(CLOUDWATCH_SOURCE),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    alarmName: z.string().min(1),
    state: StateSchema,
    previousState: StateSchema.optional(),
    configuration: z
      .looseObject({
        description: z.string().nullish(),
        metrics: z.array(AlarmMetricSchema).optional(),
      })
      .optional(),
    alarmTags: nameMap(z.string()).optional(),
  }),
});
export type AlarmStateChange = z.infer<typeof AlarmStateChangeSchema>;

const ReasonDataSchema = z.looseObject({ recentDatapoints: z.array(z.number()).optional() });

/** Dimensions of every metric (first wins), overridden by the alarm's tags. */
function labelsOf(event: AlarmStateChange): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const metric of event.detail.configuration?.metrics ?? []) {
    for (const [key, value] of Object.entries(metric.metricStat?.metric.dimensions ?? {}))
      labels[key] ??= value;
  }
  return { ...labels, ...event.detail.alarmTags };
}

/** The most recent datapoint in `reasonData`, or undefined when the alarm reports none. */
function latestDatapoint(reasonData: string | undefined): number | undefined {
  if (reasonData === undefined || reasonData === "") return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(reasonData);
  } catch {
    throw invalidPayload("detail.state.reasonData", "is not JSON");
  }
  const parsed = ReasonDataSchema.safeParse(raw, FIRST_ISSUE);
  if (!parsed.success)
    throw invalidPayload("detail.state.reasonData.recentDatapoints", "must be a list of numbers");
  const points = parsed.data.recentDatapoints ?? [];
  for (const [index, point] of points.entries()) {
    checkValue(point, `detail.state.reasonData.recentDatapoints.${index}`);
  }
  return points.at(-1);
}

/** The signal of one alarm state change (shared by the HTTP route and the Lambda event path). */
export function alarmSignal(body: unknown, context: Parameters<SignalSource["parse"]>[1]): Signal {
  const event = parsePayload(AlarmStateChangeSchema, body, "event");
  const labels = labelsOf(event);
  const target = resolveTarget(labels, context.mapping, "detail.alarmTags");
  const base = {
    source: "cloudwatch" as const,
    id: event.detail.alarmName,
    target,
    metric: metricOf(labels, context.mapping),
    deliveryKey: `eventbridge|${event.id}`,
  };
  const state = event.detail.state;
  if (state.value === "INSUFFICIENT_DATA") {
    return {
      ...base,
      kind: "ignored",
      note: { reason: "InsufficientData", message: `alarm ${event.detail.alarmName} has insufficient data` },
    };
  }
  const value = latestDatapoint(state.reasonData);
  if (value !== undefined) return { ...base, kind: "observation", value };
  return { ...base, kind: state.value === "ALARM" ? "firing" : "resolved" };
}

export const cloudwatchSource: SignalSource = {
  name: "cloudwatch",
  path: "/hooks/events",
  // The token travels in a header, so the headers alone decide.
  authenticateHeaders(headers, context) {
    requireToken(headers, context.token, "the events webhook token (alertmanagerToken)");
  },
  authenticate(delivery, context) {
    requireToken(delivery, context.token, "the events webhook token (alertmanagerToken)");
  },
  parse(body, context) {
    return [alarmSignal(body, context)];
  },
};
