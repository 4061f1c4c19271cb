/**
 * What a plan's creates may still do once the desired count is read again (issue 10, defect 9): a plan that
 * creates children says how many counted against the desired count when it was made, and `createsAllowed` turns a
 * fresh `spec.replicas` into the creates still allowed, never letting counted + issued pass it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createsAllowed, planPool, planReplicaSet, seededRandom } from "../../shared/planning";
import { NOW, pool, poolVM, replicaSet, rsVMI } from "../support/kubevirt-fixtures";

describe("createsAllowed", () => {
  it.each([
    // unchanged spec, nothing issued yet: the plan's whole scale-out
    [{ counted: 2 }, 5, 0, 3],
    // two already issued
    [{ counted: 2 }, 5, 2, 1],
    // scaled down below what exists: none, never negative
    [{ counted: 2 }, 1, 0, 0],
    // scaled down below what exists plus what was issued
    [{ counted: 2 }, 4, 3, 0],
    // unset replicas means 1, as the planners read it
    [{ counted: 0 }, undefined, 0, 1],
    // negative replicas mean 0
    [{ counted: 0 }, -3, 0, 0],
  ])("%j, replicas %s, %d issued → %d", (scaleOut, replicas, issued, allowed) => {
    expect(createsAllowed(scaleOut, replicas, issued)).toBe(allowed);
  });
});

describe("plans that create say what they counted", () => {
  it("property: a pool plan's creates fit its own count, and a later read never lets more through", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.uniqueArray(fc.record({ ordinal: fc.integer({ min: 0, max: 30 }), deleting: fc.boolean() }), {
          selector: (vm) => vm.ordinal,
          maxLength: 20,
        }),
        fc.integer({ min: 0, max: 40 }),
        (replicas, shapes, later) => {
          const p = pool({ replicas });
          const vms = shapes.map((s) => poolVM(p, s.ordinal, { deleting: s.deleting }));
          const plan = planPool({ pool: p, vms, vmis: [], revisions: [], now: NOW, random: seededRandom(1) });
          const creates = plan.actions.filter((a) => a.kind === "createVM").length;
          expect(plan.scaleOut !== undefined).toBe(creates > 0);
          if (!plan.scaleOut) return;
          expect(plan.scaleOut.counted).toBe(vms.length);
          expect(createsAllowed(plan.scaleOut, replicas, 0)).toBeGreaterThanOrEqual(creates);
          for (let issued = 0; issued <= creates; issued++) {
            expect(
              plan.scaleOut.counted + issued + createsAllowed(plan.scaleOut, later, issued),
            ).toBeLessThanOrEqual(Math.max(later, plan.scaleOut.counted + issued));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a replica set counts the VMIs that may still run, terminating ones included", () => {
    const plan = planReplicaSet({
      replicaSet: replicaSet({ replicas: 5 }),
      vmis: [rsVMI("a"), rsVMI("b", { deleting: true })],
      now: NOW,
    });
    expect(plan.scaleOut).toEqual({ counted: 2 });
    expect(plan.actions.filter((a) => a.kind === "createVMI")).toHaveLength(3);
  });

  it("a plan without creates carries no scale-out", () => {
    const plan = planReplicaSet({ replicaSet: replicaSet({ replicas: 1 }), vmis: [rsVMI("a")], now: NOW });
    expect(plan.scaleOut).toBeUndefined();
  });
});
