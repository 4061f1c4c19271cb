import { describe, expect, it } from "vitest";
import {
  type PoolAction,
  type PoolPlan,
  type PoolPlanInput,
  planPool,
  Stage,
  seededRandom,
} from "../../shared/planning";
import type { VirtualMachine, VirtualMachinePool, VirtualMachinePoolSpec } from "../../shared/schemas";
import {
  convergedPool,
  NOW,
  NS,
  POOL_FINALIZER,
  POOL_LABEL,
  POOL_NAME,
  POOL_UID,
  type PoolWorld,
  pool,
  poolSpec,
  poolVM,
  REVISION_LABEL,
  readyCondition,
  revisionFor,
  VM_FINALIZER,
  vmiFor,
  vmUid,
} from "../support/kubevirt-fixtures";

type Observed = Partial<Omit<PoolPlanInput, "now" | "random" | "options">> & { pool: VirtualMachinePool };

function plan(world: Observed, burst?: number): PoolPlan {
  return planPool({
    vms: [],
    vmis: [],
    revisions: [revisionFor(world.pool)],
    ...world,
    now: NOW,
    random: seededRandom(7),
    ...(burst === undefined ? {} : { options: { burst } }),
  });
}

const names = (actions: readonly PoolAction[], kind: PoolAction["kind"]): string[] =>
  actions.filter((a) => a.kind === kind).map((a) => a.target.name ?? "");

const ordinalsCreated = (p: PoolPlan): number[] =>
  p.actions.flatMap((a) => (a.kind === "createVM" ? [a.ordinal] : []));

const created = (p: PoolPlan): VirtualMachine[] =>
  p.actions.flatMap((a) => (a.kind === "createVM" ? [a.write.body] : []));

/** A pool with VMs at the given ordinals (owned, ready, current revision). */
function withVMs(
  replicas: number,
  ordinals: number[],
  options: Parameters<typeof poolVM>[2] = {},
): PoolWorld {
  const p = pool({ replicas });
  const vms = ordinals.map((i) => poolVM(p, i, options));
  return { pool: p, vms, vmis: vms.map((vm) => vmiFor(vm)), revisions: [revisionFor(p)] };
}

describe("planPool: naming and gap filling", () => {
  it.each([
    // an empty pool creates the lowest ordinals
    { replicas: 3, existing: [], expected: [0, 1, 2] },
    // upstream "should fill in name gaps": {1,3} plus 3 more gives 0, 2, 4
    { replicas: 5, existing: [1, 3], expected: [0, 2, 4] },
    // no gaps: append after the end
    { replicas: 5, existing: [0, 1, 2], expected: [3, 4] },
    // a single gap in the middle is filled first
    { replicas: 4, existing: [0, 2, 3], expected: [1] },
  ])("replicas $replicas with $existing → creates $expected", ({ replicas, existing, expected }) => {
    expect(ordinalsCreated(plan(withVMs(replicas, existing)))).toEqual(expected);
  });

  it.each([
    // an orphan (owner refs removed) keeps its name taken but is not counted: replacement takes the next ordinal
    { owner: "none" as const, expected: [1, 2, 3] },
    // a VM owned by another pool also blocks its ordinal and is not counted
    { owner: "other" as const, expected: [1, 2, 3] },
  ])("a $owner-owned VM at ordinal 0 blocks the name", ({ owner, expected }) => {
    const p = pool({ replicas: 3 });
    const p0 = plan({ pool: p, vms: [poolVM(p, 0, { owner })] });
    expect(ordinalsCreated(p0)).toEqual(expected);
    // The only write to it: a released orphan loses the pool finalizer (see "lets go of a released VM").
    const touched = p0.actions.filter((a) => a.target.name === `${POOL_NAME}-0`);
    expect(touched.map((a) => (a.kind === "updateVM" ? a.change : a.kind))).toEqual(
      owner === "none" ? ["removeFinalizer"] : [],
    );
  });

  it("a terminating owned VM blocks its ordinal and still counts toward replicas", () => {
    const world = withVMs(3, [0, 1]);
    world.vms.push(poolVM(world.pool, 2, { deleting: true }));
    const p = plan(world);
    expect(ordinalsCreated(p)).toEqual([]);
    expect(p.summary.current).toBe(3);
  });
});

