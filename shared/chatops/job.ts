/**
 * A chat command accepted by a webhook and waiting to run: what the slow part needs (the text, who asked from
 * where, where to post the result, the delivery key) and nothing else. On the Node server it stays in process; on
 * Lambda it is the detail of a `Chat Command Requested` EventBridge event, so the worker validates it again.
 */
import { z } from "zod";
import type { ChatSource } from "./audit";
import { isDeliveryKey } from "./dedup";
import type { ChatSubject } from "./policy";

const name = z.string().min(1).max(256);

/** A job as it crosses EventBridge: strict, since it is our own contract and carries who may do what. */
export const chatJobSchema = z.strictObject({
  source: z.enum(["slack", "mattermost"]),
  /** The command text after the slash command. */
  text: z.string().max(4096),
  subject: z.strictObject({
    userId: name,
    userName: z.string().max(256).optional(),
    channelId: name,
    channelName: z.string().max(256).optional(),
  }),
  /** Where results are posted (already checked against the allowed origins by the webhook). */
  responseUrl: z.url({ protocol: /^https?$/ }),
  /** Set for sources that redeliver (Slack): remembered on the pool so a redelivery does nothing. */
  deliveryKey: z.string().refine(isDeliveryKey, "not a delivery key").optional(),
  /** When the webhook accepted it (ISO 8601). */
  receivedAt: z.iso.datetime(),
});

/** A chat command waiting to run. */
export interface ChatJob {
  readonly source: ChatSource;
  readonly text: string;
  readonly subject: ChatSubject;
  readonly responseUrl: string;
  readonly deliveryKey?: string;
  readonly receivedAt: string;
}

/** Validates an untrusted job (an EventBridge detail); the error message names the field. */
export function parseChatJob(
  value: unknown,
): { readonly ok: true; readonly job: ChatJob } | { readonly ok: false; readonly message: string } {
  const parsed = chatJobSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      message: `${issue?.path.map(String).join(".") || "(detail)"}: ${issue?.message ?? "invalid"}`,
    };
  }
  const { subject, deliveryKey, ...rest } = parsed.data;
  return {
    ok: true,
    job: {
      ...rest,
      subject: {
        userId: subject.userId,
        channelId: subject.channelId,
        ...(subject.userName === undefined ? {} : { userName: subject.userName }),
        ...(subject.channelName === undefined ? {} : { channelName: subject.channelName }),
      },
      ...(deliveryKey === undefined ? {} : { deliveryKey }),
    },
  };
}
