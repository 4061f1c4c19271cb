/**
 * `npm start -- --interval-ms 600000` (issue 12, "Must show"), wired as the command wires it: the function server
 * answers /hooks/admission over HTTPS with a certificate of the data directory's CA, infra/kubernetes'
 * ValidatingWebhookConfiguration is applied to the embedded server pointing there with that CA as caBundle, and
 * with the timer effectively off real kubectl's create and scale of the seed pool are acted on at once.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevHandle, parseDevFlags, startDev } from "../../infra/cli/dev";
import { createKube, type Kube } from "../../shared/kube";
import { type Kubectl, kubectl, kubectlBinary } from "../support/kubectl";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33");

/** Polls every 10 ms until `check` holds; fails after `timeoutMs`. */
async function within(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!binary)(
  `npm start: admission webhook on the embedded server${binary ? "" : " (skipped: no kubectl.1.33)"}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), "vmpool-dev-admission-"));
    const printed: string[] = [];
    let dev: DevHandle;
    let admin: Kubectl;
    let kube: Kube;

    beforeAll(async () => {
      dev = await startDev(
        parseDevFlags({
          "api-port": "0",
          port: "0",
          "data-dir": dir,
          "in-memory": true,
          "interval-ms": "600000",
        }),
        (line) => printed.push(line),
      );
      admin = kubectl(binary as string, dev.kubeconfigPath);
      kube = createKube({ kind: "kubeconfig", path: dev.kubeconfigPath });
    }, 60_000);
    afterAll(async () => {
      await dev?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("applies the webhook configuration pointing at the HTTPS listener, trusted through the data directory's CA", async () => {
      const line = printed.find((l) => l.startsWith("Admission webhook: "));
      const url = /^Admission webhook: (https:\/\/127\.0\.0\.1:\d+\/hooks\/admission) /.exec(line ?? "")?.[1];
      expect(url).toBeDefined();
      const got = await admin.run([
        "get",
        "validatingwebhookconfiguration",
        "vmpool-functions",
        "-o",
        "json",
      ]);
      expect(got.code).toBe(0);
      const config = JSON.parse(got.stdout) as {
        webhooks: { name: string; clientConfig: Record<string, unknown> }[];
      };
      const caBundle = Buffer.from(readFileSync(join(dir, "pki", "ca.crt"), "utf8")).toString("base64");
      expect(config.webhooks.map((w) => w.name)).toEqual([
        "pools.admission.vmpool-functions.io",
        "poolvms.admission.vmpool-functions.io",
        "vmis.admission.vmpool-functions.io",
      ]);
      for (const w of config.webhooks) expect(w.clientConfig).toEqual({ url, caBundle });
      // The same CA the local API server itself serves with, so one kubeconfig CA covers both.
      expect(dev.cluster?.security?.ca).toBe(readFileSync(join(dir, "pki", "ca.crt"), "utf8"));
    });

    it("with the timer at 600 s, creating the seed pool gives 3 VMs within 2 s and kubectl scale 5 within 1 s", async () => {
      const vms = async () =>
        (await kube.list("VirtualMachine", { namespace: "default" })).filter((vm) =>
          vm.metadata.name.startsWith("vm-pool-cirros-"),
        ).length;
      const created = performance.now();
      expect((await admin.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")])).code).toBe(0);
      await within(async () => (await vms()) === 3, 2000 - (performance.now() - created), "3 VMs");
      expect((await admin.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"])).code).toBe(0);
      await within(async () => (await vms()) === 5, 1000, "5 VMs");
    }, 30_000);
  },
);
