/**
 * Replies to chat: one result type for everything a command can end in, presented once (title, fields, lists,
 * preformatted text, footnotes) and then written as a Slack message (Block Kit plus a plain-text fallback) or a
 * Mattermost message (markdown). Changes are announced in the channel; reads, refusals and errors stay private.
 */
import { formatHistoryTable, type HistoryEntry } from "../history";
import { formatPoolId, type PoolId } from "./names";

/** Who ran the command, so the reply can mention them the way each chat app does. */
export interface Actor {
  readonly userId: string;
  readonly userName?: string;
}

export interface PoolCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface PoolEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  /** Seconds since the event was last seen; rendered kubectl-style (`45s`, `3m`, `2h`, `4d`). */
  readonly ageSeconds?: number;
}

/** An autoscaler acting on the pool (ours, or an in-cluster HPA/KEDA we stand down for). */
export interface AutoscalerSummary {
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuPercent?: number;
  readonly currentCpuPercent?: number;
  readonly desiredReplicas?: number;
  readonly managedBy?: string;
}

export interface PoolListItem {
  readonly pool: PoolId;
  readonly desired: number;
  readonly ready: number;
  readonly paused?: boolean;
}

/** Everything a chat command can end in. */
export type ChatResult =
  | { readonly kind: "accepted"; readonly commandText: string }
  | {
      readonly kind: "scaled";
      readonly pool: PoolId;
      readonly from: number;
      readonly to: number;
      readonly by: Actor;
      /** Why the count differs from what was asked (a clamp, a policy ceiling). */
      readonly note?: string;
    }
  | {
      readonly kind: "status";
      readonly pool: PoolId;
      readonly desired: number;
      readonly current: number;
      readonly ready: number;
      readonly paused?: boolean;
      readonly conditions: readonly PoolCondition[];
      readonly events: readonly PoolEvent[];
      readonly autoscaler?: AutoscalerSummary;
    }
  | { readonly kind: "list"; readonly namespace?: string; readonly pools: readonly PoolListItem[] }
  | {
      readonly kind: "paused" | "resumed";
      readonly pool: PoolId;
      readonly by: Actor;
      /** It already was: nothing was written, so the reply stays private. */
      readonly unchanged?: true;
    }
  | {
      readonly kind: "autoscaleSet";
      readonly pool: PoolId;
      readonly minReplicas: number;
      readonly maxReplicas: number;
      readonly cpuPercent: number;
      readonly by: Actor;
    }
  | { readonly kind: "autoscaleOff"; readonly pool: PoolId; readonly by: Actor }
  | {
      readonly kind: "released";
      readonly vm: { readonly namespace: string; readonly name: string };
      readonly pool?: PoolId;
      readonly by: Actor;
    }
  | { readonly kind: "plan"; readonly pool: PoolId; readonly text: string }
  | { readonly kind: "history"; readonly pool: PoolId; readonly entries: readonly HistoryEntry[] }
  | { readonly kind: "refused"; readonly reason: string; readonly message: string }
  | { readonly kind: "error"; readonly reason: string; readonly message: string; readonly usage?: string }
  | { readonly kind: "help"; readonly text: string };

export type ResponseType = "ephemeral" | "in_channel";

type MrkdwnText = { readonly type: "mrkdwn"; readonly text: string };
export type SlackBlock =
  | { readonly type: "section"; readonly text: MrkdwnText }
  | { readonly type: "section"; readonly fields: readonly MrkdwnText[] }
  | { readonly type: "context"; readonly elements: readonly MrkdwnText[] };

