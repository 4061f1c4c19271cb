/**
 * The scaling history's pure rules: entries round-trip as JSON lines, bad lines are skipped, the log is capped by
 * count and bytes keeping the newest, repeated "no change" decisions coalesce, external changes are attributed
 * to the field manager owning spec.replicas, and the reconcile and autoscale writers build the entries they should.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decisionEntry, formatMetrics } from "../../shared/autoscale/history";
import { COMMAND_VERBS, parseCommand, renderMattermostResult, renderResult } from "../../shared/chatops";
import {
  appendEntries,
  capEntries,
  decodeEntries,
  type EntryInput,
  encodeEntries,
  externalChange,
  formatHistoryTable,
  type HistoryEntry,
  historyName,
  MAX_ENTRIES,
  replicasOwner,
} from "../../shared/history";
import { planFor } from "../../shared/reconcile";
import { passEntries } from "../../shared/reconcile/history";
import type { Observation } from "../../shared/reconcile/observe";
import { convergedPool } from "../support/kubevirt-fixtures";

const T0 = new Date("2026-12-04T12:00:00.000Z");

const scaled = (from: number, to: number, kind: EntryInput["kind"] = "chatops"): EntryInput => ({
  kind,
  actor: kind === "chatops" ? "alice (U1) in #ops (C1) via Slack" : "default/web",
  from,
  to,
  decision: from === to ? "unchanged" : "scaled",
  reason: from === to ? "ScaleDownStabilized" : "SuccessfulRescale",
  message: `from ${from} to ${to}`,
});

const at = (ms: number) => new Date(T0.getTime() + ms);

/** Managed fields as kube-apiserver records them (verbatim shape from `kubectl get -o yaml --show-managed-fields`). */
const managed = (manager: string, subresource?: string, time = "2026-12-04T11:00:00Z") => ({
  manager,
  operation: "Update",
  apiVersion: "pool.kubevirt.io/v1beta1",
  time,
  fieldsType: "FieldsV1",
  fieldsV1: { "f:spec": { "f:replicas": {} } },
  ...(subresource ? { subresource } : {}),
});

describe("history entries", () => {
  it("round-trip as one compact JSON line each, oldest first", () => {
    const { entries } = appendEntries([], [scaled(1, 3), scaled(3, 5, "hpa")], T0);
    const text = encodeEntries(entries);
    expect(text.split("\n")).toHaveLength(2);
    expect(text).not.toMatch(/": /u);
    expect(decodeEntries(text)).toEqual({ entries, dropped: 0 });
  });

  it("skips lines that are not entries and counts them", () => {
    const good = encodeEntries(appendEntries([], [scaled(1, 2)], T0).entries);
    const decoded = decodeEntries(`${good}\n{not json\n{"at":"x","kind":"hpa"}\n\n`);
    expect(decoded.entries).toHaveLength(1);
    expect(decoded.dropped).toBe(2);
  });

  it("cuts over-long free text instead of refusing the entry", () => {
    const { entries } = appendEntries([], [{ ...scaled(1, 2), message: "x".repeat(5000) }], T0);
    expect(entries[0]?.message.length).toBeLessThanOrEqual(400);
    expect(decodeEntries(encodeEntries(entries)).entries).toHaveLength(1);
  });

  it("keeps the newest entries within the count cap", () => {
    let entries: HistoryEntry[] = [];
    for (let i = 0; i < MAX_ENTRIES + 25; i++)
      entries = appendEntries(entries, [scaled(i, i + 1)], at(i)).entries;
    expect(entries).toHaveLength(MAX_ENTRIES);
    expect(entries.at(-1)?.to).toBe(MAX_ENTRIES + 25);
    expect(entries[0]?.from).toBe(25);
  });

  it("keeps the newest entries within the byte cap", () => {
    const entries = appendEntries(
      [],
      Array.from({ length: 50 }, (_, i) => scaled(i, i + 1)),
      T0,
    ).entries;
    const line = Buffer.byteLength(JSON.stringify(entries[0])) + 1;
    const capped = capEntries(entries, { maxEntries: 1000, maxBytes: line * 10 + 5 });
    expect(capped.length).toBeGreaterThanOrEqual(9);
    expect(capped.length).toBeLessThanOrEqual(10);
    expect(capped.at(-1)).toEqual(entries.at(-1));
  });

  it("never exceeds either cap, and always keeps the newest entry that fits (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(50), fc.nat(50), fc.string({ maxLength: 300 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 300, max: 20_000 }),
        (rows, maxEntries, maxBytes) => {
          const inputs = rows.map(([from, to, message]) => ({ ...scaled(from, to), message }));
          const { entries } = appendEntries([], inputs, T0, { maxEntries, maxBytes });
          const bytes = entries.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
          expect(entries.length).toBeLessThanOrEqual(maxEntries);
          expect(bytes).toBeLessThanOrEqual(maxBytes);
          if (entries.length > 0) expect(entries.at(-1)?.message).toBe(inputs.at(-1)?.message.slice(0, 399));
        },
      ),
    );
  });

  it.each([
    // The same "no change" again: coalesced, nothing to write.
    ["a repeated unchanged decision", [scaled(4, 4, "hpa"), scaled(4, 4, "hpa")], 1],
    // A different reason is news.
    [
      "an unchanged decision for another reason",
      [scaled(4, 4, "hpa"), { ...scaled(4, 4, "hpa"), reason: "ScaleUpLimit" }],
      2,
    ],
    // Changes are never coalesced, even when equal.
    ["two equal changes", [scaled(4, 5, "hpa"), scaled(4, 5, "hpa")], 2],
    // Something else happened in between: the repeat is recorded again.
    ["a repeat after another actor's entry", [scaled(4, 4, "hpa"), scaled(4, 4), scaled(4, 4, "hpa")], 3],
  ] as const)("coalesces %s", (_name, inputs, expected) => {
    expect(appendEntries([], inputs, T0).entries).toHaveLength(expected);
  });

  it("reports no change when every input is a repeat", () => {
    const first = appendEntries([], [scaled(4, 4, "hpa")], T0);
    const again = appendEntries(first.entries, [scaled(4, 4, "hpa")], at(60_000));
    expect(again.changed).toBe(false);
    expect(again.entries).toEqual(first.entries);
  });

  it("names each pool's ConfigMap by kind, within the 253-character limit", () => {
    expect(historyName({ kind: "VirtualMachinePool", name: "web" })).toBe("web-vmpool-history");
    expect(historyName({ kind: "VirtualMachineInstanceReplicaSet", name: "web" })).toBe("web-vmirs-history");
    const long = historyName({ kind: "VirtualMachinePool", name: "a".repeat(253) });
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).not.toBe(historyName({ kind: "VirtualMachinePool", name: `${"a".repeat(252)}b` }));
  });

  it("prints a table with a header and one line per entry", () => {
    const { entries } = appendEntries(
      [],
      [scaled(1, 3), { ...scaled(3, 6, "hpa"), metrics: "cpu 100%/50%" }],
      T0,
    );
    const lines = formatHistoryTable(entries).split("\n");
    expect(lines[0]).toMatch(/^TIME\s+KIND\s+ACTOR\s+REPLICAS\s+DECISION\s+REASON\s+MESSAGE$/u);
    expect(lines[1]).toContain("alice (U1) in #ops (C1) via Slack");
    expect(lines[2]).toContain("default/web [cpu 100%/50%]");
    expect(lines[2]).toContain("3 → 6");
  });
});

