/**
 * `vmpool infra template`: one CloudFormation template for the whole deployment, generated from the same
 * definitions `vmpool infra plan|apply` converge (./definitions, from the same config schema) and the per-function
 * needs in ./stack-functions, never kept by hand. It holds the functions (code from the built zips in S3), a
 * least-privilege role and log group each, function URLs with their public-invoke permissions, the event bus, every
 * rule with its targets, retry policy and dead-letter queue, one invoke permission per rule target, and the
 * parameters a user must give (secrets as NoEcho parameters). Pure: no AWS call, no clock.
 *
 * Data-driven on purpose: every key of the definitions, and every field of a rule and a target, has an entry in a
 * table below whose type is the definitions' own, so something new in ./definitions does not typecheck here until it
 * says what it deploys as.
 */
import { stringify } from "yaml";
import { settingsSchema } from "../../functions/runtime";
import {
  OPTIONAL_SECRET_ENV,
  SECRET_ENV,
  SECRET_KEYS,
  type SecretKey,
  secretsSchema,
} from "../../shared/config";
import { ReasonedError } from "../../shared/errors";
import type { TemplateConfig } from "./config";
import { EVENT_SOURCE } from "./contract";
import {
  buildDefinitions,
  DEFAULT_BUS,
  type FollowUpsDefinition,
  FUNCTION_NAMES,
  type FunctionName,
  type InfraDefinitions,
  type RuleDefinition,
  type TargetDefinition,
} from "./definitions";

type PolicyStatement = FollowUpsDefinition["functionStatements"][number];

import { EVENTS_PRINCIPAL, INVOKE_ACTION } from "./permissions";
import { FUNCTION_STACK, type PullSourceCalls } from "./stack-functions";

/** A CloudFormation value: literals, lists, maps and intrinsic functions (long form, so any YAML reader takes it). */
export type CfnValue = string | number | boolean | readonly CfnValue[] | { readonly [key: string]: CfnValue };

export interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, CfnValue>;
  readonly DependsOn?: readonly string[];
  readonly Condition?: string;
}

export interface CfnParameter {
  readonly Type: "String" | "Number";
  readonly Description: string;
  readonly NoEcho?: true;
  readonly Default?: string | number;
  readonly AllowedValues?: readonly (string | number)[];
  readonly AllowedPattern?: string;
  readonly MinLength?: number;
  readonly MinValue?: number;
  readonly MaxValue?: number;
  readonly ConstraintDescription?: string;
}

export interface CfnTemplate {
  readonly AWSTemplateFormatVersion: "2010-09-09";
  readonly Description: string;
  readonly Metadata: Record<string, CfnValue>;
  readonly Parameters: Record<string, CfnParameter>;
  readonly Rules: Record<string, CfnValue>;
  readonly Conditions: Record<string, CfnValue>;
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs: Record<string, { readonly Description: string; readonly Value: CfnValue }>;
}

export const ref = (name: string): CfnValue => ({ Ref: name });
export const getAtt = (resource: string, attribute: string): CfnValue => ({
  "Fn::GetAtt": [resource, attribute],
});
const NO_VALUE = ref("AWS::NoValue");
const notEmpty = (parameter: string): CfnValue => ({ "Fn::Not": [{ "Fn::Equals": [ref(parameter), ""] }] });