describe("planPool: the VM object a pool creates", () => {
  it("copies template labels and annotations, adds the revision label, owner reference and finalizer", () => {
    const spec = poolSpec();
    spec.virtualMachineTemplate.metadata = {
      labels: { [POOL_LABEL]: POOL_NAME, tier: "web" },
      annotations: { note: "hello" },
      name: "ignored",
    };
    const p = pool({ replicas: 1, spec, generation: 4 });
    const [vm] = created(plan({ pool: p, revisions: [] }));
    const expected = structuredClone(spec.virtualMachineTemplate.spec);
    expected.template.metadata = { labels: { [POOL_LABEL]: POOL_NAME, [REVISION_LABEL]: `${POOL_NAME}-4` } };
    expect(vm).toEqual({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: {
        name: `${POOL_NAME}-0`,
        namespace: NS,
        labels: { [POOL_LABEL]: POOL_NAME, tier: "web", [REVISION_LABEL]: `${POOL_NAME}-4` },
        annotations: { note: "hello" },
        finalizers: [POOL_FINALIZER],
        ownerReferences: [
          {
            apiVersion: "pool.kubevirt.io/v1beta1",
            kind: "VirtualMachinePool",
            name: POOL_NAME,
            uid: POOL_UID,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: expected,
    });
  });

  it("creates the revision <pool>-<generation> first, in an earlier stage, recording the pool spec", () => {
    const p = pool({ replicas: 1, generation: 4 });
    const result = plan({ pool: p, revisions: [] });
    const [first, second] = result.actions;
    expect(first?.kind).toBe("createRevision");
    expect(first?.target.name).toBe(`${POOL_NAME}-4`);
    expect(first?.write).toMatchObject({ verb: "create", body: { revision: 4, data: p.spec } });
    expect(first?.stage).toBeLessThan(second?.stage ?? 0);
  });

  it("reuses an existing revision", () => {
    const result = plan({ pool: pool({ replicas: 1 }) });
    expect(result.actions.map((a) => a.kind)).toEqual(["createVM"]);
  });
});

function volumeSpec(nameGeneration?: VirtualMachinePoolSpec["nameGeneration"]): VirtualMachinePoolSpec {
  const spec = poolSpec();
  spec.virtualMachineTemplate.spec.dataVolumeTemplates = [
    { metadata: { name: "rootdisk" }, spec: { storage: {} } },
  ];
  spec.virtualMachineTemplate.spec.template.spec = {
    volumes: [
      { name: "root", dataVolume: { name: "rootdisk" } },
      { name: "claim", persistentVolumeClaim: { claimName: "rootdisk" } },
      { name: "shared", persistentVolumeClaim: { claimName: "shared-data" } },
      { name: "cm", configMap: { name: "app-config" } },
      { name: "sec", secret: { secretName: "app-secret" } },
      {
        name: "ci",
        cloudInitNoCloud: {
          userDataSecretRef: { name: "user-data" },
          networkDataSecretRef: { name: "net-data" },
        },
      },
      { name: "cd", cloudInitConfigDrive: { userDataSecretRef: { name: "cd-user" } } },
    ],
  };
  if (nameGeneration) spec.nameGeneration = nameGeneration;
  return spec;
}

describe("planPool: DataVolumeTemplate names and nameGeneration", () => {
  const createdAt = (spec: VirtualMachinePoolSpec, existing: number[] = []) => {
    const p = pool({ replicas: existing.length + 1, spec });
    const vms = existing.map((i) => poolVM(p, i));
    return created(plan({ pool: p, vms }))[0];
  };
  const volume = (vm: VirtualMachine | undefined, name: string) =>
    vm?.spec.template.spec?.volumes?.find((v) => v.name === name);

  it.each([
    // DataVolumeTemplate names get the ordinal suffix
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => vm?.spec.dataVolumeTemplates?.[0]?.metadata?.name,
      want: "rootdisk-2",
    },
    // dataVolume volumes follow the renamed template
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => volume(vm, "root")?.dataVolume?.name,
      want: "rootdisk-2",
    },
    // PVC volumes naming a DataVolumeTemplate follow it too
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => volume(vm, "claim")?.persistentVolumeClaim?.claimName,
      want: "rootdisk-2",
    },
    // PVCs that are not DataVolumeTemplates are shared, unchanged
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => volume(vm, "shared")?.persistentVolumeClaim?.claimName,
      want: "shared-data",
    },
    // configMaps are untouched without nameGeneration
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => volume(vm, "cm")?.configMap?.name,
      want: "app-config",
    },
    // secrets are untouched without nameGeneration
    {
      flags: undefined,
      check: (vm?: VirtualMachine) => volume(vm, "sec")?.secret?.secretName,
      want: "app-secret",
    },
    // appendIndexToConfigMapRefs suffixes configMap names
    {
      flags: { appendIndexToConfigMapRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "cm")?.configMap?.name,
      want: "app-config-2",
    },
    // appendIndexToConfigMapRefs leaves secrets alone
    {
      flags: { appendIndexToConfigMapRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "sec")?.secret?.secretName,
      want: "app-secret",
    },
    // appendIndexToSecretRefs suffixes secret volumes
    {
      flags: { appendIndexToSecretRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "sec")?.secret?.secretName,
      want: "app-secret-2",
    },
    // …cloud-init NoCloud user data secrets
    {
      flags: { appendIndexToSecretRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "ci")?.cloudInitNoCloud?.userDataSecretRef?.name,
      want: "user-data-2",
    },
    // …cloud-init NoCloud network data secrets
    {
      flags: { appendIndexToSecretRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "ci")?.cloudInitNoCloud?.networkDataSecretRef?.name,
      want: "net-data-2",
    },
    // …and ConfigDrive user data secrets
    {
      flags: { appendIndexToSecretRefs: true },
      check: (vm?: VirtualMachine) => volume(vm, "cd")?.cloudInitConfigDrive?.userDataSecretRef?.name,
      want: "cd-user-2",
    },
  ])("nameGeneration $flags → $want", ({ flags, check, want }) => {
    expect(check(createdAt(volumeSpec(flags), [0, 1]))).toBe(want);
  });

  it("does not modify the pool template it indexes", () => {
    const spec = volumeSpec({ appendIndexToSecretRefs: true });
    const before = structuredClone(spec);
    createdAt(spec, [0]);
    expect(spec).toEqual(before);
  });
});

function scaleInPool(
  replicas: number,
  count: number,
  scaleInStrategy?: VirtualMachinePoolSpec["scaleInStrategy"],
): PoolWorld {
  const p = pool({ replicas, spec: scaleInStrategy ? { scaleInStrategy } : {} });
  const vms = Array.from({ length: count }, (_, i) =>
    poolVM(p, i, { creationTimestamp: `2025-06-01T10:0${i}:00Z` }),
  );
  return { pool: p, vms, vmis: vms.map((vm) => vmiFor(vm)), revisions: [revisionFor(p)] };
}

const byPolicy = (sortPolicy: string) => ({ proactive: { selectionPolicy: { sortPolicy } } });

