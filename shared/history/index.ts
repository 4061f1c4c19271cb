/**
 * shared/history owns the scaling activity log of each pool: who or what changed its replica count, or decided
 * not to (an HPA decision with its metric values, a chat-ops command with its user, a field manager such as
 * kubectl as managedFields show it, reconcile's creates and deletes), when, from what to what, and why. The pure
 * part (entries, caps, coalescing, attribution) is in ./entry and ./attribution; ./store keeps the log in a
 * ConfigMap beside the pool through shared/kube.
 */
export { externalChange, type ReplicasOwner, replicasOwner } from "./attribution";
export {
  ACTOR_KINDS,
  type ActorKind,
  appendEntries,
  type Caps,
  capEntries,
  DECISIONS,
  DEFAULT_CAPS,
  type DecisionKind,
  decodeEntries,
  type EntryInput,
  encodeEntries,
  type HistoryEntry,
  HistoryEntrySchema,
  MAX_BYTES,
  MAX_ENTRIES,
} from "./entry";
export { actorCell, decisionCell, formatHistoryTable, replicasCell } from "./format";
export { type PoolOverview, readOverview } from "./overview";
export {
  appendHistory,
  HISTORY_KEY,
  HISTORY_LABEL,
  HISTORY_POOL_ANNOTATION,
  type HistoryOwner,
  historyName,
  type ListedHistory,
  listHistories,
  POOL_API_VERSIONS,
  readHistory,
  recordHistory,
} from "./store";
