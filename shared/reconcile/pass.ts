/**
 * One reconcile pass, the same for every trigger: observe → plan (pure) → act → status. A pass that finds nothing
 * to do makes zero writes. A pass that must write first takes the pool's Lease, re-reads and re-plans under it (so
 * overlapping passes never act on stale state), acts, and releases. A pool held by a live lease is skipped at once.
 * `reconcileAll` reads the cluster with one list per kind, plans every pool from that snapshot, and runs a locked
 * pass only for pools whose plan has writes, with bounded concurrency.
 */
import pMap from "p-map";
import { isKubeError, type Kube } from "../kube";
import type { Logger } from "../log";
import { metrics } from "../metrics";
import { type Note, type Plan, planPool, planReplicaSet } from "../planning";
import { act } from "./act";
import { type ManageMode, standDownReason } from "./coexist";
import { recordPassHistory } from "./history";
import { type Observation, type Owner, observeAll, observePool, refOf, whyUnobserved } from "./observe";
import { formatRef, type PassResult, type PoolRef } from "./types";
import { templateProblem } from "./validate";

export interface PassDeps {
  readonly kube: Kube;
  readonly log: Logger;
  readonly now: () => Date;
  readonly random: () => number;
  /** Lease holder identity: unique per invocation. */
  readonly holder: string;
  readonly manage?: ManageMode;
  /** Per-pass time budget in ms (Lambda: under the function timeout). Default 25 s. */
  readonly deadlineMs?: number;
  /** Writes in flight per pass. Default 16. */
  readonly writeConcurrency?: number;
}

export interface PassOptions {
  /** Plan only: no lease, no writes. */
  readonly dryRun?: boolean;
}

const DEFAULT_DEADLINE_MS = 25_000;

/** The plan for an observation (pure). */
export function planFor(observation: Observation, now: Date, random: () => number): Plan {
  const { owner, children } = observation;
  if (owner.kind === "VirtualMachinePool") {
    return planPool({
      pool: owner.object,
      vms: children.vms,
      vmis: children.vmis,
      revisions: children.revisions,
      now,
      random,
    });
  }
  return planReplicaSet({ replicaSet: owner.object, vmis: children.vmis, now });
}

/** Does acting on this plan write anything (actions or a status change)? */
export function needsWrites(plan: Plan): boolean {
  return plan.actions.length > 0 || (plan.status?.changed ?? false) || (plan.status?.events.length ?? 0) > 0;
}

function leaseName(ref: PoolRef): string {
  const kind = ref.kind === "VirtualMachinePool" ? "vmpool" : "vmirs";
  return `vmpool-functions.${kind}.${ref.name}`.slice(0, 253);
}

function result(
  ref: PoolRef,
  outcome: PassResult["outcome"],
  reason: string,
  message: string,
  extra: Partial<PassResult> = {},
): PassResult {
  return { ref, outcome, reason, message, actions: [], statusWritten: false, ...extra };
}

/**
 * Decides from one observation: stand down, skip, converged, dry run; `"report"` when an invalid template must be
 * reported (once); undefined when the plan needs writes.
 */
function decide(
  deps: PassDeps,
  ref: PoolRef,
  observation: Observation,
  plan: Plan,
  options: PassOptions,
): PassResult | "report" | undefined {
  const standDown = standDownReason(observation.owner.object, deps.manage ?? "all", deps.now());
  if (standDown) return result(ref, "StoodDown", standDown.reason, standDown.message, { plan });
  // Before the plan's own skip: a template the planner refused to copy (too deep) is reported, not just skipped.
  const problem = templateProblem(observation.owner);
  if (problem) {
    if (options.dryRun || alreadyReported(observation.owner, problem)) {
      return result(ref, "Skipped", problem.reason, problem.message, { plan });
    }
    return "report";
  }
  if (plan.skipped) return result(ref, "Skipped", plan.skipped.reason, plan.skipped.message, { plan });
  if (options.dryRun)
    return result(ref, "DryRun", "DryRun", `${plan.actions.length} action(s) planned`, { plan });
  if (!needsWrites(plan)) return result(ref, "Converged", "Converged", "nothing to do", { plan });
  return undefined;
}

