/**
 * `vmpool infra plan|apply|destroy [--config FILE]`: the EventBridge wiring and the Lambda invoke permissions it
 * needs, from the infra config (`VMPOOL_INFRA_CONFIG` or `--config` names a JSON file, else `VMPOOL_*` variables).
 * `vmpool infra template` prints the CloudFormation template of the whole deployment from the same config and
 * definitions, without calling AWS.
 * The config and the definitions are validated before any AWS call (exit 2, naming each bad field); `plan` prints
 * both diffs; `apply` adds permissions before wiring targets (no event meets a function that refuses it) and
 * `destroy` unwires before removing them. Exit 1 when something failed.
 */
import { z } from "zod";
import { describeIssue } from "../../shared/config";
import { ReasonedError } from "../../shared/errors";
import {
  type ApplyOptions,
  applyInfra,
  applyPermissions,
  buildDefinitions,
  createEventBridgeClient,
  createLambdaClient,
  destroyInfra,
  destroyPermissions,
  type EventBridgeClient,
  formatApplyResult,
  formatPermissionPlan,
  formatPermissionResult,
  formatPlan,
  INFRA_ENV,
  type InfraConfig,
  type InfraDefinitions,
  infraConfigFromEnv,
  type LambdaClient,
  planDestroy,
  planInfra,
  planPermissions,
  planPermissionsDestroy,
  templateConfigFromEnv,
} from "../aws";
import { renderTemplate } from "../aws/template";

export const INFRA_USAGE =
  "usage: vmpool infra plan|apply|destroy|template [--config FILE] [--destroy] [--endpoint-url URL]";

export interface InfraClients {
  readonly eventBridge: EventBridgeClient;
  readonly lambda: LambdaClient;
}

export interface InfraCliDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (text: string) => void;
  /** Builds the AWS clients once the config is valid (tests pass mocked ones); `endpoint` from --endpoint-url. */
  readonly clients?: (region: string, endpoint?: string) => InfraClients;
  /** Retry timing of partial PutTargets failures (tests pass a sleep that does not wait). */
  readonly retry?: ApplyOptions;
}

const flagsSchema = z.strictObject({
  config: z.string().min(1).optional(),
  /** With `plan`: show what `destroy` would remove. */
  destroy: z.boolean().default(false),
  /**
   * Another endpoint for both services (an emulator such as moto), like the aws CLI's flag. Without it the SDK
   * still honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_EVENTBRIDGE` / `_LAMBDA` from the environment.
   */
  "endpoint-url": z.url({ protocol: /^https?$/ }).optional(),
});

const VALIDATION_REASONS = new Set(["InvalidInfraConfig", "InvalidInfraDefinitions"]);

/** Runs `vmpool infra <subcommand>`; returns the exit code. */
export async function runInfra(
  positionals: readonly string[],
  values: Record<string, unknown>,
  deps: InfraCliDeps,
): Promise<number> {
  const [subcommand, ...extra] = positionals;
  if (extra.length > 0) {
    deps.print(`unexpected argument "${extra[0]}"\n${INFRA_USAGE}`);
    return 2;
  }
  if (
    subcommand !== "plan" &&
    subcommand !== "apply" &&
    subcommand !== "destroy" &&
    subcommand !== "template"
  ) {
    deps.print(
      subcommand === undefined ? INFRA_USAGE : `unknown infra command "${subcommand}"\n${INFRA_USAGE}`,
    );
    return 2;
  }
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) {
    deps.print(`invalid flag --${describeIssue(parsed.error, "flags")}\n${INFRA_USAGE}`);
    return 2;
  }
  const flags = parsed.data;
  const env = flags.config === undefined ? deps.env : { ...deps.env, [INFRA_ENV.configFile]: flags.config };
  if (subcommand === "template") return template(env, flags, deps.print);
  let config: InfraConfig;
  let defs: InfraDefinitions;
  try {
    config = infraConfigFromEnv(env);
    defs = buildDefinitions(config);
  } catch (err) {
    if (err instanceof ReasonedError && VALIDATION_REASONS.has(err.reason)) {
      deps.print(err.message);
      return 2;
    }
    throw err;
  }
  const clients = (deps.clients ?? defaultClients)(regionOf(config), flags["endpoint-url"]);
  try {
    switch (subcommand) {
      case "plan":
        return await plan(clients, defs, flags.destroy, deps.print);
      case "apply":
        return await apply(clients, defs, deps);
      case "destroy":
        return await destroy(clients, defs, deps);
    }
  } catch (err) {
    if (!(err instanceof ReasonedError)) throw err;
    deps.print(`${err.reason}: ${err.message}`);
    const performed = (err.details as { performed?: unknown }).performed;
    if (Array.isArray(performed) && performed.length > 0) {
      deps.print(`already done before the failure:\n${performed.map((line) => `  ✓ ${line}`).join("\n")}`);
    }
    return 1;
  }
}

/** Prints the CloudFormation template; the config is validated as for plan (exit 2 naming the field). */
function template(
  env: Readonly<Record<string, string | undefined>>,
  flags: z.output<typeof flagsSchema>,
  print: (text: string) => void,
): number {
  if (flags.destroy) {
    print(`invalid flag --destroy: only with plan\n${INFRA_USAGE}`);
    return 2;
  }
  let yaml: string;
  try {
    yaml = renderTemplate(templateConfigFromEnv(env));
  } catch (err) {
    if (err instanceof ReasonedError && VALIDATION_REASONS.has(err.reason)) {
      print(err.message);
      return 2;
    }
    throw err;
  }
  print(yaml.trimEnd());
  return 0;
}

/**
 * The region both clients talk to: the config's, else the one in the reconcile function's ARN (EventBridge only
 * invokes Lambda functions in the rule's own region, so that is where the rules must be).
 */
function regionOf(config: InfraConfig): string {
  return config.region ?? config.functions.reconcile.split(":")[3] ?? "";
}

function defaultClients(region: string, endpoint?: string): InfraClients {
  const options = { region, ...(endpoint === undefined ? {} : { endpoint }) };
  return { eventBridge: createEventBridgeClient(options), lambda: createLambdaClient(options) };
}

async function plan(
  clients: InfraClients,
  defs: InfraDefinitions,
  destroy: boolean,
  print: (text: string) => void,
): Promise<number> {
  const [rules, permissions] = destroy
    ? await Promise.all([
        planDestroy(clients.eventBridge, defs),
        planPermissionsDestroy(clients.lambda, defs),
      ])
    : await Promise.all([planInfra(clients.eventBridge, defs), planPermissions(clients.lambda, defs)]);
  print(formatPlan(rules));
  print("");
  print(formatPermissionPlan(permissions));
  return 0;
}

async function apply(clients: InfraClients, defs: InfraDefinitions, deps: InfraCliDeps): Promise<number> {
  const permissions = await applyPermissions(clients.lambda, defs);
  deps.print(formatPermissionResult(permissions));
  const rules = await applyInfra(clients.eventBridge, defs, deps.retry ?? {});
  deps.print(formatApplyResult(rules));
  return rules.ok ? 0 : 1;
}

async function destroy(clients: InfraClients, defs: InfraDefinitions, deps: InfraCliDeps): Promise<number> {
  const rules = await destroyInfra(clients.eventBridge, defs, deps.retry ?? {});
  deps.print(formatApplyResult(rules));
  // A target that could not be removed may still invoke: keep its permission until a later destroy succeeds.
  if (!rules.ok) return 1;
  const permissions = await destroyPermissions(clients.lambda, defs);
  deps.print(formatPermissionResult(permissions));
  return 0;
}
