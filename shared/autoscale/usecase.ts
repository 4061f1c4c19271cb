/**
 * The autoscale use-case every source shares: group a delivery's signals by pool, and for each pool observe (the
 * scale subresource and the HPA that targets it) → stand down or drop repeats → decide (pure) → persist the
 * history and delivery keys on the HPA under a resourceVersion precondition (a conflict means someone else just
 * decided: re-read and decide again, bounded) → write the scale subresource → write the HPA status and Events as
 * the HPA controller would → ask for an immediate reconcile. Persisting before scaling is what makes concurrent
 * repeats of one delivery cause a single scale write. Bad input never gets here; unknown pools make no write.
 */

import pMap from "p-map";
import { ReasonedError } from "../errors";
import { DEFAULT_FIELD_MANAGER, isKubeError, type Kube, type Scale } from "../kube";
import type { Logger } from "../log";
import {
  type Decision,
  decodeHistory,
  encodeHistory,
  HISTORY_ANNOTATION,
  type History,
  type HpaCondition,
  type HpaEvent,
  holdLatestRecommendation,
  metricKey,
  onlyRefreshed,
  rescaleFailed,
} from "../planning/hpa";
import { formatRef, type PoolRef } from "../reconcile";
import { type HpaSpecV2, normalizeHpa } from "../schemas";
import { type Decided, decidePool, statusAfter } from "./decide";
import { decisionEntry, recordAutoscaleHistory } from "./history";
import {
  DELIVERIES_ANNOTATION,
  decodeLedger,
  encodeLedger,
  hasDelivery,
  type Ledger,
  ledgerRoom,
  rememberDeliveries,
} from "./ledger";
import { type HpaObject, standDownReason, stepConfigOf, targetsPool } from "./policy";
import { pullMetrics } from "./pull";
import type { Signal, SourceName } from "./signal";
import { meanRequests } from "./sources/metrics-server";
import type { PullObservation, PullSource } from "./sources/types";

/** The HPA controller's event source component (`kubectl describe` shows it in the From column). */
export const HPA_COMPONENT = "horizontal-pod-autoscaler";

export interface AutoscaleOptions {
  /** Seconds a delivery key is remembered. Default 300. */
  readonly dedupeSeconds?: number;
  /** A foreign status write this recent means an in-cluster HPA controller is active. Default 600. */
  readonly foreignWindowSeconds?: number;
  /** Hard ceiling on replicas any alert may set. Default 1000. */
  readonly maxReplicas?: number;
  /** Our field manager (writes by any other manager to the HPA status are foreign). */
  readonly fieldManager?: string;
  /** Pools decided at once. Default 8. */
  readonly concurrency?: number;
  /** Per-delivery time budget in ms. Default 25 s. */
  readonly deadlineMs?: number;
  /** Decide-and-persist attempts per pool before giving up on conflicts. Default 8. */
  readonly maxAttempts?: number;
  /**
   * Where current metrics are read from (`VMPOOL_AUTOSCALE_PULL_SOURCES`), by the scheduled pass and by every
   * alert's evaluation ("evaluate now"); an alert's value fills in only what they do not read. Default none.
   */
  readonly pullSources?: readonly PullSource[];
  /** How often the scheduled pass evaluates (its schedule's interval), in ms. Default 60 s. */
  readonly intervalMs?: number;
}

export interface AutoscaleDeps {
  readonly kube: Kube;
  readonly log: Logger;
  readonly now: () => Date;
  /** Resolves once the reconcile ran (Node) or was queued (Lambda). */
  requestReconcile(ref: PoolRef, reason: string): Promise<void>;
  /** Jitter for the pause after a conflict (default Math.random). */
  readonly random?: () => number;
  readonly options?: AutoscaleOptions;
}

/**
 * What came of one alert: Scaled (from → to), Unchanged (with the HPA's reason), Duplicate (a repeated delivery),
 * StoodDown (another autoscaler acts on the target), NotFound (no such pool, or no HPA for it), Ignored (nothing
 * to decide), Failed (the API refused; `status` 503 when a retry can help), Skipped (the scheduled pass has nothing
 * to read an HPA's metrics with, or leaves it to alerts).
 */
