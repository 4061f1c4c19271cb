/**
 * Lambda invoke permissions for the EventBridge rules: a rule can only invoke a Lambda target whose resource
 * policy allows `lambda:InvokeFunction` for `events.amazonaws.com` from that rule's ARN
 * (reference/scaling-triggers.md §5.5). One statement per rule target, with a deterministic statement id that
 * marks it ours; plan/apply/destroy read each function's policy (GetPolicy) and only ever add, replace or remove
 * statements whose id carries our prefix. Other statements are counted and left alone. The only module that
 * imports `@aws-sdk/client-lambda`.
 */
import { createHash } from "node:crypto";
import {
  AddPermissionCommand,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
} from "@aws-sdk/client-lambda";
import { ReasonedError } from "../../shared/errors";
import { logger } from "../../shared/log";
import { type LambdaArn, parseLambdaArn } from "./arns";
import { MANAGED_BY_TAG } from "./contract";
import { DEFAULT_BUS, type InfraDefinitions, validateDefinitions } from "./definitions";

export type { LambdaClient } from "@aws-sdk/client-lambda";
export { type LambdaArn, parseLambdaArn } from "./arns";

/** Every statement id we create starts with this (then the rule name): our ownership mark. */
export const STATEMENT_PREFIX = `${MANAGED_BY_TAG.value}-`;

export const EVENTS_PRINCIPAL = "events.amazonaws.com";
export const INVOKE_ACTION = "lambda:InvokeFunction";

/** Creates the Lambda client `infra plan|apply|destroy` uses (default credential chain; endpoint as for EventBridge). */
export function createLambdaClient(
  options: { readonly region?: string; readonly maxAttempts?: number; readonly endpoint?: string } = {},
) {
  return new LambdaClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    maxAttempts: options.maxAttempts ?? 3,
  });
}

/**
 * The ARN EventBridge gives a rule: `rule/<name>` on the default bus, `rule/<bus>/<name>` on a custom one
 * (EventBridge API reference, "Amazon EventBridge resource types"). Lambda targets live in the rule's account
 * and region, so the target's ARN supplies them, and the ARN is known before the rule exists.
 */
export function ruleArnFor(target: LambdaArn, eventBusName: string, ruleName: string): string {
  const path = eventBusName === DEFAULT_BUS ? ruleName : `${eventBusName}/${ruleName}`;
  return `arn:${target.partition}:events:${target.region}:${target.account}:rule/${path}`;
}

/**
 * `vmpool-functions-<rule>-<8 hex of the rule ARN and target id>`: stable across runs, unique per bus, within
 * Lambda's limit (1-100 of `[A-Za-z0-9._-]`; rule names are at most 64 of those).
 */
export function statementIdFor(ruleName: string, sourceArn: string, targetId: string): string {
  const hash = createHash("sha256").update(`${sourceArn}\n${targetId}`).digest("hex").slice(0, 8);
  return `${STATEMENT_PREFIX}${ruleName}-${hash}`;
}

/** One statement we want on a function's resource policy. */
export interface PermissionDefinition {
  readonly statementId: string;
  readonly function: LambdaArn;
  readonly sourceArn: string;
  readonly rule: string;
  readonly eventBusName: string;
}

/** The permissions `defs` needs: one per Lambda target of each rule. */
export function permissionDefinitions(defs: InfraDefinitions): PermissionDefinition[] {
  const out: PermissionDefinition[] = [];
  for (const rule of defs.rules) {
    for (const target of rule.targets) {
      const fn = parseLambdaArn(target.arn);
      if (fn === undefined) continue;
      const sourceArn = ruleArnFor(fn, rule.eventBusName, rule.name);
      out.push({
        statementId: statementIdFor(rule.name, sourceArn, target.id),
        function: fn,
        sourceArn,
        rule: rule.name,
        eventBusName: rule.eventBusName,
      });
    }
  }
  return out;
}

/** A statement as read from a function's policy, reduced to what we compare. */
export interface ObservedStatement {
  readonly sid: string;
  readonly effect: string | undefined;
  readonly principalService: string | undefined;
  readonly actions: readonly string[];
  readonly sourceArn: string | undefined;
}

/** A function (and qualifier) whose policy we read, with its statements. */
export interface ObservedPolicy {
  readonly function: LambdaArn;
  readonly statements: readonly ObservedStatement[];
}

