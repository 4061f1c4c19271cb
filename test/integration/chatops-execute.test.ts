/**
 * The chat-ops use case (`executeText` over `kubeChatopsPort`) against the embedded and the real control plane,
 * as the functions' own identity (the test's setup writes as admin): every command's
 * effect on the cluster, the limits (HPA bounds, the configured ceiling, the rule's maxReplicas), the audit
 * events, conditional writes under concurrency, de-duplication of a delivery, and the HPA `autoscale` writes
 * compared with what `kubectl autoscale` sends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIT_COMPONENT,
  type ChatSubject,
  DELIVERIES_ANNOTATION,
  devAllowAllPolicy,
  type ExecuteContext,
  executeText,
  kubeChatopsPort,
  loadPolicy,
  type PoolId,
} from "../../shared/chatops";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { POOL_FINALIZER, seededRandom } from "../../shared/planning";
import { reconcilePool } from "../../shared/reconcile";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { ALICE, createSeedPool } from "./chatops-support";

const log = logger("chatops-test");
const NS = "default";

describeClusters("executing chat commands", (kind) => {
  let env: SuiteCluster;
  let kube: Kube;
  /** The test's own setup writes: what an operator would do with kubectl. */
  let admin: Kube;
  const reconciles: Array<{ pool: PoolId; reason: string }> = [];

  function ctx(overrides: Partial<ExecuteContext> = {}): ExecuteContext {
    return {
      port: kubeChatopsPort(kube, { log, now: () => new Date(), random: seededRandom(3) }),
      policy: devAllowAllPolicy(),
      subject: ALICE,
      source: "slack",
      defaultNamespace: NS,
      replicaCeiling: 1000,
      now: () => new Date(),
      log,
      requestReconcile: async (pool, reason) => {
        reconciles.push({ pool, reason });
      },
      ...overrides,
    };
  }

  const run = (text: string, overrides: Partial<ExecuteContext> = {}) => executeText(text, ctx(overrides));
  const pool = (name: string) => kube.get("VirtualMachinePool", NS, name);
  const auditEvents = async (name: string) =>
    (
      await kube.list("Event", {
        namespace: NS,
        fieldSelector: `involvedObject.name=${name},source=${AUDIT_COMPONENT}`,
      })
    ).map((e) => `${e.reason}: ${e.message}`);

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { enabled: false } });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig });
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig });
    for (const name of ["scaler", "pauser", "autoscaled", "keda-owned", "released", "twin", "planned"]) {
      await createSeedPool(admin, name);
    }
    await admin.create("VirtualMachineInstanceReplicaSet", {
      metadata: { name: "twin", namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { myvmi: "twin" } },
        template: { metadata: { labels: { myvmi: "twin" } }, spec: { domain: { devices: {} } } },
      },
    });
  });
  afterAll(async () => env?.close());

  describe("reads", () => {
    it("list shows both kinds in the namespace, sorted, with ready/desired", async () => {
      const { result } = await run("list");
      expect(result.kind).toBe("list");
      if (result.kind !== "list") return;
      expect(result.namespace).toBe(NS);
      expect(result.pools.map((p) => `${p.pool.kind}/${p.pool.name}:${p.ready}/${p.desired}`)).toEqual([
        "VirtualMachinePool/autoscaled:0/3",
        "VirtualMachinePool/keda-owned:0/3",
        "VirtualMachinePool/pauser:0/3",
        "VirtualMachinePool/planned:0/3",
        "VirtualMachinePool/released:0/3",
        "VirtualMachinePool/scaler:0/3",
        "VirtualMachineInstanceReplicaSet/twin:0/2",
        "VirtualMachinePool/twin:0/3",
      ]);
    });

    it("a bare name matching both kinds is ambiguous; the kind prefix picks one", async () => {
      expect((await run("status twin")).result).toEqual({
        kind: "error",
        reason: "AmbiguousPool",
        message: '"twin" matches vmpool/default/twin and vmirs/default/twin; name one of them in full.',
      });
      const { result } = await run("status vmirs/default/twin");
      expect(result).toMatchObject({ kind: "status", desired: 2, current: 0, ready: 0 });
    });

    it("a missing pool names the namespace it looked in", async () => {
      expect((await run("status nope")).result).toMatchObject({ kind: "error", reason: "PoolNotFound" });
    });

    it("plan is the reconcile dry run, with no writes", async () => {
      kube.resetStats();
      const { result } = await run("plan planned");
      expect(result.kind).toBe("plan");
      if (result.kind !== "plan") return;
      expect(result.text).toContain("vmpool/default/planned: DryRun");
      expect(result.text).toMatch(/\+ VirtualMachine\/planned-0 /);
      expect(result.text).toMatch(/desired 3, current 0, ready 0 — plan: \d+ to create/);
      expect(Object.keys(kube.stats().byVerb).sort()).toEqual(["get", "list"]);
      expect(
        await kube.list("VirtualMachine", { namespace: NS, labelSelector: "kubevirt.io/vmpool=planned" }),
      ).toEqual([]);
    });
  });

  describe("scale", () => {
    it("sets spec.replicas, audits the change naming the user, and asks for a reconcile", async () => {
      reconciles.length = 0;
      const outcome = await run("scale scaler 5");
      expect(outcome.result).toEqual({
        kind: "scaled",
        pool: { kind: "VirtualMachinePool", namespace: NS, name: "scaler" },
        from: 3,
        to: 5,
        by: { userId: ALICE.userId, userName: "alice" },
      });
      expect((await pool("scaler"))?.spec.replicas).toBe(5);
      expect(await auditEvents("scaler")).toEqual([
        "ChatOpsScale: Scaled from 3 to 5 replicas by alice (U2147483697) in #ops (C2147483705) via Slack",
      ]);
      expect(reconciles).toEqual([
        { pool: { kind: "VirtualMachinePool", namespace: NS, name: "scaler" }, reason: "ChatOpsScale" },
      ]);
    });

    it("relative changes apply to the current count and clamp at zero with a note", async () => {
      expect((await run("scale default/scaler +2")).result).toMatchObject({ from: 5, to: 7 });
      expect((await run("scale scaler -100")).result).toMatchObject({
        from: 7,
        to: 0,
        note: "-100 from 7 stops at 0.",
      });
      expect((await pool("scaler"))?.spec.replicas).toBe(0);
    });

    it("the same count again writes nothing", async () => {
      kube.resetStats();
      expect((await run("scale scaler 0")).result).toMatchObject({ kind: "scaled", from: 0, to: 0 });
      expect(kube.stats().byVerb.patch ?? 0).toBe(0);
    });

    it("two relative scales at once both count (a 409 re-reads and re-decides)", async () => {
      await run("scale scaler 3");
      const outcomes = await Promise.all(
        ["+1", "+1", "+1", "+1"].map((delta, i) =>
          run(`scale scaler ${delta}`, { deliveryKey: `race-${i}` }),
        ),
      );
      expect(outcomes.every((o) => o.result.kind === "scaled")).toBe(true);
      expect((await pool("scaler"))?.spec.replicas).toBe(7);
    });

    it("a delivery already run is recognised and not run again", async () => {
      const first = await run("scale scaler +1", { deliveryKey: "slack-once" });
      expect(first.duplicate).toBeUndefined();
      const again = await run("scale scaler +1", { deliveryKey: "slack-once" });
      expect(again).toMatchObject({ duplicate: true, result: { reason: "DuplicateDelivery" } });
      const after = await pool("scaler");
      expect(after?.spec.replicas).toBe(8);
      expect(after?.metadata.annotations?.[DELIVERIES_ANNOTATION]).toMatch(/(^| )slack-once@\d+$/);
    });

    it.each([
      // above VMPOOL_MAX_REPLICAS
      [
        "scale scaler 11",
        { replicaCeiling: 10 },
        "AboveReplicaCeiling",
        /above the configured ceiling of 10/,
      ],
      // a relative change past the rule's maxReplicas, known only after reading the count
      [
        "scale scaler +50",
        {
          policy: loadPolicy(
            `rules: [{users: ["*"], namespaces: ["*"], verbs: [scale, read], maxReplicas: 20}]`,
            "t",
          ),
        },
        "ReplicasAboveCeiling",
        /may go up to 20 replicas/,
      ],
    ])("refuses %s with the reason and writes nothing", async (text, overrides, reason, message) => {
      kube.resetStats();
      const { result } = await run(text, overrides);
      expect(result).toMatchObject({ kind: "refused", reason, message: expect.stringMatching(message) });
      expect(kube.stats().byVerb.patch ?? 0).toBe(0);
    });

    it("a failing reconcile request does not turn a done scale into an error", async () => {
      const { result } = await run("scale scaler 2", {
        requestReconcile: () => Promise.reject(new Error("bus down")),
      });
      expect(result).toMatchObject({ kind: "scaled", to: 2 });
    });
  });

  describe("pause and resume", () => {
    it("merge-patch spec.paused, audit both, and say so when nothing changes", async () => {
      expect((await run("pause pauser")).result).toMatchObject({ kind: "paused" });
      expect((await pool("pauser"))?.spec.paused).toBe(true);
      expect((await run("pause pauser")).result).toMatchObject({ kind: "paused", unchanged: true });
      expect((await run("resume vmpool/default/pauser")).result).toMatchObject({ kind: "resumed" });
      expect((await pool("pauser"))?.spec.paused).toBe(false);
      expect((await auditEvents("pauser")).map((e) => e.split(" by ")[0])).toEqual([
        "ChatOpsPause: Paused",
        "ChatOpsResume: Resumed",
      ]);
    });
  });

  describe("autoscale", () => {
    it("creates the HPA kubectl autoscale would (autoscaling/v2, target at the pool's served version)", async () => {
      expect((await run("autoscale autoscaled --min 2 --max 6 --cpu-percent 50")).result).toMatchObject({
        kind: "autoscaleSet",
        minReplicas: 2,
        maxReplicas: 6,
        cpuPercent: 50,
      });
      const hpa = await kube.get("HorizontalPodAutoscaler", NS, "autoscaled");
      expect(hpa?.apiVersion).toBe("autoscaling/v2");
      expect(hpa?.spec).toEqual({
        scaleTargetRef: {
          apiVersion: "pool.kubevirt.io/v1beta1",
          kind: "VirtualMachinePool",
          name: "autoscaled",
        },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
          },
        ],
      });
      expect(await auditEvents("autoscaled")).toEqual([
        "ChatOpsAutoscale: Created HorizontalPodAutoscaler autoscaled for 2..6 replicas at 50% CPU by alice (U2147483697) in #ops (C2147483705) via Slack",
      ]);
    });

    it("status shows the HPA; scale outside its bounds is refused, inside is allowed with a note", async () => {
      const status = await run("status autoscaled");
      expect(status.result).toMatchObject({
        kind: "status",
        autoscaler: { name: "autoscaled", minReplicas: 2, maxReplicas: 6, cpuPercent: 50 },
      });
      expect((await run("scale autoscaled 9")).result).toMatchObject({
        kind: "refused",
        reason: "OutsideAutoscalerBounds",
        message: expect.stringContaining("keeps vmpool/default/autoscaled between 2 and 6 replicas"),
      });
      expect((await run("scale autoscaled 1")).result).toMatchObject({ kind: "refused" });
      expect((await run("scale autoscaled 4")).result).toMatchObject({
        kind: "scaled",
        to: 4,
        note: expect.stringContaining("may change the count again"),
      });
    });

    it("updates the existing HPA in place, keeping its other metrics", async () => {
      const hpa = await kube.get("HorizontalPodAutoscaler", NS, "autoscaled");
      if (!hpa) throw new Error("no HPA");
      await admin.replace("HorizontalPodAutoscaler", {
        ...hpa,
        spec: {
          ...hpa.spec,
          metrics: [
            ...(hpa.spec.metrics ?? []),
            {
              type: "Resource",
              resource: { name: "memory", target: { type: "AverageValue", averageValue: "1Gi" } },
            },
          ],
        },
      });
      await run("autoscale autoscaled --max 8");
      const updated = await kube.get("HorizontalPodAutoscaler", NS, "autoscaled");
      expect(updated?.spec.minReplicas).toBe(1);
      expect(updated?.spec.maxReplicas).toBe(8);
      expect(updated?.spec.metrics?.map((m) => (m.type === "Resource" ? m.resource.name : m.type))).toEqual([
        "cpu",
        "memory",
      ]);
      expect(updated?.metadata.uid).toBe(hpa.metadata.uid);
    });

    it("off deletes it; off again says there is none", async () => {
      expect((await run("autoscale autoscaled off")).result).toMatchObject({ kind: "autoscaleOff" });
      expect(await kube.get("HorizontalPodAutoscaler", NS, "autoscaled")).toBeUndefined();
      expect((await run("autoscale autoscaled off")).result).toMatchObject({
        kind: "error",
        reason: "NoAutoscaler",
      });
    });

    it("an HPA owned by another controller (KEDA) is neither changed nor deleted", async () => {
      // The local cluster serves no KEDA kinds and its GC deletes dependents of missing owners, tracking owners by
      // uid: a live Lease's uid stands in for the ScaledObject's.
      const standIn = await admin.create("Lease", {
        metadata: { name: "scaledobject-stand-in", namespace: NS },
        spec: {},
      });
      await admin.create("HorizontalPodAutoscaler", {
        metadata: {
          name: "keda-hpa-keda-owned",
          namespace: NS,
          ownerReferences: [
            {
              apiVersion: "keda.sh/v1alpha1",
              kind: "ScaledObject",
              name: "keda-owned",
              uid: standIn.metadata.uid ?? "",
              controller: true,
            },
          ],
        },
        spec: {
          scaleTargetRef: {
            apiVersion: "pool.kubevirt.io/v1alpha1",
            kind: "VirtualMachinePool",
            name: "keda-owned",
          },
          minReplicas: 1,
          maxReplicas: 5,
        },
      });
      kube.resetStats();
      for (const text of ["autoscale keda-owned --max 9", "autoscale keda-owned off"]) {
        expect((await run(text)).result).toMatchObject({
          kind: "refused",
          reason: "ManagedElsewhere",
          message: expect.stringContaining("belongs to ScaledObject keda-owned"),
        });
      }
      expect(Object.keys(kube.stats().byVerb).sort()).toEqual(["get", "list"]);
      expect((await run("status keda-owned")).result).toMatchObject({
        autoscaler: { name: "keda-hpa-keda-owned", managedBy: "ScaledObject keda-owned" },
      });
    });
  });

  describe("release", () => {
    it("detaches the VM: owner references and the pool finalizer go, other finalizers stay", async () => {
      await reconcilePool(
        { kube, log, now: () => new Date(), random: seededRandom(1), holder: "test" },
        { kind: "VirtualMachinePool", namespace: NS, name: "released" },
      );
      const vm = await kube.get("VirtualMachine", NS, "released-1");
      expect(vm?.metadata.ownerReferences?.[0]?.name).toBe("released");
      await admin.patch(
        "VirtualMachine",
        NS,
        "released-1",
        {
          metadata: {
            finalizers: [...(vm?.metadata.finalizers ?? []), "example.com/keep", POOL_FINALIZER].filter(
              (f, i, all) => all.indexOf(f) === i,
            ),
          },
        },
        "merge",
      );
      reconciles.length = 0;
      const { result } = await run("release released-1");
      expect(result).toMatchObject({
        kind: "released",
        vm: { namespace: NS, name: "released-1" },
        pool: { kind: "VirtualMachinePool", namespace: NS, name: "released" },
      });
      const after = await kube.get("VirtualMachine", NS, "released-1");
      expect(after?.metadata.ownerReferences ?? []).toEqual([]);
      expect(after?.metadata.finalizers).toContain("example.com/keep");
      expect(after?.metadata.finalizers ?? []).not.toContain(POOL_FINALIZER);
      expect(await auditEvents("released")).toContainEqual(
        expect.stringMatching(/^ChatOpsRelease: Released VirtualMachine released-1 from the pool by alice/),
      );
      expect(reconciles).toEqual([
        { pool: { kind: "VirtualMachinePool", namespace: NS, name: "released" }, reason: "ChatOpsRelease" },
      ]);
    });

    it.each([
      // the VM was just released: it no longer belongs to a pool
      ["released-1", "NotInPool"],
      // no such VM
      ["no-such-vm", "VirtualMachineNotFound"],
    ])("release %s → %s, with no write", async (name, reason) => {
      kube.resetStats();
      expect((await run(`release ${name}`)).result).toMatchObject({ kind: "error", reason });
      expect(Object.keys(kube.stats().byVerb).sort()).toEqual(["get"]);
    });
  });

  describe("authorization inside the use case", () => {
    const reader: ChatSubject = { userId: "U0READER", channelId: "C1" };
    const policy = loadPolicy(`rules: [{users: [U0READER], namespaces: [default], verbs: [read]}]`, "t");

    it.each([
      "scale scaler 1",
      "pause scaler",
      "autoscale scaler --max 3",
      "autoscale scaler off",
      "release released-0",
    ])("refuses %s to a reader before reading anything", async (text) => {
      kube.resetStats();
      const { result } = await run(text, { subject: reader, policy });
      expect(result).toMatchObject({ kind: "refused", reason: "NotAuthorized" });
      expect(kube.stats().total).toBe(0);
    });

    it("lets the reader read", async () => {
      expect((await run("status scaler", { subject: reader, policy })).result.kind).toBe("status");
    });
  });
});
