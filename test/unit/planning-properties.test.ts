import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type PoolAction,
  type PoolPlan,
  planPool,
  planReplicaSet,
  type ReplicaSetAction,
  type ReplicaSetPlan,
  seededRandom,
} from "../../shared/planning";
import type {
  ControllerRevision,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachineInstanceReplicaSet,
  VirtualMachinePool,
  VirtualMachinePoolSpec,
} from "../../shared/schemas";
import {
  NOW,
  POOL_FINALIZER,
  POOL_LABEL,
  POOL_NAME,
  POOL_UID,
  pool,
  poolVM,
  REVISION_LABEL,
  RS_UID,
  readyCondition,
  replicaSet,
  revisionFor,
  rsVMI,
  VM_FINALIZER,
  vmiFor,
} from "../support/kubevirt-fixtures";

// ---------------------------------------------------------------------------------------------------------------
// Pools: arbitrary observations
// ---------------------------------------------------------------------------------------------------------------

const vmShape = fc.record({
  ordinal: fc.integer({ min: 0, max: 24 }),
  owner: fc.constantFrom("pool", "pool", "pool", "none", "other"),
  matching: fc.constantFrom(true, true, true, false),
  deleting: fc.constantFrom(false, false, true),
  ready: fc.boolean(),
  revision: fc.constantFrom("current", "old", "none"),
  vmi: fc.constantFrom("none", "current", "old", "unlabelled"),
  vmiReady: fc.boolean(),
  failing: fc.constantFrom("no", "no", "startFailure", "crashLoop"),
  poolFinalizer: fc.constantFrom(true, true, false),
});

const poolShape = fc.record({
  replicas: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  scaleIn: fc.constantFrom<VirtualMachinePoolSpec["scaleInStrategy"]>(
    undefined,
    { unmanaged: {} },
    { opportunistic: {} },
    { proactive: { selectionPolicy: { sortPolicy: "DescendingOrder" } } },
    { proactive: { selectionPolicy: { sortPolicy: "Newest" } } },
  ),
  update: fc.constantFrom<VirtualMachinePoolSpec["updateStrategy"]>(
    undefined,
    { opportunistic: {} },
    { unmanaged: {} },
    { proactive: { selectionPolicy: { sortPolicy: "AscendingOrder" } } },
  ),
  maxUnavailable: fc.constantFrom<VirtualMachinePoolSpec["maxUnavailable"]>(undefined, 1, "50%"),
  autohealing: fc.boolean(),
  paused: fc.constantFrom(false, false, true),
  deleting: fc.constantFrom(false, false, false, true),
  templateChanged: fc.boolean(),
  currentRevisionExists: fc.boolean(),
  poolFinalizer: fc.constantFrom(true, true, false),
  burst: fc.constantFrom(250, 250, 7, 3),
  vms: fc.uniqueArray(vmShape, { selector: (vm) => vm.ordinal, maxLength: 25 }),
  seed: fc.integer(),
});

type PoolShape = typeof poolShape extends fc.Arbitrary<infer T> ? T : never;

interface PoolObservation {
  pool: VirtualMachinePool;
  vms: VirtualMachine[];
  vmis: VirtualMachineInstance[];
  revisions: ControllerRevision[];
  burst: number;
  seed: number;
}

