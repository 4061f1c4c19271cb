/**
 * The simulator's shell: subscribes to store changes, queues the objects they touch, and on each look reads the
 * store, asks the pure modules what KubeVirt would do, and writes the result through the registry (so
 * resourceVersions, watch events, the journal and garbage collection all happen as for any client). In-memory
 * state is only bookkeeping a restart may lose: when an object entered its phase, which IPs are taken, the
 * launcher pod of each VMI, and how many times a name has been launched.
 */
import { isDeepStrictEqual } from "node:util";
import { ReasonedError } from "../../../shared/errors";
import {
  EVERYTHING,
  fromLabelSelector,
  type LabelSelectorSpec,
  matches,
  parseSelector,
  type Selector,
} from "../../../shared/labels";
import { logger } from "../../../shared/log";
import { ApiError } from "../errors";
import type { Registry } from "../registry";
import { RESOURCES, type ResourceDef, resourceKey } from "../resources";
import type { ChangeEvent, KObject, Store } from "../store";
import { formatTime } from "../validation";
import {
  dataVolumeFromTemplate,
  dataVolumeKind,
  dataVolumeStatus,
  nextDataVolumePhase,
  progressText,
} from "./datavolume";
import { type EndpointTarget, endpointsFor, selects, serviceSelector } from "./endpoints";
import { eventFor, VIRT_HANDLER, VM_CONTROLLER } from "./events";
import { controllerOf, type Json, phaseOf, rec, recs, str, strMap } from "./json";
import { type ResolvedOptions, resolveOptions, type SimulatorOptions } from "./options";
import { WorkQueue } from "./queue";
import { type Draw, hexString, nameSuffix, pick, seededDraw } from "./random";
import { crashLoopBackoffMs, isFinalPhase, planVmPass, VMI_FINALIZER, vmiFromVm, vmStatus } from "./vm";
import { launcherPod, launcherPodStatus, type PodStage, vmiInPhase, vmiIp, vmiReady } from "./vmi";

const log = logger("simulator");

/** Annotations the simulator understands (on VMs, VMIs or DataVolumes as noted). */
export const SIMULATOR_ANNOTATIONS = {
  /** `"false"` on a VM, VMI or DataVolume: the simulator leaves it alone. */
  simulate: "vmpool.local/simulate",
  /** `"true"` on a VM (or its template, hence the VMI): every start of it fails. */
  failStart: "vmpool.local/fail-start",
  /** `"<percent>"` on a VMI: its simulated CPU utilization. */
  cpuLoad: "vmpool.local/cpu-load",
} as const;

/** Average CPU utilization of the Ready VMIs behind a selector (what an alert emitter or HPA would read). */
export interface CpuLoadSample {
  readonly namespace: string;
  /** Ready VMIs counted. */
  readonly count: number;
  /** Mean utilization in percent; undefined when no VMI is Ready (an HPA shows `<unknown>`). */
  readonly averagePercent: number | undefined;
  readonly vmis: readonly { readonly name: string; readonly percent: number }[];
}

/** A running simulator. */
export interface Simulator {
  /** Unsubscribes and clears every timer; objects stay as they are. */
  stop(): void;
  /** Resolves once no object is waiting for a look (time-driven steps may still be due later). */
  idle(): Promise<void>;
  /** Average CPU utilization of the Ready VMIs in `namespace` matching `selector` (default: all). */
  cpuLoad(namespace: string, selector?: string | LabelSelectorSpec): CpuLoadSample;
  /** Sets a VMI's simulated CPU utilization (writes its `vmpool.local/cpu-load` annotation). */
  setCpuLoad(namespace: string, vmiName: string, percent: number): void;
  /** Makes a VMI fail now, as a guest crash would (phase Failed, launcher pod Error). */
  crash(namespace: string, vmiName: string): void;
}

function defOf(group: string, plural: string): ResourceDef {
  const def = RESOURCES.find((r) => r.group === group && r.plural === plural);
  if (!def) throw new Error(`resource ${plural}.${group} missing from the table`);
  return def;
}

const VM = defOf("kubevirt.io", "virtualmachines");
const VMI = defOf("kubevirt.io", "virtualmachineinstances");
const DV = defOf("cdi.kubevirt.io", "datavolumes");
const POD = defOf("", "pods");
const SVC = defOf("", "services");
const EP = defOf("", "endpoints");
const EVENT = defOf("", "events");
const K = {
  vm: resourceKey(VM),
  vmi: resourceKey(VMI),
  dv: resourceKey(DV),
  pod: resourceKey(POD),
  svc: resourceKey(SVC),
  ep: resourceKey(EP),
} as const;

