/**
 * Running one chat command against the cluster, through the narrow `ChatopsPort`: authorize (deny by default,
 * before anything is read), resolve the pool, check the limits, make the change with a resourceVersion
 * precondition (re-reading after a 409, so relative scales and racing commands stay correct), audit it as an Event
 * on the pool, ask for a reconcile pass, and return the `ChatResult` to render. A command with a delivery key acts
 * at most once: the key is remembered on the pool with its first decision (a change, or "already so"), so every
 * later copy is answered as a duplicate; a copy that finds a pool created after the command was signed is refused.
 * Never throws: every failure is a result with a reason.
 */
import { hasReason, ReasonedError } from "../errors";
import type { MergePatch } from "../kube";
import type { Logger } from "../log";
import {
  type AuditedObject,
  type AuditReason,
  auditEvent,
  type ChatSource,
  describeRequester,
} from "./audit";
import {
  type AutoscaleSpec,
  autoscalerBounds,
  autoscalerManager,
  buildAutoscaler,
  findAutoscaler,
  hasAutoscaleSpec,
  summarizeAutoscaler,
  withAutoscaleSpec,
} from "./autoscaler";
import { DELIVERIES_ANNOTATION, hasDelivery, rememberDelivery } from "./dedup";
import { type ChatCommand, commandHelp, HELP_TEXT, type PoolRef } from "./grammar";
import { checkAutoscaleCeiling, checkScaleLimits } from "./limits";
import { formatPoolId, type PoolId, type PoolKind } from "./names";
import { parseCommand } from "./parse";
import { authorize, type ChatSubject, type Policy, type Verb, verbForCommand } from "./policy";
import type { ChatopsPort, PoolSnapshot } from "./port";
import { poolOwnerOf, releasePatch } from "./release";
import type { Actor, ChatResult, PoolEvent } from "./render";
import { resolvePoolRef, resolveScaleTarget, resolveVmRef } from "./resolve";

/** Everything one command runs with. */
export interface ExecuteContext {
  readonly port: ChatopsPort;
  /** Null denies everything. */
  readonly policy: Policy | null;
  readonly subject: ChatSubject;
  readonly source: ChatSource;
  /** Where names without a namespace are looked up. */
  readonly defaultNamespace: string;
  /** No command may set more replicas than this (the VMPOOL_MAX_REPLICAS setting). */
  readonly replicaCeiling: number;
  /** Remembered on the pool with the change, so a redelivery of the same command does nothing. */
  readonly deliveryKey?: string;
  /**
   * When the chat app signed the request (Slack's timestamp, the same in every copy of it). A pool created later
   * is not the one the command named (a replay after a delete and re-create), so it is refused.
   */
  readonly issuedAt?: Date;
  readonly now: () => Date;
  readonly log: Logger;
  /** Asks for a reconcile pass after a change; failures are logged, not reported as the command failing. */
  requestReconcile(pool: PoolId, reason: string): Promise<void>;
}

export interface ExecuteOutcome {
  readonly result: ChatResult;
  /** A redelivery of a command already run: nothing was done, and nothing should be posted again. */
  readonly duplicate?: true;
  /** The change made (also recorded as an audit event with this reason). */
  readonly changed?: { readonly pool: PoolId; readonly reason: AuditReason };
}

/** Tries of a conditional write before giving up on a pool that keeps changing. */
const MAX_ATTEMPTS = 4;

/** Events shown by `status` (the renderer shows the newest few of these). */
const MAX_STATUS_EVENTS = 10;

const POOL_KINDS: readonly PoolKind[] = ["VirtualMachinePool", "VirtualMachineInstanceReplicaSet"];

type Step<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly outcome: ExecuteOutcome };

const done = (result: ChatResult): ExecuteOutcome => ({ result });

/** Parse `text` and run it. */
export async function executeText(text: string, ctx: ExecuteContext): Promise<ExecuteOutcome> {
  const parsed = parseCommand(text);
  if (!parsed.ok) {
    return done({ kind: "error", reason: parsed.reason, message: parsed.message, usage: parsed.usage });
  }
  return executeCommand(parsed.command, ctx);
}

/** Run a parsed command. */
export async function executeCommand(command: ChatCommand, ctx: ExecuteContext): Promise<ExecuteOutcome> {
  const refusal = preAuthorize(command, ctx.policy, ctx.subject, ctx.defaultNamespace);
  if (refusal) {
    logRefusal(ctx, command, refusal);
    return done(refusal);
  }
  try {
    return await run(command, ctx);
  } catch (err) {
    return done(failure(err, ctx, command));
  }
}

