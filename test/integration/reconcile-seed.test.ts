/**
 * The seed documents' walkthroughs end to end: real kubectl against the embedded cluster and against the real
 * control plane (kube-apiserver, kube-controller-manager, etcd, with the KubeVirt simulator over the API), with
 * reconcile-all passes fired as the scheduler would, as the functions' own identity. What users see
 * (`kubectl get`, `kubectl describe`, the seed Service's Endpoints) is what is asserted.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeClusters, type SuiteCluster, startSuiteCluster } from "../support/clusters";
import { type Kubectl, kubectl, kubectlBinary, table } from "../support/kubectl";
import { eventually } from "../support/local-cluster";
import { type Reconciler, reconciler } from "../support/reconcile";

const EXAMPLES = join(import.meta.dirname, "../../examples");
const binary = kubectlBinary("1.33") ?? kubectlBinary("1.32");

describeClusters(
  "seed walkthroughs with real kubectl",
  (kind) => {
    let env: SuiteCluster;
    let k: Kubectl;
    let r: Reconciler;

    beforeAll(async () => {
      env = await startSuiteCluster(kind, { simulator: { startDelayMs: 10, stepDelayMs: 10 } });
      k = kubectl(binary as string, env.kubeconfig);
      r = reconciler(env);
    });
    afterAll(async () => env?.close());

    const names = async (resource: string, selector?: string) =>
      (
        await k.run([
          "get",
          resource,
          ...(selector ? ["-l", selector] : []),
          "-o",
          "jsonpath={.items[*].metadata.name}",
        ])
      ).stdout
        .split(" ")
        .filter(Boolean)
        .sort();

    it("vm-pool-cirros: create gives VMs -0..-2, describe shows replicas, readiness and SuccessfulCreate events", async () => {
      expect((await k.run(["create", "-f", join(EXAMPLES, "vm-pool-cirros.yaml")])).code).toBe(0);
      await r.tick();
      expect(await names("vm")).toEqual(["vm-pool-cirros-0", "vm-pool-cirros-1", "vm-pool-cirros-2"]);
      await eventually(
        async () => {
          await r.tick();
          const ready = (
            await k.run(["get", "vmpool", "vm-pool-cirros", "-o", "jsonpath={.status.readyReplicas}"])
          ).stdout;
          return ready === "3" ? ready : undefined;
        },
        15_000,
        "3 ready replicas",
      );
      const described = (await k.run(["describe", "vmpool", "vm-pool-cirros"])).stdout;
      expect(described).toMatch(/Label Selector:\s+kubevirt\.io\/vmpool=vm-pool-cirros/);
      expect(described).toMatch(/Ready Replicas:\s+3/);
      expect(described).toMatch(/^\s+Replicas:\s+3$/m);
      for (const n of [0, 1, 2]) {
        expect(described).toMatch(
          new RegExp(
            `Normal\\s+SuccessfulCreate\\s+\\S+\\s+virtualmachinepool-controller\\s+Created VM default/vm-pool-cirros-${n}`,
          ),
        );
      }
      const pool = table((await k.run(["get", "vmpool"])).stdout);
      expect(pool[1]?.slice(0, 4)).toEqual(["vm-pool-cirros", "3", "3", "3"]);
    });

    it("a converged pool costs zero writes", async () => {
      await eventually(
        async () => ((await r.tick()).every((x) => x.outcome === "Converged") ? true : undefined),
        15_000,
        "a converged pass",
      );
      r.runtime.kube.resetStats();
      const results = await r.tick();
      expect(results.map((x) => x.outcome)).toEqual(["Converged"]);
      const verbs = r.runtime.kube.stats().byVerb;
      const writes = Object.entries(verbs).filter(([verb]) => !["get", "list"].includes(verb));
      expect(writes).toEqual([]);
    });

    it("kubectl scale --replicas 5 gives five VMs", async () => {
      const scaled = await k.run(["scale", "vmpool", "vm-pool-cirros", "--replicas", "5"]);
      expect(scaled.stdout.trim()).toBe("virtualmachinepool.pool.kubevirt.io/vm-pool-cirros scaled");
      await r.tick();
      expect(await names("vm")).toEqual([
        "vm-pool-cirros-0",
        "vm-pool-cirros-1",
        "vm-pool-cirros-2",
        "vm-pool-cirros-3",
        "vm-pool-cirros-4",
      ]);
    });

    it("the seed Service gets one endpoint per Ready VM of the pool, on port 22", async () => {
      expect((await k.run(["apply", "-f", join(EXAMPLES, "vm-pool-cirros-ssh.yaml")])).code).toBe(0);
      const ips = await eventually(
        async () => {
          await r.tick();
          const vmis = (
            await k.run([
              "get",
              "vmi",
              "-l",
              "kubevirt.io/vmpool=vm-pool-cirros",
              "-o",
              "jsonpath={.items[*].status.interfaces[0].ipAddress}",
            ])
          ).stdout
            .split(" ")
            .filter(Boolean)
            .sort();
          const endpoints = (
            await k.run([
              "get",
              "endpoints",
              "vm-pool-cirros-ssh",
              "-o",
              "jsonpath={.subsets[*].addresses[*].ip}",
            ])
          ).stdout
            .split(" ")
            .filter(Boolean)
            .sort();
          return vmis.length === 5 && endpoints.join(",") === vmis.join(",") ? endpoints : undefined;
        },
        20_000,
        "endpoints for the five VMs",
      );
      expect(ips).toHaveLength(5);
      const port = (
        await k.run(["get", "endpoints", "vm-pool-cirros-ssh", "-o", "jsonpath={.subsets[0].ports[0].port}"])
      ).stdout;
      expect(port).toBe("22");
    });

    it("removing a VM's ownerReferences releases it and a replacement appears at the next free ordinal", async () => {
      const patched = await k.run([
        "patch",
        "vm",
        "vm-pool-cirros-0",
        "--type",
        "merge",
        "--patch",
        '{"metadata":{"ownerReferences":null}}',
      ]);
      expect(patched.stdout.trim()).toBe("virtualmachine.kubevirt.io/vm-pool-cirros-0 patched");
      await r.tick();
      expect(await names("vm")).toEqual([
        "vm-pool-cirros-0",
        "vm-pool-cirros-1",
        "vm-pool-cirros-2",
        "vm-pool-cirros-3",
        "vm-pool-cirros-4",
        "vm-pool-cirros-5",
      ]);
      const owners = (
        await k.run(["get", "vm", "vm-pool-cirros-0", "-o", "jsonpath={.metadata.ownerReferences}"])
      ).stdout;
      expect(owners).toBe("");
      const owned = (
        await k.run(["get", "vm", "vm-pool-cirros-5", "-o", "jsonpath={.metadata.ownerReferences[0].name}"])
      ).stdout;
      expect(owned).toBe("vm-pool-cirros");
    });

    it("the released VM no longer keeps the pool's finalizer, so kubectl delete vm of it completes", async () => {
      // Upstream keeps pool.kubevirt.io/finalizer on a released VM and the delete hangs in Terminating.
      const finalizers = (
        await k.run(["get", "vm", "vm-pool-cirros-0", "-o", "jsonpath={.metadata.finalizers}"])
      ).stdout;
      expect(finalizers).not.toContain("pool.kubevirt.io/finalizer");
      const deleted = await k.run(["delete", "vm", "vm-pool-cirros-0", "--wait", "--timeout=30s"]);
      expect(deleted.stderr).toBe("");
      expect(deleted.stdout.trim()).toBe('virtualmachine.kubevirt.io "vm-pool-cirros-0" deleted');
      expect((await k.run(["get", "vm", "vm-pool-cirros-0"])).code).not.toBe(0);
      // The pool's own VMs are untouched.
      await r.tick();
      expect(await names("vm", "kubevirt.io/vmpool=vm-pool-cirros")).toEqual([
        "vm-pool-cirros-1",
        "vm-pool-cirros-2",
        "vm-pool-cirros-3",
        "vm-pool-cirros-4",
        "vm-pool-cirros-5",
      ]);
    });

    it("dataVolumeTemplates give each VM its own <dv>-<ordinal> DataVolume", async () => {
      expect((await k.run(["create", "-f", join(EXAMPLES, "vm-pool-fedora-dv.yaml")])).code).toBe(0);
      await r.tick();
      expect(await names("vm", "kubevirt.io/vmpool=vm-pool-fedora")).toEqual([
        "vm-pool-fedora-0",
        "vm-pool-fedora-1",
      ]);
      const dvOf = (
        await k.run([
          "get",
          "vm",
          "vm-pool-fedora-1",
          "-o",
          "jsonpath={.spec.dataVolumeTemplates[0].metadata.name} {.spec.template.spec.volumes[0].dataVolume.name}",
        ])
      ).stdout;
      expect(dvOf).toBe("fedora-root-1 fedora-root-1");
      await eventually(
        async () => {
          const dvs = await names("dv");
          return dvs.length === 2 ? dvs : undefined;
        },
        10_000,
        "two DataVolumes",
      );
      expect(await names("dv")).toEqual(["fedora-root-0", "fedora-root-1"]);
    });

    it("the replica set example gives 2 VMIs named testreplicaset+5 chars, scales to 5, and replaces deleted or failed VMIs", async () => {
      expect((await k.run(["apply", "-f", join(EXAMPLES, "vmirs.yaml")])).code).toBe(0);
      await r.tick();
      const first = await names("vmi", "myvmi=myvmi");
      expect(first).toHaveLength(2);
      for (const n of first) expect(n).toMatch(/^testreplicaset[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      const scaled = await k.run(["scale", "vmirs", "testreplicaset", "--replicas", "5"]);
      expect(scaled.stdout.trim()).toBe("virtualmachineinstancereplicaset.kubevirt.io/testreplicaset scaled");
      await r.tick();
      expect(await names("vmi", "myvmi=myvmi")).toHaveLength(5);
      const described = (await k.run(["describe", "vmirs", "testreplicaset"])).stdout;
      expect(described).toMatch(
        /Normal\s+SuccessfulCreate\s+\S+\s+virtualmachinereplicaset-controller\s+Started the virtual machine by creating the new virtual machine instance testreplicaset[a-z0-9]{5}/,
      );

      const victim = first[0] as string;
      expect((await k.run(["delete", "vmi", victim, "--wait=false"])).code).toBe(0);
      await eventually(
        async () => ((await names("vmi", "myvmi=myvmi")).includes(victim) ? undefined : true),
        10_000,
        "vmi gone",
      );
      await r.tick();
      const afterDelete = await names("vmi", "myvmi=myvmi");
      expect(afterDelete).toHaveLength(5);
      expect(afterDelete).not.toContain(victim);

      const crashed = afterDelete[0] as string;
      await eventually(
        async () => {
          const phase = (await k.run(["get", "vmi", crashed, "-o", "jsonpath={.status.phase}"])).stdout;
          return phase === "Running" ? phase : undefined;
        },
        10_000,
        "vmi running",
      );
      await env.simulator.crash("default", crashed);
      await eventually(
        async () => {
          const phase = (await k.run(["get", "vmi", crashed, "-o", "jsonpath={.status.phase}"])).stdout;
          return phase === "Failed" ? phase : undefined;
        },
        10_000,
        "vmi failed",
      );
      await r.tick();
      await eventually(
        async () => {
          const now = await names("vmi", "myvmi=myvmi");
          return !now.includes(crashed) && now.length === 5 ? now : undefined;
        },
        10_000,
        "failed vmi replaced",
      );
    });

    it("deleting a pool removes its VMs, their VMIs, launcher pods and DataVolumes (garbage collection)", async () => {
      expect((await k.run(["delete", "vmpool", "vm-pool-fedora", "--wait=false"])).code).toBe(0);
      await eventually(
        async () => {
          await r.tick();
          const left = [
            ...(await names("vm", "kubevirt.io/vmpool=vm-pool-fedora")),
            ...(await names("vmi", "kubevirt.io/vmpool=vm-pool-fedora")),
            ...(await names("pod", "kubevirt.io/vmpool=vm-pool-fedora")),
            ...(await names("dv")),
          ];
          return left.length === 0 ? true : undefined;
        },
        20_000,
        "the fedora pool's dependents gone",
      );
      expect((await k.run(["get", "vmpool", "vm-pool-fedora"])).code).not.toBe(0);
    });
  },
  binary ? undefined : "no kubectl.1.33/1.32 found",
);
