/**
 * Chat-ops end to end, as on `npm start` and `npm start -- --real`: the function app served over real HTTP on
 * 127.0.0.1 as the functions' own identity, the embedded or the real control plane with the seed pool created by
 * real kubectl from `examples/vm-pool-cirros.yaml`, signed Slack requests, a receiver standing in for Slack's
 * `response_url`, and the real reconcile pass behind `requestReconcile`. A signed `scale default/vm-pool-cirros 5`
 * scales the pool, creates the VMs, leaves an audit Event naming the user that `kubectl describe` shows, and
 * posts the result to the receiver; `status` answers there too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFunctionApp } from "../../functions/app";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import {
  ALICE,
  type ChatopsHarness,
  chatopsHarness,
  MATTERMOST_TOKEN,
  mattermostBody,
  type Receiver,
  slackBody,
  slackHeaders,
  startReceiver,
  TEAM_POLICY,
  writePolicy,
} from "./chatops-support";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33") ?? kubectlBinary("1.27");

describeClusters(
  "chat-ops end to end (real HTTP, real kubectl)",
  (kind) => {
    let env: SuiteCluster;
    let dir: string;
    let receiver: Receiver;
    let h: ChatopsHarness;
    let k: Kubectl;
    let server: ReturnType<typeof serve>;
    let url: string;

    beforeAll(async () => {
      env = await startSuiteCluster(kind, { simulator: { startDelayMs: 5, stepDelayMs: 5 } });
      dir = mkdtempSync(join(tmpdir(), "chatops-e2e-"));
      receiver = await startReceiver();
      h = chatopsHarness(env, { policyFile: writePolicy(dir, "team", TEAM_POLICY) });
      k = kubectl(binary as string, env.kubeconfig);
      const created = await k.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")]);
      expect(created.code, created.stderr).toBe(0);
      const app = createFunctionApp(h.runtime, [() => h.chatops.routes]);
      server = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await h?.chatops.idle();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await receiver?.close();
      await env?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const slack = async (text: string, extra: Record<string, string> = {}) => {
      const body = slackBody({
        text,
        response_url: `${receiver.url}/slack/${receiver.posts.length}`,
        ...extra,
      });
      h.setNow(new Date());
      const response = await fetch(`${url}/hooks/slack`, {
        method: "POST",
        headers: slackHeaders(body, new Date()),
        body,
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    it("a signed scale command answers at once, scales the pool, creates the VMs and posts the result", async () => {
      const before = receiver.posts.length;
      const ack = await slack("scale default/vm-pool-cirros 5");
      expect(ack.status).toBe(200);
      expect(ack.json).toMatchObject({ response_type: "ephemeral" });
      expect(ack.json.text).toContain("Working on: scale default/vm-pool-cirros 5");

      await h.chatops.idle();
      const pool = await h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
      expect(pool?.spec.replicas).toBe(5);
      expect(h.reconciles).toEqual([
        {
          ref: { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" },
          reason: "ChatOpsScale",
        },
      ]);
      const vms = await h.kube.list("VirtualMachine", {
        namespace: "default",
        labelSelector: "kubevirt.io/vmpool=vm-pool-cirros",
      });
      expect(vms.map((vm) => vm.metadata.name).sort()).toEqual(
        [0, 1, 2, 3, 4].map((i) => `vm-pool-cirros-${i}`),
      );

      const posted = receiver.posts.slice(before);
      expect(posted).toHaveLength(1);
      expect(posted[0]?.body).toMatchObject({ response_type: "in_channel" });
      expect(posted[0]?.body.text).toContain("Scaled vmpool/default/vm-pool-cirros from 3 to 5 replicas");
      expect(posted[0]?.body.text).toContain(`<@${ALICE.userId}>`);
      expect(Array.isArray(posted[0]?.body.blocks)).toBe(true);
    });

    it("the audit Event names the user and channel in kubectl describe", async () => {
      const described = await k.run(["describe", "vmpool", "vm-pool-cirros"]);
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toMatch(
        /Normal\s+ChatOpsScale\s+\S+\s+vmpool-chatops\s+Scaled from 3 to 5 replicas by alice \(U2147483697\) in #ops \(C2147483705\) via Slack/,
      );
    });

    it("status answers through the response_url with the counts and recent events", async () => {
      const ref = { kind: "VirtualMachinePool", namespace: "default", name: "vm-pool-cirros" } as const;
      // Readiness reaches the pool's status through reconcile passes, as the scheduler would run them.
      await eventually(
        async () => {
          await h.runtime.requestReconcile(ref, "test: converge");
          const pool = await h.kube.get("VirtualMachinePool", "default", "vm-pool-cirros");
          return pool?.status?.readyReplicas === 5 ? pool : undefined;
        },
        15_000,
        "5 ready replicas",
      );
      const before = receiver.posts.length;
      const ack = await slack("status vm-pool-cirros");
      expect(ack.status).toBe(200);
      await h.chatops.idle();
      const posted = receiver.posts.slice(before);
      expect(posted).toHaveLength(1);
      const reply = posted[0]?.body as { response_type: string; text: string };
      expect(reply.response_type).toBe("ephemeral");
      expect(reply.text).toContain("vmpool/default/vm-pool-cirros");
      expect(reply.text).toMatch(/Desired: 5\nCurrent: 5\nReady: 5/);
      // The newest events, kubectl-style: the VMs the reconcile pass created after the scale.
      expect(reply.text).toMatch(
        /Recent events:\n(• \d+s ago Normal SuccessfulCreate: Created VM default\/vm-pool-cirros-\d\n?){5}$/,
      );
    });

    it("a Mattermost status command with the right token is answered the same way", async () => {
      const body = mattermostBody({
        text: "status vm-pool-cirros",
        response_url: `${receiver.url}/mattermost`,
      });
      const before = receiver.posts.length;
      const response = await fetch(`${url}/hooks/mattermost`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Token ${MATTERMOST_TOKEN}`,
        },
        body: body.replace(/token=[^&]*/, `token=${MATTERMOST_TOKEN}`),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      // bob may read everywhere (policy group "readers").
      expect(await response.json()).toMatchObject({
        response_type: "ephemeral",
        text: expect.stringContaining("Working on"),
      });
      await h.chatops.idle();
      const posted = receiver.posts.slice(before);
      expect(posted.map((p) => p.path)).toEqual(["/mattermost"]);
      expect(posted[0]?.body.text).toContain("**Desired:** 5");
    });
  },
  binary ? undefined : "no kubectl.1.33/1.27 found",
);
