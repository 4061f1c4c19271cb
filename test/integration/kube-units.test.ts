/**
 * The pure parts of shared/kube, without a server: error classification, the backoff and retry loop (fake
 * clock and sleep), Event naming and timestamps, and the lease expiry rules.
 */
import { AbortError, ApiException, FetchError } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyStatus, errorFromResponse, KubeError, toKubeError } from "../../shared/kube/errors";
import { buildEvent, eventName, formatMicroTime, formatTime } from "../../shared/kube/events";
import { acquireLease, blockingHolder, claimedSpec, type LeasePort } from "../../shared/kube/lease";
import type { Lease } from "../../shared/kube/resources";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay, withRetries } from "../../shared/kube/retry";
import { logger } from "../../shared/log";

const context = { verb: "get", kind: "VirtualMachine", namespace: "default", name: "vm" };

describe("classifyStatus", () => {
  it.each([
    // The Status reason separates AlreadyExists from other 409s.
    [409, "AlreadyExists", "AlreadyExists", false],
    // A stale resourceVersion or failed precondition.
    [409, "Conflict", "Conflict", false],
    // An expired continue token or resourceVersion: re-read, like a conflict.
    [410, "Expired", "Conflict", false],
    [404, "NotFound", "NotFound", false],
    [422, "Invalid", "Invalid", false],
    [403, "Forbidden", "Forbidden", false],
    [401, undefined, "Unauthorized", false],
    [400, "BadRequest", "BadRequest", false],
    // Unsupported media type and other 4xx are caller mistakes.
    [415, "UnsupportedMediaType", "BadRequest", false],
    [429, "TooManyRequests", "TooManyRequests", true],
    [500, "InternalError", "ServerError", true],
    // kube-apiserver's own request timeout is a 500 with reason ServerTimeout.
    [500, "ServerTimeout", "Timeout", true],
    [502, undefined, "ServerError", true],
    [503, "ServiceUnavailable", "Unavailable", true],
    [504, undefined, "Timeout", true],
  ])("%i %s → %s (retryable %s)", (code, statusReason, reason, retryable) => {
    expect(classifyStatus(code, statusReason)).toEqual({ reason, retryable });
  });
});

describe("errorFromResponse and toKubeError", () => {
  it("reads reason, message and details from a Status body, never from the text", () => {
    const body = JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: 'virtualmachines.kubevirt.io "vm" already exists',
      reason: "AlreadyExists",
      details: { name: "vm", group: "kubevirt.io", kind: "virtualmachines" },
      code: 409,
    });
    const err = errorFromResponse(409, body, {}, context);
    expect(err).toMatchObject({
      reason: "AlreadyExists",
      retryable: false,
      status: 409,
      statusReason: "AlreadyExists",
      message: 'virtualmachines.kubevirt.io "vm" already exists',
      context,
    });
    expect(err.details.status).toEqual({ name: "vm", group: "kubevirt.io", kind: "virtualmachines" });
  });

  it("handles a plain-text 429 and takes the wait from Retry-After", () => {
    const err = errorFromResponse(429, "Too many requests, please try again later.\n", {
      "retry-after": "3",
    });
    expect(err).toMatchObject({ reason: "TooManyRequests", retryable: true, retryAfterSeconds: 3 });
    expect(err.message).toBe("Too many requests, please try again later.");
  });

  it("falls back to details.retryAfterSeconds and to the HTTP code for an empty body", () => {
    const status = {
      kind: "Status",
      reason: "TooManyRequests",
      message: "slow down",
      details: { retryAfterSeconds: 2 },
    };
    expect(errorFromResponse(429, JSON.stringify(status), {}).retryAfterSeconds).toBe(2);
    expect(errorFromResponse(401, undefined, {})).toMatchObject({
      reason: "Unauthorized",
      message: "HTTP 401",
    });
  });

  it("maps client-node's ApiException, network and abort errors, and rethrows anything else", () => {
    const notFound = JSON.stringify({ kind: "Status", reason: "NotFound", message: "gone", code: 404 });
    expect(toKubeError(new ApiException(404, "Unknown API Status Code!", notFound, {}))).toMatchObject({
      reason: "NotFound",
      message: "gone",
    });
    const refused = new FetchError("connect ECONNREFUSED 127.0.0.1:1", "system", {
      code: "ECONNREFUSED",
    } as NodeJS.ErrnoException);
    expect(toKubeError(refused)).toMatchObject({
      reason: "Unavailable",
      retryable: true,
      details: { networkError: "ECONNREFUSED" },
    });
    expect(toKubeError(new AbortError("The user aborted a request."))).toMatchObject({
      reason: "Timeout",
      retryable: true,
    });
    const bug = new TypeError("x is not a function");
    expect(() => toKubeError(bug)).toThrow(bug);
  });
});

