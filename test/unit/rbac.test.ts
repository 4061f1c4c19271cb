/**
 * The ClusterRole in infra/kubernetes grants exactly what the code uses. The set the code needs is derived, not
 * listed: a type-checked scan of every `Kube` call in shared/, functions/ and infra/cli/ (kinds from the checker's
 * literal types, patch subresources from the options' types), shared/kube's table of the requests each method
 * sends, and — for the one call site whose kind is dynamic, the plan executor (shared/reconcile/act.ts) — the
 * writes the planner emits for every action kind it has, one scenario each. test/integration/kube-access.test.ts
 * checks the method table and the executor's verb mapping against the requests that reach a real API server.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { METRICS_GROUP, METRICS_RESOURCES } from "../../infra/local/metrics-api";
import { RESOURCES as LOCAL_RESOURCES, RESOURCE_VERBS, SUBRESOURCE_VERBS } from "../../infra/local/resources";
import {
  type Access,
  accessOf,
  isKindless,
  KIND_NAMES,
  type KindName,
  rbacAttributes,
} from "../../shared/kube";
import type { ActionKind, Plan } from "../../shared/planning";
import { type Observation, planFor } from "../../shared/reconcile";
import { type KubeUsage, scanKubeUsage } from "../support/kube-usage";
import {
  convergedPool,
  POOL_NAME,
  pool,
  poolVM,
  replicaSet,
  revisionFor,
  rsVMI,
  vmiFor,
} from "../support/kubevirt-fixtures";
import { clusterRoleRules, expandRules, type Rule, RuleSchema, rbacKey } from "../support/rbac";

const ROOT = join(import.meta.dirname, "../..");
/** The only call site allowed a dynamic kind: it executes the planner's actions. */
const PLAN_EXECUTOR = "shared/reconcile/act.ts";
const NOW = new Date("2025-06-01T12:00:00Z");

/** How the plan executor turns a planned write into a Kube call (shared/reconcile/act.ts `perform`). */
const EXECUTOR_METHOD = { create: "create", update: "replace", delete: "delete", patch: "patch" } as const;

/**
 * An observation that makes the planner emit the action; or, for an action this build cannot reach, one where it
 * would if it could, with the reason it does not (checked: the plan must carry the note `unreachableNote`).
 */
type Scenario =
  | { readonly observe: () => Observation }
  | { readonly observe: () => Observation; readonly unreachable: string; readonly unreachableNote: string };

const poolObservation = (world: ReturnType<typeof convergedPool>): Observation => ({
  owner: { kind: "VirtualMachinePool", object: world.pool },
  children: { vms: world.vms, vmis: world.vmis, revisions: world.revisions },
});

const rsObservation = (rs: ReturnType<typeof replicaSet>, vmis: ReturnType<typeof rsVMI>[]): Observation => ({
  owner: { kind: "VirtualMachineInstanceReplicaSet", object: rs },
  children: { vms: [], vmis, revisions: [] },
});

/** A pool whose template changed (generation 2) while its one VM's VMI still runs generation 1. */
function updatedPool(memory: string | undefined): Observation {
  const old = pool({ replicas: 1, generation: 1 });
  const spec = structuredClone(old.spec);
  const domain = spec.virtualMachineTemplate.spec.template.spec?.domain;
  if (memory && domain) domain.resources = { requests: { memory } };
  const next = pool({ replicas: 1, generation: 2, spec });
  const vm = poolVM(next, 0);
  return poolObservation({
    pool: next,
    vms: [vm],
    vmis: [vmiFor(vm, { revision: `${POOL_NAME}-1` })],
    revisions: [revisionFor(old, 1, old.spec), revisionFor(next)],
  });
}

/**
 * One observation per planner action kind that makes `planFor` (the planner as the pass calls it) emit that
 * action. `Record<ActionKind, …>`: a new action kind does not compile until it has a scenario here.
 */
