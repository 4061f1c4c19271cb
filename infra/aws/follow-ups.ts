/**
 * Follow-up passes on Lambda: a reconcile invocation whose pass leaves its pool unconverged asks for one more pass
 * through an EventBridge Scheduler one-time schedule (`at(...)`, deleted after it runs) that publishes the same
 * `Pool Reconcile Requested` event, with the next backoff attempt in its detail, to our bus. The function never
 * sleeps or polls. The only module that imports `@aws-sdk/client-scheduler`.
 *
 * Why Scheduler onto the bus, not an SQS delayed message: the follow-up is then the event the fan-out already sends,
 * matched by the existing `pool-reconcile` rule with its retry policy, dead-letter queue and Lambda permission
 * (./definitions), so the reconcile entry gets no new event shape and no queue poller runs; and a schedule's name is
 * a de-duplication key (CreateSchedule of a taken name is ConflictException), which a delayed message cannot have
 * (standard queues do not de-duplicate; FIFO queues cannot delay a single message). The price is Scheduler's
 * 60-second precision (its user guide, "Schedule types": a target is invoked anywhere within the minute the
 * expression names): a follow-up asked for 1 s ahead runs 0-60 s later, never sooner than Scheduler allows.
 */
import { createHash } from "node:crypto";
import { ConflictException, CreateScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { EVENT_SOURCE, type FollowUpTarget, POOL_RECONCILE_DETAIL_TYPE, type PoolRef } from "./contract";

export type { SchedulerClient } from "@aws-sdk/client-scheduler";

/** Scheduler invokes a one-time schedule anywhere within the minute its `at()` names. */
export const SCHEDULER_PRECISION_MS = 60_000;

/** Retries of one follow-up's PutEvents by Scheduler; a lost one is caught by the next timer tick anyway. */
const TARGET_RETRY = { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 } as const;

/** Creates the Scheduler client the reconcile function's follow-ups use (default credential chain). */
export function createSchedulerClient(
  options: { readonly region?: string; readonly maxAttempts?: number } = {},
): SchedulerClient {
  return new SchedulerClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    maxAttempts: options.maxAttempts ?? 3,
  });
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC (the schedule's `ScheduleExpressionTimezone`). */
export function atExpression(when: Date): string {
  return `at(${when.toISOString().slice(0, 19)})`;
}

const KIND_SHORT: Record<PoolRef["kind"], string> = {
  VirtualMachinePool: "vmpool",
  VirtualMachineInstanceReplicaSet: "vmirs",
};

/**
 * `fu-<vmpool|vmirs>-<name, up to 24>-<12 hex of kind/namespace/name>-<yyyymmddhhmm of the run>`, within
 * Scheduler's 64 characters of `[0-9A-Za-z._-]`. Passes of one pool asking for a follow-up that would run in the same
 * minute (which Scheduler's precision makes one run anyway) name the same schedule, so only the first is created.
 */
export function followUpScheduleName(ref: PoolRef, runAt: Date): string {
  const hash = createHash("sha256")
    .update(`${ref.kind}/${ref.namespace}/${ref.name}`)
    .digest("hex")
    .slice(0, 12);
  const minute = runAt.toISOString().slice(0, 16).replace(/[-T:]/g, "");
  const readable = ref.name.slice(0, 24).replace(/[^0-9A-Za-z._-]/g, "-");
  return `fu-${KIND_SHORT[ref.kind]}-${readable}-${hash}-${minute}`;
}

export interface FollowUpRequest {
  readonly ref: PoolRef;
  /** Which follow-up this is (1 = the first after a pass that did not converge). */
  readonly attempt: number;
  readonly delayMs: number;
  readonly now: Date;
}

export type FollowUpOutcome =
  | { readonly outcome: "Scheduled"; readonly name: string; readonly runAt: Date }
  /** A schedule for this pool and minute exists: a concurrent pass asked first. */
  | { readonly outcome: "AlreadyScheduled"; readonly name: string; readonly runAt: Date };

/**
 * Creates the one-time schedule for a follow-up pass of `request.ref`. Other failures (throttling, permissions)
 * throw: the caller logs them and relies on the timer.
 */
export async function scheduleFollowUp(
  client: SchedulerClient,
  target: FollowUpTarget,
  request: FollowUpRequest,
): Promise<FollowUpOutcome> {
  const runAt = new Date(request.now.getTime() + Math.max(request.delayMs, 1000));
  const name = followUpScheduleName(request.ref, runAt);
  const { kind, namespace, name: pool } = request.ref;
  try {
    await client.send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: target.group,
        ScheduleExpression: atExpression(runAt),
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" },
        ActionAfterCompletion: "DELETE",
        Description: `vmpool-functions: follow-up ${request.attempt} of ${kind} ${namespace}/${pool}`,
        Target: {
          Arn: target.busArn,
          RoleArn: target.roleArn,
          // The EventBridge templated target: Input becomes the event's detail.
          Input: JSON.stringify({ kind, namespace, name: pool, attempt: request.attempt }),
          EventBridgeParameters: { Source: EVENT_SOURCE, DetailType: POOL_RECONCILE_DETAIL_TYPE },
          RetryPolicy: TARGET_RETRY,
        },
      }),
    );
    return { outcome: "Scheduled", name, runAt };
  } catch (err) {
    if (err instanceof ConflictException) return { outcome: "AlreadyScheduled", name, runAt };
    throw err;
  }
}
