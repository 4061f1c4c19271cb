/**
 * The signal sources against real payload shapes: each fixture parses into the signals it means, and every
 * negative case — built by removing or overriding a field of a valid fixture — is refused with a 400 that names
 * the field, or a 401 for credentials.
 */
import { describe, expect, it } from "vitest";
import {
  AlertMappingSchema,
  autoscaleConfigFromEnv,
  grafanaSignature,
  type Signal,
  SOURCES,
} from "../../shared/autoscale";
import { ReasonedError } from "../../shared/errors";
import {
  context,
  delivery,
  edited,
  type Json,
  NOW,
  type PayloadFixture,
  payload,
  TOKEN,
} from "./autoscale-fixtures";

const { alertmanager, grafana, cloudwatch } = SOURCES;
const push = SOURCES["metric-push"];

function failure(fn: () => unknown): { reason: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReasonedError) return { reason: err.reason, status: err.status, message: err.message };
    throw err;
  }
  throw new Error("expected a failure");
}

describe("the source registry", () => {
  it("serves each source at its own route", () => {
    const paths = Object.values(SOURCES).map((source) => source.path);
    expect(paths).toEqual(["/hooks/alertmanager", "/hooks/grafana", "/hooks/events", "/hooks/metrics"]);
    for (const [name, source] of Object.entries(SOURCES)) expect(source.name).toBe(name);
  });
});

