/**
 * Remembering chat deliveries next to the pool they acted on, so a redelivered command (Slack retries with
 * `X-Slack-Retry-Num`, a replay inside the signature window, an EventBridge redelivery of the job) is recognised
 * and not run twice. The memory is an annotation on the pool, written in the same conditional patch as the change
 * itself (or just before it, when the change is to another object), so two deliveries racing on one pool cannot
 * both win: one gets a 409, re-reads, and finds the other's key. Nothing is kept in process memory (DESIGN §3).
 *
 * A key is kept for `DELIVERY_MEMORY_SECONDS`, longer than any copy of its request can still be accepted, and is
 * never dropped earlier: when the memory is full, `rememberDelivery` refuses the new command instead (a rate
 * limit of `MAX_REMEMBERED_DELIVERIES` commands per pool per memory window). Pure.
 */
/** Annotation on the pool holding recent delivery keys, `key@unixSeconds` separated by spaces. */
export const DELIVERIES_ANNOTATION = "vmpool-functions.io/chatops-deliveries";

/**
 * Oldest a job may be (from the webhook's `receivedAt`) when the worker starts it; older ones are not run. Bounds
 * the worker side of the memory: EventBridge may redeliver a job for up to an hour (the rules' default
 * `maximumEventAgeInSeconds`).
 */
export const MAX_JOB_AGE_SECONDS = 5 * 60;

/**
 * How long a key is remembered, from when it ran. A copy of a signed request is accepted at most
 * SLACK_REPLAY_WINDOW_SECONDS either side of its timestamp (a 10-minute span), and its job starts at most
 * MAX_JOB_AGE_SECONDS after that: 15 minutes after the first copy ran, at the latest. The other 15 cover Slack's
 * re-signed retries (minutes apart) and clock differences between our instances.
 */
export const DELIVERY_MEMORY_SECONDS = 30 * 60;

/** Most keys remembered per pool (at most about 80 bytes each, so the annotation stays under 10 KiB). */
export const MAX_REMEMBERED_DELIVERIES = 128;

const KEY = /^[A-Za-z0-9_-]{1,64}$/u;

interface Delivery {
  readonly key: string;
  readonly at: number;
}

/** What remembering a delivery comes to: the new annotation value, or a refusal because the memory is full. */
export type Remembered =
  | { readonly ok: true; readonly value: string }
  | {
      readonly ok: false;
      readonly reason: "TooManyCommands";
      /** When the oldest remembered key expires and a command fits again. */
      readonly retryAfterSeconds: number;
    };

/** True when `key` is a valid delivery key (what `slackDedupKey` makes). */
export function isDeliveryKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * The remembered deliveries still inside the memory window at `seconds`. Malformed entries (hand edits) are
 * ignored, and so are times further ahead than the window itself, which no clock difference explains.
 */
function liveDeliveries(value: string | undefined, seconds: number): Delivery[] {
  const out: Delivery[] = [];
  for (const token of (value ?? "").split(/\s+/u)) {
    const at = token.lastIndexOf("@");
    if (at <= 0) continue;
    const key = token.slice(0, at);
    const when = Number(token.slice(at + 1));
    if (!isDeliveryKey(key) || !Number.isSafeInteger(when)) continue;
    if (Math.abs(seconds - when) <= DELIVERY_MEMORY_SECONDS) out.push({ key, at: when });
  }
  return out;
}

const unixSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

/** True when the annotation value holds `key` and it is still inside the memory window at `now`. */
export function hasDelivery(value: string | undefined, key: string, now: Date): boolean {
  return liveDeliveries(value, unixSeconds(now)).some((d) => d.key === key);
}

/**
 * The annotation value with `key` added at `now` and the entries past the memory window dropped; or, when
 * MAX_REMEMBERED_DELIVERIES keys are still inside it, a refusal saying when there will be room. Never forgets a
 * key inside the window. Throws on a key that would corrupt the list.
 */
export function rememberDelivery(value: string | undefined, key: string, now: Date): Remembered {
  if (!isDeliveryKey(key)) throw new RangeError(`not a delivery key: ${JSON.stringify(key)}`);
  const seconds = unixSeconds(now);
  const kept = liveDeliveries(value, seconds).filter((d) => d.key !== key);
  if (kept.length >= MAX_REMEMBERED_DELIVERIES) {
    const oldest = Math.min(...kept.map((d) => d.at));
    return {
      ok: false,
      reason: "TooManyCommands",
      retryAfterSeconds: Math.max(1, oldest + DELIVERY_MEMORY_SECONDS + 1 - seconds),
    };
  }
  const all = [...kept, { key, at: seconds }];
  return { ok: true, value: all.map((d) => `${d.key}@${d.at}`).join(" ") };
}