export type PermissionAction = "create" | "update" | "delete" | "no-op";

export interface PermissionChange {
  readonly action: PermissionAction;
  readonly statementId: string;
  readonly function: LambdaArn;
  /** The rule allowed to invoke (create/update/no-op). */
  readonly sourceArn?: string;
  readonly reasons: readonly string[];
}

export interface PermissionPlan {
  readonly mode: "apply" | "destroy";
  /** Statements of ours carry `STATEMENT_PREFIX` + this (the rule name prefix). */
  readonly ownedPrefix: string;
  readonly changes: readonly PermissionChange[];
  /** Statements on our functions that are not ours (left alone). */
  readonly foreign: number;
  readonly hasChanges: boolean;
}

function functionKey(fn: LambdaArn): string {
  return fn.qualifier === undefined ? fn.unqualified : `${fn.unqualified}:${fn.qualifier}`;
}

/** The distinct functions (with qualifier) the definitions target. */
function targetFunctions(defs: InfraDefinitions): LambdaArn[] {
  const byKey = new Map<string, LambdaArn>();
  for (const rule of defs.rules) {
    for (const target of rule.targets) {
      const fn = parseLambdaArn(target.arn);
      if (fn !== undefined) byKey.set(functionKey(fn), fn);
    }
  }
  return [...byKey.values()];
}

/** Is this statement what `want` asks for? Returns the differences. */
function statementDifferences(want: PermissionDefinition, have: ObservedStatement): string[] {
  const reasons: string[] = [];
  if (have.effect !== "Allow") reasons.push(`Effect: ${have.effect ?? "(none)"} → Allow`);
  if (have.principalService !== EVENTS_PRINCIPAL)
    reasons.push(`Principal: ${have.principalService ?? "(none)"} → ${EVENTS_PRINCIPAL}`);
  if (have.actions.length !== 1 || have.actions[0] !== INVOKE_ACTION)
    reasons.push(`Action: ${have.actions.join(",") || "(none)"} → ${INVOKE_ACTION}`);
  if (have.sourceArn !== want.sourceArn)
    reasons.push(`SourceArn: ${have.sourceArn ?? "(none)"} → ${want.sourceArn}`);
  return reasons;
}

/**
 * The permission diff (pure). Apply: add missing statements, replace ours that differ, remove ours that no rule
 * needs any more. Destroy: remove every statement of ours. Statements without our prefix are never touched.
 */
export function diffPermissions(
  mode: PermissionPlan["mode"],
  defs: InfraDefinitions,
  observed: readonly ObservedPolicy[],
): PermissionPlan {
  const ownedPrefix = `${STATEMENT_PREFIX}${defs.namePrefix}`;
  const isOurs = (sid: string) => sid.startsWith(ownedPrefix);
  const desired = mode === "apply" ? permissionDefinitions(defs) : [];
  const changes: PermissionChange[] = [];
  let foreign = 0;
  for (const policy of observed) {
    const key = functionKey(policy.function);
    const wanted = desired.filter((d) => functionKey(d.function) === key);
    const bySid = new Map(policy.statements.map((s) => [s.sid, s]));
    for (const want of wanted) {
      const have = bySid.get(want.statementId);
      const base = { statementId: want.statementId, function: want.function, sourceArn: want.sourceArn };
      if (have === undefined) {
        changes.push({ ...base, action: "create", reasons: ["not found"] });
        continue;
      }
      const reasons = statementDifferences(want, have);
      changes.push({ ...base, action: reasons.length > 0 ? "update" : "no-op", reasons });
    }
    const wantedIds = new Set(wanted.map((w) => w.statementId));
    for (const statement of policy.statements) {
      if (!isOurs(statement.sid)) {
        foreign++;
        continue;
      }
      if (wantedIds.has(statement.sid)) continue;
      changes.push({
        action: "delete",
        statementId: statement.sid,
        function: policy.function,
        ...(statement.sourceArn === undefined ? {} : { sourceArn: statement.sourceArn }),
        reasons: [mode === "destroy" ? "destroy" : "no rule needs it"],
      });
    }
  }
  return {
    mode,
    ownedPrefix,
    changes,
    foreign,
    hasChanges: changes.some((c) => c.action !== "no-op"),
  };
}

