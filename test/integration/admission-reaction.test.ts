/**
 * Reaction through admission (issue 12, "Must show"), on the embedded API server and on kube-apiserver where it
 * is built: the function server answers POST /hooks/admission over HTTPS (a certificate the API server trusts
 * through the caBundle of infra/kubernetes/40-admission.yaml), and with the timer effectively off (600 s, as
 * `npm start -- --interval-ms 600000`) creating the seed pool gives its 3 VMs within 2 s and `readyReplicas` 3
 * within 2 s after the last VMI turned Ready; `kubectl scale … --replicas 5` gives the new VMs within 1 s; the
 * same for the seed's VMIRS. Then the webhook unreachable, slow and answering errors: every API write still
 * succeeds (failurePolicy Ignore, timeoutSeconds 2) and the timer alone converges every pool.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type FunctionServer, startFunctionServer } from "../../infra/cli/server";
import { createKube, type Kube } from "../../shared/kube";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { startTestWebhook, type TestWebhook } from "../support/webhook-server";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33");

/** Polls every 10 ms until `check` holds; resolves performance.now() of the first time it did. */
async function when(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isReady = (obj: { status?: Record<string, unknown> | undefined }) =>
  ((obj.status?.conditions as { type?: string; status?: string }[] | undefined) ?? []).some(
    (c) => c.type === "Ready" && c.status === "True",
  );

describeClusters(
  "reaction through the API server's admission calls",
  (kind) => {
    let cluster: SuiteCluster;
    let functions: FunctionServer | undefined;
    let admin: Kubectl;
    let kube: Kube;

    beforeAll(async () => {
      cluster = await startSuiteCluster(kind, { simulator: { startDelayMs: 200, stepDelayMs: 100 } });
      admin = kubectl(binary as string, cluster.kubeconfig);
      kube = createKube({ kind: "kubeconfig", path: cluster.kubeconfig });
    }, 180_000);
    afterAll(async () => {
      await functions?.stop();
      await cluster?.close();
    });

    const start = async (intervalMs: number) => {
      await functions?.stop();
      functions = await startFunctionServer({
        source: { kind: "kubeconfig", path: cluster.functionsKubeconfig },
        secrets: {},
        port: 0,
        devMode: true,
        schedule: true,
        intervalMs,
        tls: { ...cluster.admission.webhookTls, port: 0 },
      });
      return functions;
    };

    const poolVms = async (ns: string) =>
      (await kube.list("VirtualMachine", { namespace: ns })).filter((vm) =>
        vm.metadata.name.startsWith("vm-pool-cirros-"),
      );
    const rsVmis = async (ns: string) =>
      (await kube.list("VirtualMachineInstance", { namespace: ns })).filter((vmi) =>
        (vmi.metadata.ownerReferences ?? []).some((o) => o.name === "testreplicaset"),
      );

    it("timer off: the seed pool's VMs within 2 s, its status within 2 s of the last Ready VMI, a scale within 1 s", async () => {
      const server = await start(600_000);
      await cluster.admission.install(`${server.httpsUrl}/hooks/admission`);
      const created = performance.now();
      const applied = await admin.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")]);
      expect(applied.stderr).toBe("");
      const vms = await when(async () => (await poolVms("default")).length >= 3, 2000, "3 VMs");
      const ready = await when(
        async () => {
          const vmis = (await kube.list("VirtualMachineInstance", { namespace: "default" })).filter((v) =>
            v.metadata.name.startsWith("vm-pool-cirros-"),
          );
          return vmis.length === 3 && vmis.every(isReady);
        },
        15_000,
        "3 Ready VMIs",
      );
      const status = await when(
        async () =>
          (await kube.get("VirtualMachinePool", "default", "vm-pool-cirros"))?.status?.readyReplicas === 3,
        2000,
        "readyReplicas 3 within 2 s of the last Ready VMI",
      );
      const scaling = performance.now();
      const scaled = await admin.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"]);
      expect(scaled.code).toBe(0);
      const acknowledged = performance.now();
      const five = await when(async () => (await poolVms("default")).length >= 5, 1000, "5 VMs within 1 s");
      process.stdout.write(
        `[${kind}] create → 3 VMs ${(vms - created).toFixed(0)} ms; last VMI Ready → readyReplicas 3 ${(status - ready).toFixed(0)} ms; kubectl scale → 5 VMs ${(five - acknowledged).toFixed(0)} ms after the write (${(five - scaling).toFixed(0)} ms with kubectl's start)\n`,
      );
      // Nothing but the API server's calls and their follow-ups ran a pass: the timer fires every 600 s.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/route="\/hooks\/admission",status="200"/);
    }, 60_000);

    it("timer off: the seed VMIRS's VMIs within 2 s, its status within 2 s of the last Ready VMI, a scale within 1 s", async () => {
      const created = performance.now();
      const applied = await admin.run(["apply", "-f", join(EXAMPLES, "vmirs.yaml")]);
      expect(applied.code).toBe(0);
      const vmis = await when(async () => (await rsVmis("default")).length >= 2, 2000, "2 VMIs");
      const ready = await when(
        async () => {
          const all = await rsVmis("default");
          return all.length === 2 && all.every(isReady);
        },
        15_000,
        "2 Ready VMIs",
      );
      const status = await when(
        async () =>
          (await kube.get("VirtualMachineInstanceReplicaSet", "default", "testreplicaset"))?.status
            ?.readyReplicas === 2,
        2000,
        "readyReplicas 2 within 2 s of the last Ready VMI",
      );
      const scaled = await admin.run(["scale", "vmirs", "testreplicaset", "--replicas", "5"]);
      expect(scaled.code).toBe(0);
      const acknowledged = performance.now();
      const five = await when(async () => (await rsVmis("default")).length >= 5, 1000, "5 VMIs within 1 s");
      process.stdout.write(
        `[${kind}] VMIRS create → 2 VMIs ${(vmis - created).toFixed(0)} ms; last VMI Ready → readyReplicas 2 ${(status - ready).toFixed(0)} ms; kubectl scale → 5 VMIs ${(five - acknowledged).toFixed(0)} ms\n`,
      );
    }, 60_000);

    /** Creates the seed pool and VMIRS in `ns`, scales the pool to 4, and waits for the timer to converge both. */
    async function writesSucceedAndTimerConverges(ns: string): Promise<void> {
      for (const args of [
        ["create", "namespace", ns],
        ["-n", ns, "create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")],
        ["-n", ns, "apply", "-f", join(EXAMPLES, "vmirs.yaml")],
        ["-n", ns, "scale", "vmpool", "vm-pool-cirros", "--replicas", "4"],
      ]) {
        const result = await admin.run(args);
        // The seed VMIRS is written at the deprecated kubevirt.io/v1alpha3, which both servers warn about.
        const stderr = result.stderr.replace(/^Warning: kubevirt\.io\/v1alpha3 is now deprecated.*\n/m, "");
        expect({ args, code: result.code, stderr }).toEqual({ args, code: 0, stderr: "" });
      }
      await eventually(
        async () => {
          const pool = await kube.get("VirtualMachinePool", ns, "vm-pool-cirros");
          const rs = await kube.get("VirtualMachineInstanceReplicaSet", ns, "testreplicaset");
          return pool?.status?.readyReplicas === 4 && rs?.status?.readyReplicas === 2 ? true : undefined;
        },
        60_000,
        `the timer converging the pools in ${ns}`,
      );
    }

    it("the webhook unreachable: writes succeed and the timer converges every pool", async () => {
      await start(1000);
      const gone = await startTestWebhook(() => ({ kind: "allow" }), cluster.admission.webhookTls);
      const url = gone.url;
      await gone.close();
      await cluster.admission.install(url);
      await writesSucceedAndTimerConverges("webhook-unreachable");
    }, 120_000);

    it("the webhook slow or answering errors: writes succeed and the timer converges every pool", async () => {
      let broken: TestWebhook | undefined;
      try {
        // Pools and their scale never answered (the 2 s timeout), VMs 500, VMIs an answer for another request.
        broken = await startTestWebhook((review) => {
          const resource = (review.request.resource as { resource?: string } | undefined)?.resource ?? "";
          if (resource === "virtualmachinepools" || resource === "virtualmachineinstancereplicasets")
            return { kind: "hang" };
          if (resource === "virtualmachines") return { kind: "http", code: 500, body: "boom" };
          return {
            kind: "raw",
            body: () => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
          };
        }, cluster.admission.webhookTls);
        await cluster.admission.install(broken.url);
        await writesSucceedAndTimerConverges("webhook-broken");
        const resources = new Set(
          broken.received.map((r) => (r.review.request.resource as { resource: string }).resource),
        );
        expect([...resources].sort()).toEqual([
          "virtualmachineinstancereplicasets",
          "virtualmachineinstances",
          "virtualmachinepools",
          "virtualmachines",
        ]);
      } finally {
        await broken?.close();
      }
    }, 120_000);

    it("failurePolicy Fail and a denial: the API server's own refusals, as kubectl shows them", async () => {
      let denying: TestWebhook | undefined;
      try {
        denying = await startTestWebhook(
          () => ({ kind: "deny", status: { code: 403, reason: "Forbidden", message: "pools are frozen" } }),
          cluster.admission.webhookTls,
        );
        const gone = await startTestWebhook(() => ({ kind: "allow" }), cluster.admission.webhookTls);
        const closed = gone.url;
        await gone.close();
        const config = (name: string, url: string) =>
          JSON.stringify({
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingWebhookConfiguration",
            metadata: { name: "strict" },
            webhooks: [
              {
                name,
                admissionReviewVersions: ["v1"],
                sideEffects: "None",
                failurePolicy: "Fail",
                timeoutSeconds: 1,
                clientConfig: { url },
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "strict" } },
                rules: [
                  {
                    apiGroups: ["pool.kubevirt.io"],
                    apiVersions: ["*"],
                    operations: ["CREATE"],
                    resources: ["virtualmachinepools"],
                  },
                ],
              },
            ],
          });
        expect((await admin.run(["create", "namespace", "strict"])).code).toBe(0);
        expect(
          (await admin.run(["apply", "-f", "-"], config("down.test.vmpool-functions.io", closed))).code,
        ).toBe(0);
        const port = new URL(closed).port;
        const failed = await admin.run([
          "-n",
          "strict",
          "create",
          "-f",
          join(EXAMPLES, "vm-pool-cirros.yaml"),
        ]);
        expect(failed.code).toBe(1);
        expect(failed.stderr).toBe(
          `Error from server (InternalError): error when creating "${join(EXAMPLES, "vm-pool-cirros.yaml")}": Internal error occurred: failed calling webhook "down.test.vmpool-functions.io": failed to call webhook: Post "${closed}?timeout=1s": dial tcp 127.0.0.1:${port}: connect: connection refused\n`,
        );
        const caBundle = Buffer.from(cluster.admission.caPem).toString("base64");
        const denial = JSON.parse(config("deny.test.vmpool-functions.io", denying.url));
        denial.webhooks[0].clientConfig.caBundle = caBundle;
        expect((await admin.run(["apply", "-f", "-"], JSON.stringify(denial))).code).toBe(0);
        const denied = await admin.run([
          "-n",
          "strict",
          "create",
          "-f",
          join(EXAMPLES, "vm-pool-cirros.yaml"),
        ]);
        expect(denied.stderr).toBe(
          `Error from server (Forbidden): error when creating "${join(EXAMPLES, "vm-pool-cirros.yaml")}": admission webhook "deny.test.vmpool-functions.io" denied the request: pools are frozen\n`,
        );
        expect(denying.received).toHaveLength(1);
      } finally {
        await admin.run(["delete", "validatingwebhookconfiguration", "strict", "--ignore-not-found"]);
        await denying?.close();
      }
    }, 60_000);

    it("sends the AdmissionReview kube-apiserver sends for kubectl create, scale and delete", async () => {
      await functions?.stop();
      functions = undefined;
      const recorder = await startTestWebhook(() => ({ kind: "allow" }), cluster.admission.webhookTls);
      try {
        const config = {
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "ValidatingWebhookConfiguration",
          metadata: { name: "recorder" },
          webhooks: [
            {
              name: "recorder.test.vmpool-functions.io",
              admissionReviewVersions: ["v1"],
              sideEffects: "None",
              failurePolicy: "Ignore",
              timeoutSeconds: 2,
              clientConfig: {
                url: recorder.url,
                caBundle: Buffer.from(cluster.admission.caPem).toString("base64"),
              },
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "review" } },
              rules: [
                {
                  apiGroups: ["pool.kubevirt.io"],
                  apiVersions: ["v1alpha1"],
                  operations: ["*"],
                  resources: ["virtualmachinepools", "virtualmachinepools/scale"],
                },
              ],
            },
          ],
        };
        expect((await admin.run(["apply", "-f", "-"], JSON.stringify(config))).code).toBe(0);
        expect((await admin.run(["create", "namespace", "review"])).code).toBe(0);
        for (const args of [
          ["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")],
          ["scale", "vmpool", "vm-pool-cirros", "--replicas", "2"],
          ["delete", "vmpool", "vm-pool-cirros", "--wait=false"],
        ])
          expect((await admin.run(["-n", "review", ...args])).code).toBe(0);
        const shape = (o: unknown) => {
          if (o === null || typeof o !== "object") return o;
          const obj = o as {
            apiVersion?: string;
            kind?: string;
            metadata?: Record<string, unknown>;
            spec?: { replicas?: number };
          };
          return {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
            uid: typeof obj.metadata?.uid,
            replicas: obj.spec?.replicas,
            fields: Object.keys(obj).sort(),
            metadata: Object.keys(obj.metadata ?? {}).sort(),
          };
        };
        const seen = recorder.received.map(({ review, query }) => {
          const { uid, userInfo, object, oldObject, ...rest } = review.request as Record<string, unknown>;
          return {
            query,
            keys: Object.keys(review.request).sort(),
            uid: typeof uid,
            // Who the user is differs (kube-apiserver's token file gives its admin a uid too); that it is sent does not.
            userInfo: Object.keys(userInfo as object)
              .filter((k) => k !== "uid")
              .sort(),
            ...rest,
            object: shape(object),
            oldObject: shape(oldObject),
          };
        });
        // A create's object is not stored yet: no resourceVersion.
        const pool = (version: string, replicas: number, stored: boolean) => ({
          apiVersion: `pool.kubevirt.io/${version}`,
          kind: "VirtualMachinePool",
          name: "vm-pool-cirros",
          namespace: "review",
          uid: "string",
          replicas,
          fields: ["apiVersion", "kind", "metadata", "spec"],
          metadata: [
            "creationTimestamp",
            "generation",
            "managedFields",
            "name",
            "namespace",
            ...(stored ? ["resourceVersion"] : []),
            "uid",
          ],
        });
        const scale = (replicas: number) => ({
          apiVersion: "autoscaling/v1",
          kind: "Scale",
          name: "vm-pool-cirros",
          namespace: "review",
          uid: "string",
          replicas,
          fields: ["apiVersion", "kind", "metadata", "spec", "status"],
          metadata: ["creationTimestamp", "name", "namespace", "resourceVersion", "uid"],
        });
        // kubectl create writes at the file's version (v1alpha1); scale and delete at the preferred one.
        const common = (operation: string, requestVersion = "v1beta1") => ({
          query: "timeout=2s",
          uid: "string",
          userInfo: ["groups", "username"],
          kind: { group: "pool.kubevirt.io", version: "v1alpha1", kind: "VirtualMachinePool" },
          resource: { group: "pool.kubevirt.io", version: "v1alpha1", resource: "virtualmachinepools" },
          requestKind: { group: "pool.kubevirt.io", version: requestVersion, kind: "VirtualMachinePool" },
          requestResource: {
            group: "pool.kubevirt.io",
            version: requestVersion,
            resource: "virtualmachinepools",
          },
          name: "vm-pool-cirros",
          namespace: "review",
          operation,
          dryRun: false,
        });
        const keys = [
          "dryRun",
          "kind",
          "name",
          "namespace",
          "object",
          "oldObject",
          "operation",
          "options",
          "requestKind",
          "requestResource",
          "resource",
          "uid",
          "userInfo",
        ];
        const subKeys = [...keys, "requestSubResource", "subResource"].sort();
        expect(seen).toEqual([
          {
            ...common("CREATE", "v1alpha1"),
            keys,
            options: {
              kind: "CreateOptions",
              apiVersion: "meta.k8s.io/v1",
              fieldManager: "kubectl-create",
              fieldValidation: "Strict",
            },
            object: pool("v1alpha1", 3, false),
            oldObject: null,
          },
          {
            ...common("UPDATE"),
            keys: subKeys,
            kind: { group: "autoscaling", version: "v1", kind: "Scale" },
            requestKind: { group: "autoscaling", version: "v1", kind: "Scale" },
            subResource: "scale",
            requestSubResource: "scale",
            options: { kind: "UpdateOptions", apiVersion: "meta.k8s.io/v1" },
            object: scale(2),
            oldObject: scale(3),
          },
          {
            ...common("DELETE"),
            keys,
            options: { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1", propagationPolicy: "Background" },
            object: null,
            oldObject: pool("v1alpha1", 2, true),
          },
        ]);
      } finally {
        await admin.run(["delete", "validatingwebhookconfiguration", "recorder", "--ignore-not-found"]);
        await recorder.close();
      }
    }, 60_000);
  },
  binary ? undefined : "no kubectl.1.33 found",
);
