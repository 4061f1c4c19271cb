/**
 * The one parser every chat source shares: command text in, a typed command or a reason-coded error with the
 * usage line to show out. It never throws and never reads the cluster; names are only checked for shape here and
 * resolved later (`resolvePoolRef`).
 */
import {
  type ChatCommand,
  type CommandName,
  DEFAULT_CPU_PERCENT,
  DEFAULT_MIN_REPLICAS,
  HELP_TEXT,
  isCommandName,
  type PoolRef,
  type ScaleTarget,
  USAGE,
  type VmRef,
} from "./grammar";
import { isNamespace, isObjectName, MAX_REPLICAS, poolKindFromAlias } from "./names";

/** Why a command text was rejected. */
export type ParseReason =
  | "CommandTooLong"
  | "UnknownCommand"
  | "MissingArgument"
  | "TooManyArguments"
  | "InvalidPoolRef"
  | "UnknownPoolKind"
  | "InvalidName"
  | "InvalidNamespace"
  | "InvalidReplicas"
  | "ReplicasOutOfRange"
  | "UnexpectedArgument"
  | "UnknownFlag"
  | "DuplicateFlag"
  | "MissingFlagValue"
  | "InvalidFlagValue"
  | "MissingFlag"
  | "InvalidAutoscaleRange";

/** A rejected command: the reason, a sentence for the user, and the usage to show (general help if unknown). */
export interface ParseError {
  readonly ok: false;
  readonly reason: ParseReason;
  readonly message: string;
  readonly usage: string;
  readonly command?: CommandName;
}

export type ParseResult = { readonly ok: true; readonly command: ChatCommand } | ParseError;

/** Longer texts are not commands; the cap keeps error echoes and work per request small. */
export const MAX_COMMAND_LENGTH = 1000;

/** Largest CPU utilisation target accepted; HPA allows more than 100% of requests, but not typos like 8000. */
export const MAX_CPU_PERCENT = 1000;

type Step<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Failure };
interface Failure {
  readonly reason: ParseReason;
  readonly message: string;
}

const ok = <T>(value: T): Step<T> => ({ ok: true, value });
const bad = <T>(reason: ParseReason, message: string): Step<T> => ({ ok: false, error: { reason, message } });

/** Parse one command text (what follows the slash command). Empty text asks for help. */
export function parseCommand(text: string): ParseResult {
  if (text.length > MAX_COMMAND_LENGTH) {
    return generalError("CommandTooLong", `That command is longer than ${MAX_COMMAND_LENGTH} characters.`);
  }
  const [head, ...args] = tokenize(text);
  if (head === undefined) return { ok: true, command: { name: "help" } };
  const name = head.toLowerCase();
  if (!isCommandName(name)) {
    return generalError("UnknownCommand", `${quote(head)} is not a command.`);
  }
  const step = PARSERS[name](args);
  if (step.ok) return { ok: true, command: step.value };
  return { ok: false, ...step.error, usage: USAGE[name], command: name };
}

/**
 * Split on any whitespace. Chat clients "smart"-replace a typed `--` with an en or em dash, so a leading dash of
 * either kind is read back as `--`.
 */
function tokenize(text: string): string[] {
  return text
    .trim()
    .split(/\s+/u)
    .filter((token) => token.length > 0)
    .map((token) => token.replace(/^[\u2013\u2014]/u, "--"));
}

function generalError(reason: ParseReason, message: string): ParseError {
  return { ok: false, reason, message, usage: HELP_TEXT };
}

const PARSERS: Readonly<Record<CommandName, (args: readonly string[]) => Step<ChatCommand>>> = {
  help: parseHelp,
  list: parseList,
  status: (args) => poolOnly("status", args, (pool) => ({ name: "status", pool })),
  scale: parseScale,
  pause: (args) => poolOnly("pause", args, (pool) => ({ name: "pause", pool })),
  resume: (args) => poolOnly("resume", args, (pool) => ({ name: "resume", pool })),
  autoscale: parseAutoscale,
  release: parseRelease,
  plan: (args) => poolOnly("plan", args, (pool) => ({ name: "plan", pool })),
  history: (args) => poolOnly("history", args, (pool) => ({ name: "history", pool })),
};

function parseHelp(args: readonly string[]): Step<ChatCommand> {
  const [topic, ...rest] = args;
  if (rest.length > 0) return tooMany("help", "at most one command name", args.length);
  if (topic === undefined) return ok({ name: "help" });
  const name = topic.toLowerCase();
  if (!isCommandName(name)) return bad("UnknownCommand", `${quote(topic)} is not a command.`);
  return ok({ name: "help", topic: name });
}