/**
 * Reads the policies of the functions `defs` targets and returns what `applyPermissions` would do.
 * @throws ReasonedError `InvalidInfraDefinitions` before any call; `LambdaCallFailed` on a failed read.
 */
export async function planPermissions(client: LambdaClient, defs: InfraDefinitions): Promise<PermissionPlan> {
  const valid = validateDefinitions(defs);
  return diffPermissions("apply", valid, await observePolicies(client, valid));
}

/** Like {@link planPermissions}, for removing every statement of ours from those functions. */
export async function planPermissionsDestroy(
  client: LambdaClient,
  defs: InfraDefinitions,
): Promise<PermissionPlan> {
  const valid = validateDefinitions(defs);
  return diffPermissions("destroy", valid, await observePolicies(client, valid));
}

async function observePolicies(client: LambdaClient, defs: InfraDefinitions): Promise<ObservedPolicy[]> {
  const out: ObservedPolicy[] = [];
  for (const fn of targetFunctions(defs)) {
    out.push({ function: fn, statements: await readPolicy(client, fn) });
  }
  return out;
}

/** A function without a resource policy answers GetPolicy with ResourceNotFoundException: no statements. */
async function readPolicy(client: LambdaClient, fn: LambdaArn): Promise<ObservedStatement[]> {
  let policy: string | undefined;
  try {
    const result = await client.send(
      new GetPolicyCommand({
        FunctionName: fn.unqualified,
        ...(fn.qualifier === undefined ? {} : { Qualifier: fn.qualifier }),
      }),
    );
    policy = result.Policy;
  } catch (err) {
    if (errorName(err) === "ResourceNotFoundException") return [];
    throw lambdaError("GetPolicy", functionKey(fn), err, []);
  }
  return parsePolicy(policy);
}

/** The statements of a policy document (IAM JSON); malformed or foreign shapes yield what can be read. */
export function parsePolicy(policy: string | undefined): ObservedStatement[] {
  if (policy === undefined || policy === "") return [];
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    return [];
  }
  const raw = (doc as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return statements.flatMap((s): ObservedStatement[] => {
    if (s === null || typeof s !== "object") return [];
    const st = s as Record<string, unknown>;
    if (typeof st.Sid !== "string") return [];
    return [
      {
        sid: st.Sid,
        effect: typeof st.Effect === "string" ? st.Effect : undefined,
        principalService: principalService(st.Principal),
        actions: toStrings(st.Action),
        sourceArn: conditionSourceArn(st.Condition),
      },
    ];
  });
}

function principalService(principal: unknown): string | undefined {
  if (typeof principal === "string") return principal;
  if (principal !== null && typeof principal === "object") {
    const service = (principal as Record<string, unknown>).Service;
    return typeof service === "string" ? service : undefined;
  }
  return undefined;
}

function toStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Lambda stores `SourceArn` as `Condition.ArnLike["AWS:SourceArn"]`. */
function conditionSourceArn(condition: unknown): string | undefined {
  if (condition === null || typeof condition !== "object") return undefined;
  for (const operator of ["ArnLike", "ArnEquals", "StringEquals"]) {
    const block = (condition as Record<string, unknown>)[operator];
    if (block === null || typeof block !== "object") continue;
    for (const [key, value] of Object.entries(block as Record<string, unknown>)) {
      if (key.toLowerCase() === "aws:sourcearn" && typeof value === "string") return value;
    }
  }
  return undefined;
}

/** What applying a permission plan did. */
export interface PermissionResult {
  readonly plan: PermissionPlan;
  readonly performed: readonly string[];
}

/**
 * Converges the resource policies of our functions to `defs` (idempotent: a second run only reads).
 * @throws ReasonedError `LambdaCallFailed` when a call fails (details carry what was already performed).
 */
export async function applyPermissions(
  client: LambdaClient,
  defs: InfraDefinitions,
): Promise<PermissionResult> {
  return executePermissionPlan(client, await planPermissions(client, defs));
}

/** Removes every statement of ours from the functions `defs` targets. */
export async function destroyPermissions(
  client: LambdaClient,
  defs: InfraDefinitions,
): Promise<PermissionResult> {
  return executePermissionPlan(client, await planPermissionsDestroy(client, defs));
}