/** `vmpool-` + `reconcile`: letters, digits, `-`, `_` (Lambda and SQS names), at most 64. */
export function physicalName(namePrefix: string, name: string): string {
  return `${namePrefix}${name}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
}

/** `vmpool-pool-reconcile` → `VmpoolPoolReconcile` (logical ids are alphanumeric). */
export function logicalId(...parts: readonly string[]): string {
  return parts
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter((word) => word !== "")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

/** Logical ids of what the stack creates once or once per function. */
export const LOGICAL = {
  eventBus: "EventBus",
  deadLetterQueue: "DeadLetterQueue",
  deadLetterQueuePolicy: "DeadLetterQueuePolicy",
  function: (fn: FunctionName) => logicalId(fn, "Function"),
  role: (fn: FunctionName) => logicalId(fn, "Role"),
  logGroup: (fn: FunctionName) => logicalId(fn, "LogGroup"),
  url: (fn: FunctionName) => logicalId(fn, "Url"),
  codeKey: (fn: FunctionName) => logicalId(fn, "CodeKey"),
  secret: (key: SecretKey) => logicalId(key),
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Parameters

type Scope = "all" | readonly FunctionName[];

/** A parameter that becomes an environment variable; with a `""` default it is optional and left unset when empty. */
interface EnvParameter {
  readonly name: string;
  readonly variable: string;
  readonly functions: Scope;
  readonly group: string;
  readonly spec: CfnParameter;
}

const GROUP = {
  code: "Code (npm run build, then upload dist/functions/*.zip)",
  secrets: "Webhook secrets",
  cluster: "Cluster access (one of: kubeconfig text or path, EKS cluster + server, server + token)",
  settings: "Settings",
  sizing: "Functions",
} as const;

const optionalText = (description: string, extra: Partial<CfnParameter> = {}): CfnParameter => ({
  Type: "String",
  Description: description,
  Default: "",
  ...extra,
});

/** Choices of a zod enum with a default (one definition: the runtime's own schema). */
const manageValues = settingsSchema.shape.VMPOOL_MANAGE.unwrap().options;
const manageDefault = settingsSchema.shape.VMPOOL_MANAGE.parse(undefined);

function secretParameters(): EnvParameter[] {
  return SECRET_KEYS.map((key) => {
    const minLength = secretsSchema.shape[key].minLength ?? 1;
    const functions = FUNCTION_NAMES.filter((fn) => FUNCTION_STACK[fn].secrets.includes(key));
    return {
      name: LOGICAL.secret(key),
      variable: SECRET_ENV[key],
      functions,
      group: GROUP.secrets,
      spec: {
        Type: "String",
        NoEcho: true,
        MinLength: minLength,
        Description: `${SECRET_ENV[key]} for ${functions.join(", ")} (at least ${minLength} characters; no default)`,
      },
    };
  });
}

const ENV_PARAMETERS: readonly EnvParameter[] = [
  ...secretParameters(),
  {
    // The read-only scaling-history page (GET /ui) is served by the reconcile function and is off without it.
    name: "UiToken",
    variable: OPTIONAL_SECRET_ENV.uiToken,
    functions: ["reconcile"],
    group: GROUP.secrets,
    spec: optionalText(
      `${OPTIONAL_SECRET_ENV.uiToken}: turns on GET /ui of the reconcile function's URL (at least ${secretsSchema.shape.uiToken.unwrap().minLength ?? 16} characters; empty leaves it off)`,
      {
        NoEcho: true,
        AllowedPattern: `^(|.{${secretsSchema.shape.uiToken.unwrap().minLength ?? 16},})$`,
        ConstraintDescription: "empty, or at least 16 characters",
      },
    ),
  },
  {
    name: "KubeconfigYaml",
    variable: "VMPOOL_KUBECONFIG_YAML",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText("kubeconfig text (Lambda environment variables total at most 4 KB)", { NoEcho: true }),
  },
  {
    name: "KubeconfigPath",
    variable: "VMPOOL_KUBECONFIG",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText("kubeconfig file path, e.g. /opt/vmpool/kubeconfig from the layer"),
  },
  {
    name: "EksClusterName",
    variable: "VMPOOL_EKS_CLUSTER",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText(
      "EKS cluster name: tokens minted in-process (needs KubeServer; map the roles with an access entry)",
    ),
  },
  {
    name: "KubeServer",
    variable: "VMPOOL_KUBE_SERVER",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText("API server URL (with EksClusterName or KubeToken)"),
  },
  {
    name: "KubeToken",
    variable: "VMPOOL_KUBE_TOKEN",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText("bearer token for KubeServer", { NoEcho: true }),
  },
  {
    name: "KubeCaData",
    variable: "VMPOOL_KUBE_CA_DATA",
    functions: "all",
    group: GROUP.cluster,
    spec: optionalText("base64 CA bundle of KubeServer"),
  },
  {
    name: "Manage",
    variable: "VMPOOL_MANAGE",
    functions: "all",
    group: GROUP.settings,
    spec: {
      Type: "String",
      Description: "which pools the functions manage (README, Who manages a pool)",
      Default: manageDefault,
      AllowedValues: manageValues,
    },
  },
  {
    name: "LogLevel",
    variable: "LOG_LEVEL",
    functions: "all",
    group: GROUP.settings,
    spec: {
      Type: "String",
      Description: "pino log level",
      Default: "info",
      AllowedValues: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    },
  },
  {
    name: "ChatopsPolicyFile",
    variable: "VMPOOL_CHATOPS_POLICY_FILE",
    functions: ["chatops"],
    group: GROUP.settings,
    spec: optionalText(
      "chat-ops authorization policy file, e.g. /opt/vmpool/policy.yaml (unset: every command refused)",
    ),
  },
  {
    name: "AlertMapping",
    variable: "VMPOOL_ALERT_MAPPING",
    functions: ["autoscale"],
    group: GROUP.settings,
    spec: optionalText("JSON overriding the alert mapping (shared/autoscale/SOURCES.md)"),
  },
  {
    name: "PrometheusUrl",
    variable: "VMPOOL_PROMETHEUS_URL",
    functions: ["autoscale"],
    group: GROUP.settings,
    spec: optionalText("Prometheus base URL for the prometheus pull source"),
  },
  {
    name: "PrometheusToken",
    variable: "VMPOOL_PROMETHEUS_TOKEN",
    functions: ["autoscale"],
    group: GROUP.secrets,
    spec: optionalText("bearer token for PrometheusUrl (optional)", { NoEcho: true }),
  },
  {
    name: "PrometheusQueries",
    variable: "VMPOOL_PROMETHEUS_QUERIES",
    functions: ["autoscale"],
    group: GROUP.settings,
    spec: optionalText("JSON: metric name to PromQL (shared/autoscale/SOURCES.md)"),
  },
  {
    name: "CloudWatchQueries",
    variable: "VMPOOL_CLOUDWATCH_QUERIES",
    functions: ["autoscale"],
    group: GROUP.settings,
    spec: optionalText("JSON: metric name to a CloudWatch query for the cloudwatch pull source"),
  },
  ...pullSourceParameters(),
  {
    name: "GrafanaHmacSecret",
    variable: "VMPOOL_GRAFANA_HMAC_SECRET",
    functions: ["autoscale"],
    group: GROUP.secrets,
    spec: optionalText("Grafana contact point HMAC secret (optional; at least 16 characters)", {
      NoEcho: true,
      AllowedPattern: "^$|^.{16,}$",
      ConstraintDescription: "empty, or at least 16 characters",
    }),
  },
];

