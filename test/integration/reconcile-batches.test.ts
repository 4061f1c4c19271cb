/**
 * A scale-down while a pass is creating in slow-start batches (issue 10, defect 9): before each batch of child
 * creates the pass reads the owner again, and issues only what that read's `spec.replicas` still allows. The
 * promise checked here, per create: children counted when the pass planned + creates issued before it + 1 ≤
 * `spec.replicas` as read before its batch (so at most one batch earlier than the create); and once the spec
 * has dropped, only creates of the batch already in flight go out before the next read stops the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passDeps } from "../../functions/bootstrap";
import { createKube, type Kube } from "../../shared/kube";
import { type PoolKind, reconcilePool } from "../../shared/reconcile";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";

function poolBody(name: string, replicas: number) {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    metadata: { name, namespace: "default" },
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

function replicaSetBody(name: string, replicas: number) {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { rs: name } },
      template: { metadata: { labels: { rs: name } }, spec: { domain: { devices: {} } } },
    },
  };
}

type Step = { readonly read: number } | { readonly create: string } | { readonly scaled: number };

/**
 * A view of `kube` that records, in order, every read of the owner's desired count and every child create, and
 * runs `before` (awaited) just before child create number `at` goes out.
 */
function recordingKube(kube: Kube, owner: PoolKind, child: string, at: number, before: () => Promise<void>) {
  const steps: Step[] = [];
  let creates = 0;
  const wrap = (inner: Kube): Kube =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property === "withDeadline") return (deadline: number) => wrap(target.withDeadline(deadline));
        if (property === "get") {
          return async (...args: Parameters<Kube["get"]>) => {
            const object = await target.get(...args);
            const replicas = (object as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
            if (args[0] === owner && replicas !== undefined) steps.push({ read: replicas });
            return object;
          };
        }
        if (property === "create") {
          return async (...args: Parameters<Kube["create"]>) => {
            if (args[0] === child) {
              if (++creates === at) await before();
              const meta = (args[1] as { metadata: { name?: string; generateName?: string } }).metadata;
              steps.push({ create: meta.name ?? `${meta.generateName}*` });
            }
            return target.create(...args);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { kube: wrap(kube), steps };
}

/** Each create against the last read before it: counted + creates so far ≤ that read. Returns the violations. */
function violations(steps: readonly Step[], counted: number): string[] {
  const out: string[] = [];
  let last: number | undefined;
  let issued = 0;
  for (const step of steps) {
    if ("read" in step) last = step.read;
    else if ("create" in step) {
      issued++;
      if (last === undefined || counted + issued > last)
        out.push(`create #${issued} (${step.create}) above spec ${last}`);
    }
  }
  return out;
}

describe("creates stop when the desired count drops during a pass", () => {
  let env: TestCluster;
  let admin: Kube;
  let r: Reconciler;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    r = reconciler(env);
  });
  afterAll(async () => env?.close());

  const owned = (resource: string, owner: string) =>
    env.cluster.store
      .list(resource, "default")
      .filter((e) => e.obj.metadata.ownerReferences?.some((o) => o.name === owner)).length;

  it.each([
    ["VirtualMachinePool", "VirtualMachine", "virtualmachines.kubevirt.io", "batched"],
    [
      "VirtualMachineInstanceReplicaSet",
      "VirtualMachineInstance",
      "virtualmachineinstances.kubevirt.io",
      "batched-rs",
    ],
  ] as const)(
    "%s scaled from 30 to 1 while its third batch of %s creates goes out",
    async (kind, child, resource, name) => {
      if (kind === "VirtualMachinePool") await admin.create(kind, poolBody(name, 30) as never);
      else await admin.create(kind, replicaSetBody(name, 30) as never);
      // Batches of 1, 2, 4: the scale-down lands as the first create of the third batch goes out.
      const { kube, steps } = recordingKube(r.runtime.kube, kind, child, 4, async () => {
        await admin.scale(kind, "default", name, 1);
        steps.push({ scaled: 1 });
      });
      const result = await reconcilePool(
        { ...passDeps(r.runtime, `batches-${name}`), kube },
        {
          kind,
          namespace: "default",
          name,
        },
      );

      expect(violations(steps, 0)).toEqual([]);
      // After the scale-down only the create that waited for it (its batch's other three were already out) goes
      // before the next read; that read sees 1 and nothing follows it.
      const after = steps.slice(steps.findIndex((s) => "scaled" in s) + 1);
      const nextRead = after.findIndex((s) => "read" in s);
      expect(after.slice(0, nextRead)).toEqual([{ create: expect.any(String) }]);
      expect(after.slice(nextRead)).toEqual([{ read: 1 }]);
      // The third batch was issued under the read of 30 before it; the read before the fourth saw 1: 23 dropped.
      expect(steps.filter((s) => "create" in s)).toHaveLength(7);
      expect(owned(resource, name)).toBe(7);
      expect(result.outcome).toBe("Acted");
      expect(result.message).toContain("; 23 create(s) dropped (ReplicasDecreased: spec.replicas is 1 now)");
      const dropped = result.actions.filter((a) => a.superseded);
      expect(dropped).toHaveLength(23);
      expect(dropped.every((a) => a.skipped && a.error === "ReplicasDecreased")).toBe(true);

      // The next pass scales in to the spec.
      await reconcilePool(passDeps(r.runtime, `batches-${name}-after`), { kind, namespace: "default", name });
      expect(owned(resource, name)).toBeLessThanOrEqual(1);
    },
  );

  it("without a scale-down every create goes out, each under a fresh read", async () => {
    await admin.create("VirtualMachinePool", poolBody("steady", 12) as never);
    const { kube, steps } = recordingKube(
      r.runtime.kube,
      "VirtualMachinePool",
      "VirtualMachine",
      0,
      async () => {},
    );
    const result = await reconcilePool(
      { ...passDeps(r.runtime, "batches-steady"), kube },
      {
        kind: "VirtualMachinePool",
        namespace: "default",
        name: "steady",
      },
    );
    expect(result).toMatchObject({ outcome: "Acted" });
    expect(violations(steps, 0)).toEqual([]);
    // The pass's two reads (before and under the lease), then batches of 1, 2, 4 and 5 VMs, each after a read.
    const batch = (n: number) => ["read", ...Array<string>(n).fill("create")];
    expect(steps.map((s) => ("read" in s ? "read" : "create"))).toEqual([
      "read",
      "read",
      ...batch(1),
      ...batch(2),
      ...batch(4),
      ...batch(5),
    ]);
    expect(owned("virtualmachines.kubevirt.io", "steady")).toBe(12);
  });
});
