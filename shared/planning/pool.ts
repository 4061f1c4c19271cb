/**
 * `planPool`: one reconcile pass of a VirtualMachinePool as a pure function, in upstream order (KubeVirt
 * `pool.go` `execute`, kubevirt-semantics §1.4): validate the selector, autoheal, release detached VMs, ensure the
 * pool finalizer; then, unless paused or deleting, scale, update and prune; when deleting, release the finalizers
 * and prune; finally the status. The plan is bounded by the burst and never grows the pool past its desired count.
 */
import { matches } from "../labels";
import type { VirtualMachine } from "../schemas/kubevirt";
import { assemblePlan, countActions, skippedPlan } from "./assemble";
import { POOL_API_VERSION, POOL_COMPONENT, POOL_FINALIZER, POOL_KIND } from "./constants";
import { specDepthProblem } from "./depth";
import { createLedger, type Ledger } from "./ledger";
import { controllerOf, hasFinalizer, isControlledBy, isDeleting, labelsOf } from "./objects";
import {
  addPoolFinalizerAction,
  releaseVMAction,
  removePoolFinalizerAction,
  removeVMFinalizerAction,
} from "./pool-actions";
import {
  buildPoolContext,
  classifyVMs,
  type PoolContext,
  type PoolMembership,
  type PoolPlanInput,
} from "./pool-context";
import { planAutohealing, planScale, planTerminatingCleanup } from "./pool-scale";
import { isVMReady, planPrune, planUpdate } from "./pool-update";
import { desiredReplicas, validateSelector } from "./spec";
import { derivePoolStatus } from "./status";
import { type ObjectRef, type PoolAction, type PoolPlan, Stage, type SyncError } from "./types";

function ownerRef(input: PoolPlanInput): ObjectRef {
  const { metadata } = input.pool;
  return {
    apiVersion: input.pool.apiVersion ?? POOL_API_VERSION,
    kind: POOL_KIND,
    namespace: metadata.namespace ?? "",
    name: metadata.name,
    ...(metadata.uid ? { uid: metadata.uid } : {}),
  };
}

/** Releases owned VMs whose labels stopped matching, unless the pool is being deleted. */
function planReleases(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  detached: readonly VirtualMachine[],
): void {
  if (ctx.deleting) return;
  for (const vm of detached) {
    if (!ledger.fits(1)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more VMs to release next pass`);
      return;
    }
    ledger.add(releaseVMAction(ctx, vm));
  }
}

/**
 * Lets go of VMs a user released by removing the pool's owner reference (the user guide's `kubectl patch …
 * ownerReferences: null`): a VM that matches the selector, has no controller and still carries the pool finalizer
 * gets the finalizer removed, so `kubectl delete vm` of it completes. Upstream leaves it stuck in Terminating (see
 * DEVIATIONS.md). The finalizer only ever guarded the pool's own cleanup, and the pool no longer owns the VM.
 */
function planReleasedFinalizers(ctx: PoolContext, ledger: Ledger<PoolAction>): void {
  if (ctx.deleting) return; // planPoolDeletion releases orphans too, then the pool
  for (const vm of ctx.vms) {
    if (
      !hasFinalizer(vm.metadata, POOL_FINALIZER) ||
      controllerOf(vm.metadata) !== undefined ||
      !matches(ctx.selector, labelsOf(vm.metadata))
    ) {
      continue;
    }
    if (!ledger.fits(1)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more released VMs next pass`);
      return;
    }
    ledger.add(
      removeVMFinalizerAction(
        ctx,
        vm,
        "released from the pool (no owner reference): the pool no longer holds the VM",
        undefined,
        Stage.Apply,
      ),
    );
  }
}

function planPoolFinalizer(ctx: PoolContext, ledger: Ledger<PoolAction>): void {
  if (ctx.deleting || hasFinalizer(ctx.pool.metadata, POOL_FINALIZER) || !ledger.fits(1)) return;
  ledger.add(addPoolFinalizerAction(ctx.pool));
}

/**
 * `handlePoolDeletion`: drops the pool finalizer from the selector-matching VMs that are ours or orphaned (an
 * orphan-propagation delete has already stripped their owner references), then from the pool itself; deleting the
 * VMs is left to the garbage collector.
 */
