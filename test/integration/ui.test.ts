/**
 * `GET /ui` on the function server: who may open it (dev mode on loopback names only; a configured token as a
 * bearer or through `?token=`, which sets a cookie; otherwise a 404), what it shows (every pool with desired,
 * current and ready; names escaped), and — in headless Chromium (Debian's `chromium` driven by playwright-core)
 * — that the page renders the pools and that its chart shows a scale that just happened. With
 * `VMPOOL_UI_SCREENSHOT=<file.png>` the browser test also saves a screenshot (the README's comes from it).
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uiRoutes } from "../../functions/ui/routes";
import { autoscale } from "../../shared/autoscale";
import { devAllowAllPolicy, executeText, kubeChatopsPort } from "../../shared/chatops";
import { createKube, type Kube } from "../../shared/kube";
import { logger } from "../../shared/log";
import { seededRandom } from "../../shared/planning";
import { type PoolRef, reconcilePool } from "../../shared/reconcile";
import { startTestFunctionServer, type TestFunctionServer } from "../support/function-server";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";
import { autoscaleHpa, seedPool } from "./autoscale-support";
import { ALICE } from "./chatops-support";

const log = logger("ui-test");
const NS = "default";
const TOKEN = "ui-token-0123456789abcdef";
const CHROMIUM = "/usr/bin/chromium";

let cluster: TestCluster;
let kube: Kube;
/** The operator's writes, with kubectl's field manager. */
let admin: Kube;

/** A clock that starts `minutes` ago and moves on only when stepped, so the entries spread over the chart. */
function pastClock(minutes: number): { now: () => Date; step: (minutes: number) => void } {
  let t = Date.now() - minutes * 60_000;
  return {
    now: () => new Date(t),
    step: (m) => {
      t = Math.min(Date.now(), t + m * 60_000);
    },
  };
}

async function scaleByChat(name: string, replicas: number, now: () => Date): Promise<void> {
  const { result } = await executeText(`scale ${name} ${replicas}`, {
    port: kubeChatopsPort(kube, { log, now, random: seededRandom(3) }),
    policy: devAllowAllPolicy(),
    subject: ALICE,
    source: "slack",
    defaultNamespace: NS,
    replicaCeiling: 1000,
    now,
    log,
    requestReconcile: async () => {},
  });
  expect(result).toMatchObject({ kind: "scaled", to: replicas });
}

const pass = (name: string, now: () => Date) =>
  reconcilePool(
    { kube, log, now, random: seededRandom(5), holder: "ui-test" },
    { kind: "VirtualMachinePool", namespace: NS, name },
  );

/** Waits until the simulator made every VM of the pool ready, and its status says so. */
async function settle(name: string, now: () => Date): Promise<void> {
  await eventually(
    async () => {
      await pass(name, now);
      const pool = await kube.get("VirtualMachinePool", NS, name);
      const want = pool?.spec.replicas ?? 0;
      return pool?.status?.readyReplicas === want && pool.status.replicas === want ? true : undefined;
    },
    30_000,
    `${name} ready`,
  );
}

beforeAll(async () => {
  cluster = await startTestCluster();
  kube = createKube({ kind: "kubeconfig", path: cluster.kubeconfig });
  admin = createKube({ kind: "kubeconfig", path: cluster.kubeconfig }, { fieldManager: "kubectl-create" });
  // web: created with 2, autoscaled to 4 by its HPA, scaled by chat to 3 and then by kubectl to 5.
  const { now: clock, step } = pastClock(40);
  await admin.create("VirtualMachinePool", seedPool("web", 2) as never);
  await settle("web", clock);
  step(9);
  await admin.create("HorizontalPodAutoscaler", autoscaleHpa("web", { min: 1, max: 8, cpu: 50 }));
  const ref: PoolRef = { kind: "VirtualMachinePool", namespace: NS, name: "web" };
  const decided = await autoscale({ kube, log, now: clock, requestReconcile: async () => {} }, [
    { source: "metric-push", id: "s1", target: ref, metric: "cpu", kind: "observation", value: 100 },
  ]);
  expect(decided.results[0]).toMatchObject({ outcome: "Scaled", to: 4 });
  step(1);
  await settle("web", clock);
  step(12);
  await scaleByChat("web", 3, clock);
  step(1);
  await settle("web", clock);
  step(9);
  const kubectlScale = createKube(
    { kind: "kubeconfig", path: cluster.kubeconfig },
    { fieldManager: "kubectl" },
  );
  await kubectlScale.scale("VirtualMachinePool", NS, "web", 5);
  await settle("web", clock);
  step(3);
  // A second pool, scaled in the browser test.
  await admin.create("VirtualMachinePool", seedPool("db", 1) as never);
  await settle("db", clock);
}, 120_000);
afterAll(async () => cluster?.close());