type QueueKind = "vm" | "vmi" | "dv" | "svc";

function queueKey(kind: QueueKind, namespace: string, name: string): string {
  return `${kind}|${namespace}|${name}`;
}

/** apiserver truncates a generateName prefix to 58 characters before adding 5. */
const MAX_GENERATED_PREFIX = 58;

function ignored(obj: KObject): boolean {
  return obj.metadata.annotations?.[SIMULATOR_ANNOTATIONS.simulate] === "false";
}

/** What an Endpoints object would show of a VMI; a change means the Services of its namespace need a look. */
function endpointSignature(vmi: KObject | undefined): string {
  if (!vmi || !vmiReady(vmi)) return "";
  return `${vmiIp(vmi) ?? ""}|${str(rec(vmi.status)?.nodeName) ?? ""}|${JSON.stringify(vmi.metadata.labels ?? {})}`;
}

function parsePercent(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

export class KubevirtSimulator implements Simulator {
  private readonly options: ResolvedOptions;
  private readonly queue: WorkQueue;
  private readonly draw: Draw;
  private readonly now: () => number;
  /** `<ns>/<vmi>` → name of its launcher pod. */
  private readonly launcherPods = new Map<string, string>();
  /** Object uid → the stage it is in and when the simulator first saw it there. */
  private readonly stageSince = new Map<string, { stage: string; at: number }>();
  /** IP → uid of the VMI holding it, and back. */
  private readonly ipOwners = new Map<string, string>();
  private readonly ipOf = new Map<string, string>();
  /** `<ns>/<name>` → launches of that VMI name so far (seeds each launch's draws differently). */
  private readonly launches = new Map<string, { uid: string; n: number }>();
  /** Services whose Endpoints this simulator maintains. */
  private readonly managedEndpoints = new Set<string>();
  private eventSeq = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly store: Store,
    options: SimulatorOptions,
  ) {
    this.options = resolveOptions(options);
    this.draw = seededDraw(this.options.seed);
    this.now = options.now ?? (() => registry.now().getTime());
    this.queue = new WorkQueue((key) => this.handle(key), {
      debounceMs: this.options.timings.debounceMs,
      batchSize: this.options.batchSize,
      budgetMs: this.options.budgetMs,
      now: this.now,
    });
  }

  /** Indexes what already exists (a restored journal), queues every object once, and starts listening. */
  start(): void {
    for (const entry of this.store.list(K.pod, undefined)) this.indexPod(entry.obj, false);
    this.unsubscribe = this.store.subscribeAll((event) => this.onChange(event));
    for (const [resource, kind] of [
      [K.vm, "vm"],
      [K.vmi, "vmi"],
      [K.dv, "dv"],
      [K.svc, "svc"],
    ] as const) {
      for (const entry of this.store.list(resource, undefined)) {
        this.queue.add(queueKey(kind, entry.obj.metadata.namespace ?? "", entry.obj.metadata.name));
      }
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  cpuLoad(namespace: string, selector?: string | LabelSelectorSpec): CpuLoadSample {
    let parsed: Selector = EVERYTHING;
    if (typeof selector === "string") parsed = parseSelector(selector);
    else if (selector !== undefined) parsed = fromLabelSelector(selector);
    const vmis: { name: string; percent: number }[] = [];
    for (const entry of this.store.list(K.vmi, namespace)) {
      const vmi = entry.obj;
      if (!vmiReady(vmi) || !matches(parsed, vmi.metadata.labels)) continue;
      const percent = parsePercent(vmi.metadata.annotations?.[SIMULATOR_ANNOTATIONS.cpuLoad]);
      vmis.push({ name: vmi.metadata.name, percent: percent ?? this.options.defaultCpuLoad });
    }
    const total = vmis.reduce((sum, v) => sum + v.percent, 0);
    return {
      namespace,
      count: vmis.length,
      averagePercent: vmis.length > 0 ? total / vmis.length : undefined,
      vmis,
    };
  }

  setCpuLoad(namespace: string, vmiName: string, percent: number): void {
    if (!Number.isFinite(percent) || percent < 0) {
      throw new ReasonedError("InvalidCpuLoad", `CPU load must be a number ≥ 0, got ${percent}`, {
        status: 400,
      });
    }
    const vmi = this.registry.get(VMI, "v1", namespace, vmiName);
    const annotations = {
      ...strMap(vmi.metadata.annotations),
      [SIMULATOR_ANNOTATIONS.cpuLoad]: String(percent),
    };
    this.registry.update(
      VMI,
      "v1",
      namespace,
      vmiName,
      { ...vmi, metadata: { ...vmi.metadata, annotations } },
      undefined,
    );
  }

  crash(namespace: string, vmiName: string): void {
    const vmi = this.registry.get(VMI, "v1", namespace, vmiName);
    if (isFinalPhase(phaseOf(vmi))) return;
    const key = queueKey("vmi", namespace, vmiName);
    this.failVmi(vmi, this.launcherPodOf(vmi), key, "guest crashed");
  }

  // ---- change events -------------------------------------------------------------------------------------

  private onChange(event: ChangeEvent): void {
    const obj = event.entry.obj;
    const ns = obj.metadata.namespace ?? "";
    const name = obj.metadata.name;
    switch (event.resource) {
      case K.vm:
        if (event.type === "DELETED") this.launches.delete(`${ns}/${name}`);
        this.queue.add(queueKey("vm", ns, name));
        break;
      case K.vmi: {
        this.queue.add(queueKey("vmi", ns, name));
        const owner = controllerOf(obj, "VirtualMachine");
        if (owner) this.queue.add(queueKey("vm", ns, owner.name));
        const after = event.type === "DELETED" ? undefined : obj;
        if (endpointSignature(event.previous?.obj) !== endpointSignature(after)) this.touchServices(ns);
        if (event.type === "DELETED") this.forgetVmi(obj, owner === undefined);
        break;
      }
      case K.pod:
        this.indexPod(obj, event.type === "DELETED");
        break;
      case K.dv: {
        if (event.type === "DELETED") this.stageSince.delete(obj.metadata.uid);
        this.queue.add(queueKey("dv", ns, name));
        const owner = controllerOf(obj, "VirtualMachine");
        if (owner) this.queue.add(queueKey("vm", ns, owner.name));
        break;
      }
      case K.svc:
        this.queue.add(queueKey("svc", ns, name));
        break;
      case K.ep:
        if (this.managedEndpoints.has(`${ns}/${name}`)) this.queue.add(queueKey("svc", ns, name));
        break;
      default:
        break;
    }
  }

  private indexPod(pod: KObject, deleted: boolean): void {
    const owner = controllerOf(pod, "VirtualMachineInstance");
    if (!owner) return;
    const ns = pod.metadata.namespace ?? "";
    const vmiKey = `${ns}/${owner.name}`;
    if (deleted) {
      if (this.launcherPods.get(vmiKey) === pod.metadata.name) this.launcherPods.delete(vmiKey);
    } else {
      this.launcherPods.set(vmiKey, pod.metadata.name);
      const ip = str(rec(pod.status)?.podIP);
      if (ip !== undefined && !this.ipOwners.has(ip)) {
        this.ipOwners.set(ip, owner.uid);
        this.ipOf.set(owner.uid, ip);
      }
    }
    this.queue.add(queueKey("vmi", ns, owner.name));
  }

  private forgetVmi(vmi: KObject, standalone: boolean): void {
    const uid = vmi.metadata.uid;
    this.stageSince.delete(uid);
    const ip = this.ipOf.get(uid);
    if (ip !== undefined) {
      this.ipOf.delete(uid);
      if (this.ipOwners.get(ip) === uid) this.ipOwners.delete(ip);
    }
    // A VM's launch count outlives its VMIs; a stand-alone VMI's name is never reused.
    if (standalone) this.launches.delete(`${vmi.metadata.namespace ?? ""}/${vmi.metadata.name}`);
  }

  private touchServices(namespace: string): void {
    for (const entry of this.store.list(K.svc, namespace)) {
      this.queue.addAfter(
        queueKey("svc", namespace, entry.obj.metadata.name),
        this.options.timings.endpointsDelayMs,
      );
    }
  }

  private handle(key: string): void {
    const [kind, ns = "", name = ""] = key.split("|");
    switch (kind) {
      case "vm":
        this.syncVm(ns, name);
        break;
      case "vmi":
        this.syncVmi(ns, name);
        break;
      case "dv":
        this.syncDataVolume(ns, name);
        break;
      case "svc":
        this.syncService(ns, name);
        break;
      default:
        break;
    }
  }

  // ---- VirtualMachine (virt-controller) ------------------------------------------------------------------

  private syncVm(ns: string, name: string): void {
    const vm = this.store.get(K.vm, ns, name)?.obj;
    if (!vm || ignored(vm)) return;
    const key = queueKey("vm", ns, name);
    const vmi = this.store.get(K.vmi, ns, name)?.obj;
    // A same-named VMI this VM does not control (a previous VM's, still shutting down): wait until it is gone.
    if (vmi && controllerOf(vmi, "VirtualMachine")?.uid !== vm.metadata.uid) return;
    const volumes = this.syncDataVolumes(vm, key);
    const now = this.now();
    const t = this.options.timings;
    const pass = planVmPass({
      vm,
      vmi,
      dataVolumesReady: volumes.ready,
      now,
      backoffMs: (n) =>
        crashLoopBackoffMs(n, t.crashLoopBaseMs, t.crashLoopMaxMs, this.draw("backoff", ns, name, n)),
      // metav1.Time has whole seconds: round up so the backoff is never shorter than computed.
      formatTime: (ms) => formatTime(new Date(Math.ceil(ms / 1000) * 1000)),
    });
    if (pass.deleteVmi && vmi) this.stopVmi(vm, vmi, key);
    if (pass.createVmi) this.startVmi(vm, key);
    if (pass.recheckAt !== undefined) this.queue.addAfter(key, pass.recheckAt - now);

    const latest = this.store.get(K.vm, ns, name)?.obj;
    if (!latest) return;
    const current = this.store.get(K.vmi, ns, name)?.obj;
    const status = vmStatus({
      vm: latest,
      vmi: current && controllerOf(current, "VirtualMachine")?.uid === vm.metadata.uid ? current : undefined,
      strategy: pass.strategy,
      startExpected: pass.startExpected,
      provisioning: volumes.provisioning,
      startFailure: pass.startFailure,
      startRequested: pass.startRequested,
      nowIso: this.nowIso(),
    });
    if (isDeepStrictEqual(status, latest.status)) return;
    this.write(key, () =>
      this.registry.update(VM, "v1", ns, name, { ...latest, status }, "status", this.as("virt-controller")),
    );
  }

  /** Creates missing DataVolumes of the VM's templates; reports whether all succeeded. */
  private syncDataVolumes(vm: KObject, key: string): { ready: boolean; provisioning: boolean } {
    const templates = recs(rec(vm.spec)?.dataVolumeTemplates);
    let ready = true;
    for (const template of templates) {
      const body = dataVolumeFromTemplate(vm, template);
      if (!body) continue;
      const name = String(rec(body.metadata)?.name);
      let dv = this.store.get(K.dv, vm.metadata.namespace, name)?.obj;
      if (!dv && vm.metadata.deletionTimestamp === undefined) {
        dv = this.write(key, () =>
          this.registry.create(DV, "v1beta1", vm.metadata.namespace, body, this.as("virt-controller")),
        );
        if (dv)
          this.record(
            vm,
            "Normal",
            "SuccessfulDataVolumeCreate",
            `Created DataVolume ${name}`,
            VM_CONTROLLER,
          );
      }
      if (phaseOf(dv) !== "Succeeded") ready = false;
    }
    return { ready, provisioning: !ready };
  }

  private startVmi(vm: KObject, key: string): void {
    const ns = vm.metadata.namespace ?? "";
    const body = vmiFromVm(vm);
    const pending = vmiInPhase(body as KObject, "Pending", this.nowIso());
    try {
      const created = this.registry.create(VMI, "v1", ns, pending, this.as("virt-controller"));
      this.markStage(created, "Pending");
      this.record(
        vm,
        "Normal",
        "SuccessfulCreate",
        `Started the virtual machine by creating the new virtual machine instance ${created.metadata.name}`,
        VM_CONTROLLER,
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === 409) {
        this.queue.add(key);
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.record(
        vm,
        "Warning",
        "FailedCreate",
        `Error creating virtual machine instance: ${message}`,
        VM_CONTROLLER,
      );
      log.warn({ err, vm: `${ns}/${vm.metadata.name}` }, "VMI create failed");
      this.queue.addAfter(key, this.options.timings.retryMs);
    }
  }

  private stopVmi(vm: KObject, vmi: KObject, key: string): void {
    const deleted = this.write(key, () =>
      this.registry.delete(VMI, "v1", vmi.metadata.namespace, vmi.metadata.name, {
        preconditions: { uid: vmi.metadata.uid },
      }),
    );
    if (deleted) {
      this.record(
        vm,
        "Normal",
        "SuccessfulDelete",
        `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid}`,
        VM_CONTROLLER,
      );
    }
  }

  // ---- VirtualMachineInstance (virt-controller's VMI part + virt-handler) -------------------------------

  private syncVmi(ns: string, name: string): void {
    const vmi = this.store.get(K.vmi, ns, name)?.obj;
    if (!vmi || ignored(vmi)) return;
    const key = queueKey("vmi", ns, name);
    this.countLaunch(vmi);
    const pod = this.launcherPodOf(vmi);
    if (vmi.metadata.deletionTimestamp !== undefined) {
      this.shutDown(vmi, pod, key);
      return;
    }
    const phase = phaseOf(vmi);
    const t = this.options.timings;
    switch (phase) {
      case "":
        this.writeVmiPhase(key, vmi, "Pending", {}, true);
        return;
      case "Pending":
        if (this.waited(vmi, phase, t.pendingMs, key)) this.scheduleVmi(vmi, pod, key);
        return;
      case "Scheduling":
        if (!pod) this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        else if (this.waited(vmi, phase, t.schedulingMs, key)) this.bindVmi(vmi, pod, key);
        return;
      case "Scheduled":
        if (!pod) this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        else if (this.waited(vmi, phase, t.scheduledMs, key)) this.runVmi(vmi, pod, key);
        return;
      case "Running":
        if (!pod) this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        return;
      default:
        return;
    }
  }

  /** Pending → Scheduling: the launcher pod is created and bound to a seeded-random node. */
  private scheduleVmi(vmi: KObject, existing: KObject | undefined, key: string): void {
    let pod = existing;
    if (!pod) {
      const node = this.nodeFor(vmi);
      pod = this.write(key, () =>
        this.registry.create(
          POD,
          "v1",
          vmi.metadata.namespace,
          launcherPod(vmi, this.podNameFor(vmi), node),
          this.as("virt-controller"),
        ),
      );
      if (!pod) return;
      this.record(
        vmi,
        "Normal",
        "SuccessfulCreate",
        `Created virtual machine pod ${pod.metadata.name}`,
        VM_CONTROLLER,
      );
      pod = this.writePodStatus(key, pod, "Pending") ?? pod;
    }
    this.writeVmiPhase(key, vmi, "Scheduling", { podExists: true });
  }

  /** Scheduling → Scheduled: the pod runs (1/2 ready) with its IP; the VMI learns its node. */
  private bindVmi(vmi: KObject, pod: KObject, key: string): void {
    const ip = this.allocateIp(vmi);
    if (!this.writePodStatus(key, pod, "Started", ip)) return;
    const node = str(rec(pod.spec)?.nodeName) ?? this.nodeFor(vmi);
    this.writeVmiPhase(key, vmi, "Scheduled", { podExists: true, nodeName: node, podUid: pod.metadata.uid });
  }

  /** Scheduled → Running (2/2, Ready) or, for a failed start, Failed. */
  private runVmi(vmi: KObject, pod: KObject, key: string): void {
    const node = str(rec(vmi.status)?.nodeName) ?? "";
    if (this.startFails(vmi)) {
      this.record(
        vmi,
        "Warning",
        "SyncFailed",
        "server error. command SyncVMI failed: \"LibvirtError(Code=1, Domain=10, Message='internal error: simulated start failure')\"",
        VIRT_HANDLER,
        node,
      );
      this.failVmi(vmi, pod, key, "simulated start failure");
      return;
    }
    const ip = this.allocateIp(vmi);
    if (!this.writePodStatus(key, pod, "Ready", ip)) return;
    const mac = `52:54:00:${hexString(
      this.draw,
      6,
      "mac",
      vmi.metadata.namespace ?? "",
      vmi.metadata.name,
      this.launchOf(vmi),
    )
      .match(/../g)
      ?.join(":")}`;
    const running = this.writeVmiPhase(key, vmi, "Running", { podExists: true, ip, mac });
    if (running) {
      this.record(running, "Normal", "Created", "VirtualMachineInstance defined.", VIRT_HANDLER, node);
      this.record(running, "Normal", "Started", "VirtualMachineInstance started.", VIRT_HANDLER, node);
    }
  }

  private failVmi(vmi: KObject, pod: KObject | undefined, key: string, why: string): void {
    if (pod) this.writePodStatus(key, pod, "Failed", this.ipOf.get(vmi.metadata.uid));
    const failed = this.writeVmiPhase(key, vmi, "Failed", { podExists: pod !== undefined });
    if (failed) log.debug({ vmi: `${vmi.metadata.namespace}/${vmi.metadata.name}`, why }, "VMI failed");
  }

  /** A deleted VMI: graceful shutdown (Succeeded after `stopMs`), then the pod goes and the finalizer is dropped. */
  private shutDown(vmi: KObject, pod: KObject | undefined, key: string): void {
    const phase = phaseOf(vmi);
    const node = str(rec(vmi.status)?.nodeName);
    if (!isFinalPhase(phase)) {
      const firstLook = this.stageSince.get(vmi.metadata.uid)?.stage !== "Deleting";
      if (firstLook && phase === "Running") {
        this.record(vmi, "Normal", "ShuttingDown", "Signaled Graceful Shutdown", VIRT_HANDLER, node);
      }
      if (!this.waited(vmi, "Deleting", this.options.timings.stopMs, key)) return;
      if (pod) this.deletePod(pod, key);
      const stopped = this.writeVmiPhase(key, vmi, "Succeeded", { podExists: false });
      if (stopped && phase === "Running") {
        this.record(
          stopped,
          "Normal",
          "Stopped",
          "The VirtualMachineInstance was shut down.",
          VIRT_HANDLER,
          node,
        );
      }
      return;
    }
    if (pod) this.deletePod(pod, key);
    const finalizers = vmi.metadata.finalizers ?? [];
    if (!finalizers.includes(VMI_FINALIZER)) return;
    const remaining = finalizers.filter((f) => f !== VMI_FINALIZER);
    const metadata = { ...vmi.metadata, finalizers: remaining };
    if (remaining.length === 0) delete (metadata as { finalizers?: string[] }).finalizers;
    this.write(key, () =>
      this.registry.update(
        VMI,
        "v1",
        vmi.metadata.namespace,
        vmi.metadata.name,
        { ...vmi, metadata },
        undefined,
        this.as("virt-handler"),
      ),
    );
  }

  private writeVmiPhase(
    key: string,
    vmi: KObject,
    phase: string,
    details: Parameters<typeof vmiInPhase>[3],
    addFinalizer = false,
  ): KObject | undefined {
    const next = vmiInPhase(vmi, phase, this.nowIso(), details);
    if (addFinalizer && !(next.metadata.finalizers ?? []).includes(VMI_FINALIZER)) {
      next.metadata = { ...next.metadata, finalizers: [...(next.metadata.finalizers ?? []), VMI_FINALIZER] };
    }
    const written = this.write(key, () =>
      this.registry.update(
        VMI,
        "v1",
        vmi.metadata.namespace,
        vmi.metadata.name,
        next,
        undefined,
        this.as(phase === "Running" || phase === "Succeeded" ? "virt-handler" : "virt-controller"),
      ),
    );
    if (written) this.markStage(written, phase);
    return written;
  }

  private writePodStatus(key: string, pod: KObject, stage: PodStage, podIP?: string): KObject | undefined {
    const node = str(rec(pod.spec)?.nodeName) ?? "";
    const status = launcherPodStatus(pod, {
      stage,
      nowIso: this.nowIso(),
      hostIP: this.hostIpOf(node),
      podIP: stage === "Pending" ? undefined : podIP,
      containerIds: (name) =>
        `containerd://${hexString(this.draw, 64, "container", pod.metadata.name, name)}`,
    });
    return this.write(key, () =>
      this.registry.update(
        POD,
        "v1",
        pod.metadata.namespace,
        pod.metadata.name,
        { ...pod, status },
        "status",
        this.as("kubelet"),
      ),
    );
  }

  private deletePod(pod: KObject, key: string): void {
    this.write(key, () =>
      this.registry.delete(POD, "v1", pod.metadata.namespace, pod.metadata.name, {
        preconditions: { uid: pod.metadata.uid },
      }),
    );
  }

  private launcherPodOf(vmi: KObject): KObject | undefined {
    const ns = vmi.metadata.namespace ?? "";
    const name = this.launcherPods.get(`${ns}/${vmi.metadata.name}`);
    if (name === undefined) return undefined;
    const pod = this.store.get(K.pod, ns, name)?.obj;
    return pod && controllerOf(pod, "VirtualMachineInstance")?.uid === vmi.metadata.uid ? pod : undefined;
  }

  private startFails(vmi: KObject): boolean {
    const flag = SIMULATOR_ANNOTATIONS.failStart;
    if (vmi.metadata.annotations?.[flag] === "true") return true;
    const owner = controllerOf(vmi, "VirtualMachine");
    const vm = owner ? this.store.get(K.vm, vmi.metadata.namespace, owner.name)?.obj : undefined;
    if (vm?.metadata.annotations?.[flag] === "true") return true;
    const rate = this.options.startFailureRate;
    return (
      rate > 0 &&
      this.draw("fail", vmi.metadata.namespace ?? "", vmi.metadata.name, this.launchOf(vmi)) < rate
    );
  }

  // ---- DataVolume (CDI) ----------------------------------------------------------------------------------

  private syncDataVolume(ns: string, name: string): void {
    const dv = this.store.get(K.dv, ns, name)?.obj;
    if (!dv || ignored(dv)) return;
    const key = queueKey("dv", ns, name);
    const phase = phaseOf(dv);
    const kind = dataVolumeKind(dv);
    const t = this.options.timings;
    let next: string;
    let progress: string;
    if (phase.endsWith("InProgress")) {
      const since = this.sinceOf(dv, phase);
      const elapsed = this.now() - since;
      if (elapsed >= t.dvImportMs) {
        next = "Succeeded";
        progress = progressText(next, 1);
      } else {
        // Progress moves in quarters, so a long import costs four writes, not one per look.
        const quarter = Math.floor((elapsed / t.dvImportMs) * 4);
        next = phase;
        progress = progressText(phase, quarter / 4);
        this.queue.addAfter(key, since + ((quarter + 1) * t.dvImportMs) / 4 - this.now());
      }
    } else {
      const delay = phase === "Pending" ? t.dvPendingMs : phase.endsWith("Scheduled") ? t.dvScheduledMs : 0;
      next = nextDataVolumePhase(kind, phase);
      if (next === "" || !this.waited(dv, phase, delay, key)) return;
      progress = progressText(next, 0);
    }
    const status = rec(dv.status) ?? {};
    if (next === status.phase && progress === status.progress) return;
    const written = this.write(key, () =>
      this.registry.update(
        DV,
        "v1beta1",
        ns,
        name,
        { ...dv, status: dataVolumeStatus(dv, next, progress, this.nowIso()) },
        "status",
        this.as("cdi-controller"),
      ),
    );
    if (written && next !== phase) this.markStage(written, next);
  }

  // ---- Services → Endpoints (kube-controller-manager) ----------------------------------------------------

  private syncService(ns: string, name: string): void {
    const id = `${ns}/${name}`;
    const svc = this.store.get(K.svc, ns, name)?.obj;
    const ep = this.store.get(K.ep, ns, name)?.obj;
    const key = queueKey("svc", ns, name);
    const selector = svc ? serviceSelector(svc) : undefined;
    if (!svc || !selector) {
      if (ep && this.managedEndpoints.has(id)) {
        this.write(key, () => this.registry.delete(EP, "v1", ns, name, {}));
      }
      this.managedEndpoints.delete(id);
      return;
    }
    this.managedEndpoints.add(id);
    const targets: EndpointTarget[] = [];
    for (const entry of this.store.list(K.vmi, ns)) {
      const vmi = entry.obj;
      if (!vmiReady(vmi) || !selects(selector, vmi)) continue;
      const ip = vmiIp(vmi);
      if (ip === undefined) continue;
      targets.push({ vmi, ip, nodeName: str(rec(vmi.status)?.nodeName), pod: this.launcherPodOf(vmi) });
    }
    const wanted = endpointsFor(svc, targets);
    if (!ep) {
      this.write(key, () => this.registry.create(EP, "v1", ns, wanted, this.as("kube-controller-manager")));
      return;
    }
    const labels = rec(wanted.metadata)?.labels;
    if (isDeepStrictEqual(wanted.subsets, ep.subsets) && isDeepStrictEqual(labels, ep.metadata.labels))
      return;
    const next: Json = { ...ep, metadata: { ...ep.metadata, labels } };
    if (labels === undefined) delete (next.metadata as Json).labels;
    if (wanted.subsets === undefined) delete next.subsets;
    else next.subsets = wanted.subsets;
    this.write(key, () =>
      this.registry.update(EP, "v1", ns, name, next, undefined, this.as("kube-controller-manager")),
    );
  }

  // ---- bookkeeping ---------------------------------------------------------------------------------------

  /**
   * True once `obj` has been in `stage` for `delayMs` (measured from when the simulator first saw it there);
   * otherwise schedules a look for when it will be.
   */
  private waited(obj: KObject, stage: string, delayMs: number, key: string): boolean {
    const since = this.sinceOf(obj, stage);
    const remaining = since + delayMs - this.now();
    if (remaining <= 0) return true;
    this.queue.addAfter(key, remaining);
    return false;
  }

  private sinceOf(obj: KObject, stage: string): number {
    const entry = this.stageSince.get(obj.metadata.uid);
    if (entry && entry.stage === stage) return entry.at;
    const at = this.now();
    this.stageSince.set(obj.metadata.uid, { stage, at });
    return at;
  }

  private markStage(obj: KObject, stage: string): void {
    this.stageSince.set(obj.metadata.uid, { stage, at: this.now() });
  }

  private countLaunch(vmi: KObject): void {
    const id = `${vmi.metadata.namespace ?? ""}/${vmi.metadata.name}`;
    const entry = this.launches.get(id);
    if (entry?.uid === vmi.metadata.uid) return;
    this.launches.set(id, { uid: vmi.metadata.uid, n: (entry?.n ?? 0) + 1 });
  }

  private launchOf(vmi: KObject): number {
    return this.launches.get(`${vmi.metadata.namespace ?? ""}/${vmi.metadata.name}`)?.n ?? 1;
  }

  private nodeFor(vmi: KObject): string {
    const nodes = this.options.nodes;
    const i = pick(
      this.draw,
      nodes.length,
      "node",
      vmi.metadata.namespace ?? "",
      vmi.metadata.name,
      this.launchOf(vmi),
    );
    return nodes[i] ?? nodes[0] ?? "node01";
  }

  /** kubevirtci's node addresses: 192.168.66.101 for the first node, and so on. */
  private hostIpOf(node: string): string {
    const i = Math.max(0, this.options.nodes.indexOf(node));
    return `192.168.66.${101 + (i % 150)}`;
  }

  private podNameFor(vmi: KObject): string {
    const ns = vmi.metadata.namespace ?? "";
    const prefix = `virt-launcher-${vmi.metadata.name}-`.slice(0, MAX_GENERATED_PREFIX);
    for (let i = 0; ; i++) {
      const name = prefix + nameSuffix(this.draw, "pod", ns, vmi.metadata.name, this.launchOf(vmi), i);
      if (!this.store.get(K.pod, ns, name)) return name;
    }
  }

  /** A unique pod-network address in 10.244.0.0/16, drawn per VMI launch; redrawn on collision. */
  private allocateIp(vmi: KObject): string {
    const uid = vmi.metadata.uid;
    const held = this.ipOf.get(uid);
    if (held !== undefined) return held;
    const ns = vmi.metadata.namespace ?? "";
    for (let i = 0; i < 1_000_000; i++) {
      const n = pick(this.draw, 256 * 254, "ip", ns, vmi.metadata.name, this.launchOf(vmi), i);
      const ip = `10.244.${Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (this.ipOwners.has(ip)) continue;
      this.ipOwners.set(ip, uid);
      this.ipOf.set(uid, ip);
      return ip;
    }
    throw new ReasonedError("AddressPoolExhausted", "no free address left in 10.244.0.0/16");
  }

  /** Write options naming the upstream component as field manager, when managed fields are recorded. */
  private as(manager: string): { fieldManager?: string } {
    return this.options.recordManagedFields ? { fieldManager: manager } : {};
  }

  private nowIso(): string {
    return formatTime(new Date(this.now()));
  }

  /**
   * Runs one write. 404: the object is gone, nothing left to do. 409: someone else wrote first; look again
   * soon. Anything else is logged and retried later, never in a tight loop.
   */
  private write<T>(key: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      if (err instanceof ApiError && err.code === 409) {
        this.queue.add(key);
        return undefined;
      }
      log.warn({ err, key }, "simulator write failed");
      this.queue.addAfter(key, this.options.timings.retryMs);
      return undefined;
    }
  }

  private record(
    obj: KObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    component: string,
    host?: string,
  ): void {
    if (!this.options.recordEvents) return;
    const nanos = BigInt(this.now()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000);
    const body = eventFor({
      object: obj,
      type,
      reason,
      message,
      component,
      ...(host === undefined || host === "" ? {} : { host }),
      nowIso: this.nowIso(),
      nanos,
    });
    try {
      this.registry.create(EVENT, "v1", obj.metadata.namespace, body);
    } catch (err) {
      log.debug({ err, reason }, "event not recorded");
    }
  }
}

/** A simulator that does nothing (option `enabled: false`) but still answers CPU questions from the store. */
class InertSimulator implements Simulator {
  constructor(private readonly inner: KubevirtSimulator) {}
  stop(): void {}
  idle(): Promise<void> {
    return Promise.resolve();
  }
  cpuLoad(namespace: string, selector?: string | LabelSelectorSpec): CpuLoadSample {
    return this.inner.cpuLoad(namespace, selector);
  }
  setCpuLoad(namespace: string, vmiName: string, percent: number): void {
    this.inner.setCpuLoad(namespace, vmiName, percent);
  }
  crash(namespace: string, vmiName: string): void {
    this.inner.crash(namespace, vmiName);
  }
}

/**
 * Starts the KubeVirt simulator on a local cluster's registry and store. With `enabled: false` nothing is
 * simulated (the returned object only reads and writes CPU-load annotations).
 */
export function startSimulator(registry: Registry, store: Store, options: SimulatorOptions = {}): Simulator {
  const simulator = new KubevirtSimulator(registry, store, options);
  if (options.enabled === false) return new InertSimulator(simulator);
  simulator.start();
  return simulator;
}
