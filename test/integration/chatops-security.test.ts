/**
 * Chat-ops security through the whole webhook (in-process `app.request()`, a real local cluster behind it):
 * unverified requests are refused with 401/400/413 before any cluster read or write (counted with
 * `kube.stats()`), replays and Slack retries run at most once, unauthorized users and namespaces get a polite
 * refusal and no write, and fuzzed command text never crashes the handler or writes without authorization.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { MAX_IN_FLIGHT } from "../../functions/chatops";
import { MAX_CHAT_BODY_BYTES } from "../../shared/chatops";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import {
  ALICE,
  type ChatopsHarness,
  chatopsHarness,
  createSeedPool,
  MATTERMOST_TOKEN,
  mattermostBody,
  slackBody,
  slackHeaders,
  TEAM_POLICY,
  writePolicy,
  writes,
} from "./chatops-support";

const RESPONSE_URL = "http://127.0.0.1:9/response";

interface Posted {
  readonly url: string;
  readonly body: { response_type: string; text: string };
}

/** A harness whose results are captured instead of posted (no receiver needed for hundreds of requests). */
function capturing(env: TestCluster, options: Parameters<typeof chatopsHarness>[1] = {}) {
  const posts: Posted[] = [];
  const h = chatopsHarness(env, {
    reconcile: false,
    ...options,
    chatops: {
      fetch: async (url, init) => {
        posts.push({ url: String(url), body: JSON.parse(String(init?.body)) });
        return new Response("ok");
      },
    },
  });
  const app = createFunctionApp(h.runtime, [() => h.chatops.routes]);
  return { h, app, posts };
}

const now = () => new Date();

function signed(text: string, fields: Record<string, string | undefined> = {}, at = now()) {
  const body = slackBody({ text, response_url: RESPONSE_URL, ...fields });
  return { body, headers: slackHeaders(body, at) };
}