describe("retryDelay", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 2_000 };

  it("stays within half to all of the doubling cap, and never below Retry-After", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, retryAfter, r) => {
          const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
          const delay = retryDelay(attempt, retryAfter, policy, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.max(Math.floor(cap / 2), (retryAfter ?? 0) * 1000));
          expect(delay).toBeLessThanOrEqual(Math.max(cap, (retryAfter ?? 0) * 1000));
        },
      ),
    );
  });
});

describe("withRetries", () => {
  function runtime(start = 0) {
    const clock = { now: start, slept: [] as number[] };
    return {
      clock,
      runtime: {
        policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
        random: () => 0,
        now: () => clock.now,
        sleep: async (ms: number) => {
          clock.slept.push(ms);
          clock.now += ms;
        },
      },
    };
  }
  const throttled = () => new ApiException(429, "", "busy", { "retry-after": "1" });

  it("waits at least Retry-After between attempts and returns the first success", async () => {
    const { clock, runtime: rt } = runtime();
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw throttled();
        return "ok";
      },
      rt,
      { context },
    );
    expect(result).toBe("ok");
    expect(clock.slept).toEqual([1_000, 1_000]);
  });

  it("does not retry a non-retryable failure", async () => {
    const { clock, runtime: rt } = runtime();
    const conflict = new ApiException(409, "", JSON.stringify({ kind: "Status", reason: "Conflict" }), {});
    await expect(withRetries(() => Promise.reject(conflict), rt, { context })).rejects.toMatchObject({
      reason: "Conflict",
    });
    expect(clock.slept).toEqual([]);
  });

  it("stops before a wait that would end past the deadline and throws the last failure", async () => {
    const { clock, runtime: rt } = runtime(10_000);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw throttled();
    };
    await expect(withRetries(failing, rt, { context, deadline: 12_500 })).rejects.toMatchObject({
      reason: "TooManyRequests",
    });
    expect(calls).toBe(3);
    expect(clock.now).toBe(12_000);
  });

  it("sends nothing when the deadline has already passed", async () => {
    const { runtime: rt } = runtime(5_000);
    let calls = 0;
    const err = await withRetries(async () => calls++, rt, { context, deadline: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ reason: "Timeout" });
    expect(calls).toBe(0);
  });

  it("repeats an unsafe request only after a failure that proves nothing happened", async () => {
    const { runtime: rt } = runtime();
    let calls = 0;
    const serverError = new ApiException(
      500,
      "",
      JSON.stringify({ kind: "Status", reason: "InternalError" }),
      {},
    );
    const fails = async () => {
      calls++;
      throw serverError;
    };
    await expect(withRetries(fails, rt, { context, unsafeToRepeat: true })).rejects.toMatchObject({
      reason: "ServerError",
    });
    expect(calls).toBe(1);
    calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls === 1) throw throttled();
        return calls;
      },
      rt,
      { context, unsafeToRepeat: true },
    );
    expect(result).toBe(2);
  });
});

