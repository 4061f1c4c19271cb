/**
 * Turns zod failures into one reason-coded error whose message lists every bad field by path, so `vmpool infra`
 * can print it as is and nothing reaches AWS.
 */
import type { z } from "zod";
import { ReasonedError } from "../../shared/errors";

export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** `["rules", 1, "targets", 0, "arn"]` → `rules[1].targets[0].arn`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}

/** Parses `input` with `schema` or throws `reason` naming each failing field (optionally renamed by `label`). */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  reason: string,
  what: string,
  label: (path: string) => string = (path) => path,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    path: label(formatPath(issue.path)),
    message: issue.message,
  }));
  const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`).join("\n");
  throw new ReasonedError(reason, `invalid ${what}:\n${lines}`, { status: 400, details: { issues } });
}
