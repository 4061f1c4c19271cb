/**
 * core/v1 Events shaped like client-go's legacy recorder writes them (`tools/record/event.go` `makeEvent`), so
 * `kubectl describe` lists them under the object: named `<object>.<hex unix nanos>`, `source.component` for the
 * From column, second-precision first/last timestamps, count 1, `eventTime` null. Pure.
 */

/** The object an event is about. `uid` must be the live object's: describe filters on it. */
export interface InvolvedObject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface EventInput {
  readonly involvedObject: InvolvedObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /** The upstream controller name, e.g. `virtualmachinepool-controller`. */
  readonly component: string;
}

/** metav1.Time: RFC 3339 with second precision, as kube-apiserver stores it. */
export function formatTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function formatMicroTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * `<name>.<unix nanoseconds in hex, 16 digits>`. `sequence` fills the sub-millisecond part so events recorded in
 * the same millisecond by one client get distinct names.
 */
export function eventName(objectName: string, at: Date, sequence: number): string {
  const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(sequence % 1_000_000);
  return `${objectName}.${nanos.toString(16).padStart(16, "0")}`;
}

/** The Event body to POST for `input` at `at`. */
export function buildEvent(input: EventInput, at: Date, sequence: number): Record<string, unknown> {
  const { involvedObject } = input;
  const timestamp = formatTime(at);
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: eventName(involvedObject.name, at, sequence),
      namespace: involvedObject.namespace,
    },
    involvedObject: {
      kind: involvedObject.kind,
      apiVersion: involvedObject.apiVersion,
      namespace: involvedObject.namespace,
      name: involvedObject.name,
      uid: involvedObject.uid,
    },
    reason: input.reason,
    message: input.message,
    type: input.type,
    source: { component: input.component },
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
    count: 1,
    eventTime: null,
    reportingComponent: input.component,
    reportingInstance: "",
  };
}