function parseList(args: readonly string[]): Step<ChatCommand> {
  const [namespace, ...rest] = args;
  if (rest.length > 0) return tooMany("list", "at most one namespace", args.length);
  if (namespace === undefined) return ok({ name: "list" });
  const checked = checkNamespace(namespace);
  return checked.ok ? ok({ name: "list", namespace: checked.value }) : checked;
}

function poolOnly(
  name: CommandName,
  args: readonly string[],
  build: (pool: PoolRef) => ChatCommand,
): Step<ChatCommand> {
  const [ref, ...rest] = args;
  if (ref === undefined) return bad("MissingArgument", `${name} needs a pool.`);
  if (rest.length > 0) return tooMany(name, "one pool", args.length);
  const pool = parsePoolRef(ref);
  return pool.ok ? ok(build(pool.value)) : pool;
}

function parseScale(args: readonly string[]): Step<ChatCommand> {
  const [ref, count, ...rest] = args;
  if (ref === undefined || count === undefined) {
    return bad("MissingArgument", "scale needs a pool and a replica count.");
  }
  if (rest.length > 0) return tooMany("scale", "a pool and a replica count", args.length);
  const pool = parsePoolRef(ref);
  if (!pool.ok) return pool;
  const target = parseScaleTarget(count);
  return target.ok ? ok({ name: "scale", pool: pool.value, target: target.value }) : target;
}

function parseRelease(args: readonly string[]): Step<ChatCommand> {
  const [ref, ...rest] = args;
  if (ref === undefined) return bad("MissingArgument", "release needs a VM name.");
  if (rest.length > 0) return tooMany("release", "one VM", args.length);
  const vm = parseVmRef(ref);
  return vm.ok ? ok({ name: "release", vm: vm.value }) : vm;
}

function tooMany<T>(name: CommandName, expected: string, got: number): Step<T> {
  return bad("TooManyArguments", `${name} takes ${expected}; got ${got} arguments.`);
}

/** `name`, `ns/name`, or `kind/ns/name` with kind a pool alias (`vmpool`, `vmirs`, …). */
function parsePoolRef(ref: string): Step<PoolRef> {
  const parts = ref.split("/");
  if (parts.length === 1) return checkedName(ref, (name) => ({ name }));
  if (parts.length === 2) {
    const [namespace = "", name = ""] = parts;
    return withNamespace(namespace, name, (ns, n) => ({ namespace: ns, name: n }));
  }
  if (parts.length === 3) {
    const [alias = "", namespace = "", name = ""] = parts;
    const kind = poolKindFromAlias(alias);
    if (kind === undefined)
      return bad("UnknownPoolKind", `${quote(alias)} is not a pool kind; use vmpool or vmirs.`);
    return withNamespace(namespace, name, (ns, n) => ({ kind, namespace: ns, name: n }));
  }
  return bad(
    "InvalidPoolRef",
    `${quote(ref)} is not a pool; use name, namespace/name, vmpool/namespace/name or vmirs/namespace/name.`,
  );
}

function parseVmRef(ref: string): Step<VmRef> {
  const parts = ref.split("/");
  if (parts.length === 1) return checkedName(ref, (name) => ({ name }));
  if (parts.length === 2) {
    const [namespace = "", name = ""] = parts;
    return withNamespace(namespace, name, (ns, n) => ({ namespace: ns, name: n }));
  }
  return bad("InvalidPoolRef", `${quote(ref)} is not a VM; use name or namespace/name.`);
}

function withNamespace<T>(namespace: string, name: string, build: (ns: string, n: string) => T): Step<T> {
  const ns = checkNamespace(namespace);
  if (!ns.ok) return ns;
  return checkedName(name, (n) => build(ns.value, n));
}

function checkNamespace(namespace: string): Step<string> {
  if (isNamespace(namespace)) return ok(namespace);
  return bad(
    "InvalidNamespace",
    `${quote(namespace)} is not a namespace (lowercase letters, digits and '-', at most 63 characters).`,
  );
}

function checkedName<T>(name: string, build: (n: string) => T): Step<T> {
  if (isObjectName(name)) return ok(build(name));
  return bad(
    "InvalidName",
    `${quote(name)} is not a valid name (lowercase letters, digits, '-' and '.', at most 253 characters).`,
  );
}

