/**
 * Acting on a plan: each action is one conditional Kubernetes write, run stage by stage (a stage starts only
 * when the previous one succeeded). Within a stage creates go in slow-start batches (1, 2, 4, …, as KubeVirt's
 * `slowStartBatch`): after a failed batch the rest is skipped, so a broken template costs a handful of requests,
 * not 250. Successful writes record their planned events; failures record the plan's Warning events and become
 * the pass's sync error. The status is written last, only when it changed.
 */
import pMap from "p-map";
import { isKubeError, type KindName, type Kube } from "../kube";
import type { Logger } from "../log";
import {
  type Action,
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
}

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

  const stages = [Stage.Prepare, Stage.Apply, Stage.Preserve, Stage.Finalize];
  for (const stage of stages) {
    const actions = plan.actions.filter((a) => a.stage === stage);
    if (actions.length === 0) continue;
    const skip = (a: Action) =>
      results.push({ kind: a.kind, target: describeTarget(a), reason: a.reason, ok: false, skipped: true });
    if (!(await runStage(actions, runOne, skip, options.concurrency))) {
      for (const later of plan.actions.filter((x) => x.stage > stage)) skip(later);
      break;
    }
  }

  if (aborted || !plan.status) return { results, syncError, statusWritten: false, aborted };
  const status = syncError ? statusAfterFailure(plan, syncError, options.now()) : plan.status;
  const statusWritten = status ? await writeStatus(kube, plan, status, options, log) : false;
  if (status && statusWritten) for (const event of status.events) await record(event, event.message);
  return { results, syncError, statusWritten, aborted };
}

/**
 * Runs a stage: non-create writes with bounded concurrency; creates in slow-start batches that stop after a
 * failing batch (the rest are reported as skipped). Resolves true when every action succeeded.
 */
async function runStage(
  actions: readonly Action[],
  runOne: (a: Action) => Promise<boolean>,
  skip: (a: Action) => void,
  concurrency: number,
): Promise<boolean> {
  const creates = actions.filter((a) => a.write.verb === "create");
  const others = actions.filter((a) => a.write.verb !== "create");
  let ok = await runBounded(others, runOne, concurrency);
  let batch = 1;
  for (let i = 0; i < creates.length; ) {
    const slice = creates.slice(i, i + batch);
    i += slice.length;
    if (!(await runBounded(slice, runOne, concurrency))) {
      ok = false;
      for (const rest of creates.slice(i)) skip(rest);
      break;
    }
    batch = Math.min(batch * 2, concurrency * 4);
  }
  return ok;
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