function pullSourceParameters(): EnvParameter[] {
  return FUNCTION_NAMES.flatMap((fn): EnvParameter[] => {
    const pull = FUNCTION_STACK[fn].pullSources;
    if (pull === undefined) return [];
    return [
      {
        name: pull.parameter,
        variable: pull.variable,
        functions: [fn],
        group: GROUP.settings,
        spec: {
          Type: "String",
          Description: `${pull.variable}: ${fn}'s pull sources, comma-separated, or none (${Object.keys(pull.actions).join(", ")} also grant what they call)`,
          Default: pull.defaultSources,
          AllowedPattern: "^(none|[a-z-]+(,[a-z-]+)*)$",
        },
      },
    ];
  });
}

const inScope = (scope: Scope, fn: FunctionName) => scope === "all" || scope.includes(fn);
const isOptional = (parameter: EnvParameter) => parameter.spec.Default === "";
const hasCondition = (parameter: string) => `Has${parameter}`;

/** Parameters that are not environment variables. */
function stackParameters(): Record<string, CfnParameter & { readonly group: string }> {
  const out: Record<string, CfnParameter & { readonly group: string }> = {
    CodeBucket: {
      group: GROUP.code,
      Type: "String",
      MinLength: 3,
      Description: "S3 bucket holding the function zips (same region as the stack)",
    },
  };
  for (const fn of FUNCTION_NAMES) {
    out[LOGICAL.codeKey(fn)] = {
      group: GROUP.code,
      Type: "String",
      Default: `${fn}.zip`,
      Description: `S3 key of dist/functions/${fn}.zip`,
    };
  }
  return {
    ...out,
    LayerArn: {
      group: GROUP.sizing,
      ...optionalText("a layer with the files the functions read (kubeconfig, chat-ops policy) under /opt"),
    },
    Runtime: {
      group: GROUP.sizing,
      Type: "String",
      Default: "nodejs22.x",
      AllowedValues: ["nodejs20.x", "nodejs22.x", "nodejs24.x"],
      Description: "Lambda runtime (the bundles target Node 20 and run on later ones)",
    },
    Architecture: {
      group: GROUP.sizing,
      Type: "String",
      Default: "arm64",
      AllowedValues: ["arm64", "x86_64"],
      Description: "the bundles are pure JavaScript: either works",
    },
    MemorySize: {
      group: GROUP.sizing,
      Type: "Number",
      Default: 512,
      MinValue: 128,
      MaxValue: 10_240,
      Description: "MB per function (CPU and cold start scale with it)",
    },
    Timeout: {
      group: GROUP.sizing,
      Type: "Number",
      Default: 60,
      MinValue: 30,
      MaxValue: 900,
      Description: "seconds; keep above VMPOOL_PASS_DEADLINE_MS (25 s by default)",
    },
    LogRetentionInDays: {
      group: GROUP.sizing,
      Type: "Number",
      Default: 30,
      AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
      Description: "days the functions' logs are kept",
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The definitions the template deploys

/** Stand-ins for the ARNs the stack itself creates; every use is replaced by a reference (see `resolve`). */
const PLACEHOLDER = { region: "us-east-1", account: "000000000000" } as const;

/**
 * The definitions `vmpool infra apply` would converge for this config, with the functions and the dead-letter
 * queue being the stack's own.
 */
export function templateDefinitions(config: TemplateConfig): InfraDefinitions {
  const { functions, deadLetterQueueArn } = placeholderArns(config);
  return buildDefinitions({ ...config, functions, deadLetterQueueArn });
}

function placeholderArns(config: Pick<TemplateConfig, "namePrefix">) {
  const at = (service: string, rest: string) =>
    `arn:aws:${service}:${PLACEHOLDER.region}:${PLACEHOLDER.account}:${rest}`;
  return {
    functions: Object.fromEntries(
      FUNCTION_NAMES.map((fn) => [fn, at("lambda", `function:${physicalName(config.namePrefix, fn)}`)]),
    ) as Record<FunctionName, string>,
    deadLetterQueueArn: at("sqs", physicalName(config.namePrefix, "dlq")),
    eventBusArn: (name: string) => at("events", `event-bus/${name}`),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Emitting resources

class Resources {
  readonly resources: Record<string, CfnResource> = {};
  readonly outputs: CfnTemplate["Outputs"] & Record<string, { Description: string; Value: CfnValue }> = {};

  add(id: string, resource: CfnResource): void {
    if (id in this.resources) {
      throw new ReasonedError("InvalidTemplate", `two resources would have the logical id ${id}`);
    }
    this.resources[id] = resource;
  }

  output(id: string, description: string, value: CfnValue): void {
    this.outputs[id] = { Description: description, Value: value };
  }
}

/** What a definition adds to one function: statements on its role, variables in its environment. */
interface FunctionExtras {
  readonly policies: CfnValue[];
  readonly environment: Properties;
}

interface Context {
  readonly defs: InfraDefinitions;
  readonly out: Resources;
  /** Logical ids of rules, by `<bus>/<name>`. */
  readonly ruleIds: Map<string, string>;
  /** ARNs in the definitions that name something this stack creates, and the reference that replaces each. */
  readonly arns: Map<string, CfnValue>;
  readonly extras: Record<FunctionName, FunctionExtras>;
  /** Conditions resources add (the template's own, for optional parameters, are added at the end). */
  readonly conditions: Record<string, CfnValue>;
}

const PLACEHOLDER_ARN = new RegExp(`^arn:aws:([a-z0-9-]+):(${PLACEHOLDER.region})?:${PLACEHOLDER.account}:`);

/**
 * A value from the definitions as the stack must write it: an ARN of something the stack creates becomes a
 * reference to it; any other ARN in the placeholder account, and the account itself, becomes the stack's
 * partition, region and account.
 */
function resolve(ctx: Context, value: string): CfnValue {
  const known = ctx.arns.get(value);
  if (known !== undefined) return known;
  if (value === PLACEHOLDER.account) return ref("AWS::AccountId");
  const match = PLACEHOLDER_ARN.exec(value);
  if (match === null) return value;
  const region = match[2] === undefined ? "" : `\${AWS::Region}`;
  return {
    "Fn::Sub": `arn:\${AWS::Partition}:${match[1]}:${region}:\${AWS::AccountId}:${value.slice(match[0].length)}`,
  };
}

function resolveDeep(ctx: Context, value: unknown): CfnValue {
  if (typeof value === "string") return resolve(ctx, value);
  if (Array.isArray(value)) return value.map((item) => resolveDeep(ctx, item));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveDeep(ctx, item)]));
  }
  return value as CfnValue;
}

/** A policy statement of the definitions (./definitions `policyStatementSchema`) in IAM's JSON. */
function iamStatement(ctx: Context, statement: PolicyStatement): CfnValue {
  return {
    Effect: statement.effect,
    Action: statement.actions,
    Resource: statement.resources.map((arn) => resolve(ctx, arn)),
    ...(statement.condition === undefined ? {} : { Condition: resolveDeep(ctx, statement.condition) }),
  };
}

const tagList = (tags: Record<string, string>): CfnValue =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

const ruleKey = (rule: Pick<RuleDefinition, "eventBusName" | "name">) => `${rule.eventBusName}/${rule.name}`;

/** The bus a rule is on: `default`, or the stack's bus by name (so CloudFormation orders the bus first). */
const busRef = (busName: string): CfnValue =>
  busName === DEFAULT_BUS ? DEFAULT_BUS : getAtt(LOGICAL.eventBus, "Name");

const busArn = (busName: string): CfnValue =>
  busName === DEFAULT_BUS
    ? {
        "Fn::Join": [
          ":",
          [
            "arn",
            ref("AWS::Partition"),
            "events",
            ref("AWS::Region"),
            ref("AWS::AccountId"),
            "event-bus/default",
          ],
        ],
      }
    : getAtt(LOGICAL.eventBus, "Arn");

type Properties = Record<string, CfnValue>;

/** Each target field as a property of `AWS::Events::Rule` `Target`. */
const TARGET_FIELDS: {
  readonly [K in keyof Required<TargetDefinition>]: (target: TargetDefinition) => Properties;
} = {
  id: (t) => ({ Id: t.id }),
  arn: (t) => ({ Arn: getAtt(LOGICAL.function(t.function), "Arn") }),
  function: () => ({}),
  input: (t) => (t.input === undefined ? {} : { Input: t.input }),
  retryPolicy: (t) => ({
    RetryPolicy: {
      MaximumRetryAttempts: t.retryPolicy.maximumRetryAttempts,
      MaximumEventAgeInSeconds: t.retryPolicy.maximumEventAgeInSeconds,
    },
  }),
  deadLetterArn: () => ({ DeadLetterConfig: { Arn: getAtt(LOGICAL.deadLetterQueue, "Arn") } }),
};

/** Each rule field as a property of `AWS::Events::Rule`. */
const RULE_FIELDS: { readonly [K in keyof Required<RuleDefinition>]: (rule: RuleDefinition) => Properties } =
  {
    name: (r) => ({ Name: r.name }),
    eventBusName: (r) => ({ EventBusName: busRef(r.eventBusName) }),
    description: (r) => ({ Description: r.description }),
    state: (r) => ({ State: r.state }),
    scheduleExpression: (r) =>
      r.scheduleExpression === undefined ? {} : { ScheduleExpression: r.scheduleExpression },
    eventPattern: (r) => (r.eventPattern === undefined ? {} : { EventPattern: r.eventPattern as CfnValue }),
    targets: (r) => ({ Targets: r.targets.map(targetProperties) }),
    // AWS::Events::Rule takes no Tags: the rules belong to the stack (and carry its tags), not to `vmpool infra`.
    tags: () => ({}),
    // The local scheduler's interval (`npm start`); EventBridge runs the schedule expression.
    localIntervalMs: () => ({}),
  };

function targetProperties(target: TargetDefinition): Properties {
  return Object.assign({}, ...Object.values(TARGET_FIELDS).map((field) => field(target)));
}

function emitRule(ctx: Context, rule: RuleDefinition): void {
  const prefix = ctx.defs.namePrefix;
  const short = rule.name.startsWith(prefix) ? rule.name.slice(prefix.length) : rule.name;
  const id = logicalId(short, "Rule");
  ctx.ruleIds.set(ruleKey(rule), id);
  ctx.out.add(id, {
    Type: "AWS::Events::Rule",
    Properties: Object.assign({}, ...Object.values(RULE_FIELDS).map((field) => field(rule))),
  });
  for (const target of rule.targets) {
    // What `vmpool infra apply` adds as statement `vmpool-functions-<rule>-<hash>` (./permissions).
    ctx.out.add(logicalId(short, target.id, "Permission"), {
      Type: "AWS::Lambda::Permission",
      Properties: {
        Action: INVOKE_ACTION,
        FunctionName: getAtt(LOGICAL.function(target.function), "Arn"),
        Principal: EVENTS_PRINCIPAL,
        SourceArn: getAtt(id, "Arn"),
      },
    });
  }
}

/** Each key of the definitions and what it deploys as. */
const DEFINITION_EMITTERS: {
  readonly [K in keyof InfraDefinitions]: (ctx: Context, value: InfraDefinitions[K]) => void;
} = {
  // Only names: rules and functions carry it.
  namePrefix: () => {},
  eventBus: (ctx, bus) => {
    ctx.out.add(LOGICAL.eventBus, {
      Type: "AWS::Events::EventBus",
      Properties: { Name: bus.name, Tags: tagList(bus.tags) },
    });
    ctx.out.output("EventBusArn", "the bus the functions publish to", getAtt(LOGICAL.eventBus, "Arn"));
  },
  rules: (ctx, rules) => {
    for (const rule of rules) emitRule(ctx, rule);
    emitDeadLetterQueue(ctx, rules);
  },
  followUps: (ctx, followUps) => {
    if (followUps !== undefined) emitFollowUps(ctx, followUps);
  },
};

/**
 * The follow-up passes (infra/aws/follow-ups): the schedule group, the role Scheduler assumes to publish onto the
 * bus, and on the function that schedules them, its extra statements and variables. The role's name is left to
 * CloudFormation (so the stack needs only CAPABILITY_IAM); every use of its ARN becomes a reference.
 */
function emitFollowUps(ctx: Context, followUps: FollowUpsDefinition): void {
  const group = "FollowUpScheduleGroup";
  const role = "FollowUpSchedulerRole";
  ctx.arns.set(followUps.executionRole.arn, getAtt(role, "Arn"));
  ctx.out.add(group, {
    Type: "AWS::Scheduler::ScheduleGroup",
    Properties: { Name: followUps.scheduleGroup.name, Tags: tagList(followUps.scheduleGroup.tags) },
  });
  ctx.out.add(role, {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: `EventBridge Scheduler: publish ${followUps.function}'s follow-up events`,
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: followUps.executionRole.trustedService },
            Action: "sts:AssumeRole",
            Condition: resolveDeep(ctx, followUps.executionRole.trustCondition),
          },
        ],
      },
      Policies: [
        {
          PolicyName: "publish",
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: followUps.executionRole.statements.map((statement) => iamStatement(ctx, statement)),
          },
        },
      ],
      Tags: tagList(followUps.executionRole.tags),
    },
  });
  const extras = ctx.extras[followUps.function];
  extras.policies.push({
    PolicyName: "follow-ups",
    PolicyDocument: {
      Version: "2012-10-17",
      Statement: followUps.functionStatements.map((statement) => iamStatement(ctx, statement)),
    },
  });
  for (const [variable, value] of Object.entries(followUps.environment)) {
    extras.environment[variable] = resolve(ctx, value);
  }
}