/** `5` sets the count; `+2` / `-2` change it. Only whole numbers within 0..MAX_REPLICAS. */
function parseScaleTarget(token: string): Step<ScaleTarget> {
  const relative = /^([+-])(\d+)$/u.exec(token);
  if (relative !== null) {
    const delta = Number(relative[2]);
    if (delta > MAX_REPLICAS) return outOfRange(token);
    return ok({ kind: "relative", delta: relative[1] === "-" ? -delta : delta });
  }
  if (!/^\d+$/u.test(token)) {
    return bad(
      "InvalidReplicas",
      `${quote(token)} is not a replica count; use a whole number from 0 to ${MAX_REPLICAS}, or +n / -n.`,
    );
  }
  const replicas = Number(token);
  return replicas > MAX_REPLICAS ? outOfRange(token) : ok({ kind: "absolute", replicas });
}

function outOfRange<T>(token: string): Step<T> {
  return bad("ReplicasOutOfRange", `${quote(token)} is more than the limit of ${MAX_REPLICAS} replicas.`);
}

const AUTOSCALE_FLAGS = {
  min: { min: 1, max: MAX_REPLICAS },
  max: { min: 1, max: MAX_REPLICAS },
  "cpu-percent": { min: 1, max: MAX_CPU_PERCENT },
} as const;
type AutoscaleFlag = keyof typeof AUTOSCALE_FLAGS;

function parseAutoscale(args: readonly string[]): Step<ChatCommand> {
  const [ref, ...rest] = args;
  if (ref === undefined) return bad("MissingArgument", "autoscale needs a pool and --max, or off.");
  const pool = parsePoolRef(ref);
  if (!pool.ok) return pool;
  if (rest.length === 1 && rest[0]?.toLowerCase() === "off") {
    return ok({ name: "autoscale", pool: pool.value, mode: "off" });
  }
  const flags = parseFlags(rest);
  if (!flags.ok) return flags;
  const { max, min = DEFAULT_MIN_REPLICAS, "cpu-percent": cpuPercent = DEFAULT_CPU_PERCENT } = flags.value;
  if (max === undefined) return bad("MissingFlag", "autoscale needs --max N (or off).");
  if (min > max) return bad("InvalidAutoscaleRange", `--min ${min} is more than --max ${max}.`);
  return ok({
    name: "autoscale",
    pool: pool.value,
    mode: "set",
    minReplicas: min,
    maxReplicas: max,
    cpuPercent,
  });
}

/** `--flag N` and `--flag=N`, each at most once, values whole numbers within the flag's bounds. */
function parseFlags(tokens: readonly string[]): Step<Partial<Record<AutoscaleFlag, number>>> {
  const values: Partial<Record<AutoscaleFlag, number>> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? "";
    if (!token.startsWith("--")) return bad("UnexpectedArgument", `${quote(token)} is not a flag.`);
    const eq = token.indexOf("=");
    const flag = (eq === -1 ? token.slice(2) : token.slice(2, eq)).toLowerCase();
    if (!isAutoscaleFlag(flag)) {
      return bad(
        "UnknownFlag",
        `${quote(token)} is not a flag of autoscale; use --min, --max, --cpu-percent.`,
      );
    }
    if (values[flag] !== undefined) return bad("DuplicateFlag", `--${flag} is given more than once.`);
    let raw: string | undefined;
    if (eq === -1) {
      raw = tokens[i + 1];
      if (raw === undefined || raw.startsWith("--"))
        return bad("MissingFlagValue", `--${flag} needs a value.`);
      i++;
    } else {
      raw = token.slice(eq + 1);
    }
    const value = parseBounded(flag, raw);
    if (!value.ok) return value;
    values[flag] = value.value;
  }
  return ok(values);
}

function isAutoscaleFlag(flag: string): flag is AutoscaleFlag {
  return Object.hasOwn(AUTOSCALE_FLAGS, flag);
}

function parseBounded(flag: AutoscaleFlag, raw: string): Step<number> {
  const { min, max } = AUTOSCALE_FLAGS[flag];
  const value = /^\d+$/u.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isInteger(value) && value >= min && value <= max) return ok(value);
  return bad(
    "InvalidFlagValue",
    `--${flag} must be a whole number from ${min} to ${max}; got ${quote(raw)}.`,
  );
}

/** Echo user input quoted and short, so an error never repeats a wall of text back into the channel. */
function quote(token: string): string {
  return JSON.stringify(token.length > 64 ? `${token.slice(0, 63)}…` : token);
}
