/**
 * The simulator's work queue: keys of objects to look at, debounced (changes to one object within the quiet
 * period are looked at once), flushed in bounded batches so thousands of objects never block the event loop,
 * plus per-key delayed re-checks for time-driven steps. Never busy-loops: with nothing dirty and nothing due,
 * no timer is pending beyond the delayed re-checks themselves.
 */
import { logger } from "../../../shared/log";

const log = logger("simulator");

export interface QueueOptions {
  readonly debounceMs: number;
  readonly batchSize: number;
  /** Wall-clock budget of one flush; the rest waits for the next turn of the event loop. */
  readonly budgetMs: number;
  /** Keys looked at concurrently within a flush (one key is never looked at twice at once). */
  readonly concurrency: number;
  readonly now: () => number;
}

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** A flush is running (its handlers may be awaiting writes); the next one waits for it. */
  private flushing = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly options: QueueOptions,
  ) {}

  /** Marks `key` for a look after the debounce period. */
  add(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.scheduleFlush(this.options.debounceMs);
  }

  /** Marks `key` for a look in `delayMs`; an earlier pending re-check of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = this.options.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.delayed.set(key, { due, timer });
  }

  /** Keys waiting for a look now (not counting delayed re-checks). */
  get pending(): number {
    return this.dirty.size;
  }

  /** Resolves once nothing is dirty and no look is running (delayed re-checks may still be pending). */
  idle(): Promise<void> {
    if (this.dirty.size === 0 && !this.flushTimer && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Clears every timer; later adds are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.dirty.clear();
    this.resolveIdle();
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushTimer || this.flushing || this.stopped) return;
    this.flushTimer = setTimeout(() => this.flush(), delayMs);
    this.flushTimer.unref?.();
  }

  private flush(): void {
    this.flushTimer = undefined;
    this.flushing = true;
    void this.runBatch().then((cut) => {
      this.flushing = false;
      if (this.stopped) return;
      if (this.dirty.size > 0) this.scheduleFlush(cut ? 0 : this.options.debounceMs);
      else this.resolveIdle();
    });
  }

  /** Looks at one batch; resolves true when the batch was cut short (more is waiting right now). */
  private async runBatch(): Promise<boolean> {
    // Snapshot the batch: keys re-marked while it runs (our own writes echo back) wait for the next flush.
    const batch: string[] = [];
    for (const key of this.dirty) {
      if (batch.length >= this.options.batchSize) break;
      batch.push(key);
    }
    // Wall-clock time (not the injectable clock): the budget protects the event loop, not simulated time.
    const started = performance.now();
    let cut = batch.length >= this.options.batchSize;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batch.length && !this.stopped) {
        if (performance.now() - started > this.options.budgetMs) {
          cut = true;
          return;
        }
        const key = batch[next++] as string;
        this.dirty.delete(key);
        try {
          await this.handle(key);
        } catch (err) {
          log.warn({ err, key }, "simulator step failed");
        }
      }
    };
    const workers = Math.max(1, Math.min(this.options.concurrency, batch.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return cut;
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
