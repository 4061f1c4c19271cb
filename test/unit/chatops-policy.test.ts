import { describe, expect, it } from "vitest";
import {
  allowedNamespaces,
  authorize,
  type ChatCommand,
  type ChatSubject,
  DEV_ALLOW_ALL_RULE,
  devAllowAllPolicy,
  loadPolicy,
  parseCommand,
  VERBS,
  verbForCommand,
} from "../../shared/chatops";
import { ReasonedError } from "../../shared/errors";

const POLICY_YAML = `
groups:
  oncall: [U0ONCALL, "name:carol"]
rules:
  - name: oncall-from-ops
    groups: [oncall]
    channels: [C0OPS]
    namespaces: [default, prod]
    verbs: [read, scale, pause, autoscale, release]
    maxReplicas: 20
  - name: anyone-in-ops-reads
    channels: ["name:ops"]
    namespaces: ["*"]
    verbs: [read]
  - name: alice-dev-small
    users: [U0ALICE]
    namespaces: [dev]
    verbs: [scale]
    maxReplicas: 5
  - name: alice-dev-big
    users: ["name:alice"]
    namespaces: [dev]
    verbs: [scale]
    maxReplicas: 50
  - name: bob-release-anywhere
    users: [U0BOB]
    namespaces: ["*"]
    verbs: [release]
  - name: mattermost-reader
    users: [q5s3wogmo3bgdrsw8yzgutcbvh]
    namespaces: [default]
    verbs: [read]
`;

const SUBJECTS = {
  oncallInOps: { userId: "U0ONCALL", userName: "dave", channelId: "C0OPS", channelName: "ops" },
  carolByNameInOps: { userId: "U0CAROL", userName: "carol", channelId: "C0OPS", channelName: "ops" },
  oncallInRandom: { userId: "U0ONCALL", userName: "dave", channelId: "C0RANDOM", channelName: "random" },
  strangerInOps: { userId: "U0X", userName: "mallory", channelId: "C0OPS", channelName: "ops" },
  strangerInRandom: { userId: "U0X", userName: "mallory", channelId: "C0RANDOM", channelName: "random" },
  aliceInRandom: { userId: "U0ALICE", userName: "alice", channelId: "C0RANDOM" },
  // someone whose display name is a channel name gains nothing from it
  namedOpsInRandom: { userId: "U0Y", userName: "ops", channelId: "C0RANDOM", channelName: "random" },
  bobAnywhere: { userId: "U0BOB", channelId: "D123" },
  // eve renamed herself after alice's and the on-call's ids, and named her channel after #ops's id
  eveNamedAlicesId: { userId: "U0EVE", userName: "U0ALICE", channelId: "C0RANDOM" },
  eveNamedOncallsIdInOps: { userId: "U0EVE", userName: "U0ONCALL", channelId: "C0OPS", channelName: "ops" },
  oncallInChannelNamedOpsId: { userId: "U0ONCALL", channelId: "C0EVIL", channelName: "C0OPS" },
  eveNamedMattermostId: { userId: "U0EVE", userName: "q5s3wogmo3bgdrsw8yzgutcbvh", channelId: "C0RANDOM" },
  mattermostBob: { userId: "q5s3wogmo3bgdrsw8yzgutcbvh", userName: "bob", channelId: "town-square" },
} satisfies Record<string, ChatSubject>;

