import { PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyInfra,
  buildDefinitions,
  destroyInfra,
  formatApplyResult,
  type InfraDefinitions,
  parseInfraConfig,
  planDestroy,
  planInfra,
} from "../../infra/aws";
import { hasReason, type ReasonedError } from "../../shared/errors";
import { CONFIG, FakeEventBridge } from "./infra-aws-fake";

let fake: FakeEventBridge;
let defs: InfraDefinitions;
let sleeps: number[];
const options = () => ({ sleep: async (ms: number) => void sleeps.push(ms) });
/** The index of the chat-command rule (one target, id "chatops") in the definitions. */
const CHAT_RULE = buildDefinitions(parseInfraConfig(CONFIG)).rules.findIndex((r) =>
  r.name.endsWith("chat-command"),
);

beforeEach(() => {
  fake = new FakeEventBridge();
  defs = buildDefinitions(parseInfraConfig(CONFIG));
  sleeps = [];
});
afterEach(() => fake.restore());

function putTargetsCallsFor(rule: string): number {
  return fake.mock.commandCalls(PutTargetsCommand).filter((c) => c.args[0].input.Rule === rule).length;
}

describe("applyInfra: partial PutTargets failures", () => {
  it("retries only the failed entries with backoff until they succeed", async () => {
    let refusals = 2;
    fake.putTargetFailure = (rule) =>
      rule === "vmpool-alarm-autoscale" && refusals-- > 0
        ? { code: "InternalFailure", message: "try again" }
        : undefined;
    const result = await applyInfra(fake.client, defs, options());
    expect(result.ok).toBe(true);
    expect(result.failed).toEqual([]);
    expect(putTargetsCallsFor("vmpool-alarm-autoscale")).toBe(3);
    expect(putTargetsCallsFor("vmpool-chat-command")).toBe(1);
    expect(sleeps).toEqual([200, 400]);
    expect(fake.rule("default", "vmpool-alarm-autoscale")?.targets.has("autoscale")).toBe(true);
  });

  it("reports entries still failing after the bounded attempts, and a later apply repairs them", async () => {
    fake.putTargetFailure = (rule) =>
      rule === "vmpool-chat-command" ? { code: "ConcurrentModification", message: "busy" } : undefined;
    const result = await applyInfra(fake.client, defs, { ...options(), maxAttempts: 3 });
    expect(result.ok).toBe(false);
    expect(result.failed).toEqual([
      {
        rule: "vmpool-chat-command",
        eventBusName: "vmpool-functions",
        targetId: "chatops",
        operation: "PutTargets",
        errorCode: "ConcurrentModification",
        errorMessage: "busy",
      },
    ]);
    expect(putTargetsCallsFor("vmpool-chat-command")).toBe(3);
    expect(sleeps).toEqual([200, 400]);
    expect(result.performed).not.toContain(
      `put target chatops on rule vmpool-chat-command → ${CONFIG.functions.chatops}`,
    );
    expect(formatApplyResult(result)).toContain(
      "✗ PutTargets chatops on rule vmpool-chat-command: ConcurrentModification busy",
    );

    const plan = await planInfra(fake.client, defs);
    expect(plan.rules.find((r) => r.name === "vmpool-chat-command")?.targets[0]?.action).toBe("create");
    fake.putTargetFailure = () => undefined;
    expect((await applyInfra(fake.client, defs, options())).ok).toBe(true);
    expect((await planInfra(fake.client, defs)).hasChanges).toBe(false);
  });
});

