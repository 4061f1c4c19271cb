/**
 * Follow-up passes on Lambda (issue 12, item 3): the one-time Scheduler schedule a pass leaves behind, its name as
 * the de-duplication key, the environment that turns it on, and the resources the definitions declare for it.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  SchedulerClient,
  ThrottlingException,
} from "@aws-sdk/client-scheduler";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { followUpFromEnv } from "../../functions/reconcile/handler";
import { buildDefinitions, parseInfraConfig, validateDefinitions } from "../../infra/aws";
import { FOLLOW_UP_ENV, followUpTargetFromEnv, type PoolRef } from "../../infra/aws/contract";
import { atExpression, followUpScheduleName, scheduleFollowUp } from "../../infra/aws/follow-ups";
import { followUpDelayForAttempt } from "../../shared/trigger";

const TARGET = {
  group: "vmpool-follow-ups",
  roleArn: "arn:aws:iam::123456789012:role/vmpool-follow-up-scheduler",
  busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/vmpool-functions",
};
const ENV = {
  [FOLLOW_UP_ENV.group]: TARGET.group,
  [FOLLOW_UP_ENV.roleArn]: TARGET.roleArn,
  [FOLLOW_UP_ENV.busArn]: TARGET.busArn,
  AWS_REGION: "eu-west-1",
};
const POOL: PoolRef = { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" };
const NOW = new Date("2026-12-04T21:30:10.250Z");

const scheduler = mockClient(SchedulerClient);
afterEach(() => scheduler.reset());

describe("follow-up schedules", () => {
  it("creates a one-time schedule that publishes the per-pool event with the attempt, deleted after it runs", async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: "arn:aws:scheduler:::schedule/x" });
    const done = await scheduleFollowUp(new SchedulerClient({ region: "eu-west-1" }), TARGET, {
      ref: POOL,
      attempt: 2,
      delayMs: 2000,
      now: NOW,
    });
    expect(done.outcome).toBe("Scheduled");
    const input = scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Name: done.name,
      GroupName: "vmpool-follow-ups",
      ScheduleExpression: "at(2026-12-04T21:30:12)",
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      Target: {
        Arn: TARGET.busArn,
        RoleArn: TARGET.roleArn,
        EventBridgeParameters: { Source: "vmpool-functions", DetailType: "Pool Reconcile Requested" },
      },
    });
    expect(JSON.parse(input?.Target?.Input ?? "")).toEqual({ ...POOL, attempt: 2 });
  });

  it("treats ConflictException (the pool's schedule for that minute exists) as already scheduled", async () => {
    scheduler.on(CreateScheduleCommand).rejects(
      new ConflictException({
        message: "Schedule already exists",
        Message: "Schedule already exists",
        $metadata: {},
      }),
    );
    const done = await scheduleFollowUp(new SchedulerClient({ region: "eu-west-1" }), TARGET, {
      ref: POOL,
      attempt: 1,
      delayMs: 1000,
      now: NOW,
    });
    expect(done.outcome).toBe("AlreadyScheduled");
  });

  it("lets any other failure through to the caller", async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(
        new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", $metadata: {} }),
      );
    await expect(
      scheduleFollowUp(new SchedulerClient({ region: "eu-west-1", maxAttempts: 1 }), TARGET, {
        ref: POOL,
        attempt: 1,
        delayMs: 1000,
        now: NOW,
      }),
    ).rejects.toBeInstanceOf(ThrottlingException);
  });

  it("names one schedule per pool and minute of the run, within Scheduler's 64 characters", () => {
    const at = (iso: string) => new Date(iso);
    const a = followUpScheduleName(POOL, at("2026-12-04T21:30:11Z"));
    // Same pool, same minute: concurrent passes ask for one schedule.
    expect(followUpScheduleName(POOL, at("2026-12-04T21:30:59Z"))).toBe(a);
    // The next minute is another run.
    expect(followUpScheduleName(POOL, at("2026-12-04T21:31:00Z"))).not.toBe(a);
    // Another kind or namespace with the same name is another pool.
    expect(
      followUpScheduleName({ ...POOL, kind: "VirtualMachineInstanceReplicaSet" }, at("2026-12-04T21:30:11Z")),
    ).not.toBe(a);
    expect(followUpScheduleName({ ...POOL, namespace: "prod" }, at("2026-12-04T21:30:11Z"))).not.toBe(a);
    const long = followUpScheduleName({ ...POOL, name: `${"a".repeat(200)}.b` }, at("2026-12-04T21:30:11Z"));
    for (const name of [a, long]) expect(name).toMatch(/^[0-9A-Za-z._-]{1,64}$/);
    expect(a).toBe(`fu-vmpool-vm-pool-cirros-${a.split("-").at(-2)}-202612042130`);
  });

  it("writes at() in UTC without milliseconds", () => {
    expect(atExpression(new Date("2026-01-02T03:04:05.999Z"))).toBe("at(2026-01-02T03:04:05)");
  });

  it("backs off 1 s doubling to 30 s by attempt", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map(followUpDelayForAttempt)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});

describe("follow-ups from the environment", () => {
  it("are off when none of the variables is set (also when set to the empty string)", () => {
    expect(followUpFromEnv({})).toBeUndefined();
    expect(followUpTargetFromEnv({ [FOLLOW_UP_ENV.group]: "" })).toBeUndefined();
  });

  it.each([
    // One missing beside the others: named, with the ones that are set.
    [{ ...ENV, [FOLLOW_UP_ENV.busArn]: undefined }, FOLLOW_UP_ENV.busArn],
    // A malformed value: named, with what it must be.
    [{ ...ENV, [FOLLOW_UP_ENV.roleArn]: "vmpool-follow-up-scheduler" }, FOLLOW_UP_ENV.roleArn],
    [{ ...ENV, [FOLLOW_UP_ENV.group]: "no spaces" }, FOLLOW_UP_ENV.group],
  ])("refuses an incomplete or malformed configuration, naming the variable (%#)", (env, variable) => {
    expect(() => followUpFromEnv(env)).toThrow(variable);
  });

  it("creates the schedule through the Scheduler client, built on first use", async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    const followUp = followUpFromEnv(ENV);
    expect(followUp).toBeDefined();
    expect(await followUp?.({ ref: POOL, attempt: 1, delayMs: 1000, now: NOW })).toBe("Scheduled");
    expect(scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.GroupName).toBe(TARGET.group);
  });
});

describe("follow-up definitions", () => {
  const config = parseInfraConfig({
    functions: {
      reconcile: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-reconcile",
      autoscale: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-autoscale",
      chatops: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-chatops",
    },
    deadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:vmpool-dlq",
  });
  const defs = buildDefinitions(config);

  it("declares the group, the role Scheduler assumes, the function's permissions and its environment", () => {
    const f = defs.followUps;
    expect(f?.scheduleGroup.name).toBe("vmpool-follow-ups");
    expect(f?.executionRole).toMatchObject({
      arn: TARGET.roleArn,
      trustedService: "scheduler.amazonaws.com",
      trustCondition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
      statements: [{ effect: "Allow", actions: ["events:PutEvents"], resources: [TARGET.busArn] }],
    });
    expect(f?.functionStatements.flatMap((s) => s.actions)).toEqual([
      "scheduler:CreateSchedule",
      "iam:PassRole",
    ]);
    expect(f?.functionStatements[0]?.resources).toEqual([
      "arn:aws:scheduler:eu-west-1:123456789012:schedule/vmpool-follow-ups/*",
    ]);
    // What the deployment sets is exactly what the function reads.
    expect(followUpTargetFromEnv(f?.environment ?? {})).toEqual(TARGET);
  });

  it("targets the bus the pool-reconcile rule listens on", () => {
    const rule = defs.rules.find((r) => r.name === "vmpool-pool-reconcile");
    expect(defs.followUps?.environment[FOLLOW_UP_ENV.busArn]).toMatch(
      new RegExp(`event-bus/${rule?.eventBusName}$`),
    );
  });

  it("round-trips through validateDefinitions and refuses a bad role ARN, naming the field", () => {
    expect(validateDefinitions(structuredClone(defs))).toEqual(defs);
    const bad = structuredClone(defs) as { followUps: { executionRole: { arn: string } } };
    bad.followUps.executionRole.arn = "not-an-arn";
    expect(() => validateDefinitions(bad)).toThrow("followUps.executionRole.arn");
  });
});
