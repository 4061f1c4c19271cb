/**
 * Prometheus's HTTP query API, the part the Prometheus source needs: one instant query
 * (`POST /api/v1/query`, form-encoded so long name lists fit) with a client-side timeout that is also sent as the
 * query's own `timeout`, a bounded response (read until `maxBytes`, then abandoned), and the JSON answer parsed
 * with zod (vector and scalar results; `NaN` and `±Inf` sample values stay numbers for the caller to refuse).
 * Failures are ReasonedErrors the HPA vocabulary can carry: unreachable, timed out, refused, too large, malformed.
 * Facts: prometheus.io/docs/prometheus/latest/querying/api ("Instant queries", "Expression query result formats").
 * Also the PromQL string escaping that query templates use.
 */
import { z } from "zod";
import { ReasonedError } from "../../errors";
import { FIRST_ISSUE } from "../../schemas";

/** Where and how to ask. */
export interface PrometheusEndpoint {
  /** Base URL, e.g. `http://prometheus.monitoring:9090` (a path prefix such as `/prometheus` is kept). */
  readonly url: string;
  /** Sent as `Authorization: Bearer …` (a Prometheus behind an auth proxy, Amazon Managed Prometheus' gateway). */
  readonly bearerToken?: string | undefined;
  /** Client-side limit per query; also sent as the query's `timeout`. */
  readonly timeoutMs: number;
  /** Largest response body read; a larger one is an error, never parsed in part. */
  readonly maxBytes: number;
  readonly fetch?: typeof fetch;
}

/** One series of an instant vector (or the scalar, with no labels). */
export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

// A sample value is a string: "1.5", "NaN", "+Inf", "-Inf" (Go's strconv.FormatFloat).
const SampleValue = z.tuple([z.number(), z.string()]);

const SuccessSchema = z.looseObject({
  status: z.literal("success"),
  data: z.discriminatedUnion("resultType", [
    z.looseObject({
      resultType: z.literal("vector"),
      result: z.array(z.looseObject({ metric: z.record(z.string(), z.string()), value: SampleValue })),
    }),
    z.looseObject({ resultType: z.literal("scalar"), result: SampleValue }),
    z.looseObject({ resultType: z.literal("matrix"), result: z.array(z.unknown()) }),
    z.looseObject({ resultType: z.literal("string"), result: z.unknown() }),
  ]),
  warnings: z.array(z.string()).optional(),
});

const ErrorSchema = z.looseObject({
  status: z.literal("error"),
  errorType: z.string(),
  error: z.string(),
});

const ResponseSchema = z.discriminatedUnion("status", [SuccessSchema, ErrorSchema]);

function unavailable(reason: string, message: string, retryable: boolean): ReasonedError {
  return new ReasonedError(reason, message, { retryable, status: 503 });
}

function sampleNumber(text: string): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (text.trim() === "" || Number.isNaN(value)) {
    throw unavailable(
      "InvalidPrometheusResponse",
      `sample value ${JSON.stringify(text)} is not a number`,
      false,
    );
  }
  return value;
}

/** Reads at most `maxBytes` of a body; more is an error (and the rest is never read). */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(maxBytes);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(maxBytes: number): ReasonedError {
  return unavailable(
    "PrometheusResponseTooLarge",
    `the answer is larger than ${maxBytes} bytes (narrow the query, or raise VMPOOL_PROMETHEUS_MAX_BYTES)`,
    false,
  );
}

function queryUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/api/v1/query`;
}

/**
 * Runs one instant query and returns its series (a scalar is one series without labels). Throws a 503
 * ReasonedError: `PrometheusUnreachable` / `PrometheusTimeout` (retryable), `PrometheusQueryFailed` (Prometheus
 * refused the query: its `errorType` and `error`), `PrometheusResponseTooLarge`, `InvalidPrometheusResponse`.
 */
export async function instantQuery(
  endpoint: PrometheusEndpoint,
  query: string,
  time?: Date,
): Promise<PromSample[]> {
  const form = new URLSearchParams({
    query,
    timeout: `${Math.max(1, Math.ceil(endpoint.timeoutMs / 1000))}s`,
  });
  if (time !== undefined) form.set("time", (time.getTime() / 1000).toFixed(3));
  const headers: Record<string, string> = {
    accept: "application/json",
    "content-type": "application/x-www-form-urlencoded",
  };
  if (endpoint.bearerToken) headers.authorization = `Bearer ${endpoint.bearerToken}`;
  const signal = AbortSignal.timeout(endpoint.timeoutMs);
  let text: string;
  let status: number;
  try {
    const response = await (endpoint.fetch ?? fetch)(queryUrl(endpoint.url), {
      method: "POST",
      headers,
      body: form.toString(),
      signal,
      redirect: "error",
    });
    status = response.status;
    text = await boundedText(response, endpoint.maxBytes);
  } catch (err) {
    if (err instanceof ReasonedError) throw err;
    if (signal.aborted) {
      throw unavailable(
        "PrometheusTimeout",
        `no answer from Prometheus within ${endpoint.timeoutMs} ms`,
        true,
      );
    }
    const cause =
      err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw unavailable("PrometheusUnreachable", `cannot reach Prometheus at ${endpoint.url}: ${cause}`, true);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // 5xx pages from a proxy in front of Prometheus are not JSON: say which status it was.
    throw unavailable(
      status >= 500 ? "PrometheusUnreachable" : "InvalidPrometheusResponse",
      `Prometheus answered ${status} with a body that is not JSON`,
      status >= 500,
    );
  }
  const parsed = ResponseSchema.safeParse(raw, FIRST_ISSUE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw unavailable(
      "InvalidPrometheusResponse",
      `unexpected answer (${status}): ${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
      false,
    );
  }
  const answer = parsed.data;
  if (answer.status === "error") {
    throw unavailable(
      "PrometheusQueryFailed",
      `Prometheus refused the query (${answer.errorType}): ${answer.error}`,
      answer.errorType === "timeout" || answer.errorType === "unavailable",
    );
  }
  const data = answer.data;
  switch (data.resultType) {
    case "vector":
      return data.result.map((series) => ({ labels: series.metric, value: sampleNumber(series.value[1]) }));
    case "scalar":
      return [{ labels: {}, value: sampleNumber(data.result[1]) }];
    default:
      throw unavailable(
        "InvalidPrometheusResponse",
        `the query returned a ${data.resultType}; an instant vector or a scalar is needed`,
        false,
      );
  }
}

/** The inside of a PromQL double-quoted string (backslash, quote and line breaks escaped). */
export function promString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** An RE2 pattern matching exactly one of `values` (as PromQL's `=~` anchors it), metacharacters escaped. */
export function exactAlternation(values: readonly string[]): string {
  return values.map((value) => value.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&")).join("|");
}
