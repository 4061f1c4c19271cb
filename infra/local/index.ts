/**
 * The local cluster: an in-process Kubernetes API server for the resources this project touches plus a KubeVirt
 * simulator, so `npm start`, the tests and the benchmarks run against something real kubectl and
 * `@kubernetes/client-node` accept unchanged. A development and test double, not a production server.
 */
export {
  DEFAULT_API_PORT,
  type LocalCluster,
  type LocalClusterOptions,
  type LocalClusterSecurity,
  startLocalCluster,
  writeKubeconfig,
} from "./cluster";
export { type FaultConfig, type FaultRule, faultConfigSchema, parseFaultFlag } from "./faults";
export { RESOURCES, type ResourceDef } from "./resources";
export { ensureLocalSecurity } from "./security";
