/**
 * Bounded retries for EventBridge batch calls that partly fail (PutTargets, RemoveTargets, PutEvents report
 * `FailedEntryCount` and per-entry errors instead of throwing): resend only the failed entries, with exponential
 * backoff, a fixed number of times, then hand back what still failed.
 */

export interface RetryOptions {
  /** Total attempts per entry, including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Injected so tests never sleep. */
  readonly sleep: (ms: number) => Promise<void>;
}

export interface EntryFailure<T> {
  readonly entry: T;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Fills unspecified retry options with the defaults. */
export function retryOptions(partial: Partial<RetryOptions> = {}): RetryOptions {
  return { ...DEFAULT_RETRY, ...partial };
}

/** Delay before attempt `attempt + 1`: base × 2^(attempt-1), capped. */
export function backoffDelay(attempt: number, options: RetryOptions): number {
  return Math.min(options.baseDelayMs * 2 ** (attempt - 1), options.maxDelayMs);
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Sends `entries` with `send` (which returns the entries that failed), resending failures after a backoff until
 * none fail or `maxAttempts` is reached. Returns the entries that still failed, with their last error.
 */
export async function sendWithRetry<T>(
  entries: readonly T[],
  send: (batch: readonly T[]) => Promise<EntryFailure<T>[]>,
  options: RetryOptions,
): Promise<EntryFailure<T>[]> {
  let pending: readonly T[] = entries;
  let failures: EntryFailure<T>[] = [];
  for (let attempt = 1; pending.length > 0; attempt++) {
    failures = await send(pending);
    if (failures.length === 0 || attempt >= options.maxAttempts) break;
    await options.sleep(backoffDelay(attempt, options));
    pending = failures.map((failure) => failure.entry);
  }
  return failures;
}
