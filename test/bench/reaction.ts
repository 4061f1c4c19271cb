/**
 * Reaction (issue 12), side by side in one run on the embedded cluster: `kubectl scale` of a pool → its first VM
 * create and → its status converged (readyReplicas), p50 and p99, timer-only (reconcile-all every 10 s, `npm
 * start`'s default, nothing else) against event-driven (the API server's admission calls and follow-up passes,
 * the timer at 600 s); passes per pool for a burst of 1,000 VMI status updates (the coalescing ratio); and the
 * webhook's answer latency as the API server sees it (HTTPS call to verdict, every call of the run). Times are
 * read from the cluster's own change stream, from the moment the scale write is stored.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFunctionServer } from "../../infra/cli/server";
import { startLocalCluster } from "../../infra/local";
import { localAdmission } from "../../infra/local/webhook-install";
import type { WebhookCall } from "../../infra/local/webhooks";
import { createKube, type Kube, type NewObject } from "../../shared/kube";
import { kubectl, kubectlBinary } from "../support/kubectl";
import { reconciler } from "../support/reconcile";
import { defineSuite, measure, measureConcurrent, type Row, summarize } from "./harness";

const TIMER_MS = 10_000;
const POOLS = "virtualmachinepools.pool.kubevirt.io";
const VMS = "virtualmachines.kubevirt.io";
const VMIS = "virtualmachineinstances.kubevirt.io";

function pool(name: string, namespace: string, replicas: number): NewObject<"VirtualMachinePool"> {
  const labels = { "kubevirt.io/vmpool": name };
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      virtualMachineTemplate: {
        metadata: { labels },
        spec: {
          runStrategy: "Always",
          template: { metadata: { labels }, spec: { domain: { devices: {} } } },
        },
      },
    },
  };
}

interface Reaction {
  readonly firstCreateMs: number;
  readonly convergedMs: number;
}

type Store = Awaited<ReturnType<typeof startLocalCluster>>["store"];

/**
 * Times one scale of `ns/name` to `target` from the cluster's change stream: from the stored scale write to the
 * pool's first new VM, and to a status with `readyReplicas` and `replicas` at the target.
 */
function timeScale(store: Store, ns: string, name: string, target: number): Promise<Reaction> {
  return new Promise((resolve) => {
    let scaledAt: number | undefined;
    let firstCreateAt: number | undefined;
    const unsubscribe = store.subscribeAll((event) => {
      const obj = event.entry.obj;
      if (obj.metadata.namespace !== ns) return;
      const now = performance.now();
      if (event.resource === POOLS && obj.metadata.name === name) {
        const spec = obj.spec as { replicas?: number } | undefined;
        const status = obj.status as { replicas?: number; readyReplicas?: number } | undefined;
        if (scaledAt === undefined && spec?.replicas === target) scaledAt = now;
        if (
          scaledAt !== undefined &&
          firstCreateAt !== undefined &&
          status?.readyReplicas === target &&
          status.replicas === target
        ) {
          unsubscribe();
          resolve({ firstCreateMs: firstCreateAt - scaledAt, convergedMs: now - scaledAt });
        }
      } else if (
        event.resource === VMS &&
        event.type === "ADDED" &&
        scaledAt !== undefined &&
        firstCreateAt === undefined &&
        obj.metadata.name.startsWith(`${name}-`)
      ) {
        firstCreateAt = now;
      }
    });
  });
}

