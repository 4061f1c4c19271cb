/**
 * Configuration from the environment, parsed once by one zod schema per concern. Secrets have no defaults
 * outside dev mode: `requireSecrets` names every missing one.
 */
import { z } from "zod";
import { ReasonedError } from "../errors";

export const SECRET_KEYS = [
  "alertmanagerToken",
  "slackSigningSecret",
  "mattermostToken",
  "reconcileToken",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/**
 * Secrets a deployment may leave unset, turning off what they guard: `uiToken` (`VMPOOL_UI_TOKEN`) opens the
 * read-only `/ui` page outside dev mode. Never generated, never required.
 */
export const OPTIONAL_SECRET_ENV = { uiToken: "VMPOOL_UI_TOKEN" } as const;
export type OptionalSecretKey = keyof typeof OPTIONAL_SECRET_ENV;

export type Secrets = Record<SecretKey, string> & { readonly uiToken?: string | undefined };

/** Environment variable carrying each secret. */
export const SECRET_ENV: Record<SecretKey, string> = {
  alertmanagerToken: "VMPOOL_ALERTMANAGER_TOKEN",
  slackSigningSecret: "VMPOOL_SLACK_SIGNING_SECRET",
  mattermostToken: "VMPOOL_MATTERMOST_TOKEN",
  reconcileToken: "VMPOOL_RECONCILE_TOKEN",
};

export const secretsSchema = z.strictObject({
  alertmanagerToken: z.string().min(16),
  slackSigningSecret: z.string().min(16),
  mattermostToken: z.string().min(16),
  reconcileToken: z.string().min(16),
  uiToken: z.string().min(16).optional(),
});

/** Formats the first zod issue as `field: message` (edges report the field that was wrong). */
export function describeIssue(error: z.ZodError, root = "value"): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: invalid`;
  const path = issue.path.length > 0 ? issue.path.join(".") : root;
  return `${path}: ${issue.message}`;
}

/** Secrets from the environment; partial when some are unset. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Secrets> {
  const out: Partial<Secrets> = {};
  for (const key of SECRET_KEYS) {
    const value = env[SECRET_ENV[key]];
    if (value !== undefined && value !== "") out[key] = value;
  }
  const uiToken = env[OPTIONAL_SECRET_ENV.uiToken];
  return uiToken === undefined || uiToken === "" ? out : { ...out, uiToken };
}

/** All secrets, or a ReasonedError naming each missing environment variable. */
export function requireSecrets(partial: Partial<Secrets>): Secrets {
  const parsed = secretsSchema.safeParse(partial);
  if (parsed.success) return parsed.data;
  const missing = SECRET_KEYS.filter((k) => partial[k] === undefined).map((k) => SECRET_ENV[k]);
  const message =
    missing.length > 0
      ? `missing secrets: ${missing.join(", ")} (no secret has a default outside dev mode)`
      : `invalid secrets: ${describeIssue(parsed.error)}`;
  throw new ReasonedError("MissingSecrets", message, { status: 500 });
}
