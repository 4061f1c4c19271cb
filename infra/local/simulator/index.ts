/**
 * The KubeVirt simulator of the local cluster: it plays virt-controller (VM → VMI, launcher pods, crash-loop
 * backoff), virt-handler (VMI phases, node, IP, Ready), CDI (DataVolumes from dataVolumeTemplates) and the
 * endpoints controller (Services in front of VMIs), so `kubectl get vm,vmi,pods,dv,ep` look like a real
 * KubeVirt cluster. Timings, failures and every random choice are configurable and seeded. One shell runs the
 * rules on either backend: the embedded cluster's store (`startSimulator`) or any cluster over the Kubernetes API
 * (`startApiSimulator`, ./api).
 */

export { type ApiSimulator, type ApiSimulatorOptions, startApiSimulator } from "./api";
export type { SimulatorOptions, SimulatorTimings } from "./options";
export { DEFAULT_TIMINGS } from "./options";
export { type CpuLoadSample, SIMULATOR_ANNOTATIONS, type Simulator, startSimulator } from "./simulator";