/** Resolves once every pool of `ns` has `readyReplicas` equal to its replicas (read from the store). */
function converged(store: Store, ns: string, count: number): boolean {
  const pools = store.list(POOLS, ns);
  return (
    pools.length === count &&
    pools.every((e) => {
      const spec = e.obj.spec as { replicas?: number };
      const status = e.obj.status as { readyReplicas?: number; replicas?: number } | undefined;
      return status?.readyReplicas === spec.replicas && status?.replicas === spec.replicas;
    })
  );
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const reaction = defineSuite("reaction", async (ctx) => {
  const samples = ctx.quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), "vmpool-bench-reaction-"));
  const calls: WebhookCall[] = [];
  const cluster = await startLocalCluster({
    port: 0,
    simulator: { startDelayMs: 200, stepDelayMs: 100 },
    webhooks: { onCall: (call) => calls.push(call) },
  });
  const kubeconfig = cluster.writeKubeconfig(join(dir, "kubeconfig"));
  const admin = createKube({ kind: "kubeconfig", path: kubeconfig });
  const binary = kubectlBinary("1.33");
  const k = binary ? kubectl(binary, kubeconfig) : undefined;
  /** `kubectl scale` as a user runs it (a merge patch of /scale where no kubectl is installed). */
  const scale = async (ns: string, name: string, replicas: number) => {
    if (k) {
      const done = await k.run(["-n", ns, "scale", "vmpool", name, "--replicas", String(replicas)]);
      if (done.code !== 0) throw new Error(`kubectl scale: ${done.stderr}`);
    } else await admin.scale("VirtualMachinePool", ns, name, replicas);
  };
  const createPools = async (kube: Kube, ns: string) => {
    await fetch(`${cluster.url}/api/v1/namespaces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: ns } }),
    });
    for (let i = 0; i < samples; i++) await kube.create("VirtualMachinePool", pool(`p${i}`, ns, 1));
  };
  try {
    // Timer-only: reconcile-all every 10 s and nothing else; pools scaled at staggered moments of the period.
    ctx.progress(
      `timer-only: ${samples} scales 1 → 2, one every ${TIMER_MS / samples} ms, reconcile-all every ${TIMER_MS / 1000} s`,
    );
    const r = reconciler({ kubeconfig });
    await createPools(admin, "timer");
    await waitFor(
      async () => {
        await r.tick();
        return converged(cluster.store, "timer", samples);
      },
      30_000,
      "the timer-only pools to converge",
    );
    let ticking = false;
    const timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      void r.tick().finally(() => {
        ticking = false;
      });
    }, TIMER_MS);
    const timerOnly = await Promise.all(
      Array.from({ length: samples }, async (_, i) => {
        await sleep((i * TIMER_MS) / samples);
        const timed = timeScale(cluster.store, "timer", `p${i}`, 2);
        await scale("timer", `p${i}`, 2);
        return timed;
      }),
    );
    clearInterval(timer);
    await waitFor(() => !ticking, 30_000, "the last timer pass");

    // Event-driven: the webhook installed, the timer at 600 s.
    ctx.progress(`event-driven: ${samples} scales 1 → 2, one after another`);
    const admission = localAdmission(cluster, dir);
    const functions = await startFunctionServer({
      source: { kind: "kubeconfig", path: kubeconfig },
      secrets: {},
      port: 0,
      devMode: true,
      schedule: true,
      intervalMs: 600_000,
      tls: { ...admission.webhookTls, port: 0 },
    });
    try {
      await admission.install(`${functions.httpsUrl}/hooks/admission`);
      await createPools(admin, "events");
      await waitFor(
        () => converged(cluster.store, "events", samples),
        30_000,
        "the event-driven pools to converge",
      );
      const eventDriven: Reaction[] = [];
      for (let i = 0; i < samples; i++) {
        const timed = timeScale(cluster.store, "events", `p${i}`, 2);
        await scale("events", `p${i}`, 2);
        eventDriven.push(await timed);
      }

      // Coalescing: 1,000 VMI status updates of one converged pool, 16 in flight.
      const updates = ctx.quick ? 200 : 1000;
      ctx.progress(`coalescing: ${updates} VMI status updates of one pool`);
      await admin.create("VirtualMachinePool", pool("burst", "events", 5));
      await waitFor(
        () => converged(cluster.store, "events", samples + 1),
        30_000,
        "the burst pool to converge",
      );
      const passes = async () => {
        const text = await (await fetch(`${functions.url}/metrics`)).text();
        return [...text.matchAll(/^vmpool_passes_total\{[^}]*\} (\d+)/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
      };
      // Let the follow-ups of the convergence run out first.
      let settled = await passes();
      for (let quiet = 0; quiet < 3; ) {
        await sleep(1000);
        const now = await passes();
        quiet = now === settled ? quiet + 1 : 0;
        settled = now;
      }
      const vmis = cluster.store.list(VMIS, "events").filter((e) => e.obj.metadata.name.startsWith("burst-"));
      const callsBefore = calls.length;
      const burst = await measureConcurrent(updates, 16, async (i) => {
        const vmi = vmis[i % vmis.length]?.obj.metadata.name ?? "";
        const res = await fetch(
          `${cluster.url}/apis/kubevirt.io/v1/namespaces/events/virtualmachineinstances/${vmi}`,
          {
            method: "PATCH",
            headers: { "content-type": "application/merge-patch+json" },
            body: JSON.stringify({ status: { guestOSInfo: { name: `bench-${i}` } } }),
          },
        );
        if (res.status !== 200) throw new Error(`VMI update: ${res.status} ${await res.text()}`);
      });
      const burstCalls = calls.length - callsBefore;
      let after = await passes();
      for (let quiet = 0; quiet < 3; ) {
        await sleep(1000);
        const now = await passes();
        quiet = now === after ? quiet + 1 : 0;
        after = now;
      }
      const burstPasses = after - settled;

      // The webhook alone: a VMI update's AdmissionReview POSTed over one kept-alive HTTPS connection, one at a time.
      const direct = ctx.quick ? 200 : 1000;
      ctx.progress(`webhook: ${direct} AdmissionReviews one after another`);
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: admission.caPem });
      const vmi = vmis[0]?.obj;
      const post = () =>
        new Promise<void>((resolve, reject) => {
          const body = JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: {
              uid: randomUUID(),
              kind: { group: "kubevirt.io", version: "v1", kind: "VirtualMachineInstance" },
              resource: { group: "kubevirt.io", version: "v1", resource: "virtualmachineinstances" },
              name: vmi?.metadata.name,
              namespace: "events",
              operation: "UPDATE",
              userInfo: { username: "system:serviceaccount:kubevirt:kubevirt-handler" },
              object: vmi,
              oldObject: vmi,
              dryRun: false,
              options: { kind: "UpdateOptions", apiVersion: "meta.k8s.io/v1" },
            },
          });
          const req = request(
            `${functions.httpsUrl}/hooks/admission?timeout=2s`,
            { method: "POST", agent, headers: { "content-type": "application/json" } },
            (res) => {
              res.resume();
              res.on("end", () =>
                res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
              );
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      const alone = summarize(await measure(post, { iterations: direct, warmup: 20 }));
      agent.destroy();

      const answered = (list: readonly WebhookCall[]) =>
        summarize(list.filter((c) => c.outcome === "allowed").map((c) => c.ms));
      const quiet = answered(calls.slice(0, callsBefore));
      const loaded = answered(calls.slice(callsBefore));
      const t = {
        first: summarize(timerOnly.map((x) => x.firstCreateMs)),
        status: summarize(timerOnly.map((x) => x.convergedMs)),
      };
      const e = {
        first: summarize(eventDriven.map((x) => x.firstCreateMs)),
        status: summarize(eventDriven.map((x) => x.convergedMs)),
      };
      const versus = (timer: number) => ({
        value: timer,
        better: "lower" as const,
        label: `timer-only: ${Math.round(timer).toLocaleString("en-US")} ms`,
      });
      const notes = `${samples} scales 1 → 2 each; embedded cluster, simulator VMIs Ready ~0.5 s after create; timer every ${TIMER_MS / 1000} s`;
      const rows: Row[] = [
        {
          benchmark: "kubectl scale → first VM create, p50, event-driven vs timer-only",
          figure: e.first.p50,
          unit: "ms",
          target: versus(t.first.p50),
          notes,
        },
        {
          benchmark: "kubectl scale → first VM create, p99, event-driven vs timer-only",
          figure: e.first.p99,
          unit: "ms",
          target: versus(t.first.p99),
        },
        {
          benchmark: "kubectl scale → status converged (readyReplicas), p50, event-driven vs timer-only",
          figure: e.status.p50,
          unit: "ms",
          target: versus(t.status.p50),
        },
        {
          benchmark: "kubectl scale → status converged (readyReplicas), p99, event-driven vs timer-only",
          figure: e.status.p99,
          unit: "ms",
          target: versus(t.status.p99),
        },
        {
          benchmark: `coalescing: passes of one pool for ${updates.toLocaleString("en-US")} VMI status updates (16 in flight)`,
          figure: (burstPasses * 1000) / updates,
          unit: "per 1,000",
          target: { value: 10, better: "lower" },
          notes: `${burstPasses} passes for ${burstCalls.toLocaleString("en-US")} admission calls (the simulator's writes included) in a ${(burst.elapsedMs / 1000).toFixed(1)} s burst; debounce 50 ms, one pass at a time`,
        },
        {
          benchmark: `webhook answer latency, p99: ${direct.toLocaleString("en-US")} VMI AdmissionReviews, one at a time over HTTPS keep-alive`,
          figure: alone.p99,
          unit: "ms",
          target: { value: 10, better: "lower" },
          notes: `p50 ${alone.p50.toFixed(2)} ms; the answer never waits for the pass it asks for`,
        },
        {
          benchmark: `webhook answer latency as the API server sees it, p99, during the scales (${quiet.count.toLocaleString("en-US")} calls)`,
          figure: quiet.p99,
          unit: "ms",
          target: { value: 10, better: "lower" },
          notes: `p50 ${quiet.p50.toFixed(2)} ms; HTTPS call to verdict; timeoutSeconds 2; the function server shares one process with the API server and the simulator`,
        },
        {
          benchmark: `webhook answer latency as the API server sees it, p99, during the burst (${loaded.count.toLocaleString("en-US")} calls)`,
          figure: loaded.p99,
          unit: "ms",
          target: { value: 2000, better: "lower", label: "timeout 2,000 ms" },
          notes: `p50 ${loaded.p50.toFixed(2)} ms, max ${loaded.max.toFixed(1)} ms; 16 writers and the passes in the same process`,
        },
      ];
      return rows;
    } finally {
      await functions.stop();
    }
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