describe("chat-ops webhook security", () => {
  let env: TestCluster;
  let dir: string;
  let team: ReturnType<typeof capturing>;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    dir = mkdtempSync(join(tmpdir(), "chatops-security-"));
    team = capturing(env, { policyFile: writePolicy(dir, "team", TEAM_POLICY) });
    await createSeedPool(team.h.kube);
  });
  afterAll(async () => {
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    team.h.setNow(now());
    team.h.kube.resetStats();
    team.posts.length = 0;
  });

  const post = async (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
    team.app.request(path, { method: "POST", body, headers });

  /** Runs `send`, waits for any background work, and returns the response with the cluster requests made. */
  async function untouched(send: () => Promise<Response>) {
    const response = await send();
    await team.h.chatops.idle();
    return { response, requests: team.h.kube.stats().total, posts: team.posts.length };
  }

  const valid = signed("scale default/vm-pool-cirros 7");
  const sixMinutes = 6 * 60 * 1000;

  it.each([
    // the body was changed after Slack signed it
    ["forged body", () => ({ ...valid, body: valid.body.replace("7", "9") }), 401, "InvalidSignature"],
    // signed with a secret that is not ours
    [
      "wrong secret",
      () => ({ ...valid, headers: slackHeaders(valid.body, now(), "not-our-secret-00000000") }),
      401,
      "InvalidSignature",
    ],
    // a signature that is not even hex
    [
      "garbage signature",
      () => ({ ...valid, headers: { ...valid.headers, "x-slack-signature": "v0=zz" } }),
      401,
      "InvalidSignature",
    ],
    // correctly signed, but six minutes ago
    [
      "stale timestamp",
      () => {
        const old = new Date(Date.now() - sixMinutes);
        return { body: valid.body, headers: slackHeaders(valid.body, old) };
      },
      401,
      "StaleRequest",
    ],
    // correctly signed, six minutes in the future
    [
      "future timestamp",
      () => {
        const ahead = new Date(Date.now() + sixMinutes);
        return { body: valid.body, headers: slackHeaders(valid.body, ahead) };
      },
      401,
      "StaleRequest",
    ],
    // no X-Slack-Signature
    [
      "missing signature",
      () => ({ ...valid, headers: { ...valid.headers, "x-slack-signature": "" } }),
      401,
      "MissingSignatureHeaders",
    ],
    // no X-Slack-Request-Timestamp
    [
      "missing timestamp",
      () => ({ ...valid, headers: { ...valid.headers, "x-slack-request-timestamp": "" } }),
      401,
      "MissingSignatureHeaders",
    ],
    // a timestamp that is not Unix seconds
    [
      "malformed timestamp",
      () => ({ ...valid, headers: { ...valid.headers, "x-slack-request-timestamp": "yesterday" } }),
      400,
      "InvalidTimestamp",
    ],
    // correctly signed, but larger than any slash command
    [
      "oversize body",
      () => signed("scale default/vm-pool-cirros 7", { padding: "x".repeat(MAX_CHAT_BODY_BYTES) }),
      413,
      "PayloadTooLarge",
    ],
    // correctly signed form without the user
    [
      "signed form missing user_id",
      () => signed("status vm-pool-cirros", { user_id: undefined }),
      400,
      "InvalidSlackPayload",
    ],
    // correctly signed, but results would go to a host we do not post to
    [
      "response_url outside the allowed origins",
      () => signed("status vm-pool-cirros", { response_url: "https://attacker.example/hook" }),
      400,
      "ResponseUrlNotAllowed",
    ],
  ])("Slack: %s → %i with no cluster read or write", async (_label, build, status, reason) => {
    const { body, headers } = build();
    const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ""));
    const { response, requests, posts } = await untouched(() => post("/hooks/slack", body, sent));
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: { reason, message: expect.any(String) } });
    expect(requests).toBe(0);
    expect(posts).toBe(0);
  });

  it("Slack: a replay of a captured request after the window is refused with no cluster access", async () => {
    const captured = signed("scale default/vm-pool-cirros +1", {}, new Date(Date.now() - sixMinutes));
    team.h.setNow(new Date(Date.now()));
    const { response, requests } = await untouched(() =>
      post("/hooks/slack", captured.body, captured.headers),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { reason: "StaleRequest" } });
    expect(requests).toBe(0);
  });

  it("Slack: ssl_check is answered 200 with an empty body and no cluster access", async () => {
    const body = new URLSearchParams({ ssl_check: "1", token: "x" }).toString();
    const { response, requests } = await untouched(() =>
      post("/hooks/slack", body, slackHeaders(body, now())),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(requests).toBe(0);
  });

  it("Slack: a declared Content-Length over the limit is refused before reading", async () => {
    const { body, headers } = signed("status vm-pool-cirros");
    const { response, requests } = await untouched(() =>
      post("/hooks/slack", body, { ...headers, "content-length": String(MAX_CHAT_BODY_BYTES + 1) }),
    );
    expect(response.status).toBe(413);
    expect(requests).toBe(0);
  });

  it.each([
    // a token that is not the command's
    ["wrong token", { authorization: "Token not-the-token" }, "not-the-token", "InvalidToken"],
    // no Authorization header and no token field
    ["no token at all", {}, undefined, "MissingToken"],
    // the header is right but the form field disagrees
    [
      "header and field disagree",
      { authorization: `Token ${MATTERMOST_TOKEN}` },
      "other-token",
      "InvalidToken",
    ],
    // an Authorization header of another scheme
    [
      "bearer instead of token",
      { authorization: `Bearer ${MATTERMOST_TOKEN}` },
      undefined,
      "MalformedAuthorization",
    ],
  ])("Mattermost: %s → 401 with no cluster read or write", async (_label, headers, token, reason) => {
    const body = mattermostBody({ text: "scale vm-pool-cirros 9", response_url: RESPONSE_URL, token });
    const { response, requests, posts } = await untouched(() =>
      post("/hooks/mattermost", body, { "content-type": "application/x-www-form-urlencoded", ...headers }),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { reason } });
    expect(requests).toBe(0);
    expect(posts).toBe(0);
  });

  it("Mattermost: an oversize body → 413 with no cluster access", async () => {
    const body = mattermostBody({ text: "x".repeat(MAX_CHAT_BODY_BYTES), token: MATTERMOST_TOKEN });
    const { response, requests } = await untouched(() =>
      post("/hooks/mattermost", body, { "content-type": "application/x-www-form-urlencoded" }),
    );
    expect(response.status).toBe(413);
    expect(requests).toBe(0);
  });

  it("Slack: the same signed request sent twice within the window runs once", async () => {
    const before =
      (await team.h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros"))?.spec.replicas ?? 0;
    const request = signed("scale default/vm-pool-cirros +1", { trigger_id: "replay.1.abc" });
    const first = await post("/hooks/slack", request.body, request.headers);
    await team.h.chatops.idle();
    const second = await post("/hooks/slack", request.body, request.headers);
    await team.h.chatops.idle();
    expect([first.status, second.status]).toEqual([200, 200]);
    const after = await team.h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
    expect(after?.spec.replicas).toBe(before + 1);
    // One result for the one run; the replay posts nothing.
    expect(team.posts.map((p) => p.body.text.split("\n")[0])).toEqual([
      `Scaled vmpool/default/vm-pool-cirros from ${before} to ${before + 1} replicas`,
    ]);
  });

  it("Slack: a retry (X-Slack-Retry-Num, re-signed later) of a command that ran is not run again", async () => {
    const before =
      (await team.h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros"))?.spec.replicas ?? 0;
    const body = slackBody({
      text: "scale default/vm-pool-cirros -1",
      response_url: RESPONSE_URL,
      trigger_id: "retry.2.abc",
    });
    await post("/hooks/slack", body, slackHeaders(body, now()));
    await team.h.chatops.idle();
    const later = new Date(Date.now() + 2000);
    team.h.setNow(later);
    const retry = await post("/hooks/slack", body, {
      ...slackHeaders(body, later),
      "x-slack-retry-num": "1",
    });
    await team.h.chatops.idle();
    expect(retry.status).toBe(200);
    const after = await team.h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
    expect(after?.spec.replicas).toBe(before - 1);
    expect(team.posts).toHaveLength(1);
  });

  it.each([
    // bob is only a reader
    [
      "a reader scaling",
      { user_id: "U0BOB", user_name: "bob" },
      "scale default/vm-pool-cirros 4",
      "NotAuthorized",
    ],
    // alice is allowed in default only
    ["another namespace", {}, "scale kube-system/vm-pool-cirros 4", "NotAuthorized"],
    // alice is allowed from #ops only
    [
      "another channel",
      { channel_id: "C0RANDOM", channel_name: "random" },
      "pause vm-pool-cirros",
      "NotAuthorized",
    ],
    // someone the policy does not know, even just reading
    [
      "an unknown user",
      { user_id: "U0MALLORY", user_name: "mallory" },
      "status vm-pool-cirros",
      "NotAuthorized",
    ],
    // mallory renamed herself to alice's user id: names never match a rule written for an id
    [
      "a user named after an allowed user's id",
      { user_id: "U0MALLORY", user_name: ALICE.userId },
      "scale default/vm-pool-cirros 4",
      "NotAuthorized",
    ],
    // alice, from a channel named after #ops's channel id: nor do channel names
    [
      "a channel named after an allowed channel's id",
      { channel_id: "C0EVIL", channel_name: ALICE.channelId },
      "scale default/vm-pool-cirros 4",
      "NotAuthorized",
    ],
    // above the rule's maxReplicas of 20, known before reading anything
    ["above the rule's ceiling", {}, "scale default/vm-pool-cirros 50", "ReplicasAboveCeiling"],
    // an autoscaler maximum above the rule's ceiling
    ["autoscale above the ceiling", {}, "autoscale vm-pool-cirros --max 30", "ReplicasAboveCeiling"],
  ])("refuses %s politely, without touching the cluster", async (_label, fields, text, reason) => {
    const { body, headers } = signed(text, fields);
    const { response, requests, posts } = await untouched(() => post("/hooks/slack", body, headers));
    expect(response.status).toBe(200);
    const reply = (await response.json()) as { response_type: string; text: string };
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toMatch(/^Not allowed\nSorry, you /);
    expect(reply.text).toContain(reason);
    expect(requests).toBe(0);
    expect(posts).toBe(0);
  });

  it("refuses a relative scale past the rule's ceiling after reading, with no write", async () => {
    const { body, headers } = signed("scale default/vm-pool-cirros +100");
    const response = await post("/hooks/slack", body, headers);
    await team.h.chatops.idle();
    expect(response.status).toBe(200);
    expect(writes(team.h.kube)).toBe(0);
    expect(team.posts).toHaveLength(1);
    expect(team.posts[0]?.body).toMatchObject({ response_type: "ephemeral" });
    expect(team.posts[0]?.body.text).toMatch(/Not allowed\nSorry, you may go up to 20 replicas/);
  });

  it("without a policy (and not in dev mode) every command is refused", async () => {
    const none = capturing(env);
    none.h.kube.resetStats();
    const { body, headers } = signed("status vm-pool-cirros");
    const response = await none.app.request("/hooks/slack", { method: "POST", body, headers });
    await none.h.chatops.idle();
    expect(((await response.json()) as { text: string }).text).toContain("not enabled for anyone yet");
    expect(none.h.kube.stats().total).toBe(0);
  });

  it("dev mode without a policy file allows everyone (the labelled dev policy)", async () => {
    const dev = capturing(env, { devMode: true });
    const { body, headers } = signed("status vm-pool-cirros", { user_id: "U0ANYONE", channel_id: "C0ANY" });
    const response = await dev.app.request("/hooks/slack", { method: "POST", body, headers });
    await dev.h.chatops.idle();
    expect(((await response.json()) as { text: string }).text).toContain("Working on");
    expect(dev.posts[0]?.body.text).toMatch(/^vmpool\/default\/vm-pool-cirros\nDesired: /);
  });

  it("bounds the commands running in process: beyond MAX_IN_FLIGHT the user is asked to retry", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stuck = chatopsHarness(env, {
      reconcile: false,
      policyFile: writePolicy(dir, "stuck", TEAM_POLICY),
      chatops: {
        // Result posts hang until released, so every accepted command stays in flight.
        fetch: async () => {
          await gate;
          return new Response("ok");
        },
      },
    });
    const app = createFunctionApp(stuck.runtime, [() => stuck.chatops.routes]);
    const texts: string[] = [];
    for (let i = 0; i <= MAX_IN_FLIGHT; i++) {
      stuck.setNow(now());
      const { body, headers } = signed("status vm-pool-cirros", { trigger_id: `busy.${i}` });
      const response = await app.request("/hooks/slack", { method: "POST", body, headers });
      texts.push(((await response.json()) as { text: string }).text);
      // Let the accepted command start (and block on its post) before the next request.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(texts.slice(0, MAX_IN_FLIGHT).every((t) => t.startsWith("Working on"))).toBe(true);
    expect(texts[MAX_IN_FLIGHT]).toBe(
      "That did not work\nToo many commands are running right now; please try again in a moment.\nBusy",
    );
    release();
    await stuck.chatops.idle();
  });
});

