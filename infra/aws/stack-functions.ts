/**
 * What each function needs from a CloudFormation stack beyond the EventBridge definitions: which webhook secrets its
 * routes check, which events it publishes (and the variable naming the bus), whether it serves HTTP (a function
 * URL), and the optional settings it reads. Plain data read by `./template`; one entry per function name, so a new
 * function in `FUNCTION_NAMES` does not typecheck until it says what it needs.
 */
import type { SecretKey } from "../../shared/config";
import { CHAT_COMMAND_DETAIL_TYPE, POOL_RECONCILE_DETAIL_TYPE } from "./contract";
import type { FunctionName } from "./definitions";

/** Events a function puts on a bus: the detail-type, and the variable its handler reads the bus name from. */
export interface Publication {
  readonly detailType: string;
  readonly busVariable: string;
}

/**
 * AWS calls a function makes only when a setting turns them on: the pull sources named in a comma-separated
 * variable (`VMPOOL_AUTOSCALE_PULL_SOURCES`), each with the actions it calls. These actions have no resource-level
 * permissions in IAM, so their statement's resource is `*`; the stack grants them only when the source is named.
 */
export interface PullSourceCalls {
  readonly parameter: string;
  readonly variable: string;
  readonly defaultSources: string;
  readonly actions: Readonly<Record<string, readonly string[]>>;
}

export interface FunctionStack {
  readonly description: string;
  /** The secrets (shared/config `SECRET_KEYS`) its routes verify; each becomes a NoEcho parameter. */
  readonly secrets: readonly SecretKey[];
  /** What it publishes; the role may put exactly these events on the bus whose rule receives them. */
  readonly publishes: readonly Publication[];
  /** Its HTTP routes: a function with any gets a function URL (auth type NONE; it authenticates each request). */
  readonly routes: readonly string[];
  readonly pullSources?: PullSourceCalls;
}

/**
 * Read from `functions/<name>/handler.ts` and `routes.ts`: reconcile fans out with `VMPOOL_FANOUT_BUS`
 * (`putPoolReconcileEvents`), chat-ops hands commands to its worker on `VMPOOL_EVENT_BUS_NAME`
 * (`publishChatCommand`), autoscale calls CloudWatch `GetMetricData` only with its `cloudwatch` pull source
 * (shared/autoscale/sources/cloudwatch-metrics.ts; the default sources are `metrics-server`, in the cluster).
 * Minting an EKS token signs a request locally and needs no permission.
 */
export const FUNCTION_STACK: Readonly<Record<FunctionName, FunctionStack>> = {
  reconcile: {
    description:
      "vmpool-functions reconcile: the timer, per-pool events, POST /reconcile and admission calls",
    secrets: ["reconcileToken"],
    publishes: [{ detailType: POOL_RECONCILE_DETAIL_TYPE, busVariable: "VMPOOL_FANOUT_BUS" }],
    routes: ["POST /reconcile", "POST /hooks/admission"],
  },
  autoscale: {
    description: "vmpool-functions autoscale: CloudWatch alarms and the alert webhooks",
    secrets: ["alertmanagerToken"],
    publishes: [],
    routes: ["POST /hooks/alertmanager", "POST /hooks/grafana", "POST /hooks/events", "POST /hooks/metrics"],
    pullSources: {
      parameter: "AutoscalePullSources",
      variable: "VMPOOL_AUTOSCALE_PULL_SOURCES",
      defaultSources: "metrics-server",
      actions: { cloudwatch: ["cloudwatch:GetMetricData"] },
    },
  },
  chatops: {
    description: "vmpool-functions chat-ops: Slack and Mattermost commands and their worker",
    secrets: ["slackSigningSecret", "mattermostToken"],
    publishes: [{ detailType: CHAT_COMMAND_DETAIL_TYPE, busVariable: "VMPOOL_EVENT_BUS_NAME" }],
    routes: ["POST /hooks/slack", "POST /hooks/mattermost"],
  },
};