function emitDeadLetterQueue(ctx: Context, rules: readonly RuleDefinition[]): void {
  const senders = rules
    .filter((rule) => rule.targets.length > 0)
    .map((rule) => getAtt(ctx.ruleIds.get(ruleKey(rule)) ?? "", "Arn"));
  ctx.out.add(LOGICAL.deadLetterQueue, {
    Type: "AWS::SQS::Queue",
    Properties: {
      QueueName: physicalName(ctx.defs.namePrefix, "dlq"),
      // The longest SQS keeps a message: time to look at what failed.
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    },
  });
  // EventBridge needs the queue's permission to dead-letter (EventBridge user guide, "Granting permissions to the
  // dead-letter queue"): only our rules may send.
  ctx.out.add(LOGICAL.deadLetterQueuePolicy, {
    Type: "AWS::SQS::QueuePolicy",
    Properties: {
      Queues: [ref(LOGICAL.deadLetterQueue)],
      PolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "EventBridgeDeadLetters",
            Effect: "Allow",
            Principal: { Service: EVENTS_PRINCIPAL },
            Action: "sqs:SendMessage",
            Resource: getAtt(LOGICAL.deadLetterQueue, "Arn"),
            Condition: { ArnEquals: { "aws:SourceArn": senders } },
          },
        ],
      },
    },
  });
  ctx.out.output(
    "DeadLetterQueueUrl",
    "events no function took after the retries",
    ref(LOGICAL.deadLetterQueue),
  );
  ctx.out.output(
    "DeadLetterQueueArn",
    "the dead-letter queue of every rule target",
    getAtt(LOGICAL.deadLetterQueue, "Arn"),
  );
}

