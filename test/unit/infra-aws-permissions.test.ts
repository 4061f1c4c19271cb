import { AddPermissionCommand, GetPolicyCommand, RemovePermissionCommand } from "@aws-sdk/client-lambda";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  applyInfra,
  applyPermissions,
  buildDefinitions,
  destroyPermissions,
  formatPermissionPlan,
  type InfraDefinitions,
  parseInfraConfig,
  permissionDefinitions,
  planPermissions,
  planPermissionsDestroy,
} from "../../infra/aws";
import { parsePolicy, STATEMENT_PREFIX, statementIdFor } from "../../infra/aws/permissions";
import { hasReason, type ReasonedError } from "../../shared/errors";
import { CONFIG, FakeEventBridge } from "./infra-aws-fake";
import { FakeLambda } from "./infra-aws-lambda-fake";

const RECONCILE = "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-reconcile";
const AUTOSCALE = "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-autoscale";
const CHATOPS = "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-chatops";

let lambda: FakeLambda;
let defs: InfraDefinitions;

beforeEach(() => {
  lambda = new FakeLambda();
  defs = buildDefinitions(parseInfraConfig(CONFIG));
});
afterEach(() => lambda.restore());

const sids = (fn: string) => lambda.statements(fn).map((s) => s.Sid);
const writes = () => lambda.commandNames().filter((name) => name !== "GetPolicyCommand");

