/**
 * The local cluster's storage: every object in its storage version, a cluster-wide resourceVersion counter, a
 * bounded history of change events for watches (410 Expired beyond it), and an optional journal so acknowledged
 * writes survive a crash. Each stored object keeps its serialized JSON so lists and watches never re-serialize.
 * Semantics (defaulting, generation, admission) live in the registry; the store only keeps and orders data.
 */
import type { Journal } from "./journal";

export type KObject = Record<string, unknown> & { metadata: ObjectMeta };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  generateName?: string;
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A stored object plus its JSON text (storage version), computed once per write. */
export interface Entry {
  readonly obj: KObject;
  readonly json: string;
  readonly rv: number;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ChangeEvent {
  readonly rv: number;
  readonly resource: string;
  readonly namespace: string;
  readonly type: EventType;
  /** The new state (ADDED/MODIFIED) or the last state with the deletion resourceVersion (DELETED). */
  readonly entry: Entry;
  /** The state before a MODIFIED, so watchers can tell objects leaving or entering their selector. */
  readonly previous: Entry | undefined;
}

export type ChangeListener = (event: ChangeEvent) => void;

const DEFAULT_HISTORY_LIMIT = 100_000;

/** Thrown when a watch asks for history older than what the store retains. */
export class HistoryExpiredError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

function nsKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

/** Serializes with apiVersion and kind first, so version conversion of apiVersion-only kinds is a prefix swap. */
export function serialize(obj: KObject): string {
  return JSON.stringify(obj);
}

export interface StoreOptions {
  /** Change events kept for watches that resume from a resourceVersion (older ones get 410 Expired). */
  readonly historyLimit?: number;
}

export class Store {
  private readonly historyLimit: number;

  constructor(options: StoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  }

  private readonly tables = new Map<string, Map<string, Entry>>();
  /** Per resource, keys in list order; dropped when a key is added or removed. */
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly history: ChangeEvent[] = [];
  private historyStart = 0;
  /** Watches cannot start before this (the watch cache begins after bootstrap); snapshots can, from history. */
  private watchStart = 0;
  private readonly listeners = new Map<string, Set<ChangeListener>>();
  private readonly anyListeners = new Set<ChangeListener>();
  private rv = 0;
  private journal: Journal | undefined;

  /** The resourceVersion of the latest write (what a list reports). */
  currentResourceVersion(): number {
    return this.rv;
  }

  /** Attaches a journal; every later write is appended to it before the write is acknowledged. */
  attachJournal(journal: Journal): void {
    this.journal = journal;
  }

  /** Loads a replayed entry without journaling or notifying (used at start-up). */
  restore(resource: string, obj: KObject, rv: number): void {
    this.sortedKeys.delete(resource);
    this.table(resource).set(nsKey(obj.metadata.namespace, obj.metadata.name), {
      obj,
      json: serialize(obj),
      rv,
    });
    if (rv > this.rv) this.rv = rv;
  }

  /** Forgets a replayed entry (a journaled delete). */
  restoreDelete(resource: string, namespace: string | undefined, name: string, rv: number): void {
    this.table(resource).delete(nsKey(namespace, name));
    this.sortedKeys.delete(resource);
    if (rv > this.rv) this.rv = rv;
  }

  /** Every (resource, entry) pair, for snapshots and the garbage collector. */
  *entries(): Generator<[string, Entry]> {
    for (const [resource, table] of this.tables) for (const entry of table.values()) yield [resource, entry];
  }

  get(resource: string, namespace: string | undefined, name: string): Entry | undefined {
    return this.tables.get(resource)?.get(nsKey(namespace, name));
  }

  /** Entries of one resource, optionally in one namespace, ordered by namespace then name (as etcd keys are). */
  list(resource: string, namespace: string | undefined): Entry[] {
    const table = this.tables.get(resource);
    if (!table) return [];
    let keys = this.sortedKeys.get(resource);
    if (!keys) {
      keys = [...table.keys()].sort();
      this.sortedKeys.set(resource, keys);
    }
    const out: Entry[] = [];
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    for (const key of keys) {
      if (prefix !== undefined && !key.startsWith(prefix)) continue;
      const entry = table.get(key);
      if (entry) out.push(entry);
    }
    return out;
  }