describe("who may open /ui", () => {
  let dev: TestFunctionServer;
  let serve: TestFunctionServer;
  let tokened: TestFunctionServer;
  beforeAll(async () => {
    const routes = [uiRoutes];
    dev = await startTestFunctionServer({
      kubeconfig: cluster.kubeconfig,
      secrets: {},
      devMode: true,
      routes,
    });
    serve = await startTestFunctionServer({
      kubeconfig: cluster.kubeconfig,
      secrets: {},
      devMode: false,
      routes,
    });
    tokened = await startTestFunctionServer({
      kubeconfig: cluster.kubeconfig,
      secrets: { uiToken: TOKEN },
      devMode: false,
      routes,
    });
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), serve?.close(), tokened?.close()]);
  });

  it("dev mode: open on 127.0.0.1 and localhost, refused for any other Host (DNS rebinding)", async () => {
    const ok = await fetch(`${dev.url}/ui`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/html/u);
    expect(ok.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect((await dev.app.request("/ui", { headers: { host: "localhost:18080" } })).status).toBe(200);
    const rebound = await dev.app.request("/ui", { headers: { host: "evil.example:18080" } });
    expect(rebound.status).toBe(403);
  });

  it("vmpool serve / Lambda without a token: no page (404, as any unknown path)", async () => {
    const answer = await fetch(`${serve.url}/ui`);
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({ error: { reason: "NotFound", message: "no route for GET /ui" } });
  });

  it("with VMPOOL_UI_TOKEN: a bearer token, or ?token= once, then its cookie", async () => {
    expect((await fetch(`${tokened.url}/ui`)).status).toBe(401);
    expect(
      (await fetch(`${tokened.url}/ui`, { headers: { authorization: "Bearer wrong-token-0123456789" } }))
        .status,
    ).toBe(401);
    expect((await fetch(`${tokened.url}/ui`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${tokened.url}/ui?token=nope`, { redirect: "manual" })).status).toBe(401);
    const login = await fetch(`${tokened.url}/ui?token=${TOKEN}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/ui");
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^vmpool_ui=[^;]+; Max-Age=\d+; Path=\/ui; HttpOnly; SameSite=Strict$/u);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(";")[0] ?? "";
    expect((await fetch(`${tokened.url}/ui`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${tokened.url}/ui`, { headers: { cookie: "vmpool_ui=forged" } })).status).toBe(401);
  });

  it("shows every pool with desired, current and ready, and each decision with its actor, escaped", async () => {
    // Chat user names are the users' own: one that is markup must arrive as text.
    const { result } = await executeText("scale web 5", {
      port: kubeChatopsPort(kube, { log, now: () => new Date(), random: seededRandom(3) }),
      policy: devAllowAllPolicy(),
      subject: { ...ALICE, userName: '<img src=x onerror="alert(1)">' },
      source: "slack",
      defaultNamespace: NS,
      replicaCeiling: 1000,
      now: () => new Date(),
      log,
      requestReconcile: async () => {},
    });
    expect(result).toMatchObject({ kind: "scaled", from: 5, to: 5 });
    const html = await (await fetch(`${dev.url}/ui`)).text();
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toMatch(/<meta http-equiv="refresh" content="5"/u);
    expect(html).not.toContain("<script");
    for (const [pool, desired] of [
      ["vmpool/default/web", 5],
      ["vmpool/default/db", 1],
    ] as const) {
      const row = new RegExp(
        `<tr data-pool="${pool}">.*?data-field="desired">${desired}<.*?data-field="current">${desired}<.*?data-field="ready">${desired}<`,
        "su",
      );
      expect(html).toMatch(row);
    }
    expect(html).toContain(`hpa: ${NS}/web [cpu 100%/50%]`);
    expect(html).toContain(`chatops: alice (${ALICE.userId}) in #ops (${ALICE.channelId}) via Slack`);
    expect(html).toMatch(/manager: kubectl</u);
  });
});

const browserSkip = !existsSync(CHROMIUM)
  ? `no ${CHROMIUM} (apt-get install chromium)`
  : await import("playwright-core").then(
      () => undefined,
      () => "playwright-core is not installed",
    );

describe.skipIf(browserSkip !== undefined)(
  `/ui in headless Chromium${browserSkip ? ` (skipped: ${browserSkip})` : ""}`,
  () => {
    let server: TestFunctionServer;
    beforeAll(async () => {
      server = await startTestFunctionServer({ kubeconfig: cluster.kubeconfig, secrets: {}, devMode: true });
    });
    afterAll(async () => server?.close());

    it("renders the pools, and the chart shows a scale that just happened", async () => {
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
        await scaleByChat("db", 3, () => new Date());
        await page.goto(`${server.url}/ui`);
        const rows = page.locator("table.pools tbody tr");
        expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-pool")))).toEqual([
          "vmpool/default/db",
          "vmpool/default/web",
        ]);
        expect(
          await page.locator('tr[data-pool="vmpool/default/db"] [data-field="desired"]').textContent(),
        ).toBe("3");
        const chart = page.locator('svg[data-pool="vmpool/default/db"]');
        const box = await chart.boundingBox();
        const marker = chart.locator('circle[data-kind="chatops"][data-from="1"][data-to="3"]');
        const dot = await marker.boundingBox();
        expect(box && dot).toBeTruthy();
        if (!box || !dot) return;
        // The newest decision sits at the right end of the time axis and above where the count was.
        expect(dot.x).toBeGreaterThan(box.x + box.width * 0.85);
        const desired = await chart.locator('path[data-series="desired"]').getAttribute("d");
        expect(desired).toMatch(/V[\d.]+H[\d.]+$/u);
        expect(await marker.locator("title").textContent()).toContain("1 → 3 scaled (ChatOpsScale)");
        const screenshot = process.env.VMPOOL_UI_SCREENSHOT;
        if (screenshot) {
          await settle("db", () => new Date());
          await page.reload();
          await page.screenshot({ path: screenshot, fullPage: true });
        }
      } finally {
        await browser.close();
      }
    }, 60_000);
  },
);
