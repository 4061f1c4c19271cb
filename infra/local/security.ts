/**
 * The credentials `npm start` and `vmpool cluster` serve the local cluster with (see ./auth.ts for why): a CA and
 * a serving certificate for 127.0.0.1 in `<dataDir>/pki`, and a random bearer token in `<dataDir>/api-token`.
 * Both are made once and kept, so a kubeconfig exported earlier keeps working after a restart.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureCa, ensureServingCert } from "../real/pki";
import type { LocalClusterSecurity } from "./cluster";

const TOKEN_PATTERN = /^[0-9a-f]{48}$/;

/** Loads the local cluster's credentials from `dataDir`, generating whatever is missing or malformed. */
export function ensureLocalSecurity(dataDir: string): LocalClusterSecurity {
  const dir = join(dataDir, "pki");
  const ca = ensureCa(dir, "vmpool-local-ca");
  const { cert, key } = ensureServingCert({ dir }, "apiserver");
  return { ca, cert, key, token: ensureToken(join(dataDir, "api-token")) };
}

function ensureToken(path: string): string {
  const stored = existsSync(path) ? readFileSync(path, "utf8").trim() : "";
  if (TOKEN_PATTERN.test(stored)) return stored;
  const token = randomBytes(24).toString("hex");
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
