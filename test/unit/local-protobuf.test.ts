import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../infra/local/errors";
import { decodeProtobufBody, isProtobufContentType, PROTOBUF_KINDS } from "../../infra/local/protobuf";
import {
  type CapturedRequest,
  type CaptureReply,
  captureKubectlWrites,
  kubectlBinary,
} from "../support/capture-server";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "protobuf");
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const jsonFixture = (name: string): Record<string, unknown> =>
  JSON.parse(fixture(name).toString("utf8")) as Record<string, unknown>;

const SCALE_TARGET = {
  kind: "VirtualMachinePool",
  name: "vm-pool-cirros",
  apiVersion: "pool.kubevirt.io/v1alpha1",
};

/** What `kubectl autoscale vmpool vm-pool-cirros --min=3 --max=10 --cpu-percent=50` means, per API version. */
const HPA_V2_CPU = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "vm-pool-cirros" },
  spec: {
    scaleTargetRef: SCALE_TARGET,
    minReplicas: 3,
    maxReplicas: 10,
    metrics: [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
      },
    ],
  },
  status: { desiredReplicas: 0, currentMetrics: null },
};
const HPA_V1_CPU = {
  apiVersion: "autoscaling/v1",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "vm-pool-cirros" },
  spec: { scaleTargetRef: SCALE_TARGET, minReplicas: 3, maxReplicas: 10, targetCPUUtilizationPercentage: 50 },
  status: { currentReplicas: 0, desiredReplicas: 0 },
};
const NAMESPACE_DEMO = {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "demo" },
  spec: {},
  status: {},
};

/** Go ≤1.33 apimachinery wrote `"creationTimestamp": null`; current apimachinery (omitzero) and we leave it out. */
function withoutNullCreationTimestamp(object: Record<string, unknown>): Record<string, unknown> {
  const { creationTimestamp, ...metadata } = object.metadata as Record<string, unknown>;
  expect(creationTimestamp).toBeNull();
  return { ...object, metadata };
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw new Error(`expected an ApiError, got ${String(err)}`);
  }
  throw new Error("expected an ApiError, nothing was thrown");
}

// Independent hand encoder: field numbers restated from upstream generated.proto, not taken from our schema.
type Part = (w: protobuf.Writer) => void;
const str =
  (id: number, value: string): Part =>
  (w) =>
    w.uint32((id << 3) | 2).string(value);
const varint =
  (id: number, value: number): Part =>
  (w) =>
    w.uint32(id << 3).int64(value);
const bool =
  (id: number, value: boolean): Part =>
  (w) =>
    w.uint32(id << 3).bool(value);
const bytes =
  (id: number, value: Uint8Array): Part =>
  (w) =>
    w.uint32((id << 3) | 2).bytes(value);
const msg =
  (id: number, ...parts: Part[]): Part =>
  (w) => {
    w.uint32((id << 3) | 2).fork();
    for (const part of parts) part(w);
    w.ldelim();
  };
const entry = (id: number, key: string, value: string): Part => msg(id, str(1, key), str(2, value));

function encode(...parts: Part[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const part of parts) part(w);
  return w.finish();
}

const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** `k8s\x00` + runtime.Unknown{typeMeta{apiVersion=1,kind=2}=1, raw=2, contentEncoding=3, contentType=4}. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array, contentEncoding = ""): Uint8Array {
  const unknown = encode(
    msg(1, str(1, apiVersion), str(2, kind)),
    bytes(2, raw),
    str(3, contentEncoding),
    str(4, ""),
  );
  return Buffer.concat([MAGIC, unknown]);
}

describe("isProtobufContentType", () => {
  it.each([
    // what kubectl ≥1.32 sends
    ["application/vnd.kubernetes.protobuf", true],
    // parameters and letter case do not change the media type
    ["Application/VND.Kubernetes.Protobuf; charset=binary", true],
    // the watch-stream variant is still protobuf
    ["application/vnd.kubernetes.protobuf;stream=watch", true],
    ["application/json", false],
    ["application/apply-patch+yaml", false],
    // a missing Content-Type means JSON (fidelity §3.1)
    [undefined, false],
    ["", false],
  ])("%s → %s", (contentType, expected) => {
    expect(isProtobufContentType(contentType)).toBe(expected);
  });
});