/** The bus whose rule receives what `fn` publishes; a publication nobody receives is a mistake in the tables. */
function publicationBus(defs: InfraDefinitions, fn: FunctionName, detailType: string): string {
  const receiver = defs.rules.find((rule) => {
    const pattern = rule.eventPattern;
    const types = pattern?.["detail-type"];
    const sources = pattern?.source;
    return (
      Array.isArray(types) &&
      types.includes(detailType) &&
      Array.isArray(sources) &&
      sources.includes(EVENT_SOURCE)
    );
  });
  if (receiver === undefined) {
    throw new ReasonedError(
      "InvalidTemplate",
      `${fn} publishes "${detailType}" but no rule in the definitions receives it`,
    );
  }
  return receiver.eventBusName;
}

function environment(ctx: Context, fn: FunctionName): Properties {
  const defs = ctx.defs;
  const variables: Properties = {};
  for (const parameter of ENV_PARAMETERS) {
    if (!inScope(parameter.functions, fn)) continue;
    variables[parameter.variable] = isOptional(parameter)
      ? { "Fn::If": [hasCondition(parameter.name), ref(parameter.name), NO_VALUE] }
      : ref(parameter.name);
  }
  for (const publication of FUNCTION_STACK[fn].publishes) {
    const bus = publicationBus(defs, fn, publication.detailType);
    variables[publication.busVariable] = bus === DEFAULT_BUS ? DEFAULT_BUS : getAtt(LOGICAL.eventBus, "Name");
  }
  return { ...variables, ...ctx.extras[fn].environment };
}

