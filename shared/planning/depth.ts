/**
 * How deep a JSON value nests, measured without recursion. Pool templates, revisions and statuses are user
 * input, and what copies or serialises them (`structuredClone`, `JSON.stringify`) recurses natively: about 2,000
 * levels overflow the stack. The planners refuse a spec nested deeper than {@link MAX_SPEC_DEPTH} before copying
 * anything out of it, so one such object fails its own pool with a reason instead of every pass.
 */
import type { Note } from "./types";

/** Far beyond any KubeVirt schema (a VM template nests under 20 levels), far below the stack's limit. */
export const MAX_SPEC_DEPTH = 100;
export const TEMPLATE_TOO_DEEP = "TemplateTooDeep";

const SHOWN_KEYS = 8;

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly key: string;
  readonly parent: Frame | undefined;
}

function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let at: Frame | undefined = frame; at?.parent; at = at.parent) keys.push(at.key);
  keys.reverse();
  const shown = keys.slice(0, SHOWN_KEYS).join(".");
  return keys.length > SHOWN_KEYS ? `${shown}…` : shown;
}

/**
 * The path of the first object or array found more than `limit` levels below `value` (`value` itself is level 0),
 * or undefined when it nests no deeper. Each node is visited at most once, and the walk stops at the first.
 */
export function pathDeeperThan(value: unknown, limit: number): string | undefined {
  const pending: Frame[] = [{ value, depth: 0, key: "", parent: undefined }];
  for (let frame = pending.pop(); frame !== undefined; frame = pending.pop()) {
    const { value: node, depth } = frame;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return pathOf(frame);
    const entries = Array.isArray(node)
      ? node.map((item, i) => [String(i), item] as const)
      : Object.entries(node);
    for (const [key, child] of entries) pending.push({ value: child, depth: depth + 1, key, parent: frame });
  }
  return undefined;
}

/** Why a pool's or replica set's spec cannot be planned: it nests deeper than {@link MAX_SPEC_DEPTH}. */
export function specDepthProblem(spec: unknown): Note | undefined {
  const path = pathDeeperThan(spec, MAX_SPEC_DEPTH);
  if (path === undefined) return undefined;
  return {
    reason: TEMPLATE_TOO_DEEP,
    message: `spec nests more than ${MAX_SPEC_DEPTH} levels deep (at spec.${path}): nothing is built from it`,
  };
}
