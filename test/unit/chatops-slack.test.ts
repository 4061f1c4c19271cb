import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  MAX_CHAT_BODY_BYTES,
  parseSlackForm,
  type SlackRequest,
  signSlackRequest,
  slackDedupKey,
  verifySlackRequest,
} from "../../shared/chatops";
import { hasReason } from "../../shared/errors";

interface SignedFixture {
  signingSecret: string;
  timestamp: string;
  signature: string;
  rawBody: string;
}

/** A fresh copy of a fixture for every use, so no test can leak edits into another. */
function fixture<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8")) as T;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** The documented example, read once for building table rows (each test still gets its own copy below). */
const DOC = fixture<SignedFixture>("slack/signed-request.json");

function signedRequest(overrides: Partial<SlackRequest> = {}): SlackRequest {
  const signed = fixture<SignedFixture>("slack/signed-request.json");
  return {
    rawBody: signed.rawBody,
    timestampHeader: signed.timestamp,
    signatureHeader: signed.signature,
    signingSecret: signed.signingSecret,
    now: new Date(Number(signed.timestamp) * 1000 + 30_000),
    ...overrides,
  };
}

describe("verifySlackRequest", () => {
  it("accepts Slack's documented example request", () => {
    expect(verifySlackRequest(signedRequest())).toEqual({ ok: true });
  });

  it("signs exactly as Slack documents", () => {
    const signed = fixture<SignedFixture>("slack/signed-request.json");
    expect(signSlackRequest(signed.signingSecret, signed.timestamp, signed.rawBody)).toBe(signed.signature);
  });

  it("verifies a raw byte body the same as its text", () => {
    expect(verifySlackRequest(signedRequest({ rawBody: Buffer.from(DOC.rawBody, "utf8") }))).toEqual({
      ok: true,
    });
  });

  it.each([
    // one byte of the body changed after signing
    ["forged body", { rawBody: DOC.rawBody.replace("text=", "text=scale+p+9") }, "InvalidSignature", 401],
    // signed with another secret
    ["wrong secret", { signingSecret: "another-secret" }, "InvalidSignature", 401],
    // a valid signature of a different timestamp (replayed body, new timestamp)
    ["timestamp swapped", { timestampHeader: "1531420619" }, "InvalidSignature", 401],
    // shorter than a v0 signature: compared without throwing
    ["short signature", { signatureHeader: "v0=abc" }, "InvalidSignature", 401],
    // longer than a v0 signature
    ["long signature", { signatureHeader: `${DOC.signature}00` }, "InvalidSignature", 401],
    // another scheme version
    ["v1 signature", { signatureHeader: DOC.signature.replace("v0=", "v1=") }, "InvalidSignature", 401],
    // 5 minutes and 1 second old
    ["stale", { now: new Date((1531420618 + 301) * 1000) }, "StaleRequest", 401],
    // 5 minutes and 1 second ahead of our clock
    ["future", { now: new Date((1531420618 - 301) * 1000) }, "StaleRequest", 401],
    ["missing timestamp", { timestampHeader: undefined }, "MissingSignatureHeaders", 401],
    ["missing signature", { signatureHeader: null }, "MissingSignatureHeaders", 401],
    // an empty header is as good as none
    ["empty signature", { signatureHeader: "" }, "MissingSignatureHeaders", 401],
    ["non-numeric timestamp", { timestampHeader: "yesterday" }, "InvalidTimestamp", 400],
    // microseconds have too many digits to be Unix seconds
    ["timestamp in µs", { timestampHeader: "1531420618000000" }, "InvalidTimestamp", 400],
  ] as const)("%s → %s", (_name, overrides, reason, status) => {
    expect(verifySlackRequest(signedRequest(overrides))).toMatchObject({ ok: false, reason, status });
  });

  it("accepts timestamps exactly at the edge of the window, both ways", () => {
    const signed = fixture<SignedFixture>("slack/signed-request.json");
    const ts = Number(signed.timestamp);
    expect(verifySlackRequest(signedRequest({ now: new Date((ts + 300) * 1000) }))).toEqual({ ok: true });
    expect(verifySlackRequest(signedRequest({ now: new Date((ts - 300) * 1000) }))).toEqual({ ok: true });
  });

  it("names both missing headers", () => {
    const result = verifySlackRequest(
      signedRequest({ timestampHeader: undefined, signatureHeader: undefined }),
    );
    expect(result).toMatchObject({ message: "missing X-Slack-Request-Timestamp and X-Slack-Signature" });
  });

  it("refuses to verify with an empty signing secret", () => {
    let caught: unknown;
    try {
      verifySlackRequest(signedRequest({ signingSecret: "" }));
    } catch (err) {
      caught = err;
    }
    expect(hasReason(caught, "SigningSecretNotConfigured")).toBe(true);
  });
});

