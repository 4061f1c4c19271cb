/**
 * The single source of truth for what we deploy to EventBridge: the schedules (also fired locally by
 * `shared/schedule`'s scheduler), the custom bus, and the rules with their Lambda targets, retry policy and
 * dead-letter queue; and the reconcile function's follow-ups (a Scheduler group, the role Scheduler assumes, what the
 * function's role needs, the function's environment). Definitions are plain data validated by zod before any AWS
 * call; no SDK import here.
 */
import { z } from "zod";
import { hasReason } from "../../shared/errors";
import { LOCAL_DEFAULT_INTERVAL_MS, parseSchedule, type ScheduleDefinition } from "../../shared/schedule";
import { parseLambdaArn } from "./arns";
import type { InfraConfig } from "./config";
import {
  ALARM_STATE_CHANGE_DETAIL_TYPE,
  CHAT_COMMAND_DETAIL_TYPE,
  CLOUDWATCH_SOURCE,
  EVENT_SOURCE,
  FOLLOW_UP_ENV,
  MANAGED_BY_TAG,
  POOL_RECONCILE_DETAIL_TYPE,
} from "./contract";
import { parseOrThrow } from "./validation";

export const FUNCTION_NAMES = ["reconcile", "autoscale", "chatops"] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The bus every AWS service event (CloudWatch alarms) and every scheduled rule lives on. */
export const DEFAULT_BUS = "default";

/** The scheduled autoscale pass under `npm start`: the HPA controller's 15 s sync period. */
export const LOCAL_AUTOSCALE_INTERVAL_MS = 15_000;

/**
 * Schedules shared by EventBridge and the local scheduler. The reconcile timer runs every minute in AWS (the
 * finest a rule allows) and every 10 s under `npm start`; the autoscale pass (`autoscale-all`, reading every HPA's
 * metrics from the pull sources) every minute in AWS, the floor there, and every 15 s under `npm start`.
 */
export const SCHEDULES: readonly ScheduleDefinition<FunctionName>[] = [
  {
    name: "reconcile-schedule",
    scheduleExpression: "rate(1 minute)",
    target: "reconcile",
    localIntervalMs: LOCAL_DEFAULT_INTERVAL_MS,
  },
  {
    name: "autoscale-schedule",
    scheduleExpression: "rate(1 minute)",
    target: "autoscale",
    localIntervalMs: LOCAL_AUTOSCALE_INTERVAL_MS,
  },
];

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of letters, digits, '.', '-' or '_'");
const arn = z.string().regex(/^arn:aws(?:-[a-z]+)*:[a-z0-9-]+:/, "must be an ARN (arn:aws:<service>:…)");
const sqsArn = z.string().regex(/^arn:aws(?:-[a-z]+)*:sqs:/, "must be an SQS queue ARN (arn:aws:sqs:…)");
const tagMap = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine(
    (tags) => tags[MANAGED_BY_TAG.key] === MANAGED_BY_TAG.value,
    `must include ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}`,
  )
  .refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags per resource");

const scheduleExpression = z.string().superRefine((expression, ctx) => {
  try {
    parseSchedule(expression);
  } catch (err) {
    if (!hasReason(err, "InvalidSchedule")) throw err;
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

export const targetDefinitionSchema = z.strictObject({
  id: identifier,
  function: z.enum(FUNCTION_NAMES),
  arn,
  /** Literal JSON passed instead of the event; absent means the target receives the matched event. */
  input: z.string().optional(),
  retryPolicy: z.strictObject({
    maximumRetryAttempts: z.int().min(0).max(185),
    maximumEventAgeInSeconds: z.int().min(60).max(86_400),
  }),
  deadLetterArn: sqsArn,
});

export const ruleDefinitionSchema = z
  .strictObject({
    name: identifier,
    eventBusName: z.string().min(1).max(256),
    description: z.string().max(512),
    state: z.enum(["ENABLED", "DISABLED"]),
    scheduleExpression: scheduleExpression.optional(),
    eventPattern: z.record(z.string(), z.unknown()).optional(),
    // PutTargets: at most 5 targets per rule.
    targets: z.array(targetDefinitionSchema).min(1).max(5),
    tags: tagMap,
    localIntervalMs: z.int().positive().optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.scheduleExpression === undefined && rule.eventPattern === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["scheduleExpression"],
        message: "a rule needs a schedule or a pattern",
      });
    }
    // The rules API refuses schedules on custom or partner buses.
    if (rule.scheduleExpression !== undefined && rule.eventBusName !== DEFAULT_BUS) {
      ctx.addIssue({
        code: "custom",
        path: ["eventBusName"],
        message: `scheduled rules must be on the "${DEFAULT_BUS}" bus, not "${rule.eventBusName}"`,
      });
    }
    const ids = rule.targets.map((target) => target.id);
    ids.forEach((id, index) => {
      if (ids.indexOf(id) !== index) {
        ctx.addIssue({
          code: "custom",
          path: ["targets", index, "id"],
          message: `duplicate target id "${id}"`,
        });
      }
    });
  });

