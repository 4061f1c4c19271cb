/**
 * The reconcile Lambda: the EventBridge schedule runs a reconcile-all pass (inline, or — with `VMPOOL_FANOUT_BUS`
 * set — one `Pool Reconcile Requested` event per pool so each pool gets its own invocation); a per-pool event runs
 * one pass; HTTP events reach `POST /reconcile` and `POST /hooks/admission` (the API server's admission calls,
 * which with the fan-out bus set become one `Pool Reconcile Requested` event each, so the answer never waits for a
 * pass).
 */
import { randomUUID } from "node:crypto";
import {
  type FollowUpTarget,
  followUpTargetFromEnv,
  MAX_FOLLOW_UP_ATTEMPT,
  poolReconcileDetailSchema,
} from "../../infra/aws/contract";
import type { FollowUpOutcome, FollowUpRequest } from "../../infra/aws/follow-ups";
import { describeIssue } from "../../shared/config";
import { ReasonedError } from "../../shared/errors";
import { formatRef, type PassResult, reconcileAll, reconcilePool } from "../../shared/reconcile";
import { followUpDelay, followUpDelayForAttempt, needsFollowUp } from "../../shared/trigger";
import { admissionRoutes } from "../admission/routes";
import { passDeps, runtimeFromEnv } from "../bootstrap";
import { createLambdaEntry, routesFunction } from "../lambda";
import type { Runtime } from "../runtime";
import { uiRoutes } from "../ui/routes";
import { reconcileEventSchema } from "./events";
import { passSummary, reconcileRoutes } from "./routes";

/** Publishes one event per pool (the fan-out); resolves how many were sent and which failed. */
export type FanOut = (
  pools: { kind: string; namespace: string; name: string }[],
) => Promise<{ sent: number; failed: number }>;

/** Asks for a follow-up pass (a one-time schedule); resolves whether it was created now or already existed. */
export type FollowUp = (request: FollowUpRequest) => Promise<FollowUpOutcome["outcome"]>;

/** Handles one EventBridge event for the reconcile function. */
export async function onReconcileEvent(
  runtime: Runtime,
  event: Record<string, unknown>,
  fanOut?: FanOut,
  followUp?: FollowUp,
) {
  const parsed = reconcileEventSchema.safeParse(event);
  if (!parsed.success) {
    const message = `invalid reconcile event: ${describeIssue(parsed.error, "event")}`;
    runtime.log.warn({ reason: "InvalidEvent" }, message);
    return { ok: false, reason: "InvalidEvent", message };
  }
  const e = parsed.data;
  const deps = passDeps(runtime, `event-${e.id}-${randomUUID().slice(0, 8)}`);
  if (e["detail-type"] === "Scheduled Event") {
    if (fanOut) {
      const [pools, sets] = await Promise.all([
        runtime.kube.list("VirtualMachinePool"),
        runtime.kube.list("VirtualMachineInstanceReplicaSet"),
      ]);
      const refs = [
        ...pools.map((p) => ({
          kind: "VirtualMachinePool",
          namespace: p.metadata.namespace ?? "",
          name: p.metadata.name,
        })),
        ...sets.map((s) => ({
          kind: "VirtualMachineInstanceReplicaSet",
          namespace: s.metadata.namespace ?? "",
          name: s.metadata.name,
        })),
      ];
      const outcome = await fanOut(refs);
      return { ok: outcome.failed === 0, fannedOut: outcome.sent, failed: outcome.failed };
    }
    const results = await reconcileAll(deps, { concurrency: runtime.settings.VMPOOL_CONCURRENCY });
    return { ok: results.every((r) => r.outcome !== "Failed"), results: results.map(passSummary) };
  }
  const { attempt, ...ref } = e.detail;
  const result = await reconcilePool(deps, ref);
  const followed = followUp ? await askForFollowUp(runtime, followUp, result, attempt ?? 0) : undefined;
  return {
    ok: result.outcome !== "Failed",
    results: [passSummary(result)],
    ...(followed === undefined ? {} : { followUp: followed }),
  };
}

/**
 * A pass that left its pool unconverged asks for the next follow-up (attempt + 1, backoff 1 s doubling to 30 s); a
 * converged pool asks nothing, so the next event starts the backoff over. A failure to ask is logged, not thrown:
 * the timer is the safety net, and a retried invocation would run the pass again for nothing.
 */
