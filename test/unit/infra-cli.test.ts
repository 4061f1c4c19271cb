import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetPolicyCommand } from "@aws-sdk/client-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type InfraCliDeps, runInfra } from "../../infra/cli/infra";
import { CONFIG, FakeEventBridge } from "./infra-aws-fake";
import { FakeLambda } from "./infra-aws-lambda-fake";

const ENV = {
  VMPOOL_AWS_REGION: "eu-west-1",
  VMPOOL_RECONCILE_FUNCTION_ARN: CONFIG.functions.reconcile,
  VMPOOL_AUTOSCALE_FUNCTION_ARN: CONFIG.functions.autoscale,
  VMPOOL_CHATOPS_FUNCTION_ARN: CONFIG.functions.chatops,
  VMPOOL_DLQ_ARN: CONFIG.deadLetterQueueArn,
};

let eventBridge: FakeEventBridge;
let lambda: FakeLambda;
let output: string[];
let regions: string[];
let dir: string;

beforeEach(() => {
  eventBridge = new FakeEventBridge();
  lambda = new FakeLambda();
  output = [];
  regions = [];
  dir = mkdtempSync(join(tmpdir(), "vmpool-infra-cli-"));
});
afterEach(() => {
  eventBridge.restore();
  lambda.restore();
  rmSync(dir, { recursive: true, force: true });
});

function deps(env: Record<string, string | undefined> = ENV): InfraCliDeps {
  return {
    env,
    print: (text) => output.push(text),
    clients: (region) => {
      regions.push(region);
      return { eventBridge: eventBridge.client, lambda: lambda.client };
    },
    retry: { sleep: async () => {} },
  };
}

const printed = () => output.join("\n");
const awsCalls = () => eventBridge.mock.calls().length + lambda.mock.calls().length;

describe("vmpool infra: validation before any AWS call", () => {
  it.each([
    // a required variable missing: the message names the field and its variable
    [{ ...ENV, VMPOOL_DLQ_ARN: undefined }, /deadLetterQueueArn \(VMPOOL_DLQ_ARN\): /],
    // a function ARN that is not a Lambda ARN
    [
      { ...ENV, VMPOOL_CHATOPS_FUNCTION_ARN: "arn:aws:sqs:eu-west-1:123456789012:q" },
      /functions\.chatops \(VMPOOL_CHATOPS_FUNCTION_ARN\): must be a Lambda function ARN/,
    ],
    // a retry bound outside EventBridge's range
    [
      { ...ENV, VMPOOL_MAX_RETRY_ATTEMPTS: "500" },
      /retryPolicy\.maximumRetryAttempts \(VMPOOL_MAX_RETRY_ATTEMPTS\)/,
    ],
  ])("%#: exits 2 naming the field", async (env, message) => {
    expect(await runInfra(["plan"], {}, deps(env))).toBe(2);
    expect(printed()).toMatch(message);
    expect(regions).toEqual([]);
    expect(awsCalls()).toBe(0);
  });

  it("reads --config FILE and names the bad field in it", async () => {
    const file = join(dir, "infra.json");
    writeFileSync(file, JSON.stringify({ ...CONFIG, retryPolicy: { maximumEventAgeInSeconds: 10 } }));
    expect(await runInfra(["apply"], { config: file }, deps({}))).toBe(2);
    expect(printed()).toMatch(/retryPolicy\.maximumEventAgeInSeconds: /);
    expect(awsCalls()).toBe(0);
  });

  it.each([
    // no subcommand
    [[], {}, /^usage: vmpool infra plan\|apply\|destroy/],
    // an unknown one
    [["deploy"], {}, /unknown infra command "deploy"/],
    // an extra argument
    [["plan", "now"], {}, /unexpected argument "now"/],
    // a flag of the wrong type
    [["plan"], { config: "" }, /invalid flag --config: /],
  ])("%j %j exits 2", async (positionals, values, message) => {
    expect(await runInfra(positionals, values, deps())).toBe(2);
    expect(printed()).toMatch(message);
    expect(awsCalls()).toBe(0);
  });
});

