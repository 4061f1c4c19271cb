/**
 * The controllers kube-controller-manager would run for the local cluster: the garbage collector (ownerReference
 * cascades: background, foreground with blockOwnerDeletion, orphan) and the namespace controller (a terminating
 * namespace is emptied, then removed). Driven by store change events; work is batched on the next macrotask so
 * a burst of deletes costs one scan per owner, like the real GC's work queue.
 */
import { logger } from "../../shared/log";
import type { Registry } from "./registry";
import { RESOURCES, type ResourceDef, resourceKey } from "./resources";
import type { ChangeEvent, KObject, OwnerReference, Store } from "./store";

const log = logger("gc");

interface Ref {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

const DEFS = new Map(RESOURCES.map((d) => [resourceKey(d), d]));

export class GarbageCollector {
  /** owner uid → dependents (resource key + namespace + name). */
  private readonly dependents = new Map<string, Map<string, Ref>>();
  /** uid → where the live object is. */
  private readonly live = new Map<string, Ref>();
  private readonly pendingOwners = new Set<string>();
  private readonly pendingNamespaces = new Set<string>();
  private scheduled: NodeJS.Immediate | undefined;
  private readonly unsubscribe: () => void;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
  ) {
    for (const [resource, entry] of store.entries()) this.index(resource, entry.obj, undefined);
    this.unsubscribe = store.subscribeAll((event) => this.onChange(event));
    // Objects restored from the journal may reference owners deleted before a crash.
    for (const uid of this.dependents.keys()) if (!this.live.has(uid)) this.pendingOwners.add(uid);
    for (const [resource, entry] of store.entries()) {
      if (resource === "namespaces" && entry.obj.metadata.deletionTimestamp)
        this.pendingNamespaces.add(entry.obj.metadata.name);
      if (entry.obj.metadata.deletionTimestamp) this.pendingOwners.add(entry.obj.metadata.uid);
    }
    this.schedule();
  }

  stop(): void {
    this.unsubscribe();
    if (this.scheduled) clearImmediate(this.scheduled);
  }

  /** Resolves when no GC work is queued (tests and benchmarks). */
  idle(): Promise<void> {
    if (!this.scheduled && this.pendingOwners.size === 0 && this.pendingNamespaces.size === 0)
      return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onChange(event: ChangeEvent): void {
    const obj = event.entry.obj;
    if (event.type === "DELETED") {
      // A foreground-deleting owner waits for its dependents: look at it again now that one is gone.
      for (const owner of obj.metadata.ownerReferences ?? []) {
        const where = this.live.get(owner.uid);
        const ownerObj = where ? this.store.get(where.resource, where.namespace, where.name)?.obj : undefined;
        if (ownerObj?.metadata.deletionTimestamp) this.pendingOwners.add(owner.uid);
      }
      this.unindex(event.previous?.obj ?? obj);
      this.live.delete(obj.metadata.uid);
      if (this.dependents.has(obj.metadata.uid)) this.pendingOwners.add(obj.metadata.uid);
    } else {
      this.index(event.resource, obj, event.previous?.obj);
      if (obj.metadata.deletionTimestamp) {
        this.pendingOwners.add(obj.metadata.uid);
        if (event.resource === "namespaces") this.pendingNamespaces.add(obj.metadata.name);
      }
    }
    if (this.pendingOwners.size > 0 || this.pendingNamespaces.size > 0) this.schedule();
  }

  private index(resource: string, obj: KObject, previous: KObject | undefined): void {
    if (previous) this.unindex(previous);
    const ref: Ref = { resource, namespace: obj.metadata.namespace, name: obj.metadata.name };
    this.live.set(obj.metadata.uid, ref);
    for (const owner of obj.metadata.ownerReferences ?? []) {
      let deps = this.dependents.get(owner.uid);
      if (!deps) {
        deps = new Map();
        this.dependents.set(owner.uid, deps);
      }
      deps.set(obj.metadata.uid, ref);
      // An owner that is already gone: the dependent must be collected.
      if (!this.live.has(owner.uid)) this.pendingOwners.add(owner.uid);
    }
  }

  private unindex(obj: KObject): void {
    for (const owner of obj.metadata.ownerReferences ?? []) {
      const deps = this.dependents.get(owner.uid);
      deps?.delete(obj.metadata.uid);
      if (deps?.size === 0) this.dependents.delete(owner.uid);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.drain();
    });
  }

