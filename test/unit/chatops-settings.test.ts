/**
 * What the chat-ops function reads at start-up: its settings (response URL origins, bus) and the policy, deny by
 * default: a policy file wins, dev mode without one gets the labelled allow-everyone policy, and otherwise there
 * is none. A broken policy file stops the start with a reason instead of silently allowing or denying.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chatopsSettingsFromEnv, loadChatopsPolicy } from "../../functions/chatops";
import { settingsFromEnv } from "../../functions/runtime";
import { DEV_ALLOW_ALL_RULE, isResponseUrlAllowed } from "../../shared/chatops";
import { hasReason } from "../../shared/errors";
import { logger } from "../../shared/log";

const log = logger("test");
const dir = mkdtempSync(join(tmpdir(), "chatops-settings-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const runtime = (policyFile: string | undefined, devMode: boolean) => ({
  settings: settingsFromEnv(policyFile ? { VMPOOL_CHATOPS_POLICY_FILE: policyFile } : {}),
  devMode,
});
const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe("chat-ops settings", () => {
  it("default to any https response URL and the vmpool-functions bus", () => {
    const settings = chatopsSettingsFromEnv({});
    expect(settings.eventBusName).toBe("vmpool-functions");
    expect(isResponseUrlAllowed("https://hooks.slack.com/commands/1", settings.responseUrlOrigins)).toBe(
      true,
    );
    expect(isResponseUrlAllowed("http://127.0.0.1:8080/x", settings.responseUrlOrigins)).toBe(false);
  });

  it("can be widened for a local receiver", () => {
    const settings = chatopsSettingsFromEnv({ VMPOOL_CHATOPS_RESPONSE_URLS: "http://127.0.0.1:*" });
    expect(isResponseUrlAllowed("http://127.0.0.1:8080/x", settings.responseUrlOrigins)).toBe(true);
  });

  it("name the variable that is wrong", () => {
    const err = thrown(() => chatopsSettingsFromEnv({ VMPOOL_CHATOPS_RESPONSE_URLS: "hooks.slack.com" }));
    expect(hasReason(err, "InvalidSetting")).toBe(true);
    expect(String(err)).toContain("VMPOOL_CHATOPS_RESPONSE_URLS");
  });
});

describe("the chat-ops policy in effect", () => {
  const policy = `rules: [{users: [U1], namespaces: [default], verbs: [read]}]`;

  it("is the policy file when one is set, dev mode or not", () => {
    for (const devMode of [false, true]) {
      expect(loadChatopsPolicy(runtime(file("p.yaml", policy), devMode), log)?.rules).toEqual([
        { users: ["U1"], namespaces: ["default"], verbs: ["read"] },
      ]);
    }
  });

  it("is the labelled allow-everyone policy in dev mode without a file", () => {
    expect(loadChatopsPolicy(runtime(undefined, true), log)?.rules[0]?.name).toBe(DEV_ALLOW_ALL_RULE);
  });

  it("is none (deny everything) outside dev mode without a file", () => {
    expect(loadChatopsPolicy(runtime(undefined, false), log)).toBeNull();
  });

  it.each([
    // a misspelt key in a security document
    ["misspelt", `rules: [{users: [U1], namespace: [default], verbs: [read]}]`],
    // not YAML at all
    ["garbage", "rules: [unclosed"],
  ])("refuses to start on an invalid file (%s)", (name, text) => {
    const path = file(`${name}.yaml`, text);
    const err = thrown(() => loadChatopsPolicy(runtime(path, true), log));
    expect(hasReason(err, "InvalidPolicy")).toBe(true);
    expect(String(err)).toContain(path);
  });

  it("refuses to start on a file it cannot read", () => {
    const err = thrown(() => loadChatopsPolicy(runtime(join(dir, "missing.yaml"), false), log));
    expect(hasReason(err, "InvalidPolicy")).toBe(true);
  });
});
