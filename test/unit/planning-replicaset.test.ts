import { describe, expect, it } from "vitest";
import { planReplicaSet, type ReplicaSetAction, type ReplicaSetPlan, Stage } from "../../shared/planning";
import type { VirtualMachineInstance, VirtualMachineInstanceReplicaSet } from "../../shared/schemas";
import { NOW, NS, RS_NAME, RS_UID, replicaSet, rsVMI } from "../support/kubevirt-fixtures";

function plan(
  rs: VirtualMachineInstanceReplicaSet,
  vmis: VirtualMachineInstance[] = [],
  burst?: number,
): ReplicaSetPlan {
  return planReplicaSet({
    replicaSet: rs,
    vmis,
    now: NOW,
    ...(burst === undefined ? {} : { options: { burst } }),
  });
}

const count = (actions: readonly ReplicaSetAction[], kind: ReplicaSetAction["kind"]): number =>
  actions.filter((a) => a.kind === kind).length;

const targets = (actions: readonly ReplicaSetAction[], kind: ReplicaSetAction["kind"]): string[] =>
  actions.filter((a) => a.kind === kind).map((a) => a.target.name ?? "");

const converged = (n: number, extra: Parameters<typeof replicaSet>[0] = {}) =>
  replicaSet({
    replicas: n,
    status:
      n === 0
        ? { labelSelector: "myvmi=myvmi" }
        : { replicas: n, readyReplicas: n, labelSelector: "myvmi=myvmi" },
    ...extra,
  });

