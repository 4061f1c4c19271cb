/**
 * virt-controller's VMI part and virt-handler as pure builders: the VMI status for each phase (phase transition
 * timestamps, node, interfaces, the Ready condition rules of `syncReadyConditionFromPod`), and the virt-launcher
 * Pod with the labels, annotations and container statuses KubeVirt and the kubelet would give it.
 * Sources: KubeVirt `pkg/virt-controller/watch/vmi/lifecycle.go`, `pkg/virt-controller/services/template.go`
 * (see shared/reference/kubevirt-semantics.md §1.14, §3.3, §5).
 */
import type { KObject } from "../store";
import { type Json, rec, recs, str, strMap } from "./json";

/** The image the simulated launcher pods report (also `status.launcherContainerImageVersion`). */
export const LAUNCHER_IMAGE = "quay.io/kubevirt/virt-launcher:v1.5.0";

/** Label virt-controller puts on a scheduled VMI. */
export const NODE_NAME_LABEL = "kubevirt.io/nodeName";

interface Condition {
  readonly type: string;
  readonly status: "True" | "False";
  readonly reason?: string;
  readonly message?: string;
}

const POD_NOT_EXISTS: Condition = {
  type: "Ready",
  status: "False",
  reason: "PodNotExists",
  message: "virt-launcher pod has not yet been scheduled",
};
const GUEST_NOT_RUNNING: Condition = {
  type: "Ready",
  status: "False",
  reason: "GuestNotRunning",
  message: "Guest VM is not reported as running",
};

/** The VMI's conditions in `phase` (Ready follows the pod only while Running; reference §1.14). */
function vmiConditionsFor(phase: string, podExists: boolean): Condition[] {
  switch (phase) {
    case "Running":
      return [
        { type: "Ready", status: "True" },
        { type: "LiveMigratable", status: "True" },
      ];
    case "Pending":
      return [podExists ? GUEST_NOT_RUNNING : POD_NOT_EXISTS];
    default:
      return [GUEST_NOT_RUNNING];
  }
}

/** Replaces conditions, keeping a condition's transition time when its status did not change. */
export function mergeConditions(previous: unknown, wanted: readonly Condition[], nowIso: string): Json[] {
  const prev = recs(previous);
  return wanted.map((c) => {
    const before = prev.find((p) => p.type === c.type);
    const since = before && before.status === c.status ? before.lastTransitionTime : undefined;
    return { ...c, lastProbeTime: null, lastTransitionTime: since ?? nowIso };
  });
}

/** What changes on the VMI when it enters a phase, besides the phase itself. */
export interface PhaseDetails {
  readonly podExists?: boolean;
  readonly nodeName?: string;
  readonly podUid?: string;
  readonly ip?: string;
  readonly mac?: string;
  readonly reason?: string;
}

/** The VMI (metadata and status) after it enters `phase` at `nowIso`. */
export function vmiInPhase(vmi: KObject, phase: string, nowIso: string, details: PhaseDetails = {}): KObject {
  const status: Json = { ...(rec(vmi.status) ?? {}) };
  const transitions = recs(status.phaseTransitionTimestamps);
  if (status.phase !== phase) transitions.push({ phase, phaseTransitionTimestamp: nowIso });
  status.phase = phase;
  status.phaseTransitionTimestamps = transitions;
  status.conditions = mergeConditions(
    status.conditions,
    vmiConditionsFor(phase, details.podExists ?? false),
    nowIso,
  );
  status.guestOSInfo = rec(status.guestOSInfo) ?? {};
  if (status.qosClass === undefined) status.qosClass = "Burstable";
  if (details.reason !== undefined) status.reason = details.reason;
  const labels = { ...strMap(vmi.metadata.labels) };
  if (details.nodeName !== undefined) {
    status.nodeName = details.nodeName;
    labels[NODE_NAME_LABEL] = details.nodeName;
    status.launcherContainerImageVersion = LAUNCHER_IMAGE;
    status.migrationTransport = "Unix";
    if (details.podUid !== undefined) status.activePods = { [details.podUid]: details.nodeName };
  }
  if (details.ip !== undefined) status.interfaces = [interfaceStatus(vmi, details.ip, details.mac ?? "")];
  if (phase === "Succeeded" || phase === "Failed") delete status.activePods;
  const metadata = { ...vmi.metadata };
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  return { ...vmi, metadata, status };
}

/** `status.interfaces[0]` as virt-handler reports it (pod network, masquerade: the VMI shows the pod's IP). */
function interfaceStatus(vmi: KObject, ip: string, mac: string): Json {
  const spec = rec(vmi.spec) ?? {};
  const iface = recs(rec(rec(spec.domain)?.devices)?.interfaces)[0];
  const network = recs(spec.networks)[0];
  const name = str(iface?.name) ?? str(network?.name) ?? "default";
  return {
    infoSource: "domain, guest-agent",
    interfaceName: "eth0",
    ipAddress: ip,
    ipAddresses: [ip],
    linkState: "up",
    mac,
    name,
    podInterfaceName: "eth0",
    queueCount: 1,
  };
}

