/**
 * How a pool reaches its replica count: scale-out with gap-filled names, proactive scale-in by sort policy and
 * selectors, autohealing of owned VMs that fail to start, and the clean-up that lets terminating VMs go (pool
 * finalizer removal, with state preservation handing their volumes over first). Mirrors KubeVirt `pool.go`
 * `scale`, `scaleOut`, `proactiveScaleIn`, `scaleIn`, `opportunisticScaleIn`, `autoHealFailingVMs`
 * (kubevirt-semantics §1.6, §1.7, §1.10). Counting includes terminating VMs, so a plan never creates a VM while
 * the pool's VMs, existing or being created, would exceed the desired count.
 */
import type { Autohealing, VirtualMachine } from "../schemas/kubevirt";
import {
  DEFAULT_MIN_FAILING_TO_START_MS,
  DEFAULT_STARTUP_FAILURE_THRESHOLD,
  POOL_FINALIZER,
  REQUEUE_AFTER_BURST_SECONDS,
} from "./constants";
import { parseGoDuration } from "./duration";
import type { Ledger } from "./ledger";
import { findCondition, formatTime, hasFinalizer, isControlledBy, isDeleting, parseTime } from "./objects";
import {
  createRevisionAction,
  createVMAction,
  deleteVMAction,
  PoolSync,
  type PoolSyncSpec,
  releaseVolumeAction,
  removeVMFinalizerAction,
} from "./pool-actions";
import type { PoolContext } from "./pool-context";
import { buildPoolVM, buildRevision, freeOrdinals } from "./pool-naming";
import { filterBySelectors, resolveSortPolicy, sortVMs } from "./selection";
import { type PoolAction, Stage, type SyncError } from "./types";

export interface StepResult {
  /** True when this step found nothing to change (update and prune run only after a stable scale). */
  readonly stable: boolean;
  readonly error?: SyncError;
}

/** Printable statuses that mean "failing to start" for autohealing (`shouldAutohealBasedOnStatus`). */
export const AUTOHEAL_STATUSES: ReadonlySet<string> = new Set([
  "CrashLoopBackOff",
  "ErrorUnschedulable",
  "DataVolumeError",
  "ErrorPvcNotFound",
  "ErrImagePull",
  "ImagePullBackOff",
]);

const isPreserving = (statePreservation: string | undefined): boolean =>
  statePreservation !== undefined && statePreservation !== "Disabled";

/** `proactive.statePreservation`, used for proactive scale-in and autohealing. */
function proactivePreservation(ctx: PoolContext): boolean {
  return isPreserving(ctx.pool.spec.scaleInStrategy?.proactive?.statePreservation);
}

/** The configured strategy's statePreservation, used when letting already-terminating VMs go. */
function cleanupPreservation(ctx: PoolContext): boolean {
  const strategy = ctx.pool.spec.scaleInStrategy;
  return isPreserving(strategy?.opportunistic?.statePreservation ?? strategy?.proactive?.statePreservation);
}

function unique(names: readonly (string | undefined)[]): string[] {
  return [...new Set(names.filter((name): name is string => name !== undefined && name !== ""))];
}

/**
 * Volume hand-off for state preservation (`removePVCOwnerReferences`, `removeDataVolumeOwnerReferences`): the
 * DataVolumes and PVCs named by the VM that it controls. Undefined when the caller did not observe volumes.
 */
function volumeReleases(
  ctx: PoolContext,
  vm: VirtualMachine,
  sync: PoolSyncSpec | undefined,
): PoolAction[] | undefined {
  if (ctx.dataVolumes === undefined || ctx.pvcs === undefined) return undefined;
  const templates = (vm.spec.dataVolumeTemplates ?? []).map((template) => template.metadata?.name);
  const volumes = vm.spec.template.spec?.volumes ?? [];
  const pvcNames = unique([
    ...templates,
    ...volumes.map((volume) => volume.persistentVolumeClaim?.claimName),
  ]);
  const dvNames = unique([...templates, ...volumes.map((volume) => volume.dataVolume?.name)]);
  const actions: PoolAction[] = [];
  for (const name of pvcNames) {
    const pvc = ctx.pvcs.get(name);
    if (pvc && isControlledBy(pvc.metadata, vm.metadata.uid)) {
      actions.push(releaseVolumeAction(ctx, vm, pvc, "PersistentVolumeClaim", sync));
    }
  }
  for (const name of dvNames) {
    const dv = ctx.dataVolumes.get(name);
    if (dv && isControlledBy(dv.metadata, vm.metadata.uid)) {
      actions.push(releaseVolumeAction(ctx, vm, dv, "DataVolume", sync));
    }
  }
  return actions;
}

