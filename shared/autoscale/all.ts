/**
 * `autoscale-all`, the HPA controller's sync loop as one scheduled pass: list HorizontalPodAutoscalers, pools and
 * replica sets once each for the whole cluster; keep the HPAs whose scaleTargetRef is a VirtualMachinePool or a
 * VirtualMachineInstanceReplicaSet we may act on; read their metrics from the pull sources in one batch per
 * source; and decide each with the same code an alert's evaluation uses, a few at a time. Writes (scale, HPA
 * status, events, history) happen only when something changed, so a steady cluster costs the lists alone. One
 * HPA's trouble is that HPA's result; it never stops the others.
 */
import pMap from "p-map";
import { ReasonedError } from "../errors";
import { isKubeError, type Scale } from "../kube";
import { formatRef, type PoolRef } from "../reconcile";
import { normalizeHpa } from "../schemas";
import { type HpaObject, STEP_UP_ANNOTATION, standDownReason, stepConfigOf } from "./policy";
import { pullMetrics } from "./pull";
import type { PullTarget } from "./sources/types";
import {
  type AutoscaleDeps,
  conflictPause,
  decideOnce,
  failureStatus,
  type PoolResult,
  settingsOf,
} from "./usecase";

/** What came of one HPA in a scheduled pass (`Skipped`: nothing to read it with, e.g. alert-driven only). */
export interface HpaPassResult extends PoolResult {
  /** `vmpool/<namespace>/<name>` or `vmirs/…`. */
  readonly pool: string;
}

export interface AutoscaleAllReport {
  readonly results: readonly HpaPassResult[];
  /** HPAs listed (including those whose target is not ours). */
  readonly hpas: number;
}

const GROUPS: Readonly<Record<string, PoolRef["kind"]>> = {
  "pool.kubevirt.io/VirtualMachinePool": "VirtualMachinePool",
  "kubevirt.io/VirtualMachineInstanceReplicaSet": "VirtualMachineInstanceReplicaSet",
};

/** The pool an HPA's scaleTargetRef names, when it is one of our kinds (any served version of its group). */
export function targetOf(hpa: HpaObject): PoolRef | undefined {
  const target = hpa.spec.scaleTargetRef;
  const apiVersion = target.apiVersion ?? "";
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
  const kind = GROUPS[`${group}/${target.kind}`];
  const namespace = hpa.metadata.namespace;
  if (kind === undefined || namespace === undefined || target.name === "") return undefined;
  return { kind, namespace, name: target.name };
}

/** The scale subresource a pool or replica set would answer, from the object itself. */
function scaleOf(object: {
  metadata: { name: string; namespace?: string | undefined };
  spec: { replicas?: number | null | undefined };
  status?: { replicas?: number | undefined; labelSelector?: string | undefined } | undefined;
}): Scale {
  return {
    metadata: { ...object.metadata },
    spec: { replicas: object.spec.replicas ?? 0 },
    status: {
      replicas: object.status?.replicas ?? 0,
      ...(object.status?.labelSelector === undefined ? {} : { selector: object.status.labelSelector }),
    },
  };
}

interface Candidate {
  readonly ref: PoolRef;
  readonly hpa: HpaObject;
  readonly hpaName: string;
}

