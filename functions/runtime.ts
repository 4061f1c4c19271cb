/**
 * What every function handler gets, built once per cold start: the Kubernetes client, the webhook secrets, the
 * clock and random source (injected so tests are reproducible), a logger, settings parsed from the environment,
 * and `requestReconcile` — the way any trigger asks for an immediate reconcile pass of one pool (inline on the Node
 * server, an EventBridge event on Lambda). Handlers stay tiny: parse the trigger, call one use-case, answer.
 */
import { z } from "zod";
import { describeIssue, type Secrets } from "../shared/config";
import { ReasonedError } from "../shared/errors";
import type { Kube } from "../shared/kube";
import type { Logger } from "../shared/log";

export { POOL_KINDS, type PoolKind, type PoolRef, poolRefSchema } from "../shared/reconcile";

import type { PoolRef } from "../shared/reconcile";

/** Settings shared by the functions, from the environment (one schema, parsed once). */
export const settingsSchema = z.object({
  /** Namespace a bare pool name resolves in (chat-ops). */
  VMPOOL_DEFAULT_NAMESPACE: z.string().min(1).default("default"),
  /** Which pools the functions manage: every pool unless opted out, or only pools that opt in. */
  VMPOOL_MANAGE: z.enum(["all", "annotated"]).default("all"),
  /** Per-pass deadline in milliseconds (Lambda: keep under the function timeout). */
  VMPOOL_PASS_DEADLINE_MS: z.coerce.number().int().min(1000).max(900_000).default(25_000),
  /** Most pool passes run at once by a reconcile-all pass. */
  VMPOOL_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Chat-ops authorization policy (YAML or JSON) as a path; unset denies everything outside dev mode. */
  VMPOOL_CHATOPS_POLICY_FILE: z.string().min(1).optional(),
  /** Hard ceiling on replicas any chat command or alert may set. */
  VMPOOL_MAX_REPLICAS: z.coerce.number().int().min(0).max(100_000).default(1000),
});
export type Settings = z.infer<typeof settingsSchema>;

/** Parses settings; the error names the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new ReasonedError("InvalidSettings", `invalid setting ${describeIssue(parsed.error)}`, {
      status: 500,
    });
  }
  return parsed.data;
}

export interface Runtime {
  readonly kube: Kube;
  readonly secrets: Partial<Secrets>;
  readonly settings: Settings;
  readonly now: () => Date;
  readonly random: () => number;
  readonly log: Logger;
  /** True in `npm start` (dev-mode defaults such as the allow-everyone chat policy apply). */
  readonly devMode: boolean;
  /** Asks for an immediate reconcile pass of one pool; resolves once it ran (Node) or was queued (Lambda). */
  requestReconcile(ref: PoolRef, reason: string): Promise<void>;
  /**
   * Asks for a pass of one pool soon without waiting for it (admission calls, follow-ups): the Node server's
   * debounced, coalescing local trigger, or a per-pool EventBridge event on Lambda; resolves once the request is
   * recorded. Absent: callers fall back to `requestReconcile` without awaiting it.
   */
  readonly triggerPass?: (ref: PoolRef, reason: string) => Promise<void>;
}
