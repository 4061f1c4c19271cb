/**
 * The chat command language: the typed commands every chat source produces, and the usage lines and help text
 * (the one source of truth that parser errors, `help` replies and the README quote).
 */
import type { PoolKind } from "./names";

/** The slash command users type; chat apps may register another name, the grammar after it is the same. */
export const SLASH_COMMAND = "/vmpool";

/** Every command name, in the order help lists them. */
export const COMMAND_NAMES = [
  "help",
  "list",
  "status",
  "scale",
  "pause",
  "resume",
  "autoscale",
  "release",
  "plan",
  "history",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/** A pool as typed: kind and namespace are optional until resolved against the cluster (`resolvePoolRef`). */
export interface PoolRef {
  readonly kind?: PoolKind;
  readonly namespace?: string;
  readonly name: string;
}

/** A VirtualMachine as typed for `release`: the namespace defaults to the configured one. */
export interface VmRef {
  readonly namespace?: string;
  readonly name: string;
}

/** `scale` either sets a count or changes it by a signed delta (resolved against the observed count). */
export type ScaleTarget =
  | { readonly kind: "absolute"; readonly replicas: number }
  | { readonly kind: "relative"; readonly delta: number };

/** HPA CPU target when none is given: the autoscaling/v1 default (reference/scaling-triggers.md §1.5). */
export const DEFAULT_CPU_PERCENT = 80;

/** `kubectl autoscale` defaults `--min` to 1 (reference/scaling-triggers.md §1.9). */
export const DEFAULT_MIN_REPLICAS = 1;

/** A parsed chat command. */
export type ChatCommand =
  | { readonly name: "help"; readonly topic?: CommandName }
  | { readonly name: "list"; readonly namespace?: string }
  | { readonly name: "status"; readonly pool: PoolRef }
  | { readonly name: "scale"; readonly pool: PoolRef; readonly target: ScaleTarget }
  | { readonly name: "pause"; readonly pool: PoolRef }
  | { readonly name: "resume"; readonly pool: PoolRef }
  | {
      readonly name: "autoscale";
      readonly pool: PoolRef;
      readonly mode: "set";
      readonly minReplicas: number;
      readonly maxReplicas: number;
      readonly cpuPercent: number;
    }
  | { readonly name: "autoscale"; readonly pool: PoolRef; readonly mode: "off" }
  | { readonly name: "release"; readonly vm: VmRef }
  | { readonly name: "plan"; readonly pool: PoolRef }
  | { readonly name: "history"; readonly pool: PoolRef };

/** One usage line per command. */
export const USAGE: Readonly<Record<CommandName, string>> = {
  help: `${SLASH_COMMAND} help [command]`,
  list: `${SLASH_COMMAND} list [namespace]`,
  status: `${SLASH_COMMAND} status <pool>`,
  scale: `${SLASH_COMMAND} scale <pool> <replicas> | ${SLASH_COMMAND} scale <pool> +<n>|-<n>`,
  pause: `${SLASH_COMMAND} pause <pool>`,
  resume: `${SLASH_COMMAND} resume <pool>`,
  autoscale: `${SLASH_COMMAND} autoscale <pool> [--min N] --max N [--cpu-percent P] | ${SLASH_COMMAND} autoscale <pool> off`,
  release: `${SLASH_COMMAND} release <vm>`,
  plan: `${SLASH_COMMAND} plan <pool>`,
  history: `${SLASH_COMMAND} history <pool>`,
};

const SUMMARY: Readonly<Record<CommandName, string>> = {
  help: "show this help, or the usage of one command",
  list: "list the pools in a namespace (default: the configured one)",
  status: "desired/current/ready replicas, conditions, recent events and any autoscaler",
  scale: "set the replica count, or change it by n",
  pause: "stop the controller acting on the pool",
  resume: "let the controller act on the pool again",
  autoscale: `create or update CPU autoscaling (min defaults to ${DEFAULT_MIN_REPLICAS}, CPU to ${DEFAULT_CPU_PERCENT}%), or turn it off`,
  release: "detach a VM from its pool so you can debug it; the pool replaces it",
  plan: "show what the next reconcile would do, without doing it",
  history: "who or what changed the replica count (or decided not to), when and why: the newest entries",
};

/** How to write `<pool>` and `<vm>`, shared by help and by reference errors. */
export const POOL_SYNTAX =
  "<pool> is name, namespace/name, vmpool/namespace/name or vmirs/namespace/name; <vm> is name or namespace/name.";

/** The general help text (plain text, no markup). */
export const HELP_TEXT: string = [
  "Scale KubeVirt pools from chat:",
  ...COMMAND_NAMES.map((name) => `  ${USAGE[name]}\n      ${SUMMARY[name]}`),
  POOL_SYNTAX,
].join("\n");

/** The help for one command: its usage line and what it does. */
export function commandHelp(name: CommandName): string {
  return `${USAGE[name]}\n  ${SUMMARY[name]}${name === "help" || name === "list" ? "" : `\n${POOL_SYNTAX}`}`;
}

/** True when `value` names a command. */
export function isCommandName(value: string): value is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(value);
}
