/**
 * Chat-ops: the command grammar and its parser, resolving what users typed against the cluster's pools, verifying
 * Slack and Mattermost requests, the deny-by-default authorization policy, rendering replies (all pure), and the
 * use case that runs one command (`executeCommand`: authorize, resolve, check limits, change with preconditions,
 * de-duplicate, audit) through a narrow `ChatopsPort`, with that port's adapter over shared/kube. The HTTP routes
 * and the Lambda worker in functions/chatops call these.
 */

export {
  AUDIT_COMPONENT,
  type AuditedObject,
  type AuditReason,
  auditEvent,
  type ChatSource,
  describeRequester,
} from "./audit";
export {
  type AutoscalerBounds,
  type AutoscaleSpec,
  autoscalerBounds,
  autoscalerManager,
  buildAutoscaler,
  findAutoscaler,
  hasAutoscaleSpec,
  summarizeAutoscaler,
  targetsPool,
  withAutoscaleSpec,
} from "./autoscaler";
export {
  DELIVERIES_ANNOTATION,
  DELIVERY_MEMORY_SECONDS,
  hasDelivery,
  isDeliveryKey,
  MAX_JOB_AGE_SECONDS,
  MAX_REMEMBERED_DELIVERIES,
  type Remembered,
  rememberDelivery,
} from "./dedup";
export {
  commandNamespace,
  type ExecuteContext,
  type ExecuteOutcome,
  executeCommand,
  executeText,
  preAuthorize,
  recentEvents,
} from "./execute";
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
export { type ChatJob, chatJobSchema, jobExpiry, parseChatJob } from "./job";
export { type KubePortOptions, kubeChatopsPort } from "./kube-port";
export { checkAutoscaleCeiling, checkScaleLimits, type LimitCheck } from "./limits";
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
export { type Autoscaler, type ChatopsPort, type NewAutoscaler, type PoolSnapshot, snapshotOf } from "./port";
export { poolOwnerOf, releasePatch } from "./release";
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
export {
  allowsHttp,
  DEFAULT_RESPONSE_URL_ORIGINS,
  isResponseUrlAllowed,
  type OriginRule,
  parseResponseUrlOrigins,
} from "./response-url";
export type { VerifyResult } from "./secrets";
export {
  parseSlackForm,
  SLACK_REPLAY_WINDOW_SECONDS,
  type SlackDelivery,
  type SlackFormOptions,
  type SlackPayload,
  type SlackRequest,
  type SlackSlashCommand,
  signSlackRequest,
  slackDedupKey,
  verifySlackRequest,
} from "./slack";
