/**
 * The KubeVirt simulator over the Kubernetes API, against the embedded cluster started without its in-process
 * simulator: every read the simulator makes is a list or watch over HTTP and every write an HTTP request, so what
 * it does here it does on any kube-apiserver. Objects are created in process (the registry) and checked in the
 * store, where the simulator cannot cheat.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { FaultConfig } from "../../infra/local";
import type { ResourceDef } from "../../infra/local/resources";
import { RESOURCES } from "../../infra/local/resources";
import {
  type ApiSimulator,
  type ApiSimulatorOptions,
  type SimulatorTimings,
  startApiSimulator,
} from "../../infra/local/simulator";
import type { ChangeEvent, KObject } from "../../infra/local/store";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

type Json = Record<string, unknown>;

const def = (group: string, plural: string): ResourceDef => {
  const found = RESOURCES.find((r) => r.group === group && r.plural === plural);
  if (!found) throw new Error(plural);
  return found;
};
const VM = def("kubevirt.io", "virtualmachines");
const VMI = def("kubevirt.io", "virtualmachineinstances");
const SVC = def("", "services");
const NS = def("", "namespaces");
const EVENT = def("", "events");
const KEY = {
  vm: "virtualmachines.kubevirt.io",
  vmi: "virtualmachineinstances.kubevirt.io",
  dv: "datavolumes.cdi.kubevirt.io",
  pod: "pods",
  ep: "endpoints",
  event: "events",
  ns: "namespaces",
} as const;

const FAST: Partial<SimulatorTimings> = {
  debounceMs: 1,
  pendingMs: 10,
  schedulingMs: 10,
  scheduledMs: 10,
  stopMs: 10,
  dvPendingMs: 10,
  dvScheduledMs: 10,
  dvImportMs: 40,
  crashLoopBaseMs: 50,
  crashLoopMaxMs: 200,
  retryMs: 30,
};

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
        metadata: { labels },
        spec: {
          domain: {
            devices: { disks: [{ name: "containerdisk", disk: { bus: "virtio" } }] },
            resources: { requests: { memory: "128Mi" }, overcommitGuestOverhead: true },
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
  readonly test: TestCluster;
  readonly sim: ApiSimulator;
  readonly changes: ChangeEvent[];
}

let current: { test: TestCluster; sim?: ApiSimulator } | undefined;

async function setup(
  options: Partial<ApiSimulatorOptions> = {},
  cluster: { historyLimit?: number; faults?: FaultConfig } = {},
): Promise<Env> {
  const test = await startTestCluster({ simulator: false, ...cluster });
  current = { test };
  const changes: ChangeEvent[] = [];
  test.cluster.store.subscribeAll((e) => changes.push(e));
  const sim = await startApiSimulator({
    kubeconfigPath: test.kubeconfig,
    seed: 7,
    timings: FAST,
    watchBackoff: { baseMs: 20, maxMs: 200 },
    ...options,
  });
  current.sim = sim;
  return { test, sim, changes };
}

afterEach(async () => {
  current?.sim?.stop();
  await current?.test.close();
  current = undefined;
});

/** `ns` "" for cluster-scoped kinds. */
const create = (e: Env, d: ResourceDef, body: unknown, ns = "default") =>
  e.test.cluster.registry.create(d, d.versions[0] as string, ns === "" ? undefined : ns, body);
const get = (e: Env, key: string, name: string, ns = "default") =>
  e.test.cluster.store.get(key, ns, name)?.obj;
const list = (e: Env, key: string, ns = "default") => e.test.cluster.store.list(key, ns).map((x) => x.obj);
const status = (obj: KObject | undefined): Json => (obj?.status ?? {}) as Json;
const condition = (obj: KObject | undefined, type: string) =>
  ((status(obj).conditions ?? []) as Json[]).find((c) => c.type === type);
const phase = (o: KObject) => status(o).phase;
const printable = (o: KObject) => status(o).printableStatus;

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

