/**
 * `POST /hooks/admission`: the API server's validating admission call (AdmissionReview v1, sent for the objects
 * `infra/kubernetes/40-admission.yaml` selects). It always allows, at once, echoing the request's uid, and asks for
 * a pass of the owning pool through `runtime.triggerPass` (the Node server's coalescing trigger; a per-pool
 * EventBridge event on Lambda). It never waits for a pass; a dry-run request asks for nothing. No credentials: the
 * API server authenticates us by the caBundle, and the worst a forged review can do is ask for a level-based pass.
 */
import { Hono } from "hono";
import { formatRef, type PoolRef } from "../../shared/reconcile";
import { type AdmissionRequest, admissionReviewSchema, admissionTarget, allowed } from "../../shared/trigger";
import { limitBody, parseJsonBody } from "../http";
import type { Runtime } from "../runtime";

/** Longest the answer waits for the request to be recorded (an EventBridge put on Lambda), not for the pass. */
export const TRIGGER_BUDGET_MS = 1000;

export function admissionRoutes(runtime: Runtime): Hono {
  const app = new Hono();
  app.post("/hooks/admission", limitBody(), async (c) => {
    const review = await parseJsonBody(c, admissionReviewSchema, "AdmissionReview");
    await withinBudget(runtime, triggerFor(runtime, review.request));
    return c.json(allowed(review.request.uid));
  });
  return app;
}

function reasonOf(request: AdmissionRequest): string {
  const sub = request.subResource ? `/${request.subResource}` : "";
  return `admission: ${request.operation} ${request.resource.resource}${sub} ${request.namespace ?? ""}/${request.name ?? ""}`;
}

/** Resolves the owning pool (reading the VM only when a VMI does not name it) and asks for its pass. */
async function triggerFor(runtime: Runtime, request: AdmissionRequest): Promise<void> {
  const target = admissionTarget(request);
  let ref: PoolRef | undefined;
  if (target.kind === "pool") ref = target.ref;
  else if (target.kind === "viaVM") {
    const vm = await runtime.kube.get("VirtualMachine", target.namespace, target.name);
    const owner = vm?.metadata.ownerReferences?.find((o) => o.controller === true);
    if (owner?.kind === "VirtualMachinePool")
      ref = { kind: "VirtualMachinePool", namespace: target.namespace, name: owner.name };
  }
  if (!ref) {
    runtime.log.debug(
      { reason: target.kind === "none" ? target.reason : "NotOwnedByPool" },
      "admission: no pass",
    );
    return;
  }
  const reason = reasonOf(request);
  if (runtime.triggerPass) await runtime.triggerPass(ref, reason);
  else void runtime.requestReconcile(ref, reason).catch((err: unknown) => logFailure(runtime, ref, err));
}

function logFailure(runtime: Runtime, ref: PoolRef, err: unknown): void {
  runtime.log.warn({ pool: formatRef(ref), err }, "admission: could not ask for a pass");
}

/** Waits for `work` at most TRIGGER_BUDGET_MS; its failures are logged, never the answer's. */
async function withinBudget(runtime: Runtime, work: Promise<void>): Promise<void> {
  let cancel: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    cancel = setTimeout(resolve, TRIGGER_BUDGET_MS);
  });
  try {
    await Promise.race([
      work.catch((err: unknown) => runtime.log.warn({ err }, "admission: could not ask for a pass")),
      budget,
    ]);
  } finally {
    clearTimeout(cancel);
  }
}