/** The first interface's IP of a VMI, if reported. */
export function vmiIp(vmi: KObject): string | undefined {
  return str(recs(rec(vmi.status)?.interfaces)[0]?.ipAddress);
}

/** Running, Ready and not being deleted: what an endpoint or a CPU sample counts. */
export function vmiReady(vmi: KObject): boolean {
  const status = rec(vmi.status);
  return (
    vmi.metadata.deletionTimestamp === undefined &&
    status?.phase === "Running" &&
    recs(status.conditions).some((c) => c.type === "Ready" && c.status === "True")
  );
}

/** The hostname KubeVirt derives for a VMI (`spec.hostname`, else its name), also the `vm.kubevirt.io/name` label. */
function hostnameOf(vmi: KObject): string {
  return str(rec(vmi.spec)?.hostname) ?? vmi.metadata.name;
}

interface ContainerSpec {
  readonly name: string;
  readonly image: string;
}

/** compute, one `volume<name>` per containerDisk, and the serial-console logger when there is no disk container. */
function launcherContainers(vmi: KObject): ContainerSpec[] {
  const spec = rec(vmi.spec) ?? {};
  const out: ContainerSpec[] = [{ name: "compute", image: LAUNCHER_IMAGE }];
  for (const volume of recs(spec.volumes)) {
    const disk = rec(volume.containerDisk);
    const name = str(volume.name);
    if (disk && name) out.push({ name: `volume${name}`, image: str(disk.image) ?? LAUNCHER_IMAGE });
  }
  if (out.length === 1) out.push({ name: "guest-console-log", image: LAUNCHER_IMAGE });
  return out;
}

/** Ports of the VMI's interfaces, published on the compute container (what named Service targetPorts resolve to). */
function computePorts(vmi: KObject): Json[] {
  const spec = rec(vmi.spec) ?? {};
  const out: Json[] = [];
  for (const iface of recs(rec(rec(spec.domain)?.devices)?.interfaces)) {
    for (const port of recs(iface.ports)) {
      if (typeof port.port !== "number") continue;
      out.push({
        ...(typeof port.name === "string" ? { name: port.name } : {}),
        containerPort: port.port,
        protocol: str(port.protocol) ?? "TCP",
      });
    }
  }
  return out;
}

/** The small fixed requests KubeVirt gives its helper containers (container disks, the serial-console logger). */
const DISK_RESOURCES: Json = { requests: { cpu: "1m", memory: "1M" }, limits: { cpu: "10m", memory: "40M" } };
const HELPER_RESOURCES: Readonly<Record<string, Json>> = {
  "guest-console-log": { requests: { cpu: "5m", memory: "35M" }, limits: { cpu: "15m", memory: "60M" } },
};

/** The guest's vCPUs: sockets × cores × threads (each defaulting to 1). */
function vcpusOf(vmi: KObject): number {
  const cpu = rec(rec(rec(vmi.spec)?.domain)?.cpu) ?? {};
  const count = (key: string) =>
    typeof cpu[key] === "number" && (cpu[key] as number) > 0 ? (cpu[key] as number) : 1;
  return count("sockets") * count("cores") * count("threads");
}

