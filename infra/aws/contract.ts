/**
 * The event contract between our functions on EventBridge: the source we publish under, the detail-types the rules
 * match, the ownership tag on everything we create, and the detail of a per-pool reconcile request. No AWS SDK
 * import, so handlers can share it without pulling in the client.
 */
import { z } from "zod";

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

/** The detail of a `Pool Reconcile Requested` event: which pool one reconcile invocation should handle. */
export const poolReconcileDetailSchema = z.object({
  kind: z.enum(["VirtualMachinePool", "VirtualMachineInstanceReplicaSet"]),
  namespace: z.string().min(1),
  name: z.string().min(1),
});

export type PoolRef = z.infer<typeof poolReconcileDetailSchema>;