describe("decodeProtobufBody on bodies captured from real kubectl", () => {
  it.each([
    // 1.33 tries autoscaling/v2 first
    ["hpa-v2-cpu.kubectl-1.33.bin", HPA_V2_CPU],
    // … then autoscaling/v1 after any error
    ["hpa-v1-cpu.kubectl-1.33.bin", HPA_V1_CPU],
    // 1.32 only ever sends v1
    ["hpa-v1-cpu.kubectl-1.32.bin", HPA_V1_CPU],
    ["namespace.kubectl-1.33.bin", NAMESPACE_DEMO],
    ["namespace.kubectl-1.32.bin", NAMESPACE_DEMO],
  ])("%s", (name, expected) => {
    expect(decodeProtobufBody(fixture(name))).toStrictEqual(expected);
  });

  it.each([
    ["hpa-v1-cpu.kubectl-1.32.bin", "hpa-v1-cpu.kubectl-1.31.json"],
    ["namespace.kubectl-1.33.bin", "namespace.kubectl-1.31.json"],
  ])("%s decodes to the JSON body kubectl 1.31 sent for the same command (%s)", (bin, json) => {
    expect(decodeProtobufBody(fixture(bin))).toStrictEqual(withoutNullCreationTimestamp(jsonFixture(json)));
  });

  it.each([
    "hpa-v2-save-config.kubectl-1.33.bin",
    "hpa-v1-save-config.kubectl-1.33.bin",
    "namespace-save-config.kubectl-1.33.bin",
  ])("%s matches Go's own JSON of the object in last-applied-configuration", (name) => {
    const decoded = decodeProtobufBody(fixture(name));
    const { annotations, ...metadata } = decoded.metadata as Record<string, unknown>;
    const lastApplied = (annotations as Record<string, string>)[
      "kubectl.kubernetes.io/last-applied-configuration"
    ];
    expect(lastApplied).toBeDefined();
    const goJson = JSON.parse(lastApplied ?? "null") as Record<string, unknown>;
    expect({ ...decoded, metadata }).toStrictEqual(withoutNullCreationTimestamp(goJson));
  });
});

