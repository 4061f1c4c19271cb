/**
 * Grafana alerting webhook contact point (payload version "1": Alertmanager's shape plus `orgId`, `state`,
 * `title`, `message`, and per alert `values`), at `POST /hooks/grafana`. When `VMPOOL_GRAFANA_HMAC_SECRET` is set
 * the HMAC-SHA256 signature over the raw body is required and sufficient; otherwise the shared token is, as for
 * Alertmanager. The value comes from the value annotation, else from `values[<grafanaValueRefId>]` when the
 * mapping names a refId. Facts: grafana/alerting `receivers/webhook/v1/webhook.go`, `http/hmac.go`.
 */
import { z } from "zod";
import { nameMap } from "../../schemas";
import { requireHmac, requireHmacHeaders, requireToken } from "../auth";
import { checkValue, invalidPayload, parsePayload } from "../signal";
import { alertSignal, GroupAlertSchema, groupFields, type ValueSource } from "./alert-group";
import type { SignalSource } from "./types";

const GrafanaAlertSchema = GroupAlertSchema.extend({
  values: nameMap(z.number().nullable()).nullish(),
  valueString: z.string().optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  imageURL: z.string().optional(),
});

/** Grafana webhook payload v1 (loose). */
export const GrafanaPayloadSchema = z.looseObject({
  ...groupFields,
  version: z.literal("1"),
  orgId: z.number().int(),
  alerts: z.array(GrafanaAlertSchema),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
});
export type GrafanaPayload = z.infer<typeof GrafanaPayloadSchema>;
type GrafanaAlert = z.infer<typeof GrafanaAlertSchema>;

function alertValue(alert: GrafanaAlert, index: number, annotation: string, refId: string | undefined) {
  const text = alert.annotations[annotation];
  if (text !== undefined) return { text, field: `alerts.${index}.annotations.${annotation}` };
  if (refId === undefined || alert.values?.[refId] === undefined) return undefined;
  const field = `alerts.${index}.values.${refId}`;
  const raw = alert.values[refId];
  // Grafana sends null for a NaN result; that is not a value we may act on.
  if (raw === null) throw invalidPayload(field, "must be a finite number, got null (NaN)");
  return { text: String(checkValue(raw, field)), field } satisfies ValueSource;
}

export const grafanaSource: SignalSource = {
  name: "grafana",
  path: "/hooks/grafana",
  authenticateHeaders(headers, context) {
    if (context.grafanaHmac !== undefined) requireHmacHeaders(headers, context.grafanaHmac, context.now);
    else requireToken(headers, context.token, "the Grafana webhook token (alertmanagerToken)");
  },
  authenticate(delivery, context) {
    if (context.grafanaHmac !== undefined) requireHmac(delivery, context.grafanaHmac, context.now);
    else requireToken(delivery, context.token, "the Grafana webhook token (alertmanagerToken)");
  },
  parse(body, context) {
    const payload = parsePayload(GrafanaPayloadSchema, body, "body");
    const { valueAnnotation, grafanaValueRefId } = context.mapping;
    return payload.alerts.map((alert, index) =>
      alertSignal(
        "grafana",
        payload.groupKey,
        alert,
        index,
        context.mapping,
        alertValue(alert, index, valueAnnotation, grafanaValueRefId),
      ),
    );
  },
};
