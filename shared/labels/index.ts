/**
 * Kubernetes label selectors, shared by the local API server (list/watch `labelSelector`, scale `status.selector`)
 * and the reconcile planner (which VMs a pool owns). Owns the selector grammar, metav1.LabelSelector conversion,
 * the canonical `status.labelSelector` string and matching; nothing here does I/O.
 */
export { parseSelector } from "./parse";
export {
  canonicalString,
  EVERYTHING,
  fromLabelSelector,
  isEmptySpec,
  type LabelSelectorOperator,
  type LabelSelectorSpec,
  matches,
  NOTHING,
  type Operator,
  type Requirement,
  type Selector,
  selectorString,
} from "./selector";
export { goQuote, labelKeyErrors, labelValueErrors } from "./validation";
