/**
 * Shared by the chat-ops tests: signed Slack and Mattermost requests built from the real payload fixtures, a
 * policy file, a local HTTP receiver standing in for `response_url`, a runtime over a test cluster that records
 * reconcile requests (and runs the real pass), and the seed pool from `examples/vm-pool-cirros.yaml`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { type Chatops, type ChatopsOptions, createChatops } from "../../functions/chatops";
import { type PoolRef, type Runtime, settingsFromEnv } from "../../functions/runtime";
import { parseResponseUrlOrigins, signSlackRequest } from "../../shared/chatops";
import { createKube, type Kube, type NewObject } from "../../shared/kube";
import { seededRandom } from "../../shared/planning";
import { reconcilePool } from "../../shared/reconcile";
import type { FunctionsCluster } from "../support/reconcile";

export const SLACK_SECRET = "slack-signing-secret-for-tests-0123";
export const MATTERMOST_TOKEN = "mattermost-token-for-tests-0123456";

/** The Slack fixture's user and channel: alice in #ops. */
export const ALICE = {
  userId: "U2147483697",
  userName: "alice",
  channelId: "C2147483705",
  channelName: "ops",
};

const FIXTURES = join(import.meta.dirname, "../fixtures");

export function fixture<T = Record<string, string>>(path: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as T;
}

/** A Slack slash-command form body: the fixture with `fields` overriding (undefined removes a field). */
export function slackBody(fields: Record<string, string | undefined>): string {
  const base: Record<string, string | undefined> = { ...fixture("slack/slash-command.json"), ...fields };
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(base)) if (value !== undefined) form.set(key, value);
  return form.toString();
}

/** A Mattermost form body from its fixture. */
export function mattermostBody(fields: Record<string, string | undefined>): string {
  const base: Record<string, string | undefined> = { ...fixture("mattermost/slash-command.json"), ...fields };
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(base)) if (value !== undefined) form.set(key, value);
  return form.toString();
}

/** Headers Slack would send for `body` at `now` (seconds): timestamp and v0 signature. */
export function slackHeaders(body: string, now: Date, secret = SLACK_SECRET): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": timestamp,
    "x-slack-signature": signSlackRequest(secret, timestamp, body),
  };
}

/** Writes a policy document and returns its path. */
export function writePolicy(dir: string, name: string, yaml: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

/**
 * alice (by id) from #ops may do everything in `default` up to 20 replicas; bob (the Mattermost fixture's user,
 * by id) may only read.
 */
export const TEAM_POLICY = `
groups:
  readers: [q5s3wogmo3bgdrsw8yzgutcbvh, U0READER]
rules:
  - name: oncall
    users: [${ALICE.userId}]
    channels: [${ALICE.channelId}]
    namespaces: [default]
    verbs: [read, scale, pause, autoscale, release]
    maxReplicas: 20
  - name: readers
    groups: [readers]
    namespaces: ["*"]
    verbs: [read]
`;

/** A 127.0.0.1 HTTP server standing in for Slack's `response_url`: records every JSON body posted to it. */
export interface Receiver {
  readonly url: string;
  readonly posts: Array<{ readonly path: string; readonly body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const posts: Receiver["posts"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posts.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ChatopsHarness {
  readonly kube: Kube;
  readonly runtime: Runtime;
  readonly chatops: Chatops;
  /** Every `requestReconcile` call, in order. */
  readonly reconciles: Array<{ readonly ref: PoolRef; readonly reason: string }>;
  /** Moves the runtime's clock (Slack timestamps are checked against it). */
  setNow(now: Date): void;
}

/**
 * A chat-ops instance over the test cluster, as the functions' own identity where the cluster has one.
 * `requestReconcile` records the call and, unless `reconcile: false`, runs the real reconcile pass for the pool
 * (so a scale creates the VMs).
 */
export function chatopsHarness(
  env: FunctionsCluster,
  options: {
    readonly policyFile?: string;
    readonly devMode?: boolean;
    readonly reconcile?: boolean;
    readonly env?: NodeJS.ProcessEnv;
    readonly chatops?: ChatopsOptions;
  } = {},
): ChatopsHarness {
  const kube = createKube({ kind: "kubeconfig", path: env.functionsKubeconfig ?? env.kubeconfig });
  const reconciles: ChatopsHarness["reconciles"] = [];
  let now = new Date();
  let passes = 0;
  const runtime: Runtime = createRuntime({
    kube,
    secrets: { slackSigningSecret: SLACK_SECRET, mattermostToken: MATTERMOST_TOKEN },
    settings: settingsFromEnv({
      ...(options.policyFile ? { VMPOOL_CHATOPS_POLICY_FILE: options.policyFile } : {}),
      ...options.env,
    }),
    devMode: options.devMode ?? false,
    now: () => now,
    random: seededRandom(11),
    requestReconcile: async (ref, reason) => {
      reconciles.push({ ref, reason });
      if (options.reconcile === false) return;
      await reconcilePool(passDeps(runtime, `chatops-test-${++passes}`), ref);
    },
  });
  const chatops = createChatops(runtime, {
    settings: { responseUrlOrigins: parseResponseUrlOrigins("http://127.0.0.1:*"), eventBusName: "test-bus" },
    ...options.chatops,
  });
  return {
    kube,
    runtime,
    chatops,
    reconciles,
    setNow: (at) => {
      now = at;
    },
  };
}

/** Creates the seed pool from examples/vm-pool-cirros.yaml (3 replicas) under `name`. */
export async function createSeedPool(
  kube: Kube,
  name = "vm-pool-cirros",
  namespace = "default",
): Promise<void> {
  const text = readFileSync(join(import.meta.dirname, "../../examples/vm-pool-cirros.yaml"), "utf8");
  const pool = parseYaml(text.replaceAll("vm-pool-cirros", name)) as NewObject<"VirtualMachinePool">;
  await kube.create("VirtualMachinePool", { ...pool, metadata: { ...pool.metadata, namespace } });
}

/** Requests that may change the cluster (everything but get and list) since the last reset. */
export function writes(kube: Kube): number {
  return Object.entries(kube.stats().byVerb)
    .filter(([verb]) => verb !== "get" && verb !== "list")
    .reduce((sum, [, count]) => sum + count, 0);
}
