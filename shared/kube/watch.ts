/**
 * Watching one kind across all namespaces, in the manner of client-go's reflector (`tools/cache/reflector.go`):
 * a paged list, then a watch from the list's resourceVersion with bookmarks; a watch that ends (the server's
 * timeout, a dropped connection) resumes from the last resourceVersion seen; 410 Expired — an ERROR event or the
 * watch's own answer — relists and reports what changed in between; any other failure backs off exponentially
 * with jitter. Objects are kept and reported by their metadata only (what a trigger needs to find the owning pool),
 * each parsed with zod; an event that does not parse is counted and skipped. The list and the stream are injected
 * (./client.ts wires them to the API server), so the loop is tested without one.
 */
import { z } from "zod";
import type { Logger } from "../log";
import { ObjectWithMetaSchema } from "../schemas";

/**
 * What a watch keeps and reports of an object: the metadata that says which pool it belongs to, nothing else (a
 * cluster's VMs and VMIs are held in memory, so not their specs and statuses).
 */
export type WatchedObject = {
  readonly metadata: Pick<
    z.infer<typeof ObjectWithMetaSchema>["metadata"],
    "name" | "namespace" | "uid" | "resourceVersion" | "labels" | "ownerReferences" | "deletionTimestamp"
  >;
};

export type WatchChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchChange {
  readonly type: WatchChangeType;
  readonly object: WatchedObject;
}

export interface WatchBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface WatchOptions {
  /**
   * Every change after the first list: from the watch, and after a relist (410) the differences it found. The
   * first list only fills the cache (the caller's timer covers what existed before it started).
   */
  readonly onChange: (change: WatchChange) => void;
  /**
   * Asked of the server per watch request, so connections are recycled; default 5-10 minutes at random, as
   * client-go's reflector does.
   */
  readonly timeoutSeconds?: number;
  readonly backoff?: WatchBackoff;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
  readonly pageSize?: number;
}

export interface WatchStats {
  lists: number;
  watches: number;
  /** 410 Expired answers or events, each followed by a relist. */
  expired: number;
  failures: number;
  events: number;
  bookmarks: number;
  unreadable: number;
}

/** A running list+watch of one kind. */
export interface KindWatch {
  /** Resolves after the first complete list (or once stopped). */
  readonly synced: Promise<void>;
  stats(): WatchStats;
  /** Ends the watch and any backoff; resolves once no request of it is left in flight. */
  stop(): Promise<void>;
}

/** One page of a list: its items (unparsed), `continue` token and the list's resourceVersion. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly continueToken: string | undefined;
  readonly resourceVersion: string;
}

/** An open watch stream; `done` settles when it ends (rejects on a transport error or a non-200 answer). */
export interface WatchStream {
  readonly done: Promise<void>;
  abort(): void;
}

/** The two requests a reflector sends, bound to one kind's cluster-wide collection. */
export interface ReflectorPort {
  list(query: { limit: string; continue: string | undefined }, signal: AbortSignal): Promise<ListPage>;
  open(
    query: { resourceVersion: string; allowWatchBookmarks: "true"; timeoutSeconds: string },
    onEvent: (type: unknown, object: unknown) => void,
  ): WatchStream;
}

export const DEFAULT_WATCH_BACKOFF: WatchBackoff = { baseMs: 800, maxMs: 30_000 };
/** client-go's reflector: watches time out after minWatchTimeout (5 min) × (1 + random). */
const MIN_WATCH_TIMEOUT_SECONDS = 300;
/** A watch that ended without an event sooner than this counts as a failure for backoff (no hot loop). */
const MIN_USEFUL_WATCH_MS = 1000;
/** A half-open connection never ends by itself: give the server's own timeout this margin, then abort. */
const HALF_OPEN_MARGIN_MS = 30_000;

const StatusSchema = z.looseObject({ code: z.number().int().optional(), reason: z.string().optional() });

/** The HTTP status a failed watch or list carries (client-node's Watch sets `statusCode`; ApiException `code`). */
export function failureStatus(err: unknown): number | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === "number") return e.statusCode;
  return typeof e.code === "number" ? e.code : undefined;
}

/** Exponential backoff with jitter: failure n waits base·2^(n-1), capped, scaled by a factor in [0.5, 1). */
export function watchBackoffMs(backoff: WatchBackoff, failures: number, jitter: number): number {
  const raw = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + jitter / 2));
}