/**
 * The namespace a command acts in (`undefined` for help): what authorization is decided on, known from the text
 * alone so a refusal never needs a cluster read.
 */
export function commandNamespace(command: ChatCommand, defaultNamespace: string): string | undefined {
  switch (command.name) {
    case "help":
      return undefined;
    case "list":
      return command.namespace ?? defaultNamespace;
    case "release":
      return command.vm.namespace ?? defaultNamespace;
    default:
      return command.pool.namespace ?? defaultNamespace;
  }
}

/**
 * The refusal for a command the policy does not allow, decided from the text alone (no cluster read), or
 * undefined. Replica ceilings known up front (an absolute scale, autoscale --max) are checked too; a relative
 * scale's target is checked once the current count is known.
 */
export function preAuthorize(
  command: ChatCommand,
  policy: Policy | null,
  subject: ChatSubject,
  defaultNamespace: string,
): Extract<ChatResult, { kind: "refused" }> | undefined {
  const verb = verbForCommand(command);
  const namespace = commandNamespace(command, defaultNamespace);
  if (verb === null || namespace === undefined) return undefined;
  const replicas =
    command.name === "scale" && command.target.kind === "absolute"
      ? command.target.replicas
      : command.name === "autoscale" && command.mode === "set"
        ? command.maxReplicas
        : undefined;
  const decision = authorize(policy, subject, verb, namespace, replicas === undefined ? {} : { replicas });
  return decision.allowed
    ? undefined
    : { kind: "refused", reason: decision.reason, message: decision.message };
}

