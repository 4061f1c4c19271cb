import { register as globalRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { boundedLabel, createMetrics, metrics } from "../../shared/metrics";

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("boundedLabel", () => {
  it.each([
    // reason codes pass through
    ["LeaseHeld", "LeaseHeld"],
    // route patterns pass through
    ["/hooks/:source", "/hooks/:source"],
    // free text (spaces) never becomes a label value
    ["scale my pool to 5", "other"],
    // neither do very long strings
    ["x".repeat(65), "other"],
    // absent is spelled out
    [undefined, "none"],
    ["", "none"],
  ])("%j → %s", (value, expected) => {
    expect(boundedLabel(value)).toBe(expected);
  });
});

describe("createMetrics", () => {
  it("counts passes by kind, outcome and reason, and times them by outcome", async () => {
    const m = createMetrics();
    m.recordPass({ kind: "VirtualMachinePool", outcome: "Acted", reason: "Acted" }, 0.2);
    m.recordPass({ kind: "VirtualMachinePool", outcome: "Acted", reason: "Acted" }, 0.4);
    m.recordPass({ kind: "VirtualMachinePool", outcome: "Converged", reason: "Converged" });
    const { body, contentType } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(
      sample(body, 'vmpool_passes_total{kind="VirtualMachinePool",outcome="Acted",reason="Acted"}'),
    ).toBe(2);
    expect(
      sample(body, 'vmpool_pass_duration_seconds_count{kind="VirtualMachinePool",outcome="Acted"}'),
    ).toBe(2);
    expect(
      sample(body, 'vmpool_pass_duration_seconds_sum{kind="VirtualMachinePool",outcome="Acted"}'),
    ).toBeCloseTo(0.6);
    expect(
      sample(
        body,
        'vmpool_pass_duration_seconds_bucket{le="0.25",kind="VirtualMachinePool",outcome="Acted"}',
      ),
    ).toBe(1);
    // A pass recorded without a duration (decided from a reconcile-all snapshot) is counted, not timed.
    expect(
      sample(body, 'vmpool_pass_duration_seconds_count{kind="VirtualMachinePool",outcome="Converged"}'),
    ).toBe(0);
  });

  it("records actions, decisions, chat commands, API and HTTP errors with bounded labels", async () => {
    const m = createMetrics();
    m.recordAction({ action: "createVM", result: "ok" });
    m.recordAction({ action: "createVM", result: "failed" });
    m.recordDecision({ reason: "ScaledUp", source: "alertmanager" }, 0.05);
    m.recordChatCommand({ platform: "slack", command: "scale", outcome: "Scaled" });
    m.recordChatCommand({ platform: "slack", command: "please delete everything", outcome: "Denied" });
    m.recordApiError({ reason: "Conflict", verb: "update", kind: "HorizontalPodAutoscaler" });
    m.recordHttp("POST", "/hooks/slack", 200, 0.01);
    m.recordHttpError("Unauthorized", 401);
    m.recordReconcileAll(1.5, 7);
    const { body } = await m.render();
    expect(sample(body, 'vmpool_actions_total{action="createVM",result="ok"}')).toBe(1);
    expect(sample(body, 'vmpool_actions_total{action="createVM",result="failed"}')).toBe(1);
    expect(sample(body, 'vmpool_autoscale_decisions_total{reason="ScaledUp",source="alertmanager"}')).toBe(1);
    expect(sample(body, 'vmpool_autoscale_decision_duration_seconds_count{reason="ScaledUp"}')).toBe(1);
    expect(
      sample(body, 'vmpool_chat_commands_total{platform="slack",command="scale",outcome="Scaled"}'),
    ).toBe(1);
    expect(
      sample(body, 'vmpool_chat_commands_total{platform="slack",command="other",outcome="Denied"}'),
    ).toBe(1);
    expect(
      sample(
        body,
        'vmpool_kube_api_errors_total{reason="Conflict",verb="update",kind="HorizontalPodAutoscaler"}',
      ),
    ).toBe(1);
    expect(
      sample(
        body,
        'vmpool_http_request_duration_seconds_count{method="POST",route="/hooks/slack",status="200"}',
      ),
    ).toBe(1);
    expect(sample(body, 'vmpool_http_errors_total{reason="Unauthorized",status="401"}')).toBe(1);
    expect(sample(body, "vmpool_reconcile_all_duration_seconds_count")).toBe(1);
    expect(sample(body, "vmpool_reconcile_all_pools_total")).toBe(7);
  });

  it("keeps its own registry: separate instances and prom-client's global registry do not share series", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.recordHttpError("Busy", 503);
    expect(sample((await b.render()).body, 'vmpool_http_errors_total{reason="Busy",status="503"}')).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain("vmpool_");
    expect(metrics.registry).not.toBe(globalRegistry);
  });

  it("adds Node process metrics on request, once", async () => {
    const m = createMetrics();
    expect((await m.render()).body).not.toContain("process_cpu_user_seconds_total");
    m.collectProcessMetrics();
    m.collectProcessMetrics();
    expect((await m.render()).body).toContain("process_cpu_user_seconds_total");
  });
});