/** IAM's role-name rule: 1-64 of `[\w+=,.@-]`. */
const roleName = z
  .string()
  .regex(/^[\w+=,.@-]{1,64}$/, "must be 1-64 characters of letters, digits or '+=,.@-_'");
const roleArn = z.string().regex(/^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\//, "must be an IAM role ARN");

/** One IAM policy statement, in IAM's own vocabulary. */
export const policyStatementSchema = z.strictObject({
  effect: z.literal("Allow"),
  actions: z
    .array(z.string().regex(/^[a-z0-9-]+:[A-Za-z*]+$/, "must be an action such as events:PutEvents"))
    .min(1),
  resources: z.array(arn).min(1),
  condition: z.record(z.string(), z.record(z.string(), z.string())).optional(),
});

/**
 * The reconcile function's follow-up passes (infra/aws/follow-ups): one-time schedules in `scheduleGroup`, which
 * Scheduler runs as `executionRole` to publish a `Pool Reconcile Requested` event onto our bus (the `pool-reconcile`
 * rule then invokes the function). The function's own role needs `functionStatements`; `environment` turns it on.
 */
export const followUpsDefinitionSchema = z.strictObject({
  scheduleGroup: z.strictObject({ name: identifier, tags: tagMap }),
  executionRole: z.strictObject({
    name: roleName,
    arn: roleArn,
    trustedService: z.literal("scheduler.amazonaws.com"),
    /** Only schedules of this account may assume it (the confused-deputy guard AWS recommends). */
    trustCondition: z.record(z.string(), z.record(z.string(), z.string())),
    statements: z.array(policyStatementSchema).min(1),
    tags: tagMap,
  }),
  function: z.enum(FUNCTION_NAMES),
  functionStatements: z.array(policyStatementSchema).min(1),
  environment: z.strictObject({
    [FOLLOW_UP_ENV.group]: identifier,
    [FOLLOW_UP_ENV.roleArn]: roleArn,
    [FOLLOW_UP_ENV.busArn]: arn,
  }),
});

export const infraDefinitionsSchema = z
  .strictObject({
    namePrefix: z.string().min(1).max(40),
    eventBus: z.strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,256}$/, "must be 1-256 characters of letters, digits, '.', '-' or '_'")
        .refine((name) => name !== DEFAULT_BUS, `must be a custom bus, not "${DEFAULT_BUS}"`),
      tags: tagMap,
    }),
    rules: z.array(ruleDefinitionSchema),
    followUps: followUpsDefinitionSchema.optional(),
  })
  .superRefine((defs, ctx) => {
    const seen = new Set<string>();
    defs.rules.forEach((rule, index) => {
      // plan/destroy discover our rules by listing this prefix; a rule outside it would be invisible to them.
      if (!rule.name.startsWith(defs.namePrefix)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index, "name"],
          message: `must start with namePrefix "${defs.namePrefix}"`,
        });
      }
      if (rule.eventBusName !== DEFAULT_BUS && rule.eventBusName !== defs.eventBus.name) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index, "eventBusName"],
          message: `must be "${DEFAULT_BUS}" or "${defs.eventBus.name}"`,
        });
      }
      const key = `${rule.eventBusName}/${rule.name}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: "custom", path: ["rules", index, "name"], message: `duplicate rule "${key}"` });
      }
      seen.add(key);
    });
  });

export type TargetDefinition = z.output<typeof targetDefinitionSchema>;
export type RuleDefinition = z.output<typeof ruleDefinitionSchema>;
export type FollowUpsDefinition = z.output<typeof followUpsDefinitionSchema>;
export type InfraDefinitions = z.output<typeof infraDefinitionsSchema>;

/**
 * Checks definitions (names, ARNs, schedules, buses, limits, ownership tag).
 * @throws ReasonedError `InvalidInfraDefinitions` listing each bad field by path.
 */
export function validateDefinitions(defs: unknown): InfraDefinitions {
  return parseOrThrow(infraDefinitionsSchema, defs, "InvalidInfraDefinitions", "EventBridge definitions");
}

/** Derives the full set of bus, rules and targets from a validated config. */
export function buildDefinitions(config: InfraConfig): InfraDefinitions {
  const tags = { ...config.tags, [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value };
  const target = (fn: FunctionName): TargetDefinition => ({
    id: fn,
    function: fn,
    arn: config.functions[fn],
    retryPolicy: { ...config.retryPolicy },
    deadLetterArn: config.deadLetterQueueArn,
  });
  const bus = config.eventBusName;
  const scheduled = SCHEDULES.map(
    (schedule): RuleDefinition => ({
      name: `${config.namePrefix}${schedule.name}`,
      eventBusName: DEFAULT_BUS,
      description: `vmpool-functions: ${schedule.target} on ${schedule.scheduleExpression}`,
      state: "ENABLED",
      scheduleExpression: schedule.scheduleExpression,
      targets: [target(schedule.target)],
      tags,
      ...(schedule.localIntervalMs === undefined ? {} : { localIntervalMs: schedule.localIntervalMs }),
    }),
  );
  const alarmPattern: Record<string, unknown> = {
    source: [CLOUDWATCH_SOURCE],
    "detail-type": [ALARM_STATE_CHANGE_DETAIL_TYPE],
    ...(config.alarmNamePrefix === undefined
      ? {}
      : { detail: { alarmName: [{ prefix: config.alarmNamePrefix }] } }),
  };
  return validateDefinitions({
    namePrefix: config.namePrefix,
    eventBus: { name: bus, tags },
    followUps: followUpsDefinition(config, tags),
    rules: [
      ...scheduled,
      {
        name: `${config.namePrefix}pool-reconcile`,
        eventBusName: bus,
        description: "vmpool-functions: reconcile one pool per fanned-out event",
        state: "ENABLED",
        eventPattern: { source: [EVENT_SOURCE], "detail-type": [POOL_RECONCILE_DETAIL_TYPE] },
        targets: [target("reconcile")],
        tags,
      },
      {
        // AWS service events only reach the default bus.
        name: `${config.namePrefix}alarm-autoscale`,
        eventBusName: DEFAULT_BUS,
        description: "vmpool-functions: autoscale on CloudWatch alarm state changes",
        state: "ENABLED",
        eventPattern: alarmPattern,
        targets: [target("autoscale")],
        tags,
      },
      {
        name: `${config.namePrefix}chat-command`,
        eventBusName: bus,
        description: "vmpool-functions: chat-ops worker for acknowledged chat commands",
        state: "ENABLED",
        eventPattern: { source: [EVENT_SOURCE], "detail-type": [CHAT_COMMAND_DETAIL_TYPE] },
        targets: [target("chatops")],
        tags,
      },
    ],
  });
}

/**
 * The follow-up resources for `config`: they live in the reconcile function's partition, region and account (its
 * ARN says which), so every ARN is known before anything exists.
 */
function followUpsDefinition(config: InfraConfig, tags: Record<string, string>): FollowUpsDefinition {
  const fn = parseLambdaArn(config.functions.reconcile);
  if (!fn) throw new Error(`not a Lambda function ARN: ${config.functions.reconcile}`);
  const { partition, region, account } = fn;
  const group = `${config.namePrefix}follow-ups`;
  const role = `${config.namePrefix}follow-up-scheduler`;
  const roleArnOf = `arn:${partition}:iam::${account}:role/${role}`;
  const busArn = `arn:${partition}:events:${region}:${account}:event-bus/${config.eventBusName}`;
  return {
    scheduleGroup: { name: group, tags },
    executionRole: {
      name: role,
      arn: roleArnOf,
      trustedService: "scheduler.amazonaws.com",
      trustCondition: { StringEquals: { "aws:SourceAccount": account } },
      statements: [{ effect: "Allow", actions: ["events:PutEvents"], resources: [busArn] }],
      tags,
    },
    function: "reconcile",
    functionStatements: [
      {
        effect: "Allow",
        actions: ["scheduler:CreateSchedule"],
        resources: [`arn:${partition}:scheduler:${region}:${account}:schedule/${group}/*`],
      },
      {
        effect: "Allow",
        actions: ["iam:PassRole"],
        resources: [roleArnOf],
        condition: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      },
    ],
    environment: {
      [FOLLOW_UP_ENV.group]: group,
      [FOLLOW_UP_ENV.roleArn]: roleArnOf,
      [FOLLOW_UP_ENV.busArn]: busArn,
    },
  };
}
