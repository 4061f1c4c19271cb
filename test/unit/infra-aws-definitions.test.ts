import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildDefinitions,
  INFRA_ENV,
  infraConfigFromEnv,
  loadInfraConfigFile,
  MANAGED_BY_TAG,
  parseInfraConfig,
  SCHEDULES,
  validateDefinitions,
} from "../../infra/aws";
import { hasReason, type ReasonedError } from "../../shared/errors";
import { CONFIG } from "./infra-aws-fake";

function thrown(fn: () => unknown): ReasonedError {
  try {
    fn();
  } catch (err) {
    return err as ReasonedError;
  }
  throw new Error("expected a throw");
}

describe("infra config", () => {
  it("fills defaults for prefix, bus and retry policy", () => {
    const config = parseInfraConfig(CONFIG);
    expect(config.namePrefix).toBe("vmpool-");
    expect(config.eventBusName).toBe("vmpool-functions");
    expect(config.retryPolicy).toEqual({ maximumRetryAttempts: 4, maximumEventAgeInSeconds: 3600 });
  });

  it.each([
    // a function ARN that is not a Lambda ARN
    [
      { functions: { ...CONFIG.functions, reconcile: "vmpool-reconcile" } },
      "functions.reconcile: must be a Lambda",
    ],
    // a missing function
    [
      { functions: { reconcile: CONFIG.functions.reconcile, autoscale: CONFIG.functions.autoscale } },
      "functions.chatops",
    ],
    // a DLQ that is not SQS
    [
      { deadLetterQueueArn: "arn:aws:sns:eu-west-1:123456789012:topic" },
      "deadLetterQueueArn: must be an SQS queue ARN",
    ],
    // retry bounds from the RetryPolicy shape
    [{ retryPolicy: { maximumRetryAttempts: 186 } }, "retryPolicy.maximumRetryAttempts"],
    [{ retryPolicy: { maximumEventAgeInSeconds: 59 } }, "retryPolicy.maximumEventAgeInSeconds"],
    // our ownership tag cannot be overridden
    [{ tags: { "managed-by": "someone-else" } }, 'tags: must not set "managed-by"'],
    // the default bus is not ours to create
    [{ eventBusName: "default" }, 'eventBusName: must name a custom bus, not "default"'],
    // characters EventBridge names do not allow
    [{ namePrefix: "vm pool" }, "namePrefix: must be 1-40 characters"],
    // typos in our own config are errors, not ignored
    [{ deadLetterQueue: "x" }, "deadLetterQueue"],
  ])("rejects %o", (override, fragment) => {
    const err = thrown(() => parseInfraConfig({ ...CONFIG, ...override }));
    expect(hasReason(err, "InvalidInfraConfig")).toBe(true);
    expect(err.status).toBe(400);
    expect(err.message).toContain(fragment);
  });

  it("reads VMPOOL_* variables and names them in errors", () => {
    const env = {
      [INFRA_ENV["functions.reconcile"]]: CONFIG.functions.reconcile,
      [INFRA_ENV["functions.autoscale"]]: CONFIG.functions.autoscale,
      [INFRA_ENV["functions.chatops"]]: CONFIG.functions.chatops,
      [INFRA_ENV.deadLetterQueueArn]: CONFIG.deadLetterQueueArn,
      [INFRA_ENV["retryPolicy.maximumRetryAttempts"]]: "2",
      [INFRA_ENV.tags]: "team=platform, cost-center=42",
      [INFRA_ENV.namePrefix]: "dev-vmpool-",
    };
    const config = infraConfigFromEnv(env);
    expect(config.functions.chatops).toBe(CONFIG.functions.chatops);
    expect(config.retryPolicy.maximumRetryAttempts).toBe(2);
    expect(config.tags).toEqual({ team: "platform", "cost-center": "42" });
    expect(config.namePrefix).toBe("dev-vmpool-");

    const err = thrown(() =>
      infraConfigFromEnv({
        ...env,
        VMPOOL_RECONCILE_FUNCTION_ARN: undefined,
        VMPOOL_MAX_RETRY_ATTEMPTS: "lots",
      }),
    );
    expect(err.message).toContain("functions.reconcile (VMPOOL_RECONCILE_FUNCTION_ARN)");
    expect(err.message).toContain("retryPolicy.maximumRetryAttempts (VMPOOL_MAX_RETRY_ATTEMPTS)");
    expect(thrown(() => infraConfigFromEnv({ ...env, VMPOOL_TAGS: "oops" })).message).toContain(
      "tags (VMPOOL_TAGS)",
    );
  });

  it("loads a JSON file named by VMPOOL_INFRA_CONFIG and reports bad files by path", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmpool-infra-"));
    const good = join(dir, "infra.json");
    writeFileSync(good, JSON.stringify(CONFIG));
    expect(infraConfigFromEnv({ VMPOOL_INFRA_CONFIG: good }).functions.autoscale).toBe(
      CONFIG.functions.autoscale,
    );

    const notJson = join(dir, "broken.json");
    writeFileSync(notJson, "{ not json");
    expect(thrown(() => loadInfraConfigFile(notJson)).message).toContain(`${notJson} is not valid JSON`);
    const invalid = join(dir, "invalid.json");
    writeFileSync(invalid, JSON.stringify({ ...CONFIG, deadLetterQueueArn: "nope" }));
    expect(thrown(() => loadInfraConfigFile(invalid)).message).toContain("deadLetterQueueArn");
    expect(
      hasReason(
        thrown(() => loadInfraConfigFile(join(dir, "missing.json"))),
        "InvalidInfraConfig",
      ),
    ).toBe(true);
  });
});

