/**
 * Which writes a stored ValidatingWebhookConfiguration's rules select (apiserver `predicates/rules` and
 * `generic/webhook.go` ShouldCallHook's Equivalent matching), and the v1 defaults and validation of the
 * configuration itself — pure, no HTTP: the dispatcher reads the store directly.
 */
import { describe, expect, it } from "vitest";
import { RESOURCES, type ResourceDef } from "../../infra/local";
import { Store } from "../../infra/local/store";
import { validateWebhookConfiguration, webhookConfigurationDefaults } from "../../infra/local/webhook-config";
import { type Operation, WebhookDispatcher } from "../../infra/local/webhooks";

const def = (plural: string): ResourceDef => {
  const found = RESOURCES.find((r) => r.plural === plural);
  if (!found) throw new Error(plural);
  return found;
};

function dispatcherWith(
  rule: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): WebhookDispatcher {
  const store = new Store();
  store.put(
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    webhookConfigurationDefaults({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "c", uid: "u", resourceVersion: "", creationTimestamp: "2026-01-01T00:00:00Z" },
      webhooks: [
        {
          name: "a.b.c",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          clientConfig: { url: "https://127.0.0.1:1/x" },
          rules: [rule],
          ...extra,
        },
      ],
    }),
  );
  return new WebhookDispatcher(store);
}

const all = { apiGroups: ["*"], apiVersions: ["*"], operations: ["*"] };

describe("rule matching", () => {
  it.each<[string, Record<string, unknown>, string, string, string, Operation, string | undefined, boolean]>([
    // the main resource only: no subresource
    [
      "main resource",
      { ...all, resources: ["virtualmachinepools"] },
      "virtualmachinepools",
      "v1beta1",
      "",
      "UPDATE",
      "default",
      true,
    ],
    [
      "main resource, not its scale",
      { ...all, resources: ["virtualmachinepools"] },
      "virtualmachinepools",
      "v1beta1",
      "scale",
      "UPDATE",
      "default",
      false,
    ],
    [
      "res/sub",
      { ...all, resources: ["virtualmachinepools/scale"] },
      "virtualmachinepools",
      "v1beta1",
      "scale",
      "UPDATE",
      "default",
      true,
    ],
    [
      "*/status matches any resource's status",
      { ...all, resources: ["*/status"] },
      "virtualmachines",
      "v1",
      "status",
      "UPDATE",
      "default",
      true,
    ],
    [
      "*/status, not the main resource",
      { ...all, resources: ["*/status"] },
      "virtualmachines",
      "v1",
      "",
      "UPDATE",
      "default",
      false,
    ],
    [
      "res/* matches the main resource too",
      { ...all, resources: ["virtualmachines/*"] },
      "virtualmachines",
      "v1",
      "",
      "UPDATE",
      "default",
      true,
    ],
    [
      "*/* matches everything",
      { ...all, resources: ["*/*"] },
      "virtualmachines",
      "v1",
      "status",
      "DELETE",
      "default",
      true,
    ],
    [
      "an operation not listed",
      { ...all, operations: ["CREATE"], resources: ["*"] },
      "virtualmachines",
      "v1",
      "",
      "UPDATE",
      "default",
      false,
    ],
    [
      "another group",
      { ...all, apiGroups: ["apps"], resources: ["*"] },
      "virtualmachines",
      "v1",
      "",
      "UPDATE",
      "default",
      false,
    ],
    [
      "Namespaced scope, namespaced object",
      { ...all, resources: ["*"], scope: "Namespaced" },
      "virtualmachines",
      "v1",
      "",
      "CREATE",
      "default",
      true,
    ],
    [
      "Namespaced scope, a Namespace",
      { ...all, resources: ["*"], scope: "Namespaced" },
      "namespaces",
      "v1",
      "",
      "CREATE",
      undefined,
      false,
    ],
    [
      "Cluster scope, a Namespace",
      { ...all, resources: ["*"], scope: "Cluster" },
      "namespaces",
      "v1",
      "",
      "CREATE",
      undefined,
      true,
    ],
    [
      "Cluster scope, a namespaced object",
      { ...all, resources: ["*"], scope: "Cluster" },
      "virtualmachines",
      "v1",
      "",
      "CREATE",
      "default",
      false,
    ],
    // Equivalent (the default): a rule for v1alpha1 selects a v1beta1 request of the same resource
    [
      "Equivalent versions",
      { ...all, apiVersions: ["v1alpha1"], resources: ["virtualmachinepools"] },
      "virtualmachinepools",
      "v1beta1",
      "",
      "CREATE",
      "default",
      true,
    ],
    [
      "a version the resource does not serve",
      { ...all, apiVersions: ["v2"], resources: ["virtualmachinepools"] },
      "virtualmachinepools",
      "v1beta1",
      "",
      "CREATE",
      "default",
      false,
    ],
  ])("%s", (_, rule, plural, version, sub, op, ns, expected) => {
    const dispatcher = dispatcherWith(rule);
    expect(dispatcher.mayCall(def(plural), version, sub, op, ns)).toBe(expected);
  });

  it("Exact does not match other versions", () => {
    const dispatcher = dispatcherWith(
      { ...all, apiVersions: ["v1alpha1"], resources: ["virtualmachinepools"] },
      { matchPolicy: "Exact" },
    );
    expect(dispatcher.mayCall(def("virtualmachinepools"), "v1beta1", "", "CREATE", "default")).toBe(false);
    expect(dispatcher.mayCall(def("virtualmachinepools"), "v1alpha1", "", "CREATE", "default")).toBe(true);
  });

  it("never matches writes of webhook configurations", () => {
    const dispatcher = dispatcherWith({ ...all, resources: ["*"] });
    expect(dispatcher.mayCall(def("validatingwebhookconfigurations"), "v1", "", "UPDATE", undefined)).toBe(
      false,
    );
  });
});