  count(resource: string): number {
    return this.tables.get(resource)?.size ?? 0;
  }

  /**
   * Stores `obj` (already validated) under a new resourceVersion and notifies watchers.
   */
  put(resource: string, obj: KObject): Entry {
    const table = this.table(resource);
    const key = nsKey(obj.metadata.namespace, obj.metadata.name);
    const previous = table.get(key);
    const rv = ++this.rv;
    const stored: KObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    const entry: Entry = { obj: stored, json: serialize(stored), rv };
    this.journal?.appendPut(resource, entry);
    if (!previous) this.sortedKeys.delete(resource);
    table.set(key, entry);
    this.emit({
      rv,
      resource,
      namespace: stored.metadata.namespace ?? "",
      type: previous ? "MODIFIED" : "ADDED",
      entry,
      previous,
    });
    return entry;
  }

  /** Removes an object; the DELETED event carries its last state with the deletion resourceVersion. */
  remove(resource: string, namespace: string | undefined, name: string): Entry | undefined {
    const table = this.tables.get(resource);
    const key = nsKey(namespace, name);
    const previous = table?.get(key);
    if (!table || !previous) return undefined;
    const rv = ++this.rv;
    const last: KObject = {
      ...previous.obj,
      metadata: { ...previous.obj.metadata, resourceVersion: String(rv) },
    };
    const entry: Entry = { obj: last, json: serialize(last), rv };
    this.journal?.appendDelete(resource, namespace, name, rv);
    table.delete(key);
    this.sortedKeys.delete(resource);
    this.emit({ rv, resource, namespace: namespace ?? "", type: "DELETED", entry, previous });
    return entry;
  }

  /**
   * Events after `fromRv` for one resource (all namespaces), oldest first.
   * Throws HistoryExpiredError when `fromRv` is older than the retained history.
   */
  eventsSince(resource: string, fromRv: number, purpose: "watch" | "snapshot" = "watch"): ChangeEvent[] {
    const floor = purpose === "watch" ? Math.max(this.historyStart, this.watchStart) : this.historyStart;
    if (fromRv < floor) throw new HistoryExpiredError(fromRv, floor);
    const out: ChangeEvent[] = [];
    // History is ordered by rv: binary search for the first event after fromRv.
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.history[mid]?.rv ?? 0) <= fromRv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.history.length; i++) {
      const event = this.history[i];
      if (event && event.resource === resource) out.push(event);
    }
    return out;
  }

  /** Subscribes to changes of one resource; returns the unsubscribe function. */
  subscribe(resource: string, listener: ChangeListener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Subscribes to every change (controllers: garbage collector, simulator). */
  subscribeAll(listener: ChangeListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Marks the start of history: watches and snapshots from before this resourceVersion get 410 Expired. */
  markHistoryStart(): void {
    this.historyStart = this.rv;
  }

  /** Marks where watches may start from (later than history, as kube's watch cache starts after bootstrap). */
  markWatchStart(): void {
    this.watchStart = this.rv;
  }

  private emit(event: ChangeEvent): void {
    this.history.push(event);
    // Trim in chunks (a tenth of the limit at a time) so a full history costs one splice per 10,000 writes.
    if (this.history.length > this.historyLimit + Math.ceil(this.historyLimit / 10)) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      const last = dropped[dropped.length - 1];
      if (last) this.historyStart = last.rv;
    }
    const set = this.listeners.get(event.resource);
    if (set) for (const listener of set) listener(event);
    for (const listener of this.anyListeners) listener(event);
  }

  private table(resource: string): Map<string, Entry> {
    let table = this.tables.get(resource);
    if (!table) {
      table = new Map();
      this.tables.set(resource, table);
    }
    return table;
  }
}
