/**
 * Template updates and revision pruning for a pool: which VMs are outdated against the current
 * `<pool>-<generation>` ControllerRevision (PUT with the new template), how each up-to-date VM's VMI is brought in
 * line under the proactive strategy (restart, recreate the VM when DataVolumeTemplates changed, or just move the
 * revision label) within `maxUnavailable`, and which of the pool's revisions nobody uses any more. Mirrors KubeVirt
 * `pool.go` `update`, `isOutdatedVM`, `isOutdatedVMI`, `proactiveUpdate`, `pruneUnusedRevisions` (§1.8, §1.9).
 */
import type {
  ControllerRevision,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachinePool,
} from "../schemas/kubevirt";
import {
  DEFAULT_MAX_UNAVAILABLE,
  POOL_FINALIZER,
  POOL_KIND,
  POOL_REVISION_LABEL,
  REQUEUE_AFTER_BURST_SECONDS,
  REQUEUE_AFTER_MAX_UNAVAILABLE_SECONDS,
} from "./constants";
import type { Ledger } from "./ledger";
import { hasConditionStatus, hasFinalizer, isDeleting } from "./objects";
import {
  createRevisionAction,
  deleteRevisionAction,
  PoolSync,
  patchVMILabelsAction,
  recreateVMAction,
  removeVMFinalizerAction,
  restartVMAction,
  updateVMSpecAction,
} from "./pool-actions";
import { type PoolContext, vmiOf } from "./pool-context";
import { buildRevision, buildUpdatedVM } from "./pool-naming";
import type { StepResult } from "./pool-scale";
import { filterBySelectors, ordinalOf, resolveSortPolicy, sortVMs } from "./selection";
import { semanticEqual } from "./semantic";
import { desiredReplicas } from "./spec";
import { type PoolAction, Stage } from "./types";

interface RevisionTemplate {
  readonly metadata?: unknown;
  readonly spec?: { readonly template?: unknown; readonly dataVolumeTemplates?: unknown };
}