describe("planPool: scale-in strategies and sort policies", () => {
  it.each([
    // AscendingOrder deletes the lowest ordinals first
    { strategy: byPolicy("AscendingOrder"), expected: [0, 1] },
    // DescendingOrder deletes the highest ordinals first
    { strategy: byPolicy("DescendingOrder"), expected: [5, 4] },
    // Newest deletes the most recently created first
    { strategy: byPolicy("Newest"), expected: [5, 4] },
    // Oldest deletes the earliest created first
    { strategy: byPolicy("Oldest"), expected: [0, 1] },
  ])("proactive $strategy.proactive.selectionPolicy.sortPolicy", ({ strategy, expected }) => {
    const result = plan(scaleInPool(4, 6, strategy));
    expect(names(result.actions, "deleteVM")).toEqual(expected.map((i) => `${POOL_NAME}-${i}`));
  });

  it.each([
    // no strategy: Random order drawn from the injected source
    { strategy: undefined },
    // proactive without a policy: Random as well
    { strategy: { proactive: {} } },
    // an unknown policy falls back to Random (with a note)
    { strategy: byPolicy("Sideways") },
  ])("random order with $strategy deletes exactly the excess, reproducibly", ({ strategy }) => {
    const world = scaleInPool(4, 10, strategy);
    const a = plan(world);
    const b = plan(world);
    expect(names(a.actions, "deleteVM")).toHaveLength(6);
    expect(a).toEqual(b);
  });

  it("the injected random source decides which VMs go", () => {
    const world = scaleInPool(5, 10);
    const picks = new Set(
      [1, 2, 3, 4, 5].map((seed) =>
        names(planPool({ ...world, now: NOW, random: seededRandom(seed) }).actions, "deleteVM").join(","),
      ),
    );
    expect(picks.size).toBeGreaterThan(1);
  });

  it.each([
    // labelSelector matches VM template labels; only matching VMs are deleted, capped at the match count
    {
      selectors: { labelSelector: { matchLabels: { zone: "a" } } },
      label: (i: number) => ({ zone: i % 2 === 0 ? "a" : "b" }),
      node: () => ({}),
      expected: [0, 2, 4],
    },
    // nodeSelectorRequirementMatcher matches the template nodeSelector
    {
      selectors: { nodeSelectorRequirementMatcher: [{ key: "rack", operator: "In", values: ["r1"] }] },
      label: () => ({}),
      node: (i: number) => ({ rack: i < 2 ? "r1" : "r2" }),
      expected: [0, 1],
    },
    // Gt compares integers
    {
      selectors: { nodeSelectorRequirementMatcher: [{ key: "gen", operator: "Gt", values: ["3"] }] },
      label: () => ({}),
      node: (i: number) => ({ gen: String(i) }),
      expected: [4, 5],
    },
    // both selectors must match
    {
      selectors: {
        labelSelector: { matchLabels: { zone: "a" } },
        nodeSelectorRequirementMatcher: [{ key: "rack", operator: "NotIn", values: ["r2"] }],
      },
      label: (i: number) => ({ zone: i % 2 === 0 ? "a" : "b" }),
      node: (i: number) => ({ rack: i < 3 ? "r1" : "r2" }),
      expected: [0, 2],
    },
  ])("selection-policy selectors $selectors", ({ selectors, label, node, expected }) => {
    const world = scaleInPool(1, 6, {
      proactive: { selectionPolicy: { sortPolicy: "AscendingOrder", selectors } },
    });
    world.vms = world.vms.map((vm, i) => {
      const copy = structuredClone(vm);
      copy.spec.template.metadata = {
        ...copy.spec.template.metadata,
        labels: { ...copy.spec.template.metadata?.labels, ...label(i) },
      };
      copy.spec.template.spec = { ...copy.spec.template.spec, nodeSelector: node(i) };
      return copy;
    });
    expect(names(plan(world).actions, "deleteVM")).toEqual(expected.map((i) => `${POOL_NAME}-${i}`));
  });

  it("an invalid selection-policy operator is a FailedScaleIn sync error", () => {
    const world = scaleInPool(1, 3, {
      proactive: {
        selectionPolicy: { selectors: { nodeSelectorRequirementMatcher: [{ key: "k", operator: "Near" }] } },
      },
    });
    const result = plan(world);
    expect(result.actions).toEqual([]);
    expect(result.syncError?.reason).toBe("FailedScaleIn");
    expect(result.syncError?.message).toMatch(
      /^error during scale in: failed to parse node selector from pool/,
    );
    expect(result.status?.desired.conditions?.[0]).toMatchObject({
      type: "ReplicaFailure",
      reason: "FailedScaleIn",
    });
  });

  it.each([
    // opportunistic waits for VMs to be deleted by other means
    { strategy: { opportunistic: {} }, note: "ScaleInOpportunistic" },
    // unmanaged leaves the excess to the user
    { strategy: { unmanaged: {} }, note: "ScaleInUnmanaged" },
  ])("$note deletes nothing", ({ strategy, note }) => {
    const result = plan(scaleInPool(2, 4, strategy));
    expect(result.actions).toEqual([]);
    expect(result.notes.map((n) => n.reason)).toContain(note);
  });

  it("each scale-in delete is followed by the pool-finalizer removal, in a later stage", () => {
    const result = plan(scaleInPool(2, 3, byPolicy("DescendingOrder")));
    expect(result.actions.map((a) => [a.kind, a.target.name, a.stage])).toEqual([
      ["deleteVM", `${POOL_NAME}-2`, Stage.Apply],
      ["updateVM", `${POOL_NAME}-2`, Stage.Finalize],
    ]);
    expect(result.actions[0]?.write).toEqual({
      verb: "delete",
      preconditions: { uid: vmUid(`${POOL_NAME}-2`) },
    });
    expect(result.actions[1]?.write).toEqual({
      verb: "patch",
      patchType: "json",
      patch: [
        { op: "test", path: "/metadata/uid", value: vmUid(`${POOL_NAME}-2`) },
        { op: "test", path: "/metadata/finalizers", value: [POOL_FINALIZER, VM_FINALIZER] },
        { op: "replace", path: "/metadata/finalizers", value: [VM_FINALIZER] },
      ],
    });
  });
});

describe("planPool: terminating VMs", () => {
  it.each([
    // replicas 3 with one of 3 terminating: nothing created, its pool finalizer is removed so it can go
    { replicas: 3, count: 3, deleting: [2], deletes: 0, creates: 0, finalizers: [2] },
    // replicas 2 with 3 owned, one terminating: the terminating one covers the excess
    { replicas: 2, count: 3, deleting: [2], deletes: 0, creates: 0, finalizers: [2] },
    // replicas 2 with 4 owned, one terminating: one more goes
    { replicas: 2, count: 4, deleting: [3], deletes: 1, creates: 0, finalizers: [3] },
    // replicas 5 with 3 owned, one terminating: only the 2 missing are created, not a replacement
    { replicas: 5, count: 3, deleting: [0], deletes: 0, creates: 2, finalizers: [0] },
  ])(
    "replicas $replicas, $count owned, terminating $deleting",
    ({ replicas, count, deleting, deletes, creates, finalizers }) => {
      const p = pool({ replicas, spec: { scaleInStrategy: byPolicy("AscendingOrder") } });
      const vms = Array.from({ length: count }, (_, i) => poolVM(p, i, { deleting: deleting.includes(i) }));
      const result = plan({ pool: p, vms });
      expect(names(result.actions, "deleteVM")).toHaveLength(deletes);
      expect(names(result.actions, "createVM")).toHaveLength(creates);
      const cleaned = result.actions.filter(
        (a) =>
          a.kind === "updateVM" &&
          a.change === "removeFinalizer" &&
          deleting.some((i) => a.target.name === `${POOL_NAME}-${i}`),
      );
      expect(cleaned.map((a) => a.target.name)).toEqual(finalizers.map((i) => `${POOL_NAME}-${i}`));
    },
  );

  it("unmanaged scale-in leaves the pool finalizer on terminating VMs", () => {
    const p = pool({ replicas: 2, spec: { scaleInStrategy: { unmanaged: {} } } });
    const result = plan({ pool: p, vms: [poolVM(p, 0), poolVM(p, 1, { deleting: true })] });
    expect(result.actions).toEqual([]);
  });

  it("opportunistic scale-in releases a VM the user deleted even while above desired", () => {
    const p = pool({ replicas: 1, spec: { scaleInStrategy: { opportunistic: {} } } });
    const result = plan({ pool: p, vms: [poolVM(p, 0), poolVM(p, 1), poolVM(p, 2, { deleting: true })] });
    expect(result.actions.map((a) => [a.kind, a.target.name])).toEqual([["updateVM", `${POOL_NAME}-2`]]);
  });
});