describe("parseSlackForm", () => {
  it("parses a slash command", () => {
    const fields = fixture<Record<string, string>>("slack/slash-command.json");
    const result = parseSlackForm(form(fields));
    expect(result).toMatchObject({
      ok: true,
      value: {
        type: "command",
        command: {
          team_id: "T0001",
          channel_id: "C2147483705",
          channel_name: "ops",
          user_id: "U2147483697",
          user_name: "alice",
          command: "/vmpool",
          text: "scale default/vm-pool-cirros 5",
          response_url: "https://hooks.slack.com/commands/1234/5678",
          trigger_id: "13345224609.738474920.8088930838d88f008e0",
          // fields we do not model are kept
          is_enterprise_install: "false",
        },
      },
    });
  });

  it("parses Slack's documented signed body too", () => {
    const result = parseSlackForm(fixture<SignedFixture>("slack/signed-request.json").rawBody);
    expect(result).toMatchObject({
      ok: true,
      value: { type: "command", command: { text: "", user_id: "U2CERLKJA" } },
    });
  });

  it("decodes + as a space in the text", () => {
    const result = parseSlackForm(
      form(fixture("slack/slash-command.json")).replace(/text=[^&]*/u, "text=status+p"),
    );
    expect(result).toMatchObject({ ok: true, value: { command: { text: "status p" } } });
  });

  it("recognises the ssl_check probe", () => {
    expect(parseSlackForm(form(fixture("slack/ssl-check.json")))).toEqual({
      ok: true,
      value: { type: "ssl_check" },
    });
  });

  it("defaults the deprecated user_name and an absent text to empty", () => {
    const {
      user_name: _u,
      text: _t,
      ...fields
    } = fixture<Record<string, string>>("slack/slash-command.json");
    expect(parseSlackForm(form(fields))).toMatchObject({
      ok: true,
      value: { command: { user_name: "", text: "" } },
    });
  });

  it.each([
    // each required field removed, and named in the error
    ["team_id", undefined],
    ["channel_id", undefined],
    ["user_id", undefined],
    ["command", undefined],
    ["response_url", undefined],
    ["trigger_id", undefined],
    // present but empty
    ["user_id", ""],
    // not a slash command
    ["command", "vmpool"],
    // follow-ups are POSTed here: plain http refused
    ["response_url", "http://hooks.slack.com/commands/1"],
    ["response_url", "not a url"],
  ])("rejects %s = %j, naming the field", (field, value) => {
    const fields = fixture<Record<string, string>>("slack/slash-command.json");
    if (value === undefined) delete fields[field];
    else fields[field] = value;
    const result = parseSlackForm(form(fields));
    expect(result).toMatchObject({ ok: false, reason: "InvalidSlackPayload", field });
    if (!result.ok) expect(result.message).toContain(`"${field}"`);
  });

  it("rejects a repeated field instead of picking one copy", () => {
    const body = `${form(fixture("slack/slash-command.json"))}&text=scale+p+0`;
    expect(parseSlackForm(body)).toMatchObject({ ok: false, field: "text", reason: "InvalidSlackPayload" });
  });

  it("exports a body limit well above a real slash command", () => {
    expect(Buffer.byteLength(form(fixture("slack/slash-command.json")))).toBeLessThan(MAX_CHAT_BODY_BYTES);
    expect(MAX_CHAT_BODY_BYTES).toBe(8192);
  });
});

describe("slackDedupKey", () => {
  const rawBody = form(fixture("slack/slash-command.json"));

  it("gives a retry the same key as the first delivery", () => {
    const first = slackDedupKey({ rawBody, teamId: "T0001", triggerId: "13345224609.1" });
    const retry = slackDedupKey({
      rawBody,
      teamId: "T0001",
      triggerId: "13345224609.1",
      retryNumHeader: "2",
    });
    expect(retry.key).toBe(first.key);
    expect(first.retryNum).toBe(0);
    expect(retry.retryNum).toBe(2);
    expect(first.key).toMatch(/^slack-[0-9a-f]{32}$/u);
  });

  it("separates invocations and workspaces", () => {
    const a = slackDedupKey({ rawBody, teamId: "T0001", triggerId: "1" }).key;
    expect(slackDedupKey({ rawBody, teamId: "T0001", triggerId: "2" }).key).not.toBe(a);
    expect(slackDedupKey({ rawBody, teamId: "T0002", triggerId: "1" }).key).not.toBe(a);
  });

  it("falls back to the body without a trigger id", () => {
    const a = slackDedupKey({ rawBody });
    expect(slackDedupKey({ rawBody: Buffer.from(rawBody) }).key).toBe(a.key);
    expect(slackDedupKey({ rawBody: `${rawBody}x` }).key).not.toBe(a.key);
  });

  it("treats a garbage retry header as a first delivery", () => {
    expect(slackDedupKey({ rawBody, retryNumHeader: "lots" }).retryNum).toBe(0);
  });
});
