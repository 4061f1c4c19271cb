/**
 * Which VMs a pool picks first: label-selector compilation against `shared/labels`, the scale-in and update sort
 * policies (AscendingOrder, DescendingOrder, Newest, Oldest, Random) and the selection-policy selectors
 * (`labelSelector` on the VM template labels, `nodeSelectorRequirementMatcher` on the template nodeSelector).
 * Mirrors KubeVirt `pool.go` `sortVMsBasedOnSortPolicy` and `filterVMsBasedOnSelectors`; sorts are stable with a
 * name tie-break so plans are reproducible.
 */
import {
  fromLabelSelector,
  type LabelSelectorSpec,
  matches,
  type Operator,
  type Requirement,
  type Selector,
} from "../labels";
import type {
  LabelSelector,
  NodeSelectorRequirement,
  SelectionPolicy,
  VirtualMachine,
} from "../schemas/kubevirt";
import { parseTime } from "./objects";
import { type RandomSource, shuffled } from "./random";

export type Compiled =
  | { readonly ok: true; readonly selector: Selector }
  | { readonly ok: false; readonly error: string };

/** Our lenient schema keeps operators as plain strings; shared/labels validates them at runtime. */
export function asSelectorSpec(spec: LabelSelector | null | undefined): LabelSelectorSpec | null | undefined {
  return spec as LabelSelectorSpec | null | undefined;
}

/** `metav1.LabelSelectorAsSelector`, with the failure as text instead of a throw. */
export function compileLabelSelector(spec: LabelSelector | null | undefined): Compiled {
  try {
    return { ok: true, selector: fromLabelSelector(asSelectorSpec(spec)) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export const SORT_POLICIES = ["AscendingOrder", "DescendingOrder", "Newest", "Oldest", "Random"] as const;
export type SortPolicy = (typeof SORT_POLICIES)[number];

/** The sort policy of a selection policy; unset means Random, unknown values fall back to Random (upstream warns). */
export function resolveSortPolicy(policy: SelectionPolicy | null | undefined): {
  readonly policy: SortPolicy;
  readonly unknown?: string;
} {
  const value = policy?.sortPolicy;
  if (value === undefined) return { policy: "Random" };
  const known = SORT_POLICIES.find((candidate) => candidate === value);
  return known === undefined ? { policy: "Random", unknown: value } : { policy: known };
}

/** Go `strconv.Atoi` of the text after the last `-`; names that do not parse sort as ordinal 0. */
export function ordinalOf(name: string): number | undefined {
  const suffix = name.slice(name.lastIndexOf("-") + 1);
  if (!/^[+-]?\d+$/.test(suffix)) return undefined;
  const value = Number(suffix);
  return Number.isSafeInteger(value) ? value : undefined;
}

const byName = (a: VirtualMachine, b: VirtualMachine): number =>
  a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;

function createdAt(vm: VirtualMachine): number {
  return parseTime(vm.metadata.creationTimestamp) ?? 0;
}

function sortedBy(vms: readonly VirtualMachine[], key: (vm: VirtualMachine) => number, descending: boolean) {
  const sign = descending ? -1 : 1;
  return vms
    .map((vm) => ({ vm, key: key(vm) }))
    .sort((a, b) => sign * (a.key - b.key) || byName(a.vm, b.vm))
    .map(({ vm }) => vm);
}

/** A copy of `vms` in the order the policy picks them (first = first to go). */
export function sortVMs(
  vms: readonly VirtualMachine[],
  policy: SortPolicy,
  random: RandomSource,
): VirtualMachine[] {
  switch (policy) {
    case "AscendingOrder":
      return sortedBy(vms, (vm) => ordinalOf(vm.metadata.name) ?? 0, false);
    case "DescendingOrder":
      return sortedBy(vms, (vm) => ordinalOf(vm.metadata.name) ?? 0, true);
    case "Newest":
      return sortedBy(vms, createdAt, true);
    case "Oldest":
      return sortedBy(vms, createdAt, false);
    case "Random":
      return shuffled(vms, random);
  }
}

const NODE_OPERATORS: Readonly<Record<string, Operator>> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
  Gt: "gt",
  Lt: "lt",
};

function nodeRequirement(requirement: NodeSelectorRequirement): Requirement | string {
  const operator = NODE_OPERATORS[requirement.operator];
  if (operator === undefined) return `"${requirement.operator}" is not a valid label selector operator`;
  const values = requirement.values ?? [];
  if ((operator === "in" || operator === "notin") && values.length === 0) {
    return `values: Invalid value: for 'in', 'notin' operators, values set can't be empty`;
  }
  if ((operator === "exists" || operator === "!") && values.length !== 0) {
    return `values: Invalid value: values set must be empty for exists and does not exist`;
  }
  if (
    (operator === "gt" || operator === "lt") &&
    (values.length !== 1 || !/^[+-]?\d+$/.test(values[0] ?? ""))
  ) {
    return `values: Invalid value: for 'Gt', 'Lt' operators, exactly one integer value is required`;
  }
  return { key: requirement.key, operator, values: [...values] };
}

/** core/v1 NodeSelectorRequirements as one label selector (KubeVirt `nodeSelectorRequirementsAsSelector`). */
export function compileNodeRequirements(requirements: readonly NodeSelectorRequirement[]): Compiled {
  const compiled: Requirement[] = [];
  for (const requirement of requirements) {
    const result = nodeRequirement(requirement);
    if (typeof result === "string") return { ok: false, error: result };
    compiled.push(result);
  }
  return { ok: true, selector: { requirements: compiled } };
}

export type Filtered =
  | { readonly ok: true; readonly vms: readonly VirtualMachine[] }
  | { readonly ok: false; readonly error: string };

/**
 * Keeps, in order, the VMs whose template labels match `labelSelector` and whose template nodeSelector matches
 * `nodeSelectorRequirementMatcher` (both when both are set).
 */
export function filterBySelectors(
  vms: readonly VirtualMachine[],
  selectors: NonNullable<SelectionPolicy["selectors"]>,
): Filtered {
  const labels = selectors.labelSelector ? compileLabelSelector(selectors.labelSelector) : undefined;
  if (labels && !labels.ok)
    return { ok: false, error: `failed to parse label selector from pool: ${labels.error}` };
  const nodes = selectors.nodeSelectorRequirementMatcher
    ? compileNodeRequirements(selectors.nodeSelectorRequirementMatcher)
    : undefined;
  if (nodes && !nodes.ok)
    return { ok: false, error: `failed to parse node selector from pool: ${nodes.error}` };
  if (!labels && !nodes) return { ok: true, vms };
  const kept = vms.filter((vm) => {
    const template = vm.spec.template;
    if (labels && !matches(labels.selector, template.metadata?.labels ?? undefined)) return false;
    return !nodes || matches(nodes.selector, template.spec?.nodeSelector ?? undefined);
  });
  return { ok: true, vms: kept };
}