/** resourceVersions are opaque, but kube-apiserver (etcd revisions) and the local cluster use integers. */
function newer(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

const keyOf = (o: WatchedObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

type WatchOutcome = "expired" | "progress" | "quiet";

/** Starts listing and watching through `port`; see the module comment. */
export function startReflector(
  port: ReflectorPort,
  options: WatchOptions,
  log: Logger,
  what: string,
): KindWatch {
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? DEFAULT_WATCH_BACKOFF;
  const stats: WatchStats = {
    lists: 0,
    watches: 0,
    expired: 0,
    failures: 0,
    events: 0,
    bookmarks: 0,
    unreadable: 0,
  };
  const known = new Map<string, WatchedObject>();
  const stopping = new AbortController();
  let resourceVersion = "";
  let current: WatchStream | undefined;
  let wake: (() => void) | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const parse = (value: unknown): WatchedObject | undefined => {
    const parsed = ObjectWithMetaSchema.safeParse(value);
    if (parsed.success) {
      const { name, namespace, uid, resourceVersion, labels, ownerReferences, deletionTimestamp } =
        parsed.data.metadata;
      return {
        metadata: { name, namespace, uid, resourceVersion, labels, ownerReferences, deletionTimestamp },
      };
    }
    stats.unreadable++;
    log.debug({ resource: what, issue: parsed.error.issues[0]?.message }, "skipped an unreadable object");
    return undefined;
  };

  const emit = (type: WatchChangeType, object: WatchedObject) => {
    try {
      options.onChange({ type, object });
    } catch (err) {
      log.warn({ err, resource: what }, "a watch change handler threw");
    }
  };

  /** A paged list; after the first one, the differences to what was known are reported as changes. */
  const relist = async (first: boolean): Promise<void> => {
    stats.lists++;
    const listed = new Map<string, WatchedObject>();
    let token: string | undefined;
    let listRv = "";
    do {
      const page = await port.list(
        { limit: String(options.pageSize ?? 500), continue: token },
        stopping.signal,
      );
      for (const item of page.items) {
        const object = parse(item);
        if (object) listed.set(keyOf(object), object);
      }
      token = page.continueToken || undefined;
      listRv = page.resourceVersion || listRv;
    } while (token !== undefined && !stopping.signal.aborted);
    if (stopping.signal.aborted) return;
    for (const [key, object] of listed) {
      const before = known.get(key);
      known.set(key, object);
      if (first) continue;
      if (!before) emit("ADDED", object);
      else if (before.metadata.resourceVersion !== object.metadata.resourceVersion) emit("MODIFIED", object);
    }
    for (const [key, object] of [...known]) {
      if (listed.has(key)) continue;
      known.delete(key);
      if (!first) emit("DELETED", object);
    }
    resourceVersion = listRv;
  };

  const onEvent = (type: unknown, value: unknown, expired: () => void, failed: (err: Error) => void) => {
    if (type === "ERROR") {
      const status = StatusSchema.safeParse(value);
      const code = status.success ? status.data.code : undefined;
      if (code === 410) expired();
      else failed(Object.assign(new Error(`watch ERROR event ${code ?? "?"}`), { statusCode: code }));
      return;
    }
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED" && type !== "BOOKMARK") {
      stats.unreadable++;
      return;
    }
    const object = parse(value);
    if (!object) return;
    const rv = object.metadata.resourceVersion;
    if (rv) resourceVersion = rv;
    if (type === "BOOKMARK") {
      stats.bookmarks++;
      return;
    }
    stats.events++;
    const key = keyOf(object);
    const before = known.get(key);
    // A late event older than what the cache holds (a relist overtook it) changes nothing.
    if (before && rv && before.metadata.resourceVersion && !newer(rv, before.metadata.resourceVersion))
      return;
    if (type === "DELETED") known.delete(key);
    else known.set(key, object);
    emit(type, object);
  };

  const watchOnce = async (): Promise<WatchOutcome> => {
    stats.watches++;
    const started = Date.now();
    const eventsBefore = stats.events + stats.bookmarks;
    const timeoutSeconds = options.timeoutSeconds ?? Math.floor(MIN_WATCH_TIMEOUT_SECONDS * (1 + random()));
    let expired = false;
    let failure: Error | undefined;
    const stream = port.open(
      { resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(timeoutSeconds) },
      (type, object) => {
        if (stopping.signal.aborted || expired || failure) return;
        onEvent(
          type,
          object,
          () => {
            expired = true;
            stream.abort();
          },
          (err) => {
            failure = err;
            stream.abort();
          },
        );
      },
    );
    current = stream;
    const guard = setTimeout(() => stream.abort(), timeoutSeconds * 1000 + HALF_OPEN_MARGIN_MS);
    guard.unref?.();
    try {
      await stream.done;
    } catch (err) {
      if (stopping.signal.aborted || expired || failure) {
        // The abort we asked for.
      } else if (failureStatus(err) === 410) expired = true;
      else throw err;
    } finally {
      clearTimeout(guard);
      current = undefined;
    }
    if (expired) return "expired";
    if (failure) throw failure;
    const useful =
      stats.events + stats.bookmarks > eventsBefore || Date.now() - started >= MIN_USEFUL_WATCH_MS;
    return useful ? "progress" : "quiet";
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      timer.unref?.();
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  const run = async (): Promise<void> => {
    let needList = true;
    let first = true;
    let failures = 0;
    while (!stopping.signal.aborted) {
      let delay = 0;
      try {
        if (needList) {
          await relist(first);
          if (stopping.signal.aborted) break;
          needList = false;
          first = false;
          markSynced();
        }
        const outcome = await watchOnce();
        if (outcome === "expired") {
          stats.expired++;
          log.info({ resource: what, resourceVersion }, "watch expired (410); relisting");
          needList = true;
          failures = 0;
        } else if (outcome === "progress") failures = 0;
        else delay = watchBackoffMs(backoff, ++failures, random());
      } catch (err) {
        if (stopping.signal.aborted) break;
        stats.failures++;
        failures++;
        if (failureStatus(err) === 410) {
          stats.expired++;
          needList = true;
        } else if (failures === 1) log.warn({ err, resource: what }, "list/watch failed; backing off");
        else log.debug({ err, resource: what, failures }, "list/watch failed again");
        delay = watchBackoffMs(backoff, failures, random());
      }
      if (delay > 0 && !stopping.signal.aborted) await sleep(delay);
    }
    markSynced();
  };

  const running = run();
  return {
    synced,
    stats: () => ({ ...stats }),
    stop: async () => {
      stopping.abort();
      current?.abort();
      wake?.();
      await running;
    },
  };
}
