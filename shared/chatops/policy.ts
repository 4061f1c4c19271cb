/**
 * Who may do what from chat: the policy document (YAML or JSON), its loader, and the deny-by-default decision.
 * A rule grants verbs in namespaces to a subject: who (users, groups) and where (channels). When a rule lists
 * both, both must match, so "the on-call group, from #ops" is one rule; a rule listing only channels admits anyone
 * in them. An entry is an id (Slack `U…`/`C…`, Mattermost 26-character ids), `"*"`, or, explicitly, `name:<name>`.
 * Ids and names are different keys: a name never matches an id entry, since chat users choose their own names
 * (and those of the channels they create) and can change them; `name:` entries are weaker for the same reason.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ReasonedError } from "../errors";
import type { ChatCommand, CommandName } from "./grammar";
import { isNamespace, MAX_REPLICAS } from "./names";

/** What a command does to the cluster, as the policy grants it. */
export const VERBS = ["read", "scale", "pause", "autoscale", "release"] as const;
export type Verb = (typeof VERBS)[number];

/** The verb each command needs; `help` needs none. `pause` covers resume. */
export const COMMAND_VERBS: Readonly<Record<CommandName, Verb | null>> = {
  help: null,
  list: "read",
  status: "read",
  plan: "read",
  history: "read",
  scale: "scale",
  pause: "pause",
  resume: "pause",
  autoscale: "autoscale",
  release: "release",
};

/** The verb a parsed command needs, or null when it touches nothing. */
export function verbForCommand(command: ChatCommand): Verb | null {
  return COMMAND_VERBS[command.name];
}

/** How an entry matches a user or channel by name rather than id. */
const NAME_PREFIX = "name:";

/** Ids as the chat apps make them: Slack's `U024BE7LH`/`C1H9RESGL`, Mattermost's 26 lowercase characters. */
const CHAT_ID = /^(?:[A-Z][A-Z0-9]+|[a-z0-9]{26})$/u;

/**
 * A user or channel entry: `"*"`, an id, or `name:<name>`. A bare entry that cannot be an id is refused (naming
 * the `name:` form) rather than read as a name, so a policy written when names matched does not silently change.
 */
const subjectEntry = z
  .string()
  .min(1)
  .max(256)
  .superRefine((entry, ctx) => {
    if (entry === "*" || CHAT_ID.test(entry)) return;
    if (entry.startsWith(NAME_PREFIX)) {
      if (entry.length === NAME_PREFIX.length)
        ctx.addIssue({ code: "custom", message: `"${NAME_PREFIX}" needs a name after it` });
      return;
    }
    ctx.addIssue({
      code: "custom",
      message: `${JSON.stringify(entry)} is not a Slack or Mattermost id; write "${NAME_PREFIX}${entry}" to match by name (weaker: names can be changed by their owner)`,
    });
  });
const namespaceEntry = z
  .string()
  .refine((ns) => ns === "*" || isNamespace(ns), { message: 'must be a namespace name or "*"' });

const ruleSchema = z
  .strictObject({
    /** Shown in logs when the rule allows something. */
    name: z.string().min(1).optional(),
    /** User ids, `name:<user name>` entries; `"*"` is any user. */
    users: z.array(subjectEntry).optional(),
    /** Names of entries in the policy's `groups`. */
    groups: z.array(z.string().min(1)).optional(),
    /** Channel ids or `name:<channel name>` entries the commands must come from; `"*"` is any channel. */
    channels: z.array(subjectEntry).optional(),
    /** Namespace names, or `"*"` for all (quote it in YAML: a bare `*` is an alias). */
    namespaces: z.array(namespaceEntry).min(1),
    verbs: z.array(z.enum(VERBS)).min(1),
    /** Highest replica count this rule lets anyone ask for (scale targets, autoscale --max). */
    maxReplicas: z.int().min(0).max(MAX_REPLICAS).optional(),
  })
  .refine((rule) => [rule.users, rule.groups, rule.channels].some((list) => (list?.length ?? 0) > 0), {
    message: "a rule needs at least one of users, groups or channels",
  });

/** The policy document. Unknown keys are errors: a misspelt key in a security document must not pass silently. */
export const policySchema = z
  .strictObject({
    groups: z.record(z.string().min(1), z.array(subjectEntry)).default({}),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    policy.rules.forEach((rule, i) => {
      rule.groups?.forEach((group, j) => {
        if (!Object.hasOwn(policy.groups, group)) {
          ctx.addIssue({
            code: "custom",
            path: ["rules", i, "groups", j],
            message: `no group named "${group}"`,
          });
        }
      });
    });
  });

export type Policy = z.output<typeof policySchema>;
export type PolicyRule = Policy["rules"][number];

/** Name of the rule in `devAllowAllPolicy`, so callers can warn loudly when it is in effect. */
export const DEV_ALLOW_ALL_RULE = "dev-allow-all (DEVELOPMENT ONLY: lets anyone do anything)";

/**
 * DEVELOPMENT ONLY: a policy allowing every verb in every namespace to anyone in any channel. For the local
 * cluster and tests; a deployment must load a real policy, and callers should log a warning when this is used.
 */
export function devAllowAllPolicy(): Policy {
  return {
    groups: {},
    rules: [{ name: DEV_ALLOW_ALL_RULE, users: ["*"], namespaces: ["*"], verbs: [...VERBS] }],
  };
}

/**
 * Parse a policy document (YAML, or JSON which YAML reads too) from `source` (a path or env var name, for the
 * message). An empty document is an empty policy, which denies everything. Throws `InvalidPolicy` naming the
 * source and the field path (`rules[0].verbs[1]`) of each problem.
 */
