/**
 * The audit trail of chat commands: every change made from chat becomes a Kubernetes Event on the pool, naming
 * the user (by name, with the id) and the channel, so `kubectl describe vmpool <name>` shows who did what from
 * where. Pure: builds the event and the sentence; the executor records and logs them.
 */
import type { EventInput } from "../kube";
import type { ChatSubject } from "./policy";

/** Source component of audit events (the From column of `kubectl describe`). */
export const AUDIT_COMPONENT = "vmpool-chatops";

/** Event reasons of the changes chat commands make. */
export type AuditReason =
  | "ChatOpsScale"
  | "ChatOpsPause"
  | "ChatOpsResume"
  | "ChatOpsAutoscale"
  | "ChatOpsAutoscaleOff"
  | "ChatOpsRelease";

/** Which chat app a command came from. */
export type ChatSource = "slack" | "mattermost";

const SOURCE_NAMES: Readonly<Record<ChatSource, string>> = { slack: "Slack", mattermost: "Mattermost" };

/** The object an audit event is about: the pool (`uid` must be the live one's for describe to list it). */
export interface AuditedObject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** `alice (U123) in #ops (C456) via Slack`: user and channel names are user-controlled, so they are cleaned. */
export function describeRequester(subject: ChatSubject, source: ChatSource): string {
  const user = clean(subject.userName ?? "");
  const channel = clean(subject.channelName ?? "");
  const who = user ? `${user} (${clean(subject.userId)})` : clean(subject.userId);
  const where = channel ? `#${channel} (${clean(subject.channelId)})` : clean(subject.channelId);
  return `${who} in ${where} via ${SOURCE_NAMES[source]}`;
}

/** The audit event for `action` (a short sentence such as `scaled from 3 to 5 replicas`) on `object`. */
export function auditEvent(
  object: AuditedObject,
  reason: AuditReason,
  action: string,
  subject: ChatSubject,
  source: ChatSource,
): EventInput {
  return {
    involvedObject: object,
    type: "Normal",
    reason,
    message: `${action} by ${describeRequester(subject, source)}`,
    component: AUDIT_COMPONENT,
  };
}

/** Printable, single-line, at most 64 characters: chat names must not forge extra lines in an audit trail. */
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, " ").replace(/\s+/gu, " ");
  const trimmed = printable.trim();
  return trimmed.length > 64 ? `${trimmed.slice(0, 63)}…` : trimmed;
}