/** Logs to its own group, and PutEvents of exactly what it publishes on the bus that receives it. Nothing else. */
function rolePolicies(ctx: Context, fn: FunctionName): CfnValue[] {
  const defs = ctx.defs;
  const policies: CfnValue[] = [
    {
      PolicyName: "logs",
      PolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            // The stack creates the log group, so the function never needs logs:CreateLogGroup. Spelled out rather
            // than the group's Arn attribute: `:*` (its streams) is what these actions act on.
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: {
              "Fn::Sub": `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroupName(ctx, fn)}:*`,
            },
          },
        ],
      },
    },
  ];
  const publications = FUNCTION_STACK[fn].publishes;
  if (publications.length > 0) {
    policies.push({
      PolicyName: "publish",
      PolicyDocument: {
        Version: "2012-10-17",
        Statement: publications.map((publication) => ({
          Effect: "Allow",
          Action: "events:PutEvents",
          Resource: busArn(publicationBus(defs, fn, publication.detailType)),
          // EventBridge condition keys for PutEvents (EventBridge user guide, "Using IAM policy conditions").
          Condition: {
            StringEquals: { "events:source": EVENT_SOURCE, "events:detail-type": publication.detailType },
          },
        })),
      },
    });
  }
  return [...policies, ...ctx.extras[fn].policies];
}

/** Where Lambda writes a function's logs unless told otherwise. */
const logGroupName = (ctx: Context, fn: FunctionName) =>
  `/aws/lambda/${physicalName(ctx.defs.namePrefix, fn)}`;