describe("planPermissions", () => {
  it("on an empty account proposes one invoke permission per rule target, from the rule's real ARN", async () => {
    const plan = await planPermissions(lambda.client, defs);
    expect(plan.hasChanges).toBe(true);
    expect(plan.changes.map((c) => [c.action, c.function.name])).toEqual([
      ["create", "vmpool-reconcile"],
      ["create", "vmpool-reconcile"],
      ["create", "vmpool-autoscale"],
      ["create", "vmpool-autoscale"],
      ["create", "vmpool-chatops"],
    ]);
    // The ARNs the plan predicts are the ones EventBridge gives the rules once they exist.
    const eventBridge = new FakeEventBridge();
    try {
      await applyInfra(eventBridge.client, defs, { sleep: async () => {} });
      const actual = defs.rules.map((rule) => eventBridge.rule(rule.eventBusName, rule.name)?.arn);
      expect(plan.changes.map((c) => c.sourceArn).sort()).toEqual([...actual].sort());
    } finally {
      eventBridge.restore();
    }
    expect(writes()).toEqual([]);
    const text = formatPermissionPlan(plan);
    expect(text).toContain(
      "+ permission vmpool-functions-vmpool-alarm-autoscale-" /* then the hash, " on vmpool-autoscale from …" */,
    );
    expect(text).toContain(
      "Permissions: 5 to add, 0 to replace, 0 to remove, 0 unchanged, 0 foreign left alone.",
    );
  });

  it("after apply proposes nothing, and a second apply only reads", async () => {
    const first = await applyPermissions(lambda.client, defs);
    expect(first.performed).toHaveLength(5);
    expect(lambda.statements(RECONCILE)).toEqual([
      expect.objectContaining({
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "lambda:InvokeFunction",
        Condition: {
          ArnLike: {
            "AWS:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/vmpool-reconcile-schedule",
          },
        },
      }),
      expect.objectContaining({
        Condition: {
          ArnLike: {
            "AWS:SourceArn":
              "arn:aws:events:eu-west-1:123456789012:rule/vmpool-functions/vmpool-pool-reconcile",
          },
        },
      }),
    ]);
    const plan = await planPermissions(lambda.client, defs);
    expect(plan.hasChanges).toBe(false);
    expect(plan.changes.every((c) => c.action === "no-op")).toBe(true);
    expect(formatPermissionPlan(plan)).toContain("No changes.");
    lambda.mock.resetHistory();
    const second = await applyPermissions(lambda.client, defs);
    expect(second.performed).toEqual([]);
    expect(lambda.commandNames()).toEqual(["GetPolicyCommand", "GetPolicyCommand", "GetPolicyCommand"]);
  });

  it("replaces a statement of ours whose source ARN was changed by hand", async () => {
    await applyPermissions(lambda.client, defs);
    // The alarm rule's statement (the autoscale function also has the schedule's).
    const statement = lambda
      .statements(AUTOSCALE)
      .find((st) => st.Condition?.ArnLike["AWS:SourceArn"].endsWith("rule/vmpool-alarm-autoscale"));
    if (statement?.Condition === undefined) throw new Error("expected a statement with a condition");
    statement.Condition.ArnLike["AWS:SourceArn"] = "arn:aws:events:eu-west-1:123456789012:rule/someone-else";
    lambda.mock.resetHistory();
    const plan = await planPermissions(lambda.client, defs);
    const update = plan.changes.find((c) => c.action === "update");
    expect(update?.reasons).toEqual([
      "SourceArn: arn:aws:events:eu-west-1:123456789012:rule/someone-else → arn:aws:events:eu-west-1:123456789012:rule/vmpool-alarm-autoscale",
    ]);
    const result = await applyPermissions(lambda.client, defs);
    expect(result.performed).toEqual([
      expect.stringMatching(/^replaced permission vmpool-functions-vmpool-alarm-autoscale-/),
    ]);
    expect(writes()).toEqual(["RemovePermissionCommand", "AddPermissionCommand"]);
    expect(lambda.statements(AUTOSCALE).map((st) => st.Condition?.ArnLike["AWS:SourceArn"])).toEqual(
      expect.arrayContaining([expect.stringMatching(/rule\/vmpool-alarm-autoscale$/)]),
    );
  });

  it("removes a stale statement of ours and never touches statements that are not ours", async () => {
    const foreign = {
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "lambda:InvokeFunction",
      Resource: RECONCILE,
    };
    // someone else's statement, no prefix at all
    lambda.seed(RECONCILE, { ...foreign, Sid: "AllowMyRule" });
    // another deployment's statement (rule prefix "staging-")
    lambda.seed(CHATOPS, { ...foreign, Sid: `${STATEMENT_PREFIX}staging-chat-command-0badcafe` });
    // ours, from a rule that no longer exists
    lambda.seed(RECONCILE, { ...foreign, Sid: `${STATEMENT_PREFIX}vmpool-old-rule-12345678` });
    const plan = await planPermissions(lambda.client, defs);
    expect(plan.foreign).toBe(2);
    expect(plan.changes.filter((c) => c.action === "delete").map((c) => c.statementId)).toEqual([
      `${STATEMENT_PREFIX}vmpool-old-rule-12345678`,
    ]);
    await applyPermissions(lambda.client, defs);
    expect(sids(RECONCILE)).toContain("AllowMyRule");
    expect(sids(RECONCILE)).not.toContain(`${STATEMENT_PREFIX}vmpool-old-rule-12345678`);
    expect(sids(CHATOPS)).toContain(`${STATEMENT_PREFIX}staging-chat-command-0badcafe`);

    const destroyed = await destroyPermissions(lambda.client, defs);
    expect(destroyed.performed).toHaveLength(5);
    expect(sids(RECONCILE)).toEqual(["AllowMyRule"]);
    expect(sids(AUTOSCALE)).toEqual([]);
    expect(sids(CHATOPS)).toEqual([`${STATEMENT_PREFIX}staging-chat-command-0badcafe`]);
    expect((await planPermissionsDestroy(lambda.client, defs)).hasChanges).toBe(false);
  });

  it("addresses a qualified function (alias) by its unqualified ARN and Qualifier", async () => {
    const aliased = buildDefinitions(
      parseInfraConfig({
        ...CONFIG,
        functions: { reconcile: `${RECONCILE}:live`, autoscale: AUTOSCALE, chatops: CHATOPS },
      }),
    );
    await applyPermissions(lambda.client, aliased);
    const adds = lambda.mock.commandCalls(AddPermissionCommand).map((c) => c.args[0].input);
    expect(adds.filter((input) => input.Qualifier === "live").map((input) => input.FunctionName)).toEqual([
      RECONCILE,
      RECONCILE,
    ]);
    expect(sids(`${RECONCILE}:live`)).toHaveLength(2);
    expect(sids(RECONCILE)).toEqual([]);
    expect(lambda.mock.commandCalls(GetPolicyCommand)[0]?.args[0].input).toEqual({
      FunctionName: RECONCILE,
      Qualifier: "live",
    });
  });

  it("reports a failed call with what was already done", async () => {
    let adds = 0;
    lambda.mock.on(AddPermissionCommand).callsFake(() => {
      adds++;
      if (adds === 2) throw Object.assign(new Error("not allowed"), { name: "AccessDeniedException" });
      return {};
    });
    const err = (await applyPermissions(lambda.client, defs).catch((e: unknown) => e)) as ReasonedError;
    expect(hasReason(err, "LambdaCallFailed")).toBe(true);
    expect(err.message).toMatch(
      /^AddPermission vmpool-functions-vmpool-pool-reconcile-[0-9a-f]{8} on .* failed: AccessDeniedException: not allowed$/,
    );
    expect((err.details as { performed: string[] }).performed).toEqual([
      expect.stringMatching(/^added permission vmpool-functions-vmpool-reconcile-schedule-/),
    ]);
  });

  it("validates the definitions before any call", async () => {
    const bad = { ...defs, rules: defs.rules.map((r, i) => (i === 0 ? { ...r, name: "has spaces" } : r)) };
    const err = (await planPermissions(lambda.client, bad).catch((e: unknown) => e)) as ReasonedError;
    expect(hasReason(err, "InvalidInfraDefinitions")).toBe(true);
    expect(err.message).toContain("rules[0].name");
    expect(lambda.mock.commandCalls(GetPolicyCommand)).toHaveLength(0);
    expect(lambda.mock.commandCalls(RemovePermissionCommand)).toHaveLength(0);
  });
});

