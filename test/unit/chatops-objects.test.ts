/**
 * The Kubernetes objects chat commands read and write, pure: the HPA `autoscale` sends (compared with the body real
 * kubectl 1.33 sent, test/fixtures/protobuf), HPA lookup and summary, the release patch, the audit event, the
 * worker's job schema, pool snapshots and the event list `status` shows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AUDIT_COMPONENT,
  type Autoscaler,
  auditEvent,
  autoscalerManager,
  buildAutoscaler,
  findAutoscaler,
  hasAutoscaleSpec,
  parseChatJob,
  poolOwnerOf,
  recentEvents,
  releasePatch,
  snapshotOf,
  summarizeAutoscaler,
  withAutoscaleSpec,
} from "../../shared/chatops";
import { POOL_FINALIZER } from "../../shared/planning";
import type { VirtualMachine, VirtualMachinePool } from "../../shared/schemas";

const FIXTURES = join(import.meta.dirname, "../fixtures");
const json = <T>(path: string): T => JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as T;

function pool(overrides: Partial<VirtualMachinePool["metadata"]> = {}): VirtualMachinePool {
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name: "web-pool", namespace: "default", uid: "pool-uid", resourceVersion: "7", ...overrides },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      virtualMachineTemplate: { spec: { template: {} } },
    },
    status: {
      replicas: 3,
      readyReplicas: 2,
      conditions: [{ type: "Ready", status: "False", reason: "Waiting" }],
    },
  } as VirtualMachinePool;
}

const web = snapshotOf("VirtualMachinePool", pool());

describe("pool snapshots", () => {
  it("reads desired/current/ready, conditions and identity", () => {
    expect(web).toEqual({
      id: { kind: "VirtualMachinePool", namespace: "default", name: "web-pool" },
      apiVersion: "pool.kubevirt.io/v1beta1",
      uid: "pool-uid",
      resourceVersion: "7",
      desired: 3,
      current: 3,
      ready: 2,
      paused: false,
      deleting: false,
      conditions: [{ type: "Ready", status: "False", reason: "Waiting" }],
      annotations: {},
    });
  });

  it("reads unset replicas as 1, like the controllers", () => {
    const p = pool();
    const unset = { ...p, spec: { ...p.spec, replicas: null }, status: {} };
    expect(snapshotOf("VirtualMachinePool", unset)).toMatchObject({ desired: 1, current: 0, ready: 0 });
  });
});

describe("autoscale", () => {
  it("creates what kubectl autoscale creates (autoscaling/v2, CPU utilization, named after the pool)", () => {
    const kubectlV2 = json<Record<string, unknown>>("hpa/v2-cpu.json");
    const body = buildAutoscaler(web, { minReplicas: 3, maxReplicas: 10, cpuPercent: 50 });
    expect(body).toEqual({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web-pool", namespace: "default" },
      spec: (kubectlV2 as { spec: unknown }).spec,
    });
  });

  const stored = (name: string, target: string, extra: Partial<Autoscaler> = {}): Autoscaler => ({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, namespace: "default", uid: `${name}-uid`, resourceVersion: "1" },
    spec: {
      scaleTargetRef: { apiVersion: "pool.kubevirt.io/v1alpha1", kind: "VirtualMachinePool", name: target },
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
        {
          type: "External",
          external: { metric: { name: "queue" }, target: { type: "AverageValue", averageValue: "5" } },
        },
      ],
    },
    status: {
      desiredReplicas: 4,
      currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 61 } } }],
    },
    ...extra,
  });

  it("finds the HPA targeting the pool at any served version of its group, not others", () => {
    const hpas = [
      stored("other", "other-pool"),
      stored("b-web", "web-pool"),
      stored("a-web", "web-pool"),
      {
        ...stored("rs", "web-pool"),
        spec: {
          ...stored("rs", "web-pool").spec,
          scaleTargetRef: { kind: "VirtualMachineInstanceReplicaSet", name: "web-pool" },
        },
      },
    ];
    expect(findAutoscaler(hpas, web)?.metadata.name).toBe("a-web");
    expect(findAutoscaler([stored("other", "other-pool")], web)).toBeUndefined();
  });

  it("updates bounds and the CPU target in place, keeping the other metrics", () => {
    const updated = withAutoscaleSpec(stored("web", "web-pool"), {
      minReplicas: 2,
      maxReplicas: 8,
      cpuPercent: 70,
    });
    expect(updated.metadata).toEqual(stored("web", "web-pool").metadata);
    expect(updated.spec.minReplicas).toBe(2);
    expect(updated.spec.maxReplicas).toBe(8);
    expect(updated.spec.metrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
      },
      {
        type: "External",
        external: { metric: { name: "queue" }, target: { type: "AverageValue", averageValue: "5" } },
      },
    ]);
    expect(hasAutoscaleSpec(updated, { minReplicas: 2, maxReplicas: 8, cpuPercent: 70 })).toBe(true);
    expect(hasAutoscaleSpec(updated, { minReplicas: 2, maxReplicas: 8, cpuPercent: 71 })).toBe(false);
  });

  it("summarizes bounds (min defaults to 1), CPU target and reading, and the owner", () => {
    expect(summarizeAutoscaler(stored("web", "web-pool"))).toEqual({
      name: "web",
      minReplicas: 1,
      maxReplicas: 10,
      cpuPercent: 50,
      currentCpuPercent: 61,
      desiredReplicas: 4,
    });
    const keda = stored("keda-hpa-web", "web-pool", {
      metadata: {
        name: "keda-hpa-web",
        ownerReferences: [
          { apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", name: "web", uid: "u", controller: true },
        ],
      },
    });
    expect(autoscalerManager(keda)).toBe("ScaledObject web");
    expect(summarizeAutoscaler(keda).managedBy).toBe("ScaledObject web");
  });
});

describe("release", () => {
  const vm = (metadata: Partial<VirtualMachine["metadata"]>): VirtualMachine =>
    ({
      metadata: { name: "web-pool-1", namespace: "default", ...metadata },
      spec: { template: {} },
    }) as VirtualMachine;
  const poolRef = {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    name: "web-pool",
    uid: "p",
    controller: true,
  };
  const otherRef = { apiVersion: "example.com/v1", kind: "Keeper", name: "k", uid: "k" };

  it("finds the owning pool by its controller reference", () => {
    expect(poolOwnerOf(vm({ ownerReferences: [otherRef, poolRef] }))).toEqual(poolRef);
    expect(poolOwnerOf(vm({ ownerReferences: [otherRef] }))).toBeUndefined();
    expect(poolOwnerOf(vm({}))).toBeUndefined();
  });

  it("removes the pool reference and finalizer, keeps the rest, and is conditional on uid and version", () => {
    const patch = releasePatch(
      vm({
        uid: "vm-uid",
        resourceVersion: "42",
        ownerReferences: [poolRef, otherRef],
        finalizers: ["kubevirt.io/virtualMachineControllerFinalize", POOL_FINALIZER],
      }),
    );
    expect(patch).toEqual({
      metadata: {
        uid: "vm-uid",
        resourceVersion: "42",
        ownerReferences: [otherRef],
        finalizers: ["kubevirt.io/virtualMachineControllerFinalize"],
      },
    });
  });

  it("nulls the lists it empties (a merge patch deletes null fields)", () => {
    const patch = releasePatch(
      vm({ uid: "u", resourceVersion: "1", ownerReferences: [poolRef], finalizers: [POOL_FINALIZER] }),
    );
    expect(patch).toEqual({
      metadata: { uid: "u", resourceVersion: "1", ownerReferences: null, finalizers: null },
    });
  });
});

describe("audit events", () => {
  const object = {
    kind: "VirtualMachinePool",
    apiVersion: "pool.kubevirt.io/v1beta1",
    namespace: "default",
    name: "web",
    uid: "u",
  };

  it("name the user and the channel, by name and id, from the chat-ops component", () => {
    expect(
      auditEvent(
        object,
        "ChatOpsScale",
        "Scaled from 3 to 5 replicas",
        { userId: "U1", userName: "alice", channelId: "C1", channelName: "ops" },
        "slack",
      ),
    ).toEqual({
      involvedObject: object,
      type: "Normal",
      reason: "ChatOpsScale",
      message: "Scaled from 3 to 5 replicas by alice (U1) in #ops (C1) via Slack",
      component: AUDIT_COMPONENT,
    });
  });

  it("fall back to ids, and cannot be given extra lines by a crafted name", () => {
    const message = (subject: {
      userId: string;
      userName?: string;
      channelId: string;
      channelName?: string;
    }) => auditEvent(object, "ChatOpsPause", "Paused", subject, "mattermost").message;
    expect(message({ userId: "abc", channelId: "def" })).toBe("Paused by abc in def via Mattermost");
    const forged = message({ userId: "U1", userName: "eve\nNormal ChatOpsScale by admin", channelId: "C1" });
    expect(forged).not.toContain("\n");
    expect(forged).toBe("Paused by eve Normal ChatOpsScale by admin (U1) in C1 via Mattermost");
    expect(message({ userId: "U1", userName: "x".repeat(500), channelId: "C1" }).length).toBeLessThan(120);
  });
});

describe("chat jobs (the worker's input, an EventBridge detail on Lambda)", () => {
  const job = {
    source: "slack",
    text: "scale web 3",
    subject: { userId: "U1", userName: "alice", channelId: "C1", channelName: "ops" },
    responseUrl: "https://hooks.slack.com/commands/1/2/3",
    deliveryKey: "slack-0123abcd",
    receivedAt: "2026-11-21T12:00:00.000Z",
  };

  it("accepts a job the webhook made", () => {
    expect(parseChatJob(job)).toEqual({ ok: true, job });
  });

  it.each([
    // unknown chat source
    [{ ...job, source: "teams" }, "source"],
    // a response URL that is not http(s)
    [{ ...job, responseUrl: "file:///etc/passwd" }, "responseUrl"],
    // a delivery key that would corrupt the annotation
    [{ ...job, deliveryKey: "a b" }, "deliveryKey"],
    // no user
    [{ ...job, subject: { channelId: "C1" } }, "subject.userId"],
    // extra fields are not silently accepted in our own contract
    [{ ...job, admin: true }, "(detail)"],
  ])("rejects %j naming %s", (value, field) => {
    const parsed = parseChatJob(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message.startsWith(field)).toBe(true);
  });
});

describe("recent events", () => {
  const event = (reason: string, lastTimestamp: string | null, creationTimestamp?: string) => ({
    type: "Normal",
    reason,
    message: `${reason} happened`,
    lastTimestamp,
    metadata: { creationTimestamp },
  });

  it("lists the newest ten, oldest first, with ages", () => {
    const now = new Date("2026-11-21T12:00:00Z");
    const events = Array.from({ length: 12 }, (_, i) =>
      event(`R${i}`, new Date(now.getTime() - (12 - i) * 60_000).toISOString()),
    ).reverse();
    const recent = recentEvents(events, now);
    expect(recent.map((e) => e.reason)).toEqual([
      "R2",
      "R3",
      "R4",
      "R5",
      "R6",
      "R7",
      "R8",
      "R9",
      "R10",
      "R11",
    ]);
    expect(recent.at(-1)).toEqual({ type: "Normal", reason: "R11", message: "R11 happened", ageSeconds: 60 });
  });

  it("falls back to the creation time, and leaves the age out when there is no time at all", () => {
    const now = new Date("2026-11-21T12:00:00Z");
    expect(recentEvents([event("A", null, "2026-11-21T11:59:30Z"), event("B", null)], now)).toEqual([
      { type: "Normal", reason: "B", message: "B happened" },
      { type: "Normal", reason: "A", message: "A happened", ageSeconds: 30 },
    ]);
  });
});
