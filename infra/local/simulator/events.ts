/**
 * core/v1 Events as KubeVirt's recorders write them (`record.EventRecorder`): named `<object>.<hex nanoseconds>`,
 * pointing at the object, with the recording component as `source.component`, so `kubectl describe vm|vmi`
 * reads like a real cluster's.
 */
import type { KObject } from "../store";
import type { Json } from "./json";

/** Recording components, as upstream names them. */
export const VM_CONTROLLER = "virtualmachine-controller";
export const VIRT_HANDLER = "virt-handler";

export interface EventInput {
  readonly object: KObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  readonly component: string;
  /** Source host, which virt-handler sets to its node. */
  readonly host?: string;
  readonly nowIso: string;
  /** Unique per event: the recorder uses the time in nanoseconds; a counter keeps same-millisecond events apart. */
  readonly nanos: bigint;
}

export function eventFor(input: EventInput): Json {
  const obj = input.object;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${obj.metadata.name}.${input.nanos.toString(16)}`, namespace: obj.metadata.namespace },
    involvedObject: {
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: obj.metadata.resourceVersion,
    },
    reason: input.reason,
    message: input.message,
    source: { component: input.component, ...(input.host === undefined ? {} : { host: input.host }) },
    firstTimestamp: input.nowIso,
    lastTimestamp: input.nowIso,
    count: 1,
    type: input.type,
    reportingComponent: "",
    reportingInstance: "",
  };
}
