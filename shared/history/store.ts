/**
 * Where the scaling history lives: one ConfigMap per pool, `<name>-vmpool-history` (`<name>-vmirs-history` for a
 * replica set) in the pool's namespace, owned by the pool through an ownerReference so the garbage collector
 * deletes it with the pool, holding the log as compact JSON lines under one key. Writes are resourceVersion-
 * conditional PUTs (a create for the first entry) retried on 409, so concurrent writers never lose an entry.
 *
 * Why a ConfigMap and not an annotation on the pool: every pool write wakes the admission webhook (a pass per
 * write) and bumps the pool's resourceVersion, which would make chat-ops' conditional pool patches and kubectl's
 * edits conflict with a history write; and the pool's annotations share 256 KiB with kubectl's
 * last-applied-configuration. A ConfigMap has its own 1 MiB, its own version, and is plain core/v1 that every
 * cluster (and the local one) serves. RBAC: get, create and update configmaps, and list them (one list, by label,
 * for the /ui page). No blockOwnerDeletion, which would need the pools' finalizers subresource.
 *
 * Every function here may throw KubeErrors; `recordHistory` is the best-effort wrapper writers use.
 */
import { createHash } from "node:crypto";
import { ReasonedError } from "../errors";
import { type ConfigMap, isKubeError, type Kube } from "../kube";
import type { Logger } from "../log";
import type { PoolKind, PoolRef } from "../reconcile/types";
import {
  appendEntries,
  type Caps,
  DEFAULT_CAPS,
  decodeEntries,
  type EntryInput,
  encodeEntries,
  type HistoryEntry,
} from "./entry";

/** The data key holding the log. */
export const HISTORY_KEY = "entries.jsonl";
/** Labels every history ConfigMap: its value is the pool kind's short name. */
export const HISTORY_LABEL = "vmpool-functions.io/history";
/** `vmpool/<ns>/<name>`: which pool the log is about (names can be longer than a label value). */
export const HISTORY_POOL_ANNOTATION = "vmpool-functions.io/pool";

const SHORT: Readonly<Record<PoolKind, string>> = {
  VirtualMachinePool: "vmpool",
  VirtualMachineInstanceReplicaSet: "vmirs",
};

/** Writers of one pool's log are few (a pass, a decision, a command); this many tries outlast their races. */
const MAX_ATTEMPTS = 8;

/** The pool a log belongs to: the ownerReference needs its apiVersion and uid. */
export interface HistoryOwner {
  readonly ref: PoolRef;
  readonly apiVersion: string;
  readonly uid: string;
}

/** `<name>-vmpool-history`; a name too long for the suffix is cut and made unique with a hash. */
export function historyName(ref: Pick<PoolRef, "kind" | "name">): string {
  const suffix = `-${SHORT[ref.kind]}-history`;
  if (ref.name.length + suffix.length <= 253) return `${ref.name}${suffix}`;
  const hash = createHash("sha256").update(ref.name).digest("hex").slice(0, 8);
  return `${ref.name.slice(0, 253 - suffix.length - 9).replace(/[-.]+$/u, "")}-${hash}${suffix}`;
}

function ownerUid(map: ConfigMap): string | undefined {
  return map.metadata.ownerReferences?.[0]?.uid;
}

/** The log of this incarnation of the pool (a log left by a deleted pool of the same name is not its). */
export async function readHistory(kube: Kube, ref: PoolRef, uid?: string): Promise<HistoryEntry[]> {
  const map = await kube.get("ConfigMap", ref.namespace, historyName(ref));
  if (!map || (uid !== undefined && ownerUid(map) !== uid)) return [];
  return decodeEntries(map.data?.[HISTORY_KEY]).entries;
}

/** One pool's log as listed: the owner's uid keys it to the live pool. */
export interface ListedHistory {
  readonly ownerUid: string | undefined;
  readonly entries: HistoryEntry[];
  /** The ConfigMap as stored, in bytes of JSON. */
  readonly bytes: number;
}

