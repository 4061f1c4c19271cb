/**
 * Triggers that make the functions react without a controller of their own: the API server's admission calls
 * (AdmissionReview v1 → which pool to reconcile), the Node server's debounced, coalescing per-pool pass trigger,
 * follow-up passes with backoff for pools a pass left unconverged, and the in-cluster server's watch trigger.
 */
export {
  type AdmissionRequest,
  type AdmissionReview,
  type AdmissionTarget,
  admissionReviewSchema,
  admissionTarget,
  allowed,
} from "./admission";
export { type CoalescerOptions, createPassCoalescer, type PassCoalescer } from "./coalesce";
export {
  FOLLOW_UP_INITIAL_MS,
  FOLLOW_UP_MAX_MS,
  followUpDelay,
  followUpDelayForAttempt,
  needsFollowUp,
  nextFollowUpDelay,
} from "./followup";
export { startWatchTrigger, type WatchTrigger, type WatchTriggerOptions } from "./watch";