describe("planReplicaSet: scaling", () => {
  it.each([
    // the seed example: 2 replicas from nothing → 2 creates
    { replicas: 2, vmis: [], creates: 2, deletes: 0 },
    // nil replicas means 1
    { replicas: null, vmis: [], creates: 1, deletes: 0 },
    // negative replicas are treated as 0
    { replicas: -3, vmis: ["a"], creates: 0, deletes: 1 },
    // 5 from 2 → 3 creates
    { replicas: 5, vmis: ["a", "b"], creates: 3, deletes: 0 },
    // 1 from 3 → 2 deletes, in listing order
    { replicas: 1, vmis: ["a", "b", "c"], creates: 0, deletes: 2 },
    // at the desired count nothing changes
    { replicas: 2, vmis: ["a", "b"], creates: 0, deletes: 0 },
  ])("replicas $replicas with $vmis", ({ replicas, vmis, creates, deletes }) => {
    const result = plan(
      replicaSet({ replicas }),
      vmis.map((s) => rsVMI(s)),
    );
    expect(count(result.actions, "createVMI")).toBe(creates);
    expect(count(result.actions, "deleteVMI")).toBe(deletes);
    if (deletes > 0)
      expect(targets(result.actions, "deleteVMI")).toEqual(
        vmis.slice(0, deletes).map((s) => `${RS_NAME}${s}`),
      );
  });

  it("creates with generateName = the replica set name (no dash), template labels and a controller reference", () => {
    const result = plan(replicaSet({ replicas: 1 }));
    const create = result.actions[0];
    expect(create?.target).toEqual({
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      namespace: NS,
    });
    expect(create?.write).toEqual({
      verb: "create",
      body: {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        metadata: {
          generateName: RS_NAME,
          namespace: NS,
          labels: { myvmi: "myvmi" },
          ownerReferences: [
            {
              apiVersion: "kubevirt.io/v1",
              kind: "VirtualMachineInstanceReplicaSet",
              name: RS_NAME,
              uid: RS_UID,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: replicaSet().spec.template.spec,
      },
    });
  });

  it("uses the template's name as the generateName base when set", () => {
    const create = plan(replicaSet({ replicas: 1, templateName: "test" })).actions[0];
    const body = create?.write.verb === "create" ? create.write.body : {};
    expect(body).toMatchObject({ metadata: { generateName: "test" } });
    expect(body.metadata).not.toHaveProperty("name");
  });

  it("never creates past the burst", () => {
    const result = plan(replicaSet({ replicas: 1000 }));
    expect(count(result.actions, "createVMI")).toBe(250);
    expect(result.notes.map((n) => n.reason)).toContain("BurstLimitReached");
    expect(plan(replicaSet({ replicas: 1000 }), [], 7).actions).toHaveLength(7);
  });
});

describe("planReplicaSet: finished and terminating VMIs", () => {
  it.each([
    // a Failed VMI is replaced and deleted in the same pass
    { vmis: [rsVMI("a"), rsVMI("b", { phase: "Failed" })], creates: 1, deleted: ["b"] },
    // a Succeeded one too
    { vmis: [rsVMI("a"), rsVMI("b", { phase: "Succeeded" })], creates: 1, deleted: ["b"] },
    // a VMI whose pod is terminating is deleted but holds its slot until gone (no overshoot)
    { vmis: [rsVMI("a"), rsVMI("b", { podTerminating: true })], creates: 0, deleted: ["b"] },
    // a VMI already being deleted holds its slot until it is final or gone
    { vmis: [rsVMI("a"), rsVMI("b", { deleting: true })], creates: 0, deleted: [] },
    // a deleting VMI that already finished frees its slot
    { vmis: [rsVMI("a"), rsVMI("b", { deleting: true, phase: "Failed" })], creates: 1, deleted: [] },
    // phase Unknown counts as active
    { vmis: [rsVMI("a"), rsVMI("b", { phase: "Unknown" })], creates: 0, deleted: [] },
  ])(
    "$vmis.1.metadata.name $vmis.1.status.phase → creates $creates, deletes $deleted",
    ({ vmis, creates, deleted }) => {
      const result = plan(replicaSet({ replicas: 2 }), vmis);
      expect(count(result.actions, "createVMI")).toBe(creates);
      expect(targets(result.actions, "deleteVMI")).toEqual(deleted.map((s) => `${RS_NAME}${s}`));
    },
  );

  it("cleans finished VMIs only after the scale step (later stage)", () => {
    const result = plan(replicaSet({ replicas: 1 }), [rsVMI("b", { phase: "Failed" })]);
    expect(result.actions.map((a) => [a.kind, a.stage])).toEqual([
      ["createVMI", Stage.Apply],
      ["deleteVMI", Stage.Preserve],
    ]);
    expect(result.events).toEqual([
      {
        type: "Normal",
        reason: "SuccessfulCreate",
        message: "Started the virtual machine by creating the new virtual machine instance ",
        appendCreatedName: true,
      },
      {
        type: "Normal",
        reason: "SuccessfulDelete",
        message: `Deleted finished virtual machine: uid-${RS_NAME}b`,
      },
    ]);
  });

  it("notes why replacements wait", () => {
    const result = plan(replicaSet({ replicas: 3 }), [rsVMI("a"), rsVMI("b", { deleting: true })]);
    expect(count(result.actions, "createVMI")).toBe(1);
    expect(result.notes.map((n) => n.reason)).toContain("WaitingForTerminatingVMIs");
  });
});

describe("planReplicaSet: adoption and release", () => {
  it.each([
    // an orphan with matching labels is adopted and counted
    { vmi: rsVMI("o", { owner: "none" }), kind: "adoptVMI", creates: 1 },
    // an orphan that is being deleted is left alone
    { vmi: rsVMI("o", { owner: "none", deleting: true }), kind: undefined, creates: 2 },
    // an orphan with other labels is ignored
    { vmi: rsVMI("o", { owner: "none", labels: { other: "x" } }), kind: undefined, creates: 2 },
    // a VMI controlled by another replica set is ignored
    { vmi: rsVMI("o", { owner: "other" }), kind: undefined, creates: 2 },
    // an owned VMI whose labels stopped matching is released and replaced
    { vmi: rsVMI("o", { labels: { other: "x" } }), kind: "releaseVMI", creates: 2 },
  ])("$kind", ({ vmi, kind, creates }) => {
    const result = plan(replicaSet({ replicas: 2 }), [vmi]);
    const claims = result.actions.filter((a) => a.kind === "adoptVMI" || a.kind === "releaseVMI");
    expect(claims.map((a) => a.kind)).toEqual(kind ? [kind] : []);
    expect(count(result.actions, "createVMI")).toBe(creates);
  });

  it("adoption is a guarded JSON patch adding the controller reference", () => {
    const orphan = rsVMI("o", { owner: "none" });
    const adopt = plan(replicaSet({ replicas: 1 }), [orphan]).actions[0];
    expect(adopt).toMatchObject({ kind: "adoptVMI", stage: Stage.Prepare });
    expect(adopt?.write).toEqual({
      verb: "patch",
      patchType: "json",
      patch: [
        { op: "test", path: "/metadata/uid", value: orphan.metadata.uid },
        { op: "test", path: "/metadata/resourceVersion", value: "600" },
        {
          op: "add",
          path: "/metadata/ownerReferences",
          value: [
            {
              apiVersion: "kubevirt.io/v1",
              kind: "VirtualMachineInstanceReplicaSet",
              name: RS_NAME,
              uid: RS_UID,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
      ],
    });
  });

  it("release removes only this replica set's owner reference", () => {
    const vmi = rsVMI("o", { labels: { other: "x" } });
    vmi.metadata.ownerReferences?.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "keep",
      uid: "keep-uid",
    });
    const release = plan(replicaSet({ replicas: 0 }), [vmi]).actions.find((a) => a.kind === "releaseVMI");
    expect(release?.write).toMatchObject({
      patch: [
        { op: "test", path: "/metadata/uid" },
        { op: "test", path: "/metadata/ownerReferences" },
        {
          op: "replace",
          path: "/metadata/ownerReferences",
          value: [{ apiVersion: "v1", kind: "ConfigMap", name: "keep", uid: "keep-uid" }],
        },
      ],
    });
  });

  it("adopts and releases while paused, but does not scale", () => {
    const result = plan(replicaSet({ replicas: 5, paused: true }), [
      rsVMI("o", { owner: "none" }),
      rsVMI("r", { labels: { other: "x" } }),
    ]);
    expect(result.actions.map((a) => a.kind)).toEqual(["adoptVMI", "releaseVMI"]);
  });

  it("neither adopts nor releases nor scales while being deleted", () => {
    const result = plan(replicaSet({ replicas: 5, deleting: true }), [
      rsVMI("o", { owner: "none" }),
      rsVMI("r", { labels: { other: "x" } }),
    ]);
    expect(result.actions).toEqual([]);
  });
});

describe("planReplicaSet: status, conditions and events", () => {
  it("a converged replica set plans nothing and leaves the status alone", () => {
    const result = plan(converged(2), [rsVMI("a"), rsVMI("b")]);
    expect(result.actions).toEqual([]);
    expect(result.status?.changed).toBe(false);
    expect(result.notes.map((n) => n.reason)).toEqual(["Converged"]);
  });

  it.each([
    // replicas counts active VMIs, readyReplicas those with Ready=True (the pre-action snapshot)
    {
      vmis: [rsVMI("a"), rsVMI("b", { ready: false }), rsVMI("c", { phase: "Failed" })],
      want: { replicas: 2, readyReplicas: 1 },
    },
    // nothing active: zero counts are omitted
    { vmis: [], want: {} },
  ])("counts $want", ({ vmis, want }) => {
    const result = plan(replicaSet({ replicas: 2 }), vmis);
    expect(result.status?.desired).toEqual({ ...want, labelSelector: "myvmi=myvmi" });
    expect(result.status?.changed).toBe(true);
  });

  it("pausing adds ReplicaPaused and a SuccessfulPaused event", () => {
    const result = plan(converged(2, { paused: true }), [rsVMI("a"), rsVMI("b")]);
    expect(result.status?.desired.conditions).toEqual([
      {
        type: "ReplicaPaused",
        status: "True",
        reason: "Paused",
        message: "Controller got paused",
        lastProbeTime: null,
        lastTransitionTime: "2025-06-01T12:00:00Z",
      },
    ]);
    expect(result.events).toEqual([{ type: "Normal", reason: "SuccessfulPaused", message: "Paused" }]);
  });

  it("resuming removes it with a SuccessfulResumed event", () => {
    const rs = converged(2);
    rs.status = {
      ...rs.status,
      conditions: [
        { type: "ReplicaPaused", status: "True", reason: "Paused", message: "Controller got paused" },
      ],
    };
    const result = plan(rs, [rsVMI("a"), rsVMI("b")]);
    expect(result.status?.desired.conditions).toBeUndefined();
    expect(result.events).toEqual([{ type: "Normal", reason: "SuccessfulResumed", message: "Resumed" }]);
  });

  it("event and failure messages match upstream", () => {
    const down = plan(replicaSet({ replicas: 0 }), [rsVMI("a")]).actions[0];
    expect(down?.event).toEqual({
      type: "Normal",
      reason: "SuccessfulDelete",
      message: `Stopped the virtual machine by deleting the virtual machine instance uid-${RS_NAME}a`,
    });
    expect(down?.onFailure).toEqual({
      event: { reason: "FailedDelete", messagePrefix: `Error deleting virtual machine instance ${RS_NAME}a` },
      sync: { reason: "FailedDelete" },
    });
    const up = plan(replicaSet({ replicas: 1 })).actions[0];
    expect(up?.onFailure).toEqual({
      event: { reason: "FailedCreate", messagePrefix: "Error creating virtual machine instance" },
      sync: { reason: "FailedCreate" },
    });
  });

  it("records the observed API version first when the annotation is missing", () => {
    const result = plan(
      replicaSet({ replicas: 0, annotated: false, status: { labelSelector: "myvmi=myvmi" } }),
    );
    expect(result.actions).toHaveLength(1);
    expect(result.actions[0]).toMatchObject({
      kind: "annotateReplicaSet",
      write: {
        patchType: "merge",
        patch: {
          metadata: {
            annotations: {
              "kubevirt.io/latest-observed-api-version": "v1",
              "kubevirt.io/storage-observed-api-version": "v1",
            },
          },
        },
      },
    });
  });

  it.each([
    // a template without labels is an invalid controller spec
    {
      rs: () => ({ ...replicaSet(), spec: { ...replicaSet().spec, template: { spec: {} } } }),
      reason: "InvalidSpec",
    },
    // a selector that does not match the template labels
    {
      rs: () => ({
        ...replicaSet(),
        spec: { ...replicaSet().spec, selector: { matchLabels: { other: "x" } } },
      }),
      reason: "SelectorMismatch",
    },
    // an empty selector would adopt every orphan VMI in the namespace
    {
      rs: () => ({ ...replicaSet(), spec: { ...replicaSet().spec, selector: {} } }),
      reason: "EmptySelector",
    },
  ])("skips: $reason", ({ rs, reason }) => {
    const result = plan(rs() as VirtualMachineInstanceReplicaSet, [rsVMI("o", { owner: "none" })]);
    expect(result.skipped?.reason).toBe(reason);
    expect(result.actions).toEqual([]);
    expect(result.status).toBeUndefined();
  });
});
