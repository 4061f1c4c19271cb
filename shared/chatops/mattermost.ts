/**
 * Mattermost custom slash commands at the edge: the per-command token (sent both as `Authorization: Token <t>`
 * and as the `token` form field; there is no signature) and the form payload.
 * Source: mattermost-developer-documentation `integrate/slash-commands/custom` (reference/scaling-triggers.md §4.2).
 */
import { z } from "zod";
import { ReasonedError } from "../errors";
import { type FormResult, parseFormWith } from "./form";
import { secretsEqual, type VerifyResult } from "./secrets";

export interface MattermostCredentials {
  /** The `token` form field. */
  readonly formToken?: string | null | undefined;
  /** The `Authorization` header, `Token <token>`. */
  readonly authorizationHeader?: string | null | undefined;
}

/**
 * Check the command token. Every credential presented must match (a request whose header and field disagree is
 * refused), and at least one must be present. Reasons: `MissingToken`, `MalformedAuthorization`, `InvalidToken`
 * (all 401). Throws `TokenNotConfigured` for an empty expected token.
 */
export function verifyMattermostToken(credentials: MattermostCredentials, expected: string): VerifyResult {
  if (!expected) {
    throw new ReasonedError("TokenNotConfigured", "the Mattermost command token is empty", { status: 500 });
  }
  const presented: string[] = [];
  if (credentials.authorizationHeader) {
    const match = /^Token\s+(\S+)\s*$/iu.exec(credentials.authorizationHeader);
    if (match?.[1] === undefined) {
      return {
        ok: false,
        reason: "MalformedAuthorization",
        status: 401,
        message: "expected Authorization: Token <token>",
      };
    }
    presented.push(match[1]);
  }
  if (credentials.formToken) presented.push(credentials.formToken);
  if (presented.length === 0) {
    return {
      ok: false,
      reason: "MissingToken",
      status: 401,
      message: "no Authorization header or token field",
    };
  }
  // Compare every credential, not just until the first failure, so timing does not tell which one was wrong.
  const matches = presented.map((token) => secretsEqual(token, expected));
  if (matches.every(Boolean)) return { ok: true };
  return { ok: false, reason: "InvalidToken", status: 401, message: "token does not match" };
}

/** A slash command as Mattermost posts it. Extra fields (mentions, newer additions) are kept. */
export const mattermostSlashCommandSchema = z.looseObject({
  token: z.string().min(1),
  team_id: z.string().min(1),
  team_domain: z.string().optional(),
  channel_id: z.string().min(1),
  channel_name: z.string().default(""),
  user_id: z.string().min(1),
  user_name: z.string().default(""),
  command: z.string().startsWith("/"),
  text: z.string().default(""),
  // Self-hosted servers may run plain http inside a private network.
  response_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  // Older servers do not send a trigger id.
  trigger_id: z.string().optional(),
});

export type MattermostSlashCommand = z.output<typeof mattermostSlashCommandSchema>;

/**
 * Parse a Mattermost form body (a POST body, or the query string when the command is configured as GET).
 * Failures have reason `InvalidMattermostPayload` and name the field.
 */
export function parseMattermostForm(rawBody: string): FormResult<MattermostSlashCommand> {
  return parseFormWith(rawBody, mattermostSlashCommandSchema, "InvalidMattermostPayload");
}
