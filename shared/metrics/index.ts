/**
 * shared/metrics owns the functions' Prometheus metrics: a prom-client Registry of our own (never the library's
 * global one, which other packages may write to), the counters and histograms each trigger records into, and the
 * text that `GET /metrics` serves. Recording is a handful of domain verbs on `metrics`, the process-wide instance;
 * label values are bounded (codes, not user text), so no caller can explode cardinality by accident.
 *
 * Who records what:
 * - `recordPass({ kind, outcome, reason }, seconds?)`: one reconcile pass of one pool (shared/reconcile).
 * - `recordReconcileAll(seconds, pools)`: one reconcile-all pass (shared/reconcile).
 * - `recordAction({ action, result })`: one planned write and how it went (shared/reconcile).
 * - `recordDecision({ reason, source? }, seconds?)`: one autoscale decision for one pool; `reason` is the
 *   decision's reason code (e.g. `ScaledUp`, `ScaleDownStabilized`, `AlreadyAtDesired`), `source` the signal
 *   source (`alertmanager`, `cloudwatch`, …).
 * - `recordChatCommand({ platform, command, outcome })`: one chat command; `command` is the parsed verb
 *   (`scale`, `pause`, …) and `outcome` its reason code, never the raw text a user typed.
 * - `recordApiError({ reason, verb, kind })`: one failed Kubernetes API attempt (shared/kube), by KubeError reason.
 * - `recordHttp(...)` / `recordHttpError(...)`: the function server's answers (functions/app.ts).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** Pass and decision latencies span a few ms (converged pools) to tens of seconds (a burst of creates). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];

const LABEL_VALUE = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** A label value as given when it looks like a code, else `other`: labels never carry free text. */
export function boundedLabel(value: string | undefined): string {
  if (value === undefined || value === "") return "none";
  return LABEL_VALUE.test(value) ? value : "other";
}

export interface PassRecord {
  /** `VirtualMachinePool` or `VirtualMachineInstanceReplicaSet`. */
  readonly kind: string;
  /** `Converged`, `Acted`, `Failed`, … (shared/reconcile's PassOutcome). */
  readonly outcome: string;
  readonly reason: string;
}

export interface ActionRecord {
  /** The planner's action kind (`createVM`, `deleteVMI`, …). */
  readonly action: string;
  readonly result: "ok" | "failed" | "skipped";
}

export interface DecisionRecord {
  readonly reason: string;
  readonly source?: string;
}

export interface ChatCommandRecord {
  readonly platform: string;
  readonly command: string;
  readonly outcome: string;
}

export interface ApiErrorRecord {
  readonly reason: string;
  readonly verb: string;
  readonly kind: string;
}

/** The metrics of one registry. */
export interface Metrics {
  readonly registry: Registry;
  recordPass(pass: PassRecord, seconds?: number): void;
  recordReconcileAll(seconds: number, pools: number): void;
  recordAction(action: ActionRecord): void;
  recordDecision(decision: DecisionRecord, seconds?: number): void;
  recordChatCommand(command: ChatCommandRecord): void;
  recordApiError(error: ApiErrorRecord): void;
  /** One HTTP answer; `route` is the matched route pattern, never the raw path. */
  recordHttp(method: string, route: string, status: number, seconds: number): void;
  /** One error answer rendered from a reason code. */
  recordHttpError(reason: string, status: number): void;
  /** Adds Node process metrics (CPU, memory, event loop); for long-running servers, once. */
  collectProcessMetrics(): void;
  /** The Prometheus text exposition and its content type. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/** A fresh set of metrics in its own registry (tests; the process uses `metrics`). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const passes = new Counter({
    name: "vmpool_passes_total",
    help: "Reconcile passes of one pool, by pool kind, outcome and reason.",
    labelNames: ["kind", "outcome", "reason"] as const,
    registers,
  });
  const passSeconds = new Histogram({
    name: "vmpool_pass_duration_seconds",
    help: "Duration of one pool's reconcile pass (observe, plan, act, status), by outcome.",
    labelNames: ["kind", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const allSeconds = new Histogram({
    name: "vmpool_reconcile_all_duration_seconds",
    help: "Duration of a reconcile-all pass (one list per kind, then a locked pass per pool with work).",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const allPools = new Counter({
    name: "vmpool_reconcile_all_pools_total",
    help: "Pools visited by reconcile-all passes.",
    registers,
  });
  const actions = new Counter({
    name: "vmpool_actions_total",
    help: "Planned Kubernetes writes, by action kind and result (ok, failed, skipped).",
    labelNames: ["action", "result"] as const,
    registers,
  });
  const decisions = new Counter({
    name: "vmpool_autoscale_decisions_total",
    help: "Autoscale decisions, by reason and signal source.",
    labelNames: ["reason", "source"] as const,
    registers,
  });
  const decisionSeconds = new Histogram({
    name: "vmpool_autoscale_decision_duration_seconds",
    help: "Duration of one autoscale decision for one pool (read, decide, write), by reason.",
    labelNames: ["reason"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const chat = new Counter({
    name: "vmpool_chat_commands_total",
    help: "Chat commands, by platform, command verb and outcome.",
    labelNames: ["platform", "command", "outcome"] as const,
    registers,
  });
  const apiErrors = new Counter({
    name: "vmpool_kube_api_errors_total",
    help: "Failed Kubernetes API attempts (retried ones included), by reason, verb and kind.",
    labelNames: ["reason", "verb", "kind"] as const,
    registers,
  });
  const http = new Histogram({
    name: "vmpool_http_request_duration_seconds",
    help: "Function server answers, by method, route pattern and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const httpErrors = new Counter({
    name: "vmpool_http_errors_total",
    help: "Function server error answers, by reason and status.",
    labelNames: ["reason", "status"] as const,
    registers,
  });
  let processMetrics = false;

  return {
    registry,
    recordPass(pass, seconds) {
      const kind = boundedLabel(pass.kind);
      const outcome = boundedLabel(pass.outcome);
      passes.inc({ kind, outcome, reason: boundedLabel(pass.reason) });
      if (seconds !== undefined) passSeconds.observe({ kind, outcome }, seconds);
    },
    recordReconcileAll(seconds, pools) {
      allSeconds.observe(seconds);
      allPools.inc(pools);
    },
    recordAction(action) {
      actions.inc({ action: boundedLabel(action.action), result: action.result });
    },
    recordDecision(decision, seconds) {
      const reason = boundedLabel(decision.reason);
      decisions.inc({ reason, source: boundedLabel(decision.source) });
      if (seconds !== undefined) decisionSeconds.observe({ reason }, seconds);
    },
    recordChatCommand(command) {
      chat.inc({
        platform: boundedLabel(command.platform),
        command: boundedLabel(command.command),
        outcome: boundedLabel(command.outcome),
      });
    },
    recordApiError(error) {
      apiErrors.inc({
        reason: boundedLabel(error.reason),
        verb: boundedLabel(error.verb),
        kind: boundedLabel(error.kind),
      });
    },
    recordHttp(method, route, status, seconds) {
      http.observe(
        { method: boundedLabel(method), route: boundedLabel(route), status: String(status) },
        seconds,
      );
    },
    recordHttpError(reason, status) {
      httpErrors.inc({ reason: boundedLabel(reason), status: String(status) });
    },
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** The process-wide metrics every runtime records into and `GET /metrics` serves. */
export const metrics: Metrics = createMetrics();