/**
 * What lets a terminating VM go (`statePreservationCleanupforVM`): volume hand-off when preserving state, then
 * removal of the pool finalizer. When state must be preserved but volumes were not observed, the finalizer stays
 * (the VM waits in Terminating rather than losing its disks) and a note says why.
 */
function letGo(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  vm: VirtualMachine,
  preserve: boolean,
  sync: PoolSyncSpec | undefined,
): PoolAction[] {
  const volumes = preserve ? volumeReleases(ctx, vm, sync) : [];
  if (volumes === undefined) {
    ledger.note(
      "VolumesNotObserved",
      `state preservation is on but DataVolumes/PVCs were not observed: ${vm.metadata.name} keeps the pool finalizer`,
    );
    return [];
  }
  if (!hasFinalizer(vm.metadata, POOL_FINALIZER)) return volumes;
  const reason = "the VM is terminating: drop the pool finalizer so it can go";
  return [...volumes, removeVMFinalizerAction(ctx, vm, reason, sync, Stage.Finalize)];
}

/** Deletes `vms` in order, each with its follow-ups, as far as the burst allows. */
function retire(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  vms: readonly VirtualMachine[],
  cause: "scaleIn" | "autoheal",
  reasonOf: (vm: VirtualMachine) => string,
): string[] {
  const sync = cause === "scaleIn" ? PoolSync.scaleIn : undefined;
  const retired: string[] = [];
  for (const vm of vms) {
    const group = [
      deleteVMAction(ctx, vm, cause, reasonOf(vm)),
      ...letGo(ctx, ledger, vm, proactivePreservation(ctx), sync),
    ];
    if (!ledger.fits(group.length)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more VMs to delete next pass`);
      ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
      break;
    }
    ledger.add(...group);
    retired.push(vm.metadata.name);
  }
  return retired;
}

/** Orders and filters candidates like upstream `scaleIn`: sort policy first, then the policy's selectors. */
function pickForScaleIn(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  candidates: readonly VirtualMachine[],
):
  | { readonly ok: true; readonly vms: readonly VirtualMachine[] }
  | { readonly ok: false; readonly error: string } {
  const selection = ctx.pool.spec.scaleInStrategy?.proactive?.selectionPolicy;
  const sort = resolveSortPolicy(selection);
  if (sort.unknown !== undefined) {
    ledger.note("UnknownSortPolicy", `sortPolicy ${sort.unknown} is not known: using Random`);
  }
  const ordered = sortVMs(candidates, sort.policy, ctx.random);
  return selection?.selectors ? filterBySelectors(ordered, selection.selectors) : { ok: true, vms: ordered };
}

/** Why an owned VM counts as failing to start, or undefined (`filterFailingVMsToStart`). */
export function failingToStart(vm: VirtualMachine, autohealing: Autohealing, now: Date): string | undefined {
  const threshold = autohealing.startUpFailureThreshold ?? DEFAULT_STARTUP_FAILURE_THRESHOLD;
  const failures = vm.status?.startFailure?.consecutiveFailCount;
  if (failures !== undefined && failures >= threshold) {
    return `${failures} consecutive start failures (threshold ${threshold})`;
  }
  const printable = vm.status?.printableStatus;
  if (printable === undefined || !AUTOHEAL_STATUSES.has(printable)) return undefined;
  const ready = findCondition(vm.status?.conditions, "Ready");
  if (ready?.status !== "False") return undefined;
  const minimum =
    parseGoDuration(autohealing.minFailingToStartDuration ?? "") ?? DEFAULT_MIN_FAILING_TO_START_MS;
  // Upstream reads lastProbeTime; a null probe time falls back to the transition time, and neither means "long ago".
  const since = parseTime(ready.lastProbeTime) ?? parseTime(ready.lastTransitionTime) ?? 0;
  if (now.getTime() - since < minimum) return undefined;
  return `${printable} and not ready since ${since === 0 ? "an unknown time" : formatTime(new Date(since))}`;
}

/**
 * Autohealing: deletes owned VMs that keep failing to start, through the scale-in path (sort policy, selectors,
 * statePreservation, events); the next passes recreate them under the same names. Returns the names deleted.
 */
export function planAutohealing(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
): ReadonlySet<string> {
  const autohealing = ctx.pool.spec.autohealing;
  if (!autohealing) return new Set();
  const why = new Map<string, string>();
  for (const vm of members) {
    if (isDeleting(vm.metadata)) continue;
    const reason = failingToStart(vm, autohealing, ctx.now);
    if (reason !== undefined) why.set(vm.metadata.name, reason);
  }
  if (why.size === 0) return new Set();
  const picked = pickForScaleIn(
    ctx,
    ledger,
    members.filter((vm) => why.has(vm.metadata.name)),
  );
  if (!picked.ok) {
    ledger.note("AutohealingSkipped", picked.error);
    return new Set();
  }
  return new Set(
    retire(ctx, ledger, picked.vms, "autoheal", (vm) => `autohealing: ${why.get(vm.metadata.name)}`),
  );
}

/**
 * Lets terminating members go by removing the pool finalizer (after handing volumes over when preserving state),
 * on every pass unless `scaleInStrategy.unmanaged` is set, where they wait for the user or the pool's deletion.
 */
export function planTerminatingCleanup(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
): void {
  const waiting = members.filter(
    (vm) => isDeleting(vm.metadata) && hasFinalizer(vm.metadata, POOL_FINALIZER),
  );
  if (waiting.length === 0) return;
  if (ctx.pool.spec.scaleInStrategy?.unmanaged) {
    ledger.note(
      "ScaleInUnmanaged",
      `${waiting.length} terminating VM(s) keep the pool finalizer: scaleInStrategy is unmanaged`,
    );
    return;
  }
  for (const vm of waiting) {
    const group = letGo(ctx, ledger, vm, cleanupPreservation(ctx), PoolSync.opportunisticScaleIn);
    if (!ledger.fits(group.length)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more terminating VMs to release next pass`);
      ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
      return;
    }
    ledger.add(...group);
  }
}

