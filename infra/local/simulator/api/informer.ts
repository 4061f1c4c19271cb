/**
 * A list+watch cache of one kind across all namespaces, in the manner of client-go's reflector: list (paged),
 * then watch from the list's resourceVersion with bookmarks; a watch that ends is resumed from the last
 * resourceVersion seen; 410 Expired (an ERROR event or the answer itself) relists and reports the differences as
 * changes; any other failure backs off exponentially with jitter. Our own writes enter the cache from their
 * responses at once (read-your-writes), and a late watch event older than what the cache holds never rolls it
 * back. Sources: client-go `tools/cache/reflector.go`; Kubernetes API concepts, "Efficient detection of changes".
 */
import { logger } from "../../../../shared/log";
import { ApiError } from "../../errors";
import type { KObject } from "../../store";
import { apiVersionOf, type ChangeType, type KindInfo } from "../backend";
import { rec, recs, str } from "../json";
import type { ApiClient, WatchHandle } from "./client";

const log = logger("simulator-api");

/** How often a cache listed, watched, hit 410 Expired and failed since it started. */
export interface InformerStats {
  lists: number;
  watches: number;
  expired: number;
  failures: number;
}

export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface InformerOptions {
  readonly client: ApiClient;
  readonly info: KindInfo;
  readonly onChange: (type: ChangeType, obj: KObject, previous: KObject | undefined) => void;
  /** Asked of the server per watch, so connections are recycled as client-go's are (5–10 min). */
  readonly watchTimeoutSeconds: number;
  readonly backoff: Backoff;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly pageSize?: number;
}

/** A watch that ended without an event within this time counts as a failure for backoff. */
const MIN_USEFUL_WATCH_MS = 1000;

type WatchOutcome = "expired" | "progress" | "quiet";

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

/** resourceVersions are opaque, but every kube-apiserver (etcd revisions) and the local cluster use integers. */
function newer(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

/** exponential backoff with jitter: attempt n waits base·2^(n-1), capped, scaled by a factor in [0.5, 1). */
export function backoffMs(backoff: Backoff, attempt: number, jitter: number): number {
  const raw = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.5 + jitter / 2));
}

