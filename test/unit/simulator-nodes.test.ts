/**
 * The simulator shell's kubelet parts, on an in-memory backend that keeps the port's contract (writes visible to
 * the next read, every change heard): Node registration with a Ready status, the heartbeat Lease and its renewal,
 * re-registration of a deleted Node, a cluster that serves no Nodes, and the kubelet's end of a graceful pod
 * deletion on a simulated node.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../infra/local/errors";
import type {
  BackendChange,
  BackendDeleteOptions,
  DeleteOutcome,
  Kind,
  SimulatorBackend,
  WatchedKind,
} from "../../infra/local/simulator/backend";
import type { SimulatorOptions } from "../../infra/local/simulator/options";
import { KubevirtSimulator } from "../../infra/local/simulator/simulator";
import type { KObject } from "../../infra/local/store";

type Json = Record<string, unknown>;

function merge(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const before = out[key];
    if (value === null) delete out[key];
    else if (
      value &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      before &&
      typeof before === "object"
    )
      out[key] = merge(before as Json, value as Json);
    else out[key] = value;
  }
  return out;
}

/** A cluster in memory: resourceVersions, uids, finalizers and deletionTimestamps, one change stream. */
class MemoryBackend implements SimulatorBackend {
  readonly writesEndpoints = false;
  readonly objects = new Map<string, KObject>();
  readonly writes: { verb: string; kind: Kind; name: string; options?: BackendDeleteOptions }[] = [];
  private readonly listeners = new Set<(change: BackendChange) => void>();
  private rv = 0;

  constructor(private readonly servesNodes = true) {}

  now(): number {
    return Date.now();
  }

  private key(kind: Kind, ns: string | undefined, name: string): string {
    return `${kind}/${ns ?? ""}/${name}`;
  }

  private check(kind: Kind): void {
    if (kind === "node" && !this.servesNodes)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }

