/**
 * Lambda packaging: discovers `functions/<name>/handler.ts`, bundles each into one minified, ESM-safe
 * `index.mjs` exporting `handler` (esbuild, Node 20), zips it deterministically, and reports sizes against the
 * 1.5 MB budget. `npm run build` runs `infra/build/build.ts`; tests and benchmarks call `buildFunctions`.
 */
export { type BundleOutput, ESM_BANNER, esbuildOptions, NODE_TARGET } from "./bundle";
export { discoverFunctions, type FunctionEntry } from "./discover";
export {
  type BuildFunctionsOptions,
  type BuiltFunction,
  buildFunctions,
  DEFAULT_OUTDIR,
  formatBuildTable,
  formatBytes,
  MAX_BUNDLE_BYTES,
  REPO_ROOT,
} from "./functions";
export { writeZip, type ZipEntry, zipBuffer } from "./zip";
