/**
 * A chat command accepted by a webhook and waiting to run: what the slow part needs (the text, who asked from
 * where, where to post the result, the delivery key and when the request was signed) and nothing else. On the
 * Node server it stays in process; on Lambda it is the detail of a `Chat Command Requested` EventBridge event, so
 * the worker validates it again, and does not run one that waited too long (EventBridge redelivers for an hour,
 * longer than a delivery key is remembered).
 */
import { z } from "zod";
import type { ChatSource } from "./audit";
import { isDeliveryKey, MAX_JOB_AGE_SECONDS } from "./dedup";
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
  /** When the chat app signed the request (Slack's timestamp, ISO 8601): a pool created later is refused. */
  issuedAt: z.iso.datetime().optional(),
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
  readonly issuedAt?: string;
  readonly receivedAt: string;
}

/**
 * The refusal for a job that must not run any more: accepted more than MAX_JOB_AGE_SECONDS before `now` (or as
 * far after it: a clock that wrong cannot be trusted either); undefined when it may run.
 */
export function jobExpiry(
  job: Pick<ChatJob, "receivedAt">,
  now: Date,
): { readonly kind: "error"; readonly reason: "CommandExpired"; readonly message: string } | undefined {
  const ageSeconds = (now.getTime() - Date.parse(job.receivedAt)) / 1000;
  if (Math.abs(ageSeconds) <= MAX_JOB_AGE_SECONDS) return undefined;
  const minutes = Math.round(Math.abs(ageSeconds) / 60);
  return {
    kind: "error",
    reason: "CommandExpired",
    message:
      ageSeconds > 0
        ? `This command waited ${minutes} minutes to run, longer than the ${MAX_JOB_AGE_SECONDS / 60} allowed, so it was not run; send it again if you still want it.`
        : "This command is dated ahead of this server's clock, so it was not run; send it again.",
  };
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
  const { subject, deliveryKey, issuedAt, ...rest } = parsed.data;
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
      ...(issuedAt === undefined ? {} : { issuedAt }),
    },
  };
}