describe("planPool: state preservation", () => {
  const preserving = (observe: boolean) => {
    const spec = volumeSpec();
    spec.scaleInStrategy = {
      proactive: { statePreservation: "Offline", selectionPolicy: { sortPolicy: "DescendingOrder" } },
    };
    const p = pool({ replicas: 1, spec });
    const vms = [poolVM(p, 0), poolVM(p, 1)];
    const vm = vms[1] as VirtualMachine;
    const owned = (name: string, kind: string) => ({
      apiVersion: "v1",
      kind,
      metadata: {
        name,
        namespace: NS,
        uid: `uid-${kind}-${name}`,
        ownerReferences: [
          {
            apiVersion: "kubevirt.io/v1",
            kind: "VirtualMachine",
            name: vm.metadata.name,
            uid: vm.metadata.uid ?? "",
            controller: true,
          },
        ],
      },
    });
    return plan({
      pool: p,
      vms,
      ...(observe
        ? {
            dataVolumes: [owned("rootdisk", "DataVolume")],
            persistentVolumeClaims: [owned("rootdisk", "PersistentVolumeClaim")],
          }
        : {}),
    });
  };

  it("hands owned DataVolumes and PVCs over before dropping the pool finalizer", () => {
    const result = preserving(true);
    expect(result.actions.map((a) => [a.kind, a.target.kind, a.stage])).toEqual([
      ["deleteVM", "VirtualMachine", Stage.Apply],
      ["releaseVolume", "PersistentVolumeClaim", Stage.Preserve],
      ["releaseVolume", "DataVolume", Stage.Preserve],
      ["updateVM", "VirtualMachine", Stage.Finalize],
    ]);
    expect(result.actions[1]?.write).toMatchObject({
      patch: [
        { op: "test", path: "/metadata/ownerReferences" },
        { op: "replace", path: "/metadata/ownerReferences", value: [] },
      ],
    });
  });

  it("keeps the finalizer (and says why) when volumes were not observed", () => {
    const result = preserving(false);
    expect(result.actions.map((a) => a.kind)).toEqual(["deleteVM"]);
    expect(result.notes.map((n) => n.reason)).toContain("VolumesNotObserved");
  });
});

function updatedWorld(options: {
  template?: (spec: VirtualMachinePoolSpec) => void;
  vmiRevision?: string | null;
  count?: number;
  spec?: Partial<VirtualMachinePoolSpec>;
  vmiReady?: (i: number) => boolean;
  vmReady?: (i: number) => boolean;
}): PoolWorld {
  const old = pool({ replicas: options.count ?? 3, generation: 1, spec: options.spec ?? {} });
  const nextSpec = structuredClone(old.spec);
  options.template?.(nextSpec);
  const next = pool({ replicas: options.count ?? 3, generation: 2, spec: nextSpec });
  // The VMs already carry generation 2; their VMIs still run generation 1.
  const vms = Array.from({ length: options.count ?? 3 }, (_, i) =>
    poolVM(next, i, { ready: options.vmReady?.(i) ?? true }),
  );
  const vmis = vms.map((vm, i) =>
    vmiFor(vm, {
      revision: options.vmiRevision === undefined ? `${POOL_NAME}-1` : options.vmiRevision,
      ready: options.vmiReady?.(i) ?? true,
    }),
  );
  return { pool: next, vms, vmis, revisions: [revisionFor(old, 1, old.spec), revisionFor(next)] };
}

const memory = (size: string) => (spec: VirtualMachinePoolSpec) => {
  const domain = spec.virtualMachineTemplate.spec.template.spec?.domain as {
    resources: { requests: { memory: string } };
  };
  domain.resources.requests.memory = size;
};

