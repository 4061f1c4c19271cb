/**
 * One pool's trouble stays its own (issue 10, defects 1 and 10). A pool whose template nests thousands of levels
 * deep, an unreadable object, a failed list: each fails the pools that depend on it, with a reason, and every other
 * pool of a reconcile-all pass still converges. A single 409 on a read is retried by the retry policy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { passDeps } from "../../functions/bootstrap";
import { RESOURCES } from "../../infra/local";
import { createKube, type Kube } from "../../shared/kube";
import { reconcileAll, reconcilePool } from "../../shared/reconcile";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";

const POOLS = "virtualmachinepools.pool.kubevirt.io";
const VMS = "virtualmachines.kubevirt.io";
const NAMESPACE_DEF = RESOURCES.find((d) => d.kind === "Namespace");

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function poolBody(namespace: string, name: string, replicas: number) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: {
          runStrategy: "Halted",
          template: { metadata: { labels }, spec: { domain: { devices: {} } } },
        },
      },
    },
  };
}

function replicaSetBody(namespace: string, name: string, replicas: number) {
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { rs: name } },
      template: { metadata: { labels: { rs: name } }, spec: { domain: { devices: {} } } },
    },
  };
}

/** `spec.virtualMachineTemplate.spec.template.spec.deep`, nested `depth` levels. */
function deepen<T extends object>(pool: T, depth: number): T {
  const spec = structuredClone((pool as { spec?: unknown }).spec) as {
    virtualMachineTemplate: { spec: { template: { spec: Record<string, unknown> } } };
  };
  spec.virtualMachineTemplate.spec.template.spec.deep = nested(depth);
  return { ...pool, spec };
}

