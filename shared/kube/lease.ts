/**
 * Per-pool mutual exclusion with a coordination.k8s.io/v1 Lease, the way client-go's LeaseLock does it but for a
 * stateless pass: read, create if missing, take over only when free, ours or expired (renewTime +
 * leaseDurationSeconds < now), always writing with the read resourceVersion so a race ends in a 409 instead of
 * two holders. Never waits: a live holder means "skip with LeaseHeld". The expiry rules are pure functions.
 * Source: shared/reference/apiserver-fidelity.md §6; client-go `tools/leaderelection/resourcelock/leaselock.go`.
 */
import type { Logger } from "../log";
import { isKubeError } from "./errors";
import { formatMicroTime } from "./events";
import type { Lease } from "./resources";

export interface LeaseRequest {
  readonly namespace: string;
  readonly name: string;
  /** Unique per invocation (e.g. `reconcile/<request id>`): the same holder renews its own lease. */
  readonly holder: string;
  readonly ttlSeconds: number;
}

export interface LeaseAcquired {
  readonly acquired: true;
  readonly lease: Lease;
  /**
   * Gives the lease up (empty holder, RV-conditioned). Resolves true when released; false when someone else
   * already took it over, it is gone, or the write failed (then it simply expires). Never throws.
   */
  release(): Promise<boolean>;
}

export interface LeaseHeld {
  readonly acquired: false;
  readonly reason: "LeaseHeld";
  readonly holder: string;
  readonly expiresAt: Date;
}

export type LeaseAcquisition = LeaseAcquired | LeaseHeld;

/** The reads and writes acquisition needs; shared/kube's client provides them. */
export interface LeasePort {
  get(namespace: string, name: string): Promise<Lease | undefined>;
  create(lease: Record<string, unknown>): Promise<Lease>;
  replace(lease: Lease): Promise<Lease>;
}

/** The non-empty holder of a lease, if any. */
export function leaseHolder(lease: Lease): string | undefined {
  const holder = lease.spec?.holderIdentity;
  return holder ? holder : undefined;
}

/** renewTime (or acquireTime) + leaseDurationSeconds; undefined when the lease records neither. */
export function leaseExpiry(lease: Lease): Date | undefined {
  const spec = lease.spec;
  const stamp = spec?.renewTime ?? spec?.acquireTime;
  const duration = spec?.leaseDurationSeconds;
  if (!stamp || duration === undefined || duration === null) return undefined;
  const at = Date.parse(stamp);
  return Number.isNaN(at) ? undefined : new Date(at + duration * 1000);
}

/** Who blocks `holder` from taking the lease at `now`, or undefined when it is free, ours or expired. */
export function blockingHolder(lease: Lease, holder: string, now: Date): LeaseHeld | undefined {
  const current = leaseHolder(lease);
  if (current === undefined || current === holder) return undefined;
  const expiresAt = leaseExpiry(lease);
  if (expiresAt === undefined || expiresAt.getTime() < now.getTime()) return undefined;
  return { acquired: false, reason: "LeaseHeld", holder: current, expiresAt };
}

/** The spec that makes `request.holder` the holder: a new acquireTime and one more transition on a change. */
export function claimedSpec(
  previous: Lease | undefined,
  request: LeaseRequest,
  now: Date,
): Record<string, unknown> {
  const stamp = formatMicroTime(now);
  const spec = previous?.spec ?? {};
  const changed = previous === undefined || leaseHolder(previous) !== request.holder;
  return {
    ...spec,
    holderIdentity: request.holder,
    leaseDurationSeconds: request.ttlSeconds,
    acquireTime: changed ? stamp : (spec.acquireTime ?? stamp),
    renewTime: stamp,
    leaseTransitions: previous === undefined ? 0 : (spec.leaseTransitions ?? 0) + (changed ? 1 : 0),
  };
}

/** The spec of a released lease, as client-go's ReleaseOnCancel writes it: no holder, a 1 s duration. */
export function releasedSpec(lease: Lease, now: Date): Record<string, unknown> {
  return { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: formatMicroTime(now) };
}

/** Tries once to take the lease; see the module comment. Errors other than the expected 409s propagate. */
export async function acquireLease(
  port: LeasePort,
  request: LeaseRequest,
  now: () => Date,
  log: Logger,
): Promise<LeaseAcquisition> {
  let current = await port.get(request.namespace, request.name);
  if (current === undefined) {
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: request.name, namespace: request.namespace },
      spec: claimedSpec(undefined, request, now()),
    };
    try {
      return acquired(port, await port.create(body), now, log);
    } catch (err) {
      if (!isKubeError(err, "AlreadyExists")) throw err;
      current = await port.get(request.namespace, request.name);
      if (current === undefined) throw err;
    }
  }
  const blocked = blockingHolder(current, request.holder, now());
  if (blocked) return blocked;
  try {
    return acquired(
      port,
      await port.replace({ ...current, spec: claimedSpec(current, request, now()) }),
      now,
      log,
    );
  } catch (err) {
    if (!isKubeError(err, "Conflict")) throw err;
    return lostRace(port, request, current, now);
  }
}

/** After a 409 someone else wrote the lease first: report who holds it now (best effort, one read). */
async function lostRace(
  port: LeasePort,
  request: LeaseRequest,
  read: Lease,
  now: () => Date,
): Promise<LeaseHeld> {
  const winner = await port.get(request.namespace, request.name).catch(() => undefined);
  const lease = winner ?? read;
  return {
    acquired: false,
    reason: "LeaseHeld",
    holder: leaseHolder(lease) ?? "",
    expiresAt: leaseExpiry(lease) ?? now(),
  };
}

function acquired(port: LeasePort, lease: Lease, now: () => Date, log: Logger): LeaseAcquired {
  let released: Promise<boolean> | undefined;
  const release = async (): Promise<boolean> => {
    try {
      await port.replace({ ...lease, spec: releasedSpec(lease, now()) });
      return true;
    } catch (err) {
      if (!isKubeError(err, "Conflict") && !isKubeError(err, "NotFound")) {
        log.warn({ err, lease: lease.metadata.name }, "could not release the lease; it will expire");
      }
      return false;
    }
  };
  return {
    acquired: true,
    lease,
    release: () => {
      released ??= release();
      return released;
    },
  };
}
