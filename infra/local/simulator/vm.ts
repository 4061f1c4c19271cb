/**
 * virt-controller's VirtualMachine logic as pure functions: the run strategy, what to do with the VMI in one pass
 * (create, delete, wait out a crash-loop backoff), the start-failure bookkeeping, the VMI built from a VM, and the
 * VM status KubeVirt would report (printableStatus order of `setPrintableStatus`, Ready mirrored from the VMI).
 * Source: KubeVirt `pkg/virt-controller/watch/vm/vm.go` (see shared/reference/kubevirt-semantics.md §3).
 */
import type { KObject, OwnerReference } from "../store";
import { type Json, phaseOf, rec, recs, str, strMap } from "./json";

export type RunStrategy = "Always" | "RerunOnFailure" | "Once" | "Manual" | "Halted";

const RUN_STRATEGIES: readonly string[] = ["Always", "RerunOnFailure", "Once", "Manual", "Halted"];

/** The VMI finalizer KubeVirt's VMI mutating webhook adds; the simulated virt-handler removes it after shutdown. */
export const VMI_FINALIZER = "kubevirt.io/foregroundDeleteVirtualMachine";

export interface StartFailure {
  readonly consecutiveFailCount: number;
  readonly lastFailedVMIUID: string;
  readonly retryAfterTimestamp: string;
}

/** `spec.runStrategy`, else `running: true` → Always, anything else → Halted (KubeVirt's `RunStrategy()`). */
export function runStrategyOf(vm: KObject): RunStrategy {
  const spec = rec(vm.spec) ?? {};
  const strategy = str(spec.runStrategy);
  if (strategy !== undefined && RUN_STRATEGIES.includes(strategy)) return strategy as RunStrategy;
  return spec.running === true ? "Always" : "Halted";
}

export function isFinalPhase(phase: string): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

export function startFailureOf(vm: KObject): StartFailure | undefined {
  const sf = rec(rec(vm.status)?.startFailure);
  if (!sf) return undefined;
  return {
    consecutiveFailCount: typeof sf.consecutiveFailCount === "number" ? sf.consecutiveFailCount : 0,
    lastFailedVMIUID: str(sf.lastFailedVMIUID) ?? "",
    retryAfterTimestamp: str(sf.retryAfterTimestamp) ?? "",
  };
}

function hasStartRequest(vm: KObject): boolean {
  return recs(rec(vm.status)?.stateChangeRequests).some((r) => r.action === "Start");
}

export interface VmPassInput {
  readonly vm: KObject;
  /** The VMI of the same name controlled by this VM, if any. */
  readonly vmi: KObject | undefined;
  /** Every DataVolume of the VM's dataVolumeTemplates has succeeded. */
  readonly dataVolumesReady: boolean;
  readonly now: number;
  /** The crash-loop backoff (ms) before restart number `failCount`. */
  readonly backoffMs: (failCount: number) => number;
  readonly formatTime: (epochMs: number) => string;
}

export interface VmPass {
  readonly strategy: RunStrategy;
  readonly createVmi: boolean;
  readonly deleteVmi: boolean;
  /** The run strategy wants a VMI now (false while a crash-loop backoff holds the restart back). */
  readonly startExpected: boolean;
  /** `status.startFailure` after this pass. */
  readonly startFailure: StartFailure | undefined;
  /** A pending Start request (`status.stateChangeRequests`) after this pass. */
  readonly startRequested: boolean;
  /** Look again at this time (end of a backoff). */
  readonly recheckAt: number | undefined;
}

/**
 * One pass of `syncRunStrategy` plus `syncStartFailureStatus`: what to do with the VMI and the start-failure
 * record. A Failed VMI counts once (by UID) as a start failure; a Running one clears the record.
 */
