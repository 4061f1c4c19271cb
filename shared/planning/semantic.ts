/**
 * Semantic equality of JSON values in the sense of apimachinery's `equality.Semantic.DeepEqual` applied to
 * decoded objects: null, absent, empty maps and empty lists are all "unset". Used to decide whether a VM's
 * revision still matches the pool template, so a revision written by Go (with `creationTimestamp: null` and empty
 * structs) compares equal to the same template read back as JSON. Both walks use an explicit stack, not
 * recursion: revisions and statuses are user input of any depth.
 */

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === "object";
}

/** One container being pruned: its members are visited in order, the pruned ones collected in `out`. */
interface PruneFrame {
  readonly array: boolean;
  readonly source: Container;
  readonly keys: readonly string[];
  next: number;
  readonly out: Container;
  kept: number;
  /** The member name under which the parent receives the result. */
  readonly key: string;
}

function pruneFrame(source: Container, key: string): PruneFrame {
  const array = Array.isArray(source);
  return { array, source, keys: Object.keys(source), next: 0, out: array ? [] : {}, kept: 0, key };
}

function collect(frame: PruneFrame, key: string, pruned: unknown): void {
  if (frame.array) {
    (frame.out as unknown[]).push(pruned ?? null);
    frame.kept++;
  } else if (pruned !== undefined) {
    (frame.out as Record<string, unknown>)[key] = pruned;
    frame.kept++;
  }
}

/** Drops null/undefined members, empty objects and empty arrays; returns undefined when nothing is left. */
export function pruneEmpty(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (!isContainer(value)) return value;
  const stack: PruneFrame[] = [pruneFrame(value, "")];
  let result: unknown;
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as PruneFrame;
    if (top.next < top.keys.length) {
      const key = top.keys[top.next++] as string;
      const member = (top.source as Record<string, unknown>)[key];
      if (isContainer(member)) stack.push(pruneFrame(member, key));
      else collect(top, key, member ?? undefined);
      continue;
    }
    stack.pop();
    const pruned = top.kept === 0 ? undefined : top.out;
    const parent = stack[stack.length - 1];
    if (parent) collect(parent, top.key, pruned);
    else result = pruned;
  }
  return result;
}

/** Structural equality of two JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [left, right] = pair;
    if (left === right) continue;
    if (!isContainer(left) || !isContainer(right)) return false;
    if (Array.isArray(left) !== Array.isArray(right)) return false;
    if (Array.isArray(left) && Array.isArray(right)) {
      if (left.length !== right.length) return false;
      for (let i = 0; i < left.length; i++) pending.push([left[i], right[i]]);
      continue;
    }
    const l = left as Record<string, unknown>;
    const r = right as Record<string, unknown>;
    const keys = Object.keys(l);
    if (keys.length !== Object.keys(r).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(r, key)) return false;
      pending.push([l[key], r[key]]);
    }
  }
  return true;
}

/** True when the two values are equal once unset members are pruned. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return jsonEqual(pruneEmpty(a), pruneEmpty(b));
}
