/**
 * The one explicit registry of signal sources: the function server serves each at its `path`, the Lambda handler
 * routes CloudWatch events to `cloudwatch`. Adding a source is one module plus one line here (SOURCES.md).
 */
import type { SourceName } from "../signal";
import { alertmanagerSource } from "./alertmanager";
import { cloudwatchSource } from "./cloudwatch";
import { grafanaSource } from "./grafana";
import { metricPushSource } from "./metric-push";
import type { SignalSource } from "./types";

export const SOURCES: Readonly<Record<SourceName, SignalSource>> = {
  alertmanager: alertmanagerSource,
  grafana: grafanaSource,
  cloudwatch: cloudwatchSource,
  "metric-push": metricPushSource,
};

export { alarmSignal } from "./cloudwatch";
export type { Delivery, SignalSource, SourceContext } from "./types";