function buildPoolObservation(shape: PoolShape): PoolObservation {
  const old = pool({ generation: 1 });
  const spec: VirtualMachinePoolSpec = {
    ...structuredClone(old.spec),
    ...(shape.replicas === undefined ? {} : { replicas: shape.replicas }),
    ...(shape.scaleIn ? { scaleInStrategy: shape.scaleIn } : {}),
    ...(shape.update ? { updateStrategy: shape.update } : {}),
    ...(shape.maxUnavailable === undefined ? {} : { maxUnavailable: shape.maxUnavailable }),
    ...(shape.autohealing ? { autohealing: {} } : {}),
    ...(shape.paused ? { paused: true } : {}),
  };
  if (shape.replicas === undefined) delete spec.replicas;
  if (shape.templateChanged) {
    spec.virtualMachineTemplate.spec.runStrategy = "Manual";
  }
  const current = pool({
    generation: 2,
    spec,
    deleting: shape.deleting,
    finalizers: shape.poolFinalizer ? [POOL_FINALIZER] : null,
  });
  if (shape.replicas === undefined) delete current.spec.replicas;
  const revisions = [revisionFor(old, 1, old.spec)];
  if (shape.currentRevisionExists) revisions.push(revisionFor(current));
  const vms: VirtualMachine[] = [];
  const vmis: VirtualMachineInstance[] = [];
  for (const s of shape.vms) {
    const revision =
      s.revision === "none" ? null : s.revision === "old" ? `${POOL_NAME}-1` : `${POOL_NAME}-2`;
    const labels: Record<string, string> = s.matching ? { [POOL_LABEL]: POOL_NAME } : { unrelated: "x" };
    if (revision) labels[REVISION_LABEL] = revision;
    const failingStatus =
      s.failing === "startFailure"
        ? { startFailure: { consecutiveFailCount: 5 }, conditions: [readyCondition("False")] }
        : s.failing === "crashLoop"
          ? { printableStatus: "CrashLoopBackOff", conditions: [readyCondition("False")] }
          : undefined;
    const vm = poolVM(current, s.ordinal, {
      revision,
      labels,
      owner: s.owner as "pool" | "none" | "other",
      deleting: s.deleting,
      ready: s.ready,
      finalizers: s.poolFinalizer ? [POOL_FINALIZER, VM_FINALIZER] : [VM_FINALIZER],
      ...(failingStatus ? { status: failingStatus } : {}),
    });
    vms.push(vm);
    if (s.vmi !== "none") {
      const vmiRevision =
        s.vmi === "unlabelled" ? null : s.vmi === "old" ? `${POOL_NAME}-1` : (revision ?? null);
      vmis.push(vmiFor(vm, { revision: vmiRevision, ready: s.vmiReady }));
    }
  }
  return { pool: current, vms, vmis, revisions, burst: shape.burst, seed: shape.seed };
}

function runPool(o: PoolObservation): PoolPlan {
  return planPool({
    pool: o.pool,
    vms: o.vms,
    vmis: o.vmis,
    revisions: o.revisions,
    now: NOW,
    random: seededRandom(o.seed),
    options: { burst: o.burst },
  });
}

const ownedByPool = (vm: VirtualMachine): boolean =>
  vm.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === POOL_UID) ?? false;
const matchesPool = (vm: VirtualMachine): boolean => vm.metadata.labels?.[POOL_LABEL] === POOL_NAME;
const isDeleting = (meta: { deletionTimestamp?: string | null | undefined }): boolean =>
  meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
const desiredOf = (p: VirtualMachinePool): number => Math.max(0, p.spec.replicas ?? 1);

