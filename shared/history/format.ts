/**
 * The scaling history as text: the table `vmpool history` prints and the chat-ops `history` command shows in a
 * code block. Pure.
 */
import type { HistoryEntry } from "./entry";

/** `3 → 6`, or `5` when the desired count stayed. */
export function replicasCell(entry: HistoryEntry): string {
  return entry.from === entry.to ? String(entry.to) : `${entry.from} → ${entry.to}`;
}

/** `scaled`, `unchanged`, `created 2`, `deleted 1`. */
export function decisionCell(entry: HistoryEntry): string {
  return entry.count === undefined ? entry.decision : `${entry.decision} ${entry.count}`;
}

/** The actor, with the metric values it decided on. */
export function actorCell(entry: HistoryEntry): string {
  return entry.metrics ? `${entry.actor} [${entry.metrics}]` : entry.actor;
}

const HEADER = ["TIME", "KIND", "ACTOR", "REPLICAS", "DECISION", "REASON", "MESSAGE"] as const;

/** Columns padded to their widest cell, the last one left free; one line per entry, oldest first. */
export function formatHistoryTable(entries: readonly HistoryEntry[]): string {
  const rows = entries.map((e) => [
    e.at,
    e.kind,
    actorCell(e),
    replicasCell(e),
    decisionCell(e),
    e.reason,
    e.message,
  ]);
  const all = [[...HEADER], ...rows];
  const widths = HEADER.map((_, i) => Math.max(...all.map((row) => [...(row[i] ?? "")].length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