  private put(kind: Kind, obj: KObject, type: "ADDED" | "MODIFIED"): KObject {
    const key = this.key(kind, obj.metadata.namespace, obj.metadata.name);
    const previous = this.objects.get(key);
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } as KObject;
    this.objects.set(key, stored);
    if (kind !== "event" && kind !== "lease") {
      for (const l of this.listeners) l({ kind: kind as WatchedKind, type, obj: stored, previous });
    }
    return stored;
  }

  get(kind: WatchedKind, ns: string | undefined, name: string): KObject | undefined {
    return this.objects.get(this.key(kind, ns, name));
  }
  confirm(kind: WatchedKind, ns: string | undefined, name: string): Promise<KObject | undefined> {
    return Promise.resolve(this.get(kind, ns, name));
  }
  list(kind: WatchedKind, ns: string | undefined): readonly KObject[] {
    const prefix = ns === undefined ? `${kind}/` : `${kind}/${ns}/`;
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([, o]) => o);
  }
  async create(kind: Kind, ns: string | undefined, body: Json): Promise<KObject> {
    this.check(kind);
    const meta = body.metadata as KObject["metadata"];
    if (this.objects.has(this.key(kind, ns, meta.name)))
      throw new ApiError(409, "AlreadyExists", `${meta.name} already exists`);
    this.writes.push({ verb: "create", kind, name: meta.name });
    const metadata = { ...meta, uid: `uid-${this.rv + 1}`, creationTimestamp: "", resourceVersion: "" };
    if (ns !== undefined) metadata.namespace = ns;
    return this.put(kind, { ...body, metadata } as KObject, "ADDED");
  }
  async update(kind: Kind, ns: string | undefined, name: string, body: Json): Promise<KObject> {
    this.check(kind);
    const current = this.objects.get(this.key(kind, ns, name));
    if (!current) throw new ApiError(404, "NotFound", `${name} not found`);
    this.writes.push({ verb: "update", kind, name });
    return this.put(kind, body as KObject, "MODIFIED");
  }
  updateStatus(kind: WatchedKind, ns: string | undefined, name: string, body: Json): Promise<KObject> {
    return this.update(kind, ns, name, body);
  }
  async patch(kind: Kind, ns: string | undefined, name: string, patch: Json): Promise<KObject> {
    this.check(kind);
    const current = this.objects.get(this.key(kind, ns, name));
    if (!current) throw new ApiError(404, "NotFound", `${name} not found`);
    this.writes.push({ verb: "patch", kind, name });
    return this.put(kind, merge(current, patch) as KObject, "MODIFIED");
  }
  async delete(kind: Kind, ns: string | undefined, name: string, options: BackendDeleteOptions = {}) {
    this.check(kind);
    const key = this.key(kind, ns, name);
    const current = this.objects.get(key);
    if (!current) throw new ApiError(404, "NotFound", `${name} not found`);
    this.writes.push({ verb: "delete", kind, name, options });
    if ((current.metadata.finalizers ?? []).length > 0) {
      this.put(kind, { ...current, metadata: { ...current.metadata, deletionTimestamp: "now" } }, "MODIFIED");
      return "terminating" as DeleteOutcome;
    }
    this.objects.delete(key);
    for (const l of this.listeners)
      l({ kind: kind as WatchedKind, type: "DELETED", obj: current, previous: current });
    return "deleted" as DeleteOutcome;
  }
  subscribe(listener: (change: BackendChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const FAST = {
  debounceMs: 1,
  pendingMs: 10,
  schedulingMs: 10,
  scheduledMs: 10,
  stopMs: 10,
  retryMs: 100,
  nodeLeaseMs: 10_000,
};

let running: KubevirtSimulator | undefined;

function start(backend: MemoryBackend, options: SimulatorOptions = {}): KubevirtSimulator {
  vi.useFakeTimers({ now: new Date("2026-03-01T10:00:00Z") });
  running = new KubevirtSimulator(backend, { seed: 7, registerNodes: true, timings: FAST, ...options });
  running.start();
  return running;
}

afterEach(() => {
  running?.stop();
  running = undefined;
  vi.useRealTimers();
});

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const node = (b: MemoryBackend, name: string) => b.get("node", undefined, name);
const lease = (b: MemoryBackend, name: string) => b.objects.get(`lease/kube-node-lease/${name}`);
const conditions = (o: KObject | undefined) => ((o?.status as Json | undefined)?.conditions ?? []) as Json[];

describe("simulated nodes", () => {
  it("registers each node Ready, labelled and tainted as simulated, with capacity and addresses", async () => {
    const b = new MemoryBackend();
    start(b, { nodes: ["node01", "node02"] });
    await advance(50);
    for (const [i, name] of ["node01", "node02"].entries()) {
      const n = node(b, name) as KObject;
      expect(n.metadata.labels).toMatchObject({
        "vmpool.local/simulated": "true",
        "kubernetes.io/hostname": name,
        "kubevirt.io/schedulable": "true",
      });
      expect((n.spec as Json).taints).toEqual([
        { key: "vmpool.local/simulated", value: "true", effect: "NoSchedule" },
      ]);
      const ready = conditions(n).find((c) => c.type === "Ready");
      expect(ready).toMatchObject({ status: "True", reason: "KubeletReady" });
      const status = n.status as Json;
      expect(status.capacity).toMatchObject({ cpu: "16", pods: "110" });
      expect(status.addresses).toEqual([
        { type: "InternalIP", address: `192.168.66.${101 + i}` },
        { type: "Hostname", address: name },
      ]);
    }
  });

  it("keeps a heartbeat Lease per node, renewed every interval, and writes an unchanged status only once", async () => {
    const b = new MemoryBackend();
    start(b, { nodes: ["node01"] });
    await advance(50);
    const first = lease(b, "node01") as KObject;
    expect(first.spec).toMatchObject({ holderIdentity: "node01", leaseDurationSeconds: 40 });
    expect(first.metadata.ownerReferences).toEqual([
      { apiVersion: "v1", kind: "Node", name: "node01", uid: node(b, "node01")?.metadata.uid },
    ]);
    const renewedAt = (o: KObject | undefined) =>
      Date.parse(String((o?.spec as Json | undefined)?.renewTime));
    const t0 = renewedAt(first);
    // One renewal per interval (plus the queue's debounce), like the kubelet's every 10 s.
    await advance(10_000 + FAST.debounceMs);
    expect(renewedAt(lease(b, "node01")) - t0).toBe(10_000 + FAST.debounceMs);
    await advance(10_000 + FAST.debounceMs);
    expect(renewedAt(lease(b, "node01")) - t0).toBe(2 * (10_000 + FAST.debounceMs));
    const nodeWrites = b.writes.filter((w) => w.kind === "node");
    expect(nodeWrites.map((w) => w.verb)).toEqual(["create", "update"]);
  });

  it("registers a node again when someone deletes it", async () => {
    const b = new MemoryBackend();
    start(b, { nodes: ["node01"] });
    await advance(50);
    const before = node(b, "node01")?.metadata.uid;
    await b.delete("node", undefined, "node01");
    await advance(50);
    const after = node(b, "node01");
    expect(after?.metadata.uid).not.toBe(before);
    expect(conditions(after).find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("carries on without Node objects where the cluster serves none: one attempt, VMs still run", async () => {
    const b = new MemoryBackend(false);
    start(b, { nodes: ["node01", "node02"] });
    await b.create("vm", "default", {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "demo" },
      spec: { runStrategy: "Always", template: { spec: { domain: { devices: {} } } } },
    });
    await advance(500);
    expect(b.writes.filter((w) => w.kind === "node" || w.kind === "lease")).toEqual([]);
    const status = (b.get("vmi", "default", "demo")?.status ?? {}) as Json;
    expect(status.phase).toBe("Running");
    expect(["node01", "node02"]).toContain(status.nodeName);
  });

  it("finishes the graceful deletion of a pod on a simulated node at once, and leaves other nodes' pods alone", async () => {
    const b = new MemoryBackend();
    start(b, { nodes: ["node01"] });
    await advance(50);
    const pod = (name: string, nodeName: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, finalizers: ["example.com/hold"] },
      spec: { nodeName, containers: [{ name: "c", image: "x" }] },
    });
    const ours = await b.create("pod", "default", pod("ours", "node01"));
    await b.create("pod", "default", pod("theirs", "worker-7"));
    // A graceful deletion as kube-apiserver records it: deletionTimestamp set, the kubelet finishes it.
    for (const name of ["ours", "theirs"]) {
      const current = b.get("pod", "default", name) as KObject;
      await b.update("pod", "default", name, {
        ...current,
        metadata: { ...current.metadata, finalizers: [], deletionTimestamp: "2026-03-01T10:00:45Z" },
      });
    }
    await advance(50);
    expect(b.writes.filter((w) => w.verb === "delete" && w.kind === "pod")).toEqual([
      {
        verb: "delete",
        kind: "pod",
        name: "ours",
        options: { uid: ours.metadata.uid, gracePeriodSeconds: 0 },
      },
    ]);
    expect(b.get("pod", "default", "ours")).toBeUndefined();
    expect(b.get("pod", "default", "theirs")).toBeDefined();
  });
});
