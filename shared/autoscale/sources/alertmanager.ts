/**
 * Prometheus Alertmanager webhook (`webhook_config`, payload version "4"), at `POST /hooks/alertmanager`.
 * Authenticated by the shared token as bearer or basic-auth password (Alertmanager has no signing). Facts:
 * prometheus/alertmanager `notify/webhook/webhook.go`, `template/template.go`; reference scaling-triggers.md §3.1.
 */
import { z } from "zod";
import { requireToken } from "../auth";
import { parsePayload } from "../signal";
import { alertSignal, groupFields } from "./alert-group";
import type { SignalSource } from "./types";

/** Alertmanager webhook payload v4 (loose: `notification_reason`, `routeLabels` and later keys pass through). */
export const AlertmanagerPayloadSchema = z.looseObject({
  version: z.literal("4"),
  ...groupFields,
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

export const alertmanagerSource: SignalSource = {
  name: "alertmanager",
  path: "/hooks/alertmanager",
  // The token travels in a header, so the headers alone decide.
  authenticateHeaders(headers, context) {
    requireToken(headers, context.token, "the Alertmanager webhook token (alertmanagerToken)");
  },
  authenticate(delivery, context) {
    requireToken(delivery, context.token, "the Alertmanager webhook token (alertmanagerToken)");
  },
  parse(body, context) {
    const payload = parsePayload(AlertmanagerPayloadSchema, body, "body");
    const { valueAnnotation } = context.mapping;
    return payload.alerts.map((alert, index) => {
      const text = alert.annotations[valueAnnotation];
      const value =
        text === undefined ? undefined : { text, field: `alerts.${index}.annotations.${valueAnnotation}` };
      return alertSignal("alertmanager", payload.groupKey, alert, index, context.mapping, value);
    });
  },
};
