import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandHelp, HELP_TEXT, MAX_COMMAND_LENGTH, parseCommand, USAGE } from "../../shared/chatops";

const VMPOOL = "VirtualMachinePool";
const VMIRS = "VirtualMachineInstanceReplicaSet";

describe("parseCommand: commands", () => {
  it.each([
    // empty text asks for help, like typing the bare slash command
    ["", { name: "help" }],
    // whitespace only is empty
    ["   \t ", { name: "help" }],
    ["help", { name: "help" }],
    // help for one command
    ["help scale", { name: "help", topic: "scale" }],
    // command names are case-insensitive
    ["HELP Autoscale", { name: "help", topic: "autoscale" }],
    ["list", { name: "list" }],
    ["list prod", { name: "list", namespace: "prod" }],
    // bare pool name: namespace and kind resolved later
    ["status vm-pool-cirros", { name: "status", pool: { name: "vm-pool-cirros" } }],
    [
      "status default/vm-pool-cirros",
      { name: "status", pool: { namespace: "default", name: "vm-pool-cirros" } },
    ],
    // kind prefix, kubectl short name
    [
      "status vmpool/default/vm-pool-cirros",
      { name: "status", pool: { kind: VMPOOL, namespace: "default", name: "vm-pool-cirros" } },
    ],
    // the VMIRS short name
    ["status vmirs/default/rs", { name: "status", pool: { kind: VMIRS, namespace: "default", name: "rs" } }],
    // plural and full kind names, any case
    [
      "status VirtualMachinePools/ns/p",
      { name: "status", pool: { kind: VMPOOL, namespace: "ns", name: "p" } },
    ],
    // dotted names are valid DNS-1123 subdomains
    ["status ns/web.v2", { name: "status", pool: { namespace: "ns", name: "web.v2" } }],
    // the chat example from the design
    [
      "scale default/vm-pool-cirros 5",
      {
        name: "scale",
        pool: { namespace: "default", name: "vm-pool-cirros" },
        target: { kind: "absolute", replicas: 5 },
      },
    ],
    // zero is a valid count
    ["scale p 0", { name: "scale", pool: { name: "p" }, target: { kind: "absolute", replicas: 0 } }],
    // the upper bound is inclusive
    ["scale p 10000", { name: "scale", pool: { name: "p" }, target: { kind: "absolute", replicas: 10000 } }],
    // relative up
    ["scale p +2", { name: "scale", pool: { name: "p" }, target: { kind: "relative", delta: 2 } }],
    // relative down
    ["scale p -3", { name: "scale", pool: { name: "p" }, target: { kind: "relative", delta: -3 } }],
    // extra spaces and tabs between tokens
    ["  scale\tp   7  ", { name: "scale", pool: { name: "p" }, target: { kind: "absolute", replicas: 7 } }],
    ["pause ns/p", { name: "pause", pool: { namespace: "ns", name: "p" } }],
    ["resume ns/p", { name: "resume", pool: { namespace: "ns", name: "p" } }],
    ["plan vmirs/ns/rs", { name: "plan", pool: { kind: VMIRS, namespace: "ns", name: "rs" } }],
    // min defaults to 1 and CPU to 80% (kubectl autoscale / HPA defaults)
    [
      "autoscale p --max 5",
      { name: "autoscale", pool: { name: "p" }, mode: "set", minReplicas: 1, maxReplicas: 5, cpuPercent: 80 },
    ],
    // all flags, space form
    [
      "autoscale ns/p --min 2 --max 9 --cpu-percent 60",
      {
        name: "autoscale",
        pool: { namespace: "ns", name: "p" },
        mode: "set",
        minReplicas: 2,
        maxReplicas: 9,
        cpuPercent: 60,
      },
    ],
    // equals form, any order
    [
      "autoscale p --cpu-percent=150 --max=4 --min=4",
      {
        name: "autoscale",
        pool: { name: "p" },
        mode: "set",
        minReplicas: 4,
        maxReplicas: 4,
        cpuPercent: 150,
      },
    ],
    // chat clients turn "--" into an em dash or en dash
    [
      "autoscale p —max 3 –min 2",
      { name: "autoscale", pool: { name: "p" }, mode: "set", minReplicas: 2, maxReplicas: 3, cpuPercent: 80 },
    ],
    ["autoscale p off", { name: "autoscale", pool: { name: "p" }, mode: "off" }],
    // off is case-insensitive
    [
      "autoscale vmpool/ns/p OFF",
      { name: "autoscale", pool: { kind: VMPOOL, namespace: "ns", name: "p" }, mode: "off" },
    ],
    ["release vm-pool-cirros-0", { name: "release", vm: { name: "vm-pool-cirros-0" } }],
    ["release ns/vm-1", { name: "release", vm: { namespace: "ns", name: "vm-1" } }],
  ])("%j", (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });
});

