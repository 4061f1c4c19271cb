/**
 * Reading `application/x-www-form-urlencoded` bodies from chat apps into plain records and validating them with
 * a zod schema, with errors that name the offending field.
 */
import type { z } from "zod";

/** Largest chat webhook body accepted; the caller answers 413 beyond it. Slash-command bodies are well under 4 KiB. */
export const MAX_CHAT_BODY_BYTES = 8 * 1024;

export type FormResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string; readonly field: string; readonly message: string };

/**
 * Decode a form body and validate it. A repeated field is rejected: a signed body from the chat app never has
 * one, and picking either copy would let the two parsers in a request's life disagree.
 */
export function parseFormWith<S extends z.ZodType>(
  rawBody: string,
  schema: S,
  reason: string,
): FormResult<z.output<S>> {
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(rawBody)) {
    if (fields.has(key)) {
      return { ok: false, reason, field: key, message: `field "${key}" appears more than once` };
    }
    fields.set(key, value);
  }
  // fromEntries defines own properties, so a field named `__proto__` stays data.
  const parsed = schema.safeParse(Object.fromEntries(fields));
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".") ?? "";
  return { ok: false, reason, field, message: `field "${field}": ${issue?.message ?? "invalid"}` };
}