describe("planPool: template updates and revisions", () => {
  it("PUTs outdated VMs with the new template, creating the revision first and keeping firmware identity", () => {
    const old = pool({ replicas: 2, generation: 1 });
    const spec = structuredClone(old.spec);
    memory("256Mi")(spec);
    const next = pool({ replicas: 2, generation: 2, spec });
    const vms = [0, 1].map((i) =>
      poolVM(old, i, {
        labels: { [POOL_LABEL]: POOL_NAME, [REVISION_LABEL]: `${POOL_NAME}-1`, extra: "dropped" },
      }),
    );
    const first = vms[0] as VirtualMachine;
    first.spec.template.spec = {
      ...first.spec.template.spec,
      domain: { ...first.spec.template.spec?.domain, firmware: { uuid: "u-0", serial: "s-0" } },
    };
    const result = plan({
      pool: next,
      vms,
      vmis: vms.map((vm) => vmiFor(vm)),
      revisions: [revisionFor(old)],
    });
    expect(result.actions.map((a) => a.kind)).toEqual(["createRevision", "updateVM", "updateVM"]);
    const update = result.actions[1];
    if (update?.kind !== "updateVM" || update.change !== "spec") throw new Error("expected a VM spec update");
    const body = update.write.body;
    expect(body.metadata.labels).toEqual({ [POOL_LABEL]: POOL_NAME, [REVISION_LABEL]: `${POOL_NAME}-2` });
    expect(body.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(body.metadata.ownerReferences).toEqual(first.metadata.ownerReferences);
    expect(body.spec.template.spec?.domain?.firmware).toEqual({ uuid: "u-0", serial: "s-0" });
    expect(body.spec.template.spec?.domain).toHaveProperty("resources", {
      requests: { memory: "256Mi" },
    });
    expect(body.spec.template.metadata?.labels?.[REVISION_LABEL]).toBe(`${POOL_NAME}-2`);
    expect(body.status).toBeUndefined();
    expect(result.events[0]).toEqual({
      type: "Normal",
      reason: "SuccessfulUpdate",
      message: `Updated VM ${NS}/${POOL_NAME}-0`,
    });
  });

  it.each([
    // a VM without the revision label is outdated
    { revision: null as string | null, outdated: true },
    // a VM naming a revision that no longer exists is outdated
    { revision: `${POOL_NAME}-9`, outdated: true },
    // changing only replicas (a new generation with the same template) does not make VMs outdated
    { revision: `${POOL_NAME}-1`, outdated: false },
  ])("VM revision $revision outdated=$outdated", ({ revision, outdated }) => {
    const old = pool({ replicas: 1, generation: 1 });
    const next = pool({ replicas: 1, generation: 2 });
    const vm = poolVM(old, 0, { revision });
    const result = plan({ pool: next, vms: [vm], vmis: [vmiFor(vm)], revisions: [revisionFor(old)] });
    expect(result.actions.some((a) => a.kind === "updateVM")).toBe(outdated);
  });

  it.each([
    // VMI template changed between revisions → restart (delete the VMI)
    { world: () => updatedWorld({ template: memory("1Gi"), count: 1 }), kind: "restartVM" },
    // DataVolumeTemplates changed → delete the VM (foreground) so it is recreated
    {
      world: () =>
        updatedWorld({
          count: 1,
          template: (s) => {
            s.virtualMachineTemplate.spec.dataVolumeTemplates = [{ metadata: { name: "d" }, spec: {} }];
          },
        }),
      kind: "deleteVM",
    },
    // same VMI template under a new revision name → only the VMI revision label is patched
    { world: () => updatedWorld({ count: 1 }), kind: "patchVMILabels" },
    // a VMI without revision label is restarted
    { world: () => updatedWorld({ count: 1, vmiRevision: null }), kind: "restartVM" },
    // a VMI naming a revision that no longer exists is restarted
    { world: () => updatedWorld({ count: 1, vmiRevision: `${POOL_NAME}-0` }), kind: "restartVM" },
  ])("proactive VMI update → $kind", ({ world, kind }) => {
    const w = world();
    const result = plan(w);
    expect(result.actions[0]?.kind).toBe(kind);
    expect(result.events[0]).toEqual({
      type: "Normal",
      reason: "SuccessfulDelete",
      message: `Successfully updated resource ${NS}/${POOL_NAME}-0`,
    });
    if (kind === "deleteVM") {
      expect(result.actions[0]?.write).toMatchObject({ verb: "delete", propagationPolicy: "Foreground" });
      expect(result.actions[1]).toMatchObject({
        kind: "updateVM",
        change: "removeFinalizer",
        stage: Stage.Finalize,
      });
    }
    if (kind === "restartVM") {
      expect(result.actions[0]?.target).toMatchObject({
        kind: "VirtualMachineInstance",
        uid: `vmi-${POOL_NAME}-0`,
      });
    }
    if (kind === "patchVMILabels") {
      const vmi = w.vmis[0];
      expect(result.actions[0]?.write).toEqual({
        verb: "patch",
        patchType: "json",
        patch: [
          { op: "test", path: "/metadata/uid", value: vmi?.metadata.uid },
          { op: "test", path: "/metadata/labels", value: vmi?.metadata.labels },
          {
            op: "replace",
            path: "/metadata/labels",
            value: { ...vmi?.metadata.labels, [REVISION_LABEL]: `${POOL_NAME}-2` },
          },
        ],
      });
    }
  });

  it.each([
    // opportunistic updates only the VMs; running VMIs pick the change up on their next restart
    { updateStrategy: { opportunistic: {} } },
    // unmanaged touches nothing
    { updateStrategy: { unmanaged: {} } },
  ])("$updateStrategy leaves outdated VMIs alone", ({ updateStrategy }) => {
    const result = plan(updatedWorld({ template: memory("1Gi"), spec: { updateStrategy } }));
    expect(result.actions).toEqual([]);
  });

  it.each([
    // default maxUnavailable 100%: all three restart
    { spec: {}, count: 3, unready: [] as number[], restarts: 3 },
    // maxUnavailable 1: one restart, the rest wait (requeue in 3 s)
    { spec: { maxUnavailable: 1 }, count: 3, unready: [], restarts: 1 },
    // "50%" of 4 replicas = 2
    { spec: { maxUnavailable: "50%" }, count: 4, unready: [], restarts: 2 },
    // "10%" of 4 rounds down to 0, and the minimum is 1
    { spec: { maxUnavailable: "10%" }, count: 4, unready: [], restarts: 1 },
    // an unavailable VMI uses up the budget: 2 allowed, 1 already down → 1 (plus the down one, handled first)
    { spec: { maxUnavailable: 2 }, count: 4, unready: [3], restarts: 2 },
  ])(
    "maxUnavailable $spec.maxUnavailable with $count VMs, unready $unready → $restarts restarts",
    ({ spec, count, unready, restarts }) => {
      const result = plan(
        updatedWorld({
          template: memory("1Gi"),
          count,
          spec,
          vmiReady: (i) => !(unready as number[]).includes(i),
          vmReady: (i) => !(unready as number[]).includes(i),
        }),
      );
      expect(names(result.actions, "restartVM")).toHaveLength(restarts);
      for (const i of unready) expect(names(result.actions, "restartVM")).toContain(`${POOL_NAME}-${i}`);
      expect(result.requeueAfterSeconds).toBe(restarts < count ? 3 : undefined);
    },
  );

  it("proactive update order follows its sort policy", () => {
    const result = plan(
      updatedWorld({
        template: memory("1Gi"),
        count: 4,
        spec: {
          maxUnavailable: 2,
          updateStrategy: { proactive: { selectionPolicy: { sortPolicy: "DescendingOrder" } } },
        },
      }),
    );
    expect(names(result.actions, "restartVM")).toEqual([`${POOL_NAME}-3`, `${POOL_NAME}-2`]);
  });

  it("proactive selectors limit both VM and VMI updates", () => {
    const world = updatedWorld({
      template: memory("1Gi"),
      count: 3,
      spec: {
        updateStrategy: {
          proactive: {
            selectionPolicy: {
              selectors: { nodeSelectorRequirementMatcher: [{ key: "canary", operator: "Exists" }] },
            },
          },
        },
      },
    });
    const canary = world.vms[1] as VirtualMachine;
    canary.spec.template.spec = { ...canary.spec.template.spec, nodeSelector: { canary: "yes" } };
    expect(names(plan(world).actions, "restartVM")).toEqual([`${POOL_NAME}-1`]);
  });

  it("an invalid maxUnavailable is a FailedUpdate sync error with a ReplicaFailure condition and Warning event", () => {
    const result = plan(updatedWorld({ template: memory("1Gi"), spec: { maxUnavailable: "lots%" } }));
    const message =
      'error during VMI update: invalid maxUnavailable percentage: strconv.ParseInt: parsing "lots": invalid syntax';
    expect(result.syncError).toEqual({ reason: "FailedUpdate", message });
    expect(result.status?.desired.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        reason: "FailedUpdate",
        message,
        lastProbeTime: null,
        lastTransitionTime: "2025-06-01T12:00:00Z",
      },
    ]);
    expect(result.events).toContainEqual({ type: "Warning", reason: "FailedUpdate", message });
  });

  it.each([
    // an unused revision of this pool is pruned
    { extra: "unused", pruned: [`${POOL_NAME}-5`] },
    // a revision still named by a VMI is kept
    { extra: "vmi", pruned: [] },
    // a revision owned by another pool is not ours to prune
    { extra: "foreign", pruned: [] },
  ])("revision pruning: $extra", ({ extra, pruned }) => {
    const world = convergedPool(2);
    const stale = revisionFor(world.pool, 5);
    if (extra === "foreign")
      stale.metadata.ownerReferences = [
        { apiVersion: "x", kind: "VirtualMachinePool", name: "o", uid: "other" },
      ];
    if (extra === "vmi")
      world.vmis[0] = vmiFor(world.vms[0] as VirtualMachine, { revision: `${POOL_NAME}-5` });
    world.revisions.push(stale);
    const result = plan(world);
    expect(names(result.actions, "deleteRevision")).toEqual(pruned);
  });

  it("does not prune while scaling", () => {
    const world = convergedPool(2);
    world.revisions.push(revisionFor(world.pool, 5));
    world.pool.spec.replicas = 3;
    expect(names(plan(world).actions, "deleteRevision")).toEqual([]);
  });
});