describe("attribution of external changes", () => {
  it.each([
    // kubectl scale writes through /scale.
    [
      "kubectl scale",
      [managed("kubectl-create"), managed("kubectl", "scale", "2026-12-04T11:30:00Z")],
      "kubectl",
    ],
    // Only the newest claimant counts when appliers share the field.
    [
      "shared ownership",
      [
        managed("argocd", undefined, "2026-12-04T11:00:00Z"),
        managed("helm", undefined, "2026-12-04T11:10:00Z"),
      ],
      "helm",
    ],
    // A manager that does not own spec.replicas is not blamed.
    ["other fields only", [{ ...managed("kubectl-label"), fieldsV1: { "f:metadata": {} } }], undefined],
  ] as const)("finds the owner of spec.replicas: %s", (_name, fields, manager) => {
    expect(replicasOwner(fields)?.manager).toBe(manager);
  });

  it("ignores managedFields that are not a list", () => {
    expect(replicasOwner({ manager: "kubectl" })).toBeUndefined();
    expect(replicasOwner(undefined)).toBeUndefined();
  });

  it("records a change the log has not seen, naming the manager and the subresource", () => {
    const { entries } = appendEntries([], [scaled(1, 3)], T0);
    const entry = externalChange({
      entries,
      specReplicas: 5,
      managedFields: [managed("kubectl", "scale")],
      ownManager: "vmpool-functions",
      current: 3,
      ready: 3,
    });
    expect(entry).toMatchObject({ kind: "manager", actor: "kubectl", from: 3, to: 5, decision: "scaled" });
    expect(entry?.message).toContain("through /scale");
  });

  it("leaves our own writes to their writers, and agrees with a log that is up to date", () => {
    const { entries } = appendEntries([], [scaled(1, 3)], T0);
    const input = { entries, managedFields: [managed("vmpool-functions", "scale")], current: 3, ready: 3 };
    expect(externalChange({ ...input, specReplicas: 5, ownManager: "vmpool-functions" })).toBeUndefined();
    expect(externalChange({ ...input, specReplicas: 3, ownManager: "other" })).toBeUndefined();
  });

  it("starts an empty log from the children counted, naming who set the count", () => {
    const entry = externalChange({
      entries: [],
      specReplicas: 3,
      managedFields: [managed("kubectl-create")],
      ownManager: "vmpool-functions",
      current: 0,
      ready: 0,
    });
    expect(entry).toMatchObject({ actor: "kubectl-create", from: 0, to: 3, reason: "FirstRecorded" });
  });
});

