/**
 * The EventBridge events the reconcile function accepts: the schedule's `Scheduled Event` (reconcile every pool)
 * and the fan-out's `Pool Reconcile Requested` (one pool). One zod schema per shape; unknown extra keys allowed.
 */
import { z } from "zod";
import {
  EVENT_SOURCE,
  POOL_RECONCILE_DETAIL_TYPE,
  poolReconcileDetailSchema,
} from "../../infra/aws/contract";

export const scheduledEventSchema = z.looseObject({
  id: z.string().min(1),
  source: z.literal("aws.events"),
  "detail-type": z.literal("Scheduled Event"),
  time: z.string().min(1),
});

export const poolReconcileEventSchema = z.looseObject({
  id: z.string().min(1),
  source: z.literal(EVENT_SOURCE),
  "detail-type": z.literal(POOL_RECONCILE_DETAIL_TYPE),
  detail: poolReconcileDetailSchema,
});

// Discriminated by detail-type, so a bad field of a known event is named rather than "Invalid input".
export const reconcileEventSchema = z.discriminatedUnion("detail-type", [
  scheduledEventSchema,
  poolReconcileEventSchema,
]);
export type ReconcileEvent = z.infer<typeof reconcileEventSchema>;