export function planVmPass(input: VmPassInput): VmPass {
  const { vm, vmi, now } = input;
  const strategy = runStrategyOf(vm);
  const phase = phaseOf(vmi);
  const final = vmi !== undefined && isFinalPhase(phase);
  const vmiDeleting = vmi?.metadata.deletionTimestamp !== undefined;
  let startFailure = startFailureOf(vm);
  let startRequested = hasStartRequest(vm);
  if (vmi && phase === "Running") startFailure = undefined;
  if (vmi && phase === "Failed" && startFailure?.lastFailedVMIUID !== vmi.metadata.uid) {
    const count = (startFailure?.consecutiveFailCount ?? 0) + 1;
    startFailure = {
      consecutiveFailCount: count,
      lastFailedVMIUID: vmi.metadata.uid,
      retryAfterTimestamp: input.formatTime(now + input.backoffMs(count)),
    };
  }
  const retryAt = startFailure ? Date.parse(startFailure.retryAfterTimestamp) : Number.NaN;
  const inBackoff = retryAt > now;
  const recordedStrategy = str(rec(vm.status)?.runStrategy);

  let wantVmi = false;
  let deleteVmi = false;
  if (vm.metadata.deletionTimestamp !== undefined) {
    deleteVmi = vmi !== undefined && !vmiDeleting;
  } else {
    switch (strategy) {
      case "Always":
        if (final && !vmiDeleting) deleteVmi = true;
        wantVmi = !vmi || final;
        break;
      case "RerunOnFailure":
        if (final && !vmiDeleting) {
          deleteVmi = true;
          if (phase === "Failed") startRequested = true;
        }
        wantVmi = (!vmi || final) && (startRequested || recordedStrategy !== "RerunOnFailure");
        break;
      case "Once":
        wantVmi = !vmi;
        break;
      case "Manual":
        wantVmi = (!vmi || final) && startRequested;
        break;
      case "Halted":
        if (vmi && !vmiDeleting) deleteVmi = true;
        break;
    }
  }
  const backoffApplies = strategy === "Always" || strategy === "RerunOnFailure";
  const startExpected = wantVmi && !(backoffApplies && inBackoff);
  const createVmi = startExpected && !vmi && input.dataVolumesReady;
  return {
    strategy,
    createVmi,
    deleteVmi,
    startExpected,
    startFailure,
    startRequested: startRequested && !createVmi,
    recheckAt: wantVmi && backoffApplies && inBackoff ? retryAt : undefined,
  };
}

/**
 * KubeVirt's `calculateStartBackoffTime`, scaled: unit·n² plus a random share of up to half of it, capped.
 * `jitter` is a draw in [0, 1).
 */
export function crashLoopBackoffMs(failCount: number, unitMs: number, maxMs: number, jitter: number): number {
  const n = Math.max(1, failCount);
  const base = unitMs * n * n;
  return Math.min(maxMs, Math.round(base + jitter * (base / 2)));
}

/** The owner reference a VM's VMI and DataVolumes carry. */
export function vmOwnerRef(vm: KObject): OwnerReference {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    name: vm.metadata.name,
    uid: vm.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The VMI `SetupVMIFromVM` builds: same name, the template's labels, the template's annotations plus
 * `kubevirt.io/vm-generation`, a controller reference to the VM, the template spec, and the finalizer the VMI
 * mutating webhook adds. The caller adds the Pending status the webhook sets.
 */
export function vmiFromVm(vm: KObject): Json {
  const template = rec(rec(vm.spec)?.template) ?? {};
  const meta = rec(template.metadata) ?? {};
  const labels = strMap(meta.labels);
  const annotations = {
    ...strMap(meta.annotations),
    "kubevirt.io/vm-generation": String(vm.metadata.generation ?? 1),
  };
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: {
      name: vm.metadata.name,
      namespace: vm.metadata.namespace,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      annotations,
      ownerReferences: [vmOwnerRef(vm)],
      finalizers: [VMI_FINALIZER],
    },
    spec: structuredClone(rec(template.spec) ?? {}),
  };
}

export type PrintableStatus =
  | "Terminating"
  | "Stopping"
  | "Running"
  | "Provisioning"
  | "Starting"
  | "CrashLoopBackOff"
  | "Stopped"
  | "Unknown";

export interface PrintableInput {
  readonly vm: KObject;
  readonly vmi: KObject | undefined;
  readonly strategy: RunStrategy;
  readonly startExpected: boolean;
  readonly provisioning: boolean;
  readonly startFailure: StartFailure | undefined;
}