describe("the writers' entries", () => {
  it("reconcile: an unrecorded kubectl scale, then the creates that followed it", () => {
    const world = convergedPool(3);
    const scaledPool = { ...world.pool, spec: { ...world.pool.spec, replicas: 5 } };
    scaledPool.metadata = { ...scaledPool.metadata, managedFields: [managed("kubectl", "scale")] };
    const observation: Observation = {
      owner: { kind: "VirtualMachinePool", object: scaledPool },
      children: { vms: world.vms, vmis: world.vmis, revisions: world.revisions },
    };
    const plan = planFor(observation, T0, () => 0.5);
    const results = plan.actions.map((a) => ({
      kind: a.kind,
      target: a.target.name ?? "",
      reason: a.reason,
      ok: true,
    }));
    const { entries } = appendEntries([], [scaled(1, 3)], T0);
    const out = passEntries(entries, observation, plan, results);
    expect(out.map((e) => [e.kind, e.actor, e.decision, e.from, e.to, e.count])).toEqual([
      ["manager", "kubectl", "scaled", 3, 5, undefined],
      ["reconcile", "reconcile", "created", 5, 5, 2],
    ]);
  });

  it("autoscale: the decision with its metric values over their targets", () => {
    const metrics = [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 100 } } }];
    // As shared/schemas normalizeHpa gives the spec's metrics: flat; statuses nest them under their type.
    const spec = [{ type: "Resource", name: "cpu", target: { type: "Utilization", averageUtilization: 50 } }];
    expect(formatMetrics(metrics, spec)).toBe("cpu 100%/50%");
    expect(
      formatMetrics(metrics, [
        { type: "Resource", resource: { name: "cpu", target: { averageUtilization: 70 } } },
      ]),
    ).toBe("cpu 100%/70%");
    expect(formatMetrics([{ type: "" }], spec)).toBe("cpu ?/50%");
    const decision = {
      currentReplicas: 3,
      desiredReplicas: 6,
      changed: true,
      reason: "SuccessfulRescale",
      message: "New size: 6; reason: cpu resource utilization (percentage of request) above target",
      currentMetrics: metrics,
    } as unknown as Parameters<typeof decisionEntry>[1];
    const scale = { metadata: { name: "web", uid: "u1" }, status: { replicas: 3 } };
    const entry = decisionEntry(
      "default/web",
      decision,
      { outcome: "Scaled", reason: "SuccessfulRescale", message: "" },
      spec,
      scale,
    );
    expect(entry).toMatchObject({
      kind: "hpa",
      actor: "default/web",
      from: 3,
      to: 6,
      decision: "scaled",
      metrics: "cpu 100%/50%",
    });
    const failed = decisionEntry(
      "default/web",
      decision,
      { outcome: "Failed", reason: "FailedRescale", message: "boom" },
      spec,
      scale,
    );
    expect(failed).toMatchObject({ decision: "unchanged", to: 3, reason: "FailedRescale" });
    expect(failed.message).toContain("boom");
  });
});

describe("the chat-ops history command", () => {
  it("parses like the other pool commands and needs only the read verb", () => {
    expect(parseCommand("history vmirs/prod/web")).toEqual({
      ok: true,
      command: {
        name: "history",
        pool: { kind: "VirtualMachineInstanceReplicaSet", namespace: "prod", name: "web" },
      },
    });
    expect(parseCommand("history")).toMatchObject({
      ok: false,
      reason: "MissingArgument",
      command: "history",
    });
    expect(COMMAND_VERBS.history).toBe("read");
  });

  it("replies privately with the newest entries in a code block, names escaped for each chat app", () => {
    const inputs = Array.from({ length: 20 }, (_, i) => ({
      ...scaled(i, i + 1),
      actor: `<!channel> & co (U${i}) in #ops (C1) via Slack`,
    }));
    const { entries } = appendEntries([], inputs, T0);
    const pool = { kind: "VirtualMachinePool", namespace: "default", name: "web" } as const;
    const slack = renderResult({ kind: "history", pool, entries });
    expect(slack.response_type).toBe("ephemeral");
    expect(slack.text).toContain("&lt;!channel&gt; &amp; co (U19)");
    expect(slack.text).not.toContain("<!channel>");
    expect(slack.text).not.toContain("(U4)");
    expect(slack.text).toContain("5 older entries not shown");
    const mattermost = renderMattermostResult({ kind: "history", pool, entries: [] });
    expect(mattermost.text).toContain("No scaling history for vmpool/default/web yet");
  });
});
