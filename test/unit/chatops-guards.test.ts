/**
 * The guards around a chat command, pure: the delivery memory that de-duplicates redeliveries, the response_url
 * origin allow-list, the scale limits (configured ceiling, HPA bounds), and the decision from the text alone that
 * lets the webhook refuse without reading the cluster.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkAutoscaleCeiling,
  checkScaleLimits,
  commandNamespace,
  DELIVERY_MEMORY_SECONDS,
  devAllowAllPolicy,
  hasDelivery,
  isResponseUrlAllowed,
  loadPolicy,
  MAX_JOB_AGE_SECONDS,
  MAX_REMEMBERED_DELIVERIES,
  parseCommand,
  parseResponseUrlOrigins,
  preAuthorize,
  rememberDelivery,
  SLACK_REPLAY_WINDOW_SECONDS,
} from "../../shared/chatops";
import { hasReason } from "../../shared/errors";

const T0 = new Date("2026-11-21T12:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe("delivery memory", () => {
  /** The annotation value after remembering `key`, failing the test on a refusal. */
  const remember = (value: string | undefined, key: string, now: Date): string => {
    const remembered = rememberDelivery(value, key, now);
    if (!remembered.ok) throw new Error(`refused: ${remembered.reason}`);
    return remembered.value;
  };

  it("remembers a key and finds it again", () => {
    const value = remember(undefined, "slack-abc", T0);
    expect(value).toBe(`slack-abc@${T0.getTime() / 1000}`);
    expect(hasDelivery(value, "slack-abc", T0)).toBe(true);
    expect(hasDelivery(value, "slack-abd", T0)).toBe(false);
  });

  it("forgets keys only once they are older than the memory window", () => {
    const old = remember(undefined, "slack-old", T0);
    expect(hasDelivery(old, "slack-old", at(DELIVERY_MEMORY_SECONDS))).toBe(true);
    expect(hasDelivery(old, "slack-old", at(DELIVERY_MEMORY_SECONDS + 1))).toBe(false);
    const next = remember(old, "slack-new", at(DELIVERY_MEMORY_SECONDS + 1));
    expect(next).toBe(`slack-new@${T0.getTime() / 1000 + DELIVERY_MEMORY_SECONDS + 1}`);
  });

  it("ignores hand-edited garbage in the annotation, and times further ahead than the window", () => {
    const ahead = T0.getTime() / 1000 + DELIVERY_MEMORY_SECONDS + 10;
    const value = remember(
      `not-a-pair @5 x@y slack-far@${ahead} slack-ok@${T0.getTime() / 1000}`,
      "slack-new",
      at(1),
    );
    expect(value.split(" ").map((e) => e.split("@")[0])).toEqual(["slack-ok", "slack-new"]);
  });

  it("refuses a key that would corrupt the list", () => {
    expect(() => rememberDelivery(undefined, "two words", T0)).toThrow(RangeError);
    expect(() => rememberDelivery(undefined, "a@b", T0)).toThrow(RangeError);
  });

  it("when full, refuses the new key instead of forgetting one inside the window, and says when there is room", () => {
    let value: string | undefined;
    for (let i = 0; i < MAX_REMEMBERED_DELIVERIES; i++) value = remember(value, `slack-${i}`, at(i));
    expect(rememberDelivery(value, "slack-more", at(MAX_REMEMBERED_DELIVERIES))).toEqual({
      ok: false,
      reason: "TooManyCommands",
      retryAfterSeconds: DELIVERY_MEMORY_SECONDS + 1 - MAX_REMEMBERED_DELIVERIES,
    });
    // The oldest key (remembered at 0) expires after DELIVERY_MEMORY_SECONDS: then there is room again.
    const later = remember(value, "slack-more", at(DELIVERY_MEMORY_SECONDS + 1));
    expect(hasDelivery(later, "slack-0", at(DELIVERY_MEMORY_SECONDS + 1))).toBe(false);
    expect(hasDelivery(later, "slack-1", at(DELIVERY_MEMORY_SECONDS + 1))).toBe(true);
    expect(hasDelivery(later, "slack-more", at(DELIVERY_MEMORY_SECONDS + 1))).toBe(true);
  });

  it("covers every copy of a signed request: both sides of the signature window, then the job's age limit", () => {
    // First copy accepted at the earliest (timestamp - window) and run at once; the last copy accepted at
    // timestamp + window and started MAX_JOB_AGE_SECONDS later. The rest of the memory is margin for clocks.
    expect(DELIVERY_MEMORY_SECONDS).toBeGreaterThanOrEqual(
      2 * (2 * SLACK_REPLAY_WINDOW_SECONDS + MAX_JOB_AGE_SECONDS),
    );
  });

  it("never forgets a key inside the window, stays bounded, and refuses only when full", () => {
    fc.assert(
      fc.property(
        // Keys that come back often; mostly quick commands, so the memory fills; now and then a long pause.
        fc.array(
          fc.tuple(
            fc.nat({ max: 300 }).map((n) => `slack-${n}`),
            fc.oneof(
              { weight: 200, arbitrary: fc.nat({ max: 2 }) },
              { weight: 1, arbitrary: fc.nat({ max: 2 * DELIVERY_MEMORY_SECONDS }) },
            ),
          ),
          { maxLength: 400, size: "max" },
        ),
        (steps) => {
          let value: string | undefined;
          let seconds = 0;
          const accepted = new Map<string, number>();
          const live = () =>
            [...accepted.values()].filter((when) => seconds - when <= DELIVERY_MEMORY_SECONDS);
          // Plain checks (not expect) in the loop: thousands of steps per run.
          for (const [key, wait] of steps) {
            seconds += wait;
            const now = at(seconds);
            const when = accepted.get(key);
            const seen = when !== undefined && seconds - when <= DELIVERY_MEMORY_SECONDS;
            if (hasDelivery(value, key, now) !== seen) return false;
            if (seen) continue;
            const remembered = rememberDelivery(value, key, now);
            if (remembered.ok) {
              value = remembered.value;
              accepted.set(key, seconds);
            } else if (live().length < MAX_REMEMBERED_DELIVERIES) {
              return false;
            }
            if ((value ?? "").split(" ").length > MAX_REMEMBERED_DELIVERIES) return false;
          }
          return true;
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("response_url origins", () => {
  const rules = parseResponseUrlOrigins("https://hooks.slack.com, https://*.example.org, http://127.0.0.1:*");

  it.each([
    // Slack's response URL host
    ["https://hooks.slack.com/commands/T1/2/x", true],
    // the default https port written out
    ["https://hooks.slack.com:443/commands/x", true],
    // another port on an exact-host rule
    ["https://hooks.slack.com:8443/commands/x", false],
    // plain http to Slack's host
    ["http://hooks.slack.com/commands/x", false],
    // a look-alike host that only starts with the allowed one
    ["https://hooks.slack.com.evil.test/x", false],
    // a subdomain of a wildcard rule
    ["https://chat.example.org/hooks/1", true],
    // the wildcard's own apex is not a subdomain
    ["https://example.org/hooks/1", false],
    // a suffix that is not a label boundary
    ["https://badexample.org/hooks/1", false],
    // the local test receiver on any port
    ["http://127.0.0.1:43111/slack/0", true],
    // credentials in the URL are never posted to
    ["http://user:pw@127.0.0.1:43111/x", false],
    // not a URL at all
    ["not a url", false],
  ])("%s → %s", (url, allowed) => {
    expect(isResponseUrlAllowed(url, rules)).toBe(allowed);
  });

  it("allows any https host by default", () => {
    const defaults = parseResponseUrlOrigins("https://*");
    expect(isResponseUrlAllowed("https://mattermost.corp.internal/hooks/x", defaults)).toBe(true);
    expect(isResponseUrlAllowed("http://mattermost.corp.internal/hooks/x", defaults)).toBe(false);
  });

  it.each([
    // a path is not an origin
    "https://hooks.slack.com/commands",
    // only http and https
    "ftp://files.example.org",
    // nothing at all
    " , ",
  ])("rejects the setting %j naming it", (text) => {
    let error: unknown;
    try {
      parseResponseUrlOrigins(text, "VMPOOL_CHATOPS_RESPONSE_URLS");
    } catch (err) {
      error = err;
    }
    expect(hasReason(error, "InvalidSetting")).toBe(true);
    expect(String(error)).toContain("VMPOOL_CHATOPS_RESPONSE_URLS");
  });
});

describe("scale limits", () => {
  const pool = { kind: "VirtualMachinePool", namespace: "default", name: "web" } as const;
  const hpa = { name: "web", minReplicas: 2, maxReplicas: 6 };

  it.each([
    // no HPA, under the ceiling
    [5, undefined, { ok: true }],
    // exactly the ceiling
    [10, undefined, { ok: true }],
    // one above the ceiling
    [11, undefined, { ok: false, reason: "AboveReplicaCeiling" }],
    // within the HPA's bounds: allowed, with a warning that it may move again
    [4, hpa, { ok: true, note: expect.stringContaining("may change the count again") }],
    // below the HPA's minimum
    [1, hpa, { ok: false, reason: "OutsideAutoscalerBounds" }],
    // above the HPA's maximum
    [7, hpa, { ok: false, reason: "OutsideAutoscalerBounds" }],
    // the ceiling is checked before the HPA
    [20, { ...hpa, maxReplicas: 50 }, { ok: false, reason: "AboveReplicaCeiling" }],
  ])("%i replicas with HPA %j → %j", (replicas, autoscaler, expected) => {
    expect(checkScaleLimits({ pool, replicas, ceiling: 10, autoscaler })).toMatchObject(expected);
  });

  it("explains an HPA refusal with the bounds and what to do", () => {
    const check = checkScaleLimits({ pool, replicas: 9, ceiling: 100, autoscaler: hpa });
    expect(check).toEqual({
      ok: false,
      reason: "OutsideAutoscalerBounds",
      message:
        "HorizontalPodAutoscaler web keeps vmpool/default/web between 2 and 6 replicas, so 9 would not stick. Change its bounds with autoscale, or turn it off first.",
    });
  });

  it("checks an autoscaler maximum against the ceiling", () => {
    expect(checkAutoscaleCeiling(10, 10)).toEqual({ ok: true });
    expect(checkAutoscaleCeiling(11, 10)).toMatchObject({ ok: false, reason: "AboveReplicaCeiling" });
  });
});

describe("deciding from the text alone", () => {
  const alice = { userId: "U1", userName: "alice", channelId: "C1", channelName: "ops" };
  const policy = loadPolicy(
    `rules: [{users: [U1], namespaces: [default], verbs: [read, scale, autoscale], maxReplicas: 10}]`,
    "test",
  );
  const command = (text: string) => {
    const parsed = parseCommand(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.command;
  };

  it.each([
    // a bare pool name is in the default namespace
    ["status web", "default"],
    // an explicit namespace
    ["scale team-a/web 3", "team-a"],
    // a kind-qualified pool
    ["pause vmirs/team-b/rs", "team-b"],
    // list without a namespace lists the default one
    ["list", "default"],
    ["list team-c", "team-c"],
    // release names a VM, not a pool
    ["release team-d/web-0", "team-d"],
    // help acts nowhere
    ["help", undefined],
  ])("%s acts in %s", (text, namespace) => {
    expect(commandNamespace(command(text), "default")).toBe(namespace);
  });

  it.each([
    // allowed: read in default
    ["status web", undefined],
    // allowed: scale to 10, the rule's ceiling
    ["scale web 10", undefined],
    // a relative scale is checked once the count is known
    ["scale web +50", undefined],
    // above the rule's ceiling, known from the text
    ["scale web 11", "ReplicasAboveCeiling"],
    // autoscale --max above the ceiling
    ["autoscale web --max 12", "ReplicasAboveCeiling"],
    // a verb the rule does not grant
    ["pause web", "NotAuthorized"],
    // a namespace the rule does not grant
    ["status other/web", "NotAuthorized"],
    // help needs no grant
    ["help scale", undefined],
  ])("%s → %s", (text, reason) => {
    const refusal = preAuthorize(command(text), policy, alice, "default");
    expect(refusal?.reason).toBe(reason);
  });

  it("denies everything without a policy, and allows everything under the dev policy", () => {
    expect(preAuthorize(command("status web"), null, alice, "default")?.reason).toBe("NoPolicy");
    expect(preAuthorize(command("release x/y"), devAllowAllPolicy(), alice, "default")).toBeUndefined();
  });
});
