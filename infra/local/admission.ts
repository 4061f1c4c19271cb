/**
 * KubeVirt's validating admission, as far as users hit it, with KubeVirt's messages (`vmpool-admitter.go`,
 * `vmirs-admitter.go`, `vms-admitter.go`) plus the CRD schema checks the API server itself makes (required
 * fields, `minimum: 0` on pool replicas). Returns an ApiError to reject, or undefined to admit.
 */
import { fromLabelSelector, matches } from "../../shared/labels";
import { ApiError, invalid, type StatusCause } from "./errors";
import type { ResourceDef } from "./resources";
import type { KObject } from "./store";

type Json = Record<string, unknown>;

const WEBHOOKS: Record<string, string> = {
  VirtualMachine: "virtualmachine-validator.kubevirt.io",
  VirtualMachinePool: "virtualmachinepool-validator.kubevirt.io",
  VirtualMachineInstanceReplicaSet: "virtualmachinereplicaset-validator.kubevirt.io",
};

function rec(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function cause(field: string, message: string, reason = "FieldValueInvalid"): StatusCause {
  return { reason, message, field };
}

/** Admits (undefined) or rejects a create/update of a KubeVirt kind. `old` is set on update. */
export function admit(def: ResourceDef, obj: KObject, old: KObject | undefined): ApiError | undefined {
  const schema = schemaCauses(def, obj);
  if (schema.length > 0) return invalid(def.group, def.kind, obj.metadata.name, schema);
  const hook = WEBHOOKS[def.kind];
  if (!hook) return undefined;
  const causes = webhookCauses(def.kind, obj, old);
  if (causes.length === 0) return undefined;
  const message = causes.map((c) => c.message).join(", ");
  return new ApiError(422, "Invalid", `admission webhook "${hook}" denied the request: ${message}`, {
    name: obj.metadata.name,
    group: def.group,
    kind: def.kind,
    causes,
  });
}

/** CRD structural-schema checks (required fields, minimums) the API server makes before any webhook. */
function schemaCauses(def: ResourceDef, obj: KObject): StatusCause[] {
  const spec = rec(obj.spec);
  const causes: StatusCause[] = [];
  const requireSpec = (fields: string[]) => {
    if (!spec) {
      causes.push(cause("spec", "Required value", "FieldValueRequired"));
      return;
    }
    for (const f of fields) {
      if (spec[f] === undefined || spec[f] === null)
        causes.push(cause(`spec.${f}`, "Required value", "FieldValueRequired"));
    }
  };
  const replicasAtLeastZero = () => {
    const replicas = spec?.replicas;
    if (replicas === undefined || replicas === null) return;
    if (typeof replicas !== "number" || !Number.isInteger(replicas)) {
      causes.push(
        cause(
          "spec.replicas",
          `Invalid value: "${typeof replicas}": spec.replicas in body must be of type integer: "${typeof replicas}"`,
          "FieldValueTypeInvalid",
        ),
      );
    } else if (replicas < 0) {
      causes.push(
        cause(
          "spec.replicas",
          `Invalid value: ${replicas}: spec.replicas in body should be greater than or equal to 0`,
        ),
      );
    }
  };
  switch (def.kind) {
    case "VirtualMachinePool":
      requireSpec(["selector", "virtualMachineTemplate"]);
      replicasAtLeastZero();
      break;
    case "VirtualMachineInstanceReplicaSet":
      requireSpec(["selector", "template"]);
      replicasAtLeastZero();
      break;
    case "VirtualMachine":
    case "VirtualMachineInstance":
    case "DataVolume":
      if (!spec) causes.push(cause("spec", "Required value", "FieldValueRequired"));
      break;
    default:
      break;
  }
  return causes;
}

function webhookCauses(kind: string, obj: KObject, old: KObject | undefined): StatusCause[] {
  const spec = rec(obj.spec) ?? {};
  switch (kind) {
    case "VirtualMachine":
      return runStrategyCauses(spec, "spec");
    case "VirtualMachinePool":
      return poolCauses(spec, rec(old?.spec));
    case "VirtualMachineInstanceReplicaSet":
      return replicaSetCauses(spec);
    default:
      return [];
  }
}

/** `validateRunStrategy`: exactly one of runStrategy and running. */
function runStrategyCauses(vmSpec: Json, path: string): StatusCause[] {
  const hasRunning = vmSpec.running !== undefined && vmSpec.running !== null;
  const hasStrategy = vmSpec.runStrategy !== undefined && vmSpec.runStrategy !== null;
  if (hasRunning && hasStrategy) {
    return [
      cause(
        `${path}.running`,
        "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead",
      ),
    ];
  }
  if (!hasRunning && !hasStrategy)
    return [cause(`${path}.runStrategy`, "RunStrategy must be specified", "FieldValueRequired")];
  const valid = ["Always", "Halted", "Manual", "RerunOnFailure", "Once"];
  if (hasStrategy && !valid.includes(String(vmSpec.runStrategy))) {
    return [
      cause(
        `${path}.runStrategy`,
        `Invalid RunStrategy (${String(vmSpec.runStrategy)})`,
        "FieldValueNotSupported",
      ),
    ];
  }
  return [];
}

function selectorCauses(selector: unknown, templateLabels: unknown, field: string): StatusCause[] {
  try {
    const parsed = fromLabelSelector(rec(selector) ?? null);
    const labels = (rec(templateLabels) ?? {}) as Record<string, string>;
    if (!matches(parsed, labels)) return [cause(field, "selector does not match labels.")];
  } catch (err) {
    return [cause(field, err instanceof Error ? err.message : "invalid selector")];
  }
  return [];
}

function poolCauses(spec: Json, oldSpec: Json | undefined): StatusCause[] {
  const template = rec(spec.virtualMachineTemplate);
  if (!template)
    return [cause("spec.virtualMachineTemplate", "missing virtual machine template.", "FieldValueRequired")];
  const causes: StatusCause[] = [];
  causes.push(...runStrategyCauses(rec(template.spec) ?? {}, "spec.virtualMachineTemplate.spec"));
  causes.push(...selectorCauses(spec.selector, rec(template.metadata)?.labels, "spec.selector"));
  causes.push(...maxUnavailableCauses(spec.maxUnavailable));
  for (const name of ["scaleInStrategy", "updateStrategy"]) {
    const strategy = rec(spec[name]);
    const set = strategy
      ? Object.keys(strategy).filter((k) => strategy[k] !== undefined && strategy[k] !== null)
      : [];
    if (set.length > 1) {
      causes.push(
        cause(`spec.${name}`, `only one strategy can be configured at a time: but found ${set.join(", ")}`),
      );
    }
  }
  if (oldSpec && JSON.stringify(oldSpec.selector ?? null) !== JSON.stringify(spec.selector ?? null)) {
    causes.push(cause("spec.selector", "selector is immutable after creation."));
  }
  return causes;
}

function maxUnavailableCauses(value: unknown): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "number") {
    return Number.isInteger(value) && value > 0
      ? []
      : [cause("spec.maxUnavailable", "maxUnavailable must be greater than 0")];
  }
  if (typeof value === "string") {
    const m = /^(\d+)%$/.exec(value);
    const n = m ? Number(m[1]) : Number.NaN;
    return n >= 1 && n <= 100
      ? []
      : [cause("spec.maxUnavailable", "maxUnavailable must be a percentage between 1% and 100%")];
  }
  return [cause("spec.maxUnavailable", "maxUnavailable must be an integer or a percentage")];
}

function replicaSetCauses(spec: Json): StatusCause[] {
  const template = rec(spec.template);
  if (!template) return [cause("spec.template", "missing virtual machine template.", "FieldValueRequired")];
  return selectorCauses(spec.selector, rec(template.metadata)?.labels, "spec.selector");
}
