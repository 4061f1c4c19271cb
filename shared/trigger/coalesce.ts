/**
 * The Node server's local pass trigger: requests for a pass of one pool (admission calls, follow-ups) are debounced
 * and coalesced, so a burst of events becomes one pass soon; at most one pass per pool runs at a time, a request
 * that arrives while a pass runs gives exactly one more pass after it, and event-driven passes of one pool start at
 * least `minIntervalMs` (1 s) apart once a burst is under way, so a long burst costs about one pass a second. A pass that leaves its pool unconverged asks
 * for a follow-up with backoff (1 s doubling to 30 s, reset once the pool converges). Timers are injected, so tests
 * drive it without sleeping.
 */
import { formatRef, type PassResult, type PoolRef } from "../reconcile";
import type { SetTimer } from "../schedule";
import { followUpDelay, needsFollowUp, nextFollowUpDelay } from "./followup";

/** Default wait after the first request of a burst before the pass runs (the rest of the burst joins it). */
export const DEFAULT_DEBOUNCE_MS = 50;
/**
 * Default least time between the starts of two event-driven passes of one pool once two came within it. A quiet
 * pool still reacts after the debounce; during a burst (a scale to 250 gives thousands of VM and VMI status writes) passes come at most
 * this often instead of back to back, so a burst costs a few passes, not one per pass duration.
 */
export const DEFAULT_MIN_INTERVAL_MS = 1000;

/** Reasons kept per pending pass (for the log line); the rest are counted. */
const MAX_REASONS = 5;

export interface CoalescerOptions {
  /** Runs one pass of the pool; `reasons` are the requests it answers. Rejections count as unconverged. */
  readonly run: (ref: PoolRef, reasons: readonly string[]) => Promise<PassResult>;
  readonly debounceMs?: number;
  readonly minIntervalMs?: number;
  readonly setTimer?: SetTimer;
  /** Milliseconds since some epoch (the clock `setTimer` runs on). */
  readonly now?: () => number;
  /** Called when a pass rejects (the coalescer carries on). */
  readonly onError?: (ref: PoolRef, err: unknown) => void;
}

export interface PassCoalescer {
  /** Asks for a pass of `ref` soon; never waits for it. */
  request(ref: PoolRef, reason: string): void;
  /**
   * Reports a pass run elsewhere (the timer's reconcile-all): a pool it left unconverged gets a follow-up with
   * backoff, unless a pass of it is already armed or running here.
   */
  afterPass(result: PassResult): void;
  /** Pools with a pass pending, armed or running. */
  pending(): number;
  /** Cancels every armed timer; running passes finish, and arm nothing more. */
  stop(): void;
}

interface PoolState {
  readonly ref: PoolRef;
  cancel: (() => void) | undefined;
  /** What the armed timer is for: a debounced request (fires soon) or a follow-up (backoff). */
  armed: "request" | "followUp" | undefined;
  running: boolean;
  /** A request came while the pass ran: run once more after it. */
  again: boolean;
  reasons: string[];
  dropped: number;
  /** The last follow-up delay; undefined once the pool converged. */
  backoffMs: number | undefined;
  /** When the last pass of this pool started (`now()`), or undefined before the first. */
  startedAt: number | undefined;
  /** When the pass before it started. */
  previousStartedAt: number | undefined;
}

const defaultSetTimer: SetTimer = (callback, delayMs) => {
  const handle = setTimeout(callback, delayMs);
  handle.unref?.();
  return () => clearTimeout(handle);
};

/** Starts a coalescer; see the module comment for its promises. */
export function createPassCoalescer(options: CoalescerOptions): PassCoalescer {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  const setTimer = options.setTimer ?? defaultSetTimer;
  const now = options.now ?? Date.now;
  const pools = new Map<string, PoolState>();
  let stopped = false;

  const arm = (state: PoolState, armed: "request" | "followUp", delayMs: number): void => {
    state.cancel?.();
    state.armed = armed;
    state.cancel = setTimer(() => fire(state), delayMs);
  };

  /**
   * The delay of an event-driven pass: the debounce; once two passes started less than `2 × minIntervalMs` apart
   * (a burst is under way), stretched to keep `minIntervalMs` since the last start. One quick pass after a quiet
   * spell is free, so a scale right after a pass is still acted on at once.
   */
  const requestDelay = (state: PoolState): number => {
    const { startedAt, previousStartedAt } = state;
    if (startedAt === undefined || previousStartedAt === undefined) return debounceMs;
    // Spaced passes (about `minIntervalMs` apart) keep the spacing; a pool quiet for twice that is a new burst.
    if (startedAt - previousStartedAt >= 2 * minIntervalMs) return debounceMs;
    return Math.max(debounceMs, startedAt + minIntervalMs - now());
  };

  const addReason = (state: PoolState, reason: string): void => {
    if (state.reasons.length < MAX_REASONS) state.reasons.push(reason);
    else state.dropped += 1;
  };

  const stateOf = (ref: PoolRef): PoolState => {
    const key = formatRef(ref);
    let state = pools.get(key);
    if (!state) {
      state = {
        ref,
        cancel: undefined,
        armed: undefined,
        running: false,
        again: false,
        reasons: [],
        dropped: 0,
        backoffMs: undefined,
        startedAt: undefined,
        previousStartedAt: undefined,
      };
      pools.set(key, state);
    }
    return state;
  };

  const settle = (state: PoolState, result: PassResult | undefined): void => {
    state.running = false;
    if (stopped) return;
    if (state.again) {
      state.again = false;
      arm(state, "request", requestDelay(state));
      return;
    }
    followUpOrForget(state, result);
  };

  const followUpOrForget = (state: PoolState, result: PassResult | undefined): void => {
    if (result === undefined || needsFollowUp(result)) {
      state.backoffMs = nextFollowUpDelay(state.backoffMs);
      addReason(state, "follow-up");
      arm(state, "followUp", result === undefined ? state.backoffMs : followUpDelay(result, state.backoffMs));
      return;
    }
    pools.delete(formatRef(state.ref));
  };

  const fire = (state: PoolState): void => {
    state.cancel = undefined;
    state.armed = undefined;
    if (stopped) return;
    state.running = true;
    state.previousStartedAt = state.startedAt;
    state.startedAt = now();
    const reasons = state.dropped > 0 ? [...state.reasons, `${state.dropped} more`] : state.reasons;
    state.reasons = [];
    state.dropped = 0;
    void (async () => {
      let result: PassResult | undefined;
      try {
        result = await options.run(state.ref, reasons);
      } catch (err) {
        options.onError?.(state.ref, err);
      }
      settle(state, result);
    })();
  };

  return {
    request(ref, reason) {
      if (stopped) return;
      const state = stateOf(ref);
      addReason(state, reason);
      if (state.running) state.again = true;
      // An event beats a follow-up's backoff: the pool changed, so look now.
      else if (state.armed !== "request") arm(state, "request", requestDelay(state));
    },
    afterPass(result) {
      if (stopped) return;
      const known = pools.get(formatRef(result.ref));
      if (known && (known.running || known.armed !== undefined)) return;
      followUpOrForget(known ?? stateOf(result.ref), result);
    },
    pending: () => pools.size,
    stop() {
      stopped = true;
      for (const state of pools.values()) {
        state.cancel?.();
        state.cancel = undefined;
      }
    },
  };
}
