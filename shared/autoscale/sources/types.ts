/**
 * The two small interfaces sources implement. A push source (`SignalSource`) authenticates a delivery, then parses
 * its JSON body into signals; it owns its payload schema (zod, loose where upstream adds fields) and its
 * de-duplication key. A pull source (`PullSource`) reads an HPA's current metrics when a pass asks for them.
 */
import type { Kube } from "../../kube";
import type { Logger } from "../../log";
import type { ObservedMetric } from "../../planning/hpa";
import type { PoolRef } from "../../reconcile";
import type { HpaSpecV2, NormalizedMetric } from "../../schemas";
import type { HmacConfig } from "../auth";
import type { HpaObject } from "../policy";
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

/**
 * One HPA a pull source is asked about, with what the pass already read: the HPA, its normalized spec, its target
 * and the target's replica counts and pod selector (the scale subresource's `status.selector`).
 */
export interface PullTarget {
  readonly hpa: HpaObject;
  /** The HPA as the controller sees it (autoscaling/v2, defaulted). */
  readonly spec: HpaSpecV2;
  readonly target: PoolRef;
  /** The target's pod selector (`status.labelSelector`); undefined while the target has none. */
  readonly selector: string | undefined;
  /** The target's `spec.replicas`. */
  readonly replicas: number;
  /** The target's `status.replicas`. */
  readonly statusReplicas: number;
}

/** What a pull source reads with. */
export interface PullContext {
  readonly kube: Kube;
  readonly log: Logger;
  readonly now: Date;
}

/** What a pull source observed for one target. */
export interface PullObservation {
  /**
   * Observations keyed by `metricKey(metric)` for the metrics the source handles (`ObservedMetric` says what
   * `value` means per target type); a metric it could not read is `{ error }` with the upstream-style detail.
   */
  readonly metrics: Readonly<Record<string, ObservedMetric>>;
  /** Running and Ready pods of the target, when the source saw them (Object/External `Value` targets use it). */
  readonly readyPodCount?: number;
}

/**
 * A pull source (see SOURCES.md, "Pull and push"): what the scheduled `autoscale-all` pass, and every alert's
 * immediate evaluation, reads an HPA's current metrics from.
 */
export interface PullSource {
  /** Its key in `PULL_SOURCES` (and in `VMPOOL_AUTOSCALE_PULL_SOURCES`). */
  readonly name: string;
  /** True for the metrics of `hpa` this source reads; the first configured source that handles a metric reads it. */
  handles(metric: NormalizedMetric, hpa: HpaObject): boolean;
  /**
   * Reads the metrics it handles for every target of one pass at once (batching as it likes); the result is
   * aligned with `targets`. One target's trouble is that target's `{ error }` metrics, never a throw; a throw
   * fails every metric this source handles in the pass, with its message.
   */
  observe(targets: readonly PullTarget[], context: PullContext): Promise<readonly PullObservation[]>;
}
