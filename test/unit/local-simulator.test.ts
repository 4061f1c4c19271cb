/**
 * The KubeVirt simulator driven in process on a fresh store and registry (plus the garbage collector), with fake
 * timers so every phase step is deterministic. Asserts what `kubectl get vm,vmi,pods,dv,ep` would show.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { GarbageCollector } from "../../infra/local/gc";
import { Registry } from "../../infra/local/registry";
import { RESOURCES, type ResourceDef } from "../../infra/local/resources";
import { type SimulatorOptions, type SimulatorTimings, startSimulator } from "../../infra/local/simulator";
import { type PrintableInput, planVmPass, printableStatus } from "../../infra/local/simulator/vm";
import { type ChangeEvent, type KObject, Store } from "../../infra/local/store";

type Json = Record<string, unknown>;

const def = (group: string, plural: string): ResourceDef => {
  const found = RESOURCES.find((r) => r.group === group && r.plural === plural);
  if (!found) throw new Error(plural);
  return found;
};
const VM = def("kubevirt.io", "virtualmachines");
const VMI = def("kubevirt.io", "virtualmachineinstances");
const DV = def("cdi.kubevirt.io", "datavolumes");
const SVC = def("", "services");

const FAST: Partial<SimulatorTimings> = {
  debounceMs: 1,
  pendingMs: 10,
  schedulingMs: 10,
  scheduledMs: 10,
  stopMs: 10,
  dvPendingMs: 10,
  dvScheduledMs: 10,
  dvImportMs: 40,
  crashLoopBaseMs: 1000,
  crashLoopMaxMs: 30_000,
  endpointsDelayMs: 5,
  retryMs: 100,
};

const EXAMPLES = join(import.meta.dirname, "../../examples");

function vmBody(
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Json } = {},
) {
  const labels = extra.labels ?? { "kubevirt.io/vmpool": "vm-pool-cirros" };
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachine",
    metadata: { name, labels, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      runStrategy: "Always",
      template: {
        metadata: { creationTimestamp: null, labels, annotations: { "example.com/note": "from-template" } },
        spec: {
          domain: {
            devices: { disks: [{ name: "containerdisk", disk: { bus: "virtio" } }] },
            resources: { requests: { memory: "128Mi" } },
          },
          volumes: [
            { name: "containerdisk", containerDisk: { image: "kubevirt/cirros-container-disk-demo:latest" } },
          ],
        },
      },
      ...extra.spec,
    },
  };
}

interface Env {
  store: Store;
  registry: Registry;
  sim: ReturnType<typeof startSimulator>;
  gc: GarbageCollector;
  changes: ChangeEvent[];
}

let env: Env | undefined;

function setup(options: SimulatorOptions = {}): Env {
  vi.useFakeTimers({
    now: new Date("2026-03-01T10:00:00Z"),
    toFake: [
      "setTimeout",
      "clearTimeout",
      "setImmediate",
      "clearImmediate",
      "setInterval",
      "clearInterval",
      "Date",
    ],
  });
  const store = new Store();
  const registry = new Registry(store);
  registry.seedNamespaces();
  const changes: ChangeEvent[] = [];
  store.subscribeAll((e) => changes.push(e));
  const gc = new GarbageCollector(store, registry);
  const sim = startSimulator(registry, store, { seed: 7, timings: FAST, ...options });
  env = { store, registry, sim, gc, changes };
  return env;
}

afterEach(() => {
  env?.sim.stop();
  env?.gc.stop();
  env = undefined;
  vi.useRealTimers();
});

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

function get(e: Env, d: ResourceDef, name: string, ns = "default"): KObject | undefined {
  return e.store.get(d.group === "" ? d.plural : `${d.plural}.${d.group}`, ns, name)?.obj;
}

function list(e: Env, key: string, ns = "default"): KObject[] {
  return e.store.list(key, ns).map((x) => x.obj);
}

const status = (obj: KObject | undefined): Json => (obj?.status ?? {}) as Json;
const conditions = (obj: KObject | undefined): Json[] => (status(obj).conditions ?? []) as Json[];
const condition = (obj: KObject | undefined, type: string) => conditions(obj).find((c) => c.type === type);

/** The distinct consecutive values a field took on one object, from the store's change events. */
function history(e: Env, resource: string, name: string, read: (o: KObject) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const c of e.changes) {
    if (c.resource !== resource || c.entry.obj.metadata.name !== name || c.type === "DELETED") continue;
    const v = read(c.entry.obj);
    if (v !== undefined && out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

const phase = (o: KObject) => (o.status as Json | undefined)?.phase;
const printable = (o: KObject) => (o.status as Json | undefined)?.printableStatus;

function launcherPodOf(e: Env, vmi: KObject): KObject | undefined {
  return list(e, "pods").find((p) => p.metadata.ownerReferences?.some((r) => r.uid === vmi.metadata.uid));
}

function eventsFor(e: Env, name: string): Json[] {
  return list(e, "events").filter((ev) => (ev.involvedObject as Json).name === name) as unknown as Json[];
}

function setRunStrategy(e: Env, name: string, runStrategy: string): void {
  const vm = get(e, VM, name) as KObject;
  e.registry.update(
    VM,
    "v1",
    "default",
    name,
    { ...vm, spec: { ...(vm.spec as Json), runStrategy } },
    undefined,
  );
}

describe("VirtualMachine → VirtualMachineInstance", () => {
  it("starts a VMI that goes Pending → Scheduling → Scheduled → Running, and the VM status follows", async () => {
    const e = setup();
    const vm = e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);

    const vmi = get(e, VMI, "demo") as KObject;
    expect(vmi.metadata.labels).toEqual({
      "kubevirt.io/vmpool": "vm-pool-cirros",
      "kubevirt.io/nodeName": status(vmi).nodeName,
    });
    expect(vmi.metadata.annotations).toEqual({
      "example.com/note": "from-template",
      "kubevirt.io/vm-generation": "1",
    });
    expect(vmi.metadata.ownerReferences).toEqual([
      {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachine",
        name: "demo",
        uid: vm.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(vmi.spec).toEqual(((vm.spec as Json).template as Json).spec);
    expect(history(e, "virtualmachineinstances.kubevirt.io", "demo", phase)).toEqual([
      "Pending",
      "Scheduling",
      "Scheduled",
      "Running",
    ]);
    const s = status(vmi);
    expect((s.phaseTransitionTimestamps as Json[]).map((p) => p.phase)).toEqual([
      "Pending",
      "Scheduling",
      "Scheduled",
      "Running",
    ]);
    expect(["node01", "node02"]).toContain(s.nodeName);
    const iface = (s.interfaces as Json[])[0] as Json;
    expect(iface.ipAddress).toMatch(/^10\.244\.\d{1,3}\.\d{1,3}$/);
    expect(iface.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(condition(vmi, "Ready")?.status).toBe("True");
    expect(condition(vmi, "LiveMigratable")?.status).toBe("True");

    const vmNow = get(e, VM, "demo");
    expect(history(e, "virtualmachines.kubevirt.io", "demo", printable)).toEqual(["Starting", "Running"]);
    expect(status(vmNow)).toMatchObject({
      printableStatus: "Running",
      ready: true,
      created: true,
      runStrategy: "Always",
    });
    expect(condition(vmNow, "Ready")).toMatchObject({ status: "True", lastProbeTime: null });

    const created = eventsFor(e, "demo").find(
      (ev) => ev.reason === "SuccessfulCreate" && (ev.involvedObject as Json).kind === "VirtualMachine",
    );
    expect(created).toMatchObject({
      type: "Normal",
      message: "Started the virtual machine by creating the new virtual machine instance demo",
      source: { component: "virtualmachine-controller" },
      count: 1,
      involvedObject: {
        kind: "VirtualMachine",
        namespace: "default",
        name: "demo",
        uid: vm.metadata.uid,
        apiVersion: "kubevirt.io/v1",
      },
    });
    expect((created?.metadata as Json | undefined)?.name).toMatch(/^demo\.[0-9a-f]+$/);
  });

  it("gives the running VMI a virt-launcher pod that is 2/2 Ready on the VMI's node and IP", async () => {
    const e = setup();
    e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);
    const vmi = get(e, VMI, "demo") as KObject;
    const pod = launcherPodOf(e, vmi) as KObject;
    expect(pod.metadata.name).toMatch(/^virt-launcher-demo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod.metadata.labels).toEqual({
      "kubevirt.io/vmpool": "vm-pool-cirros",
      "kubevirt.io": "virt-launcher",
      "kubevirt.io/created-by": vmi.metadata.uid,
      "vm.kubevirt.io/name": "demo",
    });
    expect(pod.metadata.annotations?.["kubevirt.io/domain"]).toBe("demo");
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "VirtualMachineInstance",
      name: "demo",
      controller: true,
    });
    const spec = pod.spec as Json;
    expect(spec.nodeName).toBe(status(vmi).nodeName);
    expect((spec.containers as Json[]).map((c) => c.name)).toEqual(["compute", "volumecontainerdisk"]);
    const ps = status(pod);
    expect(ps.phase).toBe("Running");
    expect(ps.podIP).toBe(((status(vmi).interfaces as Json[])[0] as Json).ipAddress);
    expect((ps.containerStatuses as Json[]).map((c) => c.ready)).toEqual([true, true]);
    expect(condition(pod, "Ready")?.status).toBe("True");
  });

  it("stops the VMI when the run strategy turns Halted: Stopping, then Stopped with no VMI or pod", async () => {
    const e = setup();
    e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);
    const vmi = get(e, VMI, "demo") as KObject;
    setRunStrategy(e, "demo", "Halted");
    await advance(200);

    expect(get(e, VMI, "demo")).toBeUndefined();
    expect(list(e, "pods")).toEqual([]);
    expect(history(e, "virtualmachineinstances.kubevirt.io", "demo", phase).slice(-2)).toEqual([
      "Running",
      "Succeeded",
    ]);
    expect(history(e, "virtualmachines.kubevirt.io", "demo", printable)).toEqual([
      "Starting",
      "Running",
      "Stopping",
      "Stopped",
    ]);
    const vm = get(e, VM, "demo");
    expect(status(vm).created).toBeUndefined();
    expect(status(vm).ready).toBeUndefined();
    expect(condition(vm, "Ready")).toMatchObject({
      status: "False",
      reason: "VMINotExists",
      message: "VMI does not exist",
    });
    const deleted = eventsFor(e, "demo").find((ev) => ev.reason === "SuccessfulDelete");
    expect(deleted?.message).toBe(
      `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid}`,
    );
  });

  it("lets the garbage collector remove the VMI and pod of a deleted VM, without writing the VM again", async () => {
    const e = setup();
    e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);
    e.registry.delete(VM, "v1", "default", "demo", { propagationPolicy: "Background" });
    await advance(200);
    expect(get(e, VM, "demo")).toBeUndefined();
    expect(get(e, VMI, "demo")).toBeUndefined();
    expect(list(e, "pods")).toEqual([]);
    const vmDeleted = e.changes.findIndex(
      (c) => c.resource === "virtualmachines.kubevirt.io" && c.type === "DELETED",
    );
    expect(e.changes.slice(vmDeleted + 1).some((c) => c.resource === "virtualmachines.kubevirt.io")).toBe(
      false,
    );
  });

  it("shows Terminating while a foreground deletion waits for the VMI, then the VM goes", async () => {
    const e = setup();
    e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);
    e.registry.delete(VM, "v1", "default", "demo", { propagationPolicy: "Foreground" });
    await advance(200);
    expect(get(e, VM, "demo")).toBeUndefined();
    expect(get(e, VMI, "demo")).toBeUndefined();
    expect(history(e, "virtualmachines.kubevirt.io", "demo", printable)).toEqual([
      "Starting",
      "Running",
      "Terminating",
    ]);
  });

  it("runs a stand-alone VMI created with generateName (as a replica set creates them)", async () => {
    const e = setup();
    const template = (vmBody("x").spec.template as Json).spec;
    const created = e.registry.create(VMI, "v1", "default", {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: { generateName: "testreplicaset", labels: { myvmi: "myvmi" } },
      spec: template,
    });
    expect(created.metadata.name).toMatch(/^testreplicaset[a-z0-9]{5}$/);
    await advance(200);
    const vmi = get(e, VMI, created.metadata.name) as KObject;
    expect(phase(vmi)).toBe("Running");
    expect(vmi.metadata.finalizers).toEqual(["kubevirt.io/foregroundDeleteVirtualMachine"]);
    expect(launcherPodOf(e, vmi)?.metadata.name).toMatch(
      new RegExp(`^virt-launcher-${created.metadata.name}-`),
    );

    e.registry.delete(VMI, "v1", "default", created.metadata.name, {});
    expect(get(e, VMI, created.metadata.name)?.metadata.deletionTimestamp).toBeDefined();
    await advance(200);
    expect(get(e, VMI, created.metadata.name)).toBeUndefined();
    expect(list(e, "pods")).toEqual([]);
  });

  it("ignores VMs annotated vmpool.local/simulate=false, and everything when disabled", async () => {
    const e = setup();
    e.registry.create(
      VM,
      "v1",
      "default",
      vmBody("left-alone", { annotations: { "vmpool.local/simulate": "false" } }),
    );
    await advance(200);
    expect(get(e, VMI, "left-alone")).toBeUndefined();
    expect(get(e, VM, "left-alone")?.status).toBeUndefined();
    e.sim.stop();

    const off = startSimulator(e.registry, e.store, { enabled: false, timings: FAST });
    e.registry.create(VM, "v1", "default", vmBody("off"));
    await advance(200);
    expect(get(e, VMI, "off")).toBeUndefined();
    off.stop();
  });

  it("clears every timer on stop()", async () => {
    const e = setup();
    for (let i = 0; i < 5; i++) e.registry.create(VM, "v1", "default", vmBody(`vm-${i}`));
    await advance(12);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    e.sim.stop();
    e.gc.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("DataVolumes", () => {
  it("creates the VM's DataVolumes, imports them, and starts the VMI only after they succeeded", async () => {
    const e = setup();
    const vm = e.registry.create(
      VM,
      "v1",
      "default",
      vmBody("fedora-0", {
        spec: {
          dataVolumeTemplates: [
            {
              metadata: { name: "fedora-dv-0" },
              spec: {
                source: { http: { url: "https://example.invalid/fedora.qcow2" } },
                storage: { resources: { requests: { storage: "5Gi" } } },
              },
            },
          ],
        },
      }),
    );
    await advance(300);

    const dv = get(e, DV, "fedora-dv-0") as KObject;
    expect(dv.metadata.ownerReferences).toEqual([
      {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachine",
        name: "fedora-0",
        uid: vm.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(history(e, "datavolumes.cdi.kubevirt.io", "fedora-dv-0", phase)).toEqual([
      "Pending",
      "ImportScheduled",
      "ImportInProgress",
      "Succeeded",
    ]);
    const progress = history(
      e,
      "datavolumes.cdi.kubevirt.io",
      "fedora-dv-0",
      (o) => (o.status as Json | undefined)?.progress,
    );
    expect(progress[0]).toBe("N/A");
    expect(progress).toContain("50.00%");
    expect(progress[progress.length - 1]).toBe("100.0%");
    expect(condition(dv, "Ready")?.status).toBe("True");

    expect(history(e, "virtualmachines.kubevirt.io", "fedora-0", printable)).toEqual([
      "Provisioning",
      "Starting",
      "Running",
    ]);
    const succeededAt =
      e.changes.find(
        (c) => c.resource === "datavolumes.cdi.kubevirt.io" && phase(c.entry.obj) === "Succeeded",
      )?.rv ?? 0;
    const vmiAddedAt =
      e.changes.find((c) => c.resource === "virtualmachineinstances.kubevirt.io" && c.type === "ADDED")?.rv ??
      0;
    expect(succeededAt).toBeGreaterThan(0);
    expect(vmiAddedAt).toBeGreaterThan(succeededAt);
  });
});

describe("Service Endpoints", () => {
  it("lists the Ready VMIs matching the selector, on the target port, and follows them", async () => {
    const e = setup();
    const svc = parse(readFileSync(join(EXAMPLES, "vm-pool-cirros-ssh.yaml"), "utf8")) as Json;
    e.registry.create(SVC, "v1", "default", svc);
    e.registry.create(VM, "v1", "default", vmBody("vm-pool-cirros-0"));
    e.registry.create(VM, "v1", "default", vmBody("vm-pool-cirros-1"));
    e.registry.create(VM, "v1", "default", vmBody("other", { labels: { app: "other" } }));
    await advance(200);

    const ipOf = (name: string) =>
      ((status(get(e, VMI, name)).interfaces as Json[])[0] as Json).ipAddress as string;
    const ep = get(e, { ...SVC, plural: "endpoints" }, "vm-pool-cirros-ssh") as KObject;
    const subsets = ep.subsets as Json[];
    expect(subsets).toHaveLength(1);
    const addresses = (subsets[0] as Json).addresses as Json[];
    expect(new Set(addresses.map((a) => a.ip))).toEqual(
      new Set([ipOf("vm-pool-cirros-0"), ipOf("vm-pool-cirros-1")]),
    );
    expect(addresses.map((a) => (a.targetRef as Json).kind)).toEqual(["Pod", "Pod"]);
    expect((subsets[0] as Json).ports).toEqual([{ port: 22, protocol: "TCP" }]);

    setRunStrategy(e, "vm-pool-cirros-1", "Halted");
    await advance(200);
    const after = get(e, { ...SVC, plural: "endpoints" }, "vm-pool-cirros-ssh") as KObject;
    expect((((after.subsets as Json[])[0] as Json).addresses as Json[]).map((a) => a.ip)).toEqual([
      ipOf("vm-pool-cirros-0"),
    ]);

    e.registry.delete(SVC, "v1", "default", "vm-pool-cirros-ssh", {});
    await advance(50);
    expect(get(e, { ...SVC, plural: "endpoints" }, "vm-pool-cirros-ssh")).toBeUndefined();
  });
});

describe("failures and crash-loop backoff", () => {
  it("fails every start of a VM annotated fail-start, counting consecutive failures with a backoff", async () => {
    const e = setup();
    e.registry.create(
      VM,
      "v1",
      "default",
      vmBody("broken", { annotations: { "vmpool.local/fail-start": "true" } }),
    );
    await advance(200);
    const first = e.changes.find(
      (c) => c.resource === "virtualmachineinstances.kubevirt.io" && phase(c.entry.obj) === "Failed",
    )?.entry.obj;
    expect(first).toBeDefined();
    const vm1 = get(e, VM, "broken");
    expect(status(vm1).startFailure).toMatchObject({
      consecutiveFailCount: 1,
      lastFailedVMIUID: first?.metadata.uid,
    });
    expect(status(vm1).printableStatus).toBe("CrashLoopBackOff");
    expect(get(e, VMI, "broken")).toBeUndefined();
    const retryAfter = Date.parse((status(vm1).startFailure as Json).retryAfterTimestamp as string);
    expect(retryAfter).toBeGreaterThan(Date.now());
    const warning = eventsFor(e, "broken").find((ev) => ev.reason === "SyncFailed");
    expect(warning).toMatchObject({ type: "Warning", source: { component: "virt-handler" } });

    await advance(retryAfter - Date.now() + 200);
    const vm2 = get(e, VM, "broken");
    expect((status(vm2).startFailure as Json).consecutiveFailCount).toBe(2);
    expect((status(vm2).startFailure as Json).lastFailedVMIUID).not.toBe(first?.metadata.uid);

    // Healing the VM: the next start succeeds and resets the record.
    const vm = get(e, VM, "broken") as KObject;
    e.registry.update(
      VM,
      "v1",
      "default",
      "broken",
      { ...vm, metadata: { ...vm.metadata, annotations: {} } },
      undefined,
    );
    await advance(30_000);
    expect(status(get(e, VM, "broken")).printableStatus).toBe("Running");
    expect(status(get(e, VM, "broken")).startFailure).toBeUndefined();
  });

  it("restarts a crashed VMI of an Always VM after a backoff", async () => {
    const e = setup();
    e.registry.create(VM, "v1", "default", vmBody("demo"));
    await advance(200);
    const before = get(e, VMI, "demo") as KObject;
    e.sim.crash("default", "demo");
    await advance(100);
    expect(status(get(e, VM, "demo"))).toMatchObject({
      printableStatus: "CrashLoopBackOff",
      startFailure: { consecutiveFailCount: 1, lastFailedVMIUID: before.metadata.uid },
    });
    await advance(5000);
    const after = get(e, VMI, "demo") as KObject;
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(phase(after)).toBe("Running");
    expect(status(get(e, VM, "demo")).startFailure).toBeUndefined();
  });

  it("is reproducible: the same seed gives the same nodes, IPs, pod names and failures", async () => {
    const run = async (seed: number) => {
      const e = setup({ seed, startFailureRate: 0.4 });
      for (let i = 0; i < 12; i++) e.registry.create(VM, "v1", "default", vmBody(`vm-${i}`));
      await advance(300);
      const out = list(e, "virtualmachines.kubevirt.io").map((vm) => {
        const vmi = get(e, VMI, vm.metadata.name);
        return {
          name: vm.metadata.name,
          failures:
            ((status(vm).startFailure as Json | undefined)?.consecutiveFailCount as number | undefined) ?? 0,
          node: vmi ? status(vmi).nodeName : undefined,
          ip:
            vmi && status(vmi).interfaces
              ? ((status(vmi).interfaces as Json[])[0] as Json).ipAddress
              : undefined,
          pod: vmi ? launcherPodOf(e, vmi)?.metadata.name : undefined,
        };
      });
      e.sim.stop();
      e.gc.stop();
      vi.useRealTimers();
      return out;
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const failed = a.filter((x) => x.failures > 0).length;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(12);
    const ips = a.map((x) => x.ip).filter((ip) => ip !== undefined);
    expect(new Set(ips).size).toBe(ips.length);
  });
});

describe("CPU load", () => {
  it("averages the vmpool.local/cpu-load annotations of the Ready VMIs behind a selector", async () => {
    const e = setup({ defaultCpuLoad: 10 });
    e.registry.create(VM, "v1", "default", vmBody("vm-pool-cirros-0"));
    e.registry.create(VM, "v1", "default", vmBody("vm-pool-cirros-1"));
    e.registry.create(VM, "v1", "default", vmBody("other", { labels: { app: "other" } }));
    expect(e.sim.cpuLoad("default", "kubevirt.io/vmpool=vm-pool-cirros")).toEqual({
      namespace: "default",
      count: 0,
      averagePercent: undefined,
      vmis: [],
    });
    await advance(200);
    e.sim.setCpuLoad("default", "vm-pool-cirros-1", 90);
    expect(get(e, VMI, "vm-pool-cirros-1")?.metadata.annotations?.["vmpool.local/cpu-load"]).toBe("90");
    const sample = e.sim.cpuLoad("default", { matchLabels: { "kubevirt.io/vmpool": "vm-pool-cirros" } });
    expect(sample.count).toBe(2);
    expect(sample.averagePercent).toBe(50);
    expect(sample.vmis).toEqual([
      { name: "vm-pool-cirros-0", percent: 10 },
      { name: "vm-pool-cirros-1", percent: 90 },
    ]);
    expect(e.sim.cpuLoad("default").count).toBe(3);
    expect(() => e.sim.setCpuLoad("default", "vm-pool-cirros-0", -1)).toThrow(/CPU load/);
  });
});

describe("VM run strategies (pure pass)", () => {
  const base = (spec: Json, st: Json = {}): KObject =>
    ({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: {
        name: "vm",
        namespace: "default",
        uid: "vm-uid",
        resourceVersion: "1",
        creationTimestamp: "",
      },
      spec,
      status: st,
    }) as KObject;
  const vmiIn = (p: string, deleting = false): KObject =>
    ({
      metadata: {
        name: "vm",
        uid: "vmi-uid",
        resourceVersion: "1",
        creationTimestamp: "",
        ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
      },
      status: { phase: p },
    }) as KObject;
  const now = Date.parse("2026-01-01T00:00:00Z");
  const pass = (vm: KObject, vmi: KObject | undefined, dataVolumesReady = true) =>
    planVmPass({
      vm,
      vmi,
      dataVolumesReady,
      now,
      backoffMs: () => 10_000,
      formatTime: (ms) => new Date(ms).toISOString(),
    });

  it.each([
    // Always with no VMI creates one.
    [{ runStrategy: "Always" }, undefined, {}, { strategy: "Always", createVmi: true, deleteVmi: false }],
    // running: true is Always.
    [{ running: true }, undefined, {}, { strategy: "Always", createVmi: true }],
    // running: false is Halted: nothing starts.
    [{ running: false }, undefined, {}, { strategy: "Halted", createVmi: false, startExpected: false }],
    // Halted deletes a live VMI.
    [{ runStrategy: "Halted" }, "Running", {}, { createVmi: false, deleteVmi: true }],
    // Once never restarts a final VMI.
    [{ runStrategy: "Once" }, "Failed", {}, { createVmi: false, deleteVmi: false }],
    // RerunOnFailure deletes a failed VMI and asks for a start.
    [{ runStrategy: "RerunOnFailure" }, "Failed", {}, { deleteVmi: true, startRequested: true }],
    // RerunOnFailure stays down after a success once the strategy is recorded.
    [{ runStrategy: "RerunOnFailure" }, undefined, { runStrategy: "RerunOnFailure" }, { createVmi: false }],
    // Manual starts only on a Start request, which the create consumes.
    [
      { runStrategy: "Manual" },
      undefined,
      { stateChangeRequests: [{ action: "Start" }] },
      { createVmi: true, startRequested: false },
    ],
    // Manual without a request stays down.
    [{ runStrategy: "Manual" }, undefined, {}, { createVmi: false }],
    // Always waits out a running backoff and looks again when it ends.
    [
      { runStrategy: "Always" },
      undefined,
      {
        startFailure: {
          consecutiveFailCount: 2,
          lastFailedVMIUID: "old",
          retryAfterTimestamp: "2026-01-01T00:01:00Z",
        },
      },
      { createVmi: false, startExpected: false, recheckAt: Date.parse("2026-01-01T00:01:00Z") },
    ],
  ] as const)("spec %j with VMI phase %s (status %j) → %j", (spec, vmiPhase, st, expected) => {
    const result = pass(base(spec as Json, st as Json), vmiPhase === undefined ? undefined : vmiIn(vmiPhase));
    expect(result).toMatchObject(expected);
  });

  it("does not create the VMI while DataVolumes are provisioning", () => {
    const result = pass(base({ runStrategy: "Always" }), undefined, false);
    expect(result).toMatchObject({ createVmi: false, startExpected: true });
  });

  it("counts a failed VMI once and clears the record when a VMI runs", () => {
    const failed = pass(base({ runStrategy: "Always" }), vmiIn("Failed"));
    expect(failed.startFailure).toEqual({
      consecutiveFailCount: 1,
      lastFailedVMIUID: "vmi-uid",
      retryAfterTimestamp: new Date(now + 10_000).toISOString(),
    });
    expect(failed.deleteVmi).toBe(true);
    const again = pass(
      base({ runStrategy: "Always" }, { startFailure: failed.startFailure }),
      vmiIn("Failed"),
    );
    expect(again.startFailure?.consecutiveFailCount).toBe(1);
    const running = pass(
      base({ runStrategy: "Always" }, { startFailure: failed.startFailure }),
      vmiIn("Running"),
    );
    expect(running.startFailure).toBeUndefined();
  });

  const printableCase = (over: Partial<PrintableInput>): PrintableInput => ({
    vm: base({ runStrategy: "Always" }),
    vmi: undefined,
    strategy: "Always",
    startExpected: false,
    provisioning: false,
    startFailure: undefined,
    ...over,
  });
  it.each([
    // A deleting VM is Terminating whatever its VMI does.
    [
      printableCase({
        vm: { ...base({}), metadata: { ...base({}).metadata, deletionTimestamp: "x" } },
        vmi: vmiIn("Running"),
      }),
      "Terminating",
    ],
    // A live VMI being deleted is Stopping.
    [printableCase({ vmi: vmiIn("Running", true) }), "Stopping"],
    // Running VMI.
    [printableCase({ vmi: vmiIn("Running") }), "Running"],
    // DataVolumes still importing.
    [printableCase({ provisioning: true, startExpected: true }), "Provisioning"],
    // A VMI on its way up.
    [printableCase({ vmi: vmiIn("Scheduling") }), "Starting"],
    // No VMI, restart held back by the backoff.
    [
      printableCase({
        startFailure: { consecutiveFailCount: 1, lastFailedVMIUID: "u", retryAfterTimestamp: "" },
      }),
      "CrashLoopBackOff",
    ],
    // Halted with nothing running.
    [printableCase({ strategy: "Halted" }), "Stopped"],
  ])("printableStatus %#: %s", (input, expected) => {
    expect(printableStatus(input)).toBe(expected);
  });
});