export type AlertOutcome =
  | "Skipped"
  | "Scaled"
  | "Unchanged"
  | "Duplicate"
  | "StoodDown"
  | "NotFound"
  | "Ignored"
  | "Failed";

export interface AlertResult {
  readonly alert: string;
  readonly source: SourceName;
  /** `vmpool/<namespace>/<name>` or `vmirs/…`. */
  readonly pool: string;
  readonly outcome: AlertOutcome;
  /** The HTTP status this result alone would earn. */
  readonly status: number;
  readonly reason: string;
  readonly message: string;
  readonly from?: number;
  readonly to?: number;
  /** `<namespace>/<name>` of the HPA decided with. */
  readonly hpa?: string;
}

/** Every alert's result; `status` is the most severe of theirs (200 when all are fine). */
export interface AutoscaleReport {
  readonly status: number;
  readonly results: readonly AlertResult[];
}

/** What came of one pool's evaluation, before it is reported per alert. */
export type PoolResult = Omit<AlertResult, "alert" | "source" | "pool">;

/** The options with their defaults applied. */
export interface Settings {
  readonly ttlMs: number;
  readonly windowMs: number;
  readonly ceiling: number;
  readonly fieldManager: string;
  readonly maxAttempts: number;
  readonly pullSources: readonly PullSource[];
  readonly intervalMs: number;
}

/** Applies the defaults of `AutoscaleOptions`. */
export function settingsOf(options: AutoscaleOptions): Settings {
  return {
    ttlMs: (options.dedupeSeconds ?? 300) * 1000,
    windowMs: (options.foreignWindowSeconds ?? 600) * 1000,
    ceiling: options.maxReplicas ?? 1000,
    fieldManager: options.fieldManager ?? DEFAULT_FIELD_MANAGER,
    maxAttempts: options.maxAttempts ?? 8,
    pullSources: options.pullSources ?? [],
    intervalMs: options.intervalMs ?? 60_000,
  };
}

/** Decides and acts on every signal of one delivery. Never throws for API trouble: it becomes a Failed result. */
export async function autoscale(deps: AutoscaleDeps, signals: readonly Signal[]): Promise<AutoscaleReport> {
  const options = deps.options ?? {};
  const kube = deps.kube.withDeadline(Date.now() + (options.deadlineMs ?? 25_000));
  const settings = settingsOf(options);
  const groups = groupByPool(signals);
  const perPool = await pMap(
    groups,
    (group) => autoscalePool({ ...deps, kube }, settings, group.ref, group.signals),
    { concurrency: options.concurrency ?? 8 },
  );
  const results = perPool.flat();
  return { status: results.reduce((worst, result) => Math.max(worst, result.status), 200), results };
}