describe("configuration defaults and validation", () => {
  const base = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "c", uid: "u", resourceVersion: "", creationTimestamp: "" },
  };

  it("fills kube's v1 defaults and keeps what is set", () => {
    const out = webhookConfigurationDefaults({
      ...base,
      webhooks: [
        {
          name: "a.b.c",
          clientConfig: { service: { namespace: "n", name: "s" } },
          rules: [{}],
          failurePolicy: "Ignore",
        },
      ],
    });
    expect(out.webhooks).toEqual([
      {
        name: "a.b.c",
        clientConfig: { service: { namespace: "n", name: "s", port: 443 } },
        rules: [{ scope: "*" }],
        failurePolicy: "Ignore",
        matchPolicy: "Equivalent",
        namespaceSelector: {},
        objectSelector: {},
        timeoutSeconds: 10,
      },
    ]);
  });

  it("lists every problem of every webhook in one 422", () => {
    const error = validateWebhookConfiguration(
      webhookConfigurationDefaults({
        ...base,
        webhooks: [
          {
            name: "a.b.c",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            clientConfig: { url: "https://x/y" },
          },
          {
            name: "a.b.c",
            sideEffects: "None",
            admissionReviewVersions: [],
            clientConfig: { url: "https://x/y?q=1" },
            timeoutSeconds: 0,
          },
        ],
      }),
    );
    expect(error?.code).toBe(422);
    expect(error?.statusDetails?.causes?.map((c) => c.field)).toEqual([
      "webhooks[1].name",
      "webhooks[1].timeoutSeconds",
      "webhooks[1].admissionReviewVersions",
      "webhooks[1].clientConfig.url",
    ]);
    expect(error?.message).toContain('webhooks[1].name: Duplicate value: "a.b.c"');
    expect(error?.message).toContain(
      'webhooks[1].clientConfig.url: Invalid value: "q=1": query parameters are not permitted in the URL',
    );
  });

  it("accepts the repository's own configuration", async () => {
    const { readManifests, MANIFEST_DIR } = await import("../../infra/real/install");
    const [config] = readManifests([`${MANIFEST_DIR}/40-admission.yaml`]);
    const stored = webhookConfigurationDefaults({ ...(config as typeof base), metadata: base.metadata });
    expect(validateWebhookConfiguration(stored)).toBeUndefined();
  });
});