describe("statement ids", () => {
  const ruleName = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
  const busName = fc.oneof(fc.constant("default"), fc.stringMatching(/^[A-Za-z0-9._-]{1,256}$/));

  it("fit Lambda's StatementId grammar, are stable, and differ between buses", () => {
    fc.assert(
      fc.property(ruleName, busName, busName, (rule, busA, busB) => {
        const arn = (bus: string) =>
          `arn:aws:events:eu-west-1:123456789012:rule/${bus === "default" ? "" : `${bus}/`}${rule}`;
        const a = statementIdFor(rule, arn(busA), "reconcile");
        expect(a).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
        expect(statementIdFor(rule, arn(busA), "reconcile")).toBe(a);
        if (arn(busA) !== arn(busB)) expect(statementIdFor(rule, arn(busB), "reconcile")).not.toBe(a);
      }),
    );
  });

  it("are all distinct and carry the rule name for our definitions", () => {
    const ids = permissionDefinitions(defs).map((p) => p.statementId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [id, rule] of ids.map((id, i) => [id, permissionDefinitions(defs)[i]?.rule] as const)) {
      expect(id.startsWith(`${STATEMENT_PREFIX}${rule}-`)).toBe(true);
    }
  });
});

describe("parsePolicy", () => {
  it.each([
    // Lambda's usual rendering
    [
      {
        Sid: "a",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "lambda:InvokeFunction",
        Condition: { ArnLike: { "AWS:SourceArn": "arn:x" } },
      },
      {
        sid: "a",
        effect: "Allow",
        principalService: "events.amazonaws.com",
        actions: ["lambda:InvokeFunction"],
        sourceArn: "arn:x",
      },
    ],
    // principal as a plain string, action list, no condition
    [
      { Sid: "b", Effect: "Deny", Principal: "*", Action: ["lambda:InvokeFunction", "lambda:GetFunction"] },
      {
        sid: "b",
        effect: "Deny",
        principalService: "*",
        actions: ["lambda:InvokeFunction", "lambda:GetFunction"],
        sourceArn: undefined,
      },
    ],
  ])("reads %j", (statement, expected) => {
    expect(parsePolicy(JSON.stringify({ Statement: [statement] }))).toEqual([expected]);
  });

  it.each([
    // no policy at all
    [undefined],
    // not JSON
    ["{"],
    // a statement without Sid cannot be ours or addressed
    [JSON.stringify({ Statement: [{ Effect: "Allow" }] })],
  ])("yields no statements for %j", (policy) => {
    expect(parsePolicy(policy)).toEqual([]);
  });
});
