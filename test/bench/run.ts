/**
 * `npm run bench [-- [--quick] [--list] [suite…]]`: runs the registered suites (all, or those named on the
 * command line or in `BENCH=a,b`) one after another and prints one markdown table of figures, targets and ratios.
 * Progress goes to stderr, the table to stdout. Nothing is written to disk: the README's figures are copied by hand.
 */
import { cpus } from "node:os";
import { formatTable, type Row, type Suite } from "./harness";

interface Args {
  readonly quick: boolean;
  readonly list: boolean;
  readonly names: string[];
}

function parseArgs(argv: readonly string[], env: string | undefined): Args {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  for (const flag of flags) {
    if (flag !== "--quick" && flag !== "--list")
      throw new Error(`unknown flag ${flag} (use --quick, --list)`);
  }
  const fromArgs = argv.filter((a) => !a.startsWith("--"));
  const fromEnv = (env ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    quick: flags.has("--quick"),
    list: flags.has("--list"),
    names: fromArgs.length > 0 ? fromArgs : fromEnv,
  };
}

function select(suites: readonly Suite[], names: readonly string[]): Suite[] {
  if (names.length === 0) return [...suites];
  const byName = new Map(suites.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown suite(s): ${unknown.join(", ")}; available: ${suites.map((s) => s.name).join(", ")}`,
    );
  }
  return names.map((n) => byName.get(n) as Suite);
}

async function main(): Promise<number> {
  // The local cluster logs at info by default; keep stdout for the table. Set before the suites load the logger.
  process.env.LOG_LEVEL ??= "warn";
  const { SUITES } = await import("./suites");
  const args = parseArgs(process.argv.slice(2), process.env.BENCH);
  if (args.list) {
    for (const s of SUITES) console.log(s.name);
    return 0;
  }
  const selected = select(SUITES, args.names);
  const rows: Row[] = [];
  let failures = 0;
  for (const suite of selected) {
    const started = performance.now();
    console.error(`[bench] ${suite.name}: start${args.quick ? " (quick)" : ""}`);
    try {
      const suiteRows = await suite.run({
        quick: args.quick,
        progress: (message) => console.error(`[bench] ${suite.name}: ${message}`),
      });
      rows.push(...suiteRows.map((r) => ({ ...r, benchmark: `${suite.name}: ${r.benchmark}` })));
      console.error(`[bench] ${suite.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      failures++;
      console.error(`[bench] ${suite.name}: FAILED`, err);
      rows.push({ benchmark: `${suite.name}: FAILED`, figure: Number.NaN, unit: "", notes: String(err) });
    }
  }
  const cpu = cpus();
  console.log(
    `## Benchmarks${args.quick ? " (quick run: indicative only)" : ""}\n\n` +
      `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${new Date().toISOString()}\n`,
  );
  console.log(formatTable(rows));
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // A leaked keep-alive socket or timer must not hang the run once the table is out.
    setTimeout(() => process.exit(), 2_000).unref();
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
