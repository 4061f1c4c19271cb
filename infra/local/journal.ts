/**
 * The local cluster's write-ahead journal: one JSON line per committed write, appended with a synchronous write
 * before the API answers, so every acknowledged write survives `kill -9` (the bytes are in the kernel's page cache
 * the moment `writeSync` returns). At start-up the journal is replayed into the store and compacted into one line
 * per live object. A torn last line (a crash in the middle of an unacknowledged write) is ignored.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { logger } from "../../shared/log";
import type { Entry, KObject, Store } from "./store";

const log = logger("journal");

type JournalLine =
  | { t: "put"; r: string; v: number; o: KObject }
  | { t: "del"; r: string; n: string | null; m: string; v: number };

export interface JournalOptions {
  /** fsync after every append: survives power loss too, at a large cost per write. Off by default. */
  readonly fsync?: boolean;
}

export class Journal {
  private fd: number;

  private constructor(
    private readonly path: string,
    private readonly options: JournalOptions,
  ) {
    this.fd = openSync(path, "a");
  }

  /**
   * Replays `path` into `store` (if it exists), rewrites it compacted, and returns a journal appending to it.
   * Returns the number of live objects restored.
   */
  static open(
    path: string,
    store: Store,
    options: JournalOptions = {},
  ): { journal: Journal; restored: number } {
    mkdirSync(dirname(path), { recursive: true });
    let restored = 0;
    if (existsSync(path)) {
      restored = replay(readFileSync(path, "utf8"), store);
      compact(path, store);
    }
    const journal = new Journal(path, options);
    store.attachJournal(journal);
    return { journal, restored };
  }

  appendPut(resource: string, entry: Entry): void {
    this.write(`{"t":"put","r":${JSON.stringify(resource)},"v":${entry.rv},"o":${entry.json}}\n`);
  }

  appendDelete(resource: string, namespace: string | undefined, name: string, rv: number): void {
    const line: JournalLine = { t: "del", r: resource, n: namespace ?? null, m: name, v: rv };
    this.write(`${JSON.stringify(line)}\n`);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private write(line: string): void {
    if (this.fd < 0) return;
    writeSync(this.fd, line);
    if (this.options.fsync) fsyncSync(this.fd);
  }

  /** Where this journal lives (for messages). */
  get location(): string {
    return this.path;
  }
}

function replay(text: string, store: Store): number {
  const lines = text.split("\n");
  let torn = 0;
  for (const raw of lines) {
    if (raw === "") continue;
    let line: JournalLine;
    try {
      line = JSON.parse(raw) as JournalLine;
    } catch {
      torn++;
      continue;
    }
    if (line.t === "put") store.restore(line.r, line.o, line.v);
    else store.restoreDelete(line.r, line.n ?? undefined, line.m, line.v);
  }
  if (torn > 0) log.warn({ torn }, "ignored torn journal lines (writes that were never acknowledged)");
  let live = 0;
  for (const _ of store.entries()) live++;
  return live;
}

function compact(path: string, store: Store): void {
  const tmp = `${path}.compact`;
  const fd = openSync(tmp, "w");
  try {
    for (const [resource, entry] of store.entries()) {
      writeSync(fd, `{"t":"put","r":${JSON.stringify(resource)},"v":${entry.rv},"o":${entry.json}}\n`);
    }
    // Keep the resourceVersion counter monotonic across restarts even if the newest write was a delete.
    const marker: JournalLine = { t: "del", r: "", n: null, m: "", v: store.currentResourceVersion() };
    writeSync(fd, `${JSON.stringify(marker)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