describe("foreign resources", () => {
  /** Seeds rules we must never touch, and returns a snapshot of them. */
  function seedForeign() {
    const seeded = [];
    seeded.push(
      fake.seedRule({
        // Same name as one of ours, but not tagged ours.
        name: "vmpool-alarm-autoscale",
        eventPattern: JSON.stringify({ source: ["aws.cloudwatch"] }),
        tags: { owner: "ops" },
        targets: [{ Id: "pager", Arn: "arn:aws:sns:eu-west-1:123456789012:pager" }],
      }),
    );
    seeded.push(
      fake.seedRule({
        // Under our prefix, tagged by someone else.
        name: "vmpool-legacy",
        scheduleExpression: "rate(1 hour)",
        tags: { "managed-by": "terraform" },
        targets: [{ Id: "t", Arn: "arn:aws:lambda:eu-west-1:123456789012:function:legacy" }],
      }),
    );
    seeded.push(fake.seedRule({ name: "unrelated", scheduleExpression: "rate(1 day)", tags: {} }));
    return structuredClone(seeded);
  }

  const touchesForeign = () =>
    fake.mock.calls().filter((call) => {
      const name = (call.args[0] as object).constructor.name;
      const input = call.args[0].input as { Name?: string; Rule?: string; ResourceARN?: string };
      const target = input.Name ?? input.Rule ?? input.ResourceARN ?? "";
      const write = !/^(List|Describe)/.test(name);
      return write && /(vmpool-alarm-autoscale|vmpool-legacy|unrelated)$/.test(target);
    });

  it("are reported and never modified by apply, even under our rule names", async () => {
    const before = seedForeign();
    const result = await applyInfra(fake.client, defs, options());
    expect(result.ok).toBe(true);
    expect(result.leftAlone).toEqual([
      "rule vmpool-alarm-autoscale on default: not tagged managed-by=vmpool-functions; foreign, left alone",
      "rule vmpool-legacy on default: not tagged managed-by=vmpool-functions; foreign, left alone",
    ]);
    expect(touchesForeign()).toEqual([]);
    for (const rule of before) expect(fake.rule(rule.bus, rule.name)).toEqual(rule);
    const plan = await planInfra(fake.client, defs);
    expect(plan.rules.filter((r) => r.action === "foreign").map((r) => r.name)).toEqual([
      "vmpool-alarm-autoscale",
      "vmpool-legacy",
    ]);
    expect(plan.hasChanges).toBe(false);
  });

  it("are never deleted by destroy, while ours are", async () => {
    await applyInfra(fake.client, defs, options());
    // Someone replaced our alarm rule with their own, untagged one.
    const before = seedForeign();
    fake.mock.resetHistory();
    // A foreign rule on our bus keeps the bus alive.
    fake.seedRule({ name: "vmpool-theirs", bus: "vmpool-functions", tags: {} });
    fake.seedRule({ name: "audit", bus: "vmpool-functions", tags: {} });

    const plan = await planDestroy(fake.client, defs);
    expect(plan.bus.action).toBe("foreign");
    const result = await destroyInfra(fake.client, defs, options());
    expect(result.ok).toBe(true);
    expect(touchesForeign()).toEqual([]);
    for (const rule of before) expect(fake.rule(rule.bus, rule.name)).toEqual(rule);
    expect(fake.rule("vmpool-functions", "vmpool-theirs")).toBeDefined();
    expect(fake.rule("default", "vmpool-reconcile-schedule")).toBeUndefined();
    expect(fake.rule("vmpool-functions", "vmpool-pool-reconcile")).toBeUndefined();
    expect(fake.rule("vmpool-functions", "vmpool-chat-command")).toBeUndefined();
    expect(fake.buses.has("vmpool-functions")).toBe(true);
    expect(result.leftAlone).toContain(
      "event bus vmpool-functions: still has rules we do not own (audit, vmpool-theirs); left alone",
    );
  });

  it("leaves a pre-existing bus that is not ours in place on destroy", async () => {
    fake.buses.set("vmpool-functions", {
      arn: "arn:aws:events:eu-west-1:123456789012:event-bus/vmpool-functions",
      tags: {},
    });
    const plan = await planInfra(fake.client, defs);
    expect(plan.bus.action).toBe("foreign");
    await applyInfra(fake.client, defs, options());
    await destroyInfra(fake.client, defs, options());
    expect(fake.buses.has("vmpool-functions")).toBe(true);
    expect(fake.commandNames()).not.toContain("DeleteEventBusCommand");
  });
});