describe("Alertmanager webhook v4", () => {
  it("turns a firing alert with a value into an observation of its pool", () => {
    const [signal, ...rest] = alertmanager.parse(payload("alertmanager/firing-cpu-high"), context());
    expect(rest).toEqual([]);
    expect(signal).toMatchObject({
      source: "alertmanager",
      id: "PoolCpuHigh/4f2a7c3b9d1e0a56",
      target: { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" },
      metric: "cpu",
      kind: "observation",
      value: 100,
    });
    expect(signal?.deliveryKey).toContain(
      '{}/{severity="warning"}:{namespace="default", pool="vm-pool-cirros"}',
    );
    expect(signal?.deliveryKey).toContain("4f2a7c3b9d1e0a56|2025-06-01T12:00:00.000Z|firing|100");
  });

  it("reads percent values, kind aliases and resolved alerts of a mixed group", () => {
    const [cirros, rs] = alertmanager.parse(payload("alertmanager/two-pools-mixed"), context());
    expect(cirros).toMatchObject({ kind: "observation", value: 85.5 });
    // A resolved alert's value is stale: it is only "resolved" (step-down at most).
    expect(rs).toMatchObject({
      kind: "resolved",
      target: { kind: "VirtualMachineInstanceReplicaSet", namespace: "vms", name: "testreplicaset" },
    });
    expect(rs?.value).toBeUndefined();
  });

  it("treats an alert without a value as a firing threshold alert", () => {
    const [signal] = alertmanager.parse(payload("alertmanager/threshold-no-value"), context());
    expect(signal).toMatchObject({ kind: "firing", metric: "cpu" });
  });

  it("gives a repeated delivery the same key and a new value a new one", () => {
    const key = (body: Json) => (alertmanager.parse(body, context())[0] as Signal).deliveryKey;
    const first = key(payload("alertmanager/firing-cpu-high"));
    expect(key(payload("alertmanager/firing-cpu-high"))).toBe(first);
    const newValue = key(
      edited("alertmanager/firing-cpu-high", (b) => {
        b.alerts[0].annotations.value = "55";
      }),
    );
    expect(newValue).not.toBe(first);
  });

  it("computes a stable fingerprint when an alert has none", () => {
    const body = edited("alertmanager/firing-cpu-high", (b) => {
      delete b.alerts[0].fingerprint;
    });
    const [a] = alertmanager.parse(body, context());
    const [b] = alertmanager.parse(structuredClone(body), context());
    expect(a?.id).toMatch(/^PoolCpuHigh\/[0-9a-f]{16}$/);
    expect(a?.id).toBe(b?.id);
  });

  it("follows a configured mapping", () => {
    const mapping = AlertMappingSchema.parse({
      poolLabel: "vmpool",
      namespaceLabel: "ns",
      valueAnnotation: "observed",
      defaultNamespace: "vms",
    });
    const body = edited("alertmanager/firing-cpu-high", (b) => {
      const labels = b.alerts[0].labels;
      labels.vmpool = labels.pool;
      delete labels.pool;
      delete labels.namespace;
      b.alerts[0].annotations = { observed: "70" };
    });
    const [signal] = alertmanager.parse(body, context({ mapping }));
    expect(signal).toMatchObject({ target: { namespace: "vms", name: "vm-pool-cirros" }, value: 70 });
  });

  it.each<[string, PayloadFixture, (b: Json) => void, string]>([
    // The pool label names the target; without it there is nothing to scale.
    [
      "no pool label",
      "alertmanager/firing-cpu-high",
      (b) => delete b.alerts[0].labels.pool,
      "alerts.0.labels.pool",
    ],
    // No namespace label and no defaultNamespace in the mapping.
    [
      "no namespace label",
      "alertmanager/firing-cpu-high",
      (b) => delete b.alerts[0].labels.namespace,
      "alerts.0.labels.namespace",
    ],
    // Pool names are DNS-1123 subdomains.
    [
      "invalid pool name",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].labels.pool = "Vm_Pool"),
      "alerts.0.labels.pool",
    ],
    // Only the two pool kinds can be scaled.
    [
      "unknown pool kind",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].labels.pool_kind = "Deployment"),
      "alerts.0.labels.pool_kind",
    ],
    // NaN must never move a pool.
    [
      "NaN value",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].annotations.value = "NaN"),
      "alerts.0.annotations.value",
    ],
    // Negative utilization is nonsense.
    [
      "negative value",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].annotations.value = "-5"),
      "alerts.0.annotations.value",
    ],
    // Infinity is no observation.
    [
      "infinite value",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].annotations.value = "+Inf"),
      "alerts.0.annotations.value",
    ],
    // An empty value is a template bug, not "no value".
    [
      "empty value",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].annotations.value = ""),
      "alerts.0.annotations.value",
    ],
    // Refused even on a resolved alert, whose value is otherwise ignored.
    [
      "NaN on a resolved alert",
      "alertmanager/two-pools-mixed",
      (b) => (b.alerts[1].annotations.value = "NaN"),
      "alerts.1.annotations.value",
    ],
    // Grafana's payload (version 1) belongs to /hooks/grafana.
    ["wrong version", "alertmanager/firing-cpu-high", (b) => (b.version = "1"), "version"],
    // groupKey is part of the delivery identity.
    ["no groupKey", "alertmanager/firing-cpu-high", (b) => delete b.groupKey, "groupKey"],
    // status is firing or resolved.
    [
      "unknown alert status",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].status = "pending"),
      "alerts.0.status",
    ],
    // startsAt is part of the delivery identity.
    ["no startsAt", "alertmanager/firing-cpu-high", (b) => delete b.alerts[0].startsAt, "alerts.0.startsAt"],
    // alerts must be a list.
    ["alerts not a list", "alertmanager/firing-cpu-high", (b) => (b.alerts = {}), "alerts"],
    // Label values are strings.
    [
      "numeric label",
      "alertmanager/firing-cpu-high",
      (b) => (b.alerts[0].labels.pool = 7),
      "alerts.0.labels.pool",
    ],
  ])("refuses %s with 400 naming the field", (_case, fixture, edit, field) => {
    const refused = failure(() => alertmanager.parse(edited(fixture, edit), context()));
    expect(refused.status).toBe(400);
    expect(refused.reason).toBe("InvalidPayload");
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
  });

  it("accepts keys newer Alertmanagers add", () => {
    const body = edited("alertmanager/firing-cpu-high", (b) => {
      b.notification_reason = "repeat";
      b.routeLabels = { receiver: "vmpool-autoscale" };
      b.alerts[0].someFutureField = true;
    });
    expect(alertmanager.parse(body, context())).toHaveLength(1);
  });
});