function planScaleOut(ctx: PoolContext, ledger: Ledger<PoolAction>, existing: number): void {
  const missing = ctx.desired - existing;
  const needsRevision = !ctx.revisions.has(ctx.revision);
  const count = Math.min(missing, ledger.remaining() - (needsRevision ? 1 : 0));
  if (count < missing) {
    ledger.noteBurst(
      `burst of ${ctx.burst} writes reached: ${missing - Math.max(0, count)} more VMs next pass`,
    );
    ledger.requeue(REQUEUE_AFTER_BURST_SECONDS);
  }
  if (count <= 0) return;
  if (needsRevision)
    ledger.add(createRevisionAction(ctx, buildRevision(ctx.pool, ctx.revision), PoolSync.scaleOut));
  const reason = `scale out: ${existing} of ${ctx.desired} desired VMs exist`;
  for (const ordinal of freeOrdinals(ctx.name, count, ctx.takenNames())) {
    ledger.add(createVMAction(ctx, buildPoolVM(ctx.pool, ordinal, ctx.revision), ordinal, reason));
  }
}

function planScaleIn(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
  healed: ReadonlySet<string>,
): StepResult {
  const excess = members.length - ctx.desired;
  const strategy = ctx.pool.spec.scaleInStrategy;
  if (strategy?.unmanaged) {
    ledger.note(
      "ScaleInUnmanaged",
      `${excess} VM(s) above desired: scaleInStrategy unmanaged leaves them to the user`,
    );
    return { stable: false };
  }
  if (strategy?.opportunistic) {
    ledger.note(
      "ScaleInOpportunistic",
      `${excess} VM(s) above desired: waiting for them to be deleted by other means`,
    );
    return { stable: false };
  }
  const going = members.filter((vm) => isDeleting(vm.metadata) || healed.has(vm.metadata.name));
  const eligible = members.filter((vm) => !isDeleting(vm.metadata) && !healed.has(vm.metadata.name));
  const count = Math.min(Math.min(excess, ctx.burst) - going.length, eligible.length);
  if (count <= 0) {
    ledger.note(
      "ScaleInInProgress",
      `${going.length} terminating VM(s) already cover the excess of ${excess}`,
    );
    return { stable: false };
  }
  const picked = pickForScaleIn(ctx, ledger, eligible);
  if (!picked.ok) {
    return {
      stable: false,
      error: {
        reason: PoolSync.scaleIn.reason,
        message: `${PoolSync.scaleIn.messagePrefix}: ${picked.error}`,
      },
    };
  }
  if (picked.vms.length < count) {
    ledger.note("ScaleInSelectorsLimit", `only ${picked.vms.length} VM(s) match the scale-in selectors`);
  }
  const reason = `scale in: ${members.length} VMs for ${ctx.desired} desired`;
  retire(ctx, ledger, picked.vms.slice(0, count), "scaleIn", () => reason);
  return { stable: false };
}

/**
 * `scale`: compares owned VMs (terminating included) with the desired count. Equal is stable; fewer creates the
 * lowest free ordinals; more deletes by the scale-in strategy. VMs deleted by autohealing in this pass count as
 * terminating.
 */
export function planScale(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
  healed: ReadonlySet<string>,
): StepResult {
  const diff = members.length - ctx.desired;
  if (diff === 0) return { stable: true };
  if (diff < 0) {
    planScaleOut(ctx, ledger, members.length);
    return { stable: false };
  }
  return planScaleIn(ctx, ledger, members, healed);
}
