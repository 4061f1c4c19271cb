import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseMattermostForm, verifyMattermostToken } from "../../shared/chatops";
import { hasReason } from "../../shared/errors";

/** A fresh copy of the fixture for every use. */
function fixture(): Record<string, string> {
  const url = new URL("../fixtures/mattermost/slash-command.json", import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Record<string, string>;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const TOKEN = "xbxkhp3c4jgf8m3uz3gzq5gkzc";

describe("verifyMattermostToken", () => {
  it.each([
    // what Mattermost sends: header and form field, both right
    [{ formToken: TOKEN, authorizationHeader: `Token ${TOKEN}` }],
    // only the header
    [{ authorizationHeader: `Token ${TOKEN}` }],
    // only the form field (a GET command, or a proxy that drops the header)
    [{ formToken: TOKEN }],
    // the scheme is case-insensitive and surrounding space is tolerated
    [{ authorizationHeader: `token   ${TOKEN} ` }],
  ])("accepts %j", (credentials) => {
    expect(verifyMattermostToken(credentials, TOKEN)).toEqual({ ok: true });
  });

  it.each([
    // nothing presented
    [{}, "MissingToken"],
    // empty values count as absent
    [{ formToken: "", authorizationHeader: "" }, "MissingToken"],
    [{ formToken: "wrong" }, "InvalidToken"],
    [{ authorizationHeader: "Token wrong" }, "InvalidToken"],
    // a prefix of the token
    [{ formToken: TOKEN.slice(0, 10) }, "InvalidToken"],
    // the token plus more
    [{ formToken: `${TOKEN}x` }, "InvalidToken"],
    // header right, form field wrong: every credential must match
    [{ formToken: "wrong", authorizationHeader: `Token ${TOKEN}` }, "InvalidToken"],
    // form field right, header wrong
    [{ formToken: TOKEN, authorizationHeader: "Token wrong" }, "InvalidToken"],
    // another scheme
    [{ authorizationHeader: `Bearer ${TOKEN}` }, "MalformedAuthorization"],
    // scheme without a token
    [{ authorizationHeader: "Token" }, "MalformedAuthorization"],
  ])("refuses %j with %s", (credentials, reason) => {
    expect(verifyMattermostToken(credentials, TOKEN)).toMatchObject({ ok: false, reason, status: 401 });
  });

  it("refuses to verify against an empty expected token", () => {
    let caught: unknown;
    try {
      verifyMattermostToken({ formToken: "" }, "");
    } catch (err) {
      caught = err;
    }
    expect(hasReason(caught, "TokenNotConfigured")).toBe(true);
  });
});

describe("parseMattermostForm", () => {
  it("parses a slash command", () => {
    expect(parseMattermostForm(form(fixture()))).toMatchObject({
      ok: true,
      value: {
        token: TOKEN,
        team_id: "rdc9bgriktyx9p4kowh3dmgqyc",
        channel_id: "fukzmeb9wbnpfnm5iw3abp4a7r",
        channel_name: "town-square",
        user_id: "q5s3wogmo3bgdrsw8yzgutcbvh",
        user_name: "bob",
        command: "/vmpool",
        text: "status vmirs/default/testreplicaset",
        team_domain: "oncall",
      },
    });
  });

  it("keeps extra fields and accepts a server without trigger ids", () => {
    const { trigger_id: _t, ...fields } = fixture();
    const result = parseMattermostForm(form({ ...fields, user_mentions: "@alice" }));
    expect(result).toMatchObject({ ok: true, value: { user_mentions: "@alice" } });
    expect(result.ok && result.value.trigger_id).toBeUndefined();
  });

  it("accepts an http response_url (self-hosted servers)", () => {
    const fields = { ...fixture(), response_url: "http://mattermost.internal:8065/hooks/commands/x" };
    expect(parseMattermostForm(form(fields)).ok).toBe(true);
  });

  it.each([
    // each required field removed
    ["token", undefined],
    ["team_id", undefined],
    ["channel_id", undefined],
    ["user_id", undefined],
    ["command", undefined],
    ["response_url", undefined],
    // the token may not be empty
    ["token", ""],
    ["response_url", "ftp://mattermost.example.com/x"],
  ])("rejects %s = %j, naming the field", (field, value) => {
    const fields = fixture();
    if (value === undefined) delete fields[field];
    else fields[field] = value;
    const result = parseMattermostForm(form(fields));
    expect(result).toMatchObject({ ok: false, reason: "InvalidMattermostPayload", field });
  });
});