/** One scheduled pass over every HPA of ours (see the module comment). Throws only when the HPAs cannot be listed. */
export async function autoscaleAll(deps: AutoscaleDeps): Promise<AutoscaleAllReport> {
  const options = deps.options ?? {};
  const settings = settingsOf(options);
  const kube = deps.kube.withDeadline(Date.now() + (options.deadlineMs ?? 25_000));
  const scoped = { ...deps, kube };
  const now = deps.now();
  const [hpas, pools, sets] = await Promise.all([
    kube.list("HorizontalPodAutoscaler", { pageSize: 0 }),
    kube.list("VirtualMachinePool", { pageSize: 0 }).catch((err: unknown) => err as Error),
    kube.list("VirtualMachineInstanceReplicaSet", { pageSize: 0 }).catch((err: unknown) => err as Error),
  ]);
  const scales = new Map<string, Scale>();
  for (const pool of pools instanceof Error ? [] : pools)
    scales.set(
      formatRef({
        kind: "VirtualMachinePool",
        namespace: pool.metadata.namespace ?? "",
        name: pool.metadata.name,
      }),
      scaleOf(pool),
    );
  for (const set of sets instanceof Error ? [] : sets) {
    const ref = {
      kind: "VirtualMachineInstanceReplicaSet" as const,
      namespace: set.metadata.namespace ?? "",
      name: set.metadata.name,
    };
    scales.set(formatRef(ref), scaleOf(set));
  }

  const results: HpaPassResult[] = [];
  const report = (ref: PoolRef, result: PoolResult) => results.push({ pool: formatRef(ref), ...result });
  const byTarget = new Map<string, Candidate[]>();
  for (const hpa of hpas) {
    const ref = targetOf(hpa);
    if (!ref) continue;
    const hpaName = `${ref.namespace}/${hpa.metadata.name}`;
    const key = formatRef(ref);
    byTarget.set(key, [...(byTarget.get(key) ?? []), { ref, hpa, hpaName }]);
  }

  const evaluable: { candidate: Candidate; scale: Scale; target: PullTarget }[] = [];
  for (const [key, candidates] of byTarget) {
    const [first] = candidates;
    if (!first) continue;
    const { ref } = first;
    if (candidates.length > 1) {
      const names = candidates.map((c) => c.hpa.metadata.name).join(", ");
      for (const c of candidates) {
        report(ref, {
          outcome: "StoodDown",
          status: 200,
          reason: "AmbiguousAutoscalers",
          message: `several HorizontalPodAutoscalers target ${key} (${names}); the HPA controller refuses that too`,
          hpa: c.hpaName,
        });
      }
      continue;
    }
    const { hpa, hpaName } = first;
    const listed = ref.kind === "VirtualMachinePool" ? pools : sets;
    if (listed instanceof Error) {
      report(ref, {
        outcome: "Failed",
        status: failureStatus(listed),
        reason: reasonOf(listed),
        message: listed.message,
        hpa: hpaName,
      });
      continue;
    }
    const standDown = standDownReason(hpa, settings.fieldManager, now, settings.windowMs);
    if (standDown) {
      report(ref, { outcome: "StoodDown", status: 200, hpa: hpaName, ...standDown });
      continue;
    }
    if (stepConfigOf(hpa).kind !== "absent") {
      report(ref, {
        outcome: "Skipped",
        status: 200,
        hpa: hpaName,
        reason: "StepScaling",
        message: `${hpaName} scales in steps on alerts (${STEP_UP_ANNOTATION}); the scheduled pass leaves it to them`,
      });
      continue;
    }
    const scale = scales.get(key);
    if (!scale) {
      report(ref, {
        outcome: "NotFound",
        status: 404,
        reason: "NotFound",
        message: `${ref.kind} ${ref.namespace}/${ref.name} does not exist`,
        hpa: hpaName,
      });
      continue;
    }
    let spec: ReturnType<typeof normalizeHpa>;
    try {
      spec = normalizeHpa(hpa);
    } catch (err) {
      report(ref, {
        outcome: "Failed",
        status: failureStatus(err),
        reason: reasonOf(err),
        message: String((err as Error).message),
        hpa: hpaName,
      });
      continue;
    }
    const replicas = scale.spec?.replicas ?? 0;
    evaluable.push({
      candidate: first,
      scale,
      target: {
        hpa,
        spec,
        target: ref,
        selector: scale.status?.selector,
        replicas,
        statusReplicas: scale.status?.replicas ?? replicas,
      },
    });
  }

  const pulled = await pullMetrics(
    settings.pullSources,
    evaluable.map((e) => e.target),
    { kube, log: deps.log, now },
  );
  const evaluated = await pMap(
    evaluable.map((entry, i) => ({ ...entry, pulled: pulled[i] })),
    async ({ candidate, scale, pulled: observation }): Promise<HpaPassResult> => {
      const { ref, hpaName } = candidate;
      if (observation === undefined) {
        return {
          pool: formatRef(ref),
          outcome: "Skipped",
          status: 200,
          hpa: hpaName,
          reason: "NoPullSource",
          message: `no configured pull source reads a metric of ${hpaName}; alerts decide for it`,
        };
      }
      try {
        return {
          pool: formatRef(ref),
          ...(await evaluateHpa(scoped, settings, candidate, scale, observation)),
        };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        deps.log.warn({ pool: formatRef(ref), hpa: hpaName, err: message }, "autoscale evaluation failed");
        return {
          pool: formatRef(ref),
          outcome: "Failed",
          status: failureStatus(err),
          reason: reasonOf(err),
          message,
          hpa: hpaName,
        };
      }
    },
    { concurrency: options.concurrency ?? 8 },
  );
  results.push(...evaluated);
  return { results, hpas: hpas.length };
}

function reasonOf(err: unknown): string {
  return err instanceof ReasonedError ? err.reason : "InternalError";
}

/** Decides one HPA from the pass's snapshot; after a conflict, re-reads it and its target and decides again. */
async function evaluateHpa(
  deps: AutoscaleDeps,
  settings: ReturnType<typeof settingsOf>,
  candidate: Candidate,
  snapshotScale: Scale,
  pulled: NonNullable<Parameters<typeof decideOnce>[3]["pulled"]>,
): Promise<PoolResult> {
  const { ref, hpaName } = candidate;
  let hpa: HpaObject | undefined = candidate.hpa;
  let scale: Scale | undefined = snapshotScale;
  for (let attempt = 1; ; attempt++) {
    if (!hpa)
      return {
        outcome: "NotFound",
        status: 404,
        reason: "NoAutoscaler",
        message: `${hpaName} is gone`,
        hpa: hpaName,
      };
    if (!scale)
      return {
        outcome: "NotFound",
        status: 404,
        reason: "NotFound",
        message: `${ref.kind} ${ref.namespace}/${ref.name} does not exist`,
        hpa: hpaName,
      };
    const now = deps.now();
    const standDown =
      attempt > 1 ? standDownReason(hpa, settings.fieldManager, now, settings.windowMs) : undefined;
    if (standDown) return { outcome: "StoodDown", status: 200, hpa: hpaName, ...standDown };
    const once = await decideOnce(deps, settings, ref, {
      hpa,
      hpaName,
      scale,
      ledger: undefined,
      fresh: [],
      pulled,
      now,
      quiet: true,
    });
    if (once.kind === "done") {
      if (once.result.outcome === "Scaled")
        deps.log.info(
          { pool: formatRef(ref), hpa: hpaName, from: once.result.from, to: once.result.to },
          once.result.message,
        );
      return once.result;
    }
    await conflictPause(deps, settings, hpaName, attempt);
    [hpa, scale] = await Promise.all([
      deps.kube.get("HorizontalPodAutoscaler", ref.namespace, candidate.hpa.metadata.name),
      deps.kube.getScale(ref.kind, ref.namespace, ref.name).catch((err: unknown) => {
        if (isKubeError(err, "NotFound")) return undefined;
        throw err;
      }),
    ]);
  }
}