describe("decodeProtobufBody on hand-encoded messages", () => {
  const JAN_1_2026 = 1_767_225_600;

  it("renders ObjectMeta and Namespace fields the way Go's encoding/json does", () => {
    const meta = msg(
      1,
      str(1, "team-a"),
      str(5, "should-not-matter-uid"),
      msg(8, varint(1, JAN_1_2026), varint(2, 999)),
      varint(10, 0),
      entry(11, "kubernetes.io/metadata.name", "team-a"),
      entry(12, "note", ""),
      msg(
        13,
        str(1, "Tenant"),
        str(3, "acme"),
        str(4, "u-1"),
        str(5, "example.com/v1"),
        bool(6, true),
        bool(7, false),
      ),
      str(14, "example.com/cleanup"),
    );
    const spec = msg(2, str(1, "kubernetes"));
    const status = msg(
      3,
      str(1, "Active"),
      msg(2, str(1, "NamespaceDeletionDiscoveryFailure"), str(2, "False"), msg(4), str(5, "")),
    );
    const body = envelope("v1", "Namespace", encode(meta, spec, status));

    expect(decodeProtobufBody(body)).toStrictEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "team-a",
        uid: "should-not-matter-uid",
        // nanos are dropped, as apimachinery's Time.Unmarshal does
        creationTimestamp: "2026-01-01T00:00:00Z",
        // a *int64 that was sent is kept even when 0
        deletionGracePeriodSeconds: 0,
        labels: { "kubernetes.io/metadata.name": "team-a" },
        annotations: { note: "" },
        ownerReferences: [
          {
            apiVersion: "example.com/v1",
            kind: "Tenant",
            name: "acme",
            uid: "u-1",
            controller: true,
            blockOwnerDeletion: false,
          },
        ],
        finalizers: ["example.com/cleanup"],
      },
      spec: { finalizers: ["kubernetes"] },
      // a zero metav1.Time value field is JSON null; empty omitempty strings disappear
      status: {
        phase: "Active",
        conditions: [
          { type: "NamespaceDeletionDiscoveryFailure", status: "False", lastTransitionTime: null },
        ],
      },
    });
  });

  it("renders autoscaling/v2 quantities, behavior, selectors and status", () => {
    const target = (...parts: Part[]): Part => msg(2, ...parts);
    const spec = msg(
      2,
      msg(1, str(1, "VirtualMachinePool"), str(2, "pool"), str(3, "pool.kubevirt.io/v1alpha1")),
      varint(3, 4),
      msg(
        4,
        str(1, "Pods"),
        msg(3, msg(1, str(1, "queue_depth")), target(str(1, "AverageValue"), msg(3, str(1, "500m")))),
      ),
      msg(
        4,
        str(1, "External"),
        msg(
          5,
          msg(1, str(1, "sqs_messages"), msg(2, entry(1, "queue", "jobs"))),
          target(str(1, "Value"), msg(2, str(1, "30"))),
        ),
      ),
      msg(
        5,
        msg(
          2,
          varint(3, 0),
          str(1, "Max"),
          msg(2, str(1, "Pods"), varint(2, 4), varint(3, 60)),
          msg(4, str(1, "0.1")),
        ),
      ),
    );
    const status = msg(
      3,
      msg(2, varint(1, JAN_1_2026)),
      varint(3, 0),
      varint(4, 2),
      msg(5, str(1, "Resource"), msg(4, str(1, "cpu"), msg(2, varint(3, 42), msg(2, str(1, "120m"))))),
      msg(
        6,
        str(1, "AbleToScale"),
        str(2, "True"),
        msg(3, varint(1, JAN_1_2026)),
        str(4, "ReadyForNewScale"),
      ),
    );
    const body = envelope(
      "autoscaling/v2",
      "HorizontalPodAutoscaler",
      encode(msg(1, str(1, "hpa")), spec, status),
    );

    expect(decodeProtobufBody(body)).toStrictEqual({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "hpa" },
      spec: {
        scaleTargetRef: { kind: "VirtualMachinePool", name: "pool", apiVersion: "pool.kubevirt.io/v1alpha1" },
        // maxReplicas has no omitempty, minReplicas was not sent
        maxReplicas: 4,
        metrics: [
          {
            type: "Pods",
            pods: { metric: { name: "queue_depth" }, target: { type: "AverageValue", averageValue: "500m" } },
          },
          {
            type: "External",
            external: {
              metric: { name: "sqs_messages", selector: { matchLabels: { queue: "jobs" } } },
              target: { type: "Value", value: "30" },
            },
          },
        ],
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policies: [{ type: "Pods", value: 4, periodSeconds: 60 }],
            tolerance: "0.1",
          },
        },
      },
      status: {
        lastScaleTime: "2026-01-01T00:00:00Z",
        desiredReplicas: 2,
        currentMetrics: [
          {
            type: "Resource",
            resource: { name: "cpu", current: { averageValue: "120m", averageUtilization: 42 } },
          },
        ],
        conditions: [
          {
            type: "AbleToScale",
            status: "True",
            lastTransitionTime: "2026-01-01T00:00:00Z",
            reason: "ReadyForNewScale",
          },
        ],
      },
    });
  });

  it("fills value-typed fields that were not on the wire with Go's zero values", () => {
    const body = envelope("autoscaling/v1", "HorizontalPodAutoscaler", encode());
    expect(decodeProtobufBody(body)).toStrictEqual({
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: {},
      spec: { scaleTargetRef: { kind: "", name: "" }, maxReplicas: 0 },
      status: { currentReplicas: 0, desiredReplicas: 0 },
    });
  });

  it("round-trips any autoscaling/v1 spec kubectl autoscale can produce", () => {
    const name = fc.stringMatching(/^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/);
    const replicas = fc.integer({ min: 0, max: 2 ** 31 - 1 });
    fc.assert(
      fc.property(
        name,
        fc.option(replicas, { nil: undefined }),
        replicas,
        fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        (hpaName, min, max, cpu) => {
          const spec: Part[] = [msg(1, str(1, "VirtualMachinePool"), str(2, hpaName)), varint(3, max)];
          if (min !== undefined) spec.push(varint(2, min));
          if (cpu !== undefined) spec.push(varint(4, cpu));
          const body = envelope(
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            encode(msg(1, str(1, hpaName)), msg(2, ...spec)),
          );
          expect(decodeProtobufBody(body).spec).toStrictEqual({
            scaleTargetRef: { kind: "VirtualMachinePool", name: hpaName },
            ...(min === undefined ? {} : { minReplicas: min }),
            maxReplicas: max,
            ...(cpu === undefined ? {} : { targetCPUUtilizationPercentage: cpu }),
          });
        },
      ),
    );
  });
});