function parseData(data: unknown): unknown {
  if (typeof data !== "string") return data;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** The `virtualMachineTemplate` a pool revision recorded. */
function revisionTemplate(revision: ControllerRevision): RevisionTemplate | undefined {
  const data = parseData(revision.data);
  if (typeof data !== "object" || data === null) return undefined;
  const template = (data as { virtualMachineTemplate?: unknown }).virtualMachineTemplate;
  return typeof template === "object" && template !== null ? (template as RevisionTemplate) : undefined;
}

export type VMIUpdate = "none" | "restart" | "recreate" | "labelPatch";

/** Revision lookups with the (expensive) template comparisons memoised per revision or pair of revisions. */
export interface RevisionReader {
  has(name: string): boolean;
  /** The revision's template equals the pool's current one. */
  matchesPool(name: string): boolean;
  /** How a VMI built from `vmiRev` must change to match `vmRev`, both existing. */
  compare(vmRev: string, vmiRev: string): Exclude<VMIUpdate, "none">;
}

/** A {@link RevisionReader} over the revisions this pass observed. */
export function revisionReader(ctx: PoolContext): RevisionReader {
  const matches = new Map<string, boolean>();
  const pairs = new Map<string, Exclude<VMIUpdate, "none">>();
  // Nearly every VM carries the same revision label: remember the last answer before hashing the name.
  let lastName: string | undefined;
  let lastMatch = false;
  const templateOf = (name: string) => {
    const revision = ctx.revisions.get(name);
    return revision ? revisionTemplate(revision) : undefined;
  };
  return {
    has: (name) => name === lastName || ctx.revisions.has(name),
    matchesPool: (name) => {
      if (name === lastName) return lastMatch;
      let result = matches.get(name);
      if (result === undefined) {
        result = semanticEqual(templateOf(name), ctx.pool.spec.virtualMachineTemplate);
        matches.set(name, result);
      }
      lastName = name;
      lastMatch = result;
      return result;
    },
    compare: (vmRev, vmiRev) => {
      const pairKey = `${vmRev}\u0000${vmiRev}`;
      let result = pairs.get(pairKey);
      if (result === undefined) {
        const wanted = templateOf(vmRev)?.spec;
        const running = templateOf(vmiRev)?.spec;
        if (!semanticEqual(running?.dataVolumeTemplates, wanted?.dataVolumeTemplates)) result = "recreate";
        else if (!semanticEqual(running?.template, wanted?.template)) result = "restart";
        else result = "labelPatch";
        pairs.set(pairKey, result);
      }
      return result;
    },
  };
}

/** Why a VM no longer matches the pool template (`isOutdatedVM`), or undefined when it is current. */
export function outdatedReason(vm: VirtualMachine, revisions: RevisionReader): string | undefined {
  const labels = vm.metadata.labels;
  if (!labels) return "the VM has no labels";
  const revision = labels[POOL_REVISION_LABEL];
  if (revision === undefined) return "the VM has no revision label";
  if (!revisions.has(revision)) return `revision ${revision} no longer exists`;
  if (!revisions.matchesPool(revision)) return `the pool template changed since revision ${revision}`;
  return undefined;
}

export interface VMIDecision {
  readonly update: VMIUpdate;
  readonly why: string;
}

/** What the VMI of an up-to-date VM needs (`isOutdatedVMI`). */
export function classifyVMI(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance,
  revisions: RevisionReader,
): VMIDecision {
  const vmRev = vm.metadata.labels?.[POOL_REVISION_LABEL];
  if (vmRev === undefined) return { update: "none", why: "the VM has no revision yet" };
  const vmiRev = vmi.metadata.labels?.[POOL_REVISION_LABEL];
  if (vmiRev === undefined) return { update: "restart", why: "the VMI has no revision label" };
  if (vmRev === vmiRev) return { update: "none", why: "the VMI runs the VM's revision" };
  if (!revisions.has(vmRev)) return { update: "none", why: `revision ${vmRev} is not there yet` };
  if (!revisions.has(vmiRev))
    return { update: "restart", why: `the VMI's revision ${vmiRev} no longer exists` };
  const update = revisions.compare(vmRev, vmiRev);
  const why = {
    recreate: `DataVolumeTemplates differ between revisions ${vmiRev} and ${vmRev}`,
    restart: `the VMI template differs between revisions ${vmiRev} and ${vmRev}`,
    labelPatch: `revisions ${vmiRev} and ${vmRev} have the same VMI template`,
  }[update];
  return { update, why };
}

export type MaxUnavailable =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly error: string };

/** `calculateMaxUnavailableInt`: an integer, or a percentage of `replicas ?? 1` rounded down; at least 1. */
export function maxUnavailable(pool: VirtualMachinePool): MaxUnavailable {
  const raw = pool.spec.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE;
  if (typeof raw === "number") return { ok: true, value: Math.max(1, raw) };
  const text = raw.endsWith("%") ? raw.slice(0, -1) : raw;
  if (!/^[+-]?\d+$/.test(text)) {
    return {
      ok: false,
      error: `invalid maxUnavailable percentage: strconv.ParseInt: parsing "${text}": invalid syntax`,
    };
  }
  const value = Math.trunc((desiredReplicas(pool.spec.replicas) * Number(text)) / 100);
  return { ok: true, value: Math.max(1, value) };
}

/** The VMI is deleting-free, Running and Ready (`isVMIReady`). */
export function isVMIAvailable(vmi: VirtualMachineInstance | undefined): boolean {
  return (
    vmi !== undefined &&
    !isDeleting(vmi.metadata) &&
    vmi.status?.phase === "Running" &&
    hasConditionStatus(vmi.status.conditions, "Ready", "True")
  );
}

/** The VM's Ready condition is True (`filterReadyVMs`): what `readyReplicas` counts. */
export function isVMReady(vm: VirtualMachine): boolean {
  return hasConditionStatus(vm.status?.conditions, "Ready", "True");
}

function actionsFor(
  ctx: PoolContext,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance,
  decision: VMIDecision,
): PoolAction[] {
  const reason = `proactive update: ${decision.why}`;
  const vmRev = vm.metadata.labels?.[POOL_REVISION_LABEL] ?? "";
  switch (decision.update) {
    case "none":
      return [];
    case "restart":
      return [restartVMAction(ctx, vm, vmi, reason)];
    case "labelPatch":
      return [patchVMILabelsAction(ctx, vm, vmi, vmRev, reason)];
    case "recreate": {
      const release = hasFinalizer(vm.metadata, POOL_FINALIZER)
        ? [
            removeVMFinalizerAction(
              ctx,
              vm,
              "recreated VM: drop the pool finalizer so it can go",
              PoolSync.vmiUpdate,
              Stage.Finalize,
            ),
          ]
        : [];
      return [recreateVMAction(ctx, vm, reason), ...release];
    }
  }
}