function groupByPool(signals: readonly Signal[]): { ref: PoolRef; signals: Signal[] }[] {
  const groups = new Map<string, { ref: PoolRef; signals: Signal[] }>();
  for (const signal of signals) {
    const key = formatRef(signal.target);
    const group = groups.get(key) ?? { ref: signal.target, signals: [] };
    group.signals.push(signal);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function resultsFor(signals: readonly Signal[], result: PoolResult): AlertResult[] {
  return signals.map((signal) => ({
    alert: signal.id,
    source: signal.source,
    pool: formatRef(signal.target),
    ...result,
  }));
}

async function autoscalePool(
  deps: AutoscaleDeps,
  settings: Settings,
  ref: PoolRef,
  signals: readonly Signal[],
): Promise<AlertResult[]> {
  const ignored = signals
    .filter((signal) => signal.kind === "ignored")
    .flatMap((signal) =>
      resultsFor([signal], {
        outcome: "Ignored",
        status: 200,
        reason: signal.note?.reason ?? "Ignored",
        message: signal.note?.message ?? "nothing to decide",
      }),
    );
  const active = signals.filter((signal) => signal.kind !== "ignored");
  if (active.length === 0) return ignored;
  try {
    return [...ignored, ...(await decideAndAct(deps, settings, ref, active))];
  } catch (err) {
    const reason = err instanceof ReasonedError ? err.reason : "InternalError";
    const message = err instanceof Error ? err.message : String(err);
    deps.log.warn({ pool: formatRef(ref), reason, err: message }, "autoscale failed");
    return [
      ...ignored,
      ...resultsFor(active, { outcome: "Failed", status: failureStatus(err), reason, message }),
    ];
  }
}

/** 503 when a retry can help (AM and EventBridge retry 5xx), the error's own 4xx when it is ours, else 500. */
export function failureStatus(err: unknown): number {
  if (!(err instanceof ReasonedError)) return 500;
  if (err.retryable) return 503;
  return !isKubeError(err) && err.status >= 400 && err.status < 500 ? err.status : 500;
}

/** What one read of the cluster says: an answer already, or what a decision needs. */
type Observed =
  | { readonly kind: "answered"; readonly results: AlertResult[] }
  | {
      readonly kind: "decide";
      readonly hpa: HpaObject;
      readonly hpaName: string;
      readonly scale: Scale;
      readonly ledger: Ledger;
      readonly fresh: readonly Signal[];
      readonly repeats: AlertResult[];
    };

/** Reads the HPA (and, unless every signal is a repeat, the scale) and settles everything that needs no decision. */
async function observe(
  deps: AutoscaleDeps,
  settings: Settings,
  ref: PoolRef,
  signals: readonly Signal[],
  now: Date,
): Promise<Observed> {
  const { kube, log } = deps;
  const pool = formatRef(ref);
  const answered = (result: PoolResult): Observed => ({
    kind: "answered",
    results: resultsFor(signals, result),
  });
  const hpas = await kube.list("HorizontalPodAutoscaler", { namespace: ref.namespace });
  const matching = hpas.filter((hpa) => targetsPool(hpa, ref));
  const [hpa] = matching;
  const hpaName = hpa ? `${hpa.metadata.namespace ?? ref.namespace}/${hpa.metadata.name}` : "";
  const ledger = hpa
    ? decodeLedger(hpa.metadata.annotations?.[DELIVERIES_ANNOTATION], now.getTime(), settings.ttlMs)
    : [];
  const isRepeat = (s: Signal) => s.deliveryKey !== undefined && hasDelivery(ledger, s.deliveryKey);
  // A delivery already acted on costs one list: storms of repeats never read the target.
  if (matching.length === 1 && signals.length > 0 && signals.every(isRepeat))
    return answered(duplicate(hpaName));
  const scale = await kube.getScale(ref.kind, ref.namespace, ref.name);
  if (!scale) {
    const message = `${ref.kind} ${ref.namespace}/${ref.name} does not exist`;
    log.warn({ pool, alerts: signals.map((s) => s.id) }, message);
    return answered({ outcome: "NotFound", status: 404, reason: "NotFound", message });
  }
  if (!hpa) {
    const short = ref.kind === "VirtualMachinePool" ? "vmpool" : "vmirs";
    const message = `no HorizontalPodAutoscaler in namespace ${ref.namespace} targets ${ref.kind} ${ref.name} (kubectl autoscale ${short} ${ref.name} --min=N --max=M --cpu-percent=P)`;
    log.warn({ pool, alerts: signals.map((s) => s.id) }, message);
    return answered({ outcome: "NotFound", status: 404, reason: "NoAutoscaler", message });
  }
  if (matching.length > 1) {
    const names = matching.map((h) => h.metadata.name).join(", ");
    const message = `several HorizontalPodAutoscalers target ${pool} (${names}); the HPA controller refuses that too`;
    log.info({ pool, reason: "AmbiguousAutoscalers" }, message);
    return answered({ outcome: "StoodDown", status: 200, reason: "AmbiguousAutoscalers", message });
  }
  const standDown = standDownReason(hpa, settings.fieldManager, now, settings.windowMs);
  if (standDown) {
    log.info({ pool, hpa: hpaName, reason: standDown.reason }, `standing down: ${standDown.message}`);
    return answered({ outcome: "StoodDown", status: 200, hpa: hpaName, ...standDown });
  }
  const repeats = resultsFor(signals.filter(isRepeat), duplicate(hpaName));
  const unseen = signals.filter((s) => !isRepeat(s));
  // Live keys are never forgotten early; while the ledger is full, new keyed deliveries wait (503, retried).
  const room = ledgerRoom(ledger, settings.ttlMs);
  const keyed = [...new Set(unseen.flatMap((s) => (s.deliveryKey === undefined ? [] : [s.deliveryKey])))];
  const admitted = new Set(keyed.slice(0, room.free));
  const fresh = unseen.filter((s) => s.deliveryKey === undefined || admitted.has(s.deliveryKey));
  const refused = unseen.filter((s) => s.deliveryKey !== undefined && !admitted.has(s.deliveryKey));
  if (refused.length > 0) {
    const retry = Math.max(1, Math.ceil((room.nextFreeAt - now.getTime()) / 1000));
    const message = `${hpaName} remembers ${ledger.length} deliveries from the last ${settings.ttlMs / 1000} s (the most it keeps); retry in ${retry} s`;
    log.warn({ pool, hpa: hpaName, refused: refused.length }, message);
    repeats.push(
      ...resultsFor(refused, {
        outcome: "Failed",
        status: 503,
        reason: "TooManyDeliveries",
        message,
        hpa: hpaName,
      }),
    );
  }
  if (fresh.length === 0) return { kind: "answered", results: repeats };
  return { kind: "decide", hpa, hpaName, scale, ledger, fresh, repeats };
}

/** Observe → decide → persist (retried on conflicts) → act, for one pool's signals. */
async function decideAndAct(
  deps: AutoscaleDeps,
  settings: Settings,
  ref: PoolRef,
  signals: readonly Signal[],
): Promise<AlertResult[]> {
  const { kube, log } = deps;
  const pool = formatRef(ref);
  for (let attempt = 1; ; attempt++) {
    const now = deps.now();
    const observed = await observe(deps, settings, ref, signals, now);
    if (observed.kind === "answered") return observed.results;
    const { hpa, hpaName, scale, ledger, fresh, repeats } = observed;
    const spec = normalizeHpa(hpa);
    // "Evaluate now": an alert's evaluation reads the pull sources too (step-scaled HPAs decide from the alert).
    const pulled =
      settings.pullSources.length > 0 && stepConfigOf(hpa).kind === "absent"
        ? await pullOne(deps, settings, kube, hpa, spec, ref, scale, now)
        : undefined;
    const means = await alertMeanRequests(deps, kube, hpa, spec, ref, scale, pulled, fresh, now);
    const once = await decideOnce(deps, settings, ref, {
      hpa,
      hpaName,
      scale,
      ledger,
      fresh,
      pulled,
      now,
      ...(means ? { meanRequests: means } : {}),
    });
    if (once.kind === "conflict") {
      await conflictPause(deps, settings, hpaName, attempt);
      continue;
    }
    const { result } = once;
    log.info(
      {
        pool,
        hpa: hpaName,
        alerts: fresh.map((s) => s.id),
        from: result.from,
        to: result.to,
        reason: result.reason,
      },
      result.message,
    );
    return [...repeats, ...resultsFor(fresh, result)];
  }
}

/** Reads one HPA's metrics from the pull sources (the alert path's immediate evaluation). */
async function pullOne(
  deps: AutoscaleDeps,
  settings: Settings,
  kube: Kube,
  hpa: HpaObject,
  spec: HpaSpecV2,
  ref: PoolRef,
  scale: Scale,
  now: Date,
): Promise<PullObservation | undefined> {
  const replicas = scale.spec?.replicas ?? 0;
  const [observation] = await pullMetrics(
    settings.pullSources,
    [
      {
        hpa,
        spec,
        target: ref,
        selector: scale.status?.selector,
        replicas,
        statusReplicas: scale.status?.replicas ?? replicas,
      },
    ],
    { kube, log: deps.log, now },
  );
  return observation;
}

/**
 * For an alert's Utilization value that no pull source replaced: the mean pod request, so the status carries the
 * `averageValue` kubectl describe prints beside the percentage (one list of the target's pods; none when not needed).
 */
async function alertMeanRequests(
  deps: AutoscaleDeps,
  kube: Kube,
  hpa: HpaObject,
  spec: HpaSpecV2,
  ref: PoolRef,
  scale: Scale,
  pulled: PullObservation | undefined,
  fresh: readonly Signal[],
  now: Date,
): Promise<Record<string, number> | undefined> {
  const needed = spec.metrics.some(
    (m) =>
      (m.type === "Resource" || m.type === "ContainerResource") &&
      m.target.type === "Utilization" &&
      pulled?.metrics[metricKey(m)]?.error === undefined &&
      pulled?.metrics[metricKey(m)] === undefined,
  );
  if (!needed || !fresh.some((s) => s.kind === "observation")) return undefined;
  const replicas = scale.spec?.replicas ?? 0;
  const target = {
    hpa,
    spec,
    target: ref,
    selector: scale.status?.selector,
    replicas,
    statusReplicas: scale.status?.replicas ?? replicas,
  };
  return meanRequests(target, { kube, log: deps.log, now }).catch((err: unknown) => {
    deps.log.info(
      { err: err instanceof Error ? err.message : String(err) },
      "could not read the target's pods",
    );
    return undefined;
  });
}

/** Gives up after `maxAttempts` conflicts; otherwise waits a jittered moment before the next attempt. */
export async function conflictPause(
  deps: Pick<AutoscaleDeps, "random">,
  settings: Settings,
  hpaName: string,
  attempt: number,
): Promise<void> {
  if (attempt >= settings.maxAttempts) {
    throw new ReasonedError("Conflict", `${hpaName} kept changing under us (${attempt} attempts)`, {
      retryable: true,
      status: 503,
    });
  }
  // Concurrent deciders for one pool all conflict on the same version: spread their retries out.
  await pause(Math.min(200, 5 * 2 ** attempt) * (deps.random ?? Math.random)());
}

/** One decision on what was read, and the writes it implies. */
export interface DecideOnceInput {
  readonly hpa: HpaObject;
  readonly hpaName: string;
  readonly scale: Scale;
  /** The delivery ledger as read; undefined leaves the annotation as it is (the scheduled pass). */
  readonly ledger: Ledger | undefined;
  readonly fresh: readonly Signal[];
  /** What the pull sources read (undefined: none configured or none handles this HPA's metrics). */
  readonly pulled: PullObservation | undefined;
  readonly now: Date;
  /** The scheduled pass: events only when the scale or the status changed. */
  readonly quiet?: boolean;
  /** Mean pod requests for an alert's Utilization values (see `PoolDecisionInput.meanRequests`). */
  readonly meanRequests?: Readonly<Record<string, number>>;
}

/**
 * Decides on what was read, persists history and delivery keys under the HPA's resourceVersion (a conflict means
 * someone else just decided: the caller re-reads), then scales, writes the status and events. A steady target
 * whose history only repeats its latest recommendation persists nothing.
 */
export async function decideOnce(
  deps: AutoscaleDeps,
  settings: Settings,
  ref: PoolRef,
  input: DecideOnceInput,
): Promise<{ kind: "conflict" } | { kind: "done"; result: PoolResult; decision?: Decided }> {
  const { kube, log } = deps;
  const { hpa, hpaName, scale, ledger, fresh, pulled, now } = input;
  const spec = normalizeHpa(hpa);
  const stored = decodeHistory(hpa.metadata.annotations?.[HISTORY_ANNOTATION]);
  if (stored.problem)
    log.warn({ pool: formatRef(ref), hpa: hpaName, ...stored.problem }, "discarded the autoscaling history");
  const history = pulled ? holdLatestRecommendation(stored, now.getTime() - settings.intervalMs) : stored;
  const current = scale.spec?.replicas ?? 0;
  const outcome = decidePool({
    hpa,
    spec,
    currentReplicas: current,
    statusReplicas: scale.status?.replicas ?? current,
    signals: fresh,
    history,
    now,
    ceiling: settings.ceiling,
    ...(pulled ? { pulled: pulled.metrics } : {}),
    ...(pulled?.readyPodCount === undefined ? {} : { readyPodCount: pulled.readyPodCount }),
    ...(input.meanRequests ? { meanRequests: input.meanRequests } : {}),
  });
  if (outcome.kind === "skipped") {
    log.info({ pool: formatRef(ref), hpa: hpaName, reason: outcome.reason }, outcome.message);
    const { kind: _kind, outcome: result, ...why } = outcome;
    return { kind: "done", result: { outcome: result, status: 200, hpa: hpaName, ...why } };
  }
  const decision = outcome.decision;
  const steady = pulled !== undefined && !decision.changed && onlyRefreshed(stored, decision.history);
  const keys = fresh.flatMap((s) => (s.deliveryKey === undefined ? [] : [s.deliveryKey]));
  const persisted = await persist(
    kube,
    hpa,
    steady ? stored : decision.history,
    ledger === undefined ? undefined : rememberDeliveries(ledger, keys, now.getTime()),
  );
  if (persisted === "Conflict") return { kind: "conflict" };
  const done = await act(deps, ref, persisted, decision, ledger, now, input.quiet ?? false);
  const result = resultOf(decision, hpaName, done);
  // A steady scheduled decision repeats the last one: the history already says so.
  if (!(input.quiet && steady)) {
    const entry = decisionEntry(hpaName, decision, result, spec.metrics ?? [], scale);
    await recordAutoscaleHistory(deps, ref, scale, entry);
  }
  return { kind: "done", result, decision };
}

function resultOf(decision: Decided, hpa: string, done: Acted): PoolResult {
  const base = { hpa, from: decision.currentReplicas, status: 200 };
  if (done.error !== undefined) {
    return {
      ...base,
      outcome: "Failed",
      status: done.error.retryable ? 503 : 500,
      reason: "FailedRescale",
      message: done.error.message,
    };
  }
  const to = decision.changed ? decision.desiredReplicas : decision.currentReplicas;
  return {
    ...base,
    outcome: decision.changed ? "Scaled" : "Unchanged",
    reason: decision.reason,
    message: decision.message,
    to,
  };
}

function duplicate(hpa: string): PoolResult {
  return {
    outcome: "Duplicate",
    status: 200,
    reason: "DuplicateDelivery",
    message: "this delivery was already acted on",
    hpa,
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Writes history and ledger to the HPA's annotations with its resourceVersion as precondition; nothing when both
 * are as stored. An undefined ledger leaves that annotation as it is.
 */
async function persist(
  kube: Kube,
  hpa: HpaObject,
  history: History,
  ledger: Ledger | undefined,
): Promise<HpaObject | "Conflict"> {
  const before = hpa.metadata.annotations ?? {};
  const annotations: Record<string, string> = {
    ...hpa.metadata.annotations,
    [HISTORY_ANNOTATION]: encodeHistory(history),
  };
  if (ledger !== undefined) annotations[DELIVERIES_ANNOTATION] = encodeLedger(ledger);
  else if (before[DELIVERIES_ANNOTATION] === undefined) delete annotations[DELIVERIES_ANNOTATION];
  if (
    annotations[HISTORY_ANNOTATION] === before[HISTORY_ANNOTATION] &&
    annotations[DELIVERIES_ANNOTATION] === before[DELIVERIES_ANNOTATION]
  ) {
    return hpa;
  }
  try {
    return await kube.replace("HorizontalPodAutoscaler", {
      ...hpa,
      metadata: { ...hpa.metadata, annotations },
    });
  } catch (err) {
    if (isKubeError(err, "Conflict")) return "Conflict";
    throw err;
  }
}

interface Acted {
  readonly error?: { readonly message: string; readonly retryable: boolean };
}

/** Scale (when changed), then status, events and the reconcile request. */
async function act(
  deps: AutoscaleDeps,
  ref: PoolRef,
  stored: HpaObject,
  decision: Decided,
  ledgerBefore: Ledger | undefined,
  now: Date,
  quiet: boolean,
): Promise<Acted> {
  const { kube, log } = deps;
  const pool = formatRef(ref);
  let conditions: readonly HpaCondition[] = decision.conditions;
  let events: readonly HpaEvent[] = decision.events;
  let statusDecision: Pick<
    Decision,
    "currentReplicas" | "desiredReplicas" | "currentMetrics" | "lastScaleTime"
  > = decision;
  let hpa = stored;
  let error: Acted["error"];
  if (decision.changed) {
    try {
      await kube.scale(ref.kind, ref.namespace, ref.name, decision.desiredReplicas);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      error = { message, retryable: err instanceof ReasonedError ? err.retryable : true };
      ({ conditions, events } = rescaleFailed(decision, message));
      // As upstream on a failed rescale: desiredReplicas and lastScaleTime keep their previous values.
      statusDecision = {
        ...decision,
        desiredReplicas: stored.status?.desiredReplicas ?? decision.currentReplicas,
        lastScaleTime: stored.status?.lastScaleTime ?? null,
      };
      // Forget the scale event and the delivery keys, so a retried delivery is decided again.
      const reverted = await persist(kube, stored, decision.historyIfScaleFails, ledgerBefore).catch(
        () => "Conflict" as const,
      );
      if (reverted === "Conflict")
        log.warn({ pool }, "could not revert the autoscaling history after a failed rescale");
      else hpa = reverted;
      log.warn({ pool, err: message, desired: decision.desiredReplicas }, "rescale failed");
    }
  }
  const statusWritten = await writeStatus(kube, log, hpa, statusDecision, conditions, now);
  // The scheduled pass repeats a steady decision every interval: its events are news only when something changed.
  const newsworthy = !quiet || decision.changed || statusWritten;
  await Promise.all(
    (newsworthy ? events : []).map((event) =>
      kube.recordEvent({
        involvedObject: {
          kind: "HorizontalPodAutoscaler",
          apiVersion: hpa.apiVersion ?? "autoscaling/v2",
          namespace: hpa.metadata.namespace ?? ref.namespace,
          name: hpa.metadata.name,
          uid: hpa.metadata.uid ?? "",
        },
        type: event.type,
        reason: event.reason,
        message: event.message,
        component: HPA_COMPONENT,
      }),
    ),
  );
  if (decision.changed && error === undefined) {
    await deps.requestReconcile(ref, `autoscale: ${decision.message}`).catch((err: unknown) => {
      log.warn({ pool, err: err instanceof Error ? err.message : String(err) }, "reconcile request failed");
    });
  }
  return error === undefined ? {} : { error };
}

/** Writes the status when it changed; a conflict re-reads and re-merges (status is ours to write), bounded. */
async function writeStatus(
  kube: Kube,
  log: Logger,
  hpa: HpaObject,
  decision: Pick<Decision, "currentReplicas" | "desiredReplicas" | "currentMetrics" | "lastScaleTime">,
  conditions: readonly HpaCondition[],
  now: Date,
): Promise<boolean> {
  let target: HpaObject | undefined = hpa;
  for (let attempt = 0; attempt < 3 && target; attempt++) {
    const status = statusAfter(target, decision, conditions, now);
    if (JSON.stringify(status) === JSON.stringify(target.status ?? {})) return false;
    try {
      await kube.replaceStatus("HorizontalPodAutoscaler", { ...target, status });
      return true;
    } catch (err) {
      if (!isKubeError(err, "Conflict")) {
        log.warn(
          { hpa: target.metadata.name, err: err instanceof Error ? err.message : String(err) },
          "could not write the HPA status",
        );
        return false;
      }
      target = await kube.get(
        "HorizontalPodAutoscaler",
        target.metadata.namespace ?? "",
        target.metadata.name,
      );
    }
  }
  return false;
}
