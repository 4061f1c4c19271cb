import { describe, expect, it } from "vitest";
import {
  type ChatResult,
  formatAge,
  HELP_TEXT,
  type PoolId,
  renderMattermostResult,
  renderResult,
  USAGE,
} from "../../shared/chatops";

const POOL: PoolId = { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" };
const RS: PoolId = { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "testreplicaset" };
const ALICE = { userId: "U2147483697", userName: "alice" };

describe("renderResult (Slack)", () => {
  it("announces a scale in the channel, with who did it", () => {
    const message = renderResult({ kind: "scaled", pool: POOL, from: 2, to: 5, by: ALICE });
    expect(message).toEqual({
      response_type: "in_channel",
      text: "Scaled vmpool/default/vm-pool-cirros from 2 to 5 replicas\nby <@U2147483697>",
      blocks: [
        {
          type: "section",
          text: { type: "mrkdwn", text: "*Scaled vmpool/default/vm-pool-cirros from 2 to 5 replicas*" },
        },
        { type: "context", elements: [{ type: "mrkdwn", text: "by <@U2147483697>" }] },
      ],
    });
  });

  it("keeps a no-op scale private and carries the note", () => {
    const message = renderResult({
      kind: "scaled",
      pool: POOL,
      from: 0,
      to: 0,
      by: ALICE,
      note: "-5 on 0 replicas stops at 0",
    });
    expect(message.response_type).toBe("ephemeral");
    expect(message.text).toBe(
      "vmpool/default/vm-pool-cirros is already at 0 replicas\n-5 on 0 replicas stops at 0",
    );
  });

  it("shows status fields, conditions, the newest events and the autoscaler", () => {
    const result: ChatResult = {
      kind: "status",
      pool: RS,
      desired: 3,
      current: 3,
      ready: 2,
      paused: true,
      conditions: [
        { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "quota exceeded" },
      ],
      events: [
        { type: "Normal", reason: "SuccessfulCreate", message: "old", ageSeconds: 7200 },
        ...[1, 2, 3, 4, 5].map((i) => ({
          type: "Normal",
          reason: "SuccessfulCreate",
          message: `Created virtual machine instance: testreplicaset${i}`,
          ageSeconds: 60 * i,
        })),
      ],
      autoscaler: {
        name: "testreplicaset",
        minReplicas: 1,
        maxReplicas: 5,
        cpuPercent: 80,
        currentCpuPercent: 41,
        desiredReplicas: 3,
      },
    };
    const message = renderResult(result);
    expect(message.response_type).toBe("ephemeral");
    expect(message.blocks[0]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "*vmirs/default/testreplicaset*" },
    });
    expect(message.blocks[1]).toEqual({
      type: "section",
      fields: [
        { type: "mrkdwn", text: "*Desired*\n3" },
        { type: "mrkdwn", text: "*Current*\n3" },
        { type: "mrkdwn", text: "*Ready*\n2" },
        { type: "mrkdwn", text: "*Paused*\nyes" },
        { type: "mrkdwn", text: "*Autoscaler*\ntestreplicaset: 1..5, CPU 41%/80%, wants 3" },
      ],
    });
    expect(message.blocks[2]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "*Conditions*\n• ReplicaFailure=True (FailedCreate): quota exceeded" },
    });
    const events = message.blocks[3];
    expect(events?.type === "section" && "text" in events ? events.text.text.split("\n") : []).toEqual([
      "*Recent events*",
      "• 60s ago Normal SuccessfulCreate: Created virtual machine instance: testreplicaset1",
      "• 2m ago Normal SuccessfulCreate: Created virtual machine instance: testreplicaset2",
      "• 3m ago Normal SuccessfulCreate: Created virtual machine instance: testreplicaset3",
      "• 4m ago Normal SuccessfulCreate: Created virtual machine instance: testreplicaset4",
      "• 5m ago Normal SuccessfulCreate: Created virtual machine instance: testreplicaset5",
    ]);
    // the fallback text reads on its own
    expect(message.text.split("\n").slice(0, 6)).toEqual([
      "vmirs/default/testreplicaset",
      "Desired: 3",
      "Current: 3",
      "Ready: 2",
      "Paused: yes",
      "Autoscaler: testreplicaset: 1..5, CPU 41%/80%, wants 3",
    ]);
  });

  it("lists pools, cut at 40 with a note", () => {
    const pools = Array.from({ length: 45 }, (_, i) => ({
      pool: { ...POOL, name: `pool-${i}` },
      desired: 3,
      ready: i % 2 === 0 ? 3 : 1,
      paused: i === 1,
    }));
    const message = renderResult({ kind: "list", namespace: "default", pools });
    expect(message.blocks[0]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "*45 pools in default*" },
    });
    const list = message.blocks[1];
    const lines = list?.type === "section" && "text" in list ? list.text.text.split("\n") : [];
    expect(lines).toHaveLength(41);
    expect(lines.slice(0, 3)).toEqual([
      "*Pools (ready/desired)*",
      "• vmpool/default/pool-0: 3/3 ready",
      "• vmpool/default/pool-1: 1/3 ready (paused)",
    ]);
    expect(message.blocks[2]).toEqual({
      type: "context",
      elements: [{ type: "mrkdwn", text: "5 more not shown; list one namespace to narrow it down" }],
    });
  });

  it("says so when there are no pools", () => {
    expect(renderResult({ kind: "list", namespace: "prod", pools: [] }).text).toBe("No pools in prod");
  });

  it.each([
    // pause and resume are announced
    [
      { kind: "paused", pool: POOL, by: ALICE },
      "in_channel",
      "Paused vmpool/default/vm-pool-cirros\nThe controller leaves it alone until resumed.\nby <@U2147483697>",
    ],
    [
      { kind: "resumed", pool: POOL, by: ALICE },
      "in_channel",
      "Resumed vmpool/default/vm-pool-cirros\nThe controller manages it again.\nby <@U2147483697>",
    ],
    [
      { kind: "autoscaleSet", pool: POOL, minReplicas: 1, maxReplicas: 5, cpuPercent: 80, by: ALICE },
      "in_channel",
      "Autoscaling vmpool/default/vm-pool-cirros\nMin: 1\nMax: 5\nCPU target: 80%\nby <@U2147483697>",
    ],
    [
      { kind: "autoscaleOff", pool: POOL, by: ALICE },
      "in_channel",
      "Autoscaling off for vmpool/default/vm-pool-cirros\nThe replica count stays where it is until changed.\nby <@U2147483697>",
    ],
    [
      { kind: "released", vm: { namespace: "default", name: "vm-pool-cirros-0" }, pool: POOL, by: ALICE },
      "in_channel",
      "Released VM default/vm-pool-cirros-0\nIt no longer belongs to vmpool/default/vm-pool-cirros, which will replace it.\nby <@U2147483697>",
    ],
    // a plan is for the asker only, and preformatted
    [
      { kind: "plan", pool: POOL, text: "create vm-pool-cirros-2" },
      "ephemeral",
      "Plan for vmpool/default/vm-pool-cirros (nothing was changed)\n```\ncreate vm-pool-cirros-2\n```",
    ],
    // refusals are private and carry the reason code
    [
      { kind: "refused", reason: "NotAuthorized", message: "Sorry, you are not allowed to scale pools." },
      "ephemeral",
      "Not allowed\nSorry, you are not allowed to scale pools.\nNotAuthorized",
    ],
    // errors show the usage of the command
    [
      {
        kind: "error",
        reason: "InvalidReplicas",
        message: '"x" is not a replica count.',
        usage: USAGE.scale,
      },
      "ephemeral",
      `That did not work\n"x" is not a replica count.\n\`\`\`\n${USAGE.scale.replaceAll("<", "&lt;").replaceAll(">", "&gt;")}\n\`\`\`\nInvalidReplicas`,
    ],
    // the immediate acknowledgement before slow work
    [{ kind: "accepted", commandText: "scale p 5" }, "ephemeral", "Working on: scale p 5"],
  ] as const)("%j", (result, responseType, text) => {
    const message = renderResult(result);
    expect(message.response_type).toBe(responseType);
    expect(message.text).toBe(text);
    expect(message.blocks.length).toBeGreaterThan(0);
  });

  it("renders help as a code block", () => {
    const message = renderResult({ kind: "help", text: HELP_TEXT });
    expect(message.response_type).toBe("ephemeral");
    expect(message.blocks[1]).toMatchObject({ type: "section", text: { type: "mrkdwn" } });
    expect(message.text).toContain("/vmpool scale &lt;pool&gt; &lt;replicas&gt;");
  });

  it("escapes Slack control characters in text that came from users or the cluster", () => {
    const message = renderResult({
      kind: "error",
      reason: "X",
      message: "<!channel> & <https://evil|click>",
    });
    expect(message.text).toContain("&lt;!channel&gt; &amp; &lt;https://evil|click&gt;");
    expect(JSON.stringify(message.blocks)).not.toContain("<!channel>");
  });

  it("does not build a mention from an id that is not one", () => {
    const message = renderResult({
      kind: "paused",
      pool: POOL,
      by: { userId: "U1> <!here", userName: "eve" },
    });
    expect(message.text.endsWith("by eve")).toBe(true);
  });

  it("keeps a huge plan within Slack's section limit", () => {
    const message = renderResult({ kind: "plan", pool: POOL, text: "x".repeat(10_000) });
    for (const block of message.blocks) {
      if (block.type === "section" && "text" in block)
        expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
    const plan = message.blocks[1];
    expect(plan?.type === "section" && "text" in plan && plan.text.text.endsWith("…\n```")).toBe(true);
  });
});