describe("chat-ops fuzzed command text", () => {
  let env: TestCluster;
  let dir: string;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    dir = mkdtempSync(join(tmpdir(), "chatops-fuzz-"));
    await createSeedPool(capturing(env).h.kube, "fuzz-pool");
  });
  afterAll(async () => {
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const TOKENS = [
    "help",
    "list",
    "status",
    "scale",
    "pause",
    "resume",
    "autoscale",
    "release",
    "plan",
    "off",
    "--min",
    "--max",
    "--cpu-percent",
    "--max=5",
    "\u2014max",
    "0",
    "3",
    "+2",
    "-1",
    "+99999",
    "20",
    "fuzz-pool",
    "default/fuzz-pool",
    "vmpool/default/fuzz-pool",
    "vmirs/default/fuzz-pool",
    "kube-system/fuzz-pool",
    "fuzz-pool-0",
    "default",
    "Ünïcödé",
    "a/b/c/d",
    "",
  ];
  const POOL_REFS = [
    "fuzz-pool",
    "default/fuzz-pool",
    "vmpool/default/fuzz-pool",
    "vmirs/default/fuzz-pool",
    "kube-system/fuzz-pool",
    "missing",
    "fuzz-pool-0",
  ];
  const ref = fc.constantFrom(...POOL_REFS);
  const count = fc.constantFrom("0", "3", "+2", "-1", "20", "+99999", "7");
  const wellFormed = fc.oneof(
    fc.constantFrom("list", "list default", "list kube-system", "help", "help scale", ""),
    fc.tuple(fc.constantFrom("status", "pause", "resume", "plan"), ref).map((parts) => parts.join(" ")),
    fc.tuple(fc.constant("scale"), ref, count).map((parts) => parts.join(" ")),
    fc
      .tuple(
        fc.constant("autoscale"),
        ref,
        fc.constantFrom("off", "--max 5", "--min 2 --max 4 --cpu-percent 50", "--max=3", "\u2014max 6"),
      )
      .map((parts) => parts.join(" ")),
    fc
      .tuple(fc.constant("release"), fc.constantFrom("fuzz-pool-0", "default/fuzz-pool-0", "missing"))
      .map((p) => p.join(" ")),
  );
  // Mostly well-formed commands (so many reach the cluster), some with a stray token, then token soup and noise.
  const commandText = fc.oneof(
    { weight: 4, arbitrary: wellFormed },
    {
      weight: 1,
      arbitrary: fc.tuple(wellFormed, fc.constantFrom(...TOKENS)).map(([text, extra]) => `${text} ${extra}`),
    },
    fc.array(fc.constantFrom(...TOKENS), { maxLength: 7 }).map((parts) => parts.join(" ")),
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.string({ unit: "grapheme-ascii", maxLength: 1200 }),
  );

  async function fuzz(
    who: Record<string, string>,
    policy: string,
    check: (kube: ChatopsHarness["kube"], posts: Posted[]) => void,
  ) {
    const run = capturing(env, { policyFile: writePolicy(dir, `policy-${who.user_id}`, policy) });
    await fc.assert(
      fc.asyncProperty(commandText, async (text) => {
        run.h.setNow(now());
        const { body, headers } = signed(text, { ...who, trigger_id: `t.${Math.random()}` });
        const response = await run.app.request("/hooks/slack", { method: "POST", body, headers });
        expect(response.status).toBe(200);
        const reply = (await response.json()) as { response_type: string; text: string };
        expect(reply.response_type).toBe("ephemeral");
        await run.h.chatops.idle();
        for (const p of run.posts) expect(p.body.text).not.toContain("InternalError");
      }),
      { numRuns: 150 },
    );
    check(run.h.kube, run.posts);
  }

  it("never crashes and never touches the cluster for a user the policy does not know", async () => {
    await fuzz({ user_id: "U0MALLORY", user_name: "mallory" }, TEAM_POLICY, (kube, posts) => {
      expect(kube.stats().total).toBe(0);
      expect(posts).toHaveLength(0);
    });
  });

  it("never crashes and never writes for a read-only user", async () => {
    await fuzz({ user_id: "U0READER", user_name: "reader" }, TEAM_POLICY, (kube) => {
      expect(kube.stats().total).toBeGreaterThan(0);
      expect(writes(kube)).toBe(0);
    });
  });

  it("never crashes for a user allowed to do everything in one namespace, and writes only there", async () => {
    const policy = `rules:\n  - users: [${ALICE.userId}]\n    namespaces: [default]\n    verbs: [read, scale, pause, autoscale, release]\n`;
    await fuzz({}, policy, (kube) => {
      expect(writes(kube)).toBeGreaterThan(0);
    });
    const elsewhere = await capturing(env).h.kube.list("Event", { namespace: "kube-system" });
    expect(elsewhere.filter((e) => e.source?.component === "vmpool-chatops")).toEqual([]);
  });
});
