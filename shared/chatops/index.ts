/**
 * Chat-ops, the pure part: the command grammar and its parser, resolving what users typed against the cluster's
 * pools, verifying Slack and Mattermost requests, the deny-by-default authorization policy, and rendering replies.
 * No I/O: the HTTP routes and the Kubernetes wiring call these.
 */

export { type FormResult, MAX_CHAT_BODY_BYTES } from "./form";
export {
  type ChatCommand,
  COMMAND_NAMES,
  type CommandName,
  commandHelp,
  DEFAULT_CPU_PERCENT,
  DEFAULT_MIN_REPLICAS,
  HELP_TEXT,
  POOL_SYNTAX,
  type PoolRef,
  type ScaleTarget,
  SLASH_COMMAND,
  USAGE,
  type VmRef,
} from "./grammar";
export {
  type MattermostCredentials,
  type MattermostSlashCommand,
  parseMattermostForm,
  verifyMattermostToken,
} from "./mattermost";
export { formatPoolId, MAX_REPLICAS, type PoolId, type PoolKind } from "./names";
export {
  MAX_COMMAND_LENGTH,
  MAX_CPU_PERCENT,
  type ParseError,
  type ParseReason,
  type ParseResult,
  parseCommand,
} from "./parse";
export {
  type AuthorizeResult,
  allowedNamespaces,
  authorize,
  type ChatSubject,
  COMMAND_VERBS,
  DEV_ALLOW_ALL_RULE,
  devAllowAllPolicy,
  loadPolicy,
  type Policy,
  type PolicyRule,
  VERBS,
  type Verb,
  verbForCommand,
} from "./policy";
export {
  type Actor,
  type AutoscalerSummary,
  type ChatResult,
  formatAge,
  type MattermostMessage,
  type PoolCondition,
  type PoolEvent,
  type PoolListItem,
  renderMattermostResult,
  renderResult,
  type SlackBlock,
  type SlackMessage,
} from "./render";
export { type ResolveResult, resolvePoolRef, resolveScaleTarget, resolveVmRef } from "./resolve";
export type { VerifyResult } from "./secrets";
export {
  parseSlackForm,
  SLACK_REPLAY_WINDOW_SECONDS,
  type SlackDelivery,
  type SlackPayload,
  type SlackRequest,
  type SlackSlashCommand,
  signSlackRequest,
  slackDedupKey,
  verifySlackRequest,
} from "./slack";