describe("parseCommand: errors", () => {
  it.each([
    // not a command: general help
    ["deploy p", "UnknownCommand", '"deploy" is not a command.', undefined],
    // help for something that is not a command
    ["help deploy", "UnknownCommand", '"deploy" is not a command.', "help"],
    [
      "help scale status",
      "TooManyArguments",
      "help takes at most one command name; got 2 arguments.",
      "help",
    ],
    ["list a b", "TooManyArguments", "list takes at most one namespace; got 2 arguments.", "list"],
    // namespaces are DNS-1123 labels: no dots
    [
      "list a.b",
      "InvalidNamespace",
      "\"a.b\" is not a namespace (lowercase letters, digits and '-', at most 63 characters).",
      "list",
    ],
    ["status", "MissingArgument", "status needs a pool.", "status"],
    ["status a b", "TooManyArguments", "status takes one pool; got 2 arguments.", "status"],
    // uppercase is not a DNS-1123 name
    [
      "status Web",
      "InvalidName",
      "\"Web\" is not a valid name (lowercase letters, digits, '-' and '.', at most 253 characters).",
      "status",
    ],
    // empty name after the slash
    [
      "status ns/",
      "InvalidName",
      "\"\" is not a valid name (lowercase letters, digits, '-' and '.', at most 253 characters).",
      "status",
    ],
    // empty namespace before the slash
    [
      "pause /p",
      "InvalidNamespace",
      "\"\" is not a namespace (lowercase letters, digits and '-', at most 63 characters).",
      "pause",
    ],
    // namespace longer than 63 characters (echoed shortened)
    [
      `resume ${"n".repeat(70)}/p`,
      "InvalidNamespace",
      `"${"n".repeat(63)}…" is not a namespace (lowercase letters, digits and '-', at most 63 characters).`,
      "resume",
    ],
    // names may not start with a dash
    [
      "plan ns/-p",
      "InvalidName",
      "\"-p\" is not a valid name (lowercase letters, digits, '-' and '.', at most 253 characters).",
      "plan",
    ],
    ["plan deploy/ns/p", "UnknownPoolKind", '"deploy" is not a pool kind; use vmpool or vmirs.', "plan"],
    // four segments
    [
      "pause vmpool/ns/p/x",
      "InvalidPoolRef",
      '"vmpool/ns/p/x" is not a pool; use name, namespace/name, vmpool/namespace/name or vmirs/namespace/name.',
      "pause",
    ],
    ["scale", "MissingArgument", "scale needs a pool and a replica count.", "scale"],
    ["scale p", "MissingArgument", "scale needs a pool and a replica count.", "scale"],
    ["scale p 1 2", "TooManyArguments", "scale takes a pool and a replica count; got 3 arguments.", "scale"],
    // bad pool is reported before the count
    [
      "scale P 1",
      "InvalidName",
      "\"P\" is not a valid name (lowercase letters, digits, '-' and '.', at most 253 characters).",
      "scale",
    ],
    // floats are not replica counts
    [
      "scale p 1.5",
      "InvalidReplicas",
      '"1.5" is not a replica count; use a whole number from 0 to 10000, or +n / -n.',
      "scale",
    ],
    [
      "scale p NaN",
      "InvalidReplicas",
      '"NaN" is not a replica count; use a whole number from 0 to 10000, or +n / -n.',
      "scale",
    ],
    // exponent notation is not accepted either
    [
      "scale p 1e3",
      "InvalidReplicas",
      '"1e3" is not a replica count; use a whole number from 0 to 10000, or +n / -n.',
      "scale",
    ],
    // a sign with no digits
    [
      "scale p -",
      "InvalidReplicas",
      '"-" is not a replica count; use a whole number from 0 to 10000, or +n / -n.',
      "scale",
    ],
    // relative floats
    [
      "scale p -1.5",
      "InvalidReplicas",
      '"-1.5" is not a replica count; use a whole number from 0 to 10000, or +n / -n.',
      "scale",
    ],
    ["scale p 10001", "ReplicasOutOfRange", '"10001" is more than the limit of 10000 replicas.', "scale"],
    // relative deltas share the bound
    ["scale p +10001", "ReplicasOutOfRange", '"+10001" is more than the limit of 10000 replicas.', "scale"],
    // a huge number is out of range, not a float-rounding surprise
    [
      "scale p 99999999999999999999",
      "ReplicasOutOfRange",
      '"99999999999999999999" is more than the limit of 10000 replicas.',
      "scale",
    ],
    ["autoscale", "MissingArgument", "autoscale needs a pool and --max, or off.", "autoscale"],
    // no flags at all
    ["autoscale p", "MissingFlag", "autoscale needs --max N (or off).", "autoscale"],
    ["autoscale p --min 2", "MissingFlag", "autoscale needs --max N (or off).", "autoscale"],
    [
      "autoscale p --max 5 --memory 3",
      "UnknownFlag",
      '"--memory" is not a flag of autoscale; use --min, --max, --cpu-percent.',
      "autoscale",
    ],
    ["autoscale p --max 5 --max=6", "DuplicateFlag", "--max is given more than once.", "autoscale"],
    // value missing at the end
    ["autoscale p --max", "MissingFlagValue", "--max needs a value.", "autoscale"],
    // value missing because the next token is a flag
    ["autoscale p --min --max 3", "MissingFlagValue", "--min needs a value.", "autoscale"],
    // off mixed with flags
    ["autoscale p off --max 3", "UnexpectedArgument", '"off" is not a flag.', "autoscale"],
    ["autoscale p --max 3 extra", "UnexpectedArgument", '"extra" is not a flag.', "autoscale"],
    // HPA needs min >= 1
    [
      "autoscale p --min 0 --max 3",
      "InvalidFlagValue",
      '--min must be a whole number from 1 to 10000; got "0".',
      "autoscale",
    ],
    [
      "autoscale p --max=2.5",
      "InvalidFlagValue",
      '--max must be a whole number from 1 to 10000; got "2.5".',
      "autoscale",
    ],
    [
      "autoscale p --max 10001",
      "InvalidFlagValue",
      '--max must be a whole number from 1 to 10000; got "10001".',
      "autoscale",
    ],
    [
      "autoscale p --max 3 --cpu-percent 0",
      "InvalidFlagValue",
      '--cpu-percent must be a whole number from 1 to 1000; got "0".',
      "autoscale",
    ],
    // an empty --flag= value
    [
      "autoscale p --max=",
      "InvalidFlagValue",
      '--max must be a whole number from 1 to 10000; got "".',
      "autoscale",
    ],
    ["autoscale p --min 5 --max 3", "InvalidAutoscaleRange", "--min 5 is more than --max 3.", "autoscale"],
    ["release", "MissingArgument", "release needs a VM name.", "release"],
    ["release a b", "TooManyArguments", "release takes one VM; got 2 arguments.", "release"],
    // VMs have no kind prefix
    ["release vm/ns/x", "InvalidPoolRef", '"vm/ns/x" is not a VM; use name or namespace/name.', "release"],
  ] as const)("%j → %s", (text, reason, message, command) => {
    const result = parseCommand(text);
    const usage = command === undefined ? HELP_TEXT : USAGE[command];
    expect(result).toEqual({
      ok: false,
      reason,
      message,
      usage,
      ...(command === undefined ? {} : { command }),
    });
  });

  it("rejects overlong text before tokenizing it, with the general help", () => {
    const result = parseCommand(`scale p ${"1".repeat(MAX_COMMAND_LENGTH)}`);
    expect(result).toMatchObject({ ok: false, reason: "CommandTooLong", usage: HELP_TEXT });
  });
});

