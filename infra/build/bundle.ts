/**
 * One function's Lambda bundle: a single minified ESM file, `index.mjs`, exporting `handler`, that runs on the
 * Node 20 Lambda runtime with nothing beside it (the AWS SDK included, rather than trusting whichever version the
 * runtime carries). ESM output needs a `require` for the CommonJS dependencies esbuild inlines (without it the
 * bundle dies at load with "Dynamic require of 'stream' is not supported"; reference/scaling-triggers.md §6.6),
 * so a banner defines `require`, `__filename` and `__dirname` from `import.meta.url`.
 */
import { join } from "node:path";
import { type BuildOptions, build, type Message } from "esbuild";
import { ReasonedError } from "../../shared/errors";
import type { FunctionEntry } from "./discover";
import { sizePlugins } from "./plugins";

/** The Lambda runtime we target. */
export const NODE_TARGET = "node20";

/** Defines what CommonJS code expects; the aliases cannot clash with the bundle's own (minified) names. */
export const ESM_BANNER = [
  'import{createRequire as __vmpoolCreateRequire}from"node:module";',
  'import{fileURLToPath as __vmpoolFileURLToPath}from"node:url";',
  'import{dirname as __vmpoolDirname}from"node:path";',
  "const require=__vmpoolCreateRequire(import.meta.url);",
  "const __filename=__vmpoolFileURLToPath(import.meta.url);",
  "const __dirname=__vmpoolDirname(__filename);",
].join("");

export interface BundleOptions {
  /** Directory that receives `index.mjs` (and `index.mjs.map`). */
  readonly outdir: string;
  /** Repository root, for readable paths in messages. */
  readonly root: string;
  /** Write a linked source map beside the bundle (for `NODE_OPTIONS=--enable-source-maps`). */
  readonly sourcemap?: boolean;
}

/** What bundling one function produced. */
export interface BundleOutput {
  /** Absolute path of `index.mjs`. */
  readonly file: string;
  /** Absolute path of `index.mjs.map`, when written. */
  readonly map?: string;
  readonly bytes: number;
  readonly exports: readonly string[];
  readonly warnings: readonly string[];
}

/** The esbuild options for one function (exported so the benchmark and tests build exactly what ships). */
export function esbuildOptions(fn: FunctionEntry, options: BundleOptions): BuildOptions {
  return {
    absWorkingDir: options.root,
    entryPoints: [{ in: fn.entry, out: "index" }],
    outdir: options.outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: NODE_TARGET,
    format: "esm",
    // ESM builds of dependencies (the AWS SDK, smithy) tree-shake far better than their CommonJS ones.
    mainFields: ["module", "main"],
    minify: true,
    charset: "utf8",
    sourcemap: options.sourcemap === true ? "linked" : false,
    banner: { js: ESM_BANNER },
    plugins: sizePlugins(),
    metafile: true,
    logLevel: "silent",
  };
}

/**
 * Bundles one function.
 * @throws ReasonedError `BundleFailed` with esbuild's messages, or `MissingHandler` when the handler module does
 * not export `handler` (Lambda would fail every invocation with "handler is undefined").
 */
export async function bundleFunction(fn: FunctionEntry, options: BundleOptions): Promise<BundleOutput> {
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await build(esbuildOptions(fn, options));
  } catch (cause) {
    const errors = (cause as { errors?: Message[] }).errors ?? [];
    const detail = errors.map(formatMessage).join("\n") || String(cause);
    throw new ReasonedError("BundleFailed", `bundling ${fn.name} failed:\n${detail}`, { cause });
  }
  const file = join(options.outdir, "index.mjs");
  const outputs = result.metafile?.outputs ?? {};
  const output = Object.entries(outputs).find(([path]) => path.endsWith("index.mjs"))?.[1];
  if (output === undefined) throw new ReasonedError("BundleFailed", `bundling ${fn.name} wrote no index.mjs`);
  if (!output.exports.includes("handler")) {
    throw new ReasonedError(
      "MissingHandler",
      `functions/${fn.name}/handler.ts does not export "handler" (exports: ${output.exports.join(", ") || "none"})`,
    );
  }
  return {
    file,
    ...(options.sourcemap === true ? { map: `${file}.map` } : {}),
    bytes: output.bytes,
    exports: output.exports,
    warnings: result.warnings.map(formatMessage),
  };
}

function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}: ` : "";
  return `${where}${message.text}`;
}