function planPoolDeletion(ctx: PoolContext, ledger: Ledger<PoolAction>): void {
  const held = ctx.vms.filter(
    (vm) =>
      hasFinalizer(vm.metadata, POOL_FINALIZER) &&
      matches(ctx.selector, labelsOf(vm.metadata)) &&
      (isControlledBy(vm.metadata, ctx.uid) || controllerOf(vm.metadata) === undefined),
  );
  for (const vm of held) {
    if (!ledger.fits(1)) {
      ledger.noteBurst(`burst of ${ctx.burst} writes reached: more VM finalizers next pass`);
      return;
    }
    ledger.add(
      removeVMFinalizerAction(
        ctx,
        vm,
        "the pool is being deleted: release its finalizer on the VM",
        undefined,
        Stage.Apply,
      ),
    );
  }
  if (hasFinalizer(ctx.pool.metadata, POOL_FINALIZER) && ledger.fits(1)) {
    ledger.add(removePoolFinalizerAction(ctx.pool));
  }
}

/** Scale, then update when the scale is stable, then prune when both are (upstream `execute`). */
function planConvergence(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  members: readonly VirtualMachine[],
  healed: ReadonlySet<string>,
): SyncError | undefined {
  planTerminatingCleanup(ctx, ledger, members);
  const scale = planScale(ctx, ledger, members, healed);
  if (scale.error || !scale.stable) return scale.error;
  // VMs autohealing just deleted are as good as terminating: never update them in the same pass.
  const update = planUpdate(
    ctx,
    ledger,
    healed.size === 0 ? members : members.filter((vm) => !healed.has(vm.metadata.name)),
  );
  if (update.error) return update.error;
  if (update.stable) planPrune(ctx, ledger, members);
  return undefined;
}

/** Autohealing, release and the pool finalizer always; then deletion, a pause, or convergence. */
function planPass(
  ctx: PoolContext,
  ledger: Ledger<PoolAction>,
  membership: PoolMembership,
): SyncError | undefined {
  const { members, detached } = membership;
  // A deleting pool's VMs all go with it: healing them would only race the garbage collector.
  const healed = ctx.deleting ? new Set<string>() : planAutohealing(ctx, ledger, members);
  planReleases(ctx, ledger, detached);
  planReleasedFinalizers(ctx, ledger);
  planPoolFinalizer(ctx, ledger);
  if (ctx.deleting) {
    planPoolDeletion(ctx, ledger);
    planPrune(ctx, ledger, members);
    return undefined;
  }
  if (ctx.paused) {
    ledger.note("Paused", "the pool is paused: no scale, update or prune");
    return undefined;
  }
  return planConvergence(ctx, ledger, members, healed);
}

/**
 * Plans one reconcile pass of a VirtualMachinePool. Pure: the same input (including the random source's
 * sequence) always yields the same plan. A converged pool yields no actions and an unchanged status.
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  const { pool } = input;
  const header = { kind: POOL_KIND, component: POOL_COMPONENT, owner: ownerRef(input) } as const;
  // Before anything copies the template (VMs, the revision): a spec too deep to copy skips the pass.
  const tooDeep = specDepthProblem(pool.spec);
  if (tooDeep) return skippedPlan(header, tooDeep, desiredReplicas(pool.spec.replicas));
  const validation = validateSelector(pool.spec.selector, pool.spec.virtualMachineTemplate?.metadata?.labels);
  if (!validation.ok) return skippedPlan(header, validation.skip, desiredReplicas(pool.spec.replicas));
  const ctx = buildPoolContext(input, validation.selector, validation.labelSelector);
  const ledger = createLedger<PoolAction>(ctx.burst);
  const membership = classifyVMs(ctx);
  const syncError = planPass(ctx, ledger, membership);

  const { members } = membership;
  const ready = members.filter(isVMReady).length;
  const facts = {
    replicas: members.length,
    readyReplicas: ready,
    labelSelector: ctx.labelSelector,
    paused: ctx.paused,
  };
  const planned = ledger.actions();
  const creating = countActions(planned, "createVM");
  return assemblePlan(header, {
    ledger,
    status: derivePoolStatus(pool.status, facts, syncError, input.now),
    syncError,
    // Scale-out counts every owned VM, terminating ones included (planScale).
    scaleOut: creating > 0 ? { counted: members.length } : undefined,
    converged: `${members.length} of ${ctx.desired} VMs, ${ready} ready: nothing to do`,
    summary: {
      desired: ctx.desired,
      current: members.length,
      ready,
      creating,
      deleting: members.filter((vm) => isDeleting(vm.metadata)).length + countActions(planned, "deleteVM"),
    },
  });
}