function emitFunction(ctx: Context, fn: FunctionName): void {
  const name = physicalName(ctx.defs.namePrefix, fn);
  const stack = FUNCTION_STACK[fn];
  ctx.out.add(LOGICAL.logGroup(fn), {
    Type: "AWS::Logs::LogGroup",
    Properties: { LogGroupName: logGroupName(ctx, fn), RetentionInDays: ref("LogRetentionInDays") },
  });
  ctx.out.add(LOGICAL.role(fn), {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: `${name}: logs${stack.publishes.length > 0 ? " and its events" : ""} only`,
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      },
      Policies: rolePolicies(ctx, fn),
    },
  });
  ctx.out.add(LOGICAL.function(fn), {
    Type: "AWS::Lambda::Function",
    DependsOn: [LOGICAL.logGroup(fn)],
    Properties: {
      FunctionName: name,
      Description: stack.description,
      Runtime: ref("Runtime"),
      Architectures: [ref("Architecture")],
      // infra/build: `index.mjs` at the zip's root exports `handler`.
      Handler: "index.handler",
      MemorySize: ref("MemorySize"),
      Timeout: ref("Timeout"),
      Role: getAtt(LOGICAL.role(fn), "Arn"),
      Code: { S3Bucket: ref("CodeBucket"), S3Key: ref(LOGICAL.codeKey(fn)) },
      Layers: { "Fn::If": [hasCondition("LayerArn"), [ref("LayerArn")], NO_VALUE] },
      Environment: { Variables: environment(ctx, fn) },
    },
  });
  ctx.out.output(logicalId(fn, "FunctionArn"), `the ${fn} function`, getAtt(LOGICAL.function(fn), "Arn"));
  ctx.out.output(
    logicalId(fn, "RoleArn"),
    `${fn}'s execution role (on EKS, map it with an access entry)`,
    getAtt(LOGICAL.role(fn), "Arn"),
  );
  if (stack.routes.length > 0) emitUrl(ctx, fn);
  if (stack.pullSources !== undefined) emitPullSourcePolicies(ctx, fn, stack.pullSources);
}

/** The condition "the pull-source list names `source`": splitting by it changes the list only if it is there. */
function pullsCondition(parameter: string, source: string): CfnValue {
  return {
    "Fn::Not": [
      { "Fn::Equals": [{ "Fn::Join": ["", { "Fn::Split": [source, ref(parameter)] }] }, ref(parameter)] },
    ],
  };
}

/** One policy per pull source that calls AWS, attached to the role only when the source is configured. */
function emitPullSourcePolicies(ctx: Context, fn: FunctionName, pull: PullSourceCalls): void {
  for (const [source, actions] of Object.entries(pull.actions)) {
    const condition = logicalId(fn, "Pulls", source);
    ctx.conditions[condition] = pullsCondition(pull.parameter, source);
    ctx.out.add(logicalId(fn, source, "PullPolicy"), {
      Type: "AWS::IAM::Policy",
      Condition: condition,
      Properties: {
        PolicyName: `pull-${source}`,
        Roles: [ref(LOGICAL.role(fn))],
        PolicyDocument: {
          Version: "2012-10-17",
          // These actions have no resource-level permissions (Service Authorization Reference).
          Statement: [{ Effect: "Allow", Action: [...actions], Resource: "*" }],
        },
      },
    });
  }
}

/**
 * A function URL with auth type NONE (the function authenticates every request: bearer tokens, Slack signatures,
 * Grafana HMAC) and the two statements a public URL needs: `lambda:InvokeFunctionUrl`, and since October 2025
 * `lambda:InvokeFunction` limited to calls through the URL (Lambda developer guide, "Control access to function
 * URLs").
 */
