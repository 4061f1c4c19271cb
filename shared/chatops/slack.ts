/**
 * Slack slash commands at the edge: request signing (v0 HMAC-SHA256 over the raw body), the form payload
 * (including Slack's `ssl_check` probe), and the key that makes a redelivered request recognisable.
 * Source: api.slack.com/authentication/verifying-requests-from-slack, api.slack.com/interactivity/slash-commands
 * (reference/scaling-triggers.md §4.1).
 */
import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import { ReasonedError } from "../errors";
import { type FormResult, parseFormWith } from "./form";
import { secretsEqual, type VerifyResult } from "./secrets";

/** How far a request timestamp may be from our clock, either way, before it counts as a replay (Slack: 5 minutes). */
export const SLACK_REPLAY_WINDOW_SECONDS = 5 * 60;

export interface SlackRequest {
  /** The body exactly as received, before any form parsing. */
  readonly rawBody: string | Uint8Array;
  /** `X-Slack-Request-Timestamp`: Unix seconds. */
  readonly timestampHeader: string | null | undefined;
  /** `X-Slack-Signature`: `v0=<hex HMAC>`. */
  readonly signatureHeader: string | null | undefined;
  readonly signingSecret: string;
  readonly now: Date;
}

/**
 * Check that a request was signed by Slack with our signing secret within the replay window.
 * Reasons: `MissingSignatureHeaders` (401), `InvalidTimestamp` (400), `StaleRequest` (401), `InvalidSignature`
 * (401). Throws `SigningSecretNotConfigured` for an empty secret, which would make every signature forgeable.
 */
export function verifySlackRequest(request: SlackRequest): VerifyResult {
  const { timestampHeader, signatureHeader } = request;
  if (!request.signingSecret) {
    throw new ReasonedError("SigningSecretNotConfigured", "the Slack signing secret is empty", {
      status: 500,
    });
  }
  if (!timestampHeader || !signatureHeader) {
    const missing = [
      timestampHeader ? undefined : "X-Slack-Request-Timestamp",
      signatureHeader ? undefined : "X-Slack-Signature",
    ].filter((h) => h !== undefined);
    return deny("MissingSignatureHeaders", 401, `missing ${missing.join(" and ")}`);
  }
  if (!/^\d{1,12}$/u.test(timestampHeader)) {
    return deny("InvalidTimestamp", 400, "X-Slack-Request-Timestamp is not Unix seconds");
  }
  const skew = Math.floor(request.now.getTime() / 1000) - Number(timestampHeader);
  if (Math.abs(skew) > SLACK_REPLAY_WINDOW_SECONDS) {
    const direction = skew > 0 ? `${skew}s old` : `${-skew}s in the future`;
    return deny("StaleRequest", 401, `request timestamp is ${direction}; the window is 5 minutes`);
  }
  const expected = signSlackRequest(request.signingSecret, timestampHeader, request.rawBody);
  if (!secretsEqual(expected, signatureHeader))
    return deny("InvalidSignature", 401, "signature does not match");
  return { ok: true };
}

/** The `X-Slack-Signature` value Slack would send for this body and timestamp (also used to sign test requests). */
export function signSlackRequest(
  signingSecret: string,
  timestamp: string,
  rawBody: string | Uint8Array,
): string {
  const hmac = createHmac("sha256", signingSecret).update(`v0:${timestamp}:`, "utf8");
  hmac.update(typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody);
  return `v0=${hmac.digest("hex")}`;
}

function deny(reason: string, status: 400 | 401, message: string): VerifyResult {
  return { ok: false, reason, status, message };
}

/** A slash command as Slack posts it. Extra fields Slack adds over time are kept. */
export const slackSlashCommandSchema = z.looseObject({
  // Deprecated verification token: signing replaces it, but Slack still sends it.
  token: z.string().optional(),
  team_id: z.string().min(1),
  team_domain: z.string().optional(),
  enterprise_id: z.string().optional(),
  channel_id: z.string().min(1),
  channel_name: z.string().default(""),
  user_id: z.string().min(1),
  // Deprecated by Slack and user-changeable: policies should name users by id.
  user_name: z.string().default(""),
  command: z.string().startsWith("/"),
  text: z.string().default(""),
  // We POST follow-ups here, so only https is accepted.
  response_url: z.url({ protocol: /^https$/, error: "must be an https URL" }),
  trigger_id: z.string().min(1),
  api_app_id: z.string().optional(),
});

export type SlackSlashCommand = z.output<typeof slackSlashCommandSchema>;

/** Slack's certificate probe (`ssl_check=1`, no command): answer 200 with an empty body. */
const slackSslCheckSchema = z.looseObject({ ssl_check: z.literal("1") });

export type SlackPayload =
  | { readonly type: "ssl_check" }
  | { readonly type: "command"; readonly command: SlackSlashCommand };

/** The same, for deployments whose allowed response origins include plain http (tests' local receivers). */
const slackSlashCommandHttpSchema = slackSlashCommandSchema.extend({
  response_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
});

export interface SlackFormOptions {
  /** Accept an `http:` response_url; the caller still checks it against its allowed origins. Default false. */
  readonly allowHttpResponseUrl?: boolean;
}

/** Parse a verified Slack form body. Failures have reason `InvalidSlackPayload` and name the field. */
export function parseSlackForm(rawBody: string, options: SlackFormOptions = {}): FormResult<SlackPayload> {
  const probe = parseFormWith(rawBody, slackSslCheckSchema, "InvalidSlackPayload");
  if (probe.ok) return { ok: true, value: { type: "ssl_check" } };
  const schema = options.allowHttpResponseUrl ? slackSlashCommandHttpSchema : slackSlashCommandSchema;
  const parsed = parseFormWith(rawBody, schema, "InvalidSlackPayload");
  return parsed.ok ? { ok: true, value: { type: "command", command: parsed.value } } : parsed;
}

export interface SlackDelivery {
  /** Stable across redeliveries of one invocation: store it (bounded) next to the pool and skip repeats. */
  readonly key: string;
  /** `X-Slack-Retry-Num`, 0 for a first delivery. */
  readonly retryNum: number;
}

/**
 * The de-duplication key of one slash-command invocation. Slack re-signs a retry with a new timestamp and adds
 * `X-Slack-Retry-Num`, but the body is the same, so the key comes from the workspace and the per-invocation
 * `trigger_id`, falling back to a hash of the body when there is no trigger id.
 */
export function slackDedupKey(input: {
  readonly rawBody: string | Uint8Array;
  readonly teamId?: string;
  readonly triggerId?: string;
  readonly retryNumHeader?: string | null;
}): SlackDelivery {
  const hash = createHash("sha256");
  if (input.teamId && input.triggerId) {
    hash.update(`${input.teamId}\n${input.triggerId}`, "utf8");
  } else {
    hash.update("body\n", "utf8").update(input.rawBody);
  }
  const retry = Number(input.retryNumHeader ?? "0");
  return {
    key: `slack-${hash.digest("hex").slice(0, 32)}`,
    retryNum: Number.isInteger(retry) && retry > 0 ? retry : 0,
  };
}