describe("token authentication (Alertmanager, events, metrics)", () => {
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  it.each([
    // Alertmanager `authorization: {credentials}` (type Bearer by default).
    ["bearer", `Bearer ${TOKEN}`],
    // Alertmanager `basic_auth`: any username, the password is the token.
    ["basic", basic("alertmanager", TOKEN)],
  ])("accepts %s credentials", (_scheme, header) => {
    for (const source of [alertmanager, cloudwatch, push]) {
      expect(() => source.authenticate(delivery("{}", { Authorization: header }), context())).not.toThrow();
    }
  });

  it.each([
    // Nothing presented.
    ["missing", undefined, 401],
    // A wrong token.
    ["wrong bearer", "Bearer not-the-token", 401],
    // A wrong basic password.
    ["wrong basic password", basic("alertmanager", "nope"), 401],
    // Basic auth without a colon has no password.
    ["basic without password", `Basic ${Buffer.from(TOKEN).toString("base64")}`, 401],
    // Another scheme.
    ["digest", `Digest ${TOKEN}`, 401],
  ])("refuses %s credentials", (_case, header, status) => {
    const headers = header === undefined ? {} : { authorization: header };
    expect(failure(() => alertmanager.authenticate(delivery("{}", headers), context()))).toMatchObject({
      status,
      reason: "Unauthorized",
    });
  });

  it("is 503 NotConfigured when no token is configured", () => {
    const refused = failure(() =>
      alertmanager.authenticate(
        delivery("{}", { authorization: `Bearer ${TOKEN}` }),
        context({ token: undefined }),
      ),
    );
    expect(refused).toMatchObject({ status: 503, reason: "NotConfigured" });
  });
});

describe("Grafana webhook", () => {
  const hmac = { secret: "grafana-hmac-secret-0123456789", header: "X-Grafana-Alert-Signature" };

  it("parses the contact point payload into an observation", () => {
    const [signal] = grafana.parse(payload("grafana/firing-cpu"), context());
    expect(signal).toMatchObject({
      source: "grafana",
      id: "Pool CPU high/c6eadffa33fcdf37",
      kind: "observation",
      value: 100,
      target: { namespace: "default", name: "vm-pool-cirros" },
    });
  });

  it("reads the value from values[refId] when the mapping names one", () => {
    const mapping = AlertMappingSchema.parse({ grafanaValueRefId: "B" });
    const body = edited("grafana/firing-cpu", (b) => {
      delete b.alerts[0].annotations.value;
      b.alerts[0].values.B = 72.5;
    });
    expect(grafana.parse(body, context({ mapping }))[0]).toMatchObject({ kind: "observation", value: 72.5 });
    // Without a refId the same alert is a value-less threshold alert.
    expect(grafana.parse(body, context())[0]).toMatchObject({ kind: "firing" });
  });

  it.each<[string, (b: Json) => void, string]>([
    // Grafana sends null for a NaN query result.
    ["a null (NaN) value", (b) => (b.alerts[0].values.B = null), "alerts.0.values.B"],
    // Negative values are refused wherever they come from.
    ["a negative value", (b) => (b.alerts[0].values.B = -1), "alerts.0.values.B"],
  ])("refuses %s with 400", (_case, edit, field) => {
    const mapping = AlertMappingSchema.parse({ grafanaValueRefId: "B" });
    const body = edited("grafana/firing-cpu", (b) => {
      delete b.alerts[0].annotations.value;
      edit(b);
    });
    const refused = failure(() => grafana.parse(body, context({ mapping })));
    expect(refused.status).toBe(400);
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
  });

  it.each<[string, (b: Json) => void, string]>([
    // An Alertmanager payload posted to the Grafana route.
    ["version 4", (b) => (b.version = "4"), "version"],
    // orgId is always sent by Grafana.
    ["no orgId", (b) => delete b.orgId, "orgId"],
  ])("refuses a payload with %s", (_case, edit, field) => {
    const refused = failure(() => grafana.parse(edited("grafana/firing-cpu", edit), context()));
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
  });

  it("requires a valid HMAC signature over the raw body when a secret is configured", () => {
    const raw = JSON.stringify(payload("grafana/firing-cpu"));
    const signed = { [hmac.header]: grafanaSignature(hmac.secret, raw) };
    const ctx = context({ grafanaHmac: hmac, token: undefined });
    expect(() => grafana.authenticate(delivery(raw, signed), ctx)).not.toThrow();
    expect(failure(() => grafana.authenticate(delivery(`${raw} `, signed), ctx)).status).toBe(401);
    expect(failure(() => grafana.authenticate(delivery(raw, {}), ctx)).message).toContain(hmac.header);
  });

  it("covers the timestamp when a timestamp header is configured and refuses old ones", () => {
    const config = { ...hmac, timestampHeader: "X-Grafana-Alert-Timestamp" };
    const raw = JSON.stringify(payload("grafana/firing-cpu"));
    const ctx = context({ grafanaHmac: config });
    const at = (seconds: number) => ({
      [config.header]: grafanaSignature(config.secret, raw, String(seconds)),
      [config.timestampHeader]: String(seconds),
    });
    const now = Math.floor(NOW.getTime() / 1000);
    expect(() => grafana.authenticate(delivery(raw, at(now - 10)), ctx)).not.toThrow();
    expect(failure(() => grafana.authenticate(delivery(raw, at(now - 600)), ctx)).status).toBe(401);
    // A signature without the timestamp in the MAC does not verify.
    const unsigned = {
      [config.header]: grafanaSignature(config.secret, raw),
      [config.timestampHeader]: String(now),
    };
    expect(failure(() => grafana.authenticate(delivery(raw, unsigned), ctx)).message).toBe(
      "invalid signature",
    );
  });

  it("falls back to the shared token when no secret is configured", () => {
    expect(() =>
      grafana.authenticate(delivery("{}", { authorization: `Bearer ${TOKEN}` }), context()),
    ).not.toThrow();
    expect(failure(() => grafana.authenticate(delivery("{}", {}), context())).status).toBe(401);
  });
});

