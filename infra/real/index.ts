/**
 * The real control plane beside the embedded one: kube-apiserver, kube-controller-manager and etcd built from
 * source with Go (`vmpool control-plane build`), started on 127.0.0.1 with KubeVirt's CRDs and the functions'
 * least-privilege identity installed. A development and test double of a cluster, like `infra/local`, but with
 * Kubernetes' own code deciding admission, garbage collection and Endpoints.
 */
export { binariesCurrent, buildControlPlane, builtBinaries, goVersion, kubernetesVersion } from "./build";
export {
  type AttachedSimulator,
  type RealCluster,
  type RealClusterOptions,
  startRealCluster,
} from "./cluster";
export { CONTROLLERS, freePort, HPA_CONTROLLER, type HpaControllerSettings } from "./control-plane";
export { METRICS_APISERVICE, METRICS_SERVICE, type MetricsApiService } from "./metrics-apiservice";
