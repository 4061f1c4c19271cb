/**
 * The Lambda bundles as Lambda runs them: every discovered function is built (into a temp directory, not `dist/`),
 * checked against the size budget and its zip, copied outside the repository (no `node_modules` anywhere above),
 * and invoked in a fresh `node` process with fixture events, configured only by environment variables, against a
 * real local cluster. AWS calls (chat-ops publishing its job) go to a stand-in on 127.0.0.1 via the SDK's
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`; the chat reply goes to the same stand-in as `response_url`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltFunction,
  buildFunctions,
  discoverFunctions,
  MAX_BUNDLE_BYTES,
  REPO_ROOT,
} from "../../infra/build";
import { createKube, type Kube } from "../../shared/kube";
import {
  type AwsStandIn,
  BUNDLE_SECRETS,
  copyBundle,
  functionUrlEvent,
  hasNodeModulesAbove,
  type Invocation,
  invokeFresh,
  lambdaEnv,
  readZip,
  startAwsStandIn,
} from "../support/bundle-runner";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import { autoscaleHpa, seedPool } from "./autoscale-support";
import { ALICE, slackBody, slackHeaders, TEAM_POLICY, writePolicy } from "./chatops-support";

const FUNCTIONS = discoverFunctions(REPO_ROOT).map((fn) => fn.name);
const FIXTURES = join(import.meta.dirname, "../fixtures");
const fixture = (path: string) =>
  JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Record<string, unknown>;

let tmp: string;
let built: Map<string, BuiltFunction>;
let env: TestCluster;
let kube: Kube;
let standIn: AwsStandIn;
let childEnv: Record<string, string>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "vmpool-bundle-"));
  const results = await buildFunctions({ outdir: join(tmp, "build") });
  built = new Map(results.map((fn) => [fn.name, fn]));
  env = await startTestCluster({ simulator: false });
  kube = createKube({ kind: "kubeconfig", path: env.kubeconfig });
  standIn = await startAwsStandIn();
  childEnv = lambdaEnv({
    kubeconfig: env.kubeconfig,
    home: tmp,
    standIn,
    policyFile: writePolicy(tmp, "policy", TEAM_POLICY),
  });
}, 180_000);

afterAll(async () => {
  await standIn?.close();
  await env?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function bundleOf(name: string): BuiltFunction {
  const fn = built.get(name);
  if (fn === undefined) throw new Error(`${name} was not built`);
  return fn;
}

/** One cold invocation of the bundle, copied to its own directory outside the repository. */
function invoke(name: string, event: unknown): Promise<Invocation> {
  const dir = join(tmp, "run", name);
  return invokeFresh({ module: copyBundle(bundleOf(name).bundle, dir), event, env: childEnv, workdir: dir });
}

/** A function URL (payload 2.0) request on the reconcile fixture's shape. */
function urlEvent(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  base64 = false,
) {
  return functionUrlEvent(fixture("eventbridge/function-url-reconcile.json"), {
    method,
    path,
    headers,
    body,
    base64,
  });
}

interface HttpAnswer {
  statusCode: number;
  body: string;
}

async function replicas(name: string): Promise<number | undefined> {
  return (await kube.getScale("VirtualMachinePool", "default", name))?.spec?.replicas;
}

