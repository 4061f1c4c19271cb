/**
 * Remembering chat deliveries next to the pool they changed, so a redelivered command (Slack retries with
 * `X-Slack-Retry-Num`; a replay inside the signature window) is recognised and not run twice. The memory is a
 * bounded annotation on the pool, written in the same conditional patch as the change itself (or just before it,
 * when the change is to another object), so two deliveries racing on one pool cannot both win: one gets a 409,
 * re-reads, and finds the other's key. Nothing is kept in process memory (DESIGN §3).
 */

/** Annotation on the pool holding recent delivery keys, `key@unixSeconds` separated by spaces. */
export const DELIVERIES_ANNOTATION = "vmpool-functions.io/chatops-deliveries";

/** Most keys remembered per pool; the oldest go first. Keeps the annotation under about 1 KiB. */
export const MAX_REMEMBERED_DELIVERIES = 16;

/** How long a key is remembered: Slack's `response_url` lives 30 minutes and retries come within seconds. */
export const DELIVERY_MEMORY_SECONDS = 30 * 60;

const KEY = /^[A-Za-z0-9_-]{1,64}$/u;

interface Delivery {
  readonly key: string;
  readonly at: number;
}

/** True when `key` is a valid delivery key (what `slackDedupKey` makes). */
export function isDeliveryKey(key: string): boolean {
  return KEY.test(key);
}

/** The remembered deliveries in an annotation value; malformed entries (hand edits) are ignored. */
function parseDeliveries(value: string | undefined): Delivery[] {
  const out: Delivery[] = [];
  for (const token of (value ?? "").split(/\s+/u)) {
    const at = token.lastIndexOf("@");
    if (at <= 0) continue;
    const key = token.slice(0, at);
    const seconds = Number(token.slice(at + 1));
    if (isDeliveryKey(key) && Number.isSafeInteger(seconds)) out.push({ key, at: seconds });
  }
  return out;
}

/** True when the annotation value already holds `key`. */
export function hasDelivery(value: string | undefined, key: string): boolean {
  return parseDeliveries(value).some((d) => d.key === key);
}

/**
 * The annotation value with `key` added at `now`: entries older than the memory window dropped, then only the
 * newest MAX_REMEMBERED_DELIVERIES kept. Throws on a key that would corrupt the list.
 */
export function rememberDelivery(value: string | undefined, key: string, now: Date): string {
  if (!isDeliveryKey(key)) throw new RangeError(`not a delivery key: ${JSON.stringify(key)}`);
  const seconds = Math.floor(now.getTime() / 1000);
  const kept = parseDeliveries(value).filter(
    (d) => d.key !== key && seconds - d.at <= DELIVERY_MEMORY_SECONDS,
  );
  const all = [...kept, { key, at: seconds }].slice(-MAX_REMEMBERED_DELIVERIES);
  return all.map((d) => `${d.key}@${d.at}`).join(" ");
}
