/**
 * The autoscale function's settings from the environment, parsed once by one schema: the alert mapping
 * (`VMPOOL_ALERT_MAPPING`, JSON), Grafana's optional HMAC secret and headers, how long delivery keys are
 * remembered, how recently another manager must have written an HPA's status for us to stand down, and which
 * pull sources the scheduled pass reads at what interval.
 */
import { z } from "zod";
import { describeIssue } from "../config";
import { ReasonedError } from "../errors";
import { GRAFANA_SIGNATURE_HEADER, type HmacConfig } from "./auth";
import { type AlertMapping, AlertMappingSchema } from "./signal";
import { PULL_SOURCES, type PullSourceName } from "./sources";

/** Unset and empty variables mean the same: not configured. */
const optional = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const mappingJson = z.string().transform((text, ctx): AlertMapping => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not JSON" });
    return z.NEVER;
  }
  const parsed = AlertMappingSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: describeIssue(parsed.error, "mapping") });
    return z.NEVER;
  }
  return parsed.data;
});

const pullSourceNames = Object.keys(PULL_SOURCES) as PullSourceName[];

/** `metrics-server,prometheus`: pull sources in the order they are asked; `none` turns pulling off. */
const pullSourceList = z.string().transform((text, ctx): PullSourceName[] => {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 1 && names[0] === "none") return [];
  const unknown = names.filter((name) => !(pullSourceNames as string[]).includes(name));
  if (unknown.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `unknown pull source ${unknown.map((n) => JSON.stringify(n)).join(", ")} (known: ${pullSourceNames.join(", ")}, or none)`,
    });
    return z.NEVER;
  }
  return [...new Set(names as PullSourceName[])];
});

export const autoscaleEnvSchema = z.object({
  /** JSON overriding fields of the alert mapping, e.g. `{"poolLabel":"vmpool","defaultNamespace":"vms"}`. */
  VMPOOL_ALERT_MAPPING: optional(mappingJson),
  /** Grafana contact point HMAC secret; when set, Grafana deliveries must be signed with it. */
  VMPOOL_GRAFANA_HMAC_SECRET: optional(z.string().min(16)),
  VMPOOL_GRAFANA_HMAC_HEADER: optional(z.string().min(1)),
  /** Set when the contact point sends a timestamp header (the MAC then covers it; replays are refused). */
  VMPOOL_GRAFANA_HMAC_TIMESTAMP_HEADER: optional(z.string().min(1)),
  /** Seconds a delivery key is remembered (covers sender retries); a later resend counts as a new observation. */
  VMPOOL_AUTOSCALE_DEDUPE_SECONDS: optional(z.coerce.number().int().min(0).max(86_400)),
  /** A status write by another manager within this many seconds means an HPA controller is active. */
  VMPOOL_AUTOSCALE_FOREIGN_WINDOW_SECONDS: optional(z.coerce.number().int().min(0).max(86_400)),
  /** Where the scheduled pass and every alert's evaluation read current metrics (default `metrics-server`). */
  VMPOOL_AUTOSCALE_PULL_SOURCES: optional(pullSourceList),
  /** The scheduled pass's interval (Lambda: its EventBridge schedule, `rate(1 minute)`; `npm start`: 15). */
  VMPOOL_AUTOSCALE_INTERVAL_SECONDS: optional(z.coerce.number().int().min(1).max(86_400)),
});

export interface AutoscaleConfig {
  readonly mapping: AlertMapping;
  readonly grafanaHmac: HmacConfig | undefined;
  readonly dedupeSeconds: number;
  readonly foreignWindowSeconds: number;
  /** Pull sources in the order they are asked (empty: alerts only). */
  readonly pullSources: readonly PullSourceName[];
  readonly intervalSeconds: number;
}

export const DEFAULT_DEDUPE_SECONDS = 300;
export const DEFAULT_FOREIGN_WINDOW_SECONDS = 600;
export const DEFAULT_PULL_SOURCES: readonly PullSourceName[] = ["metrics-server"];
/** EventBridge's finest schedule, `rate(1 minute)`: the scheduled pass's interval on Lambda. */
export const DEFAULT_AUTOSCALE_INTERVAL_SECONDS = 60;

/** Parses the autoscale settings; the error names the variable. */
export function autoscaleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AutoscaleConfig {
  const parsed = autoscaleEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  const e = parsed.data;
  return {
    mapping: e.VMPOOL_ALERT_MAPPING ?? AlertMappingSchema.parse({}),
    grafanaHmac:
      e.VMPOOL_GRAFANA_HMAC_SECRET === undefined
        ? undefined
        : {
            secret: e.VMPOOL_GRAFANA_HMAC_SECRET,
            header: e.VMPOOL_GRAFANA_HMAC_HEADER ?? GRAFANA_SIGNATURE_HEADER,
            timestampHeader: e.VMPOOL_GRAFANA_HMAC_TIMESTAMP_HEADER,
          },
    dedupeSeconds: e.VMPOOL_AUTOSCALE_DEDUPE_SECONDS ?? DEFAULT_DEDUPE_SECONDS,
    foreignWindowSeconds: e.VMPOOL_AUTOSCALE_FOREIGN_WINDOW_SECONDS ?? DEFAULT_FOREIGN_WINDOW_SECONDS,
    pullSources: e.VMPOOL_AUTOSCALE_PULL_SOURCES ?? DEFAULT_PULL_SOURCES,
    intervalSeconds: e.VMPOOL_AUTOSCALE_INTERVAL_SECONDS ?? DEFAULT_AUTOSCALE_INTERVAL_SECONDS,
  };
}