/** Fixture invocations per function; every discovered function must have at least one. */
const CASES: Record<string, Array<readonly [string, (name: string) => Promise<void>]>> = {
  reconcile: [
    [
      "a scheduled EventBridge event runs a reconcile-all pass that creates the pool's VMs",
      async (name) => {
        await kube.create("VirtualMachinePool", seedPool("bundled-reconcile", 2) as never);
        const { result, error } = await invoke(name, fixture("eventbridge/scheduled-event.json"));
        expect(error).toBeUndefined();
        expect(result).toMatchObject({ ok: true });
        expect((result as { results: unknown[] }).results).toContainEqual(
          expect.objectContaining({ name: "bundled-reconcile", outcome: "Acted" }),
        );
        const vms = (await kube.list("VirtualMachine", { namespace: "default" })).map(
          (vm) => vm.metadata.name,
        );
        expect(vms).toEqual(expect.arrayContaining(["bundled-reconcile-0", "bundled-reconcile-1"]));
      },
    ],
    [
      "a function URL POST /reconcile with the bearer token answers 200 with the pass",
      async (name) => {
        const event = urlEvent(
          "POST",
          "/reconcile",
          { authorization: `Bearer ${BUNDLE_SECRETS.VMPOOL_RECONCILE_TOKEN}` },
          JSON.stringify({ namespace: "default", name: "bundled-reconcile", dryRun: true }),
        );
        const { result } = await invoke(name, event);
        const answer = result as HttpAnswer;
        expect(answer.statusCode).toBe(200);
        expect(JSON.parse(answer.body).results).toEqual([
          expect.objectContaining({ name: "bundled-reconcile", outcome: "DryRun" }),
        ]);
      },
    ],
    [
      "a function URL POST /reconcile without the token answers 401",
      async (name) => {
        const { result } = await invoke(name, urlEvent("POST", "/reconcile", {}, "{}"));
        expect((result as HttpAnswer).statusCode).toBe(401);
      },
    ],
    [
      "a body of the wrong type answers 400 with zod's English message (the build keeps only that locale)",
      async (name) => {
        const headers = { authorization: `Bearer ${BUNDLE_SECRETS.VMPOOL_RECONCILE_TOKEN}` };
        const { result } = await invoke(name, urlEvent("POST", "/reconcile", headers, '{"dryRun":"yes"}'));
        const answer = result as HttpAnswer;
        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body).error.message).toBe(
          "body: dryRun: Invalid input: expected boolean, received string",
        );
      },
    ],
  ],
  autoscale: [
    [
      "a CloudWatch alarm state change scales the pool its HPA targets",
      async (name) => {
        await kube.create("VirtualMachinePool", seedPool("bundled-autoscale", 3) as never);
        await kube.create("HorizontalPodAutoscaler", autoscaleHpa("bundled-autoscale"));
        const event = fixture("cloudwatch/alarm-cpu-high.json") as {
          detail: {
            configuration: {
              metrics: Array<{ metricStat: { metric: { dimensions: Record<string, string> } } }>;
            };
          };
        };
        const dimensions = event.detail.configuration.metrics[0]?.metricStat.metric.dimensions;
        if (dimensions === undefined) throw new Error("fixture without dimensions");
        dimensions.pool = "bundled-autoscale";
        const { result, error } = await invoke(name, { ...event, time: new Date().toISOString() });
        expect(error).toBeUndefined();
        expect(result).toMatchObject({
          kind: "report",
          report: { results: [{ outcome: "Scaled", from: 3, to: 6 }] },
        });
        expect(await replicas("bundled-autoscale")).toBe(6);
      },
    ],
    [
      "a function URL POST /hooks/alertmanager without the token answers 401",
      async (name) => {
        const body = JSON.stringify(fixture("alertmanager/firing-cpu-high.json"));
        const { result } = await invoke(name, urlEvent("POST", "/hooks/alertmanager", {}, body));
        expect((result as HttpAnswer).statusCode).toBe(401);
      },
    ],
  ],
  chatops: [
    [
      "a signed Slack command is acknowledged and published; the published job, delivered back, scales the pool",
      async (name) => {
        await kube.create("VirtualMachinePool", seedPool("bundled-chatops", 2) as never);
        const responseUrl = `${standIn.url}/response/1`;
        const body = slackBody({ text: "scale default/bundled-chatops 4", response_url: responseUrl });
        const event = urlEvent(
          "POST",
          "/hooks/slack",
          slackHeaders(body, new Date(), BUNDLE_SECRETS.VMPOOL_SLACK_SIGNING_SECRET),
          body,
          true,
        );
        const ack = await invoke(name, event);
        expect(ack.error).toBeUndefined();
        expect((ack.result as HttpAnswer).statusCode).toBe(200);
        expect(standIn.putEvents).toHaveLength(1);
        const entry = standIn.putEvents[0]?.Entries[0];
        expect(entry).toMatchObject({ Source: "vmpool-functions", DetailType: "Chat Command Requested" });
        expect(JSON.parse(entry?.Detail ?? "{}")).toMatchObject({
          text: "scale default/bundled-chatops 4",
          subject: { userId: ALICE.userId },
        });

        const delivered = {
          ...fixture("slack/chat-command-requested.json"),
          detail: JSON.parse(entry?.Detail ?? "{}"),
        };
        const work = await invoke(name, delivered);
        expect(work.error).toBeUndefined();
        expect(work.result).toMatchObject({ ok: true });
        expect(await replicas("bundled-chatops")).toBe(4);
        expect(JSON.stringify(standIn.replies)).toContain("bundled-chatops");
      },
    ],
  ],
};

describe("Lambda bundles", () => {
  it("finds the functions to bundle", () => {
    expect(FUNCTIONS).toEqual(expect.arrayContaining(["reconcile"]));
    expect(hasNodeModulesAbove(tmp)).toBe(false);
  });

  describe.each(FUNCTIONS)("%s", (name) => {
    it("exports handler, fits the size budget, and its zip holds exactly index.mjs", () => {
      const fn = bundleOf(name);
      expect(fn.exports).toContain("handler");
      expect(fn.bundleBytes).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
      const entries = readZip(readFileSync(fn.zip));
      expect(entries.map((e) => [e.name, e.mode])).toEqual([["index.mjs", 0o100644]]);
      expect(entries[0]?.data.equals(readFileSync(fn.bundle))).toBe(true);
      expect(readFileSync(fn.bundle, "utf8")).toMatch(
        /^import\{createRequire as __vmpoolCreateRequire\}from"node:module";/,
      );
    });

    it("loads in a fresh node process outside the repository; a stray event causes no load error", async () => {
      const { exports, error, result } = await invoke(name, { hello: "world" });
      expect(exports).toContain("handler");
      // Whatever the function makes of it, a stray event must not crash the runtime's import or first call.
      expect(error?.message ?? "").not.toMatch(/Dynamic require|Cannot find (module|package)|is not defined/);
      expect(result === undefined && error === undefined).toBe(false);
    });

    it("has fixture cases", () => {
      expect(CASES[name]?.length ?? 0).toBeGreaterThan(0);
    });

    it.each(CASES[name] ?? [])("%s", async (_label, run) => {
      await run(name);
    });
  });
});
