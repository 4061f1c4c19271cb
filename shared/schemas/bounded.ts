/**
 * Parsing untrusted payloads at a cost bounded by their first problem. Only the first issue is ever reported,
 * and zod collects every one by default: a megabyte of bad entries cost 700 MB and seconds of blocked event loop.
 */
import { z } from "zod";

/** Parse options that stop at the first issue, as zod's own `validate` parses. */
export const FIRST_ISSUE: z.core.ParseContextInternal<z.core.$ZodIssue> = { abortEarly: true };

/**
 * A record of names to `value`s (labels, annotations, tags, dimensions) that stops at its first bad entry: zod's
 * records check every entry even under FIRST_ISSUE. Output and messages are those of `z.record`.
 */
export function nameMap<V extends z.ZodType>(value: V) {
  return z
    .record(z.string(), z.unknown())
    .superRefine((map, ctx) => {
      for (const [key, entry] of Object.entries(map)) {
        const issue = value.safeParse(entry, FIRST_ISSUE).error?.issues[0];
        if (issue === undefined) continue;
        ctx.addIssue({ code: "custom", message: issue.message, path: [key, ...issue.path], input: entry });
        return;
      }
    })
    .pipe(z.record(z.string(), value));
}
