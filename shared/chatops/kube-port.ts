/**
 * `ChatopsPort` over shared/kube: each domain verb is one or two Kubernetes calls. Writes carry the client's field
 * manager; pools are patched with merge patches (their preconditions ride in the patch); HPA deletes carry a uid
 * precondition; `plan` is the reconcile pass in dry-run mode, rendered as `vmpool reconcile --dry-run` prints it.
 */
import { readHistory, recordHistory } from "../history";
import type { Kube, MergePatch } from "../kube";
import type { Logger } from "../log";
import { formatPlan, reconcilePool } from "../reconcile";
import type { PoolKind } from "./names";
import { type ChatopsPort, type PoolSnapshot, snapshotOf } from "./port";

export interface KubePortOptions {
  readonly log: Logger;
  readonly now: () => Date;
  readonly random: () => number;
}

/** The chat-ops port over `kube` (give it a deadline view for a bounded command). */
export function kubeChatopsPort(kube: Kube, options: KubePortOptions): ChatopsPort {
  const getPool = async (kind: PoolKind, namespace: string, name: string) => {
    const object =
      kind === "VirtualMachinePool"
        ? await kube.get("VirtualMachinePool", namespace, name)
        : await kube.get("VirtualMachineInstanceReplicaSet", namespace, name);
    return object && snapshotOf(kind, object);
  };
  return {
    getPool,
    async listPools(namespace) {
      const [pools, sets] = await Promise.all([
        kube.list("VirtualMachinePool", { namespace }),
        kube.list("VirtualMachineInstanceReplicaSet", { namespace }),
      ]);
      return [
        ...pools.map((p) => snapshotOf("VirtualMachinePool", p)),
        ...sets.map((s) => snapshotOf("VirtualMachineInstanceReplicaSet", s)),
      ];
    },
    async patchPool(pool, patch: MergePatch) {
      const object =
        pool.kind === "VirtualMachinePool"
          ? await kube.patch("VirtualMachinePool", pool.namespace, pool.name, patch, "merge")
          : await kube.patch("VirtualMachineInstanceReplicaSet", pool.namespace, pool.name, patch, "merge");
      return snapshotOf(pool.kind, object);
    },
    poolEvents(pool: PoolSnapshot) {
      const fieldSelector = [
        `involvedObject.kind=${pool.id.kind}`,
        `involvedObject.namespace=${pool.id.namespace}`,
        `involvedObject.name=${pool.id.name}`,
        `involvedObject.uid=${pool.uid}`,
      ].join(",");
      return kube.list("Event", { namespace: pool.id.namespace, fieldSelector });
    },
    listAutoscalers: (namespace) => kube.list("HorizontalPodAutoscaler", { namespace }),
    createAutoscaler: (body) => kube.create("HorizontalPodAutoscaler", body),
    replaceAutoscaler: (hpa) => kube.replace("HorizontalPodAutoscaler", hpa),
    async deleteAutoscaler(namespace, name, uid) {
      await kube.delete("HorizontalPodAutoscaler", namespace, name, uid ? { uid } : {});
    },
    getVm: (namespace, name) => kube.get("VirtualMachine", namespace, name),
    patchVm: (namespace, name, patch) => kube.patch("VirtualMachine", namespace, name, patch, "merge"),
    async dryRun(pool) {
      const result = await reconcilePool(
        { kube, log: options.log, now: options.now, random: options.random, holder: "vmpool-chatops-plan" },
        pool,
        { dryRun: true },
      );
      return formatPlan(result);
    },
    recordEvent: (event) => kube.recordEvent(event),
    history: (pool) => readHistory(kube, pool.id, pool.uid),
    recordHistory: (pool, entry) =>
      recordHistory(
        { kube, log: options.log, now: options.now },
        { ref: pool.id, apiVersion: pool.apiVersion, uid: pool.uid },
        () => [entry],
      ),
  };
}