describe("destroyInfra", () => {
  it("removes all of ours, bus last, and is a no-op the second time", async () => {
    await applyInfra(fake.client, defs, options());
    const result = await destroyInfra(fake.client, defs, options());
    expect(result.ok).toBe(true);
    expect(result.performed.at(-1)).toBe("deleted event bus vmpool-functions");
    expect([...fake.rules.keys()]).toEqual([]);
    expect(fake.buses.has("vmpool-functions")).toBe(false);
    fake.mock.resetHistory();
    const again = await destroyInfra(fake.client, defs, options());
    expect(again.performed).toEqual([]);
    expect(fake.commandNames().every((name) => /^(List|Describe)/.test(name))).toBe(true);
  });
});

describe("invalid definitions", () => {
  const mutate = (change: (d: InfraDefinitions) => void): InfraDefinitions => {
    const copy = structuredClone(defs);
    change(copy);
    return copy;
  };

  it.each([
    // the singular/plural rule of rate expressions
    [
      "bad schedule",
      (d: InfraDefinitions) => {
        if (d.rules[0]) d.rules[0].scheduleExpression = "rate(1 minutes)";
      },
      'rules[0].scheduleExpression: invalid schedule expression "rate(1 minutes)"',
    ],
    // schedules are refused on custom buses
    [
      "schedule on our bus",
      (d: InfraDefinitions) => {
        if (d.rules[0]) d.rules[0].eventBusName = "vmpool-functions";
      },
      'rules[0].eventBusName: scheduled rules must be on the "default" bus',
    ],
    // a target that is not an ARN
    [
      "target arn",
      (d: InfraDefinitions) => {
        const target = d.rules[1]?.targets[0];
        if (target) target.arn = "vmpool-reconcile";
      },
      "rules[1].targets[0].arn: must be an ARN",
    ],
    // a DLQ that is not SQS
    [
      "dlq",
      (d: InfraDefinitions) => {
        const target = d.rules[2]?.targets[0];
        if (target) target.deadLetterArn = "arn:aws:sns:eu-west-1:123456789012:x";
      },
      "rules[2].targets[0].deadLetterArn: must be an SQS queue ARN",
    ],
    // PutTargets allows at most 5 targets per rule
    [
      "six targets",
      (d: InfraDefinitions) => {
        const rule = d.rules[3];
        const target = rule?.targets[0];
        if (rule && target) rule.targets = [0, 1, 2, 3, 4, 5].map((i) => ({ ...target, id: `t${i}` }));
      },
      "rules[3].targets",
    ],
    // duplicate target ids
    [
      "duplicate ids",
      (d: InfraDefinitions) => {
        const rule = d.rules[CHAT_RULE];
        const target = rule?.targets[0];
        if (rule && target) rule.targets = [target, { ...target }];
      },
      `rules[${CHAT_RULE}].targets[1].id: duplicate target id "chatops"`,
    ],
    // rule names must carry the prefix plan/destroy list by
    [
      "name outside prefix",
      (d: InfraDefinitions) => {
        if (d.rules[1]) d.rules[1].name = "reconcile";
      },
      'rules[1].name: must start with namePrefix "vmpool-"',
    ],
    // every resource must carry our ownership tag
    [
      "missing ownership tag",
      (d: InfraDefinitions) => {
        if (d.rules[2]) d.rules[2].tags = { team: "platform" };
      },
      "rules[2].tags: must include managed-by=vmpool-functions",
    ],
    // retry policy bounds
    [
      "retry attempts",
      (d: InfraDefinitions) => {
        const target = d.rules[0]?.targets[0];
        if (target) target.retryPolicy.maximumRetryAttempts = 500;
      },
      "rules[0].targets[0].retryPolicy.maximumRetryAttempts",
    ],
  ])("%s fails before any AWS call", async (_label, change, fragment) => {
    const bad = mutate(change);
    for (const run of [planInfra, applyInfra, destroyInfra, planDestroy]) {
      const err = (await run(fake.client, bad).catch((e: unknown) => e)) as ReasonedError;
      expect(hasReason(err, "InvalidInfraDefinitions")).toBe(true);
      expect(err.status).toBe(400);
      expect(err.message).toContain(fragment);
    }
    expect(fake.mock.calls()).toHaveLength(0);
  });
});