export class Informer {
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0, failures: 0 };
  private readonly items = new Map<string, KObject>();
  /** Keys in list order; dropped when a key is added or removed. */
  private sorted: string[] | undefined;
  /** Key → uid of an object our own delete removed: stale events about it are ignored until its DELETED. */
  private readonly tombstones = new Map<string, string>();
  private resourceVersion = "";
  private stopped = false;
  private current: WatchHandle | undefined;
  private sleeping: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private notFoundLogged = false;
  private markSynced: () => void = () => {};
  /** Resolves after the first list (or stop()). */
  readonly synced: Promise<void>;

  constructor(private readonly options: InformerOptions) {
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
  }

  private get path(): string {
    const { group, version, plural } = this.options.info;
    return group === "" ? `/api/${version}/${plural}` : `/apis/${group}/${version}/${plural}`;
  }

  /** Starts listing and watching; resolves once the cache holds a first complete list. */
  start(): Promise<void> {
    void this.run();
    return this.synced;
  }

  /** Closes the watch and wakes any backoff; no request is made afterwards. */
  stop(): void {
    this.stopped = true;
    this.current?.abort();
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.wake();
    }
    this.markSynced();
  }

  get(namespace: string | undefined, name: string): KObject | undefined {
    return this.items.get(keyOf(namespace, name));
  }

  list(namespace: string | undefined): KObject[] {
    if (!this.sorted) this.sorted = [...this.items.keys()].sort();
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    const out: KObject[] = [];
    for (const key of this.sorted) {
      if (prefix !== undefined && !key.startsWith(prefix)) continue;
      const obj = this.items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** The server's answer to our own write: cached at once unless the cache already holds something newer. */
  applyWrite(obj: KObject): void {
    this.upsert(this.complete(obj));
  }

  /** Our own delete went through: the object leaves the cache now, and late events about it are ignored. */
  applyDelete(namespace: string | undefined, name: string, uid: string, last: KObject | undefined): void {
    const key = keyOf(namespace, name);
    const current = this.items.get(key);
    if (!current || current.metadata.uid !== uid) return;
    this.tombstones.set(key, uid);
    this.remove(key, last ? this.complete(last) : current);
  }

  // ---- the reflector loop --------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!this.stopped) {
      let delay = 0;
      try {
        if (needList) {
          await this.relist();
          needList = false;
          this.markSynced();
        }
        const outcome = await this.watchOnce();
        if (outcome === "expired") {
          this.stats.expired++;
          needList = true;
          failures = 0;
        } else if (outcome === "progress") failures = 0;
        else delay = backoffMs(this.options.backoff, ++failures, this.options.random());
      } catch (err) {
        if (this.stopped) return;
        this.stats.failures++;
        failures++;
        if (err instanceof ApiError && err.code === 410) needList = true;
        else if (err instanceof ApiError && err.code === 404 && needList) this.notServed();
        else this.logFailure(err, failures);
        delay = backoffMs(this.options.backoff, failures, this.options.random());
      }
      if (delay > 0) await this.sleep(delay);
    }
  }

  /** The resource is not served (yet): the cache stays empty and counts as synced; listing is retried. */
  private notServed(): void {
    if (!this.notFoundLogged) {
      this.notFoundLogged = true;
      log.info(
        { resource: this.path },
        "the cluster does not serve this resource; retrying in the background",
      );
    }
    this.markSynced();
  }

  private logFailure(err: unknown, failures: number): void {
    const fields = { err, resource: this.path, failures };
    if (failures === 1) log.warn(fields, "list/watch failed; backing off");
    else log.debug(fields, "list/watch failed again");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref?.();
      this.sleeping = { timer, wake };
    });
  }

  /** A paged list, then the differences to the cache as changes (client-go's Replace). */
  private async relist(): Promise<void> {
    this.stats.lists++;
    const listed: KObject[] = [];
    let token: string | undefined;
    let listRv = "";
    do {
      const page = rec(
        await this.options.client.request({
          method: "GET",
          path: this.path,
          query: { limit: String(this.options.pageSize ?? 500), continue: token },
        }),
      );
      for (const item of recs(page?.items)) listed.push(this.complete(item as KObject));
      const meta = rec(page?.metadata);
      token = str(meta?.continue) || undefined;
      listRv = str(meta?.resourceVersion) ?? listRv;
    } while (token !== undefined && !this.stopped);
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const obj of listed) {
      const key = keyOf(obj.metadata.namespace, obj.metadata.name);
      seen.add(key);
      if (this.tombstones.get(key) === obj.metadata.uid) continue;
      this.upsert(obj);
    }
    for (const [key, obj] of [...this.items]) {
      // Kept: what our own writes put there after the list's snapshot.
      if (seen.has(key) || (listRv !== "" && newer(obj.metadata.resourceVersion, listRv))) continue;
      this.remove(key, obj);
    }
    for (const key of [...this.tombstones.keys()]) if (!seen.has(key)) this.tombstones.delete(key);
    this.resourceVersion = listRv;
  }

  private async watchOnce(): Promise<WatchOutcome> {
    this.stats.watches++;
    const started = Date.now();
    let events = 0;
    let expired = false;
    let failure: ApiError | undefined;
    const handle = this.options.client.watch(
      this.path,
      {
        allowWatchBookmarks: "true",
        resourceVersion: this.resourceVersion,
        timeoutSeconds: String(this.options.watchTimeoutSeconds),
      },
      (type, object) => {
        const obj = rec(object) as KObject | undefined;
        if (!obj || this.stopped) return;
        if (type === "ERROR") {
          const err = new ApiError(
            typeof obj.code === "number" ? obj.code : 500,
            str(obj.reason) ?? "InternalError",
            str(obj.message) ?? "watch error",
          );
          if (err.code === 410) expired = true;
          else failure = err;
          return;
        }
        events++;
        const rv = str(rec(obj.metadata)?.resourceVersion);
        if (rv) this.resourceVersion = rv;
        if (type === "ADDED" || type === "MODIFIED") this.onRemoteUpsert(this.complete(obj));
        else if (type === "DELETED") this.onRemoteDelete(this.complete(obj));
      },
    );
    this.current = handle;
    // A half-open connection never ends by itself: give the server's own timeout a margin, then give up on it.
    const guard = setTimeout(() => handle.abort(), (this.options.watchTimeoutSeconds + 30) * 1000);
    guard.unref?.();
    try {
      await handle.done;
    } catch (err) {
      if (this.stopped) return "quiet";
      if (!expired) throw err;
    } finally {
      clearTimeout(guard);
      this.current = undefined;
    }
    if (expired) return "expired";
    if (failure) throw failure;
    return events > 0 || Date.now() - started >= MIN_USEFUL_WATCH_MS ? "progress" : "quiet";
  }

  // ---- cache updates -------------------------------------------------------------------------------------

  private onRemoteUpsert(obj: KObject): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (this.tombstones.get(key) === obj.metadata.uid) return;
    this.upsert(obj);
  }

  private onRemoteDelete(obj: KObject): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (this.tombstones.get(key) === obj.metadata.uid) {
      this.tombstones.delete(key);
      return;
    }
    const current = this.items.get(key);
    // A later incarnation (our own create after this deletion) stays.
    if (!current || newer(current.metadata.resourceVersion, obj.metadata.resourceVersion)) return;
    this.remove(key, obj);
  }

  private upsert(obj: KObject): void {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    const current = this.items.get(key);
    if (current && !newer(obj.metadata.resourceVersion, current.metadata.resourceVersion)) return;
    if (!current) this.sorted = undefined;
    this.items.set(key, obj);
    this.options.onChange(current ? "MODIFIED" : "ADDED", obj, current);
  }

  private remove(key: string, last: KObject): void {
    const current = this.items.get(key);
    if (!current) return;
    this.items.delete(key);
    this.sorted = undefined;
    this.options.onChange("DELETED", last, current);
  }

  /** List items of built-in kinds carry no apiVersion/kind: put them back, as informers do. */
  private complete(obj: KObject): KObject {
    if (typeof obj.apiVersion === "string" && typeof obj.kind === "string") return obj;
    return { ...obj, apiVersion: apiVersionOf(this.options.info), kind: this.options.info.kind };
  }
}