function planVMUpdates(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  outdated: readonly (readonly [VirtualMachine, string])[],
): void {
  if (outdated.length === 0) return;
  if (!ctx.revisions.has(ctx.revision)) {
    if (!ledger.fits(2)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: VM updates wait for the next pass`);
      ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
      return;
    }
    ledger.add(createRevisionAction(ctx, buildRevision(ctx.pool, ctx.revision), PoolSync.vmUpdate));
  }
  for (const [vm, why] of outdated) {
    const ordinal = ordinalOf(vm.metadata.name);
    if (ordinal === undefined) {
      ledger.note(
        "UnindexableVM",
        `${vm.metadata.name} has no ordinal suffix: its template cannot be updated`,
      );
      continue;
    }
    if (!ledger.fits(1)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more VM updates next pass`);
      ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
      return;
    }
    const body = buildUpdatedVM(ctx.pool, vm, ordinal, ctx.revision);
    ledger.add(updateVMSpecAction(ctx, vm, body, `template update to ${ctx.revision}: ${why}`));
  }
}

/** Acts on one VMI if the burst allows; false when the burst stopped it. */
function tryAct(ctx: PoolContext, ledger: Ledger<PoolAction>, actions: PoolAction[]): boolean {
  if (!ledger.fits(actions.length)) {
    ledger.noteBurst(`burst of ${ctx.burst} writes reached: more VMI updates next pass`);
    ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
    return false;
  }
  ledger.add(...actions);
  return true;
}

interface PendingVMIUpdate {
  readonly vmi: VirtualMachineInstance;
  readonly decision: VMIDecision;
}

/** One look at every up-to-date VM's VMI: what needs doing (the VMIs looked at are remembered). */
function scanVMIs(ctx: PoolContext, upToDate: readonly VirtualMachine[], revisions: RevisionReader) {
  const pending = new Map<VirtualMachine, PendingVMIUpdate>();
  for (const vm of upToDate) {
    const vmi = vmiOf(ctx, vm);
    if (!vmi || isDeleting(vmi.metadata)) continue;
    const decision = classifyVMI(vm, vmi, revisions);
    if (decision.update !== "none") pending.set(vm, { vmi, decision });
  }
  return pending;
}

/** VMIs of `vms` that are missing, deleting, not Running or not Ready (`getUnavailableVMICount`). */
function countUnavailable(ctx: PoolContext, vms: readonly VirtualMachine[]): number {
  let unavailable = 0;
  for (const vm of vms) if (!isVMIAvailable(vmiOf(ctx, vm))) unavailable++;
  return unavailable;
}

/**
 * `proactiveUpdate`: first the VMIs of not-ready VMs (no availability to lose, so no `maxUnavailable` check),
 * then the rest in sort-policy order (listing order unless `updateStrategy.proactive` is set) while fewer than
 * `maxUnavailable` VMIs are unavailable. A label-only patch also uses up availability budget, as upstream.
 */