/** One pass for one pool. Never throws for API trouble: failures come back as outcome Failed with a reason. */
export async function reconcilePool(
  deps: PassDeps,
  ref: PoolRef,
  options: PassOptions = {},
): Promise<PassResult> {
  const started = performance.now();
  const passResult = await passOnce(deps, ref, options);
  recordPass(passResult, (performance.now() - started) / 1000);
  return passResult;
}

/** Counts a pass (and its writes) in shared/metrics. */
function recordPass(pass: PassResult, seconds?: number): void {
  metrics.recordPass({ kind: pass.ref.kind, outcome: pass.outcome, reason: pass.reason }, seconds);
  for (const action of pass.actions) {
    metrics.recordAction({
      action: action.kind,
      result: action.ok ? "ok" : action.skipped ? "skipped" : "failed",
    });
  }
}

async function passOnce(deps: PassDeps, ref: PoolRef, options: PassOptions): Promise<PassResult> {
  const deadline = Date.now() + (deps.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const kube = deps.kube.withDeadline(deadline);
  try {
    const observation = await observePool(kube, ref);
    if (!observation) return result(ref, "NotFound", "NotFound", `${formatRef(ref)} does not exist`);
    const plan = planFor(observation, deps.now(), deps.random);
    const decided = decide(deps, ref, observation, plan, options);
    if (decided === "report") return await reportInvalid(deps, kube, ref, observation, deadline);
    return decided ?? (await lockedPass(deps, kube, ref, deadline, options));
  } catch (err) {
    return failure(deps.log, ref, err);
  }
}

/** Takes the lease, re-observes and re-plans under it, acts, releases. */
async function lockedPass(
  deps: PassDeps,
  kube: Kube,
  ref: PoolRef,
  deadline: number,
  options: PassOptions,
): Promise<PassResult> {
  const lease = await takeLease(deps, kube, ref, deadline);
  if (!lease.acquired) return leaseHeld(ref, lease);
  try {
    const observation = await observePool(kube, ref);
    if (!observation) return result(ref, "NotFound", "NotFound", `${formatRef(ref)} does not exist`);
    return await actOnObservation(deps, kube, ref, observation, deadline, options);
  } finally {
    await lease.release();
  }
}

function takeLease(deps: PassDeps, kube: Kube, ref: PoolRef, deadline: number) {
  // The lease outlives the pass's deadline by a margin, so no other pass can act while this one still might.
  const ttlSeconds = Math.ceil((deadline - Date.now()) / 1000) + 5;
  return kube.acquireLease({
    namespace: ref.namespace,
    name: leaseName(ref),
    holder: deps.holder,
    ttlSeconds,
  });
}

function leaseHeld(
  ref: PoolRef,
  lease: { holder?: string | undefined; expiresAt?: Date | undefined },
): PassResult {
  return result(
    ref,
    "LeaseHeld",
    "LeaseHeld",
    `another pass (${lease.holder ?? "?"}) holds the lease until ${lease.expiresAt?.toISOString() ?? "?"}`,
  );
}

/** Plans and acts for one pool whose lease is held, from an observation read after the lease was taken. */
async function actOnObservation(
  deps: PassDeps,
  kube: Kube,
  ref: PoolRef,
  observation: Observation,
  deadline: number,
  options: PassOptions,
): Promise<PassResult> {
  const plan = planFor(observation, deps.now(), deps.random);
  const early = decide(deps, ref, observation, plan, options);
  if (early === "report") return await reportInvalid(deps, kube, ref, observation, deadline);
  if (early) return early;
  const outcome = await act(plan, {
    kube,
    log: deps.log,
    now: deps.now,
    deadline,
    concurrency: deps.writeConcurrency ?? 16,
  });
  await recordPassHistory({ kube, log: deps.log, now: deps.now }, ref, observation, plan, outcome.results);
  const failed = outcome.results.filter((r) => !r.ok && !r.superseded);
  const logged = {
    pool: formatRef(ref),
    actions: outcome.results.length,
    failed: failed.length,
    statusWritten: outcome.statusWritten,
    ...(outcome.superseded ? { superseded: outcome.superseded } : {}),
  };
  if (failed.length > 0 || outcome.syncError) {
    deps.log.warn({ ...logged, syncError: outcome.syncError }, "pass acted with failures");
    return result(
      ref,
      "Failed",
      outcome.syncError?.reason ?? failed[0]?.error ?? "WriteFailed",
      outcome.syncError?.message ?? `${failed.length} write(s) failed`,
      { actions: outcome.results, statusWritten: outcome.statusWritten, plan },
    );
  }
  deps.log.info(logged, "pass acted");
  const written = outcome.results.length - (outcome.superseded?.dropped ?? 0);
  const superseded = outcome.superseded;
  const dropped = superseded
    ? `; ${superseded.dropped} create(s) dropped (${superseded.why.reason}: ${superseded.why.message})`
    : "";
  return result(ref, "Acted", "Acted", `${written} write(s)${dropped}`, {
    actions: outcome.results,
    statusWritten: outcome.statusWritten,
    plan,
  });
}

/**
 * The locked passes of one namespace in a reconcile-all: take the leases of every pool that needs writes, read the
 * namespace once (fresh, after the leases are held), act for each pool, release. One set of lists per namespace
 * rather than per pool, so 1,000 pools in a namespace do not each re-list its 10,000 VMs.
 */
async function reconcileNamespace(
  deps: PassDeps,
  namespace: string,
  refs: readonly PoolRef[],
  options: AllOptions,
): Promise<PassResult[]> {
  const started = performance.now();
  const deadline = Date.now() + (deps.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const kube = deps.kube.withDeadline(deadline);
  const concurrency = options.concurrency ?? 8;
  const results: PassResult[] = [];
  const leases = await pMap(
    refs,
    async (ref) => {
      try {
        return { ref, lease: await takeLease(deps, kube, ref, deadline) };
      } catch (err) {
        results.push(failure(deps.log, ref, err));
        return undefined;
      }
    },
    { concurrency: concurrency * 2 },
  );
  const mine: { ref: PoolRef; release: () => Promise<unknown> }[] = [];
  for (const taken of leases) {
    if (!taken) continue;
    if (taken.lease.acquired) mine.push({ ref: taken.ref, release: taken.lease.release });
    else results.push(leaseHeld(taken.ref, taken.lease));
  }
  try {
    if (mine.length === 0) return results;
    const snapshot = await observeAll(kube, namespace);
    const byKey = new Map(snapshot.observations.map((o) => [formatRef(refOf(o.owner)), o]));
    const acted = await pMap(
      mine,
      async ({ ref }) => {
        const observation = byKey.get(formatRef(ref));
        if (!observation) {
          const error = whyUnobserved(snapshot, ref);
          if (error) return failure(deps.log, ref, error);
          return result(ref, "NotFound", "NotFound", `${formatRef(ref)} does not exist`);
        }
        try {
          return await actOnObservation(deps, kube, ref, observation, deadline, options);
        } catch (err) {
          return failure(deps.log, ref, err);
        }
      },
      { concurrency },
    );
    results.push(...acted);
  } catch (err) {
    for (const { ref } of mine) results.push(failure(deps.log, ref, err));
  } finally {
    await Promise.all(mine.map((m) => m.release()));
  }
  const seconds = (performance.now() - started) / 1000 / Math.max(results.length, 1);
  for (const r of results) recordPass(r, seconds);
  return results;
}

function alreadyReported(owner: Owner, problem: Note): boolean {
  const conditions = (owner.object.status?.conditions ?? []) as {
    type?: string;
    reason?: string;
    message?: string;
  }[];
  return conditions.some(
    (c) => c.type === "ReplicaFailure" && c.reason === problem.reason && c.message === problem.message,
  );
}

/**
 * An invalid template is reported once: a ReplicaFailure condition (merge patch of /status) and a Warning event.
 * No child is created; later passes see the condition and make no writes until the template changes.
 */
async function reportInvalid(
  deps: PassDeps,
  kube: Kube,
  ref: PoolRef,
  observation: Observation,
  deadline: number,
): Promise<PassResult> {
  const problem = templateProblem(observation.owner) as Note;
  const { object } = observation.owner;
  const others = ((object.status?.conditions ?? []) as { type?: string }[]).filter(
    (c) => c.type !== "ReplicaFailure",
  );
  const condition = {
    type: "ReplicaFailure",
    status: "True",
    reason: problem.reason,
    message: problem.message,
    lastProbeTime: null,
    lastTransitionTime: `${deps.now().toISOString().slice(0, 19)}Z`,
  };
  deps.log.warn({ pool: formatRef(ref), reason: problem.reason }, problem.message);
  let statusWritten = false;
  try {
    await kube.patch(
      ref.kind,
      ref.namespace,
      ref.name,
      { status: { conditions: [...others, condition] } },
      "merge",
      {
        subresource: "status",
        deadline,
      },
    );
    statusWritten = true;
  } catch (err) {
    deps.log.warn(
      { pool: formatRef(ref), err: err instanceof Error ? err.message : String(err) },
      "could not record the invalid template",
    );
  }
  await kube.recordEvent({
    involvedObject: {
      kind: ref.kind,
      apiVersion: String(object.apiVersion ?? ""),
      namespace: ref.namespace,
      name: ref.name,
      uid: object.metadata.uid ?? "",
    },
    type: "Warning",
    reason: problem.reason,
    message: problem.message,
    component:
      ref.kind === "VirtualMachinePool"
        ? "virtualmachinepool-controller"
        : "virtualmachinereplicaset-controller",
  });
  return result(ref, "Skipped", problem.reason, problem.message, { statusWritten });
}

function failure(log: Logger, ref: PoolRef, err: unknown): PassResult {
  const reason = isKubeError(err) ? err.reason : "Error";
  const message = err instanceof Error ? err.message : String(err);
  log.warn({ pool: formatRef(ref), reason, err: message }, "pass failed");
  return result(ref, "Failed", reason, message);
}

export interface AllOptions extends PassOptions {
  readonly namespace?: string;
  /** Pool passes in flight at once. Default 8. */
  readonly concurrency?: number;
}

/**
 * A reconcile-all pass: one list per kind, a plan per pool from that snapshot, and a locked pass only where the
 * plan writes. Converged pools cost no request beyond the lists. One pool's trouble stays its own: a failed read
 * fails only the pools that depend on it, and a pool whose planning throws fails alone.
 */
export async function reconcileAll(deps: PassDeps, options: AllOptions = {}): Promise<PassResult[]> {
  const started = performance.now();
  const deadline = Date.now() + (deps.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const kube = deps.kube.withDeadline(deadline);
  const snapshot = await observeAll(kube, options.namespace);
  const results: PassResult[] = [];
  const pending: PoolRef[] = [];
  const reports: PoolRef[] = [];
  const early = (pass: PassResult) => {
    results.push(pass);
    recordPass(pass);
  };
  for (const { ref, error } of snapshot.unobserved) early(failure(deps.log, ref, error));
  for (const observation of snapshot.observations) {
    const ref = refOf(observation.owner);
    try {
      const plan = planFor(observation, deps.now(), deps.random);
      const decided = decide(deps, ref, observation, plan, options);
      if (decided === "report") reports.push(ref);
      else if (decided) early(decided);
      else pending.push(ref);
    } catch (err) {
      early(failure(deps.log, ref, err));
    }
  }
  // Invalid templates are reported by a lone pass: it takes no lease and writes only the report.
  results.push(
    ...(await pMap(reports, (ref) => reconcilePool(deps, ref, options), {
      concurrency: options.concurrency ?? 8,
    })),
  );
  const byNamespace = new Map<string, PoolRef[]>();
  for (const ref of pending) byNamespace.set(ref.namespace, [...(byNamespace.get(ref.namespace) ?? []), ref]);
  const batches = await pMap(
    [...byNamespace],
    ([namespace, refs]) => reconcileNamespace(deps, namespace, refs, options),
    {
      concurrency: options.concurrency ?? 8,
    },
  );
  for (const batch of batches) results.push(...batch);
  metrics.recordReconcileAll((performance.now() - started) / 1000, results.length);
  return results;
}