describe("usage and help text", () => {
  it("lists every command's usage line in the general help", () => {
    for (const usage of Object.values(USAGE)) expect(HELP_TEXT).toContain(usage);
  });

  it("gives one command's usage and the pool syntax", () => {
    expect(commandHelp("scale")).toContain(USAGE.scale);
    expect(commandHelp("scale")).toContain("vmirs/namespace/name");
    expect(commandHelp("list")).not.toContain("<pool>");
  });
});

describe("parseCommand: properties", () => {
  it("never throws and always returns a result, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        const result = parseCommand(text);
        expect(typeof result.ok).toBe("boolean");
        if (!result.ok) expect(result.usage.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  const token = fc.oneof(
    fc.constantFrom(
      "scale",
      "autoscale",
      "status",
      "help",
      "off",
      "--min",
      "--max",
      "--cpu-percent",
      "+",
      "-",
      "—max",
    ),
    fc.constantFrom(
      "vmpool/ns/p",
      "vmirs/a/b",
      "ns/",
      "/",
      "a/b/c/d",
      "--max=",
      "-0",
      "+10000",
      "1e3",
      "NaN",
    ),
    fc.integer({ min: -20_000, max: 20_000 }).map(String),
    fc.string({ maxLength: 12 }),
  );

  it("never throws on command-shaped token soup", () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (tokens) => {
        expect(() => parseCommand(tokens.join(" "))).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts every absolute count in 0..10000 and rejects everything above", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30_000 }), (n) => {
        const result = parseCommand(`scale p ${n}`);
        if (n <= 10_000) {
          expect(result).toEqual({
            ok: true,
            command: { name: "scale", pool: { name: "p" }, target: { kind: "absolute", replicas: n } },
          });
        } else {
          expect(result).toMatchObject({ ok: false, reason: "ReplicasOutOfRange" });
        }
      }),
    );
  });
});
