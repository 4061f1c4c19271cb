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
import type { KObject, Store } from "../store";
import { formatTime } from "../validation";
import { AdmittedWrites, WebhookDispatcher } from "../webhooks";
import type { BackendChange, SimulatorBackend, WatchedKind } from "./backend";
import {
  dataVolumeFromTemplate,
  dataVolumeKind,
  dataVolumeStatus,
  nextDataVolumePhase,
  progressText,
} from "./datavolume";
import { EmbeddedBackend } from "./embedded";
import { type EndpointTarget, endpointsFor, selects, serviceSelector } from "./endpoints";
import { eventFor, VIRT_HANDLER, VM_CONTROLLER } from "./events";
import { controllerOf, type Json, phaseOf, rec, recs, str } from "./json";
import { hostIpOf, microTime, NODE_LEASE_NAMESPACE, nodeLease, nodeObject, nodeStatus } from "./node";
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
  /**
   * Sets a VMI's simulated CPU utilization (writes its `vmpool.local/cpu-load` annotation). Throws
   * `InvalidCpuLoad` at once for a bad value; the promise settles when the write does.
   */
  setCpuLoad(namespace: string, vmiName: string, percent: number): Promise<void>;
  /** Makes a VMI fail now, as a guest crash would (phase Failed, launcher pod Error). */
  crash(namespace: string, vmiName: string): Promise<void>;
}

type QueueKind = "vm" | "vmi" | "dv" | "svc" | "pod" | "node" | "lease";

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

/** Status codes a write answers while a cluster is busy or a namespace is not ready: retried quietly. */
function expectedTransient(err: unknown): boolean {
  // 403: the ServiceAccount admission plugin refuses pods until the serviceaccount controller created `default`,
  // and a terminating namespace refuses new content until the namespace controller has emptied it.
  return err instanceof ApiError && (err.code === 403 || err.code === 429);
}