const SCENARIOS: Record<ActionKind, Scenario> = {
  // scale-out from nothing
  createVM: { observe: () => poolObservation({ ...convergedPool(0), pool: pool({ replicas: 2 }) }) },
  // scale-in by one
  deleteVM: {
    observe: () => {
      const world = convergedPool(2);
      world.pool.spec.replicas = 1;
      return poolObservation(world);
    },
  },
  // a VM on an outdated revision gets the new template (PUT)
  updateVM: {
    observe: () => {
      const old = pool({ replicas: 1, generation: 1 });
      const spec = structuredClone(old.spec);
      const domain = spec.virtualMachineTemplate.spec.template.spec?.domain;
      if (domain) domain.resources = { requests: { memory: "256Mi" } };
      const next = pool({ replicas: 1, generation: 2, spec });
      const vm = poolVM(old, 0);
      return poolObservation({ pool: next, vms: [vm], vmis: [vmiFor(vm)], revisions: [revisionFor(old)] });
    },
  },
  // the VMI template changed: proactive update restarts the VMI
  restartVM: { observe: () => updatedPool("1Gi") },
  // same VMI template under a new revision: only the revision label is patched
  patchVMILabels: { observe: () => updatedPool(undefined) },
  // an owned VM whose labels stopped matching is released
  releaseVM: {
    observe: () => {
      const world = convergedPool(1);
      world.vms.push(poolVM(world.pool, 1, { labels: { other: "x" } }));
      return poolObservation(world);
    },
  },
  // a state-preserving scale-in: the planner would hand the VM's volumes off, had the pass observed them
  releaseVolume: {
    observe: () => {
      const p = pool({
        replicas: 1,
        spec: { scaleInStrategy: { proactive: { statePreservation: "Offline" } } },
      });
      const vms = [poolVM(p, 0), poolVM(p, 1)];
      return poolObservation({
        pool: p,
        vms,
        vmis: vms.map((vm) => vmiFor(vm)),
        revisions: [revisionFor(p)],
      });
    },
    unreachable:
      "planFor gives the planner no DataVolumes or PVCs (shared/reconcile/pass.ts), so this build keeps a " +
      "preserving VM's finalizer instead of handing volumes off; observing volumes would add list calls the scan " +
      "demands",
    unreachableNote: "VolumesNotObserved",
  },
  // a pool with replicas and no revision of its current spec
  createRevision: {
    observe: () => poolObservation({ ...convergedPool(0), pool: pool({ replicas: 1 }), revisions: [] }),
  },
  // an unused revision is pruned
  deleteRevision: {
    observe: () => {
      const world = convergedPool(2);
      world.revisions.push(revisionFor(world.pool, 5));
      return poolObservation(world);
    },
  },
  // a pool without its finalizer
  addPoolFinalizer: {
    observe: () => poolObservation({ ...convergedPool(0), pool: pool({ replicas: 0, finalizers: null }) }),
  },
  // a pool being deleted lets go of its VMs, then of itself
  removePoolFinalizer: {
    observe: () => {
      const p = pool({ replicas: 1, deleting: true });
      return poolObservation({ pool: p, vms: [poolVM(p, 0)], vmis: [], revisions: [revisionFor(p)] });
    },
  },
  // a replica set without the observed-API-version annotations
  annotateReplicaSet: {
    observe: () =>
      rsObservation(
        replicaSet({ replicas: 0, annotated: false, status: { labelSelector: "myvmi=myvmi" } }),
        [],
      ),
  },
  // scale-out of a replica set
  createVMI: { observe: () => rsObservation(replicaSet({ replicas: 2 }), []) },
  // scale-in of a replica set
  deleteVMI: { observe: () => rsObservation(replicaSet({ replicas: 1 }), [rsVMI("a"), rsVMI("b")]) },
  // an orphan VMI with matching labels is adopted
  adoptVMI: { observe: () => rsObservation(replicaSet({ replicas: 1 }), [rsVMI("o", { owner: "none" })]) },
  // an owned VMI whose labels stopped matching is released
  releaseVMI: {
    observe: () => rsObservation(replicaSet({ replicas: 1 }), [rsVMI("o", { labels: { other: "x" } })]),
  },
};

function isKindName(kind: string): kind is KindName {
  return (KIND_NAMES as readonly string[]).includes(kind);
}

/** The accesses of every planned write in `plan`, through the executor's verb → method mapping. */
function plannedAccesses(plan: Plan): Access[] {
  return plan.actions.flatMap((action) => {
    const kind = action.target.kind;
    if (!isKindName(kind)) throw new Error(`the planner writes ${kind}, which shared/kube cannot address`);
    return accessOf(EXECUTOR_METHOD[action.write.verb], kind);
  });
}

