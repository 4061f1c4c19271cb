/**
 * The explicit registries of sources. Push (`SOURCES`): the function server serves each at its `path`, the Lambda
 * handler routes CloudWatch events to `cloudwatch`. Pull (`PULL_SOURCES`): what `VMPOOL_AUTOSCALE_PULL_SOURCES`
 * names, read by the scheduled pass and by every alert's evaluation. Adding a source is one module plus one line
 * here (SOURCES.md).
 */
import type { SourceName } from "../signal";
import { alertmanagerSource } from "./alertmanager";
import { cloudwatchSource } from "./cloudwatch";
import { cloudwatchMetricsSource } from "./cloudwatch-metrics";
import { grafanaSource } from "./grafana";
import { metricPushSource } from "./metric-push";
import { metricsServerSource } from "./metrics-server";
import { prometheusSource } from "./prometheus";
import type { PullSource, SignalSource } from "./types";

export const SOURCES: Readonly<Record<SourceName, SignalSource>> = {
  alertmanager: alertmanagerSource,
  grafana: grafanaSource,
  cloudwatch: cloudwatchSource,
  "metric-push": metricPushSource,
};

/** Pull sources by the name configuration uses. */
export const PULL_SOURCES = {
  "metrics-server": metricsServerSource,
  prometheus: prometheusSource,
  cloudwatch: cloudwatchMetricsSource,
} as const satisfies Readonly<Record<string, PullSource>>;

/** A key of `PULL_SOURCES`. */
export type PullSourceName = keyof typeof PULL_SOURCES;

export { alarmSignal } from "./cloudwatch";
export type {
  Delivery,
  PullContext,
  PullObservation,
  PullSource,
  PullTarget,
  SignalSource,
  SourceContext,
} from "./types";
