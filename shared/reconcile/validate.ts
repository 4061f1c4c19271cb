/**
 * Template checks a pass makes before planning, for clusters where KubeVirt's admission webhook is not installed
 * (as with these functions replacing virt-controller): a pool whose VM template the API would reject, or a replica
 * set without a VMI template, is reported once (a ReplicaFailure condition and a Warning event) instead of
 * failing 250 creates every pass. Messages are KubeVirt's webhook messages. A spec nested too deep to copy is
 * reported the same way (reason TemplateTooDeep), checked first, and so is an empty selector (EmptySelector). Pure.
 */
import { type Note, specDepthProblem } from "../planning";
import type { Owner } from "./observe";

export const INVALID_TEMPLATE = "InvalidTemplate";
const RUN_STRATEGIES = ["Always", "Halted", "Manual", "RerunOnFailure", "Once"];
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function rec(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function labelProblems(labels: unknown, path: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(rec(labels) ?? {})) {
    if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) {
      out.push(`${path}[${key}]: Invalid value: ${JSON.stringify(value)}: not a valid label value`);
    }
  }
  return out;
}

/**
 * An empty selector would select every VM (or VMI) of the namespace. KubeVirt's controller only logs it and the
 * pool silently never converges; here it is reported like an invalid template, so `kubectl describe` says why.
 */
export const EMPTY_SELECTOR = "EmptySelector";

function selectorIsEmpty(selector: unknown): boolean {
  const s = rec(selector);
  if (!s) return true;
  const labels = Object.keys(rec(s.matchLabels) ?? {});
  const expressions = Array.isArray(s.matchExpressions) ? s.matchExpressions : [];
  return labels.length === 0 && expressions.length === 0;
}

/** Undefined when the template can produce valid children; otherwise why not. */
export function templateProblem(owner: Owner): Note | undefined {
  const tooDeep = specDepthProblem(owner.object.spec);
  if (tooDeep) return tooDeep;
  if (selectorIsEmpty(owner.object.spec.selector)) {
    return {
      reason: EMPTY_SELECTOR,
      message:
        "spec.selector is empty: it would select every object in the namespace, so this pool is skipped until it selects by label",
    };
  }
  const problems: string[] = [];
  if (owner.kind === "VirtualMachinePool") {
    const template = rec(owner.object.spec.virtualMachineTemplate);
    if (!template) return { reason: INVALID_TEMPLATE, message: "missing virtual machine template." };
    const spec = rec(template.spec) ?? {};
    const hasRunning = spec.running !== undefined && spec.running !== null;
    const hasStrategy = spec.runStrategy !== undefined && spec.runStrategy !== null;
    if (hasRunning && hasStrategy)
      problems.push(
        "spec.virtualMachineTemplate.spec.running: Running and RunStrategy are mutually exclusive",
      );
    else if (!hasRunning && !hasStrategy)
      problems.push("spec.virtualMachineTemplate.spec.runStrategy: RunStrategy must be specified");
    else if (hasStrategy && !RUN_STRATEGIES.includes(String(spec.runStrategy))) {
      problems.push(
        `spec.virtualMachineTemplate.spec.runStrategy: Invalid RunStrategy (${String(spec.runStrategy)})`,
      );
    }
    problems.push(
      ...labelProblems(rec(template.metadata)?.labels, "spec.virtualMachineTemplate.metadata.labels"),
    );
  } else {
    const template = rec(owner.object.spec.template);
    if (!template) return { reason: INVALID_TEMPLATE, message: "missing virtual machine template." };
    problems.push(...labelProblems(rec(template.metadata)?.labels, "spec.template.metadata.labels"));
  }
  return problems.length > 0 ? { reason: INVALID_TEMPLATE, message: problems.join("; ") } : undefined;
}