/** Executes a plan: removals first (an update is a removal and an add: statements cannot be edited). */
export async function executePermissionPlan(
  client: LambdaClient,
  plan: PermissionPlan,
): Promise<PermissionResult> {
  const log = logger("infra-aws", { mode: plan.mode, part: "permissions" });
  const performed: string[] = [];
  const done = (line: string) => {
    performed.push(line);
    log.info({ action: line }, "lambda permission changed");
  };
  const call = async (operation: string, change: PermissionChange, send: () => Promise<unknown>) => {
    try {
      await send();
    } catch (err) {
      throw lambdaError(
        operation,
        `${change.statementId} on ${functionKey(change.function)}`,
        err,
        performed,
      );
    }
  };
  const qualifier = (fn: LambdaArn) => (fn.qualifier === undefined ? {} : { Qualifier: fn.qualifier });
  for (const change of plan.changes) {
    if (change.action !== "delete" && change.action !== "update") continue;
    await call("RemovePermission", change, () =>
      client.send(
        new RemovePermissionCommand({
          FunctionName: change.function.unqualified,
          StatementId: change.statementId,
          ...qualifier(change.function),
        }),
      ),
    );
    if (change.action === "delete") done(`removed permission ${describe(change)}`);
  }
  for (const change of plan.changes) {
    if ((change.action !== "create" && change.action !== "update") || change.sourceArn === undefined)
      continue;
    const sourceArn = change.sourceArn;
    await call("AddPermission", change, () =>
      client.send(
        new AddPermissionCommand({
          FunctionName: change.function.unqualified,
          StatementId: change.statementId,
          Action: INVOKE_ACTION,
          Principal: EVENTS_PRINCIPAL,
          SourceArn: sourceArn,
          ...qualifier(change.function),
        }),
      ),
    );
    done(`${change.action === "create" ? "added" : "replaced"} permission ${describe(change)}`);
  }
  return { plan, performed };
}

function describe(change: PermissionChange): string {
  const fn =
    change.function.qualifier === undefined
      ? change.function.name
      : `${change.function.name}:${change.function.qualifier}`;
  const from = change.sourceArn === undefined ? "" : ` from ${change.sourceArn}`;
  return `${change.statementId} on ${fn}${from}`;
}

const SYMBOL: Record<PermissionAction, string> = { create: "+", update: "~", delete: "-", "no-op": "=" };

/** Renders a permission plan in the style of the EventBridge plan. */
export function formatPermissionPlan(plan: PermissionPlan): string {
  const lines = [`Lambda invoke permissions for ${EVENTS_PRINCIPAL} (statements "${plan.ownedPrefix}*")`, ""];
  for (const change of plan.changes) {
    if (change.action === "no-op") continue;
    const why = change.action === "update" ? "" : `  [${change.reasons.join("; ")}]`;
    lines.push(`  ${SYMBOL[change.action]} permission ${describe(change)}${why}`);
    if (change.action === "update") for (const reason of change.reasons) lines.push(`      ~ ${reason}`);
  }
  if (!plan.hasChanges) lines.push("  No changes. The function policies match the definitions.");
  const count = (action: PermissionAction) => plan.changes.filter((c) => c.action === action).length;
  lines.push(
    "",
    `Permissions: ${count("create")} to add, ${count("update")} to replace, ${count("delete")} to remove, ${count("no-op")} unchanged, ${plan.foreign} foreign left alone.`,
  );
  return lines.join("\n");
}

/** Renders what applying a permission plan did. */
export function formatPermissionResult(result: PermissionResult): string {
  if (result.performed.length === 0) return "No permission changes applied.";
  return result.performed.map((line) => `  ✓ ${line}`).join("\n");
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : "UnknownError";
}

function lambdaError(
  operation: string,
  resource: string,
  err: unknown,
  performed: readonly string[],
): ReasonedError {
  const name = errorName(err);
  const retryable = typeof err === "object" && err !== null && "$retryable" in err && Boolean(err.$retryable);
  const message = err instanceof Error && err.message !== "" ? `: ${err.message}` : "";
  return new ReasonedError("LambdaCallFailed", `${operation} ${resource} failed: ${name}${message}`, {
    retryable,
    status: 502,
    cause: err,
    details: { operation, resource, errorName: name, performed: [...performed] },
  });
}