describe("planPool: autohealing", () => {
  const failing = (
    status: VirtualMachine["status"],
    autohealing: VirtualMachinePoolSpec["autohealing"] = {},
  ) => {
    const p = pool({ replicas: 2, spec: { autohealing } });
    return plan({ pool: p, vms: [poolVM(p, 0), poolVM(p, 1, { status })] });
  };
  const crashLoop = (minutesAgo: number) => ({
    printableStatus: "CrashLoopBackOff",
    conditions: [
      readyCondition("False", { lastProbeTime: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString() }),
    ],
  });

  it.each([
    // 3 consecutive start failures meet the default threshold
    { status: { startFailure: { consecutiveFailCount: 3 } }, autohealing: {}, healed: true },
    // 2 failures are below it
    { status: { startFailure: { consecutiveFailCount: 2 } }, autohealing: {}, healed: false },
    // a custom threshold of 2
    {
      status: { startFailure: { consecutiveFailCount: 2 } },
      autohealing: { startUpFailureThreshold: 2 },
      healed: true,
    },
    // CrashLoopBackOff and not ready for 10 minutes (default minimum 5m)
    { status: crashLoop(10), autohealing: {}, healed: true },
    // …for only 1 minute: not yet
    { status: crashLoop(1), autohealing: {}, healed: false },
    // …with minFailingToStartDuration 30s, 1 minute is enough
    { status: crashLoop(1), autohealing: { minFailingToStartDuration: "30s" }, healed: true },
    // ErrImagePull counts as failing to start too
    { status: { ...crashLoop(10), printableStatus: "ErrImagePull" }, autohealing: {}, healed: true },
    // a Running VM is never healed
    { status: { ...crashLoop(10), printableStatus: "Running" }, autohealing: {}, healed: false },
  ])(
    "$status.printableStatus $status.startFailure $autohealing → healed=$healed",
    ({ status, autohealing, healed }) => {
      const result = failing(status, autohealing);
      const deleted = result.actions.filter((a) => a.kind === "deleteVM");
      expect(deleted.map((a) => a.target.name)).toEqual(healed ? [`${POOL_NAME}-1`] : []);
      if (healed) {
        expect(deleted[0]).toMatchObject({ cause: "autoheal" });
        expect(result.events[0]).toEqual({
          type: "Normal",
          reason: "SuccessfulDelete",
          message: `Deleted VM ${NS}/${POOL_NAME}-1 with uid ${vmUid(`${POOL_NAME}-1`)} from pool`,
        });
      }
    },
  );

  it("is off without spec.autohealing", () => {
    const p = pool({ replicas: 2 });
    const result = plan({
      pool: p,
      vms: [poolVM(p, 0), poolVM(p, 1, { status: { startFailure: { consecutiveFailCount: 9 } } })],
    });
    expect(result.actions).toEqual([]);
  });

  it("never deletes failing VMs the pool does not own", () => {
    const p = pool({ replicas: 1, spec: { autohealing: {} } });
    const foreign = poolVM(p, 1, { owner: "other", status: { startFailure: { consecutiveFailCount: 9 } } });
    expect(plan({ pool: p, vms: [poolVM(p, 0), foreign] }).actions).toEqual([]);
    const released = poolVM(p, 1, { owner: "none", status: { startFailure: { consecutiveFailCount: 9 } } });
    const actions = plan({ pool: p, vms: [poolVM(p, 0), released] }).actions;
    expect(actions.map((a) => (a.kind === "updateVM" ? a.change : a.kind))).toEqual(["removeFinalizer"]);
  });

  it("still heals while paused, and the healed VM counts as terminating for scale-in", () => {
    const p = pool({ replicas: 1, spec: { autohealing: {}, paused: true } });
    const result = plan({
      pool: p,
      vms: [poolVM(p, 0), poolVM(p, 1, { status: { startFailure: { consecutiveFailCount: 3 } } })],
    });
    expect(result.actions.map((a) => a.kind)).toEqual(["deleteVM", "updateVM"]);
    const active = pool({ replicas: 1, spec: { autohealing: {} } });
    const scaled = plan({
      pool: active,
      vms: [poolVM(active, 0), poolVM(active, 1, { status: { startFailure: { consecutiveFailCount: 3 } } })],
    });
    expect(names(scaled.actions, "deleteVM")).toEqual([`${POOL_NAME}-1`]);
  });
});

