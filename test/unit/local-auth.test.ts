/** The local API server's Host check and bearer token (infra/local/auth.ts; issue 10, defect 8). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bearerMatches, hostAllowed, hostName, refusal } from "../../infra/local/auth";

describe("hostName", () => {
  it.each([
    ["127.0.0.1:18443", "127.0.0.1"],
    ["localhost", "localhost"],
    ["LocalHost:80", "localhost"],
    ["[::1]:18443", "::1"],
    ["[::1]", "::1"],
    ["evil.example.com:18443", "evil.example.com"],
  ])("%s → %s", (header, name) => {
    expect(hostName(header)).toBe(name);
  });

  it("never throws and never yields a loopback name for a header that does not start with one", () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const name = hostName(header);
        if (["127.0.0.1", "localhost", "::1"].includes(name)) {
          expect(header.trim().toLowerCase()).toMatch(/^(127\.0\.0\.1|localhost|\[::1\])/);
        }
      }),
    );
  });
});

describe("hostAllowed", () => {
  it("allows the loopback names, a missing Host and configured names; refuses every other", () => {
    expect(hostAllowed(undefined, {})).toBe(true);
    expect(hostAllowed("127.0.0.1:1", {})).toBe(true);
    expect(hostAllowed("localhost.", {})).toBe(false);
    expect(hostAllowed("127.0.0.1.nip.io", {})).toBe(false);
    expect(hostAllowed("vmpool.internal:8443", {})).toBe(false);
    expect(hostAllowed("vmpool.internal:8443", { hosts: ["VMPOOL.internal"] })).toBe(true);
  });
});

describe("bearerMatches", () => {
  it("needs the exact token when one is configured, in the Bearer scheme", () => {
    expect(bearerMatches(undefined, undefined)).toBe(true);
    expect(bearerMatches("Bearer abc", "abc")).toBe(true);
    expect(bearerMatches("bearer   abc ", "abc")).toBe(true);
    expect(bearerMatches(undefined, "abc")).toBe(false);
    expect(bearerMatches("Bearer abcd", "abc")).toBe(false);
    expect(bearerMatches("Basic abc", "abc")).toBe(false);
    expect(bearerMatches("Bearer abc def", "abc")).toBe(false);
  });
});

describe("refusal", () => {
  const auth = { token: "t0k3n" };
  it("checks Host before anything, also on the public paths", () => {
    expect(refusal({ host: "evil.example", authorization: "Bearer t0k3n", path: "/api" }, auth)?.code).toBe(
      403,
    );
    expect(refusal({ host: "evil.example", authorization: undefined, path: "/healthz" }, auth)?.code).toBe(
      403,
    );
  });
  it("lets health and version through without a token, and nothing else", () => {
    for (const path of ["/healthz", "/livez", "/readyz", "/version"]) {
      expect(refusal({ host: "127.0.0.1", authorization: undefined, path }, auth)).toBeUndefined();
    }
    for (const path of ["/api", "/apis", "/local/faults", "/healthz/etcd", "/version/"]) {
      const refused = refusal({ host: "127.0.0.1", authorization: undefined, path }, auth);
      expect(refused?.code, path).toBe(401);
      expect(refused?.reason).toBe("Unauthorized");
    }
    expect(refusal({ host: "127.0.0.1", authorization: "Bearer t0k3n", path: "/api" }, auth)).toBeUndefined();
  });
});