/**
 * The shell: one of these runs per cluster, on whichever backend reaches it. It hears changes, queues the objects
 * they touch, and on each look reads the backend's cache, asks the pure modules what KubeVirt (and the kubelet,
 * and CDI) would do, and writes the result through the backend.
 */
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
  /** Cleared when the cluster answers 404 for the nodes resource itself: it serves no Nodes. */
  private nodesServed: boolean;
  private eventSeq = 0;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly backend: SimulatorBackend,
    options: SimulatorOptions,
  ) {
    this.options = resolveOptions(options);
    this.nodesServed = this.options.registerNodes;
    this.draw = seededDraw(this.options.seed);
    this.now = options.now ?? (() => backend.now());
    this.queue = new WorkQueue((key) => this.handle(key), {
      debounceMs: this.options.timings.debounceMs,
      batchSize: this.options.batchSize,
      budgetMs: this.options.budgetMs,
      concurrency: this.options.concurrency,
      now: this.now,
    });
  }

  /** Indexes what already exists (a restored journal, a cluster's current state), queues it once, and listens. */
  start(): void {
    for (const pod of this.backend.list("pod", undefined)) this.indexPod(pod, false);
    this.unsubscribe = this.backend.subscribe((change) => this.onChange(change));
    const kinds: [WatchedKind, QueueKind][] = [
      ["vm", "vm"],
      ["vmi", "vmi"],
      ["dv", "dv"],
    ];
    if (this.backend.writesEndpoints) kinds.push(["svc", "svc"]);
    for (const [kind, queueKind] of kinds) {
      for (const obj of this.backend.list(kind, undefined)) {
        this.queue.add(queueKey(queueKind, obj.metadata.namespace ?? "", obj.metadata.name));
      }
    }
    for (const pod of this.backend.list("pod", undefined)) this.maybeQueuePod(pod);
    if (this.options.registerNodes)
      for (const node of this.options.nodes) this.queue.add(queueKey("node", "", node));
  }

  stop(): void {
    this.stopped = true;
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
    for (const vmi of this.backend.list("vmi", namespace)) {
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

  setCpuLoad(namespace: string, vmiName: string, percent: number): Promise<void> {
    if (!Number.isFinite(percent) || percent < 0) {
      throw new ReasonedError("InvalidCpuLoad", `CPU load must be a number ≥ 0, got ${percent}`, {
        status: 400,
      });
    }
    // A merge patch of one annotation: no resourceVersion to race the simulator's own writes for.
    const patch = { metadata: { annotations: { [SIMULATOR_ANNOTATIONS.cpuLoad]: String(percent) } } };
    return this.backend.patch("vmi", namespace, vmiName, patch).then(() => undefined);
  }

  async crash(namespace: string, vmiName: string): Promise<void> {
    const vmi = this.backend.get("vmi", namespace, vmiName);
    if (!vmi) {
      throw new ApiError(404, "NotFound", `virtualmachineinstances.kubevirt.io "${vmiName}" not found`);
    }
    if (isFinalPhase(phaseOf(vmi))) return;
    const key = queueKey("vmi", namespace, vmiName);
    await this.failVmi(vmi, this.launcherPodOf(vmi), key, "guest crashed");
  }

  // ---- change events -------------------------------------------------------------------------------------

  private onChange(change: BackendChange): void {
    const obj = change.obj;
    const ns = obj.metadata.namespace ?? "";
    const name = obj.metadata.name;
    switch (change.kind) {
      case "vm":
        if (change.type === "DELETED") this.launches.delete(`${ns}/${name}`);
        this.queue.add(queueKey("vm", ns, name));
        break;
      case "vmi": {
        this.queue.add(queueKey("vmi", ns, name));
        const owner = controllerOf(obj, "VirtualMachine");
        if (owner) this.queue.add(queueKey("vm", ns, owner.name));
        const after = change.type === "DELETED" ? undefined : obj;
        if (this.backend.writesEndpoints && endpointSignature(change.previous) !== endpointSignature(after))
          this.touchServices(ns);
        if (change.type === "DELETED") this.forgetVmi(obj, owner === undefined);
        break;
      }
      case "pod":
        this.indexPod(obj, change.type === "DELETED");
        if (change.type !== "DELETED") this.maybeQueuePod(obj);
        break;
      case "dv": {
        if (change.type === "DELETED") this.stageSince.delete(obj.metadata.uid);
        this.queue.add(queueKey("dv", ns, name));
        const owner = controllerOf(obj, "VirtualMachine");
        if (owner) this.queue.add(queueKey("vm", ns, owner.name));
        break;
      }
      case "svc":
        if (this.backend.writesEndpoints) this.queue.add(queueKey("svc", ns, name));
        break;
      case "ep":
        if (this.managedEndpoints.has(`${ns}/${name}`)) this.queue.add(queueKey("svc", ns, name));
        break;
      case "node":
        if (this.options.registerNodes && this.options.nodes.includes(name)) {
          this.queue.add(queueKey("node", "", name));
        }
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

  /** A terminating pod on one of our nodes waits for its kubelet: that is us. */
  private maybeQueuePod(pod: KObject): void {
    if (pod.metadata.deletionTimestamp === undefined) return;
    if (!this.options.nodes.includes(str(rec(pod.spec)?.nodeName) ?? "")) return;
    this.queue.add(queueKey("pod", pod.metadata.namespace ?? "", pod.metadata.name));
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
    for (const svc of this.backend.list("svc", namespace)) {
      this.queue.addAfter(
        queueKey("svc", namespace, svc.metadata.name),
        this.options.timings.endpointsDelayMs,
      );
    }
  }

  private async handle(key: string): Promise<void> {
    const [kind, ns = "", name = ""] = key.split("|");
    switch (kind) {
      case "vm":
        return this.syncVm(ns, name);
      case "vmi":
        return this.syncVmi(ns, name);
      case "dv":
        return this.syncDataVolume(ns, name);
      case "svc":
        return this.syncService(ns, name);
      case "pod":
        return this.syncTerminatingPod(ns, name);
      case "node":
        return this.syncNode(name);
      case "lease":
        return this.renewLease(name);
      default:
        return;
    }
  }

  // ---- VirtualMachine (virt-controller) ------------------------------------------------------------------

  private async syncVm(ns: string, name: string): Promise<void> {
    const vm = this.backend.get("vm", ns, name);
    if (!vm || ignored(vm)) return;
    const key = queueKey("vm", ns, name);
    const vmi = this.backend.get("vmi", ns, name);
    // A same-named VMI this VM does not control (a previous VM's, still shutting down): wait until it is gone.
    if (vmi && controllerOf(vmi, "VirtualMachine")?.uid !== vm.metadata.uid) return;
    const volumes = await this.syncDataVolumes(vm, key);
    if (volumes.stale) return;
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
    if (pass.deleteVmi && vmi) await this.stopVmi(vm, vmi, key);
    if (pass.createVmi) {
      if (!(await this.stillCurrent(vm, key))) return;
      await this.startVmi(vm, key);
    }
    if (pass.recheckAt !== undefined) this.queue.addAfter(key, pass.recheckAt - now);

    const latest = this.backend.get("vm", ns, name);
    if (!latest) return;
    const current = this.backend.get("vmi", ns, name);
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
    await this.write(key, () =>
      this.backend.updateStatus("vm", ns, name, { ...latest, status }, this.as("virt-controller")),
    );
  }

  /**
   * True when the server still has this VM (same uid, not being deleted). Caches of different kinds lag each
   * other, so a VM whose deletion the VM cache has not heard of yet would otherwise get its children again.
   */
  private async stillCurrent(vm: KObject, key: string): Promise<boolean> {
    try {
      const live = await this.backend.confirm("vm", vm.metadata.namespace, vm.metadata.name);
      return live?.metadata.uid === vm.metadata.uid && live.metadata.deletionTimestamp === undefined;
    } catch (err) {
      this.failed(key, err);
      return false;
    }
  }

  /**
   * Creates missing DataVolumes of the VM's templates; reports whether all succeeded, and `stale` when the VM
   * turned out to be gone (or replaced) before one was created.
   */
  private async syncDataVolumes(
    vm: KObject,
    key: string,
  ): Promise<{ ready: boolean; provisioning: boolean; stale: boolean }> {
    const templates = recs(rec(vm.spec)?.dataVolumeTemplates);
    let ready = true;
    let confirmed = false;
    for (const template of templates) {
      const body = dataVolumeFromTemplate(vm, template);
      if (!body) continue;
      const name = String(rec(body.metadata)?.name);
      let dv = this.backend.get("dv", vm.metadata.namespace, name);
      if (!dv && vm.metadata.deletionTimestamp === undefined) {
        if (!confirmed && !(await this.stillCurrent(vm, key))) {
          return { ready: false, provisioning: true, stale: true };
        }
        confirmed = true;
        dv = await this.write(key, () =>
          this.backend.create("dv", vm.metadata.namespace, body, this.as("virt-controller")),
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
    return { ready, provisioning: !ready, stale: false };
  }

  private async startVmi(vm: KObject, key: string): Promise<void> {
    const ns = vm.metadata.namespace ?? "";
    const body = vmiFromVm(vm);
    const pending = vmiInPhase(body as KObject, "Pending", this.nowIso());
    try {
      const created = await this.backend.create("vmi", ns, pending, this.as("virt-controller"));
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
      if (expectedTransient(err))
        log.debug({ err, vm: `${ns}/${vm.metadata.name}` }, "VMI create refused for now");
      else log.warn({ err, vm: `${ns}/${vm.metadata.name}` }, "VMI create failed");
      this.queue.addAfter(key, this.options.timings.retryMs);
    }
  }

  private async stopVmi(vm: KObject, vmi: KObject, key: string): Promise<void> {
    const deleted = await this.write(key, () =>
      this.backend.delete("vmi", vmi.metadata.namespace, vmi.metadata.name, { uid: vmi.metadata.uid }),
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

  private async syncVmi(ns: string, name: string): Promise<void> {
    const vmi = this.backend.get("vmi", ns, name);
    if (!vmi) return;
    const key = queueKey("vmi", ns, name);
    if (ignored(vmi)) {
      // Left alone, but never left hanging on the finalizer this simulator may have put there earlier.
      if (vmi.metadata.deletionTimestamp !== undefined) await this.dropFinalizer(vmi, key);
      return;
    }
    this.countLaunch(vmi);
    const pod = this.launcherPodOf(vmi);
    if (vmi.metadata.deletionTimestamp !== undefined) {
      await this.shutDown(vmi, pod, key);
      return;
    }
    const phase = phaseOf(vmi);
    const t = this.options.timings;
    switch (phase) {
      case "":
        await this.writeVmiPhase(key, vmi, "Pending", {}, true);
        return;
      case "Pending":
        if (this.waited(vmi, phase, t.pendingMs, key)) await this.scheduleVmi(vmi, pod, key);
        return;
      case "Scheduling":
        if (!pod) await this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        else if (this.waited(vmi, phase, t.schedulingMs, key)) await this.bindVmi(vmi, pod, key);
        return;
      case "Scheduled":
        if (!pod) await this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        else if (this.waited(vmi, phase, t.scheduledMs, key)) await this.runVmi(vmi, pod, key);
        return;
      case "Running":
        if (!pod) await this.failVmi(vmi, undefined, key, "virt-launcher pod disappeared");
        return;
      default:
        return;
    }
  }

  /** Pending → Scheduling: the launcher pod is created and bound to a seeded-random node. */
  private async scheduleVmi(vmi: KObject, existing: KObject | undefined, key: string): Promise<void> {
    let pod = existing;
    if (!pod) {
      const node = this.nodeFor(vmi);
      const body = launcherPod(vmi, this.podNameFor(vmi), node);
      pod = await this.write(key, () =>
        this.backend.create("pod", vmi.metadata.namespace, body, this.as("virt-controller")),
      );
      if (!pod) return;
      this.record(
        vmi,
        "Normal",
        "SuccessfulCreate",
        `Created virtual machine pod ${pod.metadata.name}`,
        VM_CONTROLLER,
      );
      pod = (await this.writePodStatus(key, pod, "Pending")) ?? pod;
    }
    await this.writeVmiPhase(key, vmi, "Scheduling", { podExists: true });
  }

  /** Scheduling → Scheduled: the pod runs (1/2 ready) with its IP; the VMI learns its node. */
  private async bindVmi(vmi: KObject, pod: KObject, key: string): Promise<void> {
    const ip = this.allocateIp(vmi);
    if (!(await this.writePodStatus(key, pod, "Started", ip))) return;
    const node = str(rec(pod.spec)?.nodeName) ?? this.nodeFor(vmi);
    await this.writeVmiPhase(key, vmi, "Scheduled", {
      podExists: true,
      nodeName: node,
      podUid: pod.metadata.uid,
    });
  }

  /** Scheduled → Running (2/2, Ready) or, for a failed start, Failed. */
  private async runVmi(vmi: KObject, pod: KObject, key: string): Promise<void> {
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
      await this.failVmi(vmi, pod, key, "simulated start failure");
      return;
    }
    const ip = this.allocateIp(vmi);
    if (!(await this.writePodStatus(key, pod, "Ready", ip))) return;
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
    const running = await this.writeVmiPhase(key, vmi, "Running", { podExists: true, ip, mac });
    if (running) {
      this.record(running, "Normal", "Created", "VirtualMachineInstance defined.", VIRT_HANDLER, node);
      this.record(running, "Normal", "Started", "VirtualMachineInstance started.", VIRT_HANDLER, node);
    }
  }

  private async failVmi(vmi: KObject, pod: KObject | undefined, key: string, why: string): Promise<void> {
    if (pod) await this.writePodStatus(key, pod, "Failed", this.ipOf.get(vmi.metadata.uid));
    const failed = await this.writeVmiPhase(key, vmi, "Failed", { podExists: pod !== undefined });
    if (failed) log.debug({ vmi: `${vmi.metadata.namespace}/${vmi.metadata.name}`, why }, "VMI failed");
  }

  /** A deleted VMI: graceful shutdown (Succeeded after `stopMs`), then the pod goes and the finalizer is dropped. */
  private async shutDown(vmi: KObject, pod: KObject | undefined, key: string): Promise<void> {
    const phase = phaseOf(vmi);
    const node = str(rec(vmi.status)?.nodeName);
    if (!isFinalPhase(phase)) {
      const firstLook = this.stageSince.get(vmi.metadata.uid)?.stage !== "Deleting";
      if (firstLook && phase === "Running") {
        this.record(vmi, "Normal", "ShuttingDown", "Signaled Graceful Shutdown", VIRT_HANDLER, node);
      }
      if (!this.waited(vmi, "Deleting", this.options.timings.stopMs, key)) return;
      if (pod) await this.deletePod(pod, key);
      const stopped = await this.writeVmiPhase(key, vmi, "Succeeded", { podExists: false });
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
    if (pod) await this.deletePod(pod, key);
    await this.dropFinalizer(vmi, key);
  }

  /** Removes VMI_FINALIZER (the last look at a deleted VMI: the API server then removes it). */
  private async dropFinalizer(vmi: KObject, key: string): Promise<void> {
    const finalizers = vmi.metadata.finalizers ?? [];
    if (!finalizers.includes(VMI_FINALIZER)) return;
    const remaining = finalizers.filter((f) => f !== VMI_FINALIZER);
    const metadata = { ...vmi.metadata, finalizers: remaining };
    if (remaining.length === 0) delete (metadata as { finalizers?: string[] }).finalizers;
    await this.write(key, () =>
      this.backend.update(
        "vmi",
        vmi.metadata.namespace,
        vmi.metadata.name,
        { ...vmi, metadata },
        this.as("virt-handler"),
      ),
    );
  }

  private async writeVmiPhase(
    key: string,
    vmi: KObject,
    phase: string,
    details: Parameters<typeof vmiInPhase>[3],
    addFinalizer = false,
  ): Promise<KObject | undefined> {
    const next = vmiInPhase(vmi, phase, this.nowIso(), details);
    if (addFinalizer && !(next.metadata.finalizers ?? []).includes(VMI_FINALIZER)) {
      next.metadata = { ...next.metadata, finalizers: [...(next.metadata.finalizers ?? []), VMI_FINALIZER] };
    }
    const written = await this.write(key, () =>
      this.backend.update(
        "vmi",
        vmi.metadata.namespace,
        vmi.metadata.name,
        next,
        this.as(phase === "Running" || phase === "Succeeded" ? "virt-handler" : "virt-controller"),
      ),
    );
    if (written) this.markStage(written, phase);
    return written;
  }

  private writePodStatus(
    key: string,
    pod: KObject,
    stage: PodStage,
    podIP?: string,
  ): Promise<KObject | undefined> {
    const node = str(rec(pod.spec)?.nodeName) ?? "";
    const status = launcherPodStatus(pod, {
      stage,
      nowIso: this.nowIso(),
      hostIP: hostIpOf(this.options.nodes, node),
      podIP: stage === "Pending" ? undefined : podIP,
      containerIds: (name) =>
        `containerd://${hexString(this.draw, 64, "container", pod.metadata.name, name)}`,
    });
    return this.write(key, () =>
      this.backend.updateStatus(
        "pod",
        pod.metadata.namespace,
        pod.metadata.name,
        { ...pod, status },
        this.as("kubelet"),
      ),
    );
  }

  /** Deletes a launcher pod at once: its containers are stopped (grace 0, as the kubelet confirms). */
  private async deletePod(pod: KObject, key: string): Promise<void> {
    await this.write(key, () =>
      this.backend.delete("pod", pod.metadata.namespace, pod.metadata.name, {
        uid: pod.metadata.uid,
        gracePeriodSeconds: 0,
      }),
    );
  }

  /** The kubelet's part of a graceful pod deletion on a simulated node: nothing runs, so it is over at once. */
  private async syncTerminatingPod(ns: string, name: string): Promise<void> {
    const pod = this.backend.get("pod", ns, name);
    if (!pod || pod.metadata.deletionTimestamp === undefined) return;
    await this.deletePod(pod, queueKey("pod", ns, name));
  }

  private launcherPodOf(vmi: KObject): KObject | undefined {
    const ns = vmi.metadata.namespace ?? "";
    const name = this.launcherPods.get(`${ns}/${vmi.metadata.name}`);
    if (name === undefined) return undefined;
    const pod = this.backend.get("pod", ns, name);
    return pod && controllerOf(pod, "VirtualMachineInstance")?.uid === vmi.metadata.uid ? pod : undefined;
  }

  private startFails(vmi: KObject): boolean {
    const flag = SIMULATOR_ANNOTATIONS.failStart;
    if (vmi.metadata.annotations?.[flag] === "true") return true;
    const owner = controllerOf(vmi, "VirtualMachine");
    const vm = owner ? this.backend.get("vm", vmi.metadata.namespace, owner.name) : undefined;
    if (vm?.metadata.annotations?.[flag] === "true") return true;
    const rate = this.options.startFailureRate;
    return (
      rate > 0 &&
      this.draw("fail", vmi.metadata.namespace ?? "", vmi.metadata.name, this.launchOf(vmi)) < rate
    );
  }

  // ---- DataVolume (CDI) ----------------------------------------------------------------------------------

  private async syncDataVolume(ns: string, name: string): Promise<void> {
    const dv = this.backend.get("dv", ns, name);
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
    const written = await this.write(key, () =>
      this.backend.updateStatus(
        "dv",
        ns,
        name,
        { ...dv, status: dataVolumeStatus(dv, next, progress, this.nowIso()) },
        this.as("cdi-controller"),
      ),
    );
    if (written && next !== phase) this.markStage(written, next);
  }

  // ---- Services → Endpoints (kube-controller-manager, embedded cluster only) ----------------------------

  private async syncService(ns: string, name: string): Promise<void> {
    if (!this.backend.writesEndpoints) return;
    const id = `${ns}/${name}`;
    const svc = this.backend.get("svc", ns, name);
    const ep = this.backend.get("ep", ns, name);
    const key = queueKey("svc", ns, name);
    const selector = svc ? serviceSelector(svc) : undefined;
    if (!svc || !selector) {
      if (ep && this.managedEndpoints.has(id)) {
        await this.write(key, () => this.backend.delete("ep", ns, name));
      }
      this.managedEndpoints.delete(id);
      return;
    }
    this.managedEndpoints.add(id);
    const targets: EndpointTarget[] = [];
    for (const vmi of this.backend.list("vmi", ns)) {
      if (!vmiReady(vmi) || !selects(selector, vmi)) continue;
      const ip = vmiIp(vmi);
      if (ip === undefined) continue;
      targets.push({ vmi, ip, nodeName: str(rec(vmi.status)?.nodeName), pod: this.launcherPodOf(vmi) });
    }
    const wanted = endpointsFor(svc, targets);
    if (!ep) {
      await this.write(key, () => this.backend.create("ep", ns, wanted, this.as("kube-controller-manager")));
      return;
    }
    const labels = rec(wanted.metadata)?.labels;
    if (isDeepStrictEqual(wanted.subsets, ep.subsets) && isDeepStrictEqual(labels, ep.metadata.labels))
      return;
    const next: Json = { ...ep, metadata: { ...ep.metadata, labels } };
    if (labels === undefined) delete (next.metadata as Json).labels;
    if (wanted.subsets === undefined) delete next.subsets;
    else next.subsets = wanted.subsets;
    await this.write(key, () =>
      this.backend.update("ep", ns, name, next, this.as("kube-controller-manager")),
    );
  }

  // ---- Nodes (the kubelet's registration and heartbeat) --------------------------------------------------

  /** Registers the node if missing, reports it Ready, and starts its heartbeat. */
  private async syncNode(name: string): Promise<void> {
    if (!this.nodesServed) return;
    const key = queueKey("node", "", name);
    let node = this.backend.get("node", undefined, name);
    if (!node) {
      node = await this.nodeWrite(key, () =>
        this.backend.create("node", undefined, nodeObject(name), this.as("kubelet")),
      );
      if (!node) return;
    }
    const status = nodeStatus(node, hostIpOf(this.options.nodes, name), this.nowIso());
    if (!isDeepStrictEqual(status, node.status)) {
      const written = await this.nodeWrite(key, () =>
        this.backend.updateStatus("node", undefined, name, { ...node, status }, this.as("kubelet")),
      );
      if (!written) return;
    }
    this.queue.add(queueKey("lease", NODE_LEASE_NAMESPACE, name));
  }

  /** Renews (or creates) the node's Lease, then looks again a renewal interval later. */
  private async renewLease(name: string): Promise<void> {
    const node = this.backend.get("node", undefined, name);
    if (!this.nodesServed || !node) return;
    const key = queueKey("lease", NODE_LEASE_NAMESPACE, name);
    const renewTime = microTime(this.now());
    try {
      await this.backend.patch(
        "lease",
        NODE_LEASE_NAMESPACE,
        name,
        { spec: { renewTime } },
        this.as("kubelet"),
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) {
        if (!expectedTransient(err)) log.warn({ err, node: name }, "node lease renewal failed");
        this.queue.addAfter(key, this.options.timings.retryMs);
        return;
      }
      const created = await this.write(key, () =>
        this.backend.create("lease", NODE_LEASE_NAMESPACE, nodeLease(node, renewTime), this.as("kubelet")),
      );
      if (!created) return;
    }
    this.queue.addAfter(key, this.options.timings.nodeLeaseMs);
  }

  /** A node write; a 404 from the nodes resource itself means this cluster serves no Nodes (logged once). */
  private async nodeWrite(key: string, fn: () => Promise<KObject>): Promise<KObject | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) {
        this.nodesServed = false;
        log.info("the cluster serves no Nodes: VMIs are placed on node names without Node objects");
        return undefined;
      }
      return this.failed(key, err);
    }
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

  private podNameFor(vmi: KObject): string {
    const ns = vmi.metadata.namespace ?? "";
    const prefix = `virt-launcher-${vmi.metadata.name}-`.slice(0, MAX_GENERATED_PREFIX);
    for (let i = 0; ; i++) {
      const name = prefix + nameSuffix(this.draw, "pod", ns, vmi.metadata.name, this.launchOf(vmi), i);
      if (!this.backend.get("pod", ns, name)) return name;
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
  private async write<T>(key: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      return this.failed(key, err);
    }
  }

  private failed(key: string, err: unknown): undefined {
    // Writes in flight when the simulator stopped end with the aborted connection: nothing to report.
    if (this.stopped) return undefined;
    if (err instanceof ApiError && err.code === 409) {
      this.queue.add(key);
      return undefined;
    }
    if (expectedTransient(err)) log.debug({ err, key }, "simulator write refused for now");
    else log.warn({ err, key }, "simulator write failed");
    this.queue.addAfter(key, this.options.timings.retryMs);
    return undefined;
  }

  /** Records an Event; never waits for it, and a lost one is only logged. */
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
    this.backend.create("event", obj.metadata.namespace, body).catch((err: unknown) => {
      if (!this.stopped) log.debug({ err, reason }, "event not recorded");
    });
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
  setCpuLoad(namespace: string, vmiName: string, percent: number): Promise<void> {
    return this.inner.setCpuLoad(namespace, vmiName, percent);
  }
  crash(namespace: string, vmiName: string): Promise<void> {
    return this.inner.crash(namespace, vmiName);
  }
}

/**
 * Starts the KubeVirt simulator on a local cluster's registry and store. With `enabled: false` nothing is
 * simulated (the returned object only reads and writes CPU-load annotations).
 */
/**
 * Starts the simulator on the embedded cluster; its writes go through `writes` (the cluster's admitted writes,
 * so webhooks see them), or straight to the registry with no webhooks when not given.
 */
export function startSimulator(
  registry: Registry,
  store: Store,
  options: SimulatorOptions = {},
  writes: AdmittedWrites = new AdmittedWrites(registry, new WebhookDispatcher(store)),
): Simulator {
  const backend = new EmbeddedBackend(writes, store, () => registry.now().getTime());
  const simulator = new KubevirtSimulator(backend, options);
  if (options.enabled === false) return new InertSimulator(simulator);
  simulator.start();
  return simulator;
}
