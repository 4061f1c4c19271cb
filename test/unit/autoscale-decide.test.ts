/**
 * The pure side of autoscaling a pool: which HPA governs it, when to stand down, step-scaling annotations, and
 * the decision wiring from signals to `decide`/`decideStep` and on to the HPA status — with the seed document's
 * numbers (`kubectl autoscale vmpool vm-pool-cirros --min=3 --max=10 --cpu-percent=50`, 100% CPU → 6).
 */
import { describe, expect, it } from "vitest";
import {
  AUTOSCALE_ANNOTATION,
  decidePool,
  KEDA_SCALED_OBJECT_LABEL,
  type PoolDecision,
  type Signal,
  STEP_UP_ANNOTATION,
  statusAfter,
} from "../../shared/autoscale";
import { standDownReason, stepConfigOf, targetsPool } from "../../shared/autoscale/policy";
import { EMPTY_HISTORY, type History } from "../../shared/planning/hpa";
import type { PoolRef } from "../../shared/reconcile";
import { normalizeHpa } from "../../shared/schemas";
import type { Json } from "./autoscale-fixtures";

const NOW = new Date("2025-06-01T12:00:00Z");
const POOL: PoolRef = { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" };

/** The HPA `kubectl autoscale vmpool vm-pool-cirros --min=3 --max=10 --cpu-percent=50` creates, read as v2. */
function hpa(edit: (h: Json) => void = () => {}): Json {
  const object: Json = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: {
      name: "vm-pool-cirros",
      namespace: "default",
      uid: "0e6f7a4c-0000-4000-8000-000000000001",
      resourceVersion: "12",
      generation: 1,
      annotations: {},
    },
    spec: {
      scaleTargetRef: {
        apiVersion: "pool.kubevirt.io/v1alpha1",
        kind: "VirtualMachinePool",
        name: "vm-pool-cirros",
      },
      minReplicas: 3,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
    },
  };
  edit(object);
  return object;
}

function signal(overrides: Partial<Signal> = {}): Signal {
  return {
    source: "alertmanager",
    id: "PoolCpuHigh/4f2a7c3b9d1e0a56",
    target: POOL,
    metric: "cpu",
    kind: "observation",
    value: 100,
    deliveryKey: "k1",
    ...overrides,
  };
}

/** A threshold alert without a value. */
function valueless(kind: Signal["kind"]): Signal {
  const { value: _value, ...rest } = signal({ kind });
  return rest;
}

function decidePoolWith(
  signals: Signal[],
  options: { current?: number; history?: History; now?: Date; ceiling?: number; object?: Json } = {},
): PoolDecision {
  const object = options.object ?? hpa();
  return decidePool({
    hpa: object,
    spec: normalizeHpa(object),
    currentReplicas: options.current ?? 3,
    statusReplicas: options.current ?? 3,
    signals,
    history: options.history ?? EMPTY_HISTORY,
    now: options.now ?? NOW,
    ceiling: options.ceiling ?? 1000,
  });
}

function decided(outcome: PoolDecision) {
  if (outcome.kind !== "decided") throw new Error(`expected a decision, got ${outcome.reason}`);
  return outcome.decision;
}

describe("which HPA governs a pool", () => {
  it.each<[string, (h: Json) => void, boolean]>([
    // What kubectl autoscale creates.
    ["the seed HPA", () => {}, true],
    // Any served version of the group.
    [
      "another version of the group",
      (h) => (h.spec.scaleTargetRef.apiVersion = "pool.kubevirt.io/v1beta1"),
      true,
    ],
    // Another API group's kind of the same name is not our pool.
    ["another group", (h) => (h.spec.scaleTargetRef.apiVersion = "example.com/v1"), false],
    // Another pool.
    ["another name", (h) => (h.spec.scaleTargetRef.name = "other"), false],
    // A replica set of the same name.
    ["another kind", (h) => (h.spec.scaleTargetRef.kind = "VirtualMachineInstanceReplicaSet"), false],
  ])("%s", (_case, edit, expected) => {
    expect(targetsPool(hpa(edit), POOL)).toBe(expected);
  });

  it("matches a replica set by the kubevirt.io group", () => {
    const rs = hpa((h) => {
      h.spec.scaleTargetRef = {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstanceReplicaSet",
        name: "rs",
      };
    });
    expect(
      targetsPool(rs, { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "rs" }),
    ).toBe(true);
  });
});

