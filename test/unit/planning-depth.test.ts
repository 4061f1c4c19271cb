/**
 * Nothing recurses without a bound on input a user controls (issue 10, defect 1): the planners refuse a spec
 * nested deeper than they may copy, with a reason, instead of overflowing the stack; the semantic comparisons walk
 * any depth with an explicit stack and agree with the plain recursive definitions; the HPA behavior annotation is
 * lower-cased only as deep as its schema reads.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planPool, planReplicaSet, seededRandom } from "../../shared/planning";
import { MAX_SPEC_DEPTH, pathDeeperThan } from "../../shared/planning/depth";
import { jsonEqual, pruneEmpty, semanticEqual } from "../../shared/planning/semantic";
import { templateProblem } from "../../shared/reconcile/validate";
import { HPA_V1_BEHAVIOR_ANNOTATION, normalizeHpa } from "../../shared/schemas/hpa";
import { NOW, pool, replicaSet } from "../support/kubevirt-fixtures";
import { fixture } from "./hpa-fixtures";

/** Far deeper than any stack: 100,000 levels. */
const HOSTILE = 100_000;

function nested(depth: number, leaf: unknown = {}): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function deepPool(depth: number) {
  const p = pool();
  const spec = p.spec.virtualMachineTemplate.spec.template.spec as Record<string, unknown>;
  spec.deep = nested(depth);
  return p;
}

// The definitions the iterative walks replace, for shallow values.
function pruneReference(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value))
    return value.length === 0 ? undefined : value.map((v) => pruneReference(v) ?? null);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const pruned = pruneReference(member);
      if (pruned !== undefined) out[key] = pruned;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function equalReference(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equalReference(x, b[i]));
  const l = a as Record<string, unknown>;
  const r = b as Record<string, unknown>;
  return (
    Object.keys(l).length === Object.keys(r).length &&
    Object.keys(l).every((k) => Object.hasOwn(r, k) && equalReference(l[k], r[k]))
  );
}

describe("pathDeeperThan", () => {
  it.each([
    // a scalar nests nowhere
    [42, 3, undefined],
    // exactly at the limit is fine
    [nested(3), 3, undefined],
    // one level more is named by its path
    [nested(4), 3, "a.a.a.a"],
    // arrays count as levels, indices name them
    [{ list: [[{}]] }, 2, "list.0.0"],
    // long paths are cut after eight keys
    [nested(20), 10, "a.a.a.a.a.a.a.a…"],
  ])("%j with limit %d → %s", (value, limit, path) => {
    expect(pathDeeperThan(value, limit)).toBe(path);
  });

  it("walks 100,000 levels without recursion", () => {
    expect(pathDeeperThan(nested(HOSTILE), MAX_SPEC_DEPTH)).toMatch(/^a\.a\./);
  });
});

describe("planners refuse a spec too deep to copy", () => {
  it.each([
    // just inside the limit: planned normally (3 VMs and a revision)
    [MAX_SPEC_DEPTH - 10, undefined],
    // beyond it: skipped with a reason, nothing built
    [MAX_SPEC_DEPTH + 1, "TemplateTooDeep"],
    // far beyond the stack: still a reason, no RangeError
    [HOSTILE, "TemplateTooDeep"],
  ])("a pool template nested %d deep → skip %s", (depth, reason) => {
    const plan = planPool({
      pool: deepPool(depth),
      vms: [],
      vmis: [],
      revisions: [],
      now: NOW,
      random: seededRandom(1),
    });
    expect(plan.skipped?.reason).toBe(reason);
    expect(plan.actions.length > 0).toBe(reason === undefined);
  });

  it("a replica set template nested 100,000 deep is skipped with TemplateTooDeep", () => {
    const rs = replicaSet();
    (rs.spec.template.spec as Record<string, unknown>).deep = nested(HOSTILE);
    const plan = planReplicaSet({ replicaSet: rs, vmis: [], now: NOW });
    expect(plan.skipped?.reason).toBe("TemplateTooDeep");
    expect(plan.actions).toEqual([]);
  });

  it("the pass reports it as a template problem naming where", () => {
    const problem = templateProblem({ kind: "VirtualMachinePool", object: deepPool(HOSTILE) });
    expect(problem?.reason).toBe("TemplateTooDeep");
    expect(problem?.message).toMatch(
      /^spec nests more than 100 levels deep \(at spec\.virtualMachineTemplate\.spec\.template\.spec\.deep\.a\.a\.a…\)/,
    );
  });
});

describe("semantic comparisons walk any depth", () => {
  it("compares and prunes 100,000-deep values", () => {
    expect(semanticEqual(nested(HOSTILE, { x: 1 }), nested(HOSTILE, { x: 1, y: null }))).toBe(true);
    expect(semanticEqual(nested(HOSTILE, { x: 1 }), nested(HOSTILE, { x: 2 }))).toBe(false);
    expect(jsonEqual(nested(HOSTILE), nested(HOSTILE - 1))).toBe(false);
    expect(pruneEmpty(nested(HOSTILE))).toBeUndefined();
  });

  it("property: pruneEmpty and jsonEqual agree with the recursive definitions", () => {
    const json = fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.constantFrom({}, [], null, [null], { a: [] }));
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(pruneEmpty(a)).toEqual(pruneReference(a));
        expect(jsonEqual(a, b)).toBe(equalReference(a, b));
        expect(jsonEqual(a, structuredClone(a))).toBe(true);
        expect(semanticEqual(a, b)).toBe(equalReference(pruneReference(a), pruneReference(b)));
      }),
      { numRuns: 500 },
    );
  });
});

describe("the HPA behavior annotation", () => {
  const withBehavior = (text: string) => {
    const hpa = fixture("v1-autoscale");
    hpa.metadata.annotations = { ...hpa.metadata.annotations, [HPA_V1_BEHAVIOR_ANNOTATION]: text };
    return hpa;
  };

  it("still reads the Go field names of every level the schema knows", () => {
    const text = JSON.stringify({ ScaleUp: { Policies: [{ Type: "Pods", Value: 4, PeriodSeconds: 60 }] } });
    expect(normalizeHpa(withBehavior(text)).behavior?.scaleUp?.policies).toEqual([
      { type: "Pods", value: 4, periodSeconds: 60 },
    ]);
  });

  it("nested 100,000 deep is not recursed into", () => {
    const text = `${'{"ScaleUp":'.repeat(HOSTILE)}{}${"}".repeat(HOSTILE)}`;
    expect(() => normalizeHpa(withBehavior(text))).not.toThrow(RangeError);
  });
});
