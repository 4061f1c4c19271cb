/**
 * Follow-up passes on Lambda (issue 12, item 3), through the reconcile Lambda entry against the embedded cluster:
 * a per-pool event whose pass leaves the seed pool unconverged leaves a one-time Scheduler schedule (mocked with
 * aws-sdk-client-mock) for attempt 1; delivering each schedule's event once its time has come, as Scheduler and the
 * `pool-reconcile` rule would, walks the backoff until the pool converges, and then nothing more is scheduled.
 */
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  SchedulerClient,
  ThrottlingException,
} from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createReconcileHandler, followUpFromEnv } from "../../functions/reconcile/handler";
import { FOLLOW_UP_ENV } from "../../infra/aws/contract";
import { createKube, type Kube } from "../../shared/kube";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";
import { seedPool } from "./autoscale-support";

const ENV = {
  [FOLLOW_UP_ENV.group]: "vmpool-follow-ups",
  [FOLLOW_UP_ENV.roleArn]: "arn:aws:iam::123456789012:role/vmpool-follow-up-scheduler",
  [FOLLOW_UP_ENV.busArn]: "arn:aws:events:eu-west-1:123456789012:event-bus/vmpool-functions",
  AWS_REGION: "eu-west-1",
};

interface Invocation {
  ok: boolean;
  reason?: string;
  message?: string;
  results?: { outcome: string }[];
  followUp?: { attempt: number; outcome: string };
}

/** The event EventBridge delivers when a schedule's templated target publishes its Input as the detail. */
function eventOf(input: CreateScheduleCommandInput | undefined, id: string) {
  return {
    version: "0",
    id,
    "detail-type": input?.Target?.EventBridgeParameters?.DetailType,
    source: input?.Target?.EventBridgeParameters?.Source,
    account: "123456789012",
    time: new Date().toISOString(),
    region: "eu-west-1",
    resources: [],
    detail: JSON.parse(input?.Target?.Input ?? "{}"),
  };
}

/** When an `at(yyyy-mm-ddThh:mm:ss)` expression (UTC) comes due. */
function dueAt(expression: string | undefined): number {
  const m = /^at\((.+)\)$/.exec(expression ?? "");
  return m?.[1] ? Date.parse(`${m[1]}Z`) : Number.NaN;
}

describe("follow-up passes on Lambda", () => {
  const scheduler = mockClient(SchedulerClient);
  let env: TestCluster;
  let r: Reconciler;
  let admin: Kube;
  let handler: (event: unknown) => Promise<unknown>;
  const invoke = async (event: unknown) => (await handler(event)) as Invocation;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: { startDelayMs: 300, stepDelayMs: 100 } });
    r = reconciler(env);
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    handler = createReconcileHandler(() => r.runtime, undefined, followUpFromEnv(ENV));
  });
  afterEach(() => scheduler.reset());
  afterAll(async () => env?.close());

  it("walks the backoff one schedule at a time until the pool converges, then schedules nothing", async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    await admin.create("VirtualMachinePool", seedPool("followed") as never);
    const first = await invoke({
      version: "0",
      id: "fanned-out-1",
      "detail-type": "Pool Reconcile Requested",
      source: "vmpool-functions",
      detail: { kind: "VirtualMachinePool", namespace: "default", name: "followed" },
    });
    expect(first.results?.[0]?.outcome).toBe("Acted");
    expect(first.followUp).toEqual({ attempt: 1, outcome: "Scheduled" });

    const attempts: number[] = [];
    let last: Invocation = first;
    // Scheduler's part: each schedule's event, once its time has come (at most 1 + 2 + 4 + 8 + 16 s of backoff).
    for (let delivered = 0; delivered < 6 && last.followUp; delivered++) {
      const call = scheduler.commandCalls(CreateScheduleCommand).at(-1)?.args[0].input;
      expect(call?.ActionAfterCompletion).toBe("DELETE");
      const due = dueAt(call?.ScheduleExpression);
      await eventually(() => (Date.now() >= due ? true : undefined), 20_000, "the schedule's time");
      const event = eventOf(call, `scheduled-${delivered}`);
      attempts.push(event.detail.attempt);
      scheduler.resetHistory();
      last = await invoke(event);
      expect(last.ok).toBe(true);
    }
    expect(last.followUp).toBeUndefined();
    expect(last.results?.[0]?.outcome).toBe("Converged");
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    // Attempts count up from 1 with the backoff, and the pool is where it was going.
    expect(attempts[0]).toBe(1);
    expect(attempts).toEqual(attempts.map((_, i) => i + 1));
    const pool = await admin.get("VirtualMachinePool", "default", "followed");
    expect(pool?.status?.readyReplicas).toBe(3);
  }, 60_000);

  it("refuses a follow-up event with a bad attempt, naming the field, and schedules nothing", async () => {
    const answer = await invoke({
      id: "bad-attempt",
      "detail-type": "Pool Reconcile Requested",
      source: "vmpool-functions",
      detail: { kind: "VirtualMachinePool", namespace: "default", name: "followed", attempt: "two" },
    });
    expect(answer).toMatchObject({ ok: false, reason: "InvalidEvent" });
    expect(answer.message).toContain("detail.attempt");
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });

  it("a follow-up Scheduler refuses is logged and reported, and the invocation still succeeds", async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(
        new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: {} }),
      );
    await admin.create("VirtualMachinePool", seedPool("throttled", 1) as never);
    const answer = await invoke({
      id: "throttled-1",
      "detail-type": "Pool Reconcile Requested",
      source: "vmpool-functions",
      detail: { kind: "VirtualMachinePool", namespace: "default", name: "throttled" },
    });
    expect(answer.ok).toBe(true);
    expect(answer.followUp).toEqual({ attempt: 1, outcome: "FollowUpFailed" });
  });
});