/** The virt-launcher Pod for a VMI (`template.go`): VMI labels plus KubeVirt's, owned by the VMI, bound to `node`. */
export function launcherPod(vmi: KObject, podName: string, node: string): Json {
  const labels: Record<string, string> = {
    ...strMap(vmi.metadata.labels),
    "kubevirt.io": "virt-launcher",
    "kubevirt.io/created-by": vmi.metadata.uid,
    "vm.kubevirt.io/name": hostnameOf(vmi),
  };
  delete labels[NODE_NAME_LABEL];
  const spec = rec(vmi.spec) ?? {};
  // Only what a container accepts: the VMI's resources also carry KubeVirt-only keys (overcommitGuestOverhead).
  const domainResources = rec(rec(spec.domain)?.resources) ?? {};
  const resources: Json = {};
  for (const key of ["requests", "limits"] as const) {
    if (rec(domainResources[key])) resources[key] = structuredClone(domainResources[key]);
  }
  // virt-controller requests CPU for the guest when the VMI names none: vCPUs / cpuAllocationRatio (10).
  const requests = (rec(resources.requests) as Json | undefined) ?? {};
  if (requests.cpu === undefined) resources.requests = { ...requests, cpu: `${100 * vcpusOf(vmi)}m` };
  const ports = computePorts(vmi);
  const containers = launcherContainers(vmi).map((c) =>
    c.name === "compute"
      ? {
          name: c.name,
          image: c.image,
          command: ["/usr/bin/virt-launcher-monitor", "--name", vmi.metadata.name, "--uid", vmi.metadata.uid],
          resources,
          ...(ports.length > 0 ? { ports } : {}),
        }
      : {
          name: c.name,
          image: c.image,
          resources: structuredClone(HELPER_RESOURCES[c.name] ?? DISK_RESOURCES),
        },
  );
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName,
      generateName: `virt-launcher-${vmi.metadata.name}-`,
      namespace: vmi.metadata.namespace,
      labels,
      annotations: {
        "kubectl.kubernetes.io/default-container": "compute",
        "kubevirt.io/domain": vmi.metadata.name,
        "kubevirt.io/migrationTransportUnix": "true",
      },
      ownerReferences: [
        {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachineInstance",
          name: vmi.metadata.name,
          uid: vmi.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      containers,
      hostname: hostnameOf(vmi),
      restartPolicy: "Never",
      schedulerName: "default-scheduler",
      serviceAccountName: "default",
      automountServiceAccountToken: false,
      dnsPolicy: "ClusterFirst",
      enableServiceLinks: false,
      nodeSelector: { "kubevirt.io/schedulable": "true" },
      readinessGates: [{ conditionType: "kubevirt.io/virtual-machine-unpaused" }],
      terminationGracePeriodSeconds:
        (typeof spec.terminationGracePeriodSeconds === "number" ? spec.terminationGracePeriodSeconds : 30) +
        15,
    },
  };
}

/** Pod lifecycle stages the simulator shows: created, containers up (1/2), VM running (2/2), failed start. */
export type PodStage = "Pending" | "Started" | "Ready" | "Failed";

export interface PodStatusInput {
  readonly stage: PodStage;
  readonly nowIso: string;
  readonly hostIP: string;
  readonly podIP: string | undefined;
  /** containerd ID per container name. */
  readonly containerIds: (name: string) => string;
}

/** The Pod status the kubelet would report at `stage`; transition times are kept while a condition holds. */
export function launcherPodStatus(pod: KObject, input: PodStatusInput): Json {
  const previous = rec(pod.status) ?? {};
  const containers = recs(rec(pod.spec)?.containers);
  const { stage, nowIso } = input;
  const started = stage === "Started" || stage === "Ready";
  const allReady = stage === "Ready";
  const conditions: Condition[] = [
    { type: "kubevirt.io/virtual-machine-unpaused", status: "True" },
    { type: "Initialized", status: "True" },
    allReady
      ? { type: "Ready", status: "True" }
      : {
          type: "Ready",
          status: "False",
          reason: stage === "Failed" ? "PodFailed" : "ContainersNotReady",
          ...(stage === "Failed" ? {} : { message: "containers with unready status: [compute]" }),
        },
    allReady
      ? { type: "ContainersReady", status: "True" }
      : {
          type: "ContainersReady",
          status: "False",
          reason: stage === "Failed" ? "PodFailed" : "ContainersNotReady",
          ...(stage === "Failed" ? {} : { message: "containers with unready status: [compute]" }),
        },
    { type: "PodScheduled", status: "True" },
  ];
  const startedAt = str(previous.startTime) ?? nowIso;
  const containerStatuses = containers.map((c) => {
    const name = str(c.name) ?? "";
    const image = str(c.image) ?? "";
    const ready = allReady || (started && name !== "compute");
    let state: Json;
    if (stage === "Pending") state = { waiting: { reason: "ContainerCreating" } };
    else if (stage === "Failed") {
      const failed = name === "compute";
      state = {
        terminated: {
          exitCode: failed ? 1 : 0,
          reason: failed ? "Error" : "Completed",
          startedAt,
          finishedAt: nowIso,
          containerID: input.containerIds(name),
        },
      };
    } else state = { running: { startedAt } };
    return {
      name,
      image,
      imageID: image,
      ...(stage === "Pending" ? {} : { containerID: input.containerIds(name) }),
      ready,
      started: started,
      restartCount: 0,
      state,
    };
  });
  const podPhase = stage === "Pending" ? "Pending" : stage === "Failed" ? "Failed" : "Running";
  return {
    phase: podPhase,
    conditions: mergeConditions(previous.conditions, conditions, nowIso),
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP === undefined ? {} : { podIP: input.podIP, podIPs: [{ ip: input.podIP }] }),
    startTime: startedAt,
    containerStatuses,
    // kube-apiserver sets the QoS class on create and refuses to change it.
    qosClass: str(previous.qosClass) ?? "Burstable",
  };
}
