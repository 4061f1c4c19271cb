/**
 * Deployment configuration for the EventBridge wiring: function ARNs, dead-letter queue, bus name, name prefix,
 * retry policy and extra tags. Parsed once by a strict zod schema (a typo in our own config is an error), from a
 * JSON file or from `VMPOOL_*` environment variables.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ReasonedError } from "../../shared/errors";
import { MANAGED_BY_TAG } from "./contract";
import { parseOrThrow } from "./validation";

const ARN_PARTITION = "arn:aws(?:-[a-z]+)*";
const REGION = "[a-z]{2}(?:-[a-z]+)+-\\d+";

const lambdaArn = z
  .string()
  .regex(
    new RegExp(
      `^${ARN_PARTITION}:lambda:${REGION}:\\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]{1,128})?$`,
    ),
    "must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])",
  );

const sqsArn = z
  .string()
  .regex(
    new RegExp(`^${ARN_PARTITION}:sqs:${REGION}:\\d{12}:[A-Za-z0-9_-]{1,80}(?:\\.fifo)?$`),
    "must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)",
  );

/** EventBridge names: rule names and target ids allow `[.\-_A-Za-z0-9]`, rule names up to 64 characters. */
const namePrefix = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,40}$/, "must be 1-40 characters of letters, digits, '.', '-' or '_'");

const eventBusName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,256}$/, "must be 1-256 characters of letters, digits, '.', '-' or '_'")
  .refine((name) => name !== "default", 'must name a custom bus, not "default"');

/** Tag limits from the EventBridge `Tag` shape: key 1-128, value 0-256 characters; 50 tags per resource. */
const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine(
    (value) => !(MANAGED_BY_TAG.key in value),
    `must not set "${MANAGED_BY_TAG.key}"; it is always added`,
  )
  .refine((value) => Object.keys(value).length < 50, "at most 49 extra tags (50 per resource, one is ours)");

/** Target retry settings; bounds from the EventBridge `RetryPolicy` shape. */
const retryPolicy = z.strictObject({
  maximumRetryAttempts: z.int().min(0).max(185).default(4),
  maximumEventAgeInSeconds: z.int().min(60).max(86_400).default(3_600),
});

export const infraConfigSchema = z.strictObject({
  region: z
    .string()
    .regex(new RegExp(`^${REGION}$`), "must be an AWS region such as eu-west-1")
    .optional(),
  namePrefix: namePrefix.default("vmpool-"),
  eventBusName: eventBusName.default("vmpool-functions"),
  functions: z.strictObject({ reconcile: lambdaArn, autoscale: lambdaArn, chatops: lambdaArn }),
  deadLetterQueueArn: sqsArn,
  retryPolicy: retryPolicy.prefault({}),
  /** Only alarms whose name starts with this reach autoscale; without it every alarm in the account does. */
  alarmNamePrefix: z.string().min(1).max(255).optional(),
  tags: tags.default({}),
});

export type InfraConfig = z.output<typeof infraConfigSchema>;
export type InfraConfigInput = z.input<typeof infraConfigSchema>;

/**
 * What `vmpool infra template` reads: the same file and variables as plan/apply, but the stack creates the
 * functions and the dead-letter queue itself, so their ARNs may be left out (and are not used when given).
 */
export const templateConfigSchema = infraConfigSchema.extend({
  functions: z
    .strictObject({
      reconcile: lambdaArn.optional(),
      autoscale: lambdaArn.optional(),
      chatops: lambdaArn.optional(),
    })
    .optional(),
  deadLetterQueueArn: sqsArn.optional(),
});

export type TemplateConfig = z.output<typeof templateConfigSchema>;

/** Environment variables read by {@link infraConfigFromEnv}, keyed by the config field they fill. */
export const INFRA_ENV = {
  configFile: "VMPOOL_INFRA_CONFIG",
  region: "VMPOOL_AWS_REGION",
  namePrefix: "VMPOOL_NAME_PREFIX",
  eventBusName: "VMPOOL_EVENT_BUS_NAME",
  "functions.reconcile": "VMPOOL_RECONCILE_FUNCTION_ARN",
  "functions.autoscale": "VMPOOL_AUTOSCALE_FUNCTION_ARN",
  "functions.chatops": "VMPOOL_CHATOPS_FUNCTION_ARN",
  deadLetterQueueArn: "VMPOOL_DLQ_ARN",
  "retryPolicy.maximumRetryAttempts": "VMPOOL_MAX_RETRY_ATTEMPTS",
  "retryPolicy.maximumEventAgeInSeconds": "VMPOOL_MAX_EVENT_AGE_SECONDS",
  alarmNamePrefix: "VMPOOL_ALARM_NAME_PREFIX",
  tags: "VMPOOL_TAGS",
} as const;