describe("buildDefinitions", () => {
  const defs = buildDefinitions(parseInfraConfig(CONFIG));
  const rule = (suffix: string) => defs.rules.find((r) => r.name === `vmpool-${suffix}`);

  it("derives the scheduled rule from the same SCHEDULES the local scheduler fires", () => {
    const schedule = SCHEDULES[0];
    expect(rule("reconcile-schedule")).toMatchObject({
      eventBusName: "default",
      scheduleExpression: schedule?.scheduleExpression,
      localIntervalMs: schedule?.localIntervalMs,
      targets: [{ id: "reconcile", arn: CONFIG.functions.reconcile }],
    });
  });

  it("routes pool reconcile and chat commands on our bus, alarms on the default bus", () => {
    expect(rule("pool-reconcile")).toMatchObject({
      eventBusName: "vmpool-functions",
      eventPattern: { source: ["vmpool-functions"], "detail-type": ["Pool Reconcile Requested"] },
      targets: [{ function: "reconcile" }],
    });
    expect(rule("chat-command")).toMatchObject({
      eventBusName: "vmpool-functions",
      eventPattern: { "detail-type": ["Chat Command Requested"] },
      targets: [{ function: "chatops", arn: CONFIG.functions.chatops }],
    });
    expect(rule("alarm-autoscale")).toMatchObject({
      eventBusName: "default",
      eventPattern: { source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"] },
      targets: [{ function: "autoscale", arn: CONFIG.functions.autoscale }],
    });
  });

  it("filters alarms by name prefix when configured", () => {
    const filtered = buildDefinitions(parseInfraConfig({ ...CONFIG, alarmNamePrefix: "vmpool-" }));
    expect(filtered.rules.find((r) => r.name === "vmpool-alarm-autoscale")?.eventPattern).toMatchObject({
      detail: { alarmName: [{ prefix: "vmpool-" }] },
    });
  });

  it("gives every target the retry policy and DLQ, and tags every resource as ours", () => {
    for (const r of defs.rules) {
      expect(r.tags).toEqual({ team: "platform", [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value });
      for (const target of r.targets) {
        expect(target.retryPolicy).toEqual({ maximumRetryAttempts: 4, maximumEventAgeInSeconds: 3600 });
        expect(target.deadLetterArn).toBe(CONFIG.deadLetterQueueArn);
      }
    }
    expect(defs.eventBus.tags[MANAGED_BY_TAG.key]).toBe(MANAGED_BY_TAG.value);
  });

  it("round-trips through validateDefinitions unchanged", () => {
    expect(validateDefinitions(structuredClone(defs))).toEqual(defs);
  });
});
