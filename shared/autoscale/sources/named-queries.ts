/**
 * Queries named for an HPA's metrics, shared by the pull sources that read custom metrics (Prometheus,
 * CloudWatch): a JSON map in an annotation on the HPA, which wins, else the map configured for the source; both
 * parsed with the source's schema, a broken annotation being the metric's error rather than a silent fallback.
 * Also the `{{placeholder}}` templating those queries use.
 */
import type { z } from "zod";
import { describeIssue } from "../../config";
import { ReasonedError } from "../../errors";
import type { HpaObject } from "../policy";

/** The query found for a metric, why the HPA's annotation cannot be used, or nothing named. */
export type NamedQuery<Q> = { readonly query: Q } | { readonly error: string } | undefined;

/** Looks `name` up in the HPA's `annotation` (JSON, parsed by `schema`) first, then in `configured`. */
export function namedQuery<Q>(
  hpa: HpaObject,
  annotation: string,
  schema: z.ZodType<Readonly<Record<string, Q>>>,
  configured: Readonly<Record<string, Q>>,
  name: string,
): NamedQuery<Q> {
  const text = hpa.metadata.annotations?.[annotation];
  if (text !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { error: `annotation ${annotation} is not JSON` };
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      return { error: `annotation ${annotation}: ${describeIssue(parsed.error, "queries")}` };
    const query = parsed.data[name];
    if (query !== undefined) return { query };
  }
  const query = configured[name];
  return query === undefined ? undefined : { query };
}

/** Replaces `{{name}}` placeholders; an unknown one is an error naming it (a typo must not query something else). */
export function renderQuery(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new ReasonedError(
        "InvalidQuery",
        `unknown placeholder {{${name}}} in ${JSON.stringify(template)}`,
      );
    }
    return value;
  });
}
