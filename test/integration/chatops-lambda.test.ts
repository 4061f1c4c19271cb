/**
 * The chat-ops Lambda entry against a real local cluster: an HTTP invocation (function URL event, base64 body as
 * Lambda delivers forms) verifies, publishes the job and answers, touching the cluster not at all; the
 * `Chat Command Requested` invocation runs it and posts the result; a redelivered event does nothing; a
 * malformed one is answered, not retried.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatopsHandler } from "../../functions/chatops/handler";
import { type ChatJob, MAX_JOB_AGE_SECONDS, parseResponseUrlOrigins } from "../../shared/chatops";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import {
  type ChatopsHarness,
  chatopsHarness,
  createSeedPool,
  fixture,
  slackBody,
  slackHeaders,
  writes,
} from "./chatops-support";

const RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1234/5678";

describe("chat-ops on Lambda", () => {
  let env: TestCluster;
  let h: ChatopsHarness;
  const published: ChatJob[] = [];
  const posts: Array<{ url: string; body: { response_type: string; text: string } }> = [];
  let handler: ReturnType<typeof createChatopsHandler>;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    h = chatopsHarness(env, { devMode: true, reconcile: false });
    await createSeedPool(h.kube);
    handler = createChatopsHandler(() => h.runtime, {
      settings: {
        responseUrlOrigins: parseResponseUrlOrigins("https://hooks.slack.com"),
        eventBusName: "bus",
      },
      publish: async (job) => {
        published.push(job);
      },
      fetch: async (url, init) => {
        posts.push({ url: String(url), body: JSON.parse(String(init?.body)) });
        return new Response("ok");
      },
    });
  });
  afterAll(async () => env?.close());

  function httpEvent(text: string) {
    const body = slackBody({ text, response_url: RESPONSE_URL });
    const event = fixture<{ headers: Record<string, string> }>("slack/function-url-slash-command.json");
    return {
      ...event,
      headers: { ...event.headers, ...slackHeaders(body, new Date()) },
      body: Buffer.from(body, "utf8").toString("base64"),
      isBase64Encoded: true,
    };
  }

  it("an HTTP invocation verifies, publishes the job and answers, without touching the cluster", async () => {
    h.setNow(new Date());
    h.kube.resetStats();
    const response = (await handler(httpEvent("scale default/vm-pool-cirros 4"))) as {
      statusCode: number;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      response_type: "ephemeral",
      text: "Working on: scale default/vm-pool-cirros 4",
    });
    expect(h.kube.stats().total).toBe(0);
    expect(published).toEqual([
      {
        source: "slack",
        text: "scale default/vm-pool-cirros 4",
        subject: { userId: "U2147483697", userName: "alice", channelId: "C2147483705", channelName: "ops" },
        responseUrl: RESPONSE_URL,
        deliveryKey: expect.stringMatching(/^slack-[0-9a-f]{32}$/),
        issuedAt: expect.any(String),
        receivedAt: expect.any(String),
      },
    ]);
    expect(posts).toEqual([]);
  });

  it("an HTTP invocation with a bad signature is refused before publishing", async () => {
    const event = httpEvent("scale default/vm-pool-cirros 9");
    const forged = { ...event, headers: { ...event.headers, "x-slack-signature": `v0=${"0".repeat(64)}` } };
    const before = published.length;
    const response = (await handler(forged)) as { statusCode: number };
    expect(response.statusCode).toBe(401);
    expect(published).toHaveLength(before);
  });

  /** The fixture's job as EventBridge delivers it now, `lateSeconds` after the webhook took it. */
  function delivered(lateSeconds = 0, detail: Record<string, unknown> = {}) {
    const event = fixture<{ detail: Record<string, unknown> }>("slack/chat-command-requested.json");
    h.setNow(new Date());
    const receivedAt = new Date(Date.now() - lateSeconds * 1000).toISOString();
    return { ...event, detail: { ...event.detail, receivedAt, ...detail } };
  }

  it("the Chat Command Requested invocation runs the command and posts the result", async () => {
    const event = delivered(1);
    h.kube.resetStats();
    expect(await handler(event)).toEqual({ ok: true, reason: "scaled" });
    expect((await h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros"))?.spec.replicas).toBe(4);
    expect(h.reconciles.map((r) => r.reason)).toEqual(["ChatOpsScale"]);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.url).toBe(RESPONSE_URL);
    expect(posts[0]?.body).toMatchObject({ response_type: "in_channel" });
    expect(posts[0]?.body.text).toContain("Scaled vmpool/default/vm-pool-cirros from 3 to 4 replicas");
  });

  it("a redelivered event (same delivery key) does nothing and posts nothing", async () => {
    const again = delivered(60, { text: "scale default/vm-pool-cirros +3" });
    h.kube.resetStats();
    expect(await handler(again)).toEqual({ ok: true, reason: "DuplicateDelivery" });
    expect(writes(h.kube)).toBe(0);
    expect(posts).toHaveLength(1);
  });

  it("an event delivered after the job's age limit is not run (its delivery key may be forgotten)", async () => {
    const late = delivered(MAX_JOB_AGE_SECONDS + 1, { deliveryKey: "slack-late-redelivery" });
    h.kube.resetStats();
    const before = posts.length;
    expect(await handler(late)).toEqual({ ok: false, reason: "CommandExpired" });
    expect(h.kube.stats().total).toBe(0);
    expect(posts.slice(before).map((p) => p.body.text)).toEqual([expect.stringContaining("CommandExpired")]);
  });

  it("when the job cannot be queued the user is told at once, and nothing runs", async () => {
    const failing = createChatopsHandler(() => h.runtime, {
      settings: {
        responseUrlOrigins: parseResponseUrlOrigins("https://hooks.slack.com"),
        eventBusName: "bus",
      },
      publish: () => Promise.reject(new Error("PutEvents throttled")),
    });
    h.setNow(new Date());
    h.kube.resetStats();
    const response = (await failing(httpEvent("pause default/vm-pool-cirros"))) as {
      statusCode: number;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      response_type: "ephemeral",
      text: expect.stringMatching(
        /^That did not work\nThe command could not be started; please try again\.\nNotQueued$/,
      ),
    });
    expect(h.kube.stats().total).toBe(0);
  });

  it("a malformed job is answered (not thrown, so not retried) without touching the cluster", async () => {
    const event = fixture<{ detail: Record<string, unknown> }>("slack/chat-command-requested.json");
    h.kube.resetStats();
    expect(await handler({ ...event, detail: { ...event.detail, subject: {} } })).toEqual({
      ok: false,
      reason: "InvalidChatJob",
    });
    expect(h.kube.stats().total).toBe(0);
  });
});
