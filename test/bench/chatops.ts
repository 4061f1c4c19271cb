/**
 * Chat-ops acknowledgement latency: correctly signed Slack slash commands sent over real HTTP to the function app on
 * 127.0.0.1, timed until the acknowledgement is read (Slack allows 3 s). The sender runs in its own process, as
 * Slack would, at a steady rate; every command is a `status` of a pool in a local cluster, so each acknowledged
 * command also runs in the background (cluster reads, a post to a local response_url receiver) while later
 * requests are timed, as on the Node server. The function, the receiver and the local API server share this
 * process, so the figures include the cluster's work too. A second figure times the handler alone, in process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createFunctionApp } from "../../functions/app";
import { createRuntime } from "../../functions/bootstrap";
import { createChatops } from "../../functions/chatops";
import { settingsFromEnv } from "../../functions/runtime";
import { startLocalCluster } from "../../infra/local";
import { parseResponseUrlOrigins, signSlackRequest } from "../../shared/chatops";
import { createKube, type NewObject } from "../../shared/kube";
import { defineSuite, type Row, summarize } from "./harness";

const SECRET = "bench-signing-secret-0123456789abcdef";
const ACK_P99_TARGET_MS = 50;
const WARMUP = 50;
/** Commands per second from the sender: far above any real chat workspace, and a steady background load. */
const RATE_PER_S = 20;

const POOL: NewObject<"VirtualMachinePool"> = {
  metadata: { name: "bench-pool", namespace: "default" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { "kubevirt.io/vmpool": "bench-pool" } },
    virtualMachineTemplate: {
      metadata: { labels: { "kubevirt.io/vmpool": "bench-pool" } },
      spec: {
        runStrategy: "Always",
        template: {
          metadata: { labels: { "kubevirt.io/vmpool": "bench-pool" } },
          spec: { domain: { devices: {} } },
        },
      },
    },
  },
};

/** The form Slack would post for `/vmpool status bench-pool`. */
function form(responseUrl: string, triggerId: string): string {
  return new URLSearchParams({
    team_id: "T1",
    channel_id: "C1",
    channel_name: "ops",
    user_id: "U1",
    user_name: "bench",
    command: "/vmpool",
    text: "status bench-pool",
    response_url: responseUrl,
    trigger_id: triggerId,
  }).toString();
}

function signed(body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": timestamp,
    "x-slack-signature": signSlackRequest(SECRET, timestamp, body),
  };
}

/**
 * The sender, as plain JavaScript for a separate `node` process: signs each form the way Slack does (v0 HMAC), sends
 * it, times the acknowledgement, keeps the rate, and prints the samples (ms) as JSON.
 */
const CLIENT = `
import { createHmac } from "node:crypto";
const { TARGET, SECRET, RESPONSE_URL, COUNT, WARMUP, GAP_MS } = process.env;
const samples = [];
for (let i = 0; i < Number(WARMUP) + Number(COUNT); i++) {
  const body = new URLSearchParams({
    team_id: "T1", channel_id: "C1", channel_name: "ops", user_id: "U1", user_name: "bench",
    command: "/vmpool", text: "status bench-pool", response_url: RESPONSE_URL, trigger_id: "client." + i,
  }).toString();
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = "v0=" + createHmac("sha256", SECRET).update("v0:" + ts + ":" + body).digest("hex");
  const start = performance.now();
  const response = await fetch(TARGET, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": signature },
    body,
  });
  const text = await response.text();
  const ms = performance.now() - start;
  if (response.status !== 200 || !text.includes("Working on")) {
    process.stderr.write("unexpected acknowledgement " + response.status + ": " + text.slice(0, 200) + "\\n");
    process.exit(1);
  }
  if (i >= Number(WARMUP)) samples.push(ms);
  const wait = Number(GAP_MS) - ms;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
process.stdout.write(JSON.stringify(samples));
`;

function runClient(options: {
  readonly url: string;
  readonly responseUrl: string;
  readonly count: number;
  readonly gapMs: number;
}): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT], {
      env: {
        PATH: process.env.PATH ?? "",
        TARGET: options.url,
        SECRET,
        RESPONSE_URL: options.responseUrl,
        COUNT: String(options.count),
        WARMUP: String(WARMUP),
        GAP_MS: String(options.gapMs),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(JSON.parse(out) as number[]);
      else reject(new Error(`sender exited with ${code}: ${err.trim()}`));
    });
  });
}

export const chatops = defineSuite("chatops", async (ctx) => {
  const requests = ctx.quick ? 200 : 1_000;
  const dir = mkdtempSync(join(tmpdir(), "bench-chatops-"));
  const cluster = await startLocalCluster({ port: 0, simulator: false });
  let posted = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      posted++;
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const responseUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/response`;
  let server: ReturnType<typeof serve> | undefined;
  try {
    const kubeconfig = cluster.writeKubeconfig(join(dir, "kubeconfig"));
    const policyFile = join(dir, "policy.yaml");
    writeFileSync(policyFile, "rules: [{users: [U1], namespaces: [default], verbs: [read]}]\n");
    const kube = createKube({ kind: "kubeconfig", path: kubeconfig });
    await kube.create("VirtualMachinePool", POOL);
    const runtime = createRuntime({
      kube,
      secrets: { slackSigningSecret: SECRET },
      settings: settingsFromEnv({ VMPOOL_CHATOPS_POLICY_FILE: policyFile }),
      devMode: false,
      requestReconcile: async () => {},
    });
    const chat = createChatops(runtime, {
      settings: { responseUrlOrigins: parseResponseUrlOrigins("http://127.0.0.1:*"), eventBusName: "bench" },
    });
    const app = createFunctionApp(runtime, [() => chat.routes]);
    server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/slack`;

    ctx.progress(`${requests} signed requests from a sender process at ${RATE_PER_S}/s`);
    const http = summarize(await runClient({ url, responseUrl, count: requests, gapMs: 1000 / RATE_PER_S }));
    await chat.idle();

    ctx.progress(`${requests} in-process requests`);
    const handlerSamples: number[] = [];
    for (let i = 0; i < WARMUP + requests; i++) {
      await chat.idle();
      const body = form(responseUrl, `inproc.${i}`);
      const start = performance.now();
      const response = await app.request("/hooks/slack", { method: "POST", headers: signed(body), body });
      await response.text();
      if (i >= WARMUP) handlerSamples.push(performance.now() - start);
    }
    await chat.idle();
    const handler = summarize(handlerSamples);

    const note = `${requests} requests at ${RATE_PER_S}/s from another process, each running status in the background`;
    return [
      {
        benchmark: "signed Slack request → ack over HTTP, p99",
        figure: http.p99,
        unit: "ms",
        target: { value: ACK_P99_TARGET_MS, better: "lower" },
        notes: note,
      },
      { benchmark: "signed Slack request → ack over HTTP, p50", figure: http.p50, unit: "ms", notes: note },
      {
        benchmark: "handler alone (in process, no socket), p99",
        figure: handler.p99,
        unit: "ms",
        target: { value: ACK_P99_TARGET_MS, better: "lower" },
        notes:
          "verify, parse, authorize, queue and render one command; background work drained between requests",
      },
      {
        benchmark: "results posted to response_url",
        figure: posted,
        unit: "",
        target: { value: 2 * (requests + WARMUP), better: "higher" },
        notes: "every acknowledged command (warm-ups included) finished and posted its result",
      },
    ] satisfies Row[];
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
