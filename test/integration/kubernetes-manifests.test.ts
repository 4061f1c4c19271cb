/**
 * The manifests in infra/kubernetes hang together and match the code: parsed with the `yaml` library and checked
 * with zod (the local cluster does not serve ServiceAccount, ClusterRole(Binding) or Deployment, so those cannot
 * be applied to it), cross-referenced (binding → role and service account, Service → pod labels and port, probes
 * and scrape annotations → the app's routes, env → every secret the server requires). Namespace and Service, which
 * the local cluster serves, are applied with real kubectl.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { settingsSchema } from "../../functions/runtime";
import { DEFAULT_SERVE_PORT, DEFAULT_TLS_PORT, parseServeEnv } from "../../infra/cli/serve";
import { OPTIONAL_SECRET_ENV, SECRET_ENV, SECRET_KEYS } from "../../shared/config";
import { kubectl, kubectlBinary } from "../support/kubectl";
import { startTestCluster, type TestCluster } from "../support/local-cluster";
import { MANIFEST_DIR, type ManifestDocument, manifestDocuments } from "../support/rbac";

const Meta = z.looseObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const HttpProbe = z.looseObject({
  httpGet: z.strictObject({ path: z.string(), port: z.union([z.string(), z.number()]) }),
});

const EnvVar = z.strictObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .strictObject({
      secretKeyRef: z.strictObject({ name: z.string(), key: z.string(), optional: z.boolean().optional() }),
    })
    .optional(),
});

const Container = z.looseObject({
  name: z.string(),
  image: z
    .string()
    .regex(/:[\w.-]+$/, "pin an image tag")
    .refine((i) => !i.endsWith(":latest"), "no :latest"),
  command: z.array(z.string()).min(1),
  args: z.array(z.string()).default([]),
  ports: z.array(
    z.looseObject({ name: z.string(), containerPort: z.number().int(), protocol: z.literal("TCP") }),
  ),
  env: z.array(EnvVar),
  readinessProbe: HttpProbe,
  livenessProbe: HttpProbe,
  startupProbe: HttpProbe,
  resources: z.looseObject({
    requests: z.record(z.string(), z.string()),
    limits: z.record(z.string(), z.string()),
  }),
  securityContext: z.looseObject({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.literal(true),
    capabilities: z.looseObject({ drop: z.tuple([z.literal("ALL")]) }),
  }),
});

const DeploymentSchema = z.looseObject({
  apiVersion: z.literal("apps/v1"),
  kind: z.literal("Deployment"),
  metadata: Meta,
  spec: z.looseObject({
    replicas: z.number().int().min(1),
    selector: z.strictObject({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.looseObject({
      metadata: Meta.omit({ name: true }),
      spec: z.looseObject({
        serviceAccountName: z.string(),
        securityContext: z.looseObject({
          runAsNonRoot: z.literal(true),
          seccompProfile: z.strictObject({ type: z.literal("RuntimeDefault") }),
        }),
        containers: z.array(Container).length(1),
      }),
    }),
  }),
});

const ServiceSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Service"),
  metadata: Meta,
  spec: z.looseObject({
    selector: z.record(z.string(), z.string()),
    ports: z.array(
      z.looseObject({
        name: z.string(),
        port: z.number().int(),
        targetPort: z.union([z.string(), z.number()]),
      }),
    ),
  }),
});

const ServiceAccountSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("ServiceAccount"),
  metadata: Meta,
});
const NamespaceSchema = z.looseObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Namespace"),
  metadata: Meta,
});
const BindingSchema = z.looseObject({
  apiVersion: z.literal("rbac.authorization.k8s.io/v1"),
  kind: z.literal("ClusterRoleBinding"),
  metadata: Meta,
  roleRef: z.strictObject({
    apiGroup: z.literal("rbac.authorization.k8s.io"),
    kind: z.literal("ClusterRole"),
    name: z.string(),
  }),
  subjects: z
    .array(z.strictObject({ kind: z.literal("ServiceAccount"), name: z.string(), namespace: z.string() }))
    .length(1),
});
const LabelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
const WebhookConfigurationSchema = z.looseObject({
  apiVersion: z.literal("admissionregistration.k8s.io/v1"),
  kind: z.literal("ValidatingWebhookConfiguration"),
  metadata: Meta,
  webhooks: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, "a fully qualified name"),
        admissionReviewVersions: z.array(z.string()),
        sideEffects: z.string(),
        failurePolicy: z.string(),
        timeoutSeconds: z.number().int().min(1),
        matchPolicy: z.string(),
        clientConfig: z.strictObject({
          service: z.strictObject({
            namespace: z.string(),
            name: z.string(),
            path: z.string(),
            port: z.number().int(),
          }),
        }),
        namespaceSelector: LabelSelector.optional(),
        objectSelector: LabelSelector.optional(),
        rules: z
          .array(
            z.strictObject({
              apiGroups: z.array(z.string()),
              apiVersions: z.array(z.string()),
              operations: z.array(z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"])),
              resources: z.array(z.string()),
              scope: z.enum(["Namespaced", "Cluster", "*"]),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});
const ClusterRoleMeta = z.looseObject({ kind: z.literal("ClusterRole"), metadata: Meta });

function one<S extends z.ZodType>(docs: readonly ManifestDocument[], kind: string, schema: S): z.infer<S> {
  const found = docs.filter((d) => d.doc.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return schema.parse(found[0]?.doc);
}

describe("infra/kubernetes manifests", () => {
  const docs = manifestDocuments();
  const namespace = one(docs, "Namespace", NamespaceSchema);
  const account = one(docs, "ServiceAccount", ServiceAccountSchema);
  const role = one(docs, "ClusterRole", ClusterRoleMeta);
  const binding = one(docs, "ClusterRoleBinding", BindingSchema);
  const deployment = one(docs, "Deployment", DeploymentSchema);
  const service = one(docs, "Service", ServiceSchema);
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0] as z.infer<typeof Container>;
  const http = container.ports.find((p) => p.name === "http");
  const https = container.ports.find((p) => p.name === "https");

  it("ships exactly these kinds, in an order kubectl apply -f can create them (namespace first), and no Secret", () => {
    expect(docs.map((d) => d.doc.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Service",
      "ValidatingWebhookConfiguration",
    ]);
  });

  describe("the admission webhooks (issue 12)", () => {
    const webhooks = one(docs, "ValidatingWebhookConfiguration", WebhookConfigurationSchema).webhooks;
    const rules = webhooks.flatMap((w) => w.rules.map((r) => ({ webhook: w.name, ...r })));
    const covered = (group: string, resource: string, operation: string) =>
      rules.some(
        (r) =>
          r.apiGroups.includes(group) &&
          r.resources.includes(resource) &&
          (r.operations as readonly string[]).includes(operation),
      );

    it("never block a write: Ignore, at most 2 s, v1 reviews, no side effects on dry runs", () => {
      for (const w of webhooks) {
        expect(w).toMatchObject({
          admissionReviewVersions: ["v1"],
          sideEffects: "NoneOnDryRun",
          failurePolicy: "Ignore",
          matchPolicy: "Equivalent",
        });
        expect(w.timeoutSeconds).toBeLessThanOrEqual(2);
      }
    });

    it("call the function server's Service on the admission route", () => {
      for (const w of webhooks) {
        expect(w.clientConfig.service).toEqual({
          namespace: namespace.metadata.name,
          name: service.metadata.name,
          path: "/hooks/admission",
          port: service.spec.ports.find((p) => p.name === "https")?.port,
        });
      }
    });

    it.each([
      ["pool.kubevirt.io", "virtualmachinepools", ["CREATE", "UPDATE"]],
      ["pool.kubevirt.io", "virtualmachinepools/scale", ["CREATE", "UPDATE"]],
      ["kubevirt.io", "virtualmachineinstancereplicasets", ["CREATE", "UPDATE"]],
      ["kubevirt.io", "virtualmachineinstancereplicasets/scale", ["CREATE", "UPDATE"]],
      // status writes reach a validating webhook only when the rule lists resource/status
      ["kubevirt.io", "virtualmachines", ["UPDATE", "DELETE"]],
      ["kubevirt.io", "virtualmachines/status", ["UPDATE"]],
      ["kubevirt.io", "virtualmachineinstances", ["UPDATE", "DELETE"]],
      ["kubevirt.io", "virtualmachineinstances/status", ["UPDATE"]],
    ])("cover %s %s on %j", (group, resource, operations) => {
      for (const operation of operations) expect(covered(group, resource, operation)).toBe(true);
    });

    it("keep traffic off the system namespaces and our own, and VMs to pool VMs", () => {
      for (const w of webhooks) {
        expect(w.namespaceSelector?.matchExpressions).toContainEqual({
          key: "kubernetes.io/metadata.name",
          operator: "NotIn",
          values: expect.arrayContaining(["kube-system", namespace.metadata.name]),
        });
      }
      const vms = webhooks.find((w) => w.rules.some((r) => r.resources.includes("virtualmachines")));
      expect(vms?.objectSelector?.matchExpressions).toEqual([
        { key: "kubevirt.io/vm-pool-revision-name", operator: "Exists" },
      ]);
    });
  });

  it("puts every namespaced object in the namespace", () => {
    for (const meta of [account.metadata, deployment.metadata, service.metadata]) {
      expect(meta.namespace).toBe(namespace.metadata.name);
    }
  });

  it("binds the ClusterRole to the service account the Deployment runs as", () => {
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects[0]).toEqual({
      kind: "ServiceAccount",
      name: account.metadata.name,
      namespace: namespace.metadata.name,
    });
    expect(pod.spec.serviceAccountName).toBe(account.metadata.name);
  });

  it("selects its own pods, and the Service routes to the http and https ports", () => {
    const podLabels = pod.metadata.labels ?? {};
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(http?.containerPort).toBe(DEFAULT_SERVE_PORT);
    expect(https?.containerPort).toBe(DEFAULT_TLS_PORT);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(["http", "https"]);
  });

  it("runs `vmpool serve` on the http and https ports, probed on /healthz, the TLS Secret optional", () => {
    expect([...container.command, ...container.args].join(" ")).toBe(
      `node infra/cli/vmpool.mjs serve --port ${http?.containerPort} --tls-port ${https?.containerPort}`,
    );
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(parseServeEnv(env)).toMatchObject({
      VMPOOL_TLS_CERT_FILE: "/etc/vmpool/tls/tls.crt",
      VMPOOL_TLS_KEY_FILE: "/etc/vmpool/tls/tls.key",
    });
    expect(pod.spec).toMatchObject({
      volumes: expect.arrayContaining([
        { name: "tls", secret: { secretName: "vmpool-functions-tls", optional: true } },
      ]),
    });
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: "/healthz", port: "http" });
    }
  });

  it("tells Prometheus to scrape /metrics on the http port (pod and Service)", () => {
    for (const annotations of [pod.metadata.annotations, service.metadata.annotations]) {
      expect(annotations).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(http?.containerPort),
        "prometheus.io/path": "/metrics",
      });
    }
  });

  it("takes every secret the server requires from one Secret (the optional ones as optional), and nothing else", () => {
    const fromSecrets = container.env.filter((e) => e.valueFrom);
    expect(new Set(fromSecrets.map((e) => e.valueFrom?.secretKeyRef.name)).size).toBe(1);
    expect(Object.fromEntries(fromSecrets.map((e) => [e.name, e.valueFrom?.secretKeyRef.key]))).toEqual({
      ...Object.fromEntries(SECRET_KEYS.map((k) => [SECRET_ENV[k], k])),
      ...Object.fromEntries(Object.entries(OPTIONAL_SECRET_ENV).map(([k, name]) => [name, k])),
    });
    for (const e of fromSecrets) {
      const optional = Object.values(OPTIONAL_SECRET_ENV).includes(e.name as never);
      expect(e.valueFrom?.secretKeyRef.optional ?? false, e.name).toBe(optional);
    }
  });

  it("sets only settings the functions accept", () => {
    const plain = Object.fromEntries(
      container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    expect(plain.VMPOOL_MANAGE).toBeDefined();
    expect(settingsSchema.safeParse(plain).success).toBe(true);
  });

  describe("applied with kubectl where the local cluster serves the kind", () => {
    const binary = kubectlBinary("1.33");
    let env: TestCluster;
    beforeAll(async () => {
      if (binary) env = await startTestCluster();
    });
    afterAll(async () => env?.close());
    const itk = binary ? it : it.skip;

    itk("creates the Namespace and the Service", async () => {
      const k = kubectl(binary as string, env.kubeconfig);
      for (const file of ["00-namespace.yaml", "30-service.yaml"]) {
        const applied = await k.run(["apply", "-f", join(MANIFEST_DIR, file)]);
        expect(applied.stderr).toBe("");
        expect(applied.code).toBe(0);
      }
      const got = await k.run(["get", "service", "vmpool-functions", "-n", "vmpool-functions", "-o", "json"]);
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({
        metadata: { annotations: { "prometheus.io/path": "/metrics" } },
        spec: {
          ports: [
            { name: "http", port: DEFAULT_SERVE_PORT, targetPort: "http" },
            { name: "https", port: DEFAULT_TLS_PORT, targetPort: "https" },
          ],
        },
      });
    });
  });
});