function planVMIUpdates(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  upToDate: readonly VirtualMachine[],
  revisions: RevisionReader,
): StepResult {
  const pending = scanVMIs(ctx, upToDate, revisions);
  for (const [vm, { vmi, decision }] of pending) {
    if (isVMReady(vm)) continue;
    if (!tryAct(ctx, ledger, actionsFor(ctx, vm, vmi, decision))) return { stable: true };
    pending.delete(vm);
  }
  const limit = maxUnavailable(ctx.pool);
  if (!limit.ok) {
    return {
      stable: false,
      error: {
        reason: PoolSync.vmiUpdate.reason,
        message: `${PoolSync.vmiUpdate.messagePrefix}: ${limit.error}`,
      },
    };
  }
  if (pending.size === 0) return { stable: true };
  // Counted before this pass's unhealthy-first actions, like upstream (their VMIs were unavailable already).
  const unavailable = countUnavailable(ctx, upToDate);
  const proactive = ctx.pool.spec.updateStrategy?.proactive;
  const candidates = [...pending.keys()];
  // Sorting only the VMs with work keeps their relative order (and a shuffle stays uniform).
  const ordered = proactive
    ? sortVMs(candidates, resolveSortPolicy(proactive.selectionPolicy).policy, ctx.random)
    : candidates;
  let room = limit.value - unavailable;
  for (const vm of ordered) {
    const work = pending.get(vm);
    if (!work) continue;
    if (room <= 0) {
      ledger.note(
        "MaxUnavailableReached",
        `${unavailable} VMI(s) unavailable, maxUnavailable ${limit.value}: delaying proactive updates`,
      );
      ledger.requeue(REQUEUE_AFTER_MAX_UNAVAILABLE_SECONDS);
      break;
    }
    if (!tryAct(ctx, ledger, actionsFor(ctx, vm, work.vmi, work.decision))) break;
    room--;
  }
  return { stable: true };
}

/**
 * `update`: PUTs every outdated VM (creating the current revision first if needed), then, unless the strategy is
 * opportunistic, brings the VMIs of up-to-date VMs in line. Stable when no VM was outdated. Terminating VMs are
 * left alone.
 */
export function planUpdate(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
): StepResult {
  const strategy = ctx.pool.spec.updateStrategy;
  if (strategy?.unmanaged) return { stable: true };
  let candidates = members;
  const selectors = strategy?.proactive?.selectionPolicy?.selectors;
  if (selectors) {
    const filtered = filterBySelectors(members, selectors);
    if (!filtered.ok) {
      return {
        stable: false,
        error: {
          reason: PoolSync.vmUpdate.reason,
          message: `failed to filter VMs based on ordered policies: ${filtered.error}`,
        },
      };
    }
    candidates = filtered.vms;
  }
  const revisions = revisionReader(ctx);
  const outdated: (readonly [VirtualMachine, string])[] = [];
  const upToDate: VirtualMachine[] = [];
  for (const vm of candidates) {
    if (isDeleting(vm.metadata)) continue;
    const why = outdatedReason(vm, revisions);
    if (why === undefined) upToDate.push(vm);
    else outdated.push([vm, why]);
  }
  planVMUpdates(ctx, ledger, outdated);
  const vmis = strategy?.opportunistic ? { stable: true } : planVMIUpdates(ctx, ledger, upToDate, revisions);
  return { stable: outdated.length === 0, ...(vmis.error ? { error: vmis.error } : {}) };
}

function isPoolRevision(ctx: PoolContext, revision: ControllerRevision): boolean {
  return (revision.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === POOL_KIND && ref.uid === ctx.uid,
  );
}

/** The pool's revisions no member VM names; only these need a look at the VMIs. */
function pruneCandidates(ctx: PoolContext, members: readonly VirtualMachine[]): ControllerRevision[] {
  const owned = [...ctx.revisions.values()].filter((revision) => isPoolRevision(ctx, revision));
  if (owned.length === 0) return [];
  const used = new Set<string>();
  let last: string | undefined;
  for (const vm of members) {
    const vmRev = vm.metadata.labels?.[POOL_REVISION_LABEL];
    // Nearly all VMs share one revision: skip re-hashing the same name.
    if (vmRev !== undefined && vmRev !== last) used.add(vmRev);
    last = vmRev;
  }
  return owned.filter((revision) => !used.has(revision.metadata.name));
}

/** `pruneUnusedRevisions`: deletes the pool's revisions that no member VM or its VMI names. */
export function planPrune(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
): void {
  const candidates = pruneCandidates(ctx, members);
  if (candidates.length === 0) return;
  const usedByVMIs = new Set<string>();
  for (const vm of members) {
    const vmiRev = ctx.namedVMI(vm)?.metadata.labels?.[POOL_REVISION_LABEL];
    if (vmiRev !== undefined) usedByVMIs.add(vmiRev);
  }
  for (const revision of candidates) {
    if (usedByVMIs.has(revision.metadata.name)) continue;
    if (!ledger.fits(1)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more revisions to prune next pass`);
      ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
      return;
    }
    ledger.add(deleteRevisionAction(ctx, revision));
  }
}
