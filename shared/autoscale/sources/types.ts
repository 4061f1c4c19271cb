/**
 * The one small interface every signal source implements: authenticate a delivery, then parse its JSON body into
 * signals. A source owns its payload schema (zod, loose where upstream adds fields) and its de-duplication key.
 */
import type { HmacConfig } from "../auth";
import type { AlertMapping, Signal, SourceName } from "../signal";

/** One HTTP delivery as received. */
export interface Delivery {
  /** The body exactly as received (signatures are computed over it). */
  readonly rawBody: string;
  /** Case-insensitive header lookup. */
  header(name: string): string | undefined;
}

/** A delivery's headers alone: what can be checked before its body is read. */
export type DeliveryHeaders = Pick<Delivery, "header">;

/** What parsing and authentication may depend on. */
export interface SourceContext {
  readonly mapping: AlertMapping;
  /** The shared webhook token (`alertmanagerToken`). */
  readonly token: string | undefined;
  /** Grafana's signing secret and headers, when configured. */
  readonly grafanaHmac: HmacConfig | undefined;
  readonly now: Date;
}

/** A signal source (see SOURCES.md, "Adding a source"). */
export interface SignalSource {
  readonly name: SourceName;
  /** The route the function server serves it at. */
  readonly path: `/hooks/${string}`;
  /**
   * Throws like `authenticate` when the headers alone show the delivery is not from whom we trust (a token is
   * checked in full, a body signature for presence and age). Called before the body is read, so an
   * unauthenticated upload is never read.
   */
  authenticateHeaders(headers: DeliveryHeaders, context: SourceContext): void;
  /** Throws 401 `Unauthorized` (or 503 `NotConfigured`) unless the delivery comes from whom we trust. */
  authenticate(delivery: Delivery, context: SourceContext): void;
  /** The signals of a parsed JSON body; throws 400 `InvalidPayload` naming the field when it is malformed. */
  parse(body: unknown, context: SourceContext): Signal[];
}
