/**
 * What both planners check and default in a spec before planning: the pass options (burst), the selector (usable,
 * non-empty, matching the template labels; its canonical string for status) and the desired replica count.
 */
import { canonicalString, isEmptySpec, matches, type Selector } from "../labels";
import type { LabelSelector } from "../schemas/kubevirt";
import { BURST_REPLICAS } from "./constants";
import { asSelectorSpec, compileLabelSelector } from "./selection";
import type { Note } from "./types";

/** Tunables of a pass. */
export interface PlanOptions {
  /** Most writes one pass may plan; KubeVirt's burst (250) by default. */
  readonly burst?: number;
}

/** The write budget of a pass. */
export function burstOf(options: PlanOptions | undefined): number {
  return Math.max(0, options?.burst ?? BURST_REPLICAS);
}

export type SelectorValidation =
  | { readonly ok: true; readonly selector: Selector; readonly labelSelector: string }
  | { readonly ok: false; readonly skip: Note };

/**
 * The checks upstream makes before anything else (`execute`): a parsable, non-empty selector that matches the
 * template labels. Failing ones end the pass with a log line only: no writes, no status, no events.
 */
export function validateSelector(
  selector: LabelSelector | null | undefined,
  templateLabels: Record<string, string> | null | undefined,
): SelectorValidation {
  if (isEmptySpec(asSelectorSpec(selector))) {
    return {
      ok: false,
      skip: { reason: "EmptySelector", message: "selector is empty: refusing to select every object" },
    };
  }
  const compiled = compileLabelSelector(selector);
  if (!compiled.ok) return { ok: false, skip: { reason: "InvalidSelector", message: compiled.error } };
  if (!matches(compiled.selector, templateLabels ?? undefined)) {
    return {
      ok: false,
      skip: { reason: "SelectorMismatch", message: "selector does not match template labels" },
    };
  }
  const labelSelector = canonicalString(asSelectorSpec(selector));
  return { ok: true, selector: compiled.selector, labelSelector };
}

/** `spec.replicas`, nil meaning 1 (`calcDiff`), never below 0. */
export function desiredReplicas(replicas: number | null | undefined): number {
  return Math.max(0, replicas ?? 1);
}
