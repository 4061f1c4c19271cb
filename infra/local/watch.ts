/**
 * Watch streams for the local cluster: newline-delimited JSON events (ADDED / MODIFIED / DELETED / BOOKMARK /
 * ERROR) with kube-apiserver's resourceVersion semantics (unset or "0" replays current objects as ADDED; "N"
 * streams changes after N; older than the retained history → HTTP 200 then an ERROR 410 event), selectors applied
 * to old and new state (objects leaving a selector are DELETED), Table-encoded events for `kubectl get -w`,
 * bookmarks, and `timeoutSeconds`.
 */
import type { Selector } from "../../shared/labels";
import type { FieldSelector } from "./fieldselectors";
import type { Registry } from "./registry";
import type { ResourceDef } from "./resources";
import { groupVersion, resourceKey } from "./resources";
import { type ChangeEvent, type Entry, HistoryExpiredError, type KObject } from "./store";
import { tableFor } from "./tables";

export interface WatchRequest {
  readonly def: ResourceDef;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly labels: Selector | undefined;
  readonly fields: FieldSelector | undefined;
  readonly table: { readonly includeObject: "None" | "Metadata" | "Object" } | undefined;
  readonly allowBookmarks: boolean;
  /**
   * WatchList (`sendInitialEvents=true`, beta and on in 1.34): the current objects as ADDED, then a BOOKMARK
   * annotated `k8s.io/initial-events-end` once they are all sent.
   */
  readonly sendInitialEvents?: boolean;
  readonly timeoutSeconds: number | undefined;
}

const DEFAULT_TIMEOUT_SECONDS = 1800;
const BOOKMARK_INTERVAL_MS = 5_000;
const encoder = new TextEncoder();

/** `entry` as it would read at `rv` (its content, another resourceVersion). */
function atResourceVersion(entry: Entry, rv: number): Entry {
  const obj: KObject = { ...entry.obj, metadata: { ...entry.obj.metadata, resourceVersion: String(rv) } };
  return { obj, json: JSON.stringify(obj), rv };
}

/** Opens a watch; returns the body stream of a 200 response. */
export function openWatch(registry: Registry, req: WatchRequest): ReadableStream<Uint8Array> {
  const store = registry.store;
  const resource = resourceKey(req.def);
  let columnsSent = false;
  let lastRv = store.currentResourceVersion();
  let cleanup: () => void = () => {};

  const encodeObject = (entry: Entry): string => {
    if (!req.table) return registry.jsonOf(req.def, entry, req.version);
    const obj = JSON.parse(registry.jsonOf(req.def, entry, req.version)) as KObject;
    const table = tableFor(req.def, [obj], {
      includeObject: req.table.includeObject,
      now: registry.now(),
      withColumnDefinitions: !columnsSent,
      listMetadata: { resourceVersion: String(entry.rv) },
    });
    columnsSent = true;
    return JSON.stringify(table);
  };
  const matches = (entry: Entry | undefined): boolean =>
    entry !== undefined &&
    (req.namespace === undefined || entry.obj.metadata.namespace === req.namespace) &&
    registry.matchesSelectors(entry.obj, req.labels, req.fields);

  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (type: string, body: string) =>
        controller.enqueue(encoder.encode(`{"type":"${type}","object":${body}}\n`));
      const deliver = (event: ChangeEvent) => {
        lastRv = event.rv;
        const now = matches(event.entry);
        const before = event.type === "ADDED" ? false : matches(event.previous);
        if (event.type === "DELETED") {
          if (before || now) send("DELETED", encodeObject(event.entry));
        } else if (now && before) send("MODIFIED", encodeObject(event.entry));
        else if (now) send("ADDED", encodeObject(event.entry));
        else if (before && event.previous) {
          // Leaving the selector: the previous state, at the event's resourceVersion (cacher `convertToWatchEvent`).
          send("DELETED", encodeObject(atResourceVersion(event.previous, event.rv)));
        }
      };

      const rv = req.resourceVersion;
      if (rv === undefined || rv === "" || rv === "0" || req.sendInitialEvents) {
        for (const entry of store.list(resource, req.def.namespaced ? req.namespace : undefined)) {
          if (matches(entry)) send("ADDED", encodeObject(entry));
        }
        if (req.sendInitialEvents && req.allowBookmarks) {
          const bookmark = {
            kind: req.def.kind,
            apiVersion: groupVersion(req.def.group, req.version),
            metadata: {
              resourceVersion: String(store.currentResourceVersion()),
              annotations: { "k8s.io/initial-events-end": "true" },
            },
          };
          send("BOOKMARK", JSON.stringify(bookmark));
        }
      } else {
        const from = Number(rv);
        let backlog: ChangeEvent[];
        try {
          if (!Number.isInteger(from) || from < 0) throw new HistoryExpiredError(from, 0);
          backlog = store.eventsSince(resource, from);
        } catch (err) {
          const message =
            err instanceof HistoryExpiredError && Number.isInteger(from)
              ? err.message
              : `invalid resource version: ${rv}`;
          send(
            "ERROR",
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message,
              reason: "Expired",
              code: 410,
            }),
          );
          controller.close();
          return;
        }
        for (const event of backlog) deliver(event);
      }

      const unsubscribe = store.subscribe(resource, (event) => {
        try {
          deliver(event);
        } catch {
          cleanup();
        }
      });
      const timeout = setTimeout(
        () => {
          cleanup();
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        },
        (req.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      );
      const bookmarks = req.allowBookmarks
        ? setInterval(() => {
            const bookmark = {
              kind: req.def.kind,
              apiVersion: groupVersion(req.def.group, req.version),
              metadata: { resourceVersion: String(Math.max(lastRv, store.currentResourceVersion())) },
            };
            try {
              send("BOOKMARK", JSON.stringify(bookmark));
            } catch {
              cleanup();
            }
          }, BOOKMARK_INTERVAL_MS)
        : undefined;
      cleanup = () => {
        unsubscribe();
        clearTimeout(timeout);
        if (bookmarks) clearInterval(bookmarks);
      };
    },
    cancel() {
      cleanup();
    },
  });
}
