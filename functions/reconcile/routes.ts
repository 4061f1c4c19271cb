/**
 * `POST /reconcile`: the authenticated manual trigger (bearer `reconcileToken`). Body `{}` runs a reconcile-all
 * pass; `{ namespace }` one namespace; `{ kind?, namespace, name }` one pool; `dryRun: true` plans only.
 */
import { randomUUID } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  formatPlan,
  type PassResult,
  POOL_KINDS,
  poolRefSchema,
  reconcileAll,
  reconcilePool,
} from "../../shared/reconcile";
import { passDeps } from "../bootstrap";
import { limitBody, parseJsonBody, requireBearer } from "../http";
import type { Runtime } from "../runtime";

// Names and namespaces as every entry point checks them (the shared pool reference): DNS-1123, so nothing but a
// name ever reaches a request path (`.` once turned a get into a list).
const bodySchema = z.strictObject({
  kind: z.enum(POOL_KINDS).optional(),
  namespace: poolRefSchema.shape.namespace.optional(),
  name: poolRefSchema.shape.name.optional(),
  dryRun: z.boolean().default(false),
});

/** The JSON answer for one pass. */
export function passSummary(result: PassResult) {
  return {
    kind: result.ref.kind,
    namespace: result.ref.namespace,
    name: result.ref.name,
    outcome: result.outcome,
    reason: result.reason,
    message: result.message,
    actions: result.actions,
    statusWritten: result.statusWritten,
    ...(result.outcome === "DryRun" ? { plan: formatPlan(result) } : {}),
  };
}

export function reconcileRoutes(runtime: Runtime): Hono {
  const app = new Hono();
  const authenticated: MiddlewareHandler = (c, next) => {
    requireBearer(c.req.header("authorization"), runtime.secrets.reconcileToken, "reconcileToken");
    return next();
  };
  app.post("/reconcile", authenticated, limitBody(), async (c) => {
    const body = await parseJsonBody(c, bodySchema);
    const deps = passDeps(runtime, `manual-${randomUUID()}`);
    if (body.name !== undefined) {
      if (body.namespace === undefined) {
        return c.json(
          { error: { reason: "InvalidBody", message: "body: namespace: required when name is given" } },
          400,
        );
      }
      const ref = {
        kind: body.kind ?? "VirtualMachinePool",
        namespace: body.namespace,
        name: body.name,
      } as const;
      const result = await reconcilePool(deps, ref, { dryRun: body.dryRun });
      return c.json({ results: [passSummary(result)] }, result.outcome === "NotFound" ? 404 : 200);
    }
    const results = await reconcileAll(deps, {
      dryRun: body.dryRun,
      concurrency: runtime.settings.VMPOOL_CONCURRENCY,
      ...(body.namespace === undefined ? {} : { namespace: body.namespace }),
    });
    return c.json({ results: results.map(passSummary) });
  });
  return app;
}
