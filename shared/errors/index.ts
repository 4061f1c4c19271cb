/**
 * Reason-coded errors shared by every module: a PascalCase reason in the Kubernetes condition style, whether the
 * caller may retry, and an HTTP status for the edges that render them. Code branches on `reason`, never on text.
 */

export interface ReasonedErrorOptions {
  readonly retryable?: boolean;
  readonly status?: number;
  readonly cause?: unknown;
  readonly details?: Record<string, unknown>;
}

/** An error that carries a machine-readable reason and retry advice. */
export class ReasonedError extends Error {
  readonly reason: string;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(reason: string, message: string, options: ReasonedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ReasonedError";
    this.reason = reason;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
    this.details = options.details ?? {};
  }
}

/** True when `err` is a ReasonedError with the given reason. */
export function hasReason(err: unknown, reason: string): boolean {
  return err instanceof ReasonedError && err.reason === reason;
}