describe("authorize: allow/deny matrix", () => {
  const policy = loadPolicy(POLICY_YAML, "policy.yaml");

  it.each([
    // on-call by id, from the ops channel, within the ceiling
    ["oncallInOps", "scale", "prod", 20, "oncall-from-ops"],
    // group members may also be listed by name, explicitly (name:carol)
    ["carolByNameInOps", "pause", "default", undefined, "oncall-from-ops"],
    // two rules match: the one without a ceiling is the more permissive
    ["oncallInOps", "read", "default", undefined, "anyone-in-ops-reads"],
    // anyone in #ops (matched by channel name: name:ops) reads any namespace
    ["strangerInOps", "read", "kube-system", undefined, "anyone-in-ops-reads"],
    // two rules match alice in dev (by id, and by name:alice): the higher ceiling wins
    ["aliceInRandom", "scale", "dev", 30, "alice-dev-big"],
    // a Mattermost user by their 26-character id
    ["mattermostBob", "read", "default", undefined, "mattermost-reader"],
    // a user rule with no channels applies in DMs too
    ["bobAnywhere", "release", "anything", undefined, "bob-release-anywhere"],
  ] as const)("%s may %s in %s (replicas %s) by rule %s", (who, verb, namespace, replicas, ruleName) => {
    const request = replicas === undefined ? {} : { replicas };
    const result = authorize(policy, SUBJECTS[who], verb, namespace, request);
    expect(result).toMatchObject({ allowed: true, rule: { name: ruleName } });
  });

  it.each([
    // on-call outside the ops channel gets nothing
    ["oncallInRandom", "scale", "prod", undefined, "NotAuthorized"],
    // on-call may not scale a namespace their rule does not name
    ["oncallInOps", "scale", "dev", undefined, "NotAuthorized"],
    // the read rule does not grant scale
    ["strangerInOps", "scale", "default", undefined, "NotAuthorized"],
    ["strangerInRandom", "read", "default", undefined, "NotAuthorized"],
    // a user name equal to a channel name does not match channel rules
    ["namedOpsInRandom", "read", "default", undefined, "NotAuthorized"],
    // above the rule's ceiling
    ["oncallInOps", "scale", "prod", 21, "ReplicasAboveCeiling"],
    // above even the most permissive matching rule
    ["aliceInRandom", "scale", "dev", 51, "ReplicasAboveCeiling"],
    // alice has scale, not autoscale
    ["aliceInRandom", "autoscale", "dev", undefined, "NotAuthorized"],
    // bob releases, nothing else
    ["bobAnywhere", "read", "default", undefined, "NotAuthorized"],
    // a user name equal to a user id in a rule is not that user: ids and names are different keys
    ["eveNamedAlicesId", "scale", "dev", 3, "NotAuthorized"],
    // nor a user id listed in a group
    ["eveNamedOncallsIdInOps", "scale", "prod", undefined, "NotAuthorized"],
    // a channel name equal to a channel id in a rule is not that channel
    ["oncallInChannelNamedOpsId", "scale", "prod", undefined, "NotAuthorized"],
    // the same for a Mattermost id
    ["eveNamedMattermostId", "read", "default", undefined, "NotAuthorized"],
  ] as const)("%s may not %s in %s (replicas %s): %s", (who, verb, namespace, replicas, reason) => {
    const request = replicas === undefined ? {} : { replicas };
    const result = authorize(policy, SUBJECTS[who], verb, namespace, request);
    expect(result).toMatchObject({ allowed: false, reason });
  });

  it("explains a refusal politely without revealing the policy", () => {
    const result = authorize(policy, SUBJECTS.oncallInRandom, "scale", "prod");
    expect(result).toEqual({
      allowed: false,
      reason: "NotAuthorized",
      message:
        'Sorry, you are not allowed to scale pools in namespace "prod" from here. Ask your cluster admin if you need to.',
    });
    const ceiling = authorize(policy, SUBJECTS.oncallInOps, "scale", "prod", { replicas: 25 });
    expect(ceiling).toMatchObject({
      message: 'Sorry, you may go up to 20 replicas in namespace "prod", not 25.',
    });
  });

  it("lists the namespaces a subject may act in", () => {
    expect(allowedNamespaces(policy, SUBJECTS.oncallInOps, "scale")).toEqual(["default", "prod"]);
    expect(allowedNamespaces(policy, SUBJECTS.eveNamedOncallsIdInOps, "scale")).toEqual([]);
    expect(allowedNamespaces(policy, SUBJECTS.strangerInOps, "read")).toBe("*");
    expect(allowedNamespaces(policy, SUBJECTS.strangerInRandom, "read")).toEqual([]);
    expect(allowedNamespaces(undefined, SUBJECTS.strangerInOps, "read")).toEqual([]);
  });
});

describe("authorize: deny by default", () => {
  it.each([
    // no policy configured at all
    ["undefined", undefined],
    ["null", null],
    // an empty document
    ["empty text", loadPolicy("", "empty.yaml")],
    // only a comment
    ["comment only", loadPolicy("# nobody yet\n", "empty.yaml")],
    // groups but no rules
    ["no rules", loadPolicy("groups: { oncall: [U1] }", "groups.yaml")],
  ])("%s denies everything", (_name, policy) => {
    for (const verb of VERBS) {
      expect(authorize(policy, SUBJECTS.oncallInOps, verb, "default")).toMatchObject({
        allowed: false,
        reason: "NoPolicy",
      });
    }
  });
});

describe("devAllowAllPolicy (development only)", () => {
  it("allows every verb in every namespace, without a ceiling, and says what it is", () => {
    const policy = devAllowAllPolicy();
    for (const verb of VERBS) {
      const result = authorize(policy, SUBJECTS.strangerInRandom, verb, "any-ns", { replicas: 10_000 });
      expect(result).toMatchObject({ allowed: true, rule: { name: DEV_ALLOW_ALL_RULE } });
    }
    expect(DEV_ALLOW_ALL_RULE).toContain("DEVELOPMENT ONLY");
  });
});