describe("decodeProtobufBody rejections", () => {
  const valid = fixture("hpa-v1-cpu.kubectl-1.33.bin");

  it.each([
    // a JSON body mislabelled as protobuf
    [
      "JSON bytes",
      Buffer.from('{"kind":"Namespace"}'),
      "provided data does not appear to be a protobuf message",
    ],
    // an encoding style other than 0 in the fourth magic byte
    [
      "magic k8s\\x01",
      Buffer.concat([Uint8Array.of(0x6b, 0x38, 0x73, 0x01), valid.subarray(4)]),
      "expected prefix [107 56 115 0]",
    ],
    ["shorter than the magic", Buffer.from("k8s"), "does not appear to be a protobuf message"],
    ["empty", new Uint8Array(), "empty data"],
    ["magic only", MAGIC, "empty body"],
    ["truncated envelope", valid.subarray(0, 40), "unable to decode protobuf runtime.Unknown envelope"],
    [
      "no kind",
      Buffer.concat([MAGIC, encode(msg(1, str(1, "v1")), bytes(2, new Uint8Array()))]),
      "'Kind' is missing",
    ],
    ["no apiVersion", Buffer.concat([MAGIC, encode(msg(1, str(2, "Namespace")))]), "'apiVersion' is missing"],
    [
      "gzip content encoding",
      envelope("v1", "Namespace", new Uint8Array(), "gzip"),
      'content encoding "gzip"',
    ],
    [
      "truncated object",
      envelope("v1", "Namespace", encode(msg(1, str(1, "demo"))).subarray(0, 5)),
      "unable to decode protobuf Namespace v1",
    ],
    [
      "unparsable quantity",
      envelope(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        encode(msg(2, msg(4, str(1, "Pods"), msg(3, msg(2, msg(3, str(1, "lots"))))))),
      ),
      "protobuf field averageValue: quantities must match",
    ],
    [
      "time beyond year 9999",
      envelope(
        "autoscaling/v1",
        "HorizontalPodAutoscaler",
        encode(msg(3, msg(2, varint(1, 400_000_000_000)))),
      ),
      "protobuf field lastScaleTime: time",
    ],
    [
      "int64 beyond 2^53",
      envelope("v1", "Namespace", encode(msg(1, varint(7, Number.MAX_SAFE_INTEGER + 2)))),
      "protobuf field generation: int64 value out of the JSON-safe range",
    ],
  ])("%s → 400 BadRequest", (_, body, message) => {
    const err = thrown(() => decodeProtobufBody(body));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toContain(message);
  });

  /** Offsets where a top-level envelope field ends: protobuf has no end marker, so a cut there is a valid message. */
  function envelopeFieldEnds(body: Uint8Array): number[] {
    const reader = protobuf.Reader.create(body.subarray(MAGIC.length));
    const ends: number[] = [];
    while (reader.pos < reader.len) {
      reader.skipType(reader.uint32() & 7);
      ends.push(MAGIC.length + reader.pos);
    }
    return ends;
  }

  it.each(["hpa-v1-cpu.kubectl-1.33.bin", "hpa-v2-cpu.kubectl-1.33.bin", "namespace.kubectl-1.33.bin"])(
    "answers every truncation of %s inside a field with 400, never a raw protobufjs error",
    (name) => {
      const body = fixture(name);
      const ends = envelopeFieldEnds(body);
      // typeMeta, raw, contentEncoding, contentType
      expect(ends).toHaveLength(4);
      const accepted: number[] = [];
      for (let length = 0; length < body.length; length++) {
        try {
          decodeProtobufBody(body.subarray(0, length));
          accepted.push(length);
        } catch (err) {
          expect(err, `length ${length}`).toBeInstanceOf(ApiError);
          expect((err as ApiError).code, `length ${length}`).toBe(400);
        }
      }
      expect(accepted).toStrictEqual(ends.slice(0, -1));
    },
  );

  it("turns arbitrary bytes after the magic into an object or an ApiError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        try {
          decodeProtobufBody(Buffer.concat([MAGIC, tail]));
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect([400, 415]).toContain((err as ApiError).code);
        }
      }),
    );
  });

  it.each([
    // a built-in kind kubectl never POSTs as protobuf to the local cluster
    ["v1 Pod", envelope("v1", "Pod", encode()), "Pod (v1)"],
    // right kind, version we have no schema for
    [
      "autoscaling/v2beta2 HPA",
      envelope("autoscaling/v2beta2", "HorizontalPodAutoscaler", encode()),
      "HorizontalPodAutoscaler (autoscaling/v2beta2)",
    ],
  ])("%s → 415 UnsupportedMediaType", (_, body, named) => {
    const err = thrown(() => decodeProtobufBody(body));
    expect(err.code).toBe(415);
    expect(err.reason).toBe("UnsupportedMediaType");
    expect(err.message).toContain(named);
    expect(err.message).toContain(
      "HorizontalPodAutoscaler (autoscaling/v1), HorizontalPodAutoscaler (autoscaling/v2), Namespace (v1)",
    );
    expect(err.message).toContain("send application/json");
  });

  it("decodes what `kubectl create configmap cm --from-literal=a=b` (1.33) POSTs", () => {
    expect(decodeProtobufBody(fixture("configmap.kubectl-1.33.bin"))).toStrictEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm", namespace: "default" },
      data: { a: "b" },
    });
  });

  it("lists exactly the kinds it can decode", () => {
    expect(PROTOBUF_KINDS.map((k) => `${k.apiVersion}/${k.kind}`)).toStrictEqual([
      "autoscaling/v1/HorizontalPodAutoscaler",
      "autoscaling/v2/HorizontalPodAutoscaler",
      "v1/Namespace",
      "v1/ConfigMap",
      "v1/Secret",
      "authorization.k8s.io/v1/SelfSubjectAccessReview",
      "authorization.k8s.io/v1/SelfSubjectRulesReview",
      "authentication.k8s.io/v1/SelfSubjectReview",
    ]);
  });
});