/** Every history log (in one namespace, or all), with one list request. */
export async function listHistories(kube: Kube, namespace?: string): Promise<ListedHistory[]> {
  const maps = await kube.list("ConfigMap", {
    labelSelector: HISTORY_LABEL,
    ...(namespace === undefined ? {} : { namespace }),
  });
  return maps.map((map) => ({
    ownerUid: ownerUid(map),
    entries: decodeEntries(map.data?.[HISTORY_KEY]).entries,
    bytes: Buffer.byteLength(JSON.stringify(map)),
  }));
}

export interface AppendOptions {
  readonly now: () => Date;
  readonly caps?: Caps;
}

/**
 * Reads the log, asks `build` what to append given the entries as read, and writes the result conditionally;
 * a 409 re-reads and builds again. Returns whether anything was written (repeats are coalesced into nothing).
 */
export async function appendHistory(
  kube: Kube,
  owner: HistoryOwner,
  build: (entries: readonly HistoryEntry[]) => readonly EntryInput[],
  options: AppendOptions,
): Promise<boolean> {
  const { ref } = owner;
  const name = historyName(ref);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const map = await kube.get("ConfigMap", ref.namespace, name);
    const stale = map !== undefined && ownerUid(map) !== owner.uid;
    const entries = map && !stale ? decodeEntries(map.data?.[HISTORY_KEY]).entries : [];
    const appended = appendEntries(entries, build(entries), options.now(), options.caps ?? DEFAULT_CAPS);
    if (!appended.changed) return false;
    const metadata = {
      name,
      namespace: ref.namespace,
      labels: {
        ...map?.metadata.labels,
        "app.kubernetes.io/managed-by": "vmpool-functions",
        [HISTORY_LABEL]: SHORT[ref.kind],
      },
      annotations: {
        ...map?.metadata.annotations,
        [HISTORY_POOL_ANNOTATION]: `${SHORT[ref.kind]}/${ref.namespace}/${ref.name}`,
      },
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: ref.kind, name: ref.name, uid: owner.uid }],
    };
    const data = { [HISTORY_KEY]: encodeEntries(appended.entries) };
    try {
      if (map) {
        await kube.replace("ConfigMap", {
          ...map,
          metadata: { ...map.metadata, ...metadata },
          data: { ...map.data, ...data },
        });
      } else {
        await kube.create("ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata, data });
      }
      return true;
    } catch (err) {
      if (!isKubeError(err, "Conflict") && !isKubeError(err, "AlreadyExists")) throw err;
    }
    // Writers that conflicted on one version all retry at once: spread them out a little.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
  }
  throw new ReasonedError("Conflict", `${name} kept changing under us (${MAX_ATTEMPTS} attempts)`, {
    retryable: true,
    status: 409,
  });
}

export interface RecordDeps {
  readonly kube: Kube;
  readonly log: Logger;
  readonly now: () => Date;
}

/**
 * `appendHistory`, best effort: the history never fails or holds up the write it describes (writers call it
 * after their own write succeeded), so any failure is logged and swallowed.
 */
export async function recordHistory(
  deps: RecordDeps,
  owner: HistoryOwner,
  build: (entries: readonly HistoryEntry[]) => readonly EntryInput[],
): Promise<void> {
  try {
    await appendHistory(deps.kube, owner, build, { now: deps.now });
  } catch (err) {
    deps.log.warn(
      {
        pool: `${SHORT[owner.ref.kind]}/${owner.ref.namespace}/${owner.ref.name}`,
        reason: err instanceof ReasonedError ? err.reason : "Error",
        err: err instanceof Error ? err.message : String(err),
      },
      "could not record the scaling history",
    );
  }
}

/** The apiVersion an ownerReference names for a pool kind when the object read did not say. */
export const POOL_API_VERSIONS: Readonly<Record<PoolKind, string>> = {
  VirtualMachinePool: "pool.kubevirt.io/v1beta1",
  VirtualMachineInstanceReplicaSet: "kubevirt.io/v1",
};
