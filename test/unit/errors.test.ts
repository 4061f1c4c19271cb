import { describe, expect, it } from "vitest";
import { hasReason, ReasonedError } from "../../shared/errors";

describe("ReasonedError", () => {
  it("carries reason, retry advice and status", () => {
    const err = new ReasonedError("LeaseHeld", "lease held by another pass", {
      retryable: true,
      status: 409,
    });
    expect(err.reason).toBe("LeaseHeld");
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(409);
    expect(hasReason(err, "LeaseHeld")).toBe(true);
    expect(hasReason(new Error("LeaseHeld"), "LeaseHeld")).toBe(false);
  });
});