function emitUrl(ctx: Context, fn: FunctionName): void {
  const target = getAtt(LOGICAL.function(fn), "Arn");
  ctx.out.add(LOGICAL.url(fn), {
    Type: "AWS::Lambda::Url",
    Properties: { AuthType: "NONE", TargetFunctionArn: target },
  });
  ctx.out.add(logicalId(fn, "UrlPermission"), {
    Type: "AWS::Lambda::Permission",
    Properties: {
      Action: "lambda:InvokeFunctionUrl",
      FunctionName: target,
      Principal: "*",
      FunctionUrlAuthType: "NONE",
    },
  });
  ctx.out.add(logicalId(fn, "UrlInvokePermission"), {
    Type: "AWS::Lambda::Permission",
    Properties: {
      Action: INVOKE_ACTION,
      FunctionName: target,
      Principal: "*",
      InvokedViaFunctionUrl: true,
    },
  });
  ctx.out.output(
    logicalId(fn, "Url"),
    `${fn}: ${FUNCTION_STACK[fn].routes.join(", ")}`,
    getAtt(LOGICAL.url(fn), "FunctionUrl"),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The template

/** Builds the template for `config` (pure). */
export function buildTemplate(config: TemplateConfig): CfnTemplate {
  return templateFor(templateDefinitions(config));
}

/**
 * The template deploying `defs`, which name the stack's functions and queue by the placeholder ARNs
 * {@link templateDefinitions} gives them (so a definition added to them deploys too).
 */
export function templateFor(defs: InfraDefinitions): CfnTemplate {
  const placeholders = placeholderArns(defs);
  const arns = new Map<string, CfnValue>([
    ...FUNCTION_NAMES.map((fn): [string, CfnValue] => [
      placeholders.functions[fn],
      getAtt(LOGICAL.function(fn), "Arn"),
    ]),
    [placeholders.deadLetterQueueArn, getAtt(LOGICAL.deadLetterQueue, "Arn")],
    [placeholders.eventBusArn(defs.eventBus.name), getAtt(LOGICAL.eventBus, "Arn")],
  ]);
  const extras = Object.fromEntries(
    FUNCTION_NAMES.map((fn): [FunctionName, FunctionExtras] => [fn, { policies: [], environment: {} }]),
  ) as Record<FunctionName, FunctionExtras>;
  const ctx: Context = { defs, out: new Resources(), ruleIds: new Map(), arns, extras, conditions: {} };
  for (const key of Object.keys(defs) as (keyof InfraDefinitions)[]) {
    const emit = DEFINITION_EMITTERS[key] as ((ctx: Context, value: unknown) => void) | undefined;
    if (emit === undefined) {
      throw new ReasonedError("InvalidTemplate", `the definitions' "${key}" has no CloudFormation form`);
    }
    emit(ctx, defs[key]);
  }
  for (const fn of FUNCTION_NAMES) emitFunction(ctx, fn);

  const stackParams = stackParameters();
  const parameters: Record<string, CfnParameter> = {};
  const groups = new Map<string, string[]>();
  const inGroup = (group: string, name: string) => groups.set(group, [...(groups.get(group) ?? []), name]);
  for (const [name, { group, ...spec }] of Object.entries(stackParams)) {
    parameters[name] = spec;
    inGroup(group, name);
  }
  const conditions: Record<string, CfnValue> = {
    [hasCondition("LayerArn")]: notEmpty("LayerArn"),
    ...ctx.conditions,
  };
  for (const parameter of ENV_PARAMETERS) {
    parameters[parameter.name] = parameter.spec;
    inGroup(parameter.group, parameter.name);
    if (isOptional(parameter)) conditions[hasCondition(parameter.name)] = notEmpty(parameter.name);
  }

  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `vmpool-functions: ${FUNCTION_NAMES.join(", ")} on Lambda with their EventBridge rules (generated by vmpool infra template)`,
    Metadata: {
      "AWS::CloudFormation::Interface": {
        ParameterGroups: [...groups].map(([label, names]) => ({
          Label: { default: label },
          Parameters: names,
        })),
      },
    },
    Parameters: parameters,
    Rules: {
      ClusterAccess: {
        Assertions: [
          {
            Assert: {
              "Fn::Or": [notEmpty("KubeconfigYaml"), notEmpty("KubeconfigPath"), notEmpty("KubeServer")],
            },
            AssertDescription: "give the functions a cluster: KubeconfigYaml, KubeconfigPath, or KubeServer",
          },
        ],
      },
      ServerNeedsCredentials: {
        RuleCondition: notEmpty("KubeServer"),
        Assertions: [
          {
            Assert: { "Fn::Or": [notEmpty("EksClusterName"), notEmpty("KubeToken")] },
            AssertDescription: "KubeServer needs EksClusterName (EKS tokens) or KubeToken",
          },
        ],
      },
    },
    Conditions: conditions,
    Resources: ctx.out.resources,
    Outputs: ctx.out.outputs,
  };
}

/** The template as YAML, with a header saying where it came from and what of the config it did not use. */
export function renderTemplate(config: TemplateConfig): string {
  const header = [
    "Generated by `npx vmpool infra template` from infra/aws/definitions.ts: regenerate, do not edit.",
    "Deploy: aws cloudformation deploy --template-file stack.yaml --stack-name vmpool --capabilities CAPABILITY_IAM \\",
    "  --parameter-overrides CodeBucket=<bucket> ReconcileToken=… (see infra/build/DEPLOY.md)",
  ];
  const unused = [
    ...(Object.values(config.functions ?? {}).some((arn) => arn !== undefined) ? ["functions"] : []),
    ...(config.deadLetterQueueArn !== undefined ? ["deadLetterQueueArn"] : []),
    ...(config.region !== undefined ? ["region"] : []),
  ];
  if (unused.length > 0) {
    header.push(
      `Not used from the config: ${unused.join(", ")} (the stack creates its own, in its own region).`,
    );
  }
  const body = stringify(buildTemplate(config), {
    lineWidth: 0,
    aliasDuplicateObjects: false,
    // YAML 1.1 rules (what CloudFormation and PyYAML read) quote "2012-10-17", "on", "yes" and the like.
    version: "1.1",
  });
  return `${header.map((line) => `# ${line}`).join("\n")}\n${body}`;
}
