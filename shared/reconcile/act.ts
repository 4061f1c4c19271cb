/**
 * Acting on a plan: each action is one conditional Kubernetes write, run stage by stage (a stage starts only
 * when the previous one succeeded). Within a stage creates go in slow-start batches (1, 2, 4, …, as KubeVirt's
 * `slowStartBatch`): after a failed batch the rest is skipped, so a broken template costs a handful of requests,
 * not 250. Before each batch that creates children the owner is read again (one GET) and the batch issues only
 * the creates its current `spec.replicas` still allows: a scale-down during the pass stops it creating. Successful
 * writes record their planned events; failures record the plan's Warning events and become the pass's sync error.
 * The status is written last, only when it changed.
 */
import pMap from "p-map";
import { isKubeError, type KindName, type Kube } from "../kube";
import type { Logger } from "../log";
import {
  type Action,
  createsAllowed,
  isChildCreate,
  type Note,
  type Plan,
  type PlannedEvent,
  Stage,
  type StatusPlan,
  type SyncError,
  statusAfterFailure,
} from "../planning";
import type { ActionResult } from "./types";

const KINDS = new Set<string>([
  "VirtualMachinePool",
  "VirtualMachineInstanceReplicaSet",
  "VirtualMachine",
  "VirtualMachineInstance",
  "ControllerRevision",
  "DataVolume",
]);

export interface ActOptions {
  readonly kube: Kube;
  readonly log: Logger;
  readonly now: () => Date;
  /** Epoch ms after which no new write starts. */
  readonly deadline: number;
  /** Most writes in flight at once. */
  readonly concurrency: number;
}

export interface ActOutcome {
  readonly results: readonly ActionResult[];
  readonly syncError: SyncError | undefined;
  readonly statusWritten: boolean;
  /** A failure upstream returns before its status update (no `sync` report): the status is left alone. */
  readonly aborted: boolean;
  /** Set when creates were dropped because the owner's desired count, read between batches, no longer needs them. */
  readonly superseded?: Superseded;
}

export interface Superseded {
  /** `ReplicasDecreased`, or `OwnerGone` when the owner was deleted (or replaced) during the pass. */
  readonly why: Note;
  /** Creates not issued. */
  readonly dropped: number;
}

/** What the next batch of creates may do: issue up to `creates` child creates (`why` not more), or nothing. */
type Allowance =
  | { readonly ok: true; readonly creates: number; readonly why: Note }
  | { readonly ok: false; readonly error: string };

const UNLIMITED: Allowance = {
  ok: true,
  creates: Number.POSITIVE_INFINITY,
  why: { reason: "", message: "" },
};

function describeTarget(action: Action): string {
  const t = action.target;
  return `${t.kind}/${t.namespace}/${t.name ?? `${String((action.write as { body?: { metadata?: { generateName?: string } } }).body?.metadata?.generateName ?? "")}*`}`;
}

/** Runs one write. Resolves the created/updated object's name (for generateName events). */
async function perform(kube: Kube, action: Action, deadline: number): Promise<string | undefined> {
  const kind = action.target.kind;
  if (!KINDS.has(kind)) throw new Error(`writes to ${kind} are not supported by this build`);
  const k = kind as KindName;
  const { namespace } = action.target;
  const name = action.target.name ?? "";
  const options = { deadline };
  const write = action.write;
  switch (write.verb) {
    case "create": {
      const created = await kube.create(k, write.body as never, options);
      return (created as { metadata: { name: string } }).metadata.name;
    }
    case "update":
      await kube.replace(k, write.body as never, options);
      return name;
    case "delete":
      await kube.delete(k, namespace, name, {
        ...options,
        uid: write.preconditions.uid,
        ...(write.propagationPolicy ? { propagationPolicy: write.propagationPolicy } : {}),
      });
      return name;
    case "patch":
      if (write.patchType === "json")
        await kube.patch(k, namespace, name, write.patch as never, "json", options);
      else await kube.patch(k, namespace, name, write.patch, "merge", options);
      return name;
  }
}

function eventMessage(event: PlannedEvent, createdName: string | undefined): string {
  return event.appendCreatedName && createdName ? `${event.message}${createdName}` : event.message;
}