/**
 * Validates a config object (e.g. parsed JSON).
 * @throws ReasonedError `InvalidInfraConfig` listing each bad field by path.
 */
export function parseInfraConfig(input: unknown): InfraConfig {
  return parseOrThrow(infraConfigSchema, input, "InvalidInfraConfig", "infra config");
}

/**
 * Reads and validates a JSON config file.
 * @throws ReasonedError `InvalidInfraConfig` when the file is unreadable, not JSON, or fails the schema.
 */
export function loadInfraConfigFile(path: string): InfraConfig {
  return readConfigFile(path, infraConfigSchema);
}

function readConfigFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ReasonedError("InvalidInfraConfig", `cannot read infra config file ${path}`, {
      status: 400,
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ReasonedError("InvalidInfraConfig", `infra config file ${path} is not valid JSON`, {
      status: 400,
      cause,
    });
  }
  return parseOrThrow(schema, json, "InvalidInfraConfig", `infra config file ${path}`);
}

/**
 * Builds the config from the environment: `VMPOOL_INFRA_CONFIG` names a JSON file; otherwise each field comes from
 * its `VMPOOL_*` variable (see {@link INFRA_ENV}; `VMPOOL_TAGS` is `key=value,key=value`). Error messages name the
 * variable next to the field.
 */
export function infraConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): InfraConfig {
  return configFromEnv(env, infraConfigSchema);
}

/** Like {@link infraConfigFromEnv}, for `vmpool infra template` ({@link templateConfigSchema}). */
export function templateConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TemplateConfig {
  return configFromEnv(env, templateConfigSchema);
}

function configFromEnv<S extends z.ZodType>(
  env: Readonly<Record<string, string | undefined>>,
  schema: S,
): z.output<S> {
  const file = env[INFRA_ENV.configFile];
  if (file !== undefined && file !== "") return readConfigFile(file, schema);
  const read = (key: keyof typeof INFRA_ENV): string | undefined => {
    const value = env[INFRA_ENV[key]];
    return value === undefined || value === "" ? undefined : value;
  };
  const candidate = dropUndefined({
    region: read("region") ?? env.AWS_REGION,
    namePrefix: read("namePrefix"),
    eventBusName: read("eventBusName"),
    functions: dropUndefined({
      reconcile: read("functions.reconcile"),
      autoscale: read("functions.autoscale"),
      chatops: read("functions.chatops"),
    }),
    deadLetterQueueArn: read("deadLetterQueueArn"),
    retryPolicy: dropUndefined({
      maximumRetryAttempts: numberOrText(read("retryPolicy.maximumRetryAttempts")),
      maximumEventAgeInSeconds: numberOrText(read("retryPolicy.maximumEventAgeInSeconds")),
    }),
    alarmNamePrefix: read("alarmNamePrefix"),
    tags: parseTagList(read("tags")),
  });
  return parseOrThrow(schema, candidate, "InvalidInfraConfig", "infra config from environment", (path) => {
    const variable = (INFRA_ENV as Record<string, string>)[path] ?? envForTag(path);
    return variable === undefined ? path : `${path} (${variable})`;
  });
}

function envForTag(path: string): string | undefined {
  return path.startsWith("tags") ? INFRA_ENV.tags : undefined;
}

/** Keeps non-numeric text as is so the schema reports it as "expected number" against the right field. */
function numberOrText(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : value;
}

function parseTagList(value: string | undefined): Record<string, string> | string | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of value.split(",")) {
    const index = pair.indexOf("=");
    // A malformed pair is handed to the schema as text so the error names VMPOOL_TAGS.
    if (index <= 0) return value;
    out[pair.slice(0, index).trim()] = pair.slice(index + 1).trim();
  }
  return out;
}

function dropUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