function run(command: ChatCommand, ctx: ExecuteContext): Promise<ExecuteOutcome> {
  switch (command.name) {
    case "help":
      return Promise.resolve(
        done({ kind: "help", text: command.topic ? commandHelp(command.topic) : HELP_TEXT }),
      );
    case "list":
      return list(ctx, command.namespace ?? ctx.defaultNamespace);
    case "status":
      return withPool(ctx, command.pool, (pool) => status(ctx, pool));
    case "plan":
      return withPool(ctx, command.pool, async (pool) =>
        done({ kind: "plan", pool: pool.id, text: await ctx.port.dryRun(pool.id) }),
      );
    case "scale":
      return withPool(ctx, command.pool, (pool) => scale(ctx, pool, command));
    case "history":
      return withPool(ctx, command.pool, async (pool) =>
        done({ kind: "history", pool: pool.id, entries: await ctx.port.history(pool) }),
      );
    case "pause":
    case "resume":
      return withPool(ctx, command.pool, (pool) => setPaused(ctx, pool, command.name === "pause"));
    case "autoscale":
      return withPool(ctx, command.pool, (pool) =>
        command.mode === "off" ? autoscaleOff(ctx, pool) : autoscaleSet(ctx, pool, command),
      );
    case "release":
      return release(ctx, resolveVmRef(command.vm, ctx.defaultNamespace));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------------

async function list(ctx: ExecuteContext, namespace: string): Promise<ExecuteOutcome> {
  const pools = await ctx.port.listPools(namespace);
  const items = [...pools]
    .sort((a, b) => a.id.name.localeCompare(b.id.name) || a.id.kind.localeCompare(b.id.kind))
    .map((p) => ({ pool: p.id, desired: p.desired, ready: p.ready, ...(p.paused ? { paused: true } : {}) }));
  return done({ kind: "list", namespace, pools: items });
}

async function status(ctx: ExecuteContext, pool: PoolSnapshot): Promise<ExecuteOutcome> {
  const [events, hpas] = await Promise.all([
    ctx.port.poolEvents(pool),
    ctx.port.listAutoscalers(pool.id.namespace),
  ]);
  const hpa = findAutoscaler(hpas, pool);
  return done({
    kind: "status",
    pool: pool.id,
    desired: pool.desired,
    current: pool.current,
    ready: pool.ready,
    ...(pool.paused ? { paused: true } : {}),
    conditions: pool.conditions,
    events: recentEvents(events, ctx.now()),
    ...(hpa ? { autoscaler: summarizeAutoscaler(hpa) } : {}),
  });
}

interface EventLike {
  readonly type?: string | undefined;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  readonly lastTimestamp?: string | null | undefined;
  readonly eventTime?: string | null | undefined;
  readonly firstTimestamp?: string | null | undefined;
  readonly metadata: { readonly creationTimestamp?: string | null | undefined };
}

/** The newest events, oldest first (as `kubectl describe` lists them), with their ages. */
export function recentEvents(events: readonly EventLike[], now: Date): PoolEvent[] {
  const timed = events.map((e) => {
    const when = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
    const at = when ? Date.parse(when) : Number.NaN;
    return { e, at: Number.isNaN(at) ? undefined : at };
  });
  timed.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  return timed.slice(-MAX_STATUS_EVENTS).map(({ e, at }) => ({
    type: e.type ?? "Normal",
    reason: e.reason ?? "",
    message: e.message ?? "",
    ...(at === undefined ? {} : { ageSeconds: Math.max(0, (now.getTime() - at) / 1000) }),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------------------------

async function scale(
  ctx: ExecuteContext,
  found: PoolSnapshot,
  command: Extract<ChatCommand, { name: "scale" }>,
): Promise<ExecuteOutcome> {
  const hpa = findAutoscaler(await ctx.port.listAutoscalers(found.id.namespace), found);
  const outcome = await conditionally(ctx, found, async (pool) => {
    const { replicas, clamped } = resolveScaleTarget(command.target, pool.desired);
    const limits = checkScaleLimits({
      pool: pool.id,
      replicas,
      ceiling: ctx.replicaCeiling,
      autoscaler: hpa && autoscalerBounds(hpa),
    });
    if (!limits.ok) return refuse(ctx, command, limits.reason, limits.message);
    const decision = authorize(ctx.policy, ctx.subject, "scale", pool.id.namespace, { replicas });
    if (!decision.allowed) return refuse(ctx, command, decision.reason, decision.message);
    const notes = [
      clamped && command.target.kind === "relative"
        ? `${signed(command.target.delta)} from ${pool.desired} stops at ${replicas}.`
        : undefined,
      limits.note,
    ].filter((n) => n !== undefined);
    const result: ChatResult = {
      kind: "scaled",
      pool: pool.id,
      from: pool.desired,
      to: replicas,
      by: actor(ctx),
      ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
    };
    if (replicas === pool.desired) return { done: done(result) };
    return {
      patch: { spec: { replicas } },
      after: () =>
        changed(ctx, pool, "ChatOpsScale", `Scaled from ${pool.desired} to ${replicas} replicas`, result),
    };
  });
  if (outcome.result.kind === "scaled" && !outcome.duplicate) await recordScale(ctx, found, outcome.result);
  return outcome;
}

/** The scale decision in the pool's history (a change, or "already so"), naming who asked and from where. */
function recordScale(
  ctx: ExecuteContext,
  pool: PoolSnapshot,
  result: Extract<ChatResult, { kind: "scaled" }>,
): Promise<void> {
  const same = result.from === result.to;
  const message = same
    ? `already at ${result.to} replicas`
    : `Scaled from ${result.from} to ${result.to} replicas`;
  return ctx.port.recordHistory(pool, {
    kind: "chatops",
    actor: describeRequester(ctx.subject, ctx.source),
    from: result.from,
    to: result.to,
    decision: same ? "unchanged" : "scaled",
    reason: same ? "AlreadyAtReplicas" : "ChatOpsScale",
    message: result.note ? `${message}; ${result.note}` : message,
    current: pool.current,
    ready: pool.ready,
  });
}

async function setPaused(ctx: ExecuteContext, found: PoolSnapshot, paused: boolean): Promise<ExecuteOutcome> {
  const kind = paused ? "paused" : "resumed";
  return conditionally(ctx, found, async (pool) => {
    if (pool.paused === paused)
      return { done: done({ kind, pool: pool.id, by: actor(ctx), unchanged: true }) };
    return {
      patch: { spec: { paused } },
      after: () =>
        changed(ctx, pool, paused ? "ChatOpsPause" : "ChatOpsResume", paused ? "Paused" : "Resumed", {
          kind,
          pool: pool.id,
          by: actor(ctx),
        }),
    };
  });
}

async function autoscaleSet(
  ctx: ExecuteContext,
  found: PoolSnapshot,
  command: Extract<ChatCommand, { name: "autoscale"; mode: "set" }>,
): Promise<ExecuteOutcome> {
  const spec: AutoscaleSpec = {
    minReplicas: command.minReplicas,
    maxReplicas: command.maxReplicas,
    cpuPercent: command.cpuPercent,
  };
  const ceiling = checkAutoscaleCeiling(spec.maxReplicas, ctx.replicaCeiling);
  if (!ceiling.ok) return refuse(ctx, command, ceiling.reason, ceiling.message);
  const editable = await editableAutoscaler(ctx, found, command);
  if (!editable.ok) return editable.outcome;
  const claimed = await claimDelivery(ctx, found);
  if (!claimed.ok) return claimed.outcome;
  const pool = claimed.value;
  const result: ChatResult = { kind: "autoscaleSet", pool: pool.id, ...spec, by: actor(ctx) };
  let existing = editable.value;
  for (let attempt = 1; ; attempt++) {
    // After a 409 or a lost create race, look again.
    if (attempt > 1) existing = findAutoscaler(await ctx.port.listAutoscalers(pool.id.namespace), pool);
    if (existing && hasAutoscaleSpec(existing, spec)) return done(result);
    try {
      if (existing) await ctx.port.replaceAutoscaler(withAutoscaleSpec(existing, spec));
      else await ctx.port.createAutoscaler(buildAutoscaler(pool, spec));
    } catch (err) {
      if (hasReason(err, "Conflict") && attempt < MAX_ATTEMPTS) continue;
      // Someone may have created it just now: look again once before blaming the name.
      if (hasReason(err, "AlreadyExists") && attempt === 1) continue;
      if (hasReason(err, "AlreadyExists")) {
        return done({
          kind: "error",
          reason: "AutoscalerNameTaken",
          message: `HorizontalPodAutoscaler ${pool.id.name} already exists in namespace "${pool.id.namespace}" and scales something else.`,
        });
      }
      throw err;
    }
    const range = `${spec.minReplicas}..${spec.maxReplicas} replicas at ${spec.cpuPercent}% CPU`;
    const action = existing
      ? `Updated HorizontalPodAutoscaler ${existing.metadata.name} to ${range}`
      : `Created HorizontalPodAutoscaler ${pool.id.name} for ${range}`;
    return changed(ctx, pool, "ChatOpsAutoscale", action, result);
  }
}

async function autoscaleOff(ctx: ExecuteContext, found: PoolSnapshot): Promise<ExecuteOutcome> {
  const command: ChatCommand = { name: "autoscale", pool: found.id, mode: "off" };
  const editable = await editableAutoscaler(ctx, found, command);
  if (!editable.ok) return editable.outcome;
  const existing = editable.value;
  if (!existing) {
    return done({
      kind: "error",
      reason: "NoAutoscaler",
      message: `No HorizontalPodAutoscaler scales ${formatPoolId(found.id)}.`,
    });
  }
  const claimed = await claimDelivery(ctx, found);
  if (!claimed.ok) return claimed.outcome;
  const pool = claimed.value;
  const { name, uid } = existing.metadata;
  await ctx.port.deleteAutoscaler(pool.id.namespace, name, uid ?? "");
  return changed(ctx, pool, "ChatOpsAutoscaleOff", `Deleted HorizontalPodAutoscaler ${name}`, {
    kind: "autoscaleOff",
    pool: pool.id,
    by: actor(ctx),
  });
}

/** The pool's HPA, unless another controller (KEDA) owns it: then chat must not touch it. */
async function editableAutoscaler(
  ctx: ExecuteContext,
  pool: PoolSnapshot,
  command: ChatCommand,
): Promise<Step<ReturnType<typeof findAutoscaler>>> {
  const existing = findAutoscaler(await ctx.port.listAutoscalers(pool.id.namespace), pool);
  const manager = existing && autoscalerManager(existing);
  if (existing && manager) {
    const message = `HorizontalPodAutoscaler ${existing.metadata.name} belongs to ${manager}; change it there, or it will undo what chat does.`;
    return { ok: false, outcome: refuse(ctx, command, "ManagedElsewhere", message) };
  }
  return { ok: true, value: existing };
}

async function release(
  ctx: ExecuteContext,
  ref: { namespace: string; name: string },
): Promise<ExecuteOutcome> {
  const command: ChatCommand = { name: "release", vm: ref };
  let vm = await ctx.port.getVm(ref.namespace, ref.name);
  const owner = vm && poolOwnerOf(vm);
  if (!vm) {
    return done({
      kind: "error",
      reason: "VirtualMachineNotFound",
      message: `No VirtualMachine "${ref.name}" in namespace "${ref.namespace}".`,
    });
  }
  if (!owner) {
    return done({
      kind: "error",
      reason: "NotInPool",
      message: `VirtualMachine ${ref.namespace}/${ref.name} does not belong to a pool.`,
    });
  }
  const poolId: PoolId = { kind: "VirtualMachinePool", namespace: ref.namespace, name: owner.name };
  const live = await ctx.port.getPool("VirtualMachinePool", ref.namespace, owner.name);
  // Only remember the delivery on the pool the VM belongs to, not on a new pool that reuses the name.
  if (live && live.uid === owner.uid) {
    const claimed = await claimDelivery(ctx, live);
    if (!claimed.ok) return claimed.outcome;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.port.patchVm(ref.namespace, ref.name, releasePatch(vm));
      break;
    } catch (err) {
      if (!hasReason(err, "Conflict") || attempt >= MAX_ATTEMPTS) throw err;
    }
    vm = await ctx.port.getVm(ref.namespace, ref.name);
    if (!vm || poolOwnerOf(vm)?.uid !== owner.uid) {
      logRefusal(ctx, command, { reason: "AlreadyReleased", message: "released or deleted meanwhile" });
      return done({
        kind: "error",
        reason: "AlreadyReleased",
        message: `VirtualMachine ${ref.namespace}/${ref.name} left its pool meanwhile.`,
      });
    }
  }
  const audited: AuditedObject = {
    kind: "VirtualMachinePool",
    apiVersion: owner.apiVersion,
    namespace: ref.namespace,
    name: owner.name,
    uid: owner.uid,
  };
  return changed(
    ctx,
    { id: poolId, audited },
    "ChatOpsRelease",
    `Released VirtualMachine ${ref.name} from the pool`,
    { kind: "released", vm: ref, pool: poolId, by: actor(ctx) },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Conditional writes, de-duplication, audit
// ---------------------------------------------------------------------------------------------------------------

/** What to do with the pool as last read: answer without writing, or patch it and then report. */
type Decision =
  | { readonly done: ExecuteOutcome }
  | { readonly patch: MergePatch; readonly after: () => Promise<ExecuteOutcome> };

/**
 * Decide on the pool as read, then patch it with the decision and the delivery key, conditional on the
 * resourceVersion that was read. A 409 re-reads the pool and decides again, so `+1` from two people gives `+2`.
 */
async function conditionally(
  ctx: ExecuteContext,
  found: PoolSnapshot,
  decide: (pool: PoolSnapshot) => Promise<Decision | ExecuteOutcome>,
): Promise<ExecuteOutcome> {
  let pool = found;
  for (let attempt = 1; ; attempt++) {
    const stop = unusable(ctx, pool);
    if (stop) return stop;
    const decision = await decide(pool);
    // A refusal decided nothing: a later copy may be decided afresh.
    if ("result" in decision) return decision;
    // Nothing to change, and nothing to remember without a delivery key: no write at all.
    if ("done" in decision && ctx.deliveryKey === undefined) return decision.done;
    const metadata = guard(ctx, pool);
    if (!metadata.ok) return metadata.outcome;
    try {
      const patch = "done" in decision ? {} : decision.patch;
      await ctx.port.patchPool(pool.id, { ...patch, metadata: metadata.value });
    } catch (err) {
      if (!hasReason(err, "Conflict") || attempt >= MAX_ATTEMPTS) throw err;
      pool = await reread(ctx, pool);
      continue;
    }
    return "done" in decision ? decision.done : decision.after();
  }
}

/** Remember the delivery on the pool before changing another object (an HPA, a VM). */
async function claimDelivery(ctx: ExecuteContext, found: PoolSnapshot): Promise<Step<PoolSnapshot>> {
  if (ctx.deliveryKey === undefined) return { ok: true, value: found };
  let pool = found;
  for (let attempt = 1; ; attempt++) {
    const stop = unusable(ctx, pool);
    if (stop) return { ok: false, outcome: stop };
    const metadata = guard(ctx, pool);
    if (!metadata.ok) return metadata;
    try {
      return { ok: true, value: await ctx.port.patchPool(pool.id, { metadata: metadata.value }) };
    } catch (err) {
      if (!hasReason(err, "Conflict") || attempt >= MAX_ATTEMPTS) throw err;
    }
    pool = await reread(ctx, pool);
  }
}

/**
 * The patch's metadata: the resourceVersion precondition, plus the delivery key when the command has one; or
 * the refusal when the pool's delivery memory is full (forgetting a key still inside its window would let a
 * replay of it run again).
 */
function guard(ctx: ExecuteContext, pool: PoolSnapshot): Step<Record<string, unknown>> {
  const key = ctx.deliveryKey;
  if (key === undefined) return { ok: true, value: { resourceVersion: pool.resourceVersion } };
  const remembered = rememberDelivery(pool.annotations[DELIVERIES_ANNOTATION], key, ctx.now());
  if (!remembered.ok) {
    const minutes = Math.ceil(remembered.retryAfterSeconds / 60);
    const message =
      `${formatPoolId(pool.id)} has taken as many chat commands as it can remember for now; ` +
      `try again in about ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    ctx.log.warn(
      { chatops: "refused", reason: remembered.reason, pool: formatPoolId(pool.id), deliveryKey: key },
      message,
    );
    return { ok: false, outcome: done({ kind: "error", reason: remembered.reason, message }) };
  }
  return {
    ok: true,
    value: {
      resourceVersion: pool.resourceVersion,
      annotations: { [DELIVERIES_ANNOTATION]: remembered.value },
    },
  };
}

/** Why this command must not act on the pool as read (a copy already ran, deletion, a newer pool), if it must not. */
function unusable(ctx: ExecuteContext, pool: PoolSnapshot): ExecuteOutcome | undefined {
  const key = ctx.deliveryKey;
  if (key !== undefined && hasDelivery(pool.annotations[DELIVERIES_ANNOTATION], key, ctx.now())) {
    return duplicate(ctx, pool);
  }
  if (pool.deleting) return deleting(pool);
  // Seconds on both sides: creationTimestamp has no fraction, and neither has Slack's timestamp.
  if (
    ctx.issuedAt !== undefined &&
    pool.created !== undefined &&
    pool.created.getTime() > ctx.issuedAt.getTime()
  ) {
    return newerThanCommand(ctx, pool);
  }
  return undefined;
}

function duplicate(ctx: ExecuteContext, pool: PoolSnapshot): ExecuteOutcome {
  ctx.log.info(
    { chatops: "duplicate", deliveryKey: ctx.deliveryKey, pool: formatPoolId(pool.id) },
    "chat command already ran for this delivery; not running it again",
  );
  return {
    duplicate: true,
    result: {
      kind: "error",
      reason: "DuplicateDelivery",
      message: `This command already ran on ${formatPoolId(pool.id)}.`,
    },
  };
}

function newerThanCommand(ctx: ExecuteContext, pool: PoolSnapshot): ExecuteOutcome {
  const message = `${formatPoolId(pool.id)} was created after this command was sent, so it is not the pool the command named; send the command again if you meant this one.`;
  ctx.log.info(
    {
      chatops: "refused",
      reason: "PoolNewerThanCommand",
      deliveryKey: ctx.deliveryKey,
      pool: formatPoolId(pool.id),
      created: pool.created?.toISOString(),
      issuedAt: ctx.issuedAt?.toISOString(),
    },
    message,
  );
  return done({ kind: "error", reason: "PoolNewerThanCommand", message });
}

function deleting(pool: PoolSnapshot): ExecuteOutcome {
  return done({
    kind: "error",
    reason: "PoolDeleting",
    message: `${formatPoolId(pool.id)} is being deleted; it cannot be changed any more.`,
  });
}

async function reread(ctx: ExecuteContext, pool: PoolSnapshot): Promise<PoolSnapshot> {
  const fresh = await ctx.port.getPool(pool.id.kind, pool.id.namespace, pool.id.name);
  if (!fresh || fresh.uid !== pool.uid) {
    throw new ReasonedError("NotFound", `${formatPoolId(pool.id)} was deleted meanwhile`, { status: 404 });
  }
  return fresh;
}

/** After a successful change: the audit event, the audit log line, the reconcile request. */
async function changed(
  ctx: ExecuteContext,
  pool: PoolSnapshot | { readonly id: PoolId; readonly audited: AuditedObject },
  reason: AuditReason,
  action: string,
  result: ChatResult,
): Promise<ExecuteOutcome> {
  const audited: AuditedObject =
    "audited" in pool ? pool.audited : { ...pool.id, apiVersion: pool.apiVersion, uid: pool.uid };
  const event = auditEvent(audited, reason, action, ctx.subject, ctx.source);
  const recorded = await ctx.port.recordEvent(event);
  ctx.log.info(
    {
      audit: reason,
      pool: formatPoolId(pool.id),
      userId: ctx.subject.userId,
      userName: ctx.subject.userName,
      channelId: ctx.subject.channelId,
      channelName: ctx.subject.channelName,
      source: ctx.source,
      eventRecorded: recorded,
    },
    event.message,
  );
  try {
    await ctx.requestReconcile(pool.id, reason);
  } catch (err) {
    ctx.log.warn({ err, pool: formatPoolId(pool.id), reason }, "could not request a reconcile pass");
  }
  return { result, changed: { pool: pool.id, reason } };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** Resolve the reference (a bare name may be either kind), then run `body` on the pool. */
async function withPool(
  ctx: ExecuteContext,
  ref: PoolRef,
  body: (pool: PoolSnapshot) => Promise<ExecuteOutcome>,
): Promise<ExecuteOutcome> {
  const namespace = ref.namespace ?? ctx.defaultNamespace;
  const kinds = ref.kind ? [ref.kind] : POOL_KINDS;
  const found = (await Promise.all(kinds.map((kind) => ctx.port.getPool(kind, namespace, ref.name)))).filter(
    (pool) => pool !== undefined,
  );
  const resolved = resolvePoolRef(
    ref,
    found.map((pool) => pool.id),
    ctx.defaultNamespace,
  );
  if (!resolved.ok) return done({ kind: "error", reason: resolved.reason, message: resolved.message });
  const pool = found.find((p) => p.id.kind === resolved.pool.kind);
  if (!pool) return done({ kind: "error", reason: "PoolNotFound", message: "The pool disappeared." });
  return body(pool);
}

function actor(ctx: ExecuteContext): Actor {
  const { userId, userName } = ctx.subject;
  return userName ? { userId, userName } : { userId };
}

function refuse(ctx: ExecuteContext, command: ChatCommand, reason: string, message: string): ExecuteOutcome {
  const result = { kind: "refused", reason, message } as const;
  logRefusal(ctx, command, result);
  return done(result);
}

function logRefusal(
  ctx: ExecuteContext,
  command: ChatCommand,
  refusal: { readonly reason: string; readonly message: string },
): void {
  const verb: Verb | null = verbForCommand(command);
  ctx.log.info(
    {
      chatops: "refused",
      reason: refusal.reason,
      command: command.name,
      verb,
      namespace: commandNamespace(command, ctx.defaultNamespace),
      requester: describeRequester(ctx.subject, ctx.source),
    },
    refusal.message,
  );
}

function signed(delta: number): string {
  return delta < 0 ? `${delta}` : `+${delta}`;
}

/** A thrown error as a reply: reason-coded errors get a sentence for their reason, anything else is logged. */
function failure(err: unknown, ctx: ExecuteContext, command: ChatCommand): ChatResult {
  const reason = err instanceof ReasonedError ? err.reason : "InternalError";
  const message = FAILURE_MESSAGES[reason];
  if (message === undefined || reason === "InternalError") {
    ctx.log.error({ err, command: command.name, reason }, "chat command failed");
  } else {
    ctx.log.warn({ err, command: command.name, reason }, "chat command failed");
  }
  return {
    kind: "error",
    reason,
    message:
      message ??
      (reason === "Invalid" && err instanceof Error
        ? `Kubernetes refused the change: ${err.message.slice(0, 300)}`
        : "Something went wrong; the details are in the function's log."),
  };
}

const FAILURE_MESSAGES: Readonly<Record<string, string>> = {
  Conflict: "The object kept changing while I tried to change it; please try again.",
  NotFound: "It was deleted while I was working on it.",
  Forbidden: "The functions' Kubernetes service account is not allowed to do that (RBAC).",
  Unauthorized: "The functions could not authenticate to Kubernetes.",
  Timeout: "Kubernetes did not answer in time; please try again.",
  Unavailable: "Kubernetes is not reachable right now; please try again.",
  TooManyRequests: "Kubernetes is busy right now; please try again.",
  ServerError: "Kubernetes had an internal error; please try again.",
};
