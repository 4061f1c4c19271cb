/**
 * The chat-ops function: Slack and Mattermost slash-command webhooks that verify the request, answer at once and
 * run the command (list, status, scale, pause, resume, autoscale, release, plan) through shared/chatops against
 * the cluster, posting the result to the chat's `response_url`. The Node server mounts `chatopsRoutes`; the
 * Lambda entry is `./handler` (`createChatopsHandler`), kept out of this index so the Node server does not load
 * the AWS SDK.
 */
export {
  type ChatJobPublisher,
  type Chatops,
  type ChatopsOptions,
  chatopsRoutes,
  createChatops,
  MAX_IN_FLIGHT,
} from "./routes";
export {
  type ChatopsSettings,
  chatopsEnvSchema,
  chatopsSettingsFromEnv,
  loadChatopsPolicy,
} from "./settings";
export type { ChatopsWorker } from "./worker";