describe("planPool: paused, release, finalizers, deletion", () => {
  it("paused: no scale, a ReplicaPaused condition and a SuccessfulPaused event", () => {
    const p = pool({ replicas: 5, spec: { paused: true } });
    const result = plan({ pool: p, vms: [poolVM(p, 0)] });
    expect(result.actions).toEqual([]);
    expect(result.notes.map((n) => n.reason)).toContain("Paused");
    expect(result.status?.desired.conditions).toEqual([
      {
        type: "ReplicaPaused",
        status: "True",
        reason: "SuccessfulPaused",
        message: "Pool controller is paused",
        lastProbeTime: null,
        lastTransitionTime: "2025-06-01T12:00:00Z",
      },
    ]);
    expect(result.events).toEqual([
      { type: "Normal", reason: "SuccessfulPaused", message: "Pool is paused" },
    ]);
  });

  it("unpausing removes the condition with a SuccessfulResume event", () => {
    const world = convergedPool(1);
    world.pool.status = {
      ...world.pool.status,
      conditions: [
        {
          type: "ReplicaPaused",
          status: "True",
          reason: "SuccessfulPaused",
          message: "Pool controller is paused",
        },
      ],
    };
    const result = plan(world);
    expect(result.status?.changed).toBe(true);
    expect(result.status?.desired.conditions).toBeUndefined();
    expect(result.events).toEqual([
      { type: "Normal", reason: "SuccessfulResume", message: "Pool is unpaused" },
    ]);
  });

  it("releases an owned VM whose labels stopped matching: owner reference and pool finalizer in one guarded patch", () => {
    const p = pool({ replicas: 1 });
    const detached = poolVM(p, 1, { labels: { other: "x" } });
    const result = plan({ pool: p, vms: [poolVM(p, 0), detached] });
    const release = result.actions.find((a) => a.kind === "releaseVM");
    expect(release?.write).toEqual({
      verb: "patch",
      patchType: "json",
      patch: [
        { op: "test", path: "/metadata/uid", value: detached.metadata.uid },
        { op: "test", path: "/metadata/ownerReferences", value: detached.metadata.ownerReferences },
        { op: "replace", path: "/metadata/ownerReferences", value: [] },
        { op: "test", path: "/metadata/finalizers", value: [POOL_FINALIZER, VM_FINALIZER] },
        { op: "replace", path: "/metadata/finalizers", value: [VM_FINALIZER] },
      ],
    });
    expect(result.actions.map((a) => a.kind)).toEqual(["releaseVM"]);
  });

  it("never adopts an orphan, even when its labels match", () => {
    const p = pool({ replicas: 1 });
    const result = plan({ pool: p, vms: [poolVM(p, 0, { owner: "none" })] });
    expect(result.actions.map((a) => [a.kind, a.target.name])).toEqual([
      ["updateVM", `${POOL_NAME}-0`],
      ["createVM", `${POOL_NAME}-1`],
    ]);
    expect(result.status?.desired.replicas).toBeUndefined();
  });

  it("lets go of a released VM (owner reference removed): its pool finalizer goes in one guarded patch", () => {
    const p = pool({ replicas: 1 });
    const released = poolVM(p, 0, { owner: "none" });
    const result = plan({ pool: p, vms: [released, poolVM(p, 1)] });
    expect(result.actions).toHaveLength(1);
    expect(result.actions[0]).toMatchObject({
      kind: "updateVM",
      change: "removeFinalizer",
      target: { name: `${POOL_NAME}-0` },
      write: {
        verb: "patch",
        patchType: "json",
        patch: [
          { op: "test", path: "/metadata/uid", value: released.metadata.uid },
          { op: "test", path: "/metadata/finalizers", value: [POOL_FINALIZER, VM_FINALIZER] },
          { op: "replace", path: "/metadata/finalizers", value: [VM_FINALIZER] },
        ],
      },
    });
    // Once it is gone, or on a VM of another pool, or one that no longer matches: nothing.
    const after = { ...released, metadata: { ...released.metadata, finalizers: [VM_FINALIZER] } };
    expect(plan({ pool: p, vms: [after, poolVM(p, 1)] }).actions).toEqual([]);
    expect(plan({ pool: p, vms: [poolVM(p, 0, { owner: "other" }), poolVM(p, 1)] }).actions).toEqual([]);
    const unmatched = poolVM(p, 0, { owner: "none", labels: { other: "x" } });
    expect(plan({ pool: p, vms: [unmatched, poolVM(p, 1)] }).actions).toEqual([]);
  });

  it("adds the pool finalizer, keeping the pool's other finalizers", () => {
    const p = pool({ replicas: 0, finalizers: ["example.com/keep"] });
    const result = plan({ pool: p });
    expect(result.actions[0]).toMatchObject({
      kind: "addPoolFinalizer",
      write: {
        patch: [
          { op: "test", path: "/metadata/uid", value: POOL_UID },
          { op: "test", path: "/metadata/finalizers", value: ["example.com/keep"] },
          { op: "replace", path: "/metadata/finalizers", value: ["example.com/keep", POOL_FINALIZER] },
        ],
      },
    });
  });

  it("adds the finalizer list when the pool has none, guarded by its resourceVersion", () => {
    const result = plan({ pool: pool({ replicas: 0, finalizers: null }) });
    expect(result.actions[0]?.write).toMatchObject({
      patch: [
        { op: "test", path: "/metadata/uid" },
        { op: "test", path: "/metadata/resourceVersion", value: "1000" },
        { op: "add", path: "/metadata/finalizers", value: [POOL_FINALIZER] },
      ],
    });
  });

  it("pool deletion: finalizers off owned and orphaned matching VMs, then off the pool, then stale revisions; no release", () => {
    const p = pool({ replicas: 3, deleting: true });
    const vms = [
      poolVM(p, 0),
      poolVM(p, 1, { owner: "none" }),
      poolVM(p, 2, { owner: "other" }),
      poolVM(p, 3, { labels: { unrelated: "x" } }),
    ];
    const result = plan({ pool: p, vms, revisions: [revisionFor(p), revisionFor(p, 7)] });
    expect(result.actions.map((a) => [a.kind, a.target.name, a.stage])).toEqual([
      ["updateVM", `${POOL_NAME}-0`, Stage.Apply],
      ["updateVM", `${POOL_NAME}-1`, Stage.Apply],
      ["deleteRevision", `${POOL_NAME}-7`, Stage.Apply],
      ["removePoolFinalizer", POOL_NAME, Stage.Finalize],
    ]);
  });
});

