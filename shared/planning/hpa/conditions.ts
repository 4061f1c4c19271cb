/**
 * HPA status conditions (AbleToScale, ScalingActive, ScalingLimited) as a decision sets them, and merging them
 * into an existing status list the way upstream `setConditionInList` does.
 */

export type HpaConditionType = "AbleToScale" | "ScalingActive" | "ScalingLimited";
export type ConditionStatus = "True" | "False" | "Unknown";

/** A condition a decision sets (no timestamp: merging decides lastTransitionTime). */
export interface HpaCondition {
  readonly type: HpaConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** A condition as stored in HPA status. */
export interface StoredCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  readonly lastTransitionTime?: string | null | undefined;
}

/**
 * Collects conditions in the order first set; setting a type again replaces it (upstream calls setCondition
 * several times per pass and the last call wins).
 */
export class ConditionSet {
  readonly #byType = new Map<HpaConditionType, HpaCondition>();

  set(type: HpaConditionType, status: ConditionStatus, reason: string, message: string): void {
    this.#byType.set(type, { type, status, reason, message });
  }

  get(type: HpaConditionType): HpaCondition | undefined {
    return this.#byType.get(type);
  }

  list(): HpaCondition[] {
    return [...this.#byType.values()];
  }
}

/** metav1.Time text: RFC 3339 in UTC with whole seconds. */
export function kubeTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * Applies a decision's conditions to the stored list: existing entries keep their position, new types are
 * appended, lastTransitionTime changes only when the status flips, and other condition types are left alone.
 */
export function mergeConditions(
  existing: readonly StoredCondition[],
  updates: readonly HpaCondition[],
  now: Date,
): StoredCondition[] {
  const merged = existing.map((condition) => ({ ...condition }));
  const stamp = kubeTime(now.getTime());
  for (const update of updates) {
    const index = merged.findIndex((condition) => condition.type === update.type);
    const previous = index >= 0 ? merged[index] : undefined;
    const lastTransitionTime =
      previous && previous.status === update.status ? (previous.lastTransitionTime ?? stamp) : stamp;
    const next = { ...previous, ...update, lastTransitionTime };
    if (index >= 0) merged[index] = next;
    else merged.push(next);
  }
  return merged;
}