export interface SlackMessage {
  readonly response_type: ResponseType;
  /** Fallback for notifications and clients without blocks; readable on its own. */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

export interface MattermostMessage {
  readonly response_type: ResponseType;
  readonly text: string;
}

/** Shown before the rest is cut, so a big list or plan still fits Slack's limits. */
export const MAX_LIST_ITEMS = 40;
const MAX_EVENTS = 5;
// Block Kit: section text ≤ 3000 characters, ≤ 10 fields of ≤ 2000, ≤ 10 context elements.
const SECTION_LIMIT = 3000;
const FIELD_LIMIT = 2000;
const FIELDS_PER_SECTION = 10;

/** The dialect-neutral reply: every piece is plain text, escaped by each renderer. */
interface Presentation {
  readonly responseType: ResponseType;
  readonly title: string;
  readonly body?: string;
  readonly fields?: ReadonlyArray<readonly [label: string, value: string]>;
  readonly lists?: ReadonlyArray<{ readonly heading: string; readonly items: readonly string[] }>;
  readonly preformatted?: string;
  readonly actor?: Actor;
  readonly footnote?: string;
}

/** The Slack reply for a result. */
export function renderResult(result: ChatResult): SlackMessage {
  const p = present(result);
  const blocks: SlackBlock[] = [
    section(`*${slackEscape(p.title)}*${p.body ? `\n${slackEscape(p.body)}` : ""}`),
  ];
  const fields = (p.fields ?? []).map(([label, value]) =>
    mrkdwn(truncate(`*${slackEscape(label)}*\n${slackEscape(value)}`, FIELD_LIMIT)),
  );
  for (let i = 0; i < fields.length; i += FIELDS_PER_SECTION) {
    blocks.push({ type: "section", fields: fields.slice(i, i + FIELDS_PER_SECTION) });
  }
  for (const list of p.lists ?? []) {
    blocks.push(
      section(`*${slackEscape(list.heading)}*\n${list.items.map((i) => `• ${slackEscape(i)}`).join("\n")}`),
    );
  }
  if (p.preformatted !== undefined) {
    blocks.push(section(codeBlock(truncate(slackEscape(p.preformatted), SECTION_LIMIT - 10))));
  }
  const context = contextLine(p, slackMention, slackEscape);
  if (context) blocks.push({ type: "context", elements: [mrkdwn(context)] });
  return { response_type: p.responseType, text: plainText(p), blocks };
}

/** The Mattermost reply for a result: markdown in `text`. */
export function renderMattermostResult(result: ChatResult): MattermostMessage {
  const p = present(result);
  const lines = [`**${markdownEscape(p.title)}**`];
  if (p.body) lines.push(markdownEscape(p.body));
  if (p.fields?.length)
    lines.push(p.fields.map(([l, v]) => `**${markdownEscape(l)}:** ${markdownEscape(v)}`).join("  \n"));
  for (const list of p.lists ?? []) {
    lines.push(
      `**${markdownEscape(list.heading)}**\n${list.items.map((i) => `- ${markdownEscape(i)}`).join("\n")}`,
    );
  }
  if (p.preformatted !== undefined) lines.push(codeBlock(p.preformatted));
  const context = contextLine(p, (actor) => `@${actor.userName || actor.userId}`, markdownEscape);
  if (context) lines.push(`_${context}_`);
  return { response_type: p.responseType, text: lines.join("\n\n") };
}

function present(result: ChatResult): Presentation {
  switch (result.kind) {
    case "accepted":
      return { responseType: "ephemeral", title: `Working on: ${truncate(result.commandText, 200)}` };
    case "scaled":
      return presentScaled(result);
    case "status":
      return presentStatus(result);
    case "list":
      return presentList(result);
    case "paused":
      if (result.unchanged) {
        return { responseType: "ephemeral", title: `${formatPoolId(result.pool)} is already paused` };
      }
      return {
        responseType: "in_channel",
        title: `Paused ${formatPoolId(result.pool)}`,
        body: "The controller leaves it alone until resumed.",
        actor: result.by,
      };
    case "resumed":
      if (result.unchanged) {
        return { responseType: "ephemeral", title: `${formatPoolId(result.pool)} is not paused` };
      }
      return {
        responseType: "in_channel",
        title: `Resumed ${formatPoolId(result.pool)}`,
        body: "The controller manages it again.",
        actor: result.by,
      };
    case "autoscaleSet":
      return {
        responseType: "in_channel",
        title: `Autoscaling ${formatPoolId(result.pool)}`,
        fields: [
          ["Min", String(result.minReplicas)],
          ["Max", String(result.maxReplicas)],
          ["CPU target", `${result.cpuPercent}%`],
        ],
        actor: result.by,
      };
    case "autoscaleOff":
      return {
        responseType: "in_channel",
        title: `Autoscaling off for ${formatPoolId(result.pool)}`,
        body: "The replica count stays where it is until changed.",
        actor: result.by,
      };
    case "released":
      return {
        responseType: "in_channel",
        title: `Released VM ${result.vm.namespace}/${result.vm.name}`,
        body: result.pool
          ? `It no longer belongs to ${formatPoolId(result.pool)}, which will replace it.`
          : "It no longer belongs to its pool, which will replace it.",
        actor: result.by,
      };
    case "plan":
      return {
        responseType: "ephemeral",
        title: `Plan for ${formatPoolId(result.pool)} (nothing was changed)`,
        preformatted: truncate(result.text, SECTION_LIMIT - 10),
      };
    case "history":
      return presentHistory(result);
    case "refused":
      return {
        responseType: "ephemeral",
        title: "Not allowed",
        body: result.message,
        footnote: result.reason,
      };
    case "error":
      return {
        responseType: "ephemeral",
        title: "That did not work",
        body: result.message,
        ...(result.usage === undefined ? {} : { preformatted: result.usage }),
        footnote: result.reason,
      };
    case "help":
      return { responseType: "ephemeral", title: "vmpool commands", preformatted: result.text };
  }
}

function presentScaled(result: Extract<ChatResult, { kind: "scaled" }>): Presentation {
  const id = formatPoolId(result.pool);
  const note = result.note ? { body: result.note } : {};
  if (result.from === result.to) {
    return { responseType: "ephemeral", title: `${id} is already at ${result.to} replicas`, ...note };
  }
  return {
    responseType: "in_channel",
    title: `Scaled ${id} from ${result.from} to ${result.to} replicas`,
    ...note,
    actor: result.by,
  };
}

/** Entries a chat reply shows: the newest, as many as fit a Slack section. */
const HISTORY_ENTRIES = 15;

function presentHistory(result: Extract<ChatResult, { kind: "history" }>): Presentation {
  const id = formatPoolId(result.pool);
  if (result.entries.length === 0) {
    return {
      responseType: "ephemeral",
      title: `No scaling history for ${id} yet`,
      body: "Entries appear when its replica count changes or an autoscaler decides on it.",
    };
  }
  const shown = result.entries.slice(-HISTORY_ENTRIES);
  const hidden = result.entries.length - shown.length;
  return {
    responseType: "ephemeral",
    title: `Scaling history of ${id}`,
    preformatted: truncate(formatHistoryTable(shown), SECTION_LIMIT - 10),
    ...(hidden > 0
      ? { footnote: `${hidden} older entries not shown; npx vmpool history ${id} lists all` }
      : {}),
  };
}

function presentStatus(result: Extract<ChatResult, { kind: "status" }>): Presentation {
  const fields: Array<readonly [string, string]> = [
    ["Desired", String(result.desired)],
    ["Current", String(result.current)],
    ["Ready", String(result.ready)],
  ];
  if (result.paused) fields.push(["Paused", "yes"]);
  if (result.autoscaler) fields.push(["Autoscaler", describeAutoscaler(result.autoscaler)]);
  const lists = [];
  if (result.conditions.length > 0) {
    lists.push({ heading: "Conditions", items: result.conditions.map(describeCondition) });
  }
  if (result.events.length > 0) {
    lists.push({ heading: "Recent events", items: result.events.slice(-MAX_EVENTS).map(describeEvent) });
  }
  return { responseType: "ephemeral", title: formatPoolId(result.pool), fields, lists };
}

function presentList(result: Extract<ChatResult, { kind: "list" }>): Presentation {
  const where = result.namespace ? ` in ${result.namespace}` : "";
  if (result.pools.length === 0) return { responseType: "ephemeral", title: `No pools${where}` };
  const shown = result.pools
    .slice(0, MAX_LIST_ITEMS)
    .map(
      (item) =>
        `${formatPoolId(item.pool)}: ${item.ready}/${item.desired} ready${item.paused ? " (paused)" : ""}`,
    );
  const hidden = result.pools.length - shown.length;
  return {
    responseType: "ephemeral",
    title: `${result.pools.length} pool${result.pools.length === 1 ? "" : "s"}${where}`,
    lists: [{ heading: "Pools (ready/desired)", items: shown }],
    ...(hidden > 0 ? { footnote: `${hidden} more not shown; list one namespace to narrow it down` } : {}),
  };
}

function describeAutoscaler(a: AutoscalerSummary): string {
  const parts = [`${a.name}: ${a.minReplicas}..${a.maxReplicas}`];
  if (a.cpuPercent !== undefined) {
    parts.push(`CPU ${a.currentCpuPercent === undefined ? "?" : a.currentCpuPercent}%/${a.cpuPercent}%`);
  }
  if (a.desiredReplicas !== undefined) parts.push(`wants ${a.desiredReplicas}`);
  if (a.managedBy) parts.push(`managed by ${a.managedBy}`);
  return parts.join(", ");
}

function describeCondition(c: PoolCondition): string {
  const reason = c.reason ? ` (${c.reason})` : "";
  return `${c.type}=${c.status}${reason}${c.message ? `: ${c.message}` : ""}`;
}

function describeEvent(e: PoolEvent): string {
  const age = e.ageSeconds === undefined ? "" : `${formatAge(e.ageSeconds)} ago `;
  return `${age}${e.type} ${e.reason}: ${e.message}`;
}

/** kubectl-style short age: `45s`, `3m`, `2h`, `4d`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function contextLine(
  p: Presentation,
  mention: (actor: Actor) => string,
  escapeText: (s: string) => string,
): string {
  const parts: string[] = [];
  if (p.actor) parts.push(`by ${mention(p.actor)}`);
  if (p.footnote) parts.push(escapeText(p.footnote));
  return parts.join(" · ");
}

/** The reply as plain lines (Slack's `text`): what notifications and block-less clients show. */
function plainText(p: Presentation): string {
  const lines = [slackEscape(p.title)];
  if (p.body) lines.push(slackEscape(p.body));
  for (const [label, value] of p.fields ?? []) lines.push(`${slackEscape(label)}: ${slackEscape(value)}`);
  for (const list of p.lists ?? []) {
    lines.push(`${slackEscape(list.heading)}:`, ...list.items.map((i) => `• ${slackEscape(i)}`));
  }
  if (p.preformatted !== undefined) lines.push(codeBlock(slackEscape(p.preformatted)));
  const context = contextLine(p, slackMention, slackEscape);
  if (context) lines.push(context);
  return lines.join("\n");
}

/** `<@U123>` renders as the user in Slack; anything that is not an id is shown as escaped text instead. */
function slackMention(actor: Actor): string {
  return /^[A-Z0-9]+$/iu.test(actor.userId)
    ? `<@${actor.userId}>`
    : slackEscape(actor.userName || actor.userId);
}

function section(text: string): SlackBlock {
  return { type: "section", text: mrkdwn(truncate(text, SECTION_LIMIT)) };
}

function mrkdwn(text: string): MrkdwnText {
  return { type: "mrkdwn", text };
}

function codeBlock(text: string): string {
  return `\`\`\`\n${text.replaceAll("```", "`\u200b``")}\n\`\`\``;
}

/** Slack mrkdwn treats only `&`, `<` and `>` as control characters (api.slack.com "Formatting text"). */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Markdown emphasis and link characters, so names and event messages render literally in Mattermost. */
function markdownEscape(text: string): string {
  return text.replace(/[\\`*_[\]<>|~#]/gu, (ch) => `\\${ch}`);
}

function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