describe("CloudWatch alarm state change (EventBridge)", () => {
  it("takes the latest datapoint of an ALARM transition as the observation", () => {
    const [signal] = cloudwatch.parse(payload("cloudwatch/alarm-cpu-high"), context());
    expect(signal).toMatchObject({
      source: "cloudwatch",
      id: "vmpool-vm-pool-cirros-cpu-high",
      target: { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" },
      metric: "cpu",
      kind: "observation",
      deliveryKey: "eventbridge|c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    });
    expect(signal?.value).toBeCloseTo(99.5016, 3);
  });

  it("lets alarm tags override metric dimensions", () => {
    const body = edited("cloudwatch/alarm-cpu-high", (b) => {
      b.detail.alarmTags = { pool: "other-pool", pool_kind: "vmirs", metric: "memory" };
    });
    expect(cloudwatch.parse(body, context())[0]).toMatchObject({
      target: { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "other-pool" },
      metric: "memory",
    });
  });

  it.each<[string, (b: Json) => void, Partial<Signal>]>([
    // OK with a datapoint is a fresh (low) observation: transitions are edge-triggered.
    ["OK with a datapoint", (b) => (b.detail.state.value = "OK"), { kind: "observation" }],
    // No datapoints: ALARM is a firing step.
    ["ALARM without reasonData", (b) => delete b.detail.state.reasonData, { kind: "firing" }],
    // No datapoints: OK is a resolved step.
    [
      "OK without reasonData",
      (b) => {
        b.detail.state.value = "OK";
        delete b.detail.state.reasonData;
      },
      { kind: "resolved" },
    ],
    // Nothing to decide on.
    ["INSUFFICIENT_DATA", (b) => (b.detail.state.value = "INSUFFICIENT_DATA"), { kind: "ignored" }],
  ])("reads %s", (_case, edit, expected) => {
    expect(cloudwatch.parse(edited("cloudwatch/alarm-cpu-high", edit), context())[0]).toMatchObject(expected);
  });

  it.each<[string, (b: Json) => void, string]>([
    // The EventBridge id is the delivery identity.
    ["no id", (b) => delete b.id, "id"],
    // Other detail-types (configuration changes) are not state changes.
    [
      "another detail-type",
      (b) => (b["detail-type"] = "CloudWatch Alarm Configuration Change"),
      "detail-type",
    ],
    // reasonData is a JSON string inside the JSON.
    ["reasonData that is not JSON", (b) => (b.detail.state.reasonData = "{oops"), "detail.state.reasonData"],
    // Negative datapoints are refused.
    [
      "a negative datapoint",
      (b) => (b.detail.state.reasonData = JSON.stringify({ recentDatapoints: [-3] })),
      "detail.state.reasonData.recentDatapoints.0",
    ],
    // Neither a tag nor a dimension names the pool.
    ["no pool dimension or tag", (b) => (b.detail.configuration.metrics = []), "detail.alarmTags.pool"],
    // Unknown state values.
    ["an unknown state", (b) => (b.detail.state.value = "BROKEN"), "detail.state.value"],
  ])("refuses an event with %s", (_case, edit, field) => {
    const refused = failure(() => cloudwatch.parse(edited("cloudwatch/alarm-cpu-high", edit), context()));
    expect(refused.status).toBe(400);
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
  });
});

describe("plain JSON metric push", () => {
  it("turns samples into observations, de-duplicated only when they carry an id", () => {
    const [first, second] = push.parse(payload("metric-push/samples"), context());
    expect(first).toMatchObject({
      target: { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" },
      kind: "observation",
      value: 100,
      deliveryKey: "push|push-2025-06-01T12:00:00Z-vm-pool-cirros",
    });
    expect(second).toMatchObject({
      id: "cpu@vms/testreplicaset",
      target: { kind: "VirtualMachineInstanceReplicaSet", namespace: "vms", name: "testreplicaset" },
      metric: "cpu",
      value: 42.5,
    });
    expect(second?.deliveryKey).toBeUndefined();
  });

  it.each<[string, (b: Json) => void, string]>([
    // Negative values are refused.
    ["a negative value", (b) => (b.samples[0].value = -1), "samples.0.value"],
    // A value must be a JSON number.
    ["a string value", (b) => (b.samples[0].value = "100"), "samples.0.value"],
    // Our own format is strict: a typo is an error.
    ["an unknown key", (b) => (b.samples[0].vaule = 1), "samples.0"],
    // A missing value.
    ["no value", (b) => delete b.samples[1].value, "samples.1.value"],
    // No namespace and no default namespace in the mapping.
    ["no namespace", (b) => delete b.samples[0].namespace, "samples.0.namespace"],
    // Kinds are checked like alert labels.
    ["an unknown kind", (b) => (b.samples[1].kind = "Deployment"), "samples.1.kind"],
    // An empty push is a mistake.
    ["no samples", (b) => (b.samples = []), "samples"],
  ])("refuses %s with 400 naming the field", (_case, edit, field) => {
    const refused = failure(() => push.parse(edited("metric-push/samples", edit), context()));
    expect(refused.status).toBe(400);
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
  });
});

describe("autoscale settings from the environment", () => {
  it("defaults everything and parses a mapping override", () => {
    const defaults = autoscaleConfigFromEnv({});
    expect(defaults).toMatchObject({ dedupeSeconds: 300, foreignWindowSeconds: 600, grafanaHmac: undefined });
    expect(defaults.mapping.poolLabel).toBe("pool");
    const custom = autoscaleConfigFromEnv({
      VMPOOL_ALERT_MAPPING: '{"poolLabel":"vmpool"}',
      VMPOOL_GRAFANA_HMAC_SECRET: "a-grafana-secret-of-length",
      VMPOOL_AUTOSCALE_DEDUPE_SECONDS: "60",
    });
    expect(custom.mapping).toMatchObject({ poolLabel: "vmpool", namespaceLabel: "namespace" });
    expect(custom.grafanaHmac).toMatchObject({ header: "X-Grafana-Alert-Signature" });
    expect(custom.dedupeSeconds).toBe(60);
  });

  it.each([
    // Not JSON.
    ["VMPOOL_ALERT_MAPPING", "{pool"],
    // A key the mapping does not know.
    ["VMPOOL_ALERT_MAPPING", '{"poolLable":"x"}'],
    // Too short to be a secret.
    ["VMPOOL_GRAFANA_HMAC_SECRET", "short"],
    // Not a number of seconds.
    ["VMPOOL_AUTOSCALE_DEDUPE_SECONDS", "soon"],
    // A pull source that is not registered.
    ["VMPOOL_AUTOSCALE_PULL_SOURCES", "metrics-server,graphite"],
    // An interval of zero seconds.
    ["VMPOOL_AUTOSCALE_INTERVAL_SECONDS", "0"],
  ])("names %s when it is invalid", (variable, value) => {
    expect(failure(() => autoscaleConfigFromEnv({ [variable]: value })).message).toContain(variable);
  });

  it("pulls from metrics-server every 60 s unless told otherwise; none turns pulling off", () => {
    expect(autoscaleConfigFromEnv({})).toMatchObject({
      pullSources: ["metrics-server"],
      intervalSeconds: 60,
    });
    expect(autoscaleConfigFromEnv({ VMPOOL_AUTOSCALE_PULL_SOURCES: "none" }).pullSources).toEqual([]);
    expect(
      autoscaleConfigFromEnv({ VMPOOL_AUTOSCALE_PULL_SOURCES: " metrics-server , metrics-server " })
        .pullSources,
    ).toEqual(["metrics-server"]);
    expect(
      failure(() => autoscaleConfigFromEnv({ VMPOOL_AUTOSCALE_PULL_SOURCES: "graphite" })).message,
    ).toContain('unknown pull source "graphite"');
  });

  it("treats an empty variable as unset", () => {
    expect(autoscaleConfigFromEnv({ VMPOOL_GRAFANA_HMAC_SECRET: "" }).grafanaHmac).toBeUndefined();
  });
});
