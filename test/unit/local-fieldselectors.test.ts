import { describe, expect, it } from "vitest";
import { ApiError } from "../../infra/local/errors";
import { type FieldTerm, matchesFields, parseFieldSelector } from "../../infra/local/fieldselectors";
import { RESOURCES } from "../../infra/local/resources";

const eventLabels = RESOURCES.find((r) => r.kind === "Event")?.fieldLabels ?? [];
const podLabels = RESOURCES.find((r) => r.kind === "Pod")?.fieldLabels ?? [];

/** The 400 BadRequest a call throws, as its message. */
function badRequestMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
    expect((err as ApiError).reason).toBe("BadRequest");
    return (err as Error).message;
  }
  throw new Error("expected a BadRequest");
}

describe("parseFieldSelector", () => {
  it.each<[string, readonly string[], FieldTerm[]]>([
    // empty selects everything
    ["", [], []],
    // metadata.name is always allowed
    [
      "metadata.name=vm-pool-cirros-0",
      [],
      [{ field: "metadata.name", operator: "=", value: "vm-pool-cirros-0" }],
    ],
    // == is the same as =
    ["metadata.namespace==default", [], [{ field: "metadata.namespace", operator: "=", value: "default" }]],
    // != keeps its operator
    ["metadata.name!=x", [], [{ field: "metadata.name", operator: "!=", value: "x" }]],
    // kubectl describe's event query; terms come back sorted
    [
      "involvedObject.name=vm-pool-cirros,involvedObject.namespace=default,involvedObject.kind=VirtualMachinePool",
      eventLabels,
      [
        { field: "involvedObject.kind", operator: "=", value: "VirtualMachinePool" },
        { field: "involvedObject.name", operator: "=", value: "vm-pool-cirros" },
        { field: "involvedObject.namespace", operator: "=", value: "default" },
      ],
    ],
    // empty terms are skipped
    [",metadata.name=a,", [], [{ field: "metadata.name", operator: "=", value: "a" }]],
    // empty value is legal
    ["spec.nodeName=", podLabels, [{ field: "spec.nodeName", operator: "=", value: "" }]],
    // escaped comma and equals inside a value
    ["metadata.name=a\\,b\\=c\\\\", [], [{ field: "metadata.name", operator: "=", value: "a,b=c\\" }]],
  ])("%j parses", (text, allowed, terms) => {
    expect(parseFieldSelector(text, allowed).terms).toEqual(terms);
  });

  it.each<[string, readonly string[], boolean, string]>([
    // a CR supports only metadata fields
    ["spec.replicas=2", [], true, "field label not supported: spec.replicas"],
    // cluster-scoped kinds have no metadata.namespace
    ["metadata.namespace=default", ["status.phase"], false, "field label not supported: metadata.namespace"],
    // labels are checked in sorted term order
    ["zz=1,aa=2", [], true, "field label not supported: aa"],
    // whitespace is not trimmed from the label
    ["metadata.name = x", [], true, "field label not supported: metadata.name "],
    // a term without operator
    ["metadata.name", [], true, "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    // syntax errors win over unsupported labels
    [
      "bogus=1,metadata.name",
      [],
      true,
      "invalid selector: 'bogus=1,metadata.name'; can't understand 'metadata.name'",
    ],
    // an unescaped = in the value (Go prints the rune as a number)
    ["metadata.name=a=b", [], true, "invalid field selector: unescaped character in value: 61"],
    // an unknown escape
    ["metadata.name=a\\x", [], true, "invalid field selector: invalid escape sequence: \\x"],
    // a trailing backslash
    ["metadata.name=a\\", [], true, "invalid field selector: invalid escape sequence: \\"],
  ])("%j is rejected", (text, allowed, namespaced, message) => {
    expect(badRequestMessage(() => parseFieldSelector(text, allowed, namespaced))).toBe(message);
  });
});

const event = {
  metadata: { name: "vm-pool-cirros.17a", namespace: "default" },
  involvedObject: { kind: "VirtualMachinePool", name: "vm-pool-cirros", uid: "04cf", namespace: "default" },
  reason: "SuccessfulCreate",
  type: "Normal",
  source: { component: "virtualmachinepool-controller" },
  reportingController: "virtualmachinepool-controller",
};

const pod = {
  metadata: { name: "virt-launcher-x", namespace: "default" },
  spec: { nodeName: "node01" },
  status: { phase: "Running", podIPs: [{ ip: "10.244.0.7" }], podIP: "10.244.0.7" },
};

describe("matchesFields", () => {
  it.each<[string, readonly string[], Record<string, unknown>, boolean]>([
    // dotted path lookup
    ["involvedObject.uid=04cf", eventLabels, event, true],
    ["involvedObject.uid=other", eventLabels, event, false],
    // AND of several terms
    ["involvedObject.name=vm-pool-cirros,involvedObject.kind=VirtualMachinePool", eventLabels, event, true],
    ["involvedObject.name=vm-pool-cirros,involvedObject.kind=Pod", eventLabels, event, false],
    // Event "source" means source.component
    ["source=virtualmachinepool-controller", eventLabels, event, true],
    // reportingComponent is the reportingController field
    ["reportingComponent=virtualmachinepool-controller", eventLabels, event, true],
    // a missing field selects as ""
    ["involvedObject.fieldPath=", eventLabels, event, true],
    ["involvedObject.fieldPath!=x", eventLabels, event, true],
    // != on a present value
    ["type!=Normal", eventLabels, event, false],
    // Pod status.podIP reads podIPs[0]
    ["status.podIP=10.244.0.7", podLabels, pod, true],
    // Pod hostNetwork defaults to false
    ["spec.hostNetwork=false", podLabels, pod, true],
    // Pod phase and node
    ["status.phase=Running,spec.nodeName=node01", podLabels, pod, true],
    // metadata fields
    ["metadata.name=virt-launcher-x,metadata.namespace=default", podLabels, pod, true],
  ])("%j against the object is %s", (text, allowed, obj, expected) => {
    expect(matchesFields(parseFieldSelector(text, allowed), obj)).toBe(expected);
  });
});
