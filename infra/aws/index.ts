/**
 * AWS EventBridge wiring: the definitions of our bus, rules and targets, `plan`/`apply`/`destroy` against an
 * account (only resources tagged `managed-by=vmpool-functions` are ever changed), and the per-pool reconcile
 * fan-out. The only module that imports `@aws-sdk/client-eventbridge`, and (in `permissions.ts`, the Lambda invoke
 * permissions the rules need) `@aws-sdk/client-lambda`.
 */
export type { ApplyOptions, ApplyResult, FailedTargetEntry } from "./apply";
export { applyInfra, destroyInfra, formatApplyResult } from "./apply";
export { publishChatCommand } from "./chat";
export type { EventBridgeClient, EventBridgeClientOptions } from "./client";
export { createEventBridgeClient } from "./client";
export type { InfraConfig, InfraConfigInput, TemplateConfig } from "./config";
export {
  INFRA_ENV,
  infraConfigFromEnv,
  loadInfraConfigFile,
  parseInfraConfig,
  templateConfigFromEnv,
} from "./config";
export type { PoolRef } from "./contract";
export {
  ALARM_STATE_CHANGE_DETAIL_TYPE,
  CHAT_COMMAND_DETAIL_TYPE,
  CLOUDWATCH_SOURCE,
  EVENT_SOURCE,
  MANAGED_BY_TAG,
  POOL_RECONCILE_DETAIL_TYPE,
  poolReconcileDetailSchema,
} from "./contract";
export type { FunctionName, InfraDefinitions, RuleDefinition, TargetDefinition } from "./definitions";
export { buildDefinitions, DEFAULT_BUS, SCHEDULES, validateDefinitions } from "./definitions";
export type { FailedPoolEvent, PutPoolEventsResult } from "./events";
export { putPoolReconcileEvents } from "./events";
export type {
  LambdaClient,
  PermissionChange,
  PermissionDefinition,
  PermissionPlan,
  PermissionResult,
} from "./permissions";
export {
  applyPermissions,
  createLambdaClient,
  destroyPermissions,
  formatPermissionPlan,
  formatPermissionResult,
  permissionDefinitions,
  planPermissions,
  planPermissionsDestroy,
} from "./permissions";
export type { BusChange, ChangeAction, InfraPlan, RuleChange, TargetChange } from "./plan";
export { formatPlan, planDestroy, planInfra } from "./plan";
export type { RetryOptions } from "./retry";