describe("planPool: burst", () => {
  it.each([
    // 300 missing with the default burst: 1 revision + 249 VMs = 250 writes
    { replicas: 300, existing: 0, burst: undefined, creates: 249, deletes: 0 },
    // a burst of 10: 1 revision + 9 VMs
    { replicas: 30, existing: 0, burst: 10, creates: 9, deletes: 0 },
    // scale-in of 300: each delete brings its finalizer removal, so 125 VMs fit in 250 writes
    { replicas: 0, existing: 300, burst: undefined, creates: 0, deletes: 125 },
  ])(
    "replicas $replicas from $existing (burst $burst)",
    ({ replicas, existing, burst, creates, deletes }) => {
      const world = withVMs(
        replicas,
        Array.from({ length: existing }, (_, i) => i),
      );
      if (existing === 0) world.revisions = [];
      const result = plan(world, burst);
      expect(names(result.actions, "createVM")).toHaveLength(creates);
      expect(names(result.actions, "deleteVM")).toHaveLength(deletes);
      expect(result.actions.length).toBeLessThanOrEqual(burst ?? 250);
      expect(result.notes.map((n) => n.reason)).toContain("BurstLimitReached");
      expect(result.requeueAfterSeconds).toBe(1);
    },
  );
});

describe("planPool: status", () => {
  it("a converged pool plans nothing and leaves the status alone", () => {
    const result = plan(convergedPool(3));
    expect(result.actions).toEqual([]);
    expect(result.status?.changed).toBe(false);
    expect(result.notes).toEqual([{ reason: "Converged", message: "3 of 3 VMs, 3 ready: nothing to do" }]);
  });

  it.each([
    // replicas counts owned VMs including terminating ones; readyReplicas those with Ready=True
    {
      vms: (p: VirtualMachinePool) => [
        poolVM(p, 0),
        poolVM(p, 1, { ready: false }),
        poolVM(p, 2, { deleting: true }),
      ],
      want: { replicas: 3, readyReplicas: 2 },
    },
    // zero counts are omitted, as Go's omitempty does
    { vms: () => [], want: {} },
    // orphans are not counted
    {
      vms: (p: VirtualMachinePool) => [poolVM(p, 0, { owner: "none" }), poolVM(p, 1, { ready: false })],
      want: { replicas: 1 },
    },
  ])("counts $want", ({ vms, want }) => {
    const p = pool({ replicas: 3, spec: { paused: true } });
    const result = plan({ pool: p, vms: vms(p) });
    const { conditions: _c, ...counts } = result.status?.desired ?? {};
    expect(counts).toEqual({ ...want, labelSelector: `${POOL_LABEL}=${POOL_NAME}` });
  });

  it("labelSelector is the canonical selector string", () => {
    const spec = poolSpec();
    spec.selector = {
      matchLabels: { [POOL_LABEL]: POOL_NAME },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["web", "api"] },
        { key: "app", operator: "Exists" },
      ],
    };
    spec.virtualMachineTemplate.metadata = { labels: { [POOL_LABEL]: POOL_NAME, tier: "web", app: "x" } };
    const result = plan({ pool: pool({ replicas: 0, spec }) });
    expect(result.status?.desired.labelSelector).toBe(
      "app,kubevirt.io/vmpool=vm-pool-cirros,tier in (api,web)",
    );
  });

  it("a stale ReplicaFailure condition is removed on a clean pass", () => {
    const world = convergedPool(1);
    world.pool.status = {
      ...world.pool.status,
      conditions: [
        {
          type: "ReplicaFailure",
          status: "True",
          reason: "FailedScaleOut",
          message: "error during scale out: boom",
        },
      ],
    };
    const result = plan(world);
    expect(result.status?.changed).toBe(true);
    expect(result.status?.desired.conditions).toBeUndefined();
  });

  it("event messages match upstream", () => {
    const world = withVMs(3, [0]);
    world.vms.push(poolVM(world.pool, 5, { deleting: true }));
    expect(plan(world).events).toEqual([
      { type: "Normal", reason: "SuccessfulCreate", message: `Created VM ${NS}/${POOL_NAME}-1` },
    ]);
    expect(plan(withVMs(1, [0, 1], {})).events).toEqual([
      expect.objectContaining({
        reason: "SuccessfulDelete",
        message: expect.stringMatching(
          /^Deleted VM default\/vm-pool-cirros-\d with uid uid-vm-pool-cirros-\d from pool$/,
        ),
      }),
    ]);
  });

  it("failure reports carry upstream reasons and messages", () => {
    const create = plan({ pool: pool({ replicas: 1 }) }).actions[0];
    expect(create?.onFailure).toEqual({
      event: { reason: "FailedCreate", messagePrefix: "Error creating VM", oncePerPass: true },
      sync: { reason: "FailedScaleOut", messagePrefix: "error during scale out" },
    });
    const del = plan(withVMs(1, [0, 1])).actions.find((a) => a.kind === "deleteVM");
    expect(del?.onFailure).toEqual({
      event: {
        reason: "FailedDelete",
        messagePrefix: `Error deleting virtual machine ${del?.target.namespace}/${del?.target.name}`,
      },
      sync: { reason: "FailedScaleIn", messagePrefix: "error during scale in" },
    });
  });
});

describe("planPool: skipped passes", () => {
  it.each([
    // a selector that does not match the template labels: log only
    { selector: { matchLabels: { other: "x" } }, reason: "SelectorMismatch" },
    // an invalid selector operator
    { selector: { matchExpressions: [{ key: "a", operator: "Near" }] }, reason: "InvalidSelector" },
    // an empty selector would select everything: refused
    { selector: {}, reason: "EmptySelector" },
  ])("$reason", ({ selector, reason }) => {
    const p = pool({ replicas: 3, spec: { selector } });
    const result = plan({ pool: p });
    expect(result.skipped?.reason).toBe(reason);
    expect(result.actions).toEqual([]);
    expect(result.status).toBeUndefined();
    expect(result.events).toEqual([]);
  });
});