async function askForFollowUp(
  runtime: Runtime,
  followUp: FollowUp,
  result: PassResult,
  attempt: number,
): Promise<{ attempt: number; outcome: string } | undefined> {
  if (!needsFollowUp(result)) return undefined;
  const next = Math.min(attempt + 1, MAX_FOLLOW_UP_ATTEMPT);
  const delayMs = followUpDelay(result, followUpDelayForAttempt(next));
  try {
    const outcome = await followUp({ ref: result.ref, attempt: next, delayMs, now: runtime.now() });
    runtime.log.debug({ pool: formatRef(result.ref), attempt: next, delayMs, outcome }, "follow-up");
    return { attempt: next, outcome };
  } catch (err) {
    runtime.log.warn(
      { pool: formatRef(result.ref), attempt: next, err, reason: "FollowUpFailed" },
      "could not ask for a follow-up pass; the timer will catch up",
    );
    return { attempt: next, outcome: "FollowUpFailed" };
  }
}

/**
 * The runtime with `triggerPass` publishing one per-pool event through `fanOut` (an asynchronous invocation of
 * this function per pool), so a trigger answered over HTTP never runs a pass inside its own invocation.
 */
export function withFanOutTrigger(runtime: Runtime, fanOut: FanOut | undefined): Runtime {
  if (!fanOut) return runtime;
  return {
    ...runtime,
    triggerPass: async (ref) => {
      const { failed } = await fanOut([ref]);
      if (failed > 0)
        throw new ReasonedError("FanOutFailed", "the per-pool event was not accepted", { retryable: true });
    },
  };
}

/** Builds the reconcile Lambda entry (tests pass their own runtime, fan-out and follow-up). */
export function createReconcileHandler(getRuntime: () => Runtime, fanOut?: FanOut, followUp?: FollowUp) {
  return createLambdaEntry(
    () => withFanOutTrigger(getRuntime(), fanOut),
    routesFunction([reconcileRoutes, admissionRoutes, uiRoutes], (runtime, event) =>
      onReconcileEvent(runtime, event, fanOut, followUp),
    ),
  );
}

/**
 * The fan-out the environment asks for: with `VMPOOL_FANOUT_BUS` set, one `Pool Reconcile Requested` event per pool
 * on that bus (PutEvents in batches of 10, failed entries retried); otherwise none (passes run inline). The AWS SDK
 * is loaded only when a fan-out actually happens.
 */
export function fanOutFromEnv(env: NodeJS.ProcessEnv = process.env): FanOut | undefined {
  const bus = env.VMPOOL_FANOUT_BUS;
  if (!bus) return undefined;
  return async (pools) => {
    // Only the EventBridge pieces: the infra/aws index would also pull the Lambda SDK into this bundle.
    const [{ createEventBridgeClient }, { putPoolReconcileEvents }] = await Promise.all([
      import("../../infra/aws/client"),
      import("../../infra/aws/events"),
    ]);
    const client = createEventBridgeClient(env.AWS_REGION ? { region: env.AWS_REGION } : {});
    const refs = pools.map((p) => poolReconcileDetailSchema.parse(p));
    const result = await putPoolReconcileEvents(client, bus, refs);
    return { sent: result.sent, failed: result.failed.length };
  };
}

/**
 * The follow-ups the environment configures (`VMPOOL_FOLLOW_UP_*`, see infra/aws/contract): one-time Scheduler
 * schedules onto the bus; none when unset. Throws `InvalidSettings` naming a malformed or missing variable. The
 * Scheduler SDK is loaded, and its client built, on the first follow-up.
 */
export function followUpFromEnv(env: NodeJS.ProcessEnv = process.env): FollowUp | undefined {
  const target: FollowUpTarget | undefined = followUpTargetFromEnv(env);
  if (!target) return undefined;
  let schedule: Promise<(request: FollowUpRequest) => Promise<FollowUpOutcome>> | undefined;
  return async (request) => {
    schedule ??= import("../../infra/aws/follow-ups").then(({ createSchedulerClient, scheduleFollowUp }) => {
      const client = createSchedulerClient(env.AWS_REGION ? { region: env.AWS_REGION } : {});
      return (r: FollowUpRequest) => scheduleFollowUp(client, target, r);
    });
    return (await (await schedule)(request)).outcome;
  };
}

export const handler = createReconcileHandler(() => runtimeFromEnv(), fanOutFromEnv(), followUpFromEnv());