/** Executes `plan` (already decided to need writes) and writes its status. */
export async function act(plan: Plan, options: ActOptions): Promise<ActOutcome> {
  const { kube, log } = options;
  const results: ActionResult[] = [];
  const warned = new Set<string>();
  let syncError: SyncError | undefined;
  let aborted = false;

  const record = (event: PlannedEvent, message: string) =>
    kube.recordEvent({
      involvedObject: {
        kind: plan.owner.kind,
        apiVersion: plan.owner.apiVersion,
        namespace: plan.owner.namespace,
        name: plan.owner.name ?? "",
        uid: plan.owner.uid ?? "",
      },
      type: event.type,
      reason: event.reason,
      message,
      component: plan.component,
    });

  const runOne = async (action: Action): Promise<boolean> => {
    const target = describeTarget(action);
    if (Date.now() > options.deadline) {
      results.push({
        kind: action.kind,
        target,
        reason: action.reason,
        ok: false,
        skipped: true,
        error: "DeadlineExceeded",
      });
      return false;
    }
    try {
      const created = await perform(kube, action, options.deadline);
      results.push({ kind: action.kind, target, reason: action.reason, ok: true });
      if (action.event) await record(action.event, eventMessage(action.event, created));
      return true;
    } catch (err) {
      const done =
        (action.ignoreNotFound && isKubeError(err, "NotFound")) ||
        (action.ignoreAlreadyExists === true && isKubeError(err, "AlreadyExists"));
      if (done) {
        results.push({ kind: action.kind, target, reason: action.reason, ok: true });
        return true;
      }
      const reason = isKubeError(err) ? err.reason : "Error";
      const text = err instanceof Error ? err.message : String(err);
      results.push({ kind: action.kind, target, reason: action.reason, ok: false, error: reason });
      log.warn({ action: action.kind, target, reason, err: text }, "write failed");
      const report = action.onFailure;
      if (report.event && !(report.event.oncePerPass && warned.has(report.event.reason))) {
        warned.add(report.event.reason);
        await record(
          { type: "Warning", reason: report.event.reason, message: "" },
          `${report.event.messagePrefix}: ${text}`,
        );
      }
      if (report.sync) {
        syncError ??= {
          reason: report.sync.reason,
          message: report.sync.messagePrefix ? `${report.sync.messagePrefix}: ${text}` : text,
        };
      } else aborted = true;
      return false;
    }
  };

  let superseded: Superseded | undefined;
  let issued = 0;
  const ops: StageOps = {
    run: runOne,
    skip: (a, error) =>
      results.push({
        kind: a.kind,
        target: describeTarget(a),
        reason: a.reason,
        ok: false,
        skipped: true,
        ...(error === undefined ? {} : { error }),
      }),
    drop: (a, allowance) => {
      results.push({
        kind: a.kind,
        target: describeTarget(a),
        reason: a.reason,
        ok: false,
        skipped: true,
        superseded: true,
        error: allowance.why.reason,
      });
      superseded = { why: allowance.why, dropped: (superseded?.dropped ?? 0) + 1 };
    },
    allowance: () => readAllowance(plan, kube, options.deadline, issued, log),
    issued: (count) => {
      issued += count;
    },
    concurrency: options.concurrency,
  };
  const stages = [Stage.Prepare, Stage.Apply, Stage.Preserve, Stage.Finalize];
  for (const stage of stages) {
    const actions = plan.actions.filter((a) => a.stage === stage);
    if (actions.length === 0) continue;
    if (!(await runStage(actions, ops))) {
      for (const later of plan.actions.filter((x) => x.stage > stage)) ops.skip(later);
      break;
    }
  }

  const done = { results, syncError, aborted, ...(superseded ? { superseded } : {}) };
  if (aborted || !plan.status) return { ...done, statusWritten: false };
  const status = syncError ? statusAfterFailure(plan, syncError, options.now()) : plan.status;
  const statusWritten = status ? await writeStatus(kube, plan, status, options, log) : false;
  if (status && statusWritten) for (const event of status.events) await record(event, event.message);
  return { ...done, statusWritten };
}

/**
 * The child creates the next batch may issue: the owner read again, `spec.replicas` less what counted when the
 * plan was made and the creates already issued. A deleted or replaced owner allows none; a failed read stops
 * creating (the pass then fails with the read's reason).
 */
