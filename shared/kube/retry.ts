/**
 * Retrying one Kubernetes request: retryable failures (429, 5xx, network) are tried again after an exponential
 * backoff with jitter, never sooner than the server's Retry-After, and never past the caller's deadline; a read
 * also retries a 409, which it cannot have caused; other failures surface at once. Randomness, sleeping and the
 * clock are injected so tests are deterministic.
 */
import {
  type KubeError,
  type KubeRequestContext,
  provablyNotProcessed,
  timeoutError,
  toKubeError,
} from "./errors";

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** Backoff cap of the first retry; it doubles per retry up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Upper bound of one attempt when the deadline is further away (or absent). */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  requestTimeoutMs: 30_000,
};

/** A Retry-After longer than this is not waited for: the next pass will come sooner. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The wait before the retry that follows failed attempt `attempt` (1-based): "equal jitter", half the exponential
 * cap plus a random half, so concurrent passes spread out but never retry instantly; at least Retry-After.
 */
export function retryDelay(
  attempt: number,
  retryAfterSeconds: number | undefined,
  policy: RetryPolicy,
  random: () => number,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = cap / 2 + random() * (cap / 2);
  const floor = retryAfterSeconds === undefined ? 0 : retryAfterSeconds * 1000;
  return Math.round(Math.max(floor, jittered));
}

export interface RetryRuntime {
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

export interface RetryCall {
  /** Epoch milliseconds after which no attempt starts and none keeps running. */
  readonly deadline?: number | undefined;
  readonly context: KubeRequestContext;
  /** A repeat could do the work twice: retry only failures that prove the server did nothing. */
  readonly unsafeToRepeat?: boolean;
  /**
   * A read (GET, LIST): it carries no precondition that a 409 could refute, so a 409 is as transient as a 5xx
   * and is retried too (a 410 Expired is not: the same continue token would only expire again).
   */
  readonly read?: boolean;
  /** Called before each wait, with the failure and the delay chosen. */
  readonly onRetry?: (err: KubeError, delayMs: number, attempt: number) => void;
}

/** Runs `attempt` (given an AbortSignal bounding it) until it succeeds, fails for good, or time runs out. */
export async function withRetries<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  runtime: RetryRuntime,
  call: RetryCall,
): Promise<T> {
  const { policy, random, sleep, now } = runtime;
  let last: KubeError | undefined;
  for (let n = 1; ; n++) {
    const remaining = call.deadline === undefined ? policy.requestTimeoutMs : call.deadline - now();
    if (remaining <= 0)
      throw last ?? timeoutError("the deadline passed before the request was sent", call.context);
    try {
      return await attempt(AbortSignal.timeout(Math.min(remaining, policy.requestTimeoutMs)));
    } catch (err) {
      const failure = toKubeError(err, call.context);
      const retryable = failure.retryable || (call.read === true && failure.status === 409);
      if (!retryable || n >= policy.maxAttempts) throw failure;
      if (call.unsafeToRepeat && !provablyNotProcessed(failure)) throw failure;
      const delay = retryDelay(n, failure.retryAfterSeconds, policy, random);
      if (delay > MAX_RETRY_AFTER_MS) throw failure;
      if (call.deadline !== undefined && now() + delay >= call.deadline) throw failure;
      call.onRetry?.(failure, delay, n);
      last = failure;
      await sleep(delay);
    }
  }
}

/** setTimeout as a promise. */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
