import {
  DeleteRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
} from "@aws-sdk/client-eventbridge";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyInfra,
  buildDefinitions,
  formatPlan,
  type InfraDefinitions,
  type InfraPlan,
  parseInfraConfig,
  planInfra,
} from "../../infra/aws";
import { CONFIG, FakeEventBridge } from "./infra-aws-fake";

const WRITES = [
  "CreateEventBusCommand",
  "PutRuleCommand",
  "PutTargetsCommand",
  "RemoveTargetsCommand",
  "DeleteRuleCommand",
  "TagResourceCommand",
  "DeleteEventBusCommand",
];
const noSleep = { sleep: async () => undefined };

let fake: FakeEventBridge;
let defs: InfraDefinitions;

beforeEach(() => {
  fake = new FakeEventBridge();
  defs = buildDefinitions(parseInfraConfig(CONFIG));
});
afterEach(() => fake.restore());

function ruleChange(plan: InfraPlan, name: string) {
  const change = plan.rules.find((r) => r.name === name);
  if (change === undefined) throw new Error(`no change for ${name}`);
  return change;
}

describe("planInfra", () => {
  it("proposes everything on an empty account, with reads only", async () => {
    const plan = await planInfra(fake.client, defs);
    expect(plan.bus).toMatchObject({ name: "vmpool-functions", action: "create" });
    expect(plan.rules.map((r) => [r.name, r.eventBusName, r.action])).toEqual([
      ["vmpool-reconcile-schedule", "default", "create"],
      ["vmpool-autoscale-schedule", "default", "create"],
      ["vmpool-pool-reconcile", "vmpool-functions", "create"],
      ["vmpool-alarm-autoscale", "default", "create"],
      ["vmpool-chat-command", "vmpool-functions", "create"],
    ]);
    for (const rule of plan.rules) expect(rule.targets.map((t) => t.action)).toEqual(["create"]);
    expect(plan.summary).toEqual({ create: 6, update: 0, delete: 0, unchanged: 0, foreign: 0 });
    expect(plan.hasChanges).toBe(true);
    expect(fake.commandNames().filter((name) => WRITES.includes(name))).toEqual([]);

    const text = formatPlan(plan);
    expect(text).toContain("+ event bus vmpool-functions  [not found]");
    expect(text).toContain("+ rule vmpool-reconcile-schedule on default (rate(1 minute))");
    expect(text).toContain(`+ target reconcile → ${CONFIG.functions.reconcile}`);
    expect(text).toContain("Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged, 0 foreign left alone.");
  });

  it("proposes nothing after apply, and a second apply writes nothing", async () => {
    const first = await applyInfra(fake.client, defs, noSleep);
    expect(first.ok).toBe(true);
    expect(first.performed).toContain("created event bus vmpool-functions");

    const plan = await planInfra(fake.client, defs);
    expect(plan.hasChanges).toBe(false);
    expect(
      plan.rules.every((r) => r.action === "no-op" && r.targets.every((t) => t.action === "no-op")),
    ).toBe(true);
    expect(formatPlan(plan)).toContain("No changes. EventBridge matches the definitions.");

    fake.mock.resetHistory();
    const second = await applyInfra(fake.client, defs, noSleep);
    expect(second.performed).toEqual([]);
    expect(fake.commandNames().filter((name) => WRITES.includes(name))).toEqual([]);
  });

  it("stores what the definitions say: tags, schedule, pattern, retry policy and DLQ", async () => {
    await applyInfra(fake.client, defs, noSleep);
    expect(fake.buses.get("vmpool-functions")?.tags).toEqual({
      team: "platform",
      "managed-by": "vmpool-functions",
    });
    const schedule = fake.rule("default", "vmpool-reconcile-schedule");
    expect(schedule?.scheduleExpression).toBe("rate(1 minute)");
    expect(schedule?.tags).toEqual({ team: "platform", "managed-by": "vmpool-functions" });
    const pool = fake.rule("vmpool-functions", "vmpool-pool-reconcile");
    expect(JSON.parse(pool?.eventPattern ?? "null")).toEqual({
      source: ["vmpool-functions"],
      "detail-type": ["Pool Reconcile Requested"],
    });
    expect(pool?.targets.get("reconcile")).toEqual({
      Id: "reconcile",
      Arn: CONFIG.functions.reconcile,
      RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
      DeadLetterConfig: { Arn: CONFIG.deadLetterQueueArn },
    });
  });

  it("detects drift in rules, targets and tags and converges it", async () => {
    await applyInfra(fake.client, defs, noSleep);
    const schedule = fake.rule("default", "vmpool-reconcile-schedule");
    if (schedule === undefined) throw new Error("missing rule");
    schedule.scheduleExpression = "rate(5 minutes)";
    delete schedule.tags.team;
    fake
      .rule("default", "vmpool-alarm-autoscale")
      ?.targets.set("stray", { Id: "stray", Arn: "arn:aws:sqs:x" });
    // Patterns compare by meaning: reordered keys are not drift.
    const chat = fake.rule("vmpool-functions", "vmpool-chat-command");
    if (chat === undefined) throw new Error("missing rule");
    chat.eventPattern = JSON.stringify({
      "detail-type": ["Chat Command Requested"],
      source: ["vmpool-functions"],
    });

    const changed = buildDefinitions(
      parseInfraConfig({ ...CONFIG, retryPolicy: { maximumRetryAttempts: 2 }, tags: { team: "platform" } }),
    );
    const plan = await planInfra(fake.client, changed);
    const scheduleChange = ruleChange(plan, "vmpool-reconcile-schedule");
    expect(scheduleChange.action).toBe("update");
    expect(scheduleChange.reasons).toEqual([
      'ScheduleExpression: "rate(5 minutes)" → "rate(1 minute)"',
      "tags: set team=platform",
    ]);
    expect(scheduleChange.targets[0]).toMatchObject({
      action: "update",
      reasons: ["RetryPolicy.MaximumRetryAttempts: 4 → 2"],
    });
    const alarm = ruleChange(plan, "vmpool-alarm-autoscale");
    expect(alarm.action).toBe("no-op");
    expect(alarm.targets.map((t) => [t.id, t.action])).toEqual([
      ["autoscale", "update"],
      ["stray", "delete"],
    ]);
    expect(ruleChange(plan, "vmpool-chat-command").action).toBe("no-op");
    const text = formatPlan(plan);
    expect(text).toContain("~ rule vmpool-reconcile-schedule on default");
    expect(text).toContain('~ ScheduleExpression: "rate(5 minutes)" → "rate(1 minute)"');
    expect(text).toContain("- target stray  [not defined]");

    const result = await applyInfra(fake.client, changed, noSleep);
    expect(result.ok).toBe(true);
    expect(fake.mock.commandCalls(TagResourceCommand)).toHaveLength(1);
    expect(fake.mock.commandCalls(RemoveTargetsCommand)[0]?.args[0].input.Ids).toEqual(["stray"]);
    expect((await planInfra(fake.client, changed)).hasChanges).toBe(false);
  });

  it("plans deletion of our rules that are no longer defined", async () => {
    await applyInfra(fake.client, defs, noSleep);
    fake.seedRule({
      name: "vmpool-old-timer",
      scheduleExpression: "rate(1 hour)",
      tags: { "managed-by": "vmpool-functions" },
      targets: [{ Id: "reconcile", Arn: CONFIG.functions.reconcile }],
    });
    const plan = await planInfra(fake.client, defs);
    expect(ruleChange(plan, "vmpool-old-timer")).toMatchObject({
      action: "delete",
      reasons: ["no longer defined"],
    });
    expect(formatPlan(plan)).toContain("- rule vmpool-old-timer on default  [no longer defined]");

    await applyInfra(fake.client, defs, noSleep);
    expect(fake.rule("default", "vmpool-old-timer")).toBeUndefined();
    expect(fake.mock.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input.Name)).toEqual([
      "vmpool-old-timer",
    ]);
  });

  it("follows NextToken through every page of rules and targets", async () => {
    fake.pageSize = 1;
    await applyInfra(fake.client, defs, noSleep);
    for (let i = 0; i < 5; i++) fake.seedRule({ name: `vmpool-foreign-${i}`, tags: { owner: "someone" } });
    const plan = await planInfra(fake.client, defs);
    expect(plan.rules.filter((r) => r.action === "foreign").map((r) => r.name)).toHaveLength(5);
    expect(plan.hasChanges).toBe(false);
    expect(fake.commandNames().filter((n) => n === "ListRulesCommand").length).toBeGreaterThan(5);
  });

  it("never lists outside our prefix", async () => {
    await planInfra(fake.client, defs);
    for (const call of fake.mock.calls()) {
      const input = call.args[0].input as { NamePrefix?: string };
      if ((call.args[0] as object).constructor.name === "ListRulesCommand")
        expect(input.NamePrefix).toBe("vmpool-");
    }
    expect(fake.mock.commandCalls(PutRuleCommand)).toHaveLength(0);
    expect(fake.mock.commandCalls(PutTargetsCommand)).toHaveLength(0);
  });
});
