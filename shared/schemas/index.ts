/**
 * Zod schemas for the payloads that cross our edges; types come from `z.infer`. One file per source.
 */

export { FIRST_ISSUE, nameMap } from "./bounded";
export * from "./hpa";
export * from "./kubevirt";