describe("standing down for another autoscaler", () => {
  const WINDOW = 600_000;
  const statusWrite = (manager: string, time: string) => ({
    manager,
    operation: "Update",
    apiVersion: "autoscaling/v2",
    time,
    fieldsType: "FieldsV1",
    fieldsV1: { "f:status": {} },
    subresource: "status",
  });
  it.each<[string, (h: Json) => void, string | undefined]>([
    // Nobody else around.
    ["a plain HPA", () => {}, undefined],
    // KEDA labels the HPA it creates for a ScaledObject.
    ["a KEDA label", (h) => (h.metadata.labels = { [KEDA_SCALED_OBJECT_LABEL]: "web" }), "KedaScaledObject"],
    // …and owns it.
    [
      "a ScaledObject owner",
      (h) =>
        (h.metadata.ownerReferences = [
          { apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", name: "web", uid: "u" },
        ]),
      "KedaScaledObject",
    ],
    // kube-controller-manager wrote the status a minute ago.
    [
      "a recent foreign status write",
      (h) => (h.metadata.managedFields = [statusWrite("kube-controller-manager", "2025-06-01T11:59:00Z")]),
      "HpaControllerActive",
    ],
    // Long ago: the controller is gone (or the HPA was handed to us).
    [
      "an old foreign status write",
      (h) => (h.metadata.managedFields = [statusWrite("kube-controller-manager", "2025-06-01T10:00:00Z")]),
      undefined,
    ],
    // Our own status writes are not foreign.
    [
      "our own status write",
      (h) => (h.metadata.managedFields = [statusWrite("vmpool-functions", "2025-06-01T11:59:00Z")]),
      undefined,
    ],
    // kubectl autoscale writes the object, not its status.
    [
      "a recent non-status write",
      (h) =>
        (h.metadata.managedFields = [
          { ...statusWrite("kubectl-autoscale", "2025-06-01T11:59:00Z"), subresource: undefined },
        ]),
      undefined,
    ],
    // The operator opted out.
    ["an opt-out annotation", (h) => (h.metadata.annotations[AUTOSCALE_ANNOTATION] = "false"), "OptedOut"],
    // The operator told us to take over.
    [
      "an opt-in annotation over KEDA",
      (h) => {
        h.metadata.annotations[AUTOSCALE_ANNOTATION] = "true";
        h.metadata.labels = { [KEDA_SCALED_OBJECT_LABEL]: "web" };
      },
      undefined,
    ],
  ])("%s", (_case, edit, reason) => {
    const note = standDownReason(hpa(edit), "vmpool-functions", NOW, WINDOW);
    expect(note?.reason).toBe(reason);
    if (note) expect(note.message).toContain("default/vm-pool-cirros");
  });
});

describe("step-scaling annotations", () => {
  it.each<[string, Record<string, string>, string]>([
    // No step-up: value-less alerts cannot scale this pool.
    ["none", {}, "absent"],
    // Up only.
    ["step-up", { [STEP_UP_ANNOTATION]: "+2" }, "ok"],
    // Up, down and cooldown.
    [
      "all three",
      {
        [STEP_UP_ANNOTATION]: "+50%",
        "vmpool-functions.io/step-down": "-1",
        "vmpool-functions.io/step-cooldown-seconds": "60",
      },
      "ok",
    ],
    // A step-up written as a step-down.
    ["a negative step-up", { [STEP_UP_ANNOTATION]: "-2" }, "invalid"],
    // A cooldown that is not a number.
    [
      "a bad cooldown",
      { [STEP_UP_ANNOTATION]: "+2", "vmpool-functions.io/step-cooldown-seconds": "soon" },
      "invalid",
    ],
  ])("%s", (_case, annotations, kind) => {
    const lookup = stepConfigOf(hpa((h) => (h.metadata.annotations = annotations)));
    expect(lookup.kind).toBe(kind);
    if (lookup.kind === "invalid") expect(lookup.message).toMatch(/^annotation vmpool-functions\.io\/step-/);
  });
});

describe("deciding for a pool", () => {
  it("scales the seed pool from 3 to 6 on 100% CPU (ceil(3 × 100 / 50))", () => {
    const decision = decided(decidePoolWith([signal()]));
    expect(decision).toMatchObject({
      mode: "metrics",
      currentReplicas: 3,
      desiredReplicas: 6,
      changed: true,
      reason: "SuccessfulRescale",
      message: "New size: 6; reason: cpu resource utilization (percentage of request) above target",
    });
    expect(decision.currentMetrics).toEqual([
      { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 100 } } },
    ]);
  });

  it("keeps the size inside the tolerance band", () => {
    const decision = decided(decidePoolWith([signal({ value: 54 })]));
    expect(decision).toMatchObject({ changed: false, desiredReplicas: 3 });
  });

  it("holds a scale-down for the stabilization window, then takes it", () => {
    const up = decided(decidePoolWith([signal()]));
    const low = signal({ value: 10, deliveryKey: "k2" });
    const soon = decided(
      decidePoolWith([low], { current: 6, history: up.history, now: new Date(NOW.getTime() + 60_000) }),
    );
    expect(soon).toMatchObject({ changed: false, desiredReplicas: 6, reason: "ScaleDownStabilized" });
    const later = decided(
      decidePoolWith([low], { current: 6, history: soon.history, now: new Date(NOW.getTime() + 301_000) }),
    );
    // ceil(6 × 10 / 50) = 2, clamped to minReplicas 3.
    expect(later).toMatchObject({ changed: true, desiredReplicas: 3 });
  });

  it("applies the replica ceiling as a lower maxReplicas", () => {
    const decision = decided(decidePoolWith([signal({ value: 400 })], { ceiling: 5 }));
    expect(decision.desiredReplicas).toBe(5);
    expect(decision.conditions.find((c) => c.type === "ScalingLimited")).toMatchObject({
      status: "True",
      reason: "TooManyReplicas",
    });
  });

  it("says so when the HPA has no metric of that name", () => {
    expect(decidePoolWith([signal({ metric: "queue_depth" })])).toEqual({
      kind: "skipped",
      outcome: "Unchanged",
      reason: "MetricNotInPolicy",
      message:
        "HorizontalPodAutoscaler default/vm-pool-cirros has no metric named queue_depth (its metrics: cpu)",
    });
  });

  it("steps up a value-less alert by the step-up annotation", () => {
    const object = hpa((h) => (h.metadata.annotations[STEP_UP_ANNOTATION] = "+2"));
    const decision = decided(decidePoolWith([valueless("firing")], { object }));
    expect(decision).toMatchObject({ mode: "step", desiredReplicas: 5, changed: true });
    expect(decision.events).toEqual([
      { type: "Normal", reason: "SuccessfulRescale", message: "New size: 5; reason: alert firing, step +2" },
    ]);
    expect(decision.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      "AbleToScale=True/SucceededRescale",
      "ScalingActive=True/ValidMetricFound",
      "ScalingLimited=False/DesiredWithinRange",
    ]);
  });

  it.each<[string, Signal["kind"], string, string]>([
    // A firing threshold alert, but no step configured.
    ["firing without step config", "firing", "Unchanged", "NoStepConfig"],
    // A resolved alert needs nothing without step-down.
    ["resolved without step config", "resolved", "Ignored", "Resolved"],
  ])("skips %s", (_case, kind, outcome, reason) => {
    expect(decidePoolWith([valueless(kind)])).toMatchObject({ kind: "skipped", outcome, reason });
  });

  it("decides from the observations when a delivery mixes them with threshold alerts", () => {
    const object = hpa((h) => (h.metadata.annotations[STEP_UP_ANNOTATION] = "+1"));
    const decision = decided(decidePoolWith([valueless("firing"), signal()], { object }));
    expect(decision).toMatchObject({ mode: "metrics", desiredReplicas: 6 });
  });
});