  private drain(): void {
    for (
      let round = 0;
      round < 1000 && (this.pendingOwners.size > 0 || this.pendingNamespaces.size > 0);
      round++
    ) {
      const owners = [...this.pendingOwners];
      this.pendingOwners.clear();
      for (const uid of owners) {
        try {
          this.processOwner(uid);
        } catch (err) {
          log.warn({ err, uid }, "garbage collection step failed");
        }
      }
      const namespaces = [...this.pendingNamespaces];
      this.pendingNamespaces.clear();
      for (const ns of namespaces) this.processNamespace(ns);
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private processOwner(uid: string): void {
    const ownerRef = this.live.get(uid);
    const owner = ownerRef
      ? this.store.get(ownerRef.resource, ownerRef.namespace, ownerRef.name)?.obj
      : undefined;
    const deps = [...(this.dependents.get(uid)?.values() ?? [])];
    if (!owner) {
      for (const dep of deps) this.collectDependent(dep, uid);
      return;
    }
    const finalizers = owner.metadata.finalizers ?? [];
    if (!owner.metadata.deletionTimestamp) return;
    const ownerDef = ownerRef ? DEFS.get(ownerRef.resource) : undefined;
    if (!ownerDef || !ownerRef) return;
    if (finalizers.includes("orphan")) {
      for (const dep of deps) this.stripOwner(dep, uid);
      this.registry.removeFinalizer(ownerDef, ownerRef.namespace, ownerRef.name, "orphan");
      return;
    }
    if (finalizers.includes("foregroundDeletion")) {
      let blocking = 0;
      for (const dep of deps) {
        const depObj = this.store.get(dep.resource, dep.namespace, dep.name)?.obj;
        if (!depObj) continue;
        const ref = (depObj.metadata.ownerReferences ?? []).find((r) => r.uid === uid);
        if (ref?.blockOwnerDeletion) blocking++;
        this.deleteDependent(dep, "Foreground");
      }
      if (blocking === 0)
        this.registry.removeFinalizer(ownerDef, ownerRef.namespace, ownerRef.name, "foregroundDeletion");
    }
  }

  /** A dependent whose owner `uid` is gone: delete it if no live owner remains, else drop the dangling reference. */
  private collectDependent(dep: Ref, uid: string): void {
    const depObj = this.store.get(dep.resource, dep.namespace, dep.name)?.obj;
    if (!depObj) return;
    const owners = depObj.metadata.ownerReferences ?? [];
    const remaining = owners.filter((r) => r.uid !== uid && this.ownerAlive(r));
    if (remaining.length === 0) this.deleteDependent(dep, "Background");
    else this.stripOwner(dep, uid);
  }

  private ownerAlive(ref: OwnerReference): boolean {
    const where = this.live.get(ref.uid);
    return where !== undefined && this.store.get(where.resource, where.namespace, where.name) !== undefined;
  }

  private deleteDependent(dep: Ref, policy: "Background" | "Foreground"): void {
    const def = DEFS.get(dep.resource);
    if (!def) return;
    try {
      this.registry.delete(def, def.storageVersion, dep.namespace, dep.name, { propagationPolicy: policy });
    } catch (err) {
      log.debug({ err, dep }, "dependent already gone");
    }
  }

  private stripOwner(dep: Ref, uid: string): void {
    const entry = this.store.get(dep.resource, dep.namespace, dep.name);
    if (!entry) return;
    const owners = (entry.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
    const metadata = { ...entry.obj.metadata, ownerReferences: owners };
    if (owners.length === 0) delete (metadata as { ownerReferences?: unknown }).ownerReferences;
    this.store.put(dep.resource, { ...entry.obj, metadata });
  }

  /** Namespace controller: delete everything in a terminating namespace, then the namespace itself. */
  private processNamespace(name: string): void {
    const nsEntry = this.store.get("namespaces", undefined, name);
    if (!nsEntry?.obj.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const def of RESOURCES) {
      if (!def.namespaced) continue;
      for (const entry of this.store.list(resourceKey(def), name)) {
        remaining++;
        if (!entry.obj.metadata.deletionTimestamp) this.deleteIn(def, name, entry.obj.metadata.name);
      }
    }
    if (remaining === 0) this.store.remove("namespaces", undefined, name);
    else
      setTimeout(() => {
        this.pendingNamespaces.add(name);
        this.schedule();
      }, 100).unref();
  }

  private deleteIn(def: ResourceDef, namespace: string, name: string): void {
    try {
      this.registry.delete(def, def.storageVersion, namespace, name, { propagationPolicy: "Background" });
    } catch (err) {
      log.debug({ err, name }, "namespace content already gone");
    }
  }
}