describe("vmpool infra plan|apply|destroy", () => {
  it("plans everything on an empty account, applies it, then plans nothing", async () => {
    expect(await runInfra(["plan"], {}, deps())).toBe(0);
    expect(regions).toEqual(["eu-west-1"]);
    expect(printed()).toContain(
      "Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged, 0 foreign left alone.",
    );
    expect(printed()).toContain(
      "Permissions: 5 to add, 0 to replace, 0 to remove, 0 unchanged, 0 foreign left alone.",
    );
    expect(eventBridge.commandNames().every((name) => /^(Describe|List)/.test(name))).toBe(true);
    expect(lambda.commandNames().every((name) => name === "GetPolicyCommand")).toBe(true);

    output = [];
    expect(await runInfra(["apply"], {}, deps())).toBe(0);
    expect(printed()).toMatch(
      /✓ added permission vmpool-functions-vmpool-reconcile-schedule-[0-9a-f]{8} on vmpool-reconcile/,
    );
    expect(printed()).toContain("✓ created rule vmpool-alarm-autoscale on default");
    expect(printed()).toMatch(/Done\.$/);

    output = [];
    expect(await runInfra(["plan"], {}, deps())).toBe(0);
    expect(printed()).toContain("No changes. EventBridge matches the definitions.");
    expect(printed()).toContain("No changes. The function policies match the definitions.");
  });

  it("takes the region from the reconcile function's ARN when none is configured", async () => {
    const env = { ...ENV, VMPOOL_AWS_REGION: undefined };
    expect(await runInfra(["plan"], {}, deps(env))).toBe(0);
    expect(regions).toEqual(["eu-west-1"]);
  });

  it("exits 1 and reports the entries when PutTargets keeps failing", async () => {
    eventBridge.putTargetFailure = (rule) =>
      rule === "vmpool-chat-command" ? { code: "ConcurrentModification", message: "busy" } : undefined;
    expect(await runInfra(["apply"], {}, deps())).toBe(1);
    expect(printed()).toContain(
      "✗ PutTargets chatops on rule vmpool-chat-command: ConcurrentModification busy",
    );
  });

  it("exits 1 with the reason and what was done when an AWS call fails", async () => {
    lambda.mock
      .on(GetPolicyCommand)
      .rejects(Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException" }));
    expect(await runInfra(["plan"], {}, deps())).toBe(1);
    expect(printed()).toMatch(/^LambdaCallFailed: GetPolicy .* failed: AccessDeniedException/);
  });

  it("destroy removes our rules, bus and permissions; plan --destroy then has nothing left", async () => {
    expect(await runInfra(["apply"], {}, deps())).toBe(0);
    lambda.seed(CONFIG.functions.reconcile, {
      Sid: "SomeoneElse",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "lambda:InvokeFunction",
      Resource: CONFIG.functions.reconcile,
    });
    output = [];
    expect(await runInfra(["plan"], { destroy: true }, deps())).toBe(0);
    expect(printed()).toContain(
      "Permissions: 0 to add, 0 to replace, 5 to remove, 0 unchanged, 1 foreign left alone.",
    );
    output = [];
    expect(await runInfra(["destroy"], {}, deps())).toBe(0);
    expect(printed()).toContain("✓ deleted event bus vmpool-functions");
    expect(printed()).toMatch(/✓ removed permission vmpool-functions-vmpool-chat-command-/);
    expect(eventBridge.rules.size).toBe(0);
    expect(lambda.statements(CONFIG.functions.reconcile).map((s) => s.Sid)).toEqual(["SomeoneElse"]);
    output = [];
    expect(await runInfra(["plan"], { destroy: true }, deps())).toBe(0);
    expect(printed()).toContain(
      "Permissions: 0 to add, 0 to replace, 0 to remove, 0 unchanged, 1 foreign left alone.",
    );
  });
});