function launcherPodOf(e: Env, vmi: KObject, ns = "default"): KObject | undefined {
  return list(e, KEY.pod, ns).find((p) =>
    p.metadata.ownerReferences?.some((r) => r.uid === vmi.metadata.uid),
  );
}

const running = (e: Env, name: string, ns = "default") =>
  eventually(
    () => {
      const vm = get(e, KEY.vm, name, ns);
      return printable(vm as KObject) === "Running" && status(vm).ready === true ? vm : undefined;
    },
    10_000,
    `VM ${ns}/${name} running`,
  );

const gone = (e: Env, key: string, name: string, ns = "default") =>
  eventually(() => (get(e, key, name, ns) ? undefined : true), 10_000, `${key} ${name} gone`);

describe("KubeVirt simulator over the API", () => {
  it("runs a VM: VMI phases, a launcher pod bound to a node with IP and Ready conditions, VM status and events", async () => {
    const e = await setup();
    create(e, SVC, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ssh" },
      spec: { selector: { "kubevirt.io/vmpool": "vm-pool-cirros" }, ports: [{ port: 22 }] },
    });
    const vm = create(e, VM, vmBody("demo"));
    await running(e, "demo");

    const vmi = get(e, KEY.vmi, "demo") as KObject;
    expect(history(e, KEY.vmi, "demo", phase)).toEqual(["Pending", "Scheduling", "Scheduled", "Running"]);
    expect(vmi.metadata.ownerReferences?.[0]).toMatchObject({ kind: "VirtualMachine", uid: vm.metadata.uid });
    expect(vmi.metadata.finalizers).toEqual(["kubevirt.io/foregroundDeleteVirtualMachine"]);
    expect(condition(vmi, "Ready")?.status).toBe("True");
    const ip = ((status(vmi).interfaces as Json[])[0] as Json).ipAddress;
    expect(ip).toMatch(/^10\.244\.\d{1,3}\.\d{1,3}$/);

    const pod = launcherPodOf(e, vmi) as KObject;
    expect(pod.metadata.name).toMatch(/^virt-launcher-demo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod.metadata.labels).toEqual({
      "kubevirt.io/vmpool": "vm-pool-cirros",
      "kubevirt.io": "virt-launcher",
      "kubevirt.io/created-by": vmi.metadata.uid,
      "vm.kubevirt.io/name": "demo",
    });
    expect(pod.metadata.ownerReferences).toEqual([
      {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        name: "demo",
        uid: vmi.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const spec = pod.spec as Json;
    expect(spec.nodeName).toBe(status(vmi).nodeName);
    expect(["node01", "node02"]).toContain(spec.nodeName);
    const containers = spec.containers as Json[];
    expect(containers[0]?.name).toBe("compute");
    // Only what a container accepts of the VMI's resources, plus the CPU KubeVirt requests for one vCPU (1/10).
    expect(containers[0]?.resources).toEqual({ requests: { memory: "128Mi", cpu: "100m" } });
    const ps = status(pod);
    expect(ps).toMatchObject({ phase: "Running", podIP: ip, podIPs: [{ ip }] });
    expect(ps.hostIP).toMatch(/^192\.168\.66\.10[12]$/);
    expect(condition(pod, "Ready")?.status).toBe("True");
    expect(condition(pod, "ContainersReady")?.status).toBe("True");

    expect(history(e, KEY.vm, "demo", printable)).toEqual(["Starting", "Running"]);
    expect(condition(get(e, KEY.vm, "demo"), "Ready")?.status).toBe("True");

    const events = list(e, KEY.event) as unknown as Json[];
    const reasons = (component: string) =>
      events.filter((ev) => (ev.source as Json).component === component).map((ev) => ev.reason);
    expect(reasons("virtualmachine-controller")).toEqual(expect.arrayContaining(["SuccessfulCreate"]));
    expect(reasons("virt-handler")).toEqual(expect.arrayContaining(["Created", "Started"]));
    // Over the API the cluster's endpoints controller fills Endpoints from the pods, not the simulator.
    expect(get(e, KEY.ep, "ssh")).toBeUndefined();
  });

  it("creates a VM's DataVolumes, imports them, and starts the VMI only after they succeeded", async () => {
    const e = await setup();
    create(
      e,
      VM,
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
    await running(e, "fedora-0");
    expect(history(e, KEY.dv, "fedora-dv-0", phase)).toEqual([
      "Pending",
      "ImportScheduled",
      "ImportInProgress",
      "Succeeded",
    ]);
    expect(condition(get(e, KEY.dv, "fedora-dv-0"), "Ready")?.status).toBe("True");
    expect(history(e, KEY.vm, "fedora-0", printable)).toEqual(["Provisioning", "Starting", "Running"]);
    const succeededAt = e.changes.find(
      (c) => c.resource === KEY.dv && phase(c.entry.obj) === "Succeeded",
    )?.rv;
    const vmiAddedAt = e.changes.find((c) => c.resource === KEY.vmi && c.type === "ADDED")?.rv;
    expect(vmiAddedAt).toBeGreaterThan(succeededAt ?? Number.POSITIVE_INFINITY);
  });

  it("fails every start of a VM annotated fail-start and counts the failures with a backoff", async () => {
    const e = await setup();
    create(e, VM, vmBody("broken", { annotations: { "vmpool.local/fail-start": "true" } }));
    const vm = await eventually(
      () => {
        const now = get(e, KEY.vm, "broken");
        const failure = status(now).startFailure as Json | undefined;
        return typeof failure?.consecutiveFailCount === "number" && failure.consecutiveFailCount >= 2
          ? now
          : undefined;
      },
      10_000,
      "two start failures",
    );
    const failed = e.changes.filter((c) => c.resource === KEY.vmi && phase(c.entry.obj) === "Failed");
    expect(new Set(failed.map((c) => c.entry.obj.metadata.uid)).size).toBeGreaterThanOrEqual(2);
    expect(history(e, KEY.vm, "broken", printable)).toContain("CrashLoopBackOff");
    expect(history(e, KEY.vm, "broken", printable)).not.toContain("Running");
    expect(((status(vm).startFailure as Json).lastFailedVMIUID as string).length).toBeGreaterThan(0);
    const failedPod = e.changes.find(
      (c) => c.resource === KEY.pod && c.type !== "DELETED" && phase(c.entry.obj) === "Failed",
    )?.entry.obj;
    const compute = ((status(failedPod).containerStatuses as Json[]) ?? []).find((c) => c.name === "compute");
    expect((compute?.state as Json | undefined)?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const warning = (list(e, KEY.event) as unknown as Json[]).find((ev) => ev.reason === "SyncFailed");
    expect(warning).toMatchObject({ type: "Warning", source: { component: "virt-handler" } });
  });

  it("removes its finalizer from a deleted VMI, so deletion, garbage collection and namespace deletion finish", async () => {
    const e = await setup();
    const template = (vmBody("x").spec.template as Json).spec;
    const vmi = create(e, VMI, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: { generateName: "testreplicaset", labels: { myvmi: "myvmi" } },
      spec: template,
    });
    const name = vmi.metadata.name;
    await eventually(() => (phase(get(e, KEY.vmi, name) as KObject) === "Running" ? true : undefined));
    expect(get(e, KEY.vmi, name)?.metadata.finalizers).toEqual([
      "kubevirt.io/foregroundDeleteVirtualMachine",
    ]);
    e.test.cluster.registry.delete(VMI, "v1", "default", name, {});
    expect(get(e, KEY.vmi, name)?.metadata.deletionTimestamp).toBeDefined();
    await gone(e, KEY.vmi, name);
    expect(history(e, KEY.vmi, name, phase).slice(-2)).toEqual(["Running", "Succeeded"]);
    expect(list(e, KEY.pod)).toEqual([]);

    // A deleted VM: the garbage collector deletes its VMI, which waits for the simulator's finalizer removal.
    create(e, VM, vmBody("doomed"));
    await running(e, "doomed");
    e.test.cluster.registry.delete(VM, "v1", "default", "doomed", { propagationPolicy: "Foreground" });
    await gone(e, KEY.vm, "doomed");
    await gone(e, KEY.vmi, "doomed");

    // A namespace with a running VM goes away.
    create(e, NS, { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }, "");
    create(e, VM, vmBody("inside"), "team-a");
    await running(e, "inside", "team-a");
    e.test.cluster.registry.delete(NS, "v1", undefined, "team-a", {});
    expect(get(e, KEY.ns, "team-a", "")?.metadata.deletionTimestamp).toBeDefined();
    await gone(e, KEY.ns, "team-a", "");
    expect(list(e, KEY.vmi, "team-a")).toEqual([]);
  });

  it("stops the VMI of a VM turned Halted and shows Stopping, then Stopped", async () => {
    const e = await setup();
    create(e, VM, vmBody("demo"));
    await running(e, "demo");
    const vm = get(e, KEY.vm, "demo") as KObject;
    e.test.cluster.registry.update(
      VM,
      "v1",
      "default",
      "demo",
      { ...vm, spec: { ...(vm.spec as Json), runStrategy: "Halted" } },
      undefined,
    );
    await gone(e, KEY.vmi, "demo");
    await eventually(() => (printable(get(e, KEY.vm, "demo") as KObject) === "Stopped" ? true : undefined));
    expect(history(e, KEY.vm, "demo", printable)).toEqual(["Starting", "Running", "Stopping", "Stopped"]);
    expect(list(e, KEY.pod)).toEqual([]);
  });

  it("crashes a VMI on request and restarts it after the backoff; CPU load is read from its cache", async () => {
    const e = await setup();
    create(e, VM, vmBody("demo"));
    await running(e, "demo");
    const before = get(e, KEY.vmi, "demo") as KObject;
    await e.sim.setCpuLoad("default", "demo", 70);
    expect(get(e, KEY.vmi, "demo")?.metadata.annotations?.["vmpool.local/cpu-load"]).toBe("70");
    expect(e.sim.cpuLoad("default", "kubevirt.io/vmpool=vm-pool-cirros")).toMatchObject({
      count: 1,
      averagePercent: 70,
    });
    await e.sim.crash("default", "demo");
    expect(phase(get(e, KEY.vmi, "demo") as KObject)).toBe("Failed");
    const after = await eventually(() => {
      const vmi = get(e, KEY.vmi, "demo");
      return vmi && vmi.metadata.uid !== before.metadata.uid && phase(vmi) === "Running" ? vmi : undefined;
    });
    const vm = await eventually(() => {
      const vmNow = get(e, KEY.vm, "demo");
      return printable(vmNow as KObject) === "Running" && status(vmNow).startFailure === undefined
        ? vmNow
        : undefined;
    });
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(status(vm).ready).toBe(true);
    expect(history(e, KEY.vm, "demo", printable)).toEqual([
      "Starting",
      "Running",
      "CrashLoopBackOff",
      "Starting",
      "Running",
    ]);
  });

  it("relists after 410 Expired: what changed while its watches were down is simulated", async () => {
    const e = await setup({ watchTimeoutSeconds: 1 }, { historyLimit: 20 });
    create(e, VM, vmBody("early"));
    create(e, VM, vmBody("doomed"));
    await running(e, "early");
    await running(e, "doomed");

    // Every watch ends within its 1 s timeout, and no new one gets through.
    const failuresBefore = e.sim.cacheStats();
    e.test.cluster.faults.configure({ seed: 1, rules: [{ kind: "drop", rate: 1, verbs: ["watch"] }] });
    await eventually(
      () =>
        Object.entries(e.sim.cacheStats()).every(
          ([kind, s]) => s.failures > (failuresBefore[kind]?.failures ?? 0),
        ) || undefined,
      10_000,
      "every watch down",
    );
    create(e, VM, vmBody("late"));
    e.test.cluster.registry.delete(VM, "v1", "default", "doomed", { propagationPolicy: "Background" });
    // Push the watch history past every cache's resourceVersion.
    for (let i = 0; i < 40; i++) {
      create(e, EVENT, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `churn.${i}` },
        involvedObject: { kind: "Namespace", name: "default" },
        reason: "Churn",
        message: "history filler",
      });
    }
    e.test.cluster.faults.configure({ seed: 1, rules: [] });

    await running(e, "late");
    await gone(e, KEY.vmi, "doomed");
    await e.sim.idle();
    // The relist dropped the deleted VM from the cache: no VMI is started for it again.
    const doomedStarts = e.changes.filter(
      (c) => c.resource === KEY.vmi && c.type === "ADDED" && c.entry.obj.metadata.name === "doomed",
    );
    expect(doomedStarts).toHaveLength(1);
    const stats = e.sim.cacheStats();
    expect(stats.vm?.expired).toBeGreaterThanOrEqual(1);
    expect(stats.vmi?.expired).toBeGreaterThanOrEqual(1);
    expect(stats.vm?.lists).toBeGreaterThanOrEqual(2);
    expect(phase(get(e, KEY.vmi, "early") as KObject)).toBe("Running");
  });

  it("survives API errors, throttling and dropped connections on every verb, from its first list on", async () => {
    const e = await setup(
      {},
      {
        faults: {
          seed: 3,
          rules: [
            { kind: "error", rate: 0.2 },
            { kind: "throttle", rate: 0.1, retryAfterSeconds: 0 },
            { kind: "drop", rate: 0.05 },
          ],
        },
      },
    );
    for (const name of ["vm-a", "vm-b", "vm-c"]) create(e, VM, vmBody(name));
    for (const name of ["vm-a", "vm-b", "vm-c"]) await running(e, name);
    for (const name of ["vm-a", "vm-b", "vm-c"]) {
      const vmi = get(e, KEY.vmi, name) as KObject;
      expect(condition(launcherPodOf(e, vmi), "Ready")?.status).toBe("True");
    }
    const stats = Object.values(e.sim.cacheStats());
    expect(stats.reduce((sum, s) => sum + s.failures, 0)).toBeGreaterThan(0);
    for (const name of ["vm-a", "vm-b", "vm-c"]) {
      e.test.cluster.registry.delete(VM, "v1", "default", name, { propagationPolicy: "Background" });
    }
    for (const name of ["vm-a", "vm-b", "vm-c"]) await gone(e, KEY.vmi, name);
    await eventually(() => (list(e, KEY.pod).length === 0 ? true : undefined), 10_000, "pods gone");
  });

  it("refuses a cluster where KubeVirt's virt-controller runs", async () => {
    const test = await startTestCluster({ simulator: false });
    current = { test };
    test.cluster.registry.create(def("", "pods"), "v1", "kube-system", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "virt-controller-7d8f9-abcde", labels: { "kubevirt.io": "virt-controller" } },
      spec: { containers: [{ name: "virt-controller", image: "quay.io/kubevirt/virt-controller:v1.5.0" }] },
    });
    const err = await startApiSimulator({ kubeconfigPath: test.kubeconfig }).catch((x: unknown) => x);
    expect(err).toMatchObject({ reason: "KubevirtRunning" });
    expect((err as Error).message).toContain("kube-system/virt-controller-7d8f9-abcde");
    expect(test.cluster.store.list(KEY.vmi, undefined)).toEqual([]);
  });

  it("closes every watch and request on stop()", async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const test = await startTestCluster({ simulator: false });
    current = { test };
    const baseline = sockets();
    const sim = await startApiSimulator({ kubeconfigPath: test.kubeconfig, timings: FAST });
    expect(sockets()).toBeGreaterThan(baseline);
    sim.stop();
    await eventually(() => (sockets() <= baseline ? true : undefined), 5_000, "sockets closed");
    test.cluster.registry.create(VM, "v1", "default", vmBody("after-stop"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(test.cluster.store.get(KEY.vmi, "default", "after-stop")).toBeUndefined();
  });
});