describe("renderMattermostResult", () => {
  it("writes markdown with an @mention", () => {
    expect(renderMattermostResult({ kind: "scaled", pool: POOL, from: 2, to: 5, by: ALICE })).toEqual({
      response_type: "in_channel",
      text: "**Scaled vmpool/default/vm-pool-cirros from 2 to 5 replicas**\n\n_by @alice_",
    });
  });

  it("writes status fields and lists", () => {
    const message = renderMattermostResult({
      kind: "status",
      pool: POOL,
      desired: 2,
      current: 2,
      ready: 2,
      conditions: [],
      events: [{ type: "Normal", reason: "SuccessfulCreate", message: "Created VM default/vm_pool*0" }],
    });
    expect(message).toEqual({
      response_type: "ephemeral",
      text: [
        "**vmpool/default/vm-pool-cirros**",
        "**Desired:** 2  \n**Current:** 2  \n**Ready:** 2",
        "**Recent events**\n- Normal SuccessfulCreate: Created VM default/vm\\_pool\\*0",
      ].join("\n\n"),
    });
  });

  it("shows refusals privately with the reason", () => {
    expect(renderMattermostResult({ kind: "refused", reason: "NoPolicy", message: "Sorry." })).toEqual({
      response_type: "ephemeral",
      text: "**Not allowed**\n\nSorry.\n\n_NoPolicy_",
    });
  });

  it("puts help in a fenced block, unescaped", () => {
    const message = renderMattermostResult({ kind: "help", text: HELP_TEXT });
    expect(message.text).toBe(`**vmpool commands**\n\n\`\`\`\n${HELP_TEXT}\n\`\`\``);
  });
});

describe("formatAge", () => {
  it.each([
    // seconds up to two minutes, like kubectl
    [0, "0s"],
    [119, "119s"],
    [120, "2m"],
    [7199, "119m"],
    [7200, "2h"],
    [172_799, "47h"],
    [172_800, "2d"],
    // clock skew never shows a negative age
    [-5, "0s"],
  ])("%i → %s", (seconds, age) => {
    expect(formatAge(seconds)).toBe(age);
  });
});
