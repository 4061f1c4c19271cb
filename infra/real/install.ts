/**
 * What a fresh real control plane needs before the product runs on it: KubeVirt's CRDs from
 * `infra/kubernetes/crds/` (waiting until each is Established), the functions' namespace, ServiceAccount and
 * least-privilege ClusterRole from `infra/kubernetes/`, and a token for that ServiceAccount, so the functions
 * run as they would in a cluster, not as admin. Everything is applied server-side, so a restart changes nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { call, type Endpoint, until } from "./http";

export const MANIFEST_DIR = resolve(import.meta.dirname, "../kubernetes");
export const CRD_DIR = join(MANIFEST_DIR, "crds");
/** The manifests of infra/kubernetes the functions' identity comes from (the Deployment is not run here). */
const IDENTITY_MANIFESTS = ["00-namespace.yaml", "10-rbac.yaml"];
const FIELD_MANAGER = "vmpool-control-plane";

const objectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional() }),
});
type Manifest = z.infer<typeof objectSchema>;

/** The REST path of each kind these manifests hold. */
const PATHS: Record<string, (m: Manifest) => string> = {
  CustomResourceDefinition: (m) =>
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${m.metadata.name}`,
  Namespace: (m) => `/api/v1/namespaces/${m.metadata.name}`,
  ServiceAccount: (m) =>
    `/api/v1/namespaces/${m.metadata.namespace ?? "default"}/serviceaccounts/${m.metadata.name}`,
  ClusterRole: (m) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${m.metadata.name}`,
  ClusterRoleBinding: (m) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${m.metadata.name}`,
  ValidatingWebhookConfiguration: (m) =>
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${m.metadata.name}`,
};

/** The admission webhook configuration in infra/kubernetes (issue 12). */
const ADMISSION_MANIFEST = "40-admission.yaml";

/** Every document of the YAML files given, parsed and checked. */
export function readManifests(files: readonly string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const value = doc.toJS();
      if (value === null || value === undefined) continue;
      const parsed = objectSchema.safeParse(value);
      if (!parsed.success)
        throw new Error(`${file}: not a Kubernetes object (${parsed.error.issues[0]?.message})`);
      out.push(parsed.data);
    }
  }
  return out;
}

/** Server-side applies one object (force: we own these objects). */
async function apply(admin: Endpoint, manifest: Manifest): Promise<void> {
  const path = PATHS[manifest.kind];
  if (!path) throw new Error(`cannot install a ${manifest.kind}`);
  const reply = await call(
    admin,
    "PATCH",
    `${path(manifest)}?fieldManager=${FIELD_MANAGER}&force=true`,
    JSON.stringify(manifest),
    "application/apply-patch+yaml",
  );
  if (reply.status >= 300)
    throw new Error(`apply ${manifest.kind} ${manifest.metadata.name}: ${reply.status} ${reply.body}`);
}

/** The CRD files, sorted. */
export function crdFiles(): string[] {
  return readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(CRD_DIR, f));
}

/** Installs KubeVirt's CRDs and waits until the API server serves each. */
export async function installCrds(admin: Endpoint): Promise<string[]> {
  const crds = readManifests(crdFiles());
  for (const crd of crds) await apply(admin, crd);
  const established = z.object({
    status: z.object({ conditions: z.array(z.object({ type: z.string(), status: z.string() })).default([]) }),
  });
  for (const crd of crds) {
    await until(
      async () => {
        const reply = await call(admin, "GET", PATHS.CustomResourceDefinition?.(crd) ?? "");
        const parsed = established.safeParse(JSON.parse(reply.body));
        return (
          parsed.success &&
          parsed.data.status.conditions.some((c) => c.type === "Established" && c.status === "True")
        );
      },
      30_000,
      `CRD ${crd.metadata.name} Established`,
    );
  }
  return crds.map((c) => c.metadata.name);
}

const tokenReplySchema = z.object({ status: z.object({ token: z.string().min(1) }) });

/**
 * Applies the functions' namespace, ServiceAccount, ClusterRole and binding, and returns a token of that
 * ServiceAccount (a TokenRequest, valid `hours`).
 */
export async function installFunctionIdentity(
  admin: Endpoint,
  hours = 24 * 7,
): Promise<{ token: string; user: string }> {
  const manifests = readManifests(IDENTITY_MANIFESTS.map((f) => join(MANIFEST_DIR, f)));
  for (const manifest of manifests) await apply(admin, manifest);
  const sa = manifests.find((m) => m.kind === "ServiceAccount");
  if (!sa) throw new Error("infra/kubernetes/10-rbac.yaml has no ServiceAccount");
  const namespace = sa.metadata.namespace ?? "default";
  const reply = await call(
    admin,
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa.metadata.name}/token`,
    JSON.stringify({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: hours * 3600 },
    }),
  );
  const parsed = tokenReplySchema.safeParse(reply.status === 201 ? JSON.parse(reply.body) : undefined);
  if (!parsed.success)
    throw new Error(`TokenRequest for ${namespace}/${sa.metadata.name}: ${reply.status} ${reply.body}`);
  return { token: parsed.data.status.token, user: `system:serviceaccount:${namespace}:${sa.metadata.name}` };
}

/**
 * Applies infra/kubernetes' ValidatingWebhookConfiguration with every webhook's clientConfig pointing at `url`
 * (the function server's HTTPS listener, e.g. https://127.0.0.1:<port>/hooks/admission) and trusting `caPem`.
 * Returns the configuration's name.
 */
export async function installAdmissionWebhook(admin: Endpoint, url: string, caPem: string): Promise<string> {
  const [config] = readManifests([join(MANIFEST_DIR, ADMISSION_MANIFEST)]);
  if (!config) throw new Error(`infra/kubernetes/${ADMISSION_MANIFEST} is empty`);
  const webhooks = z.array(z.looseObject({ name: z.string() })).parse(config.webhooks);
  const caBundle = Buffer.from(caPem).toString("base64");
  await apply(admin, {
    ...config,
    webhooks: webhooks.map((w) => ({ ...w, clientConfig: { url, caBundle } })),
  });
  return config.metadata.name;
}

/** Removes the admission webhook configuration (a stopped function server must not be called). */
export async function removeAdmissionWebhook(admin: Endpoint): Promise<void> {
  const [config] = readManifests([join(MANIFEST_DIR, ADMISSION_MANIFEST)]);
  if (!config) return;
  await call(admin, "DELETE", PATHS.ValidatingWebhookConfiguration?.(config) ?? "");
}
