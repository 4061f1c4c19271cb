/**
 * Which functions there are: every `functions/<name>/handler.ts`. The build bundles each one it finds, so a new
 * function is packaged as soon as its handler exists, with no list to keep in step.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** A function to bundle: its name (the directory) and its handler source. */
export interface FunctionEntry {
  readonly name: string;
  /** Absolute path of `functions/<name>/handler.ts`. */
  readonly entry: string;
}

/** Lambda function names allow letters, digits, `-` and `_`; a directory named otherwise is not a function. */
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The functions under `<root>/functions`, sorted by name. */
export function discoverFunctions(root: string): FunctionEntry[] {
  const dir = join(root, "functions");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && FUNCTION_NAME.test(d.name))
    .map((d) => ({ name: d.name, entry: join(dir, d.name, "handler.ts") }))
    .filter((f) => existsSync(f.entry))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
