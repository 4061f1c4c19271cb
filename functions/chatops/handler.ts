/**
 * The chat-ops Lambda entry. One function, two kinds of invocation, routed by shape before hono (whose adapter
 * only understands HTTP events): a `Chat Command Requested` EventBridge event runs the command (the worker), and
 * anything else is an HTTP request for the webhooks (`hono/aws-lambda`). The webhook publishes the job and only
 * then answers, so no work runs after the HTTP response (reference/scaling-triggers.md §0.4, §5.6).
 */
import type { LambdaContext } from "hono/aws-lambda";
import { z } from "zod";
import { publishChatCommand } from "../../infra/aws/chat";
import { createEventBridgeClient } from "../../infra/aws/client";
import { CHAT_COMMAND_DETAIL_TYPE, EVENT_SOURCE } from "../../infra/aws/contract";
import { parseChatJob } from "../../shared/chatops";
import { runtimeFromEnv } from "../bootstrap";
import { createLambdaEntry } from "../lambda";
import type { Runtime } from "../runtime";
import { type ChatJobPublisher, type Chatops, type ChatopsOptions, createChatops } from "./routes";
import { type ChatopsSettings, chatopsSettingsFromEnv } from "./settings";

/** The EventBridge envelope of a chat job (detail validated separately, so errors name its fields). */
const chatCommandEventSchema = z.looseObject({
  source: z.literal(EVENT_SOURCE),
  "detail-type": z.literal(CHAT_COMMAND_DETAIL_TYPE),
  id: z.string().optional(),
  detail: z.unknown(),
});

export type ChatopsHandlerOptions = ChatopsOptions;

/** What the worker invocation answers (EventBridge ignores it; tests and logs read it). */
export interface WorkerInvocationResult {
  readonly ok: boolean;
  readonly reason: string;
}

/** Publishes jobs as `Chat Command Requested` events on the configured bus. */
export function eventBridgePublisher(settings: ChatopsSettings): ChatJobPublisher {
  const client = createEventBridgeClient(settings.region === undefined ? {} : { region: settings.region });
  return async (job) => {
    await publishChatCommand(client, settings.eventBusName, { ...job });
  };
}

/**
 * The Lambda handler. `getRuntime` builds the runtime once per cold start (a failed build is retried on the next
 * invocation). Without `options.publish`, jobs go to EventBridge (`VMPOOL_EVENT_BUS_NAME`).
 */
export function createChatopsHandler(
  getRuntime: () => Runtime | Promise<Runtime>,
  options: ChatopsHandlerOptions = {},
): (event: unknown, context?: LambdaContext) => Promise<unknown> {
  return createLambdaEntry(getRuntime, {
    prepare: (runtime: Runtime): Chatops => {
      const settings = options.settings ?? chatopsSettingsFromEnv();
      const publish = options.publish ?? eventBridgePublisher(settings);
      return createChatops(runtime, { ...options, settings, publish });
    },
    app: (chatops) => chatops.routes,
    onEvent: async (chatops, runtime, event): Promise<WorkerInvocationResult> => {
      const envelope = chatCommandEventSchema.safeParse(event);
      if (!envelope.success) {
        runtime.log.warn({ detailType: event["detail-type"] }, "ignoring an event chat-ops does not handle");
        return { ok: false, reason: "UnsupportedEvent" };
      }
      const parsed = parseChatJob(envelope.data.detail);
      if (!parsed.ok) {
        // Not retryable: a malformed detail will not improve on redelivery.
        runtime.log.error(
          { eventId: envelope.data.id, problem: parsed.message },
          "ignoring a malformed chat job",
        );
        return { ok: false, reason: "InvalidChatJob" };
      }
      const outcome = await chatops.worker.run(parsed.job);
      if (outcome.duplicate) return { ok: true, reason: "DuplicateDelivery" };
      const { result } = outcome;
      return {
        ok: result.kind !== "error",
        reason: result.kind === "error" || result.kind === "refused" ? result.reason : result.kind,
      };
    },
  });
}

/** The Lambda entry: the runtime comes from the environment, once per cold start. */
export const handler = createChatopsHandler(() => runtimeFromEnv());