/** Whether the plan may touch the object an action targets. */
function poolActionAllowed(o: PoolObservation, action: PoolAction): boolean {
  const vm = o.vms.find((v) => v.metadata.name === action.target.name);
  switch (action.kind) {
    case "createVM":
      return vm === undefined;
    case "createRevision":
      return !o.revisions.some((r) => r.metadata.name === action.target.name);
    case "deleteVM":
    case "releaseVM":
      return vm !== undefined && ownedByPool(vm);
    case "updateVM":
      if (vm === undefined) return false;
      if (ownedByPool(vm)) return true;
      // The documented exception: the pool lets go of its finalizer on orphaned (released) matching VMs.
      return (
        action.change === "removeFinalizer" &&
        matchesPool(vm) &&
        !vm.metadata.ownerReferences?.some((r) => r.controller === true)
      );
    case "restartVM":
    case "patchVMILabels": {
      const vmi = o.vmis.find((v) => v.metadata.name === action.target.name);
      const owner = o.vms.find((v) => v.metadata.uid === vmi?.metadata.ownerReferences?.[0]?.uid);
      return vmi !== undefined && owner !== undefined && ownedByPool(owner);
    }
    case "deleteRevision": {
      const revision = o.revisions.find((r) => r.metadata.name === action.target.name);
      return revision?.metadata.ownerReferences?.some((r) => r.uid === POOL_UID) ?? false;
    }
    case "addPoolFinalizer":
    case "removePoolFinalizer":
      return action.target.uid === POOL_UID;
    case "releaseVolume":
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pools: a minimal world that applies plans (the API server, the VM controller and the garbage collector)
// ---------------------------------------------------------------------------------------------------------------

function freshVMI(vm: VirtualMachine): VirtualMachineInstance {
  return vmiFor(vm, { revision: vm.spec.template.metadata?.labels?.[REVISION_LABEL] ?? null });
}

function applyPoolPlan(o: PoolObservation, p: PoolPlan): PoolObservation {
  let vms = o.vms.map((vm) => structuredClone(vm));
  let vmis = o.vmis.map((vmi) => structuredClone(vmi));
  let revisions = [...o.revisions];
  const poolObj = structuredClone(o.pool);
  const byName = (name?: string) => vms.find((v) => v.metadata.name === name);
  for (const action of p.actions) {
    const vm = byName(action.target.name);
    switch (action.kind) {
      case "createVM": {
        const body = structuredClone((action.write as { body: VirtualMachine }).body);
        body.metadata.uid = `uid-${body.metadata.name}-${p.actions.length}-${vms.length}`;
        body.status = { printableStatus: "Running", conditions: [readyCondition("True")] };
        vms.push(body);
        vmis.push(freshVMI(body));
        break;
      }
      case "deleteVM":
        if (vm) vm.metadata.deletionTimestamp = "2025-06-01T12:00:00Z";
        break;
      case "updateVM":
        if (vm && action.change === "removeFinalizer") {
          vm.metadata.finalizers = (vm.metadata.finalizers ?? []).filter((f) => f !== POOL_FINALIZER);
        } else if (vm) {
          const body = structuredClone((action.write as { body: VirtualMachine }).body);
          vms = vms.map((v) => (v === vm ? { ...body, status: vm.status } : v));
        }
        break;
      case "releaseVM":
        if (vm) {
          vm.metadata.ownerReferences = [];
          vm.metadata.finalizers = (vm.metadata.finalizers ?? []).filter((f) => f !== POOL_FINALIZER);
        }
        break;
      case "restartVM":
        vmis = vmis.map((vmi) => (vmi.metadata.name === action.target.name && vm ? freshVMI(vm) : vmi));
        break;
      case "patchVMILabels":
        vmis = vmis.map((vmi) =>
          vmi.metadata.name === action.target.name
            ? {
                ...vmi,
                metadata: {
                  ...vmi.metadata,
                  labels: {
                    ...vmi.metadata.labels,
                    [REVISION_LABEL]: vm?.metadata.labels?.[REVISION_LABEL] ?? "",
                  },
                },
              }
            : vmi,
        );
        break;
      case "createRevision":
        revisions.push((action.write as { body: ControllerRevision }).body);
        break;
      case "deleteRevision":
        revisions = revisions.filter((r) => r.metadata.name !== action.target.name);
        break;
      case "addPoolFinalizer":
        poolObj.metadata.finalizers = [...(poolObj.metadata.finalizers ?? []), POOL_FINALIZER];
        break;
      case "removePoolFinalizer":
        poolObj.metadata.finalizers = (poolObj.metadata.finalizers ?? []).filter((f) => f !== POOL_FINALIZER);
        break;
      case "releaseVolume":
        break;
    }
  }
  if (p.status?.changed) poolObj.status = p.status.desired;
  // The VM controller finishes deletions of VMs no longer held by the pool finalizer.
  const gone = new Set(
    vms
      .filter((v) => isDeleting(v.metadata) && !v.metadata.finalizers?.includes(POOL_FINALIZER))
      .map((v) => v.metadata.name),
  );
  vms = vms.filter((v) => !gone.has(v.metadata.name));
  vmis = vmis.filter((v) => !gone.has(v.metadata.name));
  return { ...o, pool: poolObj, vms, vmis, revisions, seed: o.seed + 1 };
}

describe("planPool properties", () => {
  it("never plans more writes than the burst", () => {
    fc.assert(
      fc.property(poolShape, (shape) => {
        const o = buildPoolObservation(shape);
        expect(runPool(o).actions.length).toBeLessThanOrEqual(o.burst);
      }),
    );
  });

  it("is deterministic and leaves its input untouched", () => {
    fc.assert(
      fc.property(poolShape, (shape) => {
        const o = buildPoolObservation(shape);
        const before = structuredClone(o);
        const first = runPool(o);
        expect(o).toEqual(before);
        expect(runPool(o)).toEqual(first);
      }),
    );
  });

  it("never grows the pool past its desired count", () => {
    fc.assert(
      fc.property(poolShape, (shape) => {
        const o = buildPoolObservation(shape);
        const p = runPool(o);
        const desired = desiredOf(o.pool);
        const members = o.vms.filter((vm) => ownedByPool(vm) && matchesPool(vm));
        const creates = p.actions.filter((a) => a.kind === "createVM").length;
        if (creates > 0) expect(members.length + creates).toBeLessThanOrEqual(desired);
        const deleted = new Set(p.actions.filter((a) => a.kind === "deleteVM").map((a) => a.target.name));
        const liveBefore = members.filter((vm) => !isDeleting(vm.metadata)).length;
        const liveAfter =
          members.filter((vm) => !isDeleting(vm.metadata) && !deleted.has(vm.metadata.name)).length + creates;
        expect(liveAfter).toBeLessThanOrEqual(Math.max(desired, liveBefore));
      }),
    );
  });

  it("only touches what it owns (plus the documented pool-deletion finalizer clean-up)", () => {
    fc.assert(
      fc.property(poolShape, (shape) => {
        const o = buildPoolObservation(shape);
        for (const action of runPool(o).actions) {
          expect(poolActionAllowed(o, action), `${action.kind} ${action.target.name}`).toBe(true);
        }
      }),
    );
  });

  it("never writes the same object twice in one pass, except a delete followed by its finalizer removal", () => {
    fc.assert(
      fc.property(poolShape, (shape) => {
        const seen = new Map<string, string[]>();
        for (const a of runPool(buildPoolObservation(shape)).actions) {
          const key = `${a.target.kind}/${a.target.name}`;
          seen.set(key, [...(seen.get(key) ?? []), a.kind]);
        }
        for (const kinds of seen.values()) {
          expect(
            kinds.length === 1 || (kinds.length === 2 && kinds[0] === "deleteVM" && kinds[1] === "updateVM"),
          ).toBe(true);
        }
      }),
    );
  });

  it("converges: repeated passes reach the desired count, then plan nothing and keep the status", () => {
    const converging = poolShape.filter(
      (s) =>
        !s.paused &&
        !s.deleting &&
        (s.scaleIn === undefined || s.scaleIn?.proactive !== undefined) &&
        s.burst >= 7,
    );
    fc.assert(
      fc.property(converging, (shape) => {
        let o = buildPoolObservation(shape);
        let last = runPool(o);
        for (let pass = 0; pass < 80 && (last.actions.length > 0 || last.status?.changed); pass++) {
          o = applyPoolPlan(o, last);
          last = runPool(o);
        }
        expect(last.actions).toEqual([]);
        expect(last.status?.changed).toBe(false);
        const live = o.vms.filter((vm) => ownedByPool(vm) && matchesPool(vm) && !isDeleting(vm.metadata));
        expect(live).toHaveLength(desiredOf(o.pool));
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Replica sets
// ---------------------------------------------------------------------------------------------------------------

const vmiShape = fc.record({
  owner: fc.constantFrom("rs", "rs", "rs", "none", "other"),
  matching: fc.constantFrom(true, true, true, false),
  phase: fc.constantFrom("Running", "Running", "Pending", "Succeeded", "Failed", "Unknown"),
  deleting: fc.constantFrom(false, false, true),
  podTerminating: fc.constantFrom(false, false, false, true),
  ready: fc.boolean(),
});

const rsShape = fc.record({
  replicas: fc.option(fc.integer({ min: -1, max: 15 }), { nil: undefined }),
  paused: fc.constantFrom(false, false, true),
  deleting: fc.constantFrom(false, false, false, true),
  annotated: fc.constantFrom(true, true, false),
  burst: fc.constantFrom(250, 250, 4),
  vmis: fc.array(vmiShape, { maxLength: 20 }),
});

type RsShape = typeof rsShape extends fc.Arbitrary<infer T> ? T : never;

interface RsObservation {
  rs: VirtualMachineInstanceReplicaSet;
  vmis: VirtualMachineInstance[];
  burst: number;
}

function buildRsObservation(shape: RsShape): RsObservation {
  const rs = replicaSet({
    replicas: shape.replicas ?? null,
    paused: shape.paused,
    deleting: shape.deleting,
    annotated: shape.annotated,
  });
  const vmis = shape.vmis.map((s, i) =>
    rsVMI(`-${i}`, {
      owner: s.owner as "rs" | "none" | "other",
      phase: s.phase,
      deleting: s.deleting,
      podTerminating: s.podTerminating,
      ready: s.ready,
      ...(s.matching ? {} : { labels: { other: "x" } }),
    }),
  );
  return { rs, vmis, burst: shape.burst };
}

const runRs = (o: RsObservation): ReplicaSetPlan =>
  planReplicaSet({ replicaSet: o.rs, vmis: o.vmis, now: NOW, options: { burst: o.burst } });

const controllerUid = (vmi: VirtualMachineInstance) =>
  vmi.metadata.ownerReferences?.find((r) => r.controller === true)?.uid;
const rsMatches = (vmi: VirtualMachineInstance) => vmi.metadata.labels?.myvmi === "myvmi";
const isFinal = (vmi: VirtualMachineInstance) =>
  vmi.status?.phase === "Succeeded" || vmi.status?.phase === "Failed";

function rsActionAllowed(
  o: RsObservation,
  action: ReplicaSetAction,
  adopted: ReadonlySet<string | undefined>,
): boolean {
  const vmi = o.vmis.find((v) => v.metadata.name === action.target.name);
  switch (action.kind) {
    case "createVMI":
      return action.target.name === undefined;
    case "adoptVMI":
      return vmi !== undefined && controllerUid(vmi) === undefined && rsMatches(vmi);
    case "deleteVMI":
      // A matching orphan adopted earlier in the same plan (upstream claims, then scales).
      return vmi !== undefined && (controllerUid(vmi) === RS_UID || adopted.has(vmi.metadata.name));
    case "releaseVMI":
      return vmi !== undefined && controllerUid(vmi) === RS_UID;
    case "annotateReplicaSet":
      return action.target.uid === RS_UID;
  }
}

function applyRsPlan(o: RsObservation, p: ReplicaSetPlan, pass: number): RsObservation {
  const rs = structuredClone(o.rs);
  let vmis = o.vmis.map((v) => structuredClone(v));
  let created = 0;
  for (const action of p.actions) {
    const vmi = vmis.find((v) => v.metadata.name === action.target.name);
    switch (action.kind) {
      case "createVMI": {
        const made = rsVMI(`-p${pass}-${created++}`);
        vmis.push(made);
        break;
      }
      case "deleteVMI":
        if (vmi) vmi.metadata.deletionTimestamp = "2025-06-01T12:00:00Z";
        break;
      case "adoptVMI":
        if (vmi)
          vmi.metadata.ownerReferences = [
            {
              apiVersion: "kubevirt.io/v1",
              kind: "VirtualMachineInstanceReplicaSet",
              name: rs.metadata.name,
              uid: RS_UID,
              controller: true,
            },
          ];
        break;
      case "releaseVMI":
        if (vmi) vmi.metadata.ownerReferences = [];
        break;
      case "annotateReplicaSet":
        rs.metadata.annotations = {
          ...rs.metadata.annotations,
          "kubevirt.io/latest-observed-api-version": "v1",
          "kubevirt.io/storage-observed-api-version": "v1",
        };
        break;
    }
  }
  if (p.status?.changed) rs.status = p.status.desired;
  // Deleted VMIs go away before the next pass.
  vmis = vmis.filter((v) => !isDeleting(v.metadata));
  return { ...o, rs, vmis };
}

describe("planReplicaSet properties", () => {
  it("never plans more writes than the burst", () => {
    fc.assert(
      fc.property(rsShape, (shape) => {
        const o = buildRsObservation(shape);
        expect(runRs(o).actions.length).toBeLessThanOrEqual(o.burst);
      }),
    );
  });

  it("is deterministic and leaves its input untouched", () => {
    fc.assert(
      fc.property(rsShape, (shape) => {
        const o = buildRsObservation(shape);
        const before = structuredClone(o);
        const first = runRs(o);
        expect(o).toEqual(before);
        expect(runRs(o)).toEqual(first);
      }),
    );
  });

  it("never creates VMIs while those that may still run would exceed the desired count", () => {
    fc.assert(
      fc.property(rsShape, (shape) => {
        const o = buildRsObservation(shape);
        const p = runRs(o);
        const adopted = new Set(p.actions.filter((a) => a.kind === "adoptVMI").map((a) => a.target.name));
        const mayRun = o.vmis
          .filter((v) => (controllerUid(v) === RS_UID && rsMatches(v)) || adopted.has(v.metadata.name))
          .filter((v) => !isFinal(v)).length;
        const creates = p.actions.filter((a) => a.kind === "createVMI").length;
        if (creates > 0) expect(mayRun + creates).toBeLessThanOrEqual(Math.max(0, o.rs.spec.replicas ?? 1));
      }),
    );
  });

  it("only touches VMIs it owns, or orphans it adopts", () => {
    fc.assert(
      fc.property(rsShape, (shape) => {
        const o = buildRsObservation(shape);
        const { actions } = runRs(o);
        const adopted = new Set(actions.filter((a) => a.kind === "adoptVMI").map((a) => a.target.name));
        for (const action of actions) {
          expect(rsActionAllowed(o, action, adopted), `${action.kind} ${action.target.name}`).toBe(true);
        }
      }),
    );
  });

  it("converges: repeated passes reach the desired count, then plan nothing and keep the status", () => {
    fc.assert(
      fc.property(
        rsShape.filter((s) => !s.paused && !s.deleting),
        (shape) => {
          let o = buildRsObservation(shape);
          let last = runRs(o);
          for (let pass = 0; pass < 40 && (last.actions.length > 0 || last.status?.changed); pass++) {
            o = applyRsPlan(o, last, pass);
            last = runRs(o);
          }
          expect(last.actions).toEqual([]);
          expect(last.status?.changed).toBe(false);
          const active = o.vmis.filter((v) => controllerUid(v) === RS_UID && rsMatches(v) && !isFinal(v));
          expect(active).toHaveLength(Math.max(0, o.rs.spec.replicas ?? 1));
        },
      ),
      { numRuns: 60 },
    );
  });
});