/** `setPrintableStatus`: the first matching rule wins (reference §3.4, the rules the simulator can reach). */
export function printableStatus(input: PrintableInput): PrintableStatus {
  const { vm, vmi, strategy } = input;
  const phase = phaseOf(vmi);
  const final = vmi !== undefined && isFinalPhase(phase);
  if (vm.metadata.deletionTimestamp !== undefined) return "Terminating";
  if (vmi && !final && (vmi.metadata.deletionTimestamp !== undefined || strategy === "Halted"))
    return "Stopping";
  if (vmi && phase === "Running") return "Running";
  if (input.provisioning) return "Provisioning";
  if ((!vmi && input.startExpected) || (vmi && ["", "Pending", "Scheduling", "Scheduled"].includes(phase))) {
    return "Starting";
  }
  const restartable = strategy === "Always" || strategy === "RerunOnFailure" || strategy === "Once";
  if (
    (!vmi || final) &&
    !input.startExpected &&
    (input.startFailure?.consecutiveFailCount ?? 0) > 0 &&
    restartable
  ) {
    return "CrashLoopBackOff";
  }
  if (final || !vmi) return "Stopped";
  return "Unknown";
}

/** VM-only condition types kept across passes (everything else mirrors the VMI). */
const VM_CONDITIONS = new Set(["RestartRequired", "ManualRecoveryRequired"]);

/**
 * `syncReadyConditionFromVMI` plus the generic copy of the other VMI conditions. Transition times survive a pass
 * in which a condition's status did not change.
 */
export function vmConditions(previous: unknown, vmi: KObject | undefined, nowIso: string): Json[] {
  const prev = recs(previous);
  const keep = prev.filter((c) => VM_CONDITIONS.has(String(c.type)));
  const wanted: Json[] = [];
  if (!vmi) {
    wanted.push({ type: "Ready", status: "False", reason: "VMINotExists", message: "VMI does not exist" });
  } else {
    const vmiConditions = recs(rec(vmi.status)?.conditions);
    if (!vmiConditions.some((c) => c.type === "Ready")) {
      wanted.push({
        type: "Ready",
        status: "False",
        reason: "VMIConditionMissing",
        message: "VMI does not have a ready condition",
      });
    }
    for (const c of vmiConditions) {
      wanted.push({
        type: c.type,
        status: c.status,
        ...(c.reason === undefined ? {} : { reason: c.reason }),
        ...(c.message === undefined ? {} : { message: c.message }),
      });
    }
  }
  const out = wanted.map((c) => {
    const before = prev.find((p) => p.type === c.type);
    const since = before && before.status === c.status ? before.lastTransitionTime : undefined;
    return { ...c, lastProbeTime: null, lastTransitionTime: since ?? nowIso };
  });
  return [...out, ...keep];
}

export interface VmStatusInput extends PrintableInput {
  readonly startRequested: boolean;
  readonly nowIso: string;
}

/** Keys of `VirtualMachine.status` this simulator owns; others (written by someone else) are kept as they are. */
const OWNED_STATUS_KEYS = [
  "printableStatus",
  "created",
  "ready",
  "conditions",
  "startFailure",
  "stateChangeRequests",
  "desiredGeneration",
  "observedGeneration",
  "runStrategy",
] as const;

/** The VM status after a pass (`updateStatus`). `runStrategy` is recorded once a VMI has existed. */
export function vmStatus(input: VmStatusInput): Json {
  const { vm, vmi } = input;
  const previous = rec(vm.status) ?? {};
  const out: Json = { ...previous };
  for (const key of OWNED_STATUS_KEYS) delete out[key];
  const ready = recs(rec(vmi?.status)?.conditions).some((c) => c.type === "Ready" && c.status === "True");
  out.printableStatus = printableStatus(input);
  if (vmi) out.created = true;
  if (ready) out.ready = true;
  out.conditions = vmConditions(previous.conditions, vmi, input.nowIso);
  if (input.startFailure) out.startFailure = { ...input.startFailure };
  if (input.startRequested) out.stateChangeRequests = [{ action: "Start" }];
  if (vm.metadata.generation !== undefined) out.desiredGeneration = vm.metadata.generation;
  const vmiGeneration = Number(strMap(vmi?.metadata.annotations)["kubevirt.io/vm-generation"]);
  if (Number.isInteger(vmiGeneration)) out.observedGeneration = vmiGeneration;
  const recorded = str(previous.runStrategy);
  if (vmi) out.runStrategy = input.strategy;
  else if (recorded !== undefined) out.runStrategy = recorded;
  return out;
}
