/**
 * `npm run build [-- [--outdir DIR] [--sourcemap] [name…]]`: bundles and zips every function and prints the size
 * table. Exits 1 when a bundle is over budget, 2 on a build error or a bad flag. Output goes through
 * `process.stdout`/`stderr` directly: this is a command, not library code.
 */
import { parseArgs } from "node:util";
import { hasReason } from "../../shared/errors";
import { buildFunctions, DEFAULT_OUTDIR, formatBuildTable, formatBytes, MAX_BUNDLE_BYTES } from "./functions";

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { outdir: { type: "string" }, sourcemap: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  const started = performance.now();
  const built = await buildFunctions({
    outdir: values.outdir ?? DEFAULT_OUTDIR,
    sourcemap: values.sourcemap === true,
    ...(positionals.length > 0 ? { only: positionals } : {}),
  });
  for (const fn of built) {
    for (const warning of fn.warnings) process.stderr.write(`warning (${fn.name}): ${warning}\n`);
  }
  process.stdout.write(`${formatBuildTable(built)}\n`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`\n${built.length} function(s) built in ${seconds} s\n`);
  const over = built.filter((fn) => !fn.withinBudget);
  if (over.length > 0) {
    process.stderr.write(
      `over the ${formatBytes(MAX_BUNDLE_BYTES)} budget: ${over.map((fn) => fn.name).join(", ")}\n`,
    );
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const known = hasReason(err, "BundleFailed") || hasReason(err, "MissingHandler");
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!known && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 2;
  },
);
