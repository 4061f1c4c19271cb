/**
 * The scaling history on both control planes, written by the functions under their own identity: an autoscale
 * decision (the HPA with its metric values), a chat-ops scale (the user), a `kubectl scale` by the real kubectl
 * (attributed through managedFields by the next reconcile pass) and reconcile's creates and deletes, then read
 * back with `npx vmpool history` (table and `-o json`) and the chat-ops `history` command; the log is capped,
 * written conditionally under concurrency, and garbage-collected with its pool.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { autoscale } from "../../shared/autoscale";
import { devAllowAllPolicy, executeText, kubeChatopsPort } from "../../shared/chatops";
import {
  appendHistory,
  type HistoryEntry,
  HistoryEntrySchema,
  historyName,
  readHistory,
} from "../../shared/history";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { seededRandom } from "../../shared/planning";
import { type PoolRef, reconcilePool } from "../../shared/reconcile";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { kubectl, kubectlBinary } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { autoscaleHpa, seedPool } from "./autoscale-support";
import { ALICE } from "./chatops-support";

const log = logger("history-test");
const NS = "default";
const ROOT = join(import.meta.dirname, "../..");
const KUBECTL = kubectlBinary("1.33");
const run = promisify(execFile);

describeClusters("the scaling history", (kind) => {
  let env: SuiteCluster;
  let kube: Kube;
  let admin: Kube;
  const ref: PoolRef = { kind: "VirtualMachinePool", namespace: NS, name: "hist" };
  const pass = () =>
    reconcilePool(
      { kube, log, now: () => new Date(), random: seededRandom(7), holder: `history-test-${kind}` },
      ref,
    );
  const entries = async () => {
    const pool = await kube.get("VirtualMachinePool", NS, ref.name);
    return readHistory(kube, ref, pool?.metadata.uid);
  };

  beforeAll(async () => {
    env = await startSuiteCluster(kind, { simulator: { enabled: false } });
    kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig });
    // The operator's own writes carry their own field manager, as kubectl's do.
    admin = createKube({ kind: "kubeconfig", path: env.kubeconfig }, { fieldManager: "kubectl-create" });
    await admin.create("VirtualMachinePool", seedPool(ref.name, 3) as never);
    await admin.create("HorizontalPodAutoscaler", autoscaleHpa(ref.name, { min: 1, max: 10, cpu: 50 }));
  }, 120_000);
  afterAll(async () => env?.close());

  it("records the first pass's creates, naming who set the count", async () => {
    expect((await pass()).outcome).toBe("Acted");
    const log = await entries();
    expect(log.map((e) => [e.kind, e.decision, e.from, e.to, e.count])).toEqual([
      ["manager", "scaled", 0, 3, undefined],
      ["reconcile", "created", 3, 3, 3],
    ]);
    expect(log[0]?.actor).toBe("kubectl-create");
    expect(log[0]?.reason).toBe("FirstRecorded");
  });

  it("an autoscale decision: the HPA with its metric values", async () => {
    const report = await autoscale({ kube, log, now: () => new Date(), requestReconcile: async () => {} }, [
      {
        source: "metric-push",
        id: "sample-1",
        target: ref,
        metric: "cpu",
        kind: "observation",
        value: 100,
      },
    ]);
    expect(report.results[0]).toMatchObject({ outcome: "Scaled", from: 3, to: 6 });
    const last = (await entries()).at(-1);
    expect(last).toMatchObject({
      kind: "hpa",
      actor: `${NS}/${ref.name}`,
      from: 3,
      to: 6,
      decision: "scaled",
      reason: "SuccessfulRescale",
      metrics: "cpu 100%/50%",
    });
  });

  it("a chat-ops scale: the user, the channel and the chat app", async () => {
    const { result } = await executeText(`scale ${ref.name} 5`, {
      port: kubeChatopsPort(kube, { log, now: () => new Date(), random: seededRandom(3) }),
      policy: devAllowAllPolicy(),
      subject: ALICE,
      source: "slack",
      defaultNamespace: NS,
      replicaCeiling: 1000,
      now: () => new Date(),
      log,
      requestReconcile: async () => {},
    });
    expect(result).toMatchObject({ kind: "scaled", from: 6, to: 5 });
    const last = (await entries()).at(-1);
    expect(last).toMatchObject({
      kind: "chatops",
      from: 6,
      to: 5,
      decision: "scaled",
      reason: "ChatOpsScale",
    });
    expect(last?.actor).toContain(`${ALICE.userName} (${ALICE.userId})`);
    expect(last?.actor).toContain("via Slack");
  });

  it.skipIf(!KUBECTL)(
    "a kubectl scale: the next pass attributes it to kubectl through managedFields",
    async () => {
      const k = kubectl(KUBECTL as string, env.kubeconfig);
      const scaled = await k.run(["scale", "vmpool", ref.name, "--replicas", "2"]);
      expect(scaled.stderr).toBe("");
      expect((await pass()).outcome).toBe("Acted");
      const tail = (await entries()).slice(-2);
      expect(tail.map((e) => [e.kind, e.from, e.to, e.decision])).toEqual([
        ["manager", 5, 2, "scaled"],
        ["reconcile", 2, 2, "deleted"],
      ]);
      expect(tail[0]?.actor).toMatch(/^kubectl/u);
      expect(tail[0]?.message).toContain("through /scale");
    },
  );

  it.skipIf(!KUBECTL)(
    "npx vmpool history prints every actor, as a table and as JSON",
    async () => {
      const cli = (args: string[]) =>
        run(
          "node",
          [
            join(ROOT, "infra/cli/vmpool.mjs"),
            "history",
            `${NS}/${ref.name}`,
            "--cluster",
            env.kubeconfig,
            ...args,
          ],
          {
            cwd: ROOT,
            timeout: 60_000,
          },
        );
      const table = (await cli([])).stdout;
      const lines = table.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^TIME\s+KIND\s+ACTOR\s+REPLICAS\s+DECISION\s+REASON\s+MESSAGE$/u);
      const row = (kindName: string) => lines.filter((l) => l.split(/\s{2,}/u)[1] === kindName);
      expect(row("hpa")[0]).toContain(`${NS}/${ref.name} [cpu 100%/50%]`);
      expect(row("hpa")[0]).toContain("3 → 6");
      expect(row("chatops")[0]).toContain(`alice (${ALICE.userId})`);
      expect(row("chatops")[0]).toContain("6 → 5");
      expect(row("manager").some((l) => /\bkubectl\S*\s.*5 → 2/u.test(l))).toBe(true);
      expect(row("reconcile").length).toBeGreaterThanOrEqual(2);
      const json = HistoryEntrySchema.array().parse(JSON.parse((await cli(["-o", "json"])).stdout));
      expect(json).toEqual(await entries());
    },
    120_000,
  );

  it("a bad flag is refused, naming it, with a newline at the end", async () => {
    const failed = await run(
      "node",
      [
        join(ROOT, "infra/cli/vmpool.mjs"),
        "history",
        `${NS}/${ref.name}`,
        "-o",
        "yaml",
        "--cluster",
        env.kubeconfig,
      ],
      { cwd: ROOT, timeout: 60_000 },
    ).catch((err: { code: number; stderr: string }) => err);
    expect("code" in failed && failed.code).toBe(2);
    expect("stderr" in failed ? failed.stderr : "").toMatch(/^vmpool: invalid flag --output: .*\n$/u);
  }, 60_000);

  it("the chat-ops history command shows the newest entries", async () => {
    const { result } = await executeText(`history ${ref.name}`, {
      port: kubeChatopsPort(kube, { log, now: () => new Date(), random: seededRandom(3) }),
      policy: devAllowAllPolicy(),
      subject: ALICE,
      source: "slack",
      defaultNamespace: NS,
      replicaCeiling: 1000,
      now: () => new Date(),
      log,
      requestReconcile: async () => {},
    });
    expect(result.kind).toBe("history");
    if (result.kind !== "history") return;
    expect(result.entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["hpa", "chatops", "reconcile"]),
    );
  });

  it("concurrent writers lose no entry (resourceVersion-conditional writes, retried on 409)", async () => {
    const pool = await kube.get("VirtualMachinePool", NS, ref.name);
    const owner = { ref, apiVersion: "pool.kubevirt.io/v1beta1", uid: pool?.metadata.uid ?? "" };
    const before = (await entries()).length;
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        appendHistory(
          kube,
          owner,
          () => [
            {
              kind: "reconcile",
              actor: `writer-${i}`,
              from: 2,
              to: 2,
              decision: "unchanged",
              reason: "Test",
              message: "",
            },
          ],
          { now: () => new Date() },
        ),
      ),
    );
    const after = await entries();
    expect(after.length).toBe(before + 6);
    expect(new Set(after.slice(-6).map((e: HistoryEntry) => e.actor)).size).toBe(6);
  });

  it("is deleted with its pool (ownerReference)", async () => {
    const name = historyName(ref);
    expect(await admin.get("ConfigMap", NS, name)).toBeDefined();
    await admin.delete("VirtualMachinePool", NS, ref.name);
    // The pool's finalizer is ours: a pass lets it go, then the garbage collector takes its dependents.
    await eventually(
      async () => ((await pass()).outcome === "NotFound" ? true : undefined),
      30_000,
      "deletion",
    );
    await eventually(async () => ((await admin.get("ConfigMap", NS, name)) ? undefined : true), 30_000, "GC");
  }, 60_000);
});
