/**
 * The reconcile-all fan-out: one `Pool Reconcile Requested` event per pool on our bus, so each pool gets its own
 * reconcile invocation. PutEvents takes 10 entries per call and reports per-entry failures, which are resent with
 * bounded backoff and then returned.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { logger } from "../../shared/log";
import { EVENT_SOURCE, EVENTBRIDGE_BATCH_LIMIT, POOL_RECONCILE_DETAIL_TYPE, type PoolRef } from "./contract";
import { chunk, type EntryFailure, type RetryOptions, retryOptions, sendWithRetry } from "./retry";

export interface FailedPoolEvent {
  readonly pool: PoolRef;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface PutPoolEventsResult {
  /** Events EventBridge accepted. */
  readonly sent: number;
  /** Pools whose event was still refused after every retry. */
  readonly failed: readonly FailedPoolEvent[];
}

/**
 * Publishes one reconcile request per pool to `busName`, 10 per PutEvents call, retrying failed entries only.
 * Never throws for EventBridge failures: a call that throws counts as every entry of that call failing (and is
 * retried), so one bad batch cannot stop the rest of the fan-out.
 */
export async function putPoolReconcileEvents(
  client: EventBridgeClient,
  busName: string,
  pools: readonly PoolRef[],
  options: Partial<RetryOptions> = {},
): Promise<PutPoolEventsResult> {
  const retry = retryOptions(options);
  const failed: FailedPoolEvent[] = [];
  for (const batch of chunk(pools, EVENTBRIDGE_BATCH_LIMIT)) {
    const failures = await sendWithRetry(batch, (pending) => putBatch(client, busName, pending), retry);
    failed.push(
      ...failures.map((f) => ({ pool: f.entry, errorCode: f.errorCode, errorMessage: f.errorMessage })),
    );
  }
  if (failed.length > 0) {
    logger("infra-aws").warn(
      { busName, failed: failed.length, total: pools.length },
      "pool reconcile events failed",
    );
  }
  return { sent: pools.length - failed.length, failed };
}

async function putBatch(
  client: EventBridgeClient,
  busName: string,
  pools: readonly PoolRef[],
): Promise<EntryFailure<PoolRef>[]> {
  let results: readonly { ErrorCode?: string | undefined; ErrorMessage?: string | undefined }[];
  try {
    const response = await client.send(
      new PutEventsCommand({ Entries: pools.map((p) => toEntry(busName, p)) }),
    );
    results = response.Entries ?? [];
  } catch (err) {
    const errorCode = err instanceof Error ? err.name : "UnknownError";
    return pools.map((pool) => ({ entry: pool, errorCode, errorMessage: "PutEvents call failed" }));
  }
  // Result entries are in request order; a failed one carries ErrorCode instead of EventId.
  return pools.flatMap((pool, index) => {
    const result = results[index];
    if (result === undefined)
      return [{ entry: pool, errorCode: "MissingResult", errorMessage: "no result entry" }];
    if (result.ErrorCode === undefined) return [];
    return [{ entry: pool, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage ?? "" }];
  });
}

function toEntry(busName: string, pool: PoolRef): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: POOL_RECONCILE_DETAIL_TYPE,
    Detail: JSON.stringify({ kind: pool.kind, namespace: pool.namespace, name: pool.name }),
  };
}
