/**
 * Replays of signed Slack requests through the whole webhook (in-process `app.request()`, a real local cluster
 * behind it): a delivery that ran is never run again inside the signature window, however many other commands
 * ran on the pool in between, however the copies race, and whichever incarnation of the pool the replay finds.
 * When the pool's delivery memory is full, new commands are refused with a reason instead of forgetting a
 * delivery that could still be replayed; a job that waited past its age limit is not run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import {
  DELIVERIES_ANNOTATION,
  DELIVERY_MEMORY_SECONDS,
  MAX_JOB_AGE_SECONDS,
  MAX_REMEMBERED_DELIVERIES,
} from "../../shared/chatops";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import {
  chatopsHarness,
  createSeedPool,
  slackBody,
  slackHeaders,
  TEAM_POLICY,
  writePolicy,
} from "./chatops-support";

const RESPONSE_URL = "http://127.0.0.1:9/response";
const POOL = "replayed";
const NS = "default";

interface Posted {
  readonly body: { response_type: string; text: string };
}

describe("chat-ops replays", () => {
  let env: TestCluster;
  let dir: string;
  let h: ReturnType<typeof chatopsHarness>;
  let app: ReturnType<typeof createFunctionApp>;
  const posts: Posted[] = [];
  /** The clock the webhook and the worker read (moved by some tests; requests are signed with it). */
  let clock = new Date();

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    dir = mkdtempSync(join(tmpdir(), "chatops-replay-"));
    h = chatopsHarness(env, {
      reconcile: false,
      policyFile: writePolicy(dir, "team", TEAM_POLICY),
      chatops: {
        fetch: async (_url, init) => {
          posts.push({ body: JSON.parse(String(init?.body)) });
          return new Response("ok");
        },
      },
    });
    app = createFunctionApp(h.runtime, [() => h.chatops.routes]);
  });
  afterAll(async () => {
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    posts.length = 0;
    await h.kube.delete("VirtualMachinePool", NS, POOL).catch(() => undefined);
    await createSeedPool(h.kube, POOL, NS);
    // After the pool exists: a command signed before its pool was created is refused (see below).
    clock = new Date();
    h.setNow(clock);
  });

  /** A signed request for `text` (its own trigger id, so its own delivery), signed `ageSeconds` ago. */
  function signed(text: string, triggerId: string, ageSeconds = 0) {
    const body = slackBody({ text, response_url: RESPONSE_URL, trigger_id: triggerId });
    return { body, headers: slackHeaders(body, new Date(clock.getTime() - ageSeconds * 1000)) };
  }

  async function send(request: { body: string; headers: Record<string, string> }) {
    const response = await app.request("/hooks/slack", { method: "POST", ...request });
    await h.chatops.idle();
    expect(response.status).toBe(200);
    return response;
  }

  const replicas = async () => (await h.kube.get("VirtualMachinePool", NS, POOL))?.spec.replicas;
  const paused = async () => (await h.kube.get("VirtualMachinePool", NS, POOL))?.spec.paused === true;

  it("a replay after more than 16 other commands for the same pool is still not run again", async () => {
    const first = signed(`scale ${NS}/${POOL} +1`, "first.1");
    await send(first);
    expect(await replicas()).toBe(4);
    // 16 was the old memory; go past it, each command changing the pool.
    for (let i = 0; i < 20; i++) {
      await send(signed(`${i % 2 === 0 ? "pause" : "resume"} ${NS}/${POOL}`, `other.${i}`));
    }
    expect(await paused()).toBe(false);
    posts.length = 0;
    await send(first);
    expect(await replicas()).toBe(4);
    expect(posts).toEqual([]);
  });

  it("two copies of one request at once run once", async () => {
    const request = signed(`scale ${NS}/${POOL} +1`, "twice.1");
    const responses = await Promise.all([0, 1, 2].map(() => send(request)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await replicas()).toBe(4);
    expect(posts.map((p) => p.body.text.split("\n")[0])).toEqual([
      `Scaled vmpool/${NS}/${POOL} from 3 to 4 replicas`,
    ]);
  });

  it("a command that changed nothing is remembered too, so its replay cannot act later", async () => {
    const noop = signed(`scale ${NS}/${POOL} 3`, "noop.1");
    await send(noop);
    await send(signed(`scale ${NS}/${POOL} 5`, "noop.2"));
    expect(await replicas()).toBe(5);
    posts.length = 0;
    await send(noop);
    expect(await replicas()).toBe(5);
    expect(posts).toEqual([]);
  });

  it("a replay that finds the pool deleted and created again is refused", async () => {
    const first = signed(`scale ${NS}/${POOL} +1`, "recreated.1");
    await send(first);
    expect(await replicas()).toBe(4);
    // creationTimestamp has whole seconds: the new pool must be visibly younger than the signed request.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await h.kube.delete("VirtualMachinePool", NS, POOL);
    await createSeedPool(h.kube, POOL, NS);
    posts.length = 0;
    await send(first);
    expect(await replicas()).toBe(3);
    expect(posts.map((p) => p.body.text)).toEqual([expect.stringContaining("PoolNewerThanCommand")]);
  });

  it("when the pool's delivery memory is full, new commands are refused rather than forgetting one", async () => {
    const seconds = Math.floor(clock.getTime() / 1000);
    const full = Array.from({ length: MAX_REMEMBERED_DELIVERIES }, (_, i) => `slack-full${i}@${seconds - i}`);
    await h.kube.patch(
      "VirtualMachinePool",
      NS,
      POOL,
      { metadata: { annotations: { [DELIVERIES_ANNOTATION]: full.join(" ") } } },
      "merge",
    );
    await send(signed(`scale ${NS}/${POOL} +1`, "full.1"));
    expect(await replicas()).toBe(3);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body.text).toMatch(
      /^That did not work\n.*try again in about \d+ minutes?.*\nTooManyCommands$/s,
    );
    const kept = (await h.kube.get("VirtualMachinePool", NS, POOL))?.metadata.annotations?.[
      DELIVERIES_ANNOTATION
    ];
    expect(kept).toBe(full.join(" "));

    // Once the oldest remembered delivery is past the memory window, there is room again.
    clock = new Date(clock.getTime() + (DELIVERY_MEMORY_SECONDS - MAX_REMEMBERED_DELIVERIES + 2) * 1000);
    h.setNow(clock);
    posts.length = 0;
    await send(signed(`scale ${NS}/${POOL} +1`, "full.2"));
    expect(await replicas()).toBe(4);
    expect(posts.map((p) => p.body.text.split("\n")[0])).toEqual([
      `Scaled vmpool/${NS}/${POOL} from 3 to 4 replicas`,
    ]);
  });

  it("a job that waited longer than its age limit is not run, and the user is told", async () => {
    const outcome = await h.chatops.worker.run({
      source: "slack",
      text: `scale ${NS}/${POOL} +1`,
      subject: {
        userId: "U2147483697",
        userName: "alice",
        channelId: "C2147483705",
        channelName: "ops",
      },
      responseUrl: RESPONSE_URL,
      deliveryKey: "slack-late",
      receivedAt: new Date(clock.getTime() - (MAX_JOB_AGE_SECONDS + 1) * 1000).toISOString(),
    });
    expect(outcome.result).toMatchObject({ kind: "error", reason: "CommandExpired" });
    expect(await replicas()).toBe(3);
    expect(posts.map((p) => p.body.text)).toEqual([expect.stringContaining("CommandExpired")]);
  });
});