async function readAllowance(
  plan: Plan,
  kube: Kube,
  deadline: number,
  issued: number,
  log: Logger,
): Promise<Allowance> {
  if (!plan.scaleOut) return UNLIMITED;
  try {
    const owner = await kube.get(plan.kind, plan.owner.namespace, plan.owner.name ?? "", { deadline });
    if (!owner || (plan.owner.uid !== undefined && owner.metadata.uid !== plan.owner.uid)) {
      const why = { reason: "OwnerGone", message: "the owner was deleted or replaced during the pass" };
      return { ok: true, creates: 0, why };
    }
    const replicas = owner.spec.replicas;
    const why = { reason: "ReplicasDecreased", message: `spec.replicas is ${replicas ?? "unset"} now` };
    return { ok: true, creates: createsAllowed(plan.scaleOut, replicas, issued), why };
  } catch (err) {
    const reason = isKubeError(err) ? err.reason : "Error";
    log.warn(
      { reason, err: err instanceof Error ? err.message : String(err) },
      "could not re-read the desired count",
    );
    return { ok: false, error: reason };
  }
}

interface StageOps {
  readonly run: (a: Action) => Promise<boolean>;
  /** Not attempted after a failure; `error` says why when it is not the failure before it. */
  readonly skip: (a: Action, error?: string) => void;
  /** Not attempted: the desired count no longer needs it. */
  readonly drop: (a: Action, allowance: Extract<Allowance, { ok: true }>) => void;
  /** Before a batch with child creates: how many it may issue, given the child creates issued so far. */
  readonly allowance: () => Promise<Allowance>;
  readonly issued: (count: number) => void;
  readonly concurrency: number;
}

/**
 * Runs a stage: non-create writes with bounded concurrency; creates in slow-start batches, each batch with child
 * creates cut to what a fresh read of the desired count allows (the cut ones and all later creates are dropped),
 * and stopping after a failing batch (the rest are reported as skipped). Resolves true when no action failed.
 */
async function runStage(actions: readonly Action[], ops: StageOps): Promise<boolean> {
  const creates = actions.filter((a) => a.write.verb === "create");
  const others = actions.filter((a) => a.write.verb !== "create");
  const ok = await runBounded(others, ops.run, ops.concurrency);
  let batch = 1;
  for (let i = 0; i < creates.length; ) {
    const slice = creates.slice(i, i + batch);
    i += slice.length;
    const allowance = slice.some(isChildCreate) ? await ops.allowance() : UNLIMITED;
    if (!allowance.ok) {
      for (const rest of [...slice, ...creates.slice(i)]) ops.skip(rest, allowance.error);
      return false;
    }
    const { going, dropped } = cutBatch(slice, allowance.creates);
    ops.issued(going.filter(isChildCreate).length);
    const batchOk = await runBounded(going, ops.run, ops.concurrency);
    if (dropped.length > 0) {
      for (const rest of [...dropped, ...creates.slice(i)]) ops.drop(rest, allowance);
      return ok && batchOk;
    }
    if (!batchOk) {
      for (const rest of creates.slice(i)) ops.skip(rest);
      return false;
    }
    batch = Math.min(batch * 2, ops.concurrency * 4);
  }
  return ok;
}

/** Keeps every non-child create of a batch and its first `allowed` child creates; the other child creates go. */
function cutBatch(slice: readonly Action[], allowed: number): { going: Action[]; dropped: Action[] } {
  const going: Action[] = [];
  const dropped: Action[] = [];
  let left = allowed;
  for (const action of slice) {
    if (!isChildCreate(action)) going.push(action);
    else if (left > 0) {
      going.push(action);
      left--;
    } else dropped.push(action);
  }
  return { going, dropped };
}

async function runBounded(
  items: readonly Action[],
  run: (a: Action) => Promise<boolean>,
  concurrency: number,
): Promise<boolean> {
  return (await pMap(items, run, { concurrency })).every(Boolean);
}

/** Merge-patches `/status` to the desired status (fields that went away are nulled). Best effort. */
async function writeStatus(
  kube: Kube,
  plan: Plan,
  status: StatusPlan,
  options: ActOptions,
  log: Logger,
): Promise<boolean> {
  if (!status.changed && status.events.length === 0) return false;
  const desired = status.desired as Record<string, unknown>;
  const current = (status.current ?? {}) as Record<string, unknown>;
  const patch: Record<string, unknown> = { ...desired };
  for (const key of Object.keys(current)) if (!(key in desired)) patch[key] = null;
  try {
    await kube.patch(plan.kind, plan.owner.namespace, plan.owner.name ?? "", { status: patch }, "merge", {
      subresource: "status",
      deadline: options.deadline,
    });
    return true;
  } catch (err) {
    if (!isKubeError(err, "NotFound"))
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "status write failed");
    return false;
  }
}