export function loadPolicy(text: string, source: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    const detail = cause instanceof Error ? (cause.message.split("\n")[0] ?? "") : String(cause);
    throw new ReasonedError("InvalidPolicy", `${source}: not YAML or JSON: ${detail}`, {
      status: 500,
      cause,
      details: { source },
    });
  }
  const parsed = policySchema.safeParse(document ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  throw new ReasonedError(
    "InvalidPolicy",
    `${source}: ${problems.map((p) => `${p.path || "(document)"}: ${p.message}`).join("; ")}`,
    { status: 500, details: { source, problems } },
  );
}

/** `["rules", 0, "verbs", 1]` → `rules[0].verbs[1]`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}

/** Who is asking, from where, as the chat payload says. */
export interface ChatSubject {
  readonly userId: string;
  readonly userName?: string;
  readonly channelId: string;
  readonly channelName?: string;
}

export type AuthorizeResult =
  | { readonly allowed: true; readonly rule: PolicyRule }
  | {
      readonly allowed: false;
      readonly reason: "NoPolicy" | "NotAuthorized" | "ReplicasAboveCeiling";
      /** Polite and safe to show in the channel: says what was refused, never what the policy contains. */
      readonly message: string;
    };

/**
 * Decide whether `subject` may perform `verb` in `namespace`; deny unless a rule allows it. When `replicas` is
 * given (a scale target, an autoscale maximum) it must be within the rule's `maxReplicas`. Of several matching
 * rules the most permissive wins, so `rule.maxReplicas` is the caller's effective ceiling.
 */
export function authorize(
  policy: Policy | null | undefined,
  subject: ChatSubject,
  verb: Verb,
  namespace: string,
  request: { readonly replicas?: number } = {},
): AuthorizeResult {
  if (!policy || policy.rules.length === 0) {
    return {
      allowed: false,
      reason: "NoPolicy",
      message:
        "Sorry, chat commands are not enabled for anyone yet. Ask your cluster admin to set up a policy.",
    };
  }
  const rule = mostPermissive(matchingRules(policy, subject, verb, namespace));
  if (rule === undefined) {
    return {
      allowed: false,
      reason: "NotAuthorized",
      message: `Sorry, you are not allowed to ${VERB_PHRASES[verb]} in namespace "${namespace}" from here. Ask your cluster admin if you need to.`,
    };
  }
  if (
    request.replicas !== undefined &&
    rule.maxReplicas !== undefined &&
    request.replicas > rule.maxReplicas
  ) {
    return {
      allowed: false,
      reason: "ReplicasAboveCeiling",
      message: `Sorry, you may go up to ${rule.maxReplicas} replicas in namespace "${namespace}", not ${request.replicas}.`,
    };
  }
  return { allowed: true, rule };
}

/**
 * The namespaces in which `subject` may perform `verb`: `"*"` for all, else a sorted list (empty when none).
 * For `list` without a namespace, to show only what the user may see.
 */
export function allowedNamespaces(
  policy: Policy | null | undefined,
  subject: ChatSubject,
  verb: Verb,
): "*" | readonly string[] {
  if (!policy) return [];
  const granted = new Set<string>();
  for (const rule of policy.rules) {
    if (!rule.verbs.includes(verb) || !subjectMatches(policy, rule, subject)) continue;
    for (const ns of rule.namespaces) granted.add(ns);
  }
  return granted.has("*") ? "*" : [...granted].sort();
}

const VERB_PHRASES: Readonly<Record<Verb, string>> = {
  read: "view pools",
  scale: "scale pools",
  pause: "pause or resume pools",
  autoscale: "change autoscaling",
  release: "release VMs",
};

function matchingRules(policy: Policy, subject: ChatSubject, verb: Verb, namespace: string): PolicyRule[] {
  return policy.rules.filter(
    (rule) =>
      rule.verbs.includes(verb) &&
      rule.namespaces.some((ns) => ns === "*" || ns === namespace) &&
      subjectMatches(policy, rule, subject),
  );
}

/** No ceiling beats any ceiling; otherwise the highest ceiling; ties go to the earlier rule. */
function mostPermissive(rules: readonly PolicyRule[]): PolicyRule | undefined {
  return rules.reduce<PolicyRule | undefined>((best, rule) => {
    if (best === undefined) return rule;
    const ceiling = rule.maxReplicas ?? Number.POSITIVE_INFINITY;
    return ceiling > (best.maxReplicas ?? Number.POSITIVE_INFINITY) ? rule : best;
  }, undefined);
}

function subjectMatches(policy: Policy, rule: PolicyRule, subject: ChatSubject): boolean {
  const users = rule.users ?? [];
  const groups = rule.groups ?? [];
  const channels = rule.channels ?? [];
  const isUser = (entry: string) => entryMatches(entry, subject.userId, subject.userName);
  const who =
    (users.length === 0 && groups.length === 0) ||
    users.some((entry) => entry === "*" || isUser(entry)) ||
    groups.some((group) => (policy.groups[group] ?? []).some(isUser));
  const where =
    channels.length === 0 ||
    channels.some((entry) => entry === "*" || entryMatches(entry, subject.channelId, subject.channelName));
  return who && where;
}

/** An id entry matches only the id, a `name:` entry only the (non-empty) name: never one for the other. */
function entryMatches(entry: string, id: string, name: string | undefined): boolean {
  if (!entry.startsWith(NAME_PREFIX)) return entry === id;
  return name !== undefined && name !== "" && entry.slice(NAME_PREFIX.length) === name;
}
