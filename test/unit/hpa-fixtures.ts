/**
 * Loads the HPA fixtures (test/fixtures/hpa/*.json, real `kubectl get -o json` / kubectl request shapes) as fresh
 * clones, and builds normalized specs and warm histories for the HPA decision tests.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { History } from "../../shared/planning/hpa";
import { EMPTY_HISTORY } from "../../shared/planning/hpa";
import type { HpaSpecV2 } from "../../shared/schemas/hpa";
import { normalizeHpa } from "../../shared/schemas/hpa";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "hpa");

export type FixtureName =
  | "v2-cpu"
  | "v2-behavior"
  | "v2-mixed"
  | "v1-autoscale"
  | "v1-annotated"
  | "v1-kubectl-autoscale";

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely by tests before parsing.
export type Json = any;

/** A fresh deep copy of a fixture. */
export function fixture(name: FixtureName): Json {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8"));
}

/** A fixture with `edit` applied to its spec, normalized. */
export function spec(name: FixtureName, edit: (spec: Json) => void = () => {}): HpaSpecV2 {
  const object = fixture(name);
  edit(object.spec);
  return normalizeHpa(object);
}

/** History of a target that was already seen (no restart seeding) and has no recent entries. */
export const WARM: History = { ...EMPTY_HISTORY, seeded: true };

/** A fixed clock. */
export const NOW = new Date("2025-06-01T12:00:00Z");

/** Milliseconds `seconds` before NOW. */
export function ago(seconds: number): number {
  return NOW.getTime() - seconds * 1000;
}
