/**
 * kube-apiserver's `Status` errors for the local cluster: one error class carrying the HTTP code, the Kubernetes
 * reason and details, and constructors mirroring apimachinery `pkg/api/errors/errors.go` so messages match what
 * kubectl users see from a real server.
 */
import { ReasonedError } from "../../shared/errors";

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A failure the API server answers with a `Status` object. `reason` is the Kubernetes StatusReason. */
export class ApiError extends ReasonedError {
  readonly code: number;
  readonly statusDetails: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(reason, message, { status: code, retryable: code === 429 || code >= 500 });
    this.name = "ApiError";
    this.code = code;
    this.statusDetails = details;
  }

  /** Extra `metadata` of the Status (a 410 for an expired continue token carries a new `continue`). */
  listMeta: { continue?: string } | undefined;

  /** The `Status` body kube-apiserver sends for this error; an empty reason (StatusReasonUnknown) is omitted. */
  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: this.listMeta ?? {},
      status: "Failure",
      message: this.message,
      ...(this.reason === "" ? {} : { reason: this.reason }),
      ...(this.statusDetails === undefined ? {} : { details: this.statusDetails }),
      code: this.code,
    };
  }
}

/** `<plural>.<group>` or `<plural>` for the core group, as apimachinery's qualified resource prints. */
export function qualifiedResource(group: string, plural: string): string {
  return group === "" ? plural : `${plural}.${group}`;
}

export function notFound(group: string, plural: string, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedResource(group, plural)} "${name}" not found`, {
    name,
    ...(group === "" ? {} : { group }),
    kind: plural,
  });
}

export function unknownResource(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

export function alreadyExists(group: string, plural: string, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualifiedResource(group, plural)} "${name}" already exists`, {
    name,
    ...(group === "" ? {} : { group }),
    kind: plural,
  });
}

export function conflict(group: string, plural: string, name: string, why?: string): ApiError {
  const reason =
    why ?? "the object has been modified; please apply your changes to the latest version and try again";
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${reason}`,
    { name, ...(group === "" ? {} : { group }), kind: plural },
  );
}

/**
 * 422 Invalid: `<Kind>.<group> "<name>" is invalid: <field errors>`; each cause names its field. Empty name,
 * group and kind are omitted from the details, as Go's `omitempty` does.
 */
export function invalid(group: string, kind: string, name: string, causes: readonly StatusCause[]): ApiError {
  const qualifiedKind = group === "" ? kind : `${kind}.${group}`;
  const summary = causes
    .map((c) => (c.field ? `${c.field}: ${c.message ?? ""}` : (c.message ?? "")))
    .join(", ");
  const joined = causes.length > 1 ? `[${summary}]` : summary;
  return new ApiError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${joined}`, {
    ...(name === "" ? {} : { name }),
    ...(group === "" ? {} : { group }),
    ...(kind === "" ? {} : { kind }),
    causes,
  });
}

/** A 422 for invalid request options (`CreateOptions.meta.k8s.io "" is invalid: …`), from their validation. */
export function invalidOptions(kind: string, causes: readonly StatusCause[]): ApiError {
  return invalid("meta.k8s.io", kind, "", causes);
}

/** `field.NotSupported`'s message: the value (JSON) and the quoted supported values. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): StatusCause {
  return {
    reason: "FieldValueNotSupported",
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((v) => JSON.stringify(v)).join(", ")}`,
    field,
  };
}

/** `field.Forbidden`'s message. */
export function forbiddenField(field: string, detail: string): StatusCause {
  return { reason: "FieldValueForbidden", message: `Forbidden: ${detail}`, field };
}

/**
 * 504 Timeout for a list at a resourceVersion the store has not reached (`storage.NewTooLargeResourceVersionError`).
 */
export function tooLargeResourceVersion(
  requested: number,
  current: number,
  retryAfterSeconds: number,
): ApiError {
  return new ApiError(
    504,
    "Timeout",
    `Timeout: Too large resource version: ${requested}, current: ${current}`,
    {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
    },
  );
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

export function unsupportedMediaType(accepted: readonly string[]): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

export function methodNotAllowed(
  message = "the server does not allow this method on the requested resource",
): ApiError {
  return new ApiError(405, "MethodNotAllowed", message, {});
}

export function forbidden(message: string, details?: StatusDetails): ApiError {
  return new ApiError(403, "Forbidden", message, details);
}

export function expired(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
    retryAfterSeconds,
  });
}

export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`);
}

export function requestEntityTooLarge(message: string): ApiError {
  return new ApiError(413, "RequestEntityTooLarge", message);
}
