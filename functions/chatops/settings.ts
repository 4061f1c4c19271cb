/**
 * What the chat-ops function reads at start-up: its own settings from the environment (one schema, parsed once)
 * and the authorization policy. Deny by default: without a policy file every command is refused, except in dev
 * mode, where the clearly labelled allow-everyone policy applies and a warning says so.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  DEFAULT_RESPONSE_URL_ORIGINS,
  DEV_ALLOW_ALL_RULE,
  devAllowAllPolicy,
  loadPolicy,
  type OriginRule,
  type Policy,
  parseResponseUrlOrigins,
} from "../../shared/chatops";
import { describeIssue } from "../../shared/config";
import { ReasonedError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import type { Runtime } from "../runtime";

/** The chat-ops function's own environment variables (the shared ones are in functions/runtime.ts). */
export const chatopsEnvSchema = z.object({
  /**
   * Origins results may be posted to, comma-separated: `https://*` (default), `https://hooks.slack.com`,
   * `http://127.0.0.1:*` (tests). A response_url outside them is refused with 400.
   */
  VMPOOL_CHATOPS_RESPONSE_URLS: z.string().default(DEFAULT_RESPONSE_URL_ORIGINS),
  /** The bus `Chat Command Requested` events go to on Lambda (the infra config's `eventBusName`). */
  VMPOOL_EVENT_BUS_NAME: z.string().min(1).default("vmpool-functions"),
  VMPOOL_AWS_REGION: z.string().min(1).optional(),
});

export interface ChatopsSettings {
  readonly responseUrlOrigins: readonly OriginRule[];
  readonly eventBusName: string;
  readonly region?: string;
}

/** Parses the chat-ops settings; errors name the variable. */
export function chatopsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ChatopsSettings {
  const parsed = chatopsEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  const { VMPOOL_CHATOPS_RESPONSE_URLS, VMPOOL_EVENT_BUS_NAME, VMPOOL_AWS_REGION } = parsed.data;
  return {
    responseUrlOrigins: parseResponseUrlOrigins(VMPOOL_CHATOPS_RESPONSE_URLS, "VMPOOL_CHATOPS_RESPONSE_URLS"),
    eventBusName: VMPOOL_EVENT_BUS_NAME,
    ...(VMPOOL_AWS_REGION === undefined ? {} : { region: VMPOOL_AWS_REGION }),
  };
}

/**
 * The policy in effect: the file named by VMPOOL_CHATOPS_POLICY_FILE (zod-validated; an unreadable or invalid file
 * throws `InvalidPolicy`, so a broken security document stops the start instead of silently denying or allowing);
 * else in dev mode the allow-everyone policy, with a warning; else none, which refuses every command.
 */
export function loadChatopsPolicy(
  runtime: Pick<Runtime, "settings" | "devMode">,
  log: Logger,
): Policy | null {
  const file = runtime.settings.VMPOOL_CHATOPS_POLICY_FILE;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      throw new ReasonedError("InvalidPolicy", `${file}: cannot read the chat-ops policy`, {
        status: 500,
        cause,
      });
    }
    const policy = loadPolicy(text, file);
    log.info({ file, rules: policy.rules.length }, "chat-ops policy loaded");
    return policy;
  }
  if (runtime.devMode) {
    log.warn(
      { rule: DEV_ALLOW_ALL_RULE },
      "DEV MODE: no chat-ops policy file, so anyone may run every chat command; set VMPOOL_CHATOPS_POLICY_FILE for anything real",
    );
    return devAllowAllPolicy();
  }
  log.warn("no chat-ops policy (VMPOOL_CHATOPS_POLICY_FILE): every chat command will be refused");
  return null;
}
