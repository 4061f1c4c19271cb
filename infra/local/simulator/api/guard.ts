/**
 * What the API simulator checks before it touches a cluster: that the KubeVirt and CDI CRDs are served (it plays
 * their controllers, so it needs their kinds), and that KubeVirt's own controllers do not run there (a KubeVirt CR,
 * virt-controller pods or its Deployment): the simulator never fights the real virt-controller. It also reads
 * from discovery which kinds have a status subresource.
 */
import { ReasonedError } from "../../../../shared/errors";
import { ApiError } from "../../errors";
import type { Kind } from "../backend";
import { type Json, rec, recs, str } from "../json";
import type { ApiClient } from "./client";

/** What the simulator learnt about the cluster. */
export interface ClusterFacts {
  readonly statusSubresources: ReadonlySet<Kind>;
}

const ATTEMPTS = 6;

/** A busy or flaky server (429, 5xx, a dropped connection) is asked again, a few times, with backoff. */
async function persistently<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const transient = !(err instanceof ApiError) || err.code === 429 || err.code >= 500;
      if (!transient || attempt >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
    }
  }
}

/** Names of the resources (and subresources) one group version serves; undefined when it is not served. */
async function served(client: ApiClient, groupVersionPath: string): Promise<Set<string> | undefined> {
  try {
    const list = rec(await persistently(() => client.request({ method: "GET", path: groupVersionPath })));
    return new Set(recs(list?.resources).map((r) => str(r.name) ?? ""));
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** Items of a list, or none when the resource is not served. */
async function items(client: ApiClient, path: string, query: Record<string, string>): Promise<Json[]> {
  try {
    const list = await persistently(() =>
      client.request({ method: "GET", path, query: { limit: "1", ...query } }),
    );
    return recs(rec(list)?.items);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return [];
    throw err;
  }
}

function where(obj: Json): string {
  const meta = rec(obj.metadata) ?? {};
  const ns = str(meta.namespace);
  return ns === undefined ? String(meta.name) : `${ns}/${String(meta.name)}`;
}

function refuse(reason: string, message: string): ReasonedError {
  return new ReasonedError(reason, message, { status: 412, retryable: false });
}

/**
 * Throws ReasonedError `KubevirtRunning` when KubeVirt's controllers run in the cluster and
 * `KubevirtCrdsMissing` when the kinds the simulator plays are not served; returns what discovery said.
 */
export async function inspectCluster(client: ApiClient): Promise<ClusterFacts> {
  let kubevirt: Set<string> | undefined;
  let cdi: Set<string> | undefined;
  try {
    [kubevirt, cdi] = await Promise.all([
      served(client, "/apis/kubevirt.io/v1"),
      served(client, "/apis/cdi.kubevirt.io/v1beta1"),
    ]);
  } catch (err) {
    throw new ReasonedError(
      "ClusterUnreachable",
      `cannot read discovery from ${client.server}: ${err instanceof Error ? err.message : String(err)}`,
      { status: 503, retryable: true, cause: err },
    );
  }

  if (kubevirt?.has("kubevirts")) {
    const cr = (await items(client, "/apis/kubevirt.io/v1/kubevirts", {}))[0];
    if (cr) {
      throw refuse(
        "KubevirtRunning",
        `KubeVirt is installed (KubeVirt ${where(cr)}): its virt-controller runs the VMs here; the simulator refuses to fight it`,
      );
    }
  }
  const controllerPod = (
    await items(client, "/api/v1/pods", { labelSelector: "kubevirt.io=virt-controller" })
  )[0];
  if (controllerPod) {
    throw refuse(
      "KubevirtRunning",
      `KubeVirt's virt-controller runs here (pod ${where(controllerPod)}); the simulator refuses to fight it`,
    );
  }
  const deployment = (
    await items(client, "/apis/apps/v1/deployments", { fieldSelector: "metadata.name=virt-controller" })
  )[0];
  if (deployment) {
    throw refuse(
      "KubevirtRunning",
      `KubeVirt's virt-controller is deployed here (Deployment ${where(deployment)}); the simulator refuses to fight it`,
    );
  }

  const missing: string[] = [];
  for (const name of ["virtualmachines", "virtualmachineinstances"]) {
    if (!kubevirt?.has(name)) missing.push(`${name}.kubevirt.io`);
  }
  if (!cdi?.has("datavolumes")) missing.push("datavolumes.cdi.kubevirt.io");
  if (missing.length > 0) {
    throw refuse(
      "KubevirtCrdsMissing",
      `the cluster serves no ${missing.join(", ")}: install KubeVirt's CRDs first (kubectl apply -f infra/kubernetes/crds/)`,
    );
  }

  const statusSubresources = new Set<Kind>(["pod", "node", "svc"]);
  if (kubevirt?.has("virtualmachines/status")) statusSubresources.add("vm");
  if (kubevirt?.has("virtualmachineinstances/status")) statusSubresources.add("vmi");
  if (cdi?.has("datavolumes/status")) statusSubresources.add("dv");
  return { statusSubresources };
}
