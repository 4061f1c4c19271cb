/**
 * The event contract between our functions on EventBridge: the source we publish under, the detail-types the rules
 * match, the ownership tag on everything we create, and the detail of a per-pool reconcile request. No AWS SDK
 * import, so handlers can share it without pulling in the client.
 */
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { ReasonedError } from "../../shared/errors";

/** `Source` of every event our functions publish (custom sources must not start with `aws.`). */
export const EVENT_SOURCE = "vmpool-functions";

/** Detail-type of the per-pool events the reconcile-all timer fans out (one invocation per pool). */
export const POOL_RECONCILE_DETAIL_TYPE = "Pool Reconcile Requested";

/** Detail-type of the chat command the webhook hands to the chat-ops worker after acking within 3 s. */
export const CHAT_COMMAND_DETAIL_TYPE = "Chat Command Requested";

/** CloudWatch alarm transitions as delivered to the default bus (CloudWatch user guide, "Alarm events"). */
export const CLOUDWATCH_SOURCE = "aws.cloudwatch";
export const ALARM_STATE_CHANGE_DETAIL_TYPE = "CloudWatch Alarm State Change";

/** Every bus and rule we create carries this tag; only resources carrying it are ever changed or deleted. */
export const MANAGED_BY_TAG = { key: "managed-by", value: "vmpool-functions" } as const;

/** PutEvents and PutTargets accept at most 10 entries per call (EventBridge API reference). */
export const EVENTBRIDGE_BATCH_LIMIT = 10;

/** Highest follow-up attempt an event carries: later ones repeat it (the backoff is long capped by then). */
export const MAX_FOLLOW_UP_ATTEMPT = 100;

const poolRefShape = {
  kind: z.enum(["VirtualMachinePool", "VirtualMachineInstanceReplicaSet"]),
  namespace: z.string().min(1),
  name: z.string().min(1),
};

/**
 * The detail of a `Pool Reconcile Requested` event: which pool one reconcile invocation should handle, and for a
 * follow-up (a one-time schedule a pass left behind, see ./follow-ups) which one in the backoff sequence it is.
 */
export const poolReconcileDetailSchema = z.object({
  ...poolRefShape,
  attempt: z.int().min(1).max(MAX_FOLLOW_UP_ATTEMPT).optional(),
});

export type PoolRef = z.infer<z.ZodObject<typeof poolRefShape>>;
export type PoolReconcileDetail = z.infer<typeof poolReconcileDetailSchema>;

/**
 * The reconcile function's follow-up settings (set by the deployment from `followUps` in ./definitions): the
 * Scheduler group its one-time schedules go in, the role Scheduler assumes to publish, and the bus it publishes to.
 * All three or none; none means no follow-ups (the timer alone catches up).
 */
export const FOLLOW_UP_ENV = {
  group: "VMPOOL_FOLLOW_UP_SCHEDULE_GROUP",
  roleArn: "VMPOOL_FOLLOW_UP_ROLE_ARN",
  busArn: "VMPOOL_FOLLOW_UP_BUS_ARN",
} as const;

const ARN_PARTITION = "arn:aws(?:-[a-z]+)*";
/** An unset variable, also when a deployment tool writes it as the empty string. */
const unset = (value: unknown) => (value === "" ? undefined : value);

const followUpEnvSchema = z
  .looseObject({
    [FOLLOW_UP_ENV.group]: z.preprocess(
      unset,
      z
        .string()
        .regex(
          /^[0-9A-Za-z._-]{1,64}$/,
          "must be a schedule group name (1-64 of letters, digits, '.', '-', '_')",
        )
        .optional(),
    ),
    [FOLLOW_UP_ENV.roleArn]: z.preprocess(
      unset,
      z
        .string()
        .regex(
          new RegExp(`^${ARN_PARTITION}:iam::\\d{12}:role/[\\w+=,.@/-]{1,512}$`),
          "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
        )
        .optional(),
    ),
    [FOLLOW_UP_ENV.busArn]: z.preprocess(
      unset,
      z
        .string()
        .regex(
          new RegExp(`^${ARN_PARTITION}:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._-]{1,256}$`),
          "must be an EventBridge bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)",
        )
        .optional(),
    ),
  })
  .superRefine((env, ctx) => {
    const names = Object.values(FOLLOW_UP_ENV);
    const set = names.filter((name) => env[name] !== undefined);
    if (set.length === 0 || set.length === names.length) return;
    for (const name of names.filter((n) => !set.includes(n)))
      ctx.addIssue({ code: "custom", path: [name], message: `must be set with ${set.join(" and ")}` });
  });

/** Where follow-up schedules go. */
export interface FollowUpTarget {
  readonly group: string;
  readonly roleArn: string;
  readonly busArn: string;
}

/**
 * The follow-up target the environment configures, or undefined when it configures none.
 * @throws ReasonedError `InvalidSettings` naming the variable that is malformed or missing beside the others.
 */
export function followUpTargetFromEnv(env: NodeJS.ProcessEnv = process.env): FollowUpTarget | undefined {
  const parsed = followUpEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  const group = parsed.data[FOLLOW_UP_ENV.group];
  const roleArn = parsed.data[FOLLOW_UP_ENV.roleArn];
  const busArn = parsed.data[FOLLOW_UP_ENV.busArn];
  if (group === undefined || roleArn === undefined || busArn === undefined) return undefined;
  return { group, roleArn, busArn };
}
