import { describe, expect, it } from "vitest";
import { hasReason } from "../../shared/errors";
import {
  DEFAULT_SCALE_DOWN_RULES,
  DEFAULT_SCALE_UP_RULES,
  formatQuantity,
  normalizeHpa,
  parseQuantity,
  StepScalingConfigSchema,
} from "../../shared/schemas/hpa";
import { fixture, spec } from "./hpa-fixtures";

describe("parseQuantity", () => {
  it.each([
    // milli suffix
    ["500m", 0.5, 500, "DecimalSI"],
    // plain integer
    ["2", 2, 2000, "DecimalSI"],
    // decimal kilo
    ["1k", 1000, 1_000_000, "DecimalSI"],
    // fractional with a suffix
    ["1.5k", 1500, 1_500_000, "DecimalSI"],
    // binary suffix
    ["2Gi", 2 * 1024 ** 3, 2 * 1024 ** 3 * 1000, "BinarySI"],
    // Ki
    ["512Ki", 512 * 1024, 512 * 1024 * 1000, "BinarySI"],
    // decimal exponent
    ["1e3", 1000, 1_000_000, "DecimalExponent"],
    // capital E followed by digits is an exponent, not exa
    ["2E2", 200, 200_000, "DecimalExponent"],
    // E alone is exa
    ["1E", 1e18, 1e21, "DecimalSI"],
    // MilliValue rounds up: 0.1m → 1m
    ["100u", 0.0001, 1, "DecimalSI"],
    // float noise must not round 0.1 up to 101m
    ["0.1", 0.1, 100, "DecimalSI"],
    // leading dot
    [".5", 0.5, 500, "DecimalSI"],
    // JSON numbers are quantities too
    [30, 30, 30_000, "DecimalSI"],
    // a fractional JSON number
    [0.25, 0.25, 250, "DecimalSI"],
  ] as const)("%s", (text, value, milli, format) => {
    const parsed = parseQuantity(text);
    expect(parsed?.value).toBeCloseTo(value, 6);
    expect(parsed?.milli).toBe(milli);
    expect(parsed?.format).toBe(format);
  });

  it.each([
    // lowercase K is not a suffix
    "1K",
    // units are not quantities
    "10 cores",
    // empty
    "",
    // two dots
    "1.2.3",
    // b is not binary
    "1Kb",
  ])("rejects %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe("formatQuantity", () => {
  it.each([
    // zero has no suffix
    [0, "DecimalSI", "0"],
    // sub-unit stays in milli
    [1500, "DecimalSI", "1500m"],
    // whole units drop the m
    [2000, "DecimalSI", "2"],
    // thousands become k
    [2_000_000, "DecimalSI", "2k"],
    // non-round stays plain
    [1_500_000, "DecimalSI", "1500"],
    // memory in whole Mi
    [512 * 1024 * 1024 * 1000, "BinarySI", "512Mi"],
    // memory not a multiple of 1024 prints decimal
    [1536 * 1000 + 0, "BinarySI", "1536"],
    // 3 KiB
    [3072 * 1000, "BinarySI", "3Ki"],
    // small binary values print decimal
    [1000 * 1000, "BinarySI", "1k"],
  ] as const)("%d (%s) → %s", (milli, format, text) => {
    expect(formatQuantity(milli, format)).toBe(text);
  });
});

describe("normalizeHpa", () => {
  it("reads an autoscaling/v2 HPA as kubectl returns it", () => {
    const hpa = normalizeHpa(fixture("v2-cpu"));
    expect(hpa).toMatchObject({
      namespace: "default",
      name: "web-pool",
      scaleTargetRef: { kind: "VirtualMachinePool", name: "web-pool" },
      minReplicas: 3,
      maxReplicas: 10,
      metrics: [{ type: "Resource", name: "cpu", target: { type: "Utilization", averageUtilization: 50 } }],
      behavior: null,
      tolerance: { scaleUp: 0.1, scaleDown: 0.1 },
    });
  });

  it("converts the v1 body kubectl autoscale sends to a cpu Utilization metric", () => {
    const hpa = normalizeHpa(fixture("v1-kubectl-autoscale"));
    expect(hpa.minReplicas).toBe(3);
    expect(hpa.maxReplicas).toBe(10);
    expect(hpa.metrics).toEqual([
      { type: "Resource", name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
    ]);
    expect(hpa.behavior).toBeNull();
  });

  it("defaults a v1 HPA without a CPU target to 80% CPU", () => {
    const object = fixture("v1-autoscale");
    delete object.spec.targetCPUUtilizationPercentage;
    expect(normalizeHpa(object).metrics).toEqual([
      { type: "Resource", name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
    ]);
  });

  it("defaults a v2 HPA without metrics to 80% CPU and minReplicas to 1", () => {
    const hpa = spec("v2-cpu", (s) => {
      delete s.metrics;
      delete s.minReplicas;
    });
    expect(hpa.minReplicas).toBe(1);
    expect(hpa.metrics).toEqual([
      { type: "Resource", name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
    ]);
  });

  it("lifts v2 metrics and behavior out of v1 annotations, annotation metrics before the CPU target", () => {
    const hpa = normalizeHpa(fixture("v1-annotated"));
    expect(hpa.metrics.map((metric) => `${metric.type}/${metric.name}/${metric.target.type}`)).toEqual([
      "External/queue_depth/AverageValue",
      "Object/requests_per_second/Value",
      "Resource/cpu/Utilization",
    ]);
    expect(hpa.behavior?.scaleDown).toEqual({
      stabilizationWindowSeconds: 300,
      selectPolicy: "Min",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 60 },
        { type: "Percent", value: 10, periodSeconds: 60 },
      ],
    });
  });

  it("fills an HPA's behavior field by field with the upstream defaults", () => {
    const hpa = normalizeHpa(fixture("v2-behavior"));
    expect(hpa.behavior?.scaleUp).toEqual(DEFAULT_SCALE_UP_RULES);
    expect(hpa.behavior?.scaleDown).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 60 },
        { type: "Percent", value: 10, periodSeconds: 60 },
      ],
    });
  });

  it("fills an empty behavior entirely with defaults (window 300 s from the controller flag)", () => {
    const hpa = spec("v2-cpu", (s) => {
      s.behavior = {};
    });
    expect(hpa.behavior).toEqual({ scaleUp: DEFAULT_SCALE_UP_RULES, scaleDown: DEFAULT_SCALE_DOWN_RULES });
  });

  it("reads per-direction tolerances as quantities", () => {
    const hpa = spec("v2-cpu", (s) => {
      s.behavior = { scaleUp: { tolerance: "50m" }, scaleDown: { tolerance: 0.2 } };
    });
    expect(hpa.tolerance).toEqual({ scaleUp: 0.05, scaleDown: 0.2 });
  });

  it("parses every metric source of a mixed HPA", () => {
    const hpa = normalizeHpa(fixture("v2-mixed"));
    expect(hpa.metrics.map((metric) => metric.type)).toEqual([
      "Resource",
      "Resource",
      "ContainerResource",
      "Pods",
      "Object",
      "External",
    ]);
    const memory = hpa.metrics[1];
    expect(memory?.target.type === "AverageValue" && memory.target.averageValue.milli).toBe(
      512 * 1024 ** 2 * 1000,
    );
  });

  it("keeps unknown fields it does not understand without failing", () => {
    const object = fixture("v2-cpu");
    object.spec.futureField = { enabled: true };
    object.spec.metrics[0].resource.target.futureKnob = 3;
    expect(() => normalizeHpa(object)).not.toThrow();
  });

  it.each([
    // maxReplicas below minReplicas
    ["min above max", (s: Record<string, unknown>) => Object.assign(s, { minReplicas: 5, maxReplicas: 2 })],
    // minReplicas 0 needs the alpha HPAScaleToZero gate
    ["min zero", (s: Record<string, unknown>) => Object.assign(s, { minReplicas: 0 })],
    // Utilization is only for resource metrics
    [
      "utilization on a Pods metric",
      (s: Record<string, unknown>) =>
        Object.assign(s, {
          metrics: [
            {
              type: "Pods",
              pods: { metric: { name: "x" }, target: { type: "Utilization", averageUtilization: 5 } },
            },
          ],
        }),
    ],
    // a target type without its value
    [
      "AverageValue without averageValue",
      (s: Record<string, unknown>) =>
        Object.assign(s, {
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "AverageValue" } } }],
        }),
    ],
    // policy period beyond 30 minutes
    [
      "period above 1800 s",
      (s: Record<string, unknown>) =>
        Object.assign(s, {
          behavior: { scaleUp: { policies: [{ type: "Pods", value: 1, periodSeconds: 1801 }] } },
        }),
    ],
    // not an HPA at all
    ["no maxReplicas", (s: Record<string, unknown>) => Object.assign(s, { maxReplicas: "ten" })],
  ])("rejects %s with InvalidHorizontalPodAutoscaler", (_name, edit) => {
    const object = fixture("v2-cpu");
    edit(object.spec);
    let thrown: unknown;
    try {
      normalizeHpa(object);
    } catch (error) {
      thrown = error;
    }
    expect(hasReason(thrown, "InvalidHorizontalPodAutoscaler")).toBe(true);
  });
});

describe("StepScalingConfigSchema", () => {
  it.each([
    // a count up, no step down, default cooldown
    [{ stepUp: "+2" }, { stepUp: { kind: "count", count: 2 }, cooldownSeconds: 300 }],
    // a percentage both ways
    [
      { stepUp: "+50%", stepDown: "-25%", cooldownSeconds: 60 },
      {
        stepUp: { kind: "percent", percent: 50 },
        stepDown: { kind: "percent", percent: 25 },
        cooldownSeconds: 60,
      },
    ],
    // the sign may be omitted
    [
      { stepUp: "3", stepDown: "1" },
      { stepUp: { kind: "count", count: 3 }, stepDown: { kind: "count", count: 1 } },
    ],
  ])("parses %j", (input, expected) => {
    expect(StepScalingConfigSchema.parse(input)).toMatchObject(expected);
  });

  it.each([
    // wrong sign for a step up
    { stepUp: "-2" },
    // zero step
    { stepUp: "+0" },
    // wrong sign for a step down
    { stepUp: "+1", stepDown: "+1" },
    // not a number
    { stepUp: "+two" },
  ])("rejects %j", (input) => {
    expect(StepScalingConfigSchema.safeParse(input).success).toBe(false);
  });
});
