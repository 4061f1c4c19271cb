/**
 * `@kubernetes/client-node` 1.4, unchanged, against the local cluster: the generated APIs our functions use
 * (CRUD, merge patch with the right content type, status and scale subresources, 409 on a stale
 * resourceVersion, label-selected lists) and its Watch. This checks the local cluster's fidelity to a real
 * client, so it talks to client-node directly rather than through shared/kube.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster, type TestCluster } from "../support/local-cluster";

const POOL = {
  group: "pool.kubevirt.io",
  version: "v1beta1",
  namespace: "default",
  plural: "virtualmachinepools",
};

function pool(name: string, replicas = 2) {
  return {
    apiVersion: "pool.kubevirt.io/v1beta1",
    kind: "VirtualMachinePool",
    metadata: { name, labels: { team: "a" } },
    spec: {
      replicas,
      selector: { matchLabels: { "kubevirt.io/vmpool": name } },
      virtualMachineTemplate: {
        metadata: { labels: { "kubevirt.io/vmpool": name } },
        spec: { runStrategy: "Halted", template: { spec: { domain: { devices: {} } } } },
      },
    },
  };
}

describe("client-node against the local cluster", () => {
  let env: TestCluster;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let kc: KubeConfig;

  beforeAll(async () => {
    env = await startTestCluster({ simulator: false });
    kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => env?.close());

  it("creates, reads, lists by label and deletes a pool", async () => {
    const created = await custom.createNamespacedCustomObject({ ...POOL, body: pool("p1") });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.generation).toBe(1);
    await custom.createNamespacedCustomObject({
      ...POOL,
      body: { ...pool("p2"), metadata: { name: "p2", labels: { team: "b" } } },
    });
    const got = await custom.getNamespacedCustomObject({ ...POOL, name: "p1" });
    expect(got.spec.replicas).toBe(2);
    const listed = await custom.listNamespacedCustomObject({
      ...POOL,
      labelSelector: "team in (a),!missing",
    });
    expect(listed.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["p1"]);
    // The same object through v1alpha1.
    const alpha = await custom.getNamespacedCustomObject({ ...POOL, version: "v1alpha1", name: "p1" });
    expect(alpha.apiVersion).toBe("pool.kubevirt.io/v1alpha1");
    expect(alpha.metadata.uid).toBe(created.metadata.uid);
    await custom.deleteNamespacedCustomObject({ ...POOL, name: "p2" });
    await expect(custom.getNamespacedCustomObject({ ...POOL, name: "p2" })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("merge-patches with the MergePatch content type and refuses client-node's default strategic patch", async () => {
    const patched = await custom.patchNamespacedCustomObject(
      { ...POOL, name: "p1", body: { metadata: { labels: { tier: "gold" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(patched.metadata.labels).toEqual({ team: "a", tier: "gold" });
    expect(patched.metadata.generation).toBe(1);
    const err = await custom
      .patchNamespacedCustomObject(
        { ...POOL, name: "p1", body: { spec: { replicas: 9 } } },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(415);
  });

  it("reads and writes the status and scale subresources", async () => {
    const current = await custom.getNamespacedCustomObject({ ...POOL, name: "p1" });
    const withStatus = await custom.replaceNamespacedCustomObjectStatus({
      ...POOL,
      name: "p1",
      body: {
        ...current,
        spec: { ...current.spec, replicas: 7 },
        status: { replicas: 1, labelSelector: "kubevirt.io/vmpool=p1" },
      },
    });
    expect(withStatus.status.replicas).toBe(1);
    expect(withStatus.spec.replicas).toBe(2);
    const scale = await custom.getNamespacedCustomObjectScale({ ...POOL, name: "p1" });
    expect(scale).toMatchObject({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      spec: { replicas: 2 },
      status: { replicas: 1, selector: "kubevirt.io/vmpool=p1" },
    });
    const scaled = await custom.patchNamespacedCustomObjectScale(
      { ...POOL, name: "p1", body: { spec: { replicas: 4 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(scaled.spec.replicas).toBe(4);
    const after = await custom.getNamespacedCustomObject({ ...POOL, name: "p1" });
    expect(after.spec.replicas).toBe(4);
    expect(after.metadata.generation).toBe(2);
  });

  it("answers 409 Conflict to an update with a stale resourceVersion", async () => {
    const current = await custom.getNamespacedCustomObject({ ...POOL, name: "p1" });
    await custom.replaceNamespacedCustomObject({
      ...POOL,
      name: "p1",
      body: { ...current, spec: { ...current.spec, replicas: 5 } },
    });
    const err = (await custom
      .replaceNamespacedCustomObject({
        ...POOL,
        name: "p1",
        body: { ...current, spec: { ...current.spec, replicas: 6 } },
      })
      .catch((e: unknown) => e)) as ApiException<string>;
    expect(err.code).toBe(409);
    const status = JSON.parse(err.body) as { reason: string; message: string };
    expect(status.reason).toBe("Conflict");
    expect(status.message).toBe(
      'Operation cannot be fulfilled on virtualmachinepools.pool.kubevirt.io "p1": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("streams watch events to client-node's Watch", async () => {
    const events: { type: string; name: string }[] = [];
    const watch = new Watch(kc);
    const list = await custom.listNamespacedCustomObject({ ...POOL });
    const req = await watch.watch(
      "/apis/pool.kubevirt.io/v1beta1/namespaces/default/virtualmachinepools",
      { resourceVersion: list.metadata.resourceVersion },
      (type, obj: { metadata: { name: string } }) => events.push({ type, name: obj.metadata.name }),
      () => {},
    );
    try {
      await custom.createNamespacedCustomObject({ ...POOL, body: pool("p3") });
      await custom.patchNamespacedCustomObject(
        { ...POOL, name: "p3", body: { spec: { replicas: 3 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await custom.deleteNamespacedCustomObject({ ...POOL, name: "p3" });
      await eventually(() => (events.length >= 3 ? true : undefined), 5000, "three watch events");
      expect(events).toEqual([
        { type: "ADDED", name: "p3" },
        { type: "MODIFIED", name: "p3" },
        { type: "DELETED", name: "p3" },
      ]);
    } finally {
      req.abort();
    }
  });

  it("lists core Events by the four involvedObject field selectors kubectl describe sends", async () => {
    const p1 = await custom.getNamespacedCustomObject({ ...POOL, name: "p1" });
    await core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "p1.1" },
        involvedObject: {
          kind: "VirtualMachinePool",
          name: "p1",
          namespace: "default",
          uid: p1.metadata.uid,
        },
        reason: "SuccessfulCreate",
        message: "Created VM default/p1-0",
        type: "Normal",
        source: { component: "virtualmachinepool-controller" },
        firstTimestamp: new Date("2026-11-21T20:31:37.025Z"),
        lastTimestamp: new Date("2026-11-21T20:31:37.025Z"),
      },
    });
    const found = await core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: `involvedObject.name=p1,involvedObject.namespace=default,involvedObject.kind=VirtualMachinePool,involvedObject.uid=${p1.metadata.uid}`,
    });
    expect(found.items.map((e) => e.reason)).toEqual(["SuccessfulCreate"]);
    const stale = await core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.uid=other",
    });
    expect(stale.items).toEqual([]);
    await expect(
      core.listNamespacedEvent({ namespace: "default", fieldSelector: "spec.foo=bar" }),
    ).rejects.toMatchObject({ code: 400 });
  });
});