/** A view of `kube` whose reads of one pool return it with its template nested `depth` levels deeper. */
function deepeningKube(kube: Kube, name: string, depth: number): Kube {
  const deep = <T extends object>(object: T): T =>
    (object as { metadata?: { name?: string } }).metadata?.name === name ? deepen(object, depth) : object;
  const wrap = (inner: Kube): Kube =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property === "withDeadline") return (deadline: number) => wrap(target.withDeadline(deadline));
        if (property === "get") {
          return async (...args: Parameters<Kube["get"]>) => {
            const object = await target.get(...args);
            return args[0] === "VirtualMachinePool" && object ? deep(object) : object;
          };
        }
        if (property === "list") {
          return async (...args: Parameters<Kube["list"]>) => {
            const items = await target.list(...args);
            return args[0] === "VirtualMachinePool" ? items.map(deep) : items;
          };
        }
        if (property === "listLenient") {
          return async (...args: Parameters<Kube["listLenient"]>) => {
            const listed = await target.listLenient(...args);
            return args[0] === "VirtualMachinePool" ? { ...listed, items: listed.items.map(deep) } : listed;
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrap(kube);
}

describe("one pool's trouble stays its own", () => {
  let env: TestCluster;
  let kube: Kube;
  let r: Reconciler;
  let namespace = 0;
  let ns: string;

  const owned = (pool: string) =>
    env.cluster.store
      .list(VMS, ns)
      .filter((e) => e.obj.metadata.ownerReferences?.some((o) => o.name === pool)).length;
  const conditionsOf = (pool: string) =>
    ((env.cluster.store.get(POOLS, ns, pool)?.obj.status as { conditions?: unknown[] } | undefined)
      ?.conditions ?? []) as { type: string; reason: string }[];
  const eventsFor = async (pool: string) =>
    (await kube.list("Event", { namespace: ns })).filter((e) => e.involvedObject.name === pool);

  const createNamespace = (name: string) => {
    if (!NAMESPACE_DEF) throw new Error("resource table incomplete");
    env.cluster.registry.create(NAMESPACE_DEF, "v1", undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
  };

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    kube = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    r = reconciler(env);
  });
  beforeEach(async () => {
    env.cluster.faults.configure({ seed: 1, rules: [] });
    ns = `iso-${++namespace}`;
    createNamespace(ns);
  });
  afterAll(async () => env?.close());

  it("a pool nested 3,000 deep in the API server fails alone (TemplateTooDeep); a scale of another pool is done", async () => {
    await kube.create("VirtualMachinePool", poolBody(ns, "fine", 2) as never);
    await kube.create("VirtualMachineInstanceReplicaSet", replicaSetBody(ns, "fine-rs", 2) as never);
    await kube.create("VirtualMachinePool", poolBody(ns, "deep", 1) as never);
    // Stored as an API server without a nesting limit would store it (deeper than structuredClone can copy).
    const stored = env.cluster.store.get(POOLS, ns, "deep")?.obj;
    if (!stored) throw new Error("pool missing");
    env.cluster.store.put(POOLS, deepen(stored, 3_000));

    const first = await r.tick();
    const byName = new Map(first.filter((x) => x.ref.namespace === ns).map((x) => [x.ref.name, x]));
    expect(byName.get("deep")).toMatchObject({ outcome: "Skipped", reason: "TemplateTooDeep" });
    expect(byName.get("deep")?.message).toMatch(
      /more than 100 levels deep \(at spec\.virtualMachineTemplate\./,
    );
    expect(byName.get("fine")?.outcome).toBe("Acted");
    expect(byName.get("fine-rs")?.outcome).toBe("Acted");
    expect(owned("fine")).toBe(2);
    expect(owned("deep")).toBe(0);
    expect((await eventsFor("deep")).map((e) => [e.type, e.reason])).toContainEqual([
      "Warning",
      "TemplateTooDeep",
    ]);

    // The symptom: a scale of another pool stayed undone while the deep pool existed.
    await kube.scale("VirtualMachinePool", ns, "fine", 4);
    await r.tick();
    expect(owned("fine")).toBe(4);
    env.cluster.store.remove(POOLS, ns, "deep");
  });

  it("a too-deep template is reported once (ReplicaFailure condition and Warning event), then costs no write", async () => {
    await kube.create("VirtualMachinePool", poolBody(ns, "fine", 1) as never);
    await kube.create("VirtualMachinePool", poolBody(ns, "deeper", 3) as never);
    const deps = {
      ...passDeps(r.runtime, "iso-deeper"),
      kube: deepeningKube(r.runtime.kube, "deeper", 20_000),
    };

    const first = (await reconcileAll(deps, { namespace: ns })).filter((x) => x.ref.name === "deeper");
    expect(first).toEqual([
      expect.objectContaining({ outcome: "Skipped", reason: "TemplateTooDeep", statusWritten: true }),
    ]);
    expect(conditionsOf("deeper")).toContainEqual(
      expect.objectContaining({ type: "ReplicaFailure", reason: "TemplateTooDeep" }),
    );
    expect((await eventsFor("deeper")).map((e) => e.reason)).toEqual(["TemplateTooDeep"]);
    expect(owned("deeper")).toBe(0);
    expect(owned("fine")).toBe(1);

    // Let the other pool settle (its status follows its VMs), then a whole pass writes nothing.
    for (let pass = 0; pass < 5; pass++) {
      const results = await reconcileAll(deps, { namespace: ns });
      if (results.every((x) => x.outcome !== "Acted")) break;
    }
    r.runtime.kube.resetStats();
    const again = await reconcileAll(deps, { namespace: ns });
    expect(again.map((x) => [x.ref.name, x.outcome, x.reason]).sort()).toEqual([
      ["deeper", "Skipped", "TemplateTooDeep"],
      ["fine", "Converged", "Converged"],
    ]);
    const single = await reconcilePool(deps, { kind: "VirtualMachinePool", namespace: ns, name: "deeper" });
    expect(single).toMatchObject({ outcome: "Skipped", reason: "TemplateTooDeep", statusWritten: false });
    const { byVerb } = r.runtime.kube.stats();
    expect(Object.keys(byVerb).filter((verb) => !["get", "list"].includes(verb))).toEqual([]);
  });

  it("one injected 409 on a LIST is retried: the reconcile-all pass succeeds for every pool", async () => {
    await kube.create("VirtualMachinePool", poolBody(ns, "listed", 2) as never);
    // The first list request of virtualmachines answers 409; the rule's rate then drops to nothing.
    let conflicts = 1;
    const decide = env.cluster.faults.decide.bind(env.cluster.faults);
    env.cluster.faults.decide = (verb, resource) => {
      if (verb === "list" && resource === "virtualmachines" && conflicts > 0) {
        conflicts--;
        return { kind: "conflict" };
      }
      return decide(verb, resource);
    };
    try {
      const results = (await r.tick()).filter((x) => x.ref.namespace === ns);
      expect(conflicts).toBe(0);
      expect(results.map((x) => [x.ref.name, x.outcome])).toEqual([["listed", "Acted"]]);
      expect(owned("listed")).toBe(2);
    } finally {
      env.cluster.faults.decide = decide;
    }
  });

  it("a list that keeps failing fails only the pools that depend on its kind", async () => {
    await kube.create("VirtualMachinePool", poolBody(ns, "needs-revisions", 2) as never);
    await kube.create("VirtualMachineInstanceReplicaSet", replicaSetBody(ns, "needs-vmis", 2) as never);
    env.cluster.faults.configure({
      seed: 1,
      rules: [{ kind: "conflict", rate: 1, verbs: ["list"], resources: ["controllerrevisions"] }],
    });
    const results = (await r.tick()).filter((x) => x.ref.namespace === ns || x.ref.name === "*");
    const outcome = new Map(results.map((x) => [x.ref.name, [x.outcome, x.reason]]));
    // A VM pool needs its ControllerRevisions; a replica set does not.
    expect(outcome.get("needs-revisions")).toEqual(["Failed", "Conflict"]);
    expect(outcome.get("needs-vmis")).toEqual(["Acted", "Acted"]);
    expect(owned("needs-revisions")).toBe(0);

    // The pools' own list failing: every pool of that kind fails as one result, the other kind proceeds.
    env.cluster.faults.configure({
      seed: 1,
      rules: [{ kind: "error", rate: 1, verbs: ["list"], resources: ["virtualmachinepools"] }],
    });
    await kube.scale("VirtualMachineInstanceReplicaSet", ns, "needs-vmis", 3);
    const blind = (await r.tick()).filter((x) => x.ref.namespace === ns || x.ref.name === "*");
    expect(blind.map((x) => [x.ref.kind, x.ref.namespace, x.ref.name, x.outcome, x.reason])).toEqual([
      ["VirtualMachinePool", "*", "*", "Failed", "ServerError"],
      ["VirtualMachineInstanceReplicaSet", ns, "needs-vmis", "Acted", "Acted"],
    ]);
  });

  it("an object the functions cannot read fails the pools of its namespace only", async () => {
    await kube.create("VirtualMachinePool", poolBody(ns, "beside", 1) as never);
    const other = `${ns}-b`;
    createNamespace(other);
    await kube.create("VirtualMachinePool", poolBody(other, "elsewhere", 1) as never);
    // A VM whose labels are not a string map (stored directly: the API would refuse it).
    await kube.create("VirtualMachine", {
      metadata: { name: "garbled", namespace: ns },
      spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
    } as never);
    const vm = env.cluster.store.get(VMS, ns, "garbled")?.obj;
    if (!vm) throw new Error("vm missing");
    env.cluster.store.put(VMS, { ...vm, metadata: { ...vm.metadata, labels: { a: 1 } as never } });
    const results = (await r.tick()).filter((x) => x.ref.namespace === ns || x.ref.namespace === other);
    const outcome = new Map(results.map((x) => [x.ref.name, [x.outcome, x.reason]]));
    expect(outcome.get("beside")).toEqual(["Failed", "MalformedObject"]);
    expect(results.find((x) => x.ref.name === "beside")?.message).toMatch(`VirtualMachine ${ns}/garbled`);
    expect(outcome.get("elsewhere")).toEqual(["Acted", "Acted"]);
    env.cluster.store.remove(VMS, ns, "garbled");
  });
});
