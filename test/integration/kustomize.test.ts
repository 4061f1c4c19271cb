/**
 * infra/kubernetes is a kustomize base (issue 14, item 3): real kubectl's built-in kustomize renders it to exactly
 * the manifests' documents, the example overlay (examples/kustomize) moves everything to its namespace and image,
 * and kube-apiserver accepts both renderings in a server-side dry-run apply where the real control plane is built.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { realSkipReason, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { kubectl, kubectlBinary } from "../support/kubectl";
import { kustomizationResources, MANIFEST_DIR, manifestDocuments } from "../support/rbac";

const ROOT = join(import.meta.dirname, "../..");
const OVERLAY = join(ROOT, "examples/kustomize");
const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32");

type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
};

const key = (d: Doc) => `${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`;

function documents(yaml: string): Doc[] {
  return parseAllDocuments(yaml).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors[0]?.message);
    return d.toJS() as Doc;
  });
}

describe("infra/kubernetes as a kustomize base", () => {
  it("lists every manifest of the directory, and nothing else", () => {
    const files = readdirSync(MANIFEST_DIR).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...kustomizationResources()].sort()).toEqual(files.sort());
  });

  const itk = binary ? it : it.skip;
  if (!binary) it.skip("kubectl.1.33 / 1.32 is not installed next to kubectl on PATH", () => {});

  itk("renders (kubectl kustomize) to exactly the manifests' documents", async () => {
    const rendered = await kubectl(binary as string, "/dev/null").run(["kustomize", MANIFEST_DIR]);
    expect(rendered.stderr).toBe("");
    const byKey = new Map(documents(rendered.stdout).map((d) => [key(d), d]));
    const files = manifestDocuments().map((m) => m.doc as Doc);
    expect([...byKey.keys()].sort()).toEqual(files.map(key).sort());
    for (const doc of files) expect(byKey.get(key(doc)), key(doc)).toEqual(doc);
  });

  itk(
    "the example overlay moves every object to its namespace and image, webhooks and bindings included",
    async () => {
      const rendered = await kubectl(binary as string, "/dev/null").run(["kustomize", OVERLAY]);
      expect(rendered.stderr).toBe("");
      const docs = documents(rendered.stdout);
      const ns = "platform-vmpool";
      expect(docs.filter((d) => d.kind === "Namespace").map((d) => d.metadata.name)).toEqual([ns]);
      for (const d of docs.filter((d) => ["ServiceAccount", "Deployment", "Service"].includes(d.kind))) {
        expect(d.metadata.namespace, key(d)).toBe(ns);
      }
      const text = rendered.stdout;
      expect(text).not.toContain("vmpool-functions.svc");
      const binding = docs.find((d) => d.kind === "ClusterRoleBinding") as Doc & {
        subjects: { namespace: string }[];
      };
      expect(binding.subjects.map((s) => s.namespace)).toEqual([ns]);
      const deployment = docs.find((d) => d.kind === "Deployment") as Doc & {
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
      expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([
        "registry.example.com/platform/vmpool-functions:0.1.0",
      ]);
      const webhooks = (
        docs.find((d) => d.kind === "ValidatingWebhookConfiguration") as Doc & {
          webhooks: {
            clientConfig: { service: { namespace: string } };
            namespaceSelector: { matchExpressions: { key: string; values: string[] }[] };
          }[];
        }
      ).webhooks;
      expect(webhooks.length).toBeGreaterThan(0);
      for (const w of webhooks) {
        expect(w.clientConfig.service.namespace).toBe(ns);
        const excluded = w.namespaceSelector.matchExpressions.find(
          (e) => e.key === "kubernetes.io/metadata.name",
        );
        expect(excluded?.values).toContain(ns);
        expect(excluded?.values).not.toContain("vmpool-functions");
      }
    },
  );
});

const skip = binary ? realSkipReason() : "kubectl.1.33 / 1.32 is not installed next to kubectl on PATH";
describe.skipIf(skip !== undefined)(
  `kustomize renderings on kube-apiserver (server-side dry-run)${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let cluster: SuiteCluster;
    beforeAll(async () => {
      cluster = await startSuiteCluster("real");
    }, 180_000);
    afterAll(() => cluster?.close());

    it.each([
      ["the base", MANIFEST_DIR, "vmpool-functions"],
      ["the example overlay", OVERLAY, "platform-vmpool"],
    ])("accepts %s with kubectl apply --server-side --dry-run=server -k", async (_what, dir, ns) => {
      const k = kubectl(binary as string, cluster.kubeconfig);
      // A dry run creates nothing, so the objects in a new namespace need the namespace to exist already.
      const exists = await k.run(["get", "namespace", ns]);
      if (exists.code !== 0) expect((await k.run(["create", "namespace", ns])).code).toBe(0);
      // The launcher installed the ClusterRole and its binding already (as another field manager): take them over,
      // as an operator moving the functions to a new namespace would.
      const applied = await k.run([
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-k",
        dir,
      ]);
      expect(applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      for (const kind of [
        "namespace",
        "serviceaccount",
        "clusterrole.rbac.authorization.k8s.io",
        "clusterrolebinding.rbac.authorization.k8s.io",
        "deployment.apps",
        "service",
        "validatingwebhookconfiguration.admissionregistration.k8s.io",
      ]) {
        expect(applied.stdout).toMatch(
          new RegExp(`^${kind.replace(/\./g, "\\.")}/\\S+ serverside-applied \\(server dry run\\)$`, "m"),
        );
      }
      // Nothing was made: the overlay's Deployment does not exist after its dry run.
      expect((await k.run(["get", "deployment", "vmpool-functions", "-n", ns])).code).not.toBe(0);
    });
  },
);
