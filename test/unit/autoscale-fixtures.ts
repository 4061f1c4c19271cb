/**
 * Loads the signal-source fixtures (test/fixtures/{alertmanager,grafana,cloudwatch,metric-push}/*.json, payload
 * shapes from the upstream documentation) as fresh clones, plus the pieces source tests share: a source context
 * and a delivery built from a body and headers.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ALERT_MAPPING, type Delivery, type SourceContext } from "../../shared/autoscale";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export type PayloadFixture =
  | "alertmanager/firing-cpu-high"
  | "alertmanager/firing-cpu-low"
  | "alertmanager/threshold-no-value"
  | "alertmanager/two-pools-mixed"
  | "grafana/firing-cpu"
  | "cloudwatch/alarm-cpu-high"
  | "metric-push/samples";

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely by tests before parsing.
export type Json = any;

/** A fresh deep copy of a payload fixture. */
export function payload(name: PayloadFixture): Json {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8"));
}

/** A fixture with `edit` applied. */
export function edited(name: PayloadFixture, edit: (body: Json) => void): Json {
  const body = payload(name);
  edit(body);
  return body;
}

export const TOKEN = "test-alertmanager-token-0123456789";
export const NOW = new Date("2025-06-01T12:02:00Z");

export function context(overrides: Partial<SourceContext> = {}): SourceContext {
  return { mapping: DEFAULT_ALERT_MAPPING, token: TOKEN, grafanaHmac: undefined, now: NOW, ...overrides };
}

/** A delivery of `body` (serialized unless already text) with the given headers. */
export function delivery(body: unknown, headers: Record<string, string> = {}): Delivery {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    rawBody: typeof body === "string" ? body : JSON.stringify(body),
    header: (name) => lower[name.toLowerCase()],
  };
}