describe("live capture from kubectl 1.33", () => {
  const kubectl = kubectlBinary("1.33");
  const title = (what: string): string =>
    kubectl ? what : `${what} [skipped: no kubectl.1.33 next to the kubectl on PATH]`;

  /** Answers like a server that decodes protobuf: 201 with the decoded object, or the decoder's Status error. */
  function decodeAndEcho(request: CapturedRequest): CaptureReply {
    try {
      return { status: 201, body: decodeProtobufBody(request.body) };
    } catch (err) {
      if (err instanceof ApiError) return { status: err.code, body: err.toStatus() };
      throw err;
    }
  }

  it.skipIf(!kubectl)(
    title("decodes what `kubectl autoscale` POSTs to autoscaling/v2 and, after an error, v1"),
    async () => {
      const { result, writes } = await captureKubectlWrites(
        kubectl ?? "",
        ["autoscale", "vmpool", "vm-pool-cirros", "--min=3", "--max=10", "--cpu-percent=50"],
        { rejectWrites: /\/autoscaling\/v2\//, onWrite: decodeAndEcho },
      );
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("horizontalpodautoscaler.autoscaling/vm-pool-cirros autoscaled\n");
      expect(writes.map((w) => [w.url.split("?")[0], w.contentType])).toStrictEqual([
        [
          "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
          "application/vnd.kubernetes.protobuf",
        ],
        [
          "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
          "application/vnd.kubernetes.protobuf",
        ],
      ]);
      expect(writes.map((w) => decodeProtobufBody(w.body))).toStrictEqual([HPA_V2_CPU, HPA_V1_CPU]);
    },
  );

  it.skipIf(!kubectl)(
    title("decodes what `kubectl autoscale` POSTs when autoscaling/v2 succeeds"),
    async () => {
      const { result, writes } = await captureKubectlWrites(
        kubectl ?? "",
        ["autoscale", "vmpool", "vm-pool-cirros", "--min=3", "--max=10", "--cpu-percent=50"],
        { onWrite: decodeAndEcho },
      );
      expect(result.code).toBe(0);
      expect(writes.map((w) => decodeProtobufBody(w.body))).toStrictEqual([HPA_V2_CPU]);
    },
  );

  it.skipIf(!kubectl)(title("decodes what `kubectl create namespace demo` POSTs"), async () => {
    const { result, writes } = await captureKubectlWrites(kubectl ?? "", ["create", "namespace", "demo"], {
      onWrite: decodeAndEcho,
    });
    expect(result.stdout).toBe("namespace/demo created\n");
    expect(writes).toHaveLength(1);
    expect(writes[0]?.contentType).toBe("application/vnd.kubernetes.protobuf");
    expect(decodeProtobufBody(writes[0]?.body ?? new Uint8Array())).toStrictEqual(NAMESPACE_DEMO);
  });
});