describe("loadPolicy", () => {
  it("reads JSON as well as YAML", () => {
    const json = JSON.stringify({ rules: [{ users: ["U1"], namespaces: ["default"], verbs: ["read"] }] });
    const policy = loadPolicy(json, "policy.json");
    expect(authorize(policy, { userId: "U1", channelId: "C1" }, "read", "default")).toMatchObject({
      allowed: true,
    });
  });

  it.each([
    // a verb that does not exist
    ["rules: [{ users: [U1], namespaces: [default], verbs: [read, fly] }]", "rules[0].verbs[1]"],
    // a namespace that is not a DNS-1123 label
    ["rules: [{ users: [U1], namespaces: [Bad_NS], verbs: [read] }]", "rules[0].namespaces[0]"],
    // a misspelt key is an error, not ignored
    ["rules: [{ users: [U1], namespaces: [default], verb: [read] }]", "rules[0].verbs"],
    [
      "rules: [{ users: [U1], namespaces: [default], verbs: [read], verb: [scale] }]",
      "rules[0]: Unrecognized key",
    ],
    ["rules: [{ users: [U1], verbs: [read] }]", "rules[0].namespaces"],
    // empty lists grant nothing and are rejected as mistakes
    ["rules: [{ users: [U1], namespaces: [], verbs: [read] }]", "rules[0].namespaces"],
    // a bare entry is a user id; a name must say so (names can be changed by their owner)
    ["rules: [{ users: [bob], namespaces: [default], verbs: [read] }]", 'rules[0].users[0]: "bob" is not'],
    ["rules: [{ users: [bob], namespaces: [default], verbs: [read] }]", 'write "name:bob"'],
    [
      "rules: [{ channels: [ops], namespaces: [default], verbs: [read] }]",
      'rules[0].channels[0]: "ops" is not',
    ],
    ["groups: { oncall: [U1, carol] }", 'groups.oncall[1]: "carol" is not'],
    // a name entry needs a name
    ['rules: [{ users: ["name:"], namespaces: [default], verbs: [read] }]', "rules[0].users[0]"],
    // a rule without any subject
    [
      "rules: [{ namespaces: [default], verbs: [read] }]",
      "rules[0]: a rule needs at least one of users, groups or channels",
    ],
    [
      "rules: [{ users: [U1], namespaces: [default], verbs: [scale], maxReplicas: 1.5 }]",
      "rules[0].maxReplicas",
    ],
    [
      "rules: [{ users: [U1], namespaces: [default], verbs: [scale], maxReplicas: -1 }]",
      "rules[0].maxReplicas",
    ],
    // a group the document does not define
    [
      "rules: [{ groups: [oncall], namespaces: [default], verbs: [read] }]",
      'rules[0].groups[0]: no group named "oncall"',
    ],
    ["groups: [a, b]", "groups"],
    ["groups: { oncall: [''] }", "groups.oncall[0]"],
    // a misspelt top-level key
    ["rule: []", '(document): Unrecognized key: "rule"'],
    ["- a\n- b", "(document)"],
    // an unquoted * is a YAML alias, not a wildcard
    ["rules: [{ users: [U1], namespaces: [*], verbs: [read] }]", "not YAML or JSON"],
    ["rules: [", "not YAML or JSON"],
  ])("rejects %j, naming %s", (text, expected) => {
    let caught: unknown;
    try {
      loadPolicy(text, "policy.yaml");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ReasonedError);
    const err = caught as ReasonedError;
    expect(err.reason).toBe("InvalidPolicy");
    expect(err.message).toContain("policy.yaml: ");
    expect(err.message).toContain(expected);
  });
});

describe("verbForCommand", () => {
  it.each([
    // help touches nothing
    ["help", null],
    ["list", "read"],
    ["status p", "read"],
    ["plan p", "read"],
    ["scale p 3", "scale"],
    ["pause p", "pause"],
    // resume is the other half of pause
    ["resume p", "pause"],
    ["autoscale p --max 3", "autoscale"],
    ["autoscale p off", "autoscale"],
    ["release vm-1", "release"],
  ])("%s needs %s", (text, verb) => {
    const parsed = parseCommand(text);
    expect(parsed.ok).toBe(true);
    expect(verbForCommand((parsed as { command: ChatCommand }).command)).toBe(verb);
  });
});