describe("the HPA status after a decision", () => {
  it("carries counts, metrics, last scale time and merged conditions", () => {
    const object = hpa((h) => {
      h.metadata.generation = 4;
      h.status = {
        conditions: [
          {
            type: "AbleToScale",
            status: "True",
            reason: "ReadyForNewScale",
            message: "recommended size matches current size",
            lastTransitionTime: "2025-06-01T10:00:00Z",
          },
        ],
      };
    });
    const decision = decided(decidePoolWith([signal()], { object }));
    const status = statusAfter(object, decision, decision.conditions, NOW);
    expect(status).toMatchObject({
      observedGeneration: 4,
      currentReplicas: 3,
      desiredReplicas: 6,
      lastScaleTime: "2025-06-01T12:00:00Z",
      currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 100 } } }],
    });
    // AbleToScale stayed True: its transition time is kept; new types are stamped now.
    expect(status.conditions?.map((c) => [c.type, c.reason, c.lastTransitionTime])).toEqual([
      ["AbleToScale", "SucceededRescale", "2025-06-01T10:00:00Z"],
      ["ScalingActive", "ValidMetricFound", "2025-06-01T12:00:00Z"],
      ["ScalingLimited", "DesiredWithinRange", "2025-06-01T12:00:00Z"],
    ]);
  });
});