describe("RBAC: the ClusterRole grants every verb the code uses, and nothing more", () => {
  let usage: KubeUsage;
  let rules: Rule[];

  beforeAll(() => {
    usage = scanKubeUsage(ROOT, ["shared", "functions", "infra/cli"], ["shared/kube/"], KIND_NAMES);
    rules = clusterRoleRules();
  }, 60_000);

  it("finds the Kube calls, every one with a kind the type checker can name, except the plan executor's", () => {
    expect(usage.escapes).toEqual([]);
    expect(usage.calls.length).toBeGreaterThan(20);
    const dynamic = usage.calls.filter((c) => c.kinds === undefined);
    expect(dynamic.map((c) => c.file).filter((f) => f !== PLAN_EXECUTOR)).toEqual([]);
    expect(dynamic.length).toBeGreaterThan(0);
    // The executor's status write names the pool kinds statically.
    expect(usage.calls).toContainEqual(
      expect.objectContaining({ file: PLAN_EXECUTOR, method: "patch", subresources: ["status"] }),
    );
  });

  it.each(Object.entries(SCENARIOS))(
    "planner action %s: its scenario emits it (or it is unreachable)",
    (kind, scenario) => {
      const plan = planFor(scenario.observe(), NOW, () => 0.5);
      if ("unreachable" in scenario) {
        expect(plan.actions.map((a) => a.kind)).not.toContain(kind);
        expect(plan.notes.map((n) => n.reason)).toContain(scenario.unreachableNote);
        return;
      }
      expect(plan.actions.map((a) => a.kind)).toContain(kind);
    },
  );

  /** Every (group, resource, verb) the code can send, with the call sites that need it. */
  function required(): Map<string, string[]> {
    const needs = new Map<string, string[]>();
    const add = (access: Access, why: string) => {
      const k = rbacKey(rbacAttributes(access));
      needs.set(k, [...(needs.get(k) ?? []), why]);
    };
    for (const call of usage.calls) {
      if (call.kinds === undefined) continue;
      const kinds: readonly KindName[] = isKindless(call.method) ? ["Event"] : call.kinds;
      for (const kind of kinds) {
        for (const sub of call.subresources) {
          for (const access of accessOf(call.method, kind, sub)) add(access, `${call.site} ${call.method}`);
        }
      }
    }
    for (const [kind, scenario] of Object.entries(SCENARIOS)) {
      for (const access of plannedAccesses(planFor(scenario.observe(), NOW, () => 0.5))) {
        add(access, `${PLAN_EXECUTOR} (planner ${kind})`);
      }
    }
    return needs;
  }

  it("grants each derived access (no Forbidden in production)", () => {
    const granted = new Set(expandRules(rules));
    const missing = [...required()].filter(([k]) => !granted.has(k)).map(([k, why]) => `${k} ← ${why[0]}`);
    expect(missing).toEqual([]);
  });

  it("grants nothing the code does not use (least privilege)", () => {
    const needs = required();
    const unused = expandRules(rules).filter((k) => !needs.has(k));
    expect(unused).toEqual([]);
  });

  it("has no wildcards, duplicates, resourceNames or non-resource URLs", () => {
    const all = expandRules(rules);
    expect(all.filter((k) => k.includes("*"))).toEqual([]);
    expect(new Set(all).size).toBe(all.length);
    // RuleSchema is strict: resourceNames or nonResourceURLs would have failed the parse.
    expect(rules.every((r) => RuleSchema.safeParse(r).success)).toBe(true);
  });

  it("names resources and subresources Kubernetes serves, with verbs they accept", () => {
    for (const k of expandRules(rules)) {
      const [group, resource = "", verb = ""] = k.split("|");
      const [plural, sub] = resource.split("/");
      // metrics.k8s.io is an aggregated API the local cluster serves read-only beside its resource table.
      if (group === METRICS_GROUP) {
        expect(METRICS_RESOURCES.map((r) => r.plural)).toContain(plural);
        expect(["get", "list"]).toContain(verb);
        continue;
      }
      const def = LOCAL_RESOURCES.find((d) => d.group === group && d.plural === plural);
      expect(def, `${group}/${plural} is served`).toBeDefined();
      if (sub === "status") expect(def?.statusSubresource).toBe(true);
      if (sub === "scale") expect(def?.scale).toBeDefined();
      expect(sub === undefined ? RESOURCE_VERBS : SUBRESOURCE_VERBS).toContain(verb);
    }
  });
});
