/**
 * The alert shape Alertmanager and Grafana share (a group notification with `groupKey` and `alerts[]`, each with
 * `status`, `labels`, `annotations`, `startsAt`, `fingerprint`), and how one such alert becomes a signal: labels
 * name the pool and metric, the value annotation carries the observation, and groupKey + fingerprint + startsAt
 * + status + value identify the delivery (a resend carrying a new value is a new observation, not a repeat).
 */
import { z } from "zod";
import { nameMap } from "../../schemas";
import {
  type AlertMapping,
  labelsFingerprint,
  metricOf,
  parseValueText,
  resolveTarget,
  type Signal,
  type SourceName,
} from "../signal";

const LabelsSchema = nameMap(z.string());

/** One alert of a group notification (loose: upstream adds fields over time). */
export const GroupAlertSchema = z.looseObject({
  status: z.enum(["firing", "resolved"]),
  labels: LabelsSchema,
  annotations: LabelsSchema.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});
export type GroupAlert = z.infer<typeof GroupAlertSchema>;

/** The fields of a group notification both senders fill. */
export const groupFields = {
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: LabelsSchema.optional(),
  commonLabels: LabelsSchema.optional(),
  commonAnnotations: LabelsSchema.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(GroupAlertSchema),
};

/** The observed value of an alert as text plus the field it came from, or undefined when it carries none. */
export interface ValueSource {
  readonly text: string;
  readonly field: string;
}

/** Turns alert `index` of a group into a signal. */
export function alertSignal(
  source: SourceName,
  groupKey: string,
  alert: GroupAlert,
  index: number,
  mapping: AlertMapping,
  value: ValueSource | undefined,
): Signal {
  const path = `alerts.${index}`;
  const target = resolveTarget(alert.labels, mapping, `${path}.labels`);
  const metric = metricOf(alert.labels, mapping);
  const fingerprint = alert.fingerprint || labelsFingerprint(alert.labels);
  const id = `${alert.labels.alertname ?? "alert"}/${fingerprint}`;
  // Parse even for resolved alerts: a NaN or negative value is refused wherever it appears.
  const parsed = value === undefined ? undefined : parseValueText(value.text, value.field);
  const deliveryKey = [source, groupKey, fingerprint, alert.startsAt, alert.status, value?.text ?? ""].join(
    "|",
  );
  const base = { source, id, target, metric, deliveryKey };
  // A resolved alert's value is the last one seen while it fired: stale, so it only counts as "resolved".
  if (alert.status === "resolved") return { ...base, kind: "resolved" };
  return parsed === undefined ? { ...base, kind: "firing" } : { ...base, kind: "observation", value: parsed };
}
