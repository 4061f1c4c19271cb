/**
 * `npm run build`: every discovered function bundled to `<outdir>/<name>/index.mjs` and packaged as
 * `<outdir>/<name>.zip` (the deployment package Lambda takes: `index.mjs` at the root, handler `index.handler`),
 * and a size table checked against the budget.
 */
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ReasonedError } from "../../shared/errors";
import { bundleFunction } from "./bundle";
import { discoverFunctions, type FunctionEntry } from "./discover";
import { writeZip, type ZipEntry } from "./zip";

/** The repository root (this file is `infra/build/functions.ts`). */
export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** Where `npm run build` writes, relative to the repository root. */
export const DEFAULT_OUTDIR = "dist/functions";

/** Size budget of one minified bundle: 1.5 MB (decimal, the stricter reading). */
export const MAX_BUNDLE_BYTES = 1_500_000;

export interface BuildFunctionsOptions {
  /** Receives `<name>/index.mjs` and `<name>.zip`; relative paths are from `root`. */
  readonly outdir?: string;
  /** Repository root holding `functions/`; defaults to this checkout. */
  readonly root?: string;
  /** Only these functions (default: every discovered one). */
  readonly only?: readonly string[];
  /** Also write (and zip) linked source maps. */
  readonly sourcemap?: boolean;
}

/** One function's build output. */
export interface BuiltFunction {
  readonly name: string;
  /** Absolute path of the bundle. */
  readonly bundle: string;
  readonly bundleBytes: number;
  /** Absolute path of the deployment zip. */
  readonly zip: string;
  readonly zipBytes: number;
  readonly exports: readonly string[];
  readonly warnings: readonly string[];
  /** True when the bundle fits {@link MAX_BUNDLE_BYTES}. */
  readonly withinBudget: boolean;
}

/**
 * Bundles and zips every function (concurrently). Each function's previous output is replaced.
 * @throws ReasonedError `NoFunctions`, `UnknownFunction`, `BundleFailed` or `MissingHandler`.
 */
export async function buildFunctions(options: BuildFunctionsOptions = {}): Promise<BuiltFunction[]> {
  const root = options.root ?? REPO_ROOT;
  const outdir = resolve(root, options.outdir ?? DEFAULT_OUTDIR);
  const selected = selectFunctions(discoverFunctions(root), options.only);
  await mkdir(outdir, { recursive: true });
  return Promise.all(selected.map((fn) => buildOne(fn, root, outdir, options.sourcemap === true)));
}

/** The discovered functions narrowed to `only`, refusing names that do not exist. */
export function selectFunctions(found: readonly FunctionEntry[], only?: readonly string[]): FunctionEntry[] {
  if (found.length === 0) throw new ReasonedError("NoFunctions", "no functions/<name>/handler.ts found");
  if (only === undefined) return [...found];
  const unknown = only.filter((name) => !found.some((fn) => fn.name === name));
  if (unknown.length > 0) {
    throw new ReasonedError(
      "UnknownFunction",
      `unknown function(s) ${unknown.join(", ")}; found: ${found.map((fn) => fn.name).join(", ")}`,
    );
  }
  return found.filter((fn) => only.includes(fn.name));
}

async function buildOne(
  fn: FunctionEntry,
  root: string,
  outdir: string,
  sourcemap: boolean,
): Promise<BuiltFunction> {
  const dir = join(outdir, fn.name);
  const zip = join(outdir, `${fn.name}.zip`);
  await rm(dir, { recursive: true, force: true });
  await rm(zip, { force: true });
  const output = await bundleFunction(fn, { outdir: dir, root, sourcemap });
  const entries: ZipEntry[] = [{ name: "index.mjs", data: await readFile(output.file) }];
  if (output.map !== undefined) entries.push({ name: "index.mjs.map", data: await readFile(output.map) });
  const zipBytes = await writeZip(zip, entries);
  const bundleBytes = (await stat(output.file)).size;
  return {
    name: fn.name,
    bundle: output.file,
    bundleBytes,
    zip,
    zipBytes,
    exports: output.exports,
    warnings: output.warnings,
    withinBudget: bundleBytes <= MAX_BUNDLE_BYTES,
  };
}

/** `1,234.5 KB`-style sizes (1 KB = 1000 bytes, matching the decimal budget). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const kb = bytes / 1000;
  if (kb < 1000) return `${kb.toFixed(1)} KB`;
  return `${(kb / 1000).toFixed(2)} MB`;
}

/** The size table `npm run build` prints. */
export function formatBuildTable(built: readonly BuiltFunction[], root: string = REPO_ROOT): string {
  const rows = built.map((fn) => [
    fn.name,
    formatBytes(fn.bundleBytes),
    formatBytes(fn.zipBytes),
    fn.withinBudget ? "ok" : `OVER ${formatBytes(MAX_BUNDLE_BYTES)}`,
    relativeTo(root, fn.zip),
  ]);
  const header = ["function", "index.mjs", "zip", "budget", "package"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}