describe("events", () => {
  const at = new Date("2030-05-06T07:08:09.123Z");

  it("formats Time with seconds and MicroTime with six fractional digits", () => {
    expect(formatTime(at)).toBe("2030-05-06T07:08:09Z");
    expect(formatMicroTime(at)).toBe("2030-05-06T07:08:09.123000Z");
  });

  it("names events <object>.<16 hex digits of unix nanoseconds>, distinct within one millisecond", () => {
    const nanos = BigInt(at.getTime()) * 1_000_000n;
    expect(eventName("vm-pool-cirros", at, 0)).toBe(`vm-pool-cirros.${nanos.toString(16)}`);
    expect(eventName("vm-pool-cirros", at, 0)).toMatch(/^vm-pool-cirros\.[0-9a-f]{16}$/);
    expect(eventName("p", at, 1)).not.toBe(eventName("p", at, 0));
  });

  it("builds the legacy Event client-go's recorder writes", () => {
    const involvedObject = {
      kind: "VirtualMachinePool",
      apiVersion: "pool.kubevirt.io/v1beta1",
      namespace: "ns",
      name: "p",
      uid: "u",
    };
    const event = buildEvent(
      {
        involvedObject,
        type: "Warning",
        reason: "FailedCreate",
        message: "boom",
        component: "virtualmachinepool-controller",
      },
      at,
      0,
    );
    expect(event).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: { namespace: "ns" },
      involvedObject,
      type: "Warning",
      reason: "FailedCreate",
      message: "boom",
      source: { component: "virtualmachinepool-controller" },
      reportingComponent: "virtualmachinepool-controller",
      firstTimestamp: "2030-05-06T07:08:09Z",
      lastTimestamp: "2030-05-06T07:08:09Z",
      count: 1,
      eventTime: null,
    });
  });
});

describe("lease rules", () => {
  const now = new Date("2030-01-01T00:01:00Z");
  const lease = (spec: Lease["spec"]): Lease => ({
    metadata: { name: "l", namespace: "ns", resourceVersion: "7" },
    spec,
  });

  it.each([
    // No holder: free.
    [{ holderIdentity: "", leaseDurationSeconds: 15, renewTime: "2030-01-01T00:00:59.000000Z" }, undefined],
    // Our own lease: renewable.
    [{ holderIdentity: "me", leaseDurationSeconds: 15, renewTime: "2030-01-01T00:00:59.000000Z" }, undefined],
    // Someone else's, renewed 1 s ago with 15 s: held.
    [
      { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: "2030-01-01T00:00:59.000000Z" },
      "other",
    ],
    // Expires exactly now: still held (expired means renewTime + duration < now).
    [
      { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: "2030-01-01T00:00:45.000000Z" },
      "other",
    ],
    // Expired a microsecond-rounded millisecond ago: free.
    [
      { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: "2030-01-01T00:00:44.999000Z" },
      undefined,
    ],
    // A holder without any timestamp cannot prove it is alive.
    [{ holderIdentity: "other", leaseDurationSeconds: 15 }, undefined],
  ])("%o blocks %s", (spec, blocker) => {
    const held = blockingHolder(lease(spec), "me", now);
    expect(held?.holder).toBe(blocker);
  });

  it("claims with a new acquireTime and one more transition only when the holder changes", () => {
    const request = { namespace: "ns", name: "l", holder: "me", ttlSeconds: 10 };
    const previous = lease({
      holderIdentity: "other",
      leaseTransitions: 2,
      acquireTime: "2020-01-01T00:00:00.000000Z",
    });
    expect(claimedSpec(previous, request, now)).toMatchObject({
      holderIdentity: "me",
      leaseDurationSeconds: 10,
      leaseTransitions: 3,
      acquireTime: "2030-01-01T00:01:00.000000Z",
    });
    const ours = lease({
      holderIdentity: "me",
      leaseTransitions: 2,
      acquireTime: "2020-01-01T00:00:00.000000Z",
    });
    expect(claimedSpec(ours, request, now)).toMatchObject({
      leaseTransitions: 2,
      acquireTime: "2020-01-01T00:00:00.000000Z",
    });
  });

  it("never lets the loser of a create race write", async () => {
    const writes: string[] = [];
    const winner = lease({
      holderIdentity: "other",
      leaseDurationSeconds: 15,
      renewTime: formatMicroTime(now),
    });
    let reads = 0;
    const port: LeasePort = {
      get: async () => (reads++ === 0 ? undefined : winner),
      create: async () => {
        writes.push("create");
        throw new KubeError("AlreadyExists", "exists", { retryable: false, status: 409 });
      },
      replace: async () => {
        writes.push("replace");
        return winner;
      },
    };
    const result = await acquireLease(
      port,
      { namespace: "ns", name: "l", holder: "me", ttlSeconds: 15 },
      () => now,
      logger("test"),
    );
    expect(result).toMatchObject({ acquired: false, reason: "LeaseHeld", holder: "other" });
    expect(writes).toEqual(["create"]);
  });
});
