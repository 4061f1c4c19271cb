/**
 * The autoscale Lambda entry: the schedule's `Scheduled Event` runs `autoscale-all` (every HPA, read from the pull
 * sources), CloudWatch alarm state changes are decided directly (each an immediate evaluation), anything else is
 * an HTTP event for the webhook routes through `hono/aws-lambda`. The runtime and the app are built once
 * per cold start. A retryable failure throws so EventBridge (and Lambda's async retries) deliver again; repeats of
 * what already succeeded are dropped by the delivery ledger on the HPA.
 */
import { z } from "zod";
import { ALARM_STATE_CHANGE_DETAIL_TYPE } from "../../infra/aws/contract";
import {
  type AutoscaleAllReport,
  type AutoscaleConfig,
  type AutoscaleReport,
  alarmSignal,
  autoscale,
  autoscaleAll,
  autoscaleConfigFromEnv,
  type Signal,
} from "../../shared/autoscale";
import { ReasonedError } from "../../shared/errors";
import { createFunctionApp } from "../app";
import { runtimeFromEnv } from "../bootstrap";
import { createLambdaEntry } from "../lambda";
import type { Runtime } from "../runtime";
import { autoscaleDeps, autoscaleRoutes, sourceContext } from "./routes";

/** What an EventBridge invocation returns (Lambda ignores it for async invocations; tests and logs read it). */
export type EventOutcome =
  | { readonly kind: "report"; readonly report: AutoscaleReport }
  | { readonly kind: "pass"; readonly pass: AutoscaleAllReport }
  | { readonly kind: "rejected"; readonly reason: string; readonly message: string }
  | { readonly kind: "ignored"; readonly detailType: string };

/** Builds the handler; `getRuntime` runs once per cold start (again after a failure). */
export function createAutoscaleHandler(getRuntime: () => Runtime | Promise<Runtime>) {
  return createLambdaEntry(getRuntime, {
    prepare: () => autoscaleConfigFromEnv(),
    app: (config, runtime) => createFunctionApp(runtime, [(r) => autoscaleRoutes(r, config)]),
    onEvent: (config, runtime, event) =>
      onEvent({ runtime, config }, event as { "detail-type": string; source: string }),
  });
}

/** What an EventBridge invocation works with. */
interface ColdStart {
  readonly runtime: Runtime;
  readonly config: AutoscaleConfig;
}

/** The autoscale schedule's event (EventBridge `rate(1 minute)`, the floor there). */
const scheduledEventSchema = z.looseObject({
  id: z.string().min(1),
  source: z.literal("aws.events"),
  "detail-type": z.literal("Scheduled Event"),
  time: z.string().min(1),
});

async function onEvent(
  { runtime, config }: ColdStart,
  event: { "detail-type": string; source: string },
): Promise<EventOutcome> {
  const log = runtime.log.child({ function: "autoscale" });
  if (event["detail-type"] === "Scheduled Event") {
    const parsed = scheduledEventSchema.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const message = `${issue?.path.join(".") || "event"}: ${issue?.message ?? "invalid"}`;
      log.error({ reason: "InvalidEvent" }, message);
      return { kind: "rejected", reason: "InvalidEvent", message };
    }
    // One HPA's failure is its own result; only an unreadable HPA list throws (and EventBridge retries).
    const pass = await autoscaleAll(autoscaleDeps(runtime, config));
    return { kind: "pass", pass };
  }
  if (event["detail-type"] !== ALARM_STATE_CHANGE_DETAIL_TYPE) {
    log.info(
      { detailType: event["detail-type"], source: event.source },
      "ignoring an event autoscale does not handle",
    );
    return { kind: "ignored", detailType: event["detail-type"] };
  }
  let signal: Signal;
  try {
    signal = alarmSignal(event, sourceContext(runtime, config));
  } catch (err) {
    // A malformed event never parses on a retry either: log it and let it go.
    if (!(err instanceof ReasonedError)) throw err;
    log.error({ reason: err.reason }, err.message);
    return { kind: "rejected", reason: err.reason, message: err.message };
  }
  const report = await autoscale(autoscaleDeps(runtime, config), [signal]);
  if (report.status >= 500) {
    throw new ReasonedError(
      "AutoscaleFailed",
      report.results.map((r) => `${r.pool}: ${r.message}`).join("; "),
      {
        retryable: true,
        status: report.status,
      },
    );
  }
  return { kind: "report", report };
}

/** The Lambda entry: the runtime comes from the environment, once per cold start. */
export const handler = createAutoscaleHandler(async () => runtimeFromEnv());
