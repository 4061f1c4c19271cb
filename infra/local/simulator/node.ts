/**
 * The kubelet's Node as pure builders, the way KWOK fakes nodes: the Node a simulated kubelet registers (labelled
 * as simulated, tainted so the scheduler places nothing on it by itself), the status it reports (Ready,
 * capacity, addresses) and its heartbeat Lease in `kube-node-lease`. Launcher pods are bound to these nodes
 * directly (`spec.nodeName`), so the taint never keeps them off. Sources: kubelet `kubelet_node_status.go`,
 * `nodelease` controller; KWOK's `node-fast.yaml` stage.
 */
import type { KObject } from "../store";
import { type Json, rec, recs } from "./json";

/** Label (and taint key) on every Node the simulator registers. */
export const SIMULATED_NODE_LABEL = "vmpool.local/simulated";

/** Namespace of node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Lease duration the kubelet uses (`nodeLeaseDurationSeconds`); it renews every quarter of it. */
export const NODE_LEASE_SECONDS = 40;

/** `count` node names in kubevirtci's style: node01, node02, … */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node${String(i + 1).padStart(2, "0")}`);
}

/** kubevirtci's node addresses: 192.168.66.101 for the first node, and so on. */
export function hostIpOf(nodes: readonly string[], node: string): string {
  const i = Math.max(0, nodes.indexOf(node));
  return `192.168.66.${101 + (i % 150)}`;
}

const CAPACITY = {
  cpu: "16",
  memory: "65851340Ki",
  pods: "110",
  "ephemeral-storage": "102687672Ki",
  "devices.kubevirt.io/kvm": "1k",
  "devices.kubevirt.io/tun": "1k",
  "devices.kubevirt.io/vhost-net": "1k",
};
const ALLOCATABLE = { ...CAPACITY, memory: "65748940Ki", "ephemeral-storage": "94636958324" };

/** The Node a simulated kubelet registers (no status: that is written through `nodes/status`). */
export function nodeObject(name: string): Json {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubevirt.io/schedulable": "true",
        [SIMULATED_NODE_LABEL]: "true",
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { taints: [{ key: SIMULATED_NODE_LABEL, value: "true", effect: "NoSchedule" }] },
  };
}

const CONDITIONS = [
  {
    type: "MemoryPressure",
    status: "False",
    reason: "KubeletHasSufficientMemory",
    message: "kubelet has sufficient memory available",
  },
  {
    type: "DiskPressure",
    status: "False",
    reason: "KubeletHasNoDiskPressure",
    message: "kubelet has no disk pressure",
  },
  {
    type: "PIDPressure",
    status: "False",
    reason: "KubeletHasSufficientPID",
    message: "kubelet has sufficient PID available",
  },
  { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
] as const;

/**
 * The status a healthy kubelet reports. Condition heartbeat and transition times of an unchanged condition are
 * kept, so a node already in this state compares equal and costs no write.
 */
export function nodeStatus(node: KObject, hostIP: string, nowIso: string): Json {
  const previous = rec(node.status) ?? {};
  const before = recs(previous.conditions);
  const conditions = CONDITIONS.map((c) => {
    const prev = before.find((p) => p.type === c.type);
    const same = prev !== undefined && prev.status === c.status && prev.reason === c.reason;
    return {
      ...c,
      lastHeartbeatTime: same ? prev.lastHeartbeatTime : nowIso,
      lastTransitionTime: same ? prev.lastTransitionTime : nowIso,
    };
  });
  return {
    ...previous,
    capacity: { ...CAPACITY },
    allocatable: { ...ALLOCATABLE },
    conditions,
    addresses: [
      { type: "InternalIP", address: hostIP },
      { type: "Hostname", address: node.metadata.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: node.metadata.uid.replaceAll("-", ""),
      systemUUID: node.metadata.uid,
      bootID: node.metadata.uid,
      kernelVersion: "6.1.0-vmpool-simulated",
      osImage: "vmpool simulated node",
      containerRuntimeVersion: "containerd://2.0.0",
      kubeletVersion: "v1.34.0-vmpool.simulated",
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/** `metav1.MicroTime` text: RFC 3339 with six fractional digits. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The node's heartbeat Lease, owned by the Node so it goes with it. */
export function nodeLease(node: KObject, renewTime: string): Json {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: node.metadata.name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.metadata.name, uid: node.metadata.uid }],
    },
    spec: { holderIdentity: node.metadata.name, leaseDurationSeconds: NODE_LEASE_SECONDS, renewTime },
  };
}
