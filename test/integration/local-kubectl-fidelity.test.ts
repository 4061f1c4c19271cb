/**
 * The kube-apiserver divergences a new user hit with real kubectl (1.27 and 1.33): `explain` on the KubeVirt kinds,
 * `auth can-i` / `auth whoami`, `get nodes` and `cluster-info dump`, server-side field validation as kubectl
 * reports it, ConfigMap/Secret columns, and `apply --server-side --force-conflicts` taking a field for good.
 * Skipped with a clear message where a binary is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { startTestCluster, type TestCluster } from "../support/local-cluster";

const VERSIONS = ["1.27", "1.33"] as const;

const NODE = {
  apiVersion: "v1",
  kind: "Node",
  metadata: {
    name: "node01",
    labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "node01" },
  },
  status: {
    conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
    addresses: [{ type: "InternalIP", address: "192.168.66.101" }],
    nodeInfo: { kubeletVersion: "v1.34.0", osImage: "vmpool simulated node" },
  },
};

const leaseYaml = (spec: string) => `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: owned
spec:
${spec}
`;

describe.each(VERSIONS)("kubectl %s: fidelity fixes", (version) => {
  const binary = kubectlBinary(version);
  let env: TestCluster;
  let k: Kubectl;

  beforeAll(async () => {
    if (!binary) return;
    env = await startTestCluster({ simulator: false });
    k = kubectl(binary, env.kubeconfig);
    const res = await fetch(`${env.cluster.url}/api/v1/nodes`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(NODE),
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await env?.close();
  });

  const itk = binary ? it : it.skip;
  if (!binary) it.skip(`kubectl.${version} is not installed next to kubectl on PATH`, () => {});

  itk.each([
    ["vmpool.spec", "FIELD: spec <Object>", /^\s+replicas\s+<integer>$/m],
    ["vm.spec.template", "FIELD: template <Object>", /^\s+spec\s+<Object>$/m],
    ["vmirs.spec.replicas", "FIELD: replicas <integer>", /DESCRIPTION:/],
  ])("explains %s from the served OpenAPI v3 schemas", async (path, field, detail) => {
    const res = await k.run(["explain", path]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(field);
    expect(res.stdout).toMatch(detail);
  });

  itk("answers auth can-i with yes", async () => {
    const res = await k.run(["auth", "can-i", "delete", "virtualmachinepools", "-A"]);
    expect(res.stdout.trim()).toBe("yes");
    expect(res.code).toBe(0);
  });

  itk("lists nodes with kubectl's columns", async () => {
    const res = await k.run(["get", "nodes"]);
    expect(res.stderr).toBe("");
    const rows = table(res.stdout);
    expect(rows[0]).toEqual(["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    expect([rows[1]?.[0], rows[1]?.[1], rows[1]?.[2], rows[1]?.[4]]).toEqual([
      "node01",
      "Ready",
      "control-plane",
      "v1.34.0",
    ]);
  });

  itk("dumps the cluster", async () => {
    const res = await k.run(["cluster-info", "dump"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('"kind": "NodeList"');
    expect(res.stdout).toContain('"name": "node01"');
  });

  itk(
    "reports unknown fields as the server's strict decoding error, and warns with --validate=warn",
    async () => {
      const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: strict
  colour: red
data:
  a: "1"
extra: true
`;
      const strict = await k.run(["create", "-f", "-"], manifest);
      expect(strict.code).toBe(1);
      // kubectl sends the manifest as JSON with sorted keys, and typed decoding reports in document order.
      expect(strict.stderr.trim()).toBe(
        'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra", unknown field "metadata.colour"',
      );
      const warned = await k.run(["create", "-f", "-", "--validate=warn"], manifest);
      expect(warned.code).toBe(0);
      expect(warned.stderr).toContain('Warning: unknown field "metadata.colour"');
      expect(warned.stderr).toContain('Warning: unknown field "extra"');
      const got = await k.run(["get", "configmap", "strict", "-o", "jsonpath={.metadata}"]);
      expect(got.stdout).not.toContain("colour");
    },
  );

  itk("prints ConfigMap and Secret columns", async () => {
    await k.run([
      "create",
      "secret",
      "generic",
      "creds",
      "--from-literal=user=admin",
      "--from-literal=pass=x",
    ]);
    const secrets = table((await k.run(["get", "secret", "creds"])).stdout);
    expect(secrets[0]).toEqual(["NAME", "TYPE", "DATA", "AGE"]);
    expect(secrets[1]?.slice(0, 3)).toEqual(["creds", "Opaque", "2"]);
    const maps = table((await k.run(["get", "configmap", "strict"])).stdout);
    expect(maps[0]).toEqual(["NAME", "DATA", "AGE"]);
    expect(maps[1]?.slice(0, 2)).toEqual(["strict", "1"]);
  });

  itk("describes a namespace with its (absent) quotas and limit ranges", async () => {
    const res = await k.run(["describe", "namespace", "default"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("No resource quota.");
    expect(res.stdout).toContain("No LimitRange resource.");
  });

  itk(
    "migrates a client-side-applied object to server-side apply as kube-apiserver and kubectl do together",
    async () => {
      const pool = (replicas: number) => `apiVersion: pool.kubevirt.io/v1alpha1
kind: VirtualMachinePool
metadata:
  name: migrated
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      a: b
  virtualMachineTemplate:
    metadata:
      labels:
        a: b
    spec:
      runStrategy: Halted
      template:
        spec: {}
`;
      expect((await k.run(["apply", "-f", "-"], pool(1))).code).toBe(0);
      const ssa = await k.run(["apply", "--server-side", "-f", "-"], pool(2));
      expect(ssa.stderr).toBe("");
      expect(ssa.stdout.trim()).toBe("virtualmachinepool.pool.kubevirt.io/migrated serverside-applied");
      const managers = await k.run([
        "get",
        "vmpool",
        "migrated",
        "--show-managed-fields",
        "-o",
        'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}{"\\n"}{end}',
      ]);
      // the last-applied annotation kept by its own applier, the client-side manager folded into kubectl's
      expect(managers.stdout.trim().split("\n")).toEqual(["kubectl-last-applied/Apply", "kubectl/Apply"]);
    },
  );

  itk(
    "takes a field over with apply --server-side --force-conflicts, then removes it when dropped",
    async () => {
      const first = await k.run(
        ["apply", "--server-side", "--field-manager=first", "-f", "-"],
        leaseYaml("  holderIdentity: one\n  leaseDurationSeconds: 10"),
      );
      expect(first.code).toBe(0);
      const conflict = await k.run(["apply", "--server-side", "-f", "-"], leaseYaml("  holderIdentity: two"));
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toContain(
        'Apply failed with 1 conflict: conflict with "first": .spec.holderIdentity',
      );
      const forced = await k.run(
        ["apply", "--server-side", "--force-conflicts", "-f", "-"],
        leaseYaml("  holderIdentity: two"),
      );
      expect(forced.stdout.trim()).toBe("lease.coordination.k8s.io/owned serverside-applied");
      const managers = await k.run([
        "get",
        "lease",
        "owned",
        "--show-managed-fields",
        "-o",
        'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}={.fieldsV1.f:spec}{"\\n"}{end}',
      ]);
      expect(managers.stdout.trim().split("\n")).toEqual([
        'first/Apply={"f:leaseDurationSeconds":{}}',
        'kubectl/Apply={"f:holderIdentity":{}}',
      ]);
      await k.run(["apply", "--server-side", "-f", "-"], leaseYaml("  leaseTransitions: 1"));
      const spec = await k.run(["get", "lease", "owned", "-o", "jsonpath={.spec}"]);
      expect(JSON.parse(spec.stdout)).toEqual({ leaseDurationSeconds: 10, leaseTransitions: 1 });
    },
  );
});

describe("kubectl 1.33: auth whoami", () => {
  const binary = kubectlBinary("1.33");
  let env: TestCluster;

  beforeAll(async () => {
    if (binary) env = await startTestCluster({ simulator: false });
  });
  afterAll(async () => {
    await env?.close();
  });

  (binary ? it : it.skip)("prints the local identity from SelfSubjectReview", async () => {
    const res = await kubectl(binary ?? "", env.kubeconfig).run(["auth", "whoami"]);
    expect(res.stderr).toBe("");
    expect(table(res.stdout)).toEqual([
      ["ATTRIBUTE", "VALUE"],
      ["Username", "vmpool-local"],
      ["Groups", "[system:masters", "system:authenticated]"],
    ]);
  });
});
