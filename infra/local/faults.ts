/**
 * Seeded fault injection for the local cluster: per verb and resource, a rule fires at a rate and injects
 * latency, a 409 Conflict, a 429 with Retry-After, a 500, or a dropped connection. Rules come from
 * `--fault` flags, the `VMPOOL_LOCAL_FAULTS` environment variable (JSON), or tests (in process or over
 * `PUT /local/faults`); all are parsed by one zod schema. A seed makes every run reproducible.
 */
import { z } from "zod";
import { seededRandom } from "../../shared/planning";

export const VERBS = [
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
] as const;
export type Verb = (typeof VERBS)[number];

export const FAULT_KINDS = ["latency", "conflict", "throttle", "error", "drop"] as const;

const ruleSchema = z.strictObject({
  kind: z.enum(FAULT_KINDS),
  /** Verbs the rule applies to; empty or absent = every verb. */
  verbs: z.array(z.enum(VERBS)).optional(),
  /** Plural resource names (`virtualmachines`, `leases`); empty or absent = every resource. */
  resources: z.array(z.string().min(1)).optional(),
  rate: z.number().min(0).max(1),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
});

export const faultConfigSchema = z.strictObject({
  seed: z.number().int().default(1),
  rules: z.array(ruleSchema).default([]),
});

export type FaultRule = z.infer<typeof ruleSchema>;
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export type FaultDecision =
  | { readonly kind: "none" }
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "conflict" }
  | { readonly kind: "throttle"; readonly retryAfterSeconds: number }
  | { readonly kind: "error" }
  | { readonly kind: "drop" };

/**
 * Parses a `--fault` flag: `kind:rate[:verbs[:resources]]`, e.g. `throttle:0.2:create,patch:virtualmachines`.
 * Throws an Error naming the bad part.
 */
export function parseFaultFlag(flag: string): FaultRule {
  const [kind, rate, verbs, resources] = flag.split(":");
  const parsed = ruleSchema.safeParse({
    kind,
    rate: rate === undefined ? undefined : Number(rate),
    ...(verbs ? { verbs: verbs.split(",") } : {}),
    ...(resources ? { resources: resources.split(",") } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `invalid --fault "${flag}": ${issue?.path.join(".") || "value"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** Decides, per request, which fault (if any) to inject. */
export class FaultInjector {
  private config: FaultConfig = { seed: 1, rules: [] };
  private random: () => number = seededRandom(1);

  configure(config: FaultConfig): void {
    this.config = config;
    this.random = seededRandom(config.seed);
  }

  current(): FaultConfig {
    return this.config;
  }

  decide(verb: Verb, resource: string): FaultDecision {
    for (const rule of this.config.rules) {
      if (rule.verbs && rule.verbs.length > 0 && !rule.verbs.includes(verb)) continue;
      if (rule.resources && rule.resources.length > 0 && !rule.resources.includes(resource)) continue;
      if (this.random() >= rule.rate) continue;
      switch (rule.kind) {
        case "latency":
          return { kind: "latency", ms: rule.latencyMs ?? 100 };
        case "throttle":
          return { kind: "throttle", retryAfterSeconds: rule.retryAfterSeconds ?? 1 };
        case "conflict":
          return { kind: "conflict" };
        case "error":
          return { kind: "error" };
        case "drop":
          return { kind: "drop" };
      }
    }
    return { kind: "none" };
  }
}
