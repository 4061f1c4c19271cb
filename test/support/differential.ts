/**
 * The differential suite's machinery: two targets (the embedded API server and a real kube-apiserver), a raw
 * HTTP sender that talks to either, the normalisation that masks what legitimately differs between two servers
 * (uids, timestamps, resourceVersions, generated names, continue tokens, addresses, ages), a readable line diff,
 * and the allowlist of divergences the suite accepts, each with its reason.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { z } from "zod";

export type TargetKind = "real" | "embedded";

/** One API server as a client sees it: its URL, the CA and token when it has them, and a kubeconfig. */
export interface Target {
  readonly kind: TargetKind;
  readonly url: string;
  readonly ca?: string;
  readonly token?: string;
  readonly kubeconfig: string;
}

export { realSkipReason } from "./clusters";

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** A watch: stop reading after this many events (the server's timeoutSeconds ends it otherwise). */
  readonly events?: number;
}

export interface HttpReply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly warning: string | undefined;
  /** The body, parsed by its content type: JSON, YAML, a watch stream (an array of events) or text. */
  readonly body: unknown;
}

function parseBody(text: string, contentType: string | undefined, watch: boolean): unknown {
  if (text === "") return "";
  try {
    if (watch)
      return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as unknown);
    // kube-apiserver serves /openapi/v3 as text/plain: JSON-looking text is parsed whatever its type says.
    if (contentType?.startsWith("application/json") || /^\s*[{[]/.test(text))
      return JSON.parse(text) as unknown;
    if (contentType?.startsWith("application/yaml")) {
      const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
      return docs.length === 1 ? docs[0] : docs;
    }
  } catch {
    // Not what the content type says: compare the text.
  }
  return text;
}

/** Sends one request to a target and resolves with its answer; rejects only on a transport error. */
export function send(target: Target, req: HttpRequest, timeoutMs = 15_000): Promise<HttpReply> {
  return new Promise<HttpReply>((resolve, reject) => {
    const url = new URL(req.path, target.url);
    const watch = req.events !== undefined;
    const request = url.protocol === "http:" ? httpRequest : httpsRequest;
    const headers: Record<string, string> = {
      accept: "application/json",
      ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      ...req.headers,
      // Without it node:http sends DELETE bodies chunked, which kube-apiserver refuses.
      ...(req.body !== undefined ? { "content-length": String(Buffer.byteLength(req.body)) } : {}),
    };
    const r = request(
      url,
      { method: req.method, headers, timeout: timeoutMs, ...(target.ca ? { ca: target.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          const contentType = res.headers["content-type"];
          const warning = res.headers.warning;
          const text = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            contentType,
            warning: Array.isArray(warning) ? warning.join(", ") : warning,
            body: parseBody(text, contentType, watch && res.statusCode === 200),
          });
        };
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          if (watch && Buffer.concat(chunks).toString().split("\n").length > (req.events ?? 0)) {
            // Enough complete events: stop reading (a line break ends each event).
            finish();
            res.destroy();
          }
        });
        res.on("end", finish);
        res.on("close", finish);
        res.on("error", (err) => (done ? undefined : reject(err)));
      },
    );
    r.on("timeout", () => r.destroy(new Error(`${req.method} ${req.path}: timed out after ${timeoutMs} ms`)));
    r.on("error", reject);
    r.end(req.body);
  });
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g;
/** `diff -u` header times. */
const DIFF_TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? [+-]\d{4}/g;
/** kubectl describe's built-in describers print RFC 1123 times (`Fri, 04 Dec 2026 19:24:59 +0000`). */
const RFC1123_TIME = /\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\b/g;
const SERVER = /(https?:\/\/)?(127\.0\.0\.1|localhost):\d+/g;
/** A Service's ClusterIP: both servers pick one at random from 10.96.0.0/16. */
const CLUSTER_IP = /\b10\.96\.\d{1,3}\.\d{1,3}\b/g;
/**
 * A generated name: the suite's generateName prefixes all start with `gen-` and end with `-`; the five chars
 * must come from kube-apiserver's alphabet (apiserver `pkg/storage/names/generate.go`), so another alphabet
 * shows up as a divergence.
 */
const GENERATED = /\b(gen-[a-z0-9-]*?-)[bcdfghjklmnpqrstvwxz2456789]{5}\b/g;
/** A server-computed age (apimachinery `util/duration.HumanDuration`). */
const AGE_WORD = /(?<![\w.-])(\d+[smhdy](\d+[smhd])?|<invalid>|<unknown>)(?![\w.-])/g;
const AGE_EXACT = /^(\d+[smhdy](\d+[smhd])?|<invalid>|<unknown>)$/;

/** Masks in any text: numbered uids (so relations between them still count), times (keeping the precision), generated names, addresses. */
function maskText(text: string): string {
  const uids = new Map<string, string>();
  return text
    .replace(UUID, (uid) => {
      let label = uids.get(uid);
      if (!label) {
        label = `<uid#${uids.size + 1}>`;
        uids.set(uid, label);
      }
      return label;
    })
    .replace(TIME, (_t, fraction: string | undefined) =>
      fraction ? `<time.${fraction.length - 1}>` : "<time>",
    )
    .replace(DIFF_TIME, "<time>")
    .replace(RFC1123_TIME, "<time>")
    .replace(SERVER, "<server>")
    .replace(CLUSTER_IP, "<cluster-ip>")
    .replace(GENERATED, "$1<gen>")
    .replace(/(resource version: )\d+( \()\d+\)/gi, "$1<rv>$2<rv>)")
    .replace(/(Too large resource version: )\d+(, current: )\d+/g, "$1<rv>$2<rv>")
    .replace(/(resourceVersion(?:\\*")?:\s*(?:\\*")?)\d+/g, "$1<rv>")
    .replace(/(Resource Version:\s+)\d+/g, "$1<rv>")
    .replace(/(ResourceVersion in (?:the )?(?:precondition|record|object meta)[: (]*)\d+/g, "$1<rv>")
    .replace(/\/tmp\/(LIVE|MERGED)-\d+/g, "/tmp/$1-<n>");
}

export interface NormaliseOptions {
  /**
   * Keep `metadata.managedFields`. Off by default: field ownership is compared in the cases about it
   * (server-side apply, subresource writes), so one divergence there does not show up in every answer.
   */
  readonly managedFields?: boolean;
}

/** Structural masks: resourceVersions and continue tokens by key, ages by their shape. */
function maskKeys(value: unknown, options: NormaliseOptions, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => maskKeys(v, options));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "managedFields" && key === "metadata" && !options.managedFields) continue;
      out[k] = maskKeys(v, options, k);
    }
    return out;
  }
  if (typeof value === "string") {
    if ((key === "resourceVersion" || key === "continue") && value !== "") return `<${key}>`;
    if (AGE_EXACT.test(value)) return "<age>";
  }
  return value;
}

/** JSON with object keys sorted, so equal values print equal and diffs line up. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sort(value), null, 2) ?? "undefined";
}

/** The masked form of a JSON value (an API answer). */
export function normalise(value: unknown, options: NormaliseOptions = {}): unknown {
  return JSON.parse(maskText(canonicalJson(maskKeys(value, options)))) as unknown;
}

/** The masked form of a command's output: also ages, and runs of blanks (kubectl aligns columns to content). */
export function normaliseText(text: string): string {
  return maskText(text)
    .replace(AGE_WORD, "<age>")
    .split("\n")
    .map((line) => line.replace(/[ \t]+/g, " ").trimEnd())
    .join("\n");
}

/** Parses kubectl's `-o yaml` / `-o json` output (several documents become an array); text when it is not. */
export function parseOutput(stdout: string, format: "json" | "yaml"): unknown {
  try {
    if (format === "json") return JSON.parse(stdout) as unknown;
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as unknown);
    return docs.length === 1 ? docs[0] : docs;
  } catch {
    return stdout;
  }
}

/** A unified-style line diff of two texts (LCS; the answers are a few hundred lines at most). */
export function lineDiff(left: string, right: string, leftName: string, rightName: string): string {
  const a = left.split("\n");
  const b = right.split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      (lcs[i] as number[])[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, (lcs[i] as number[])[j + 1] as number);
  const out = [`--- ${leftName}`, `+++ ${rightName}`];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (
      j < b.length &&
      (i >= a.length || ((lcs[i] as number[])[j + 1] as number) >= ((lcs[i + 1] as number[])[j] as number))
    ) {
      out.push(`+ ${b[j]}`);
      j++;
    } else {
      out.push(`- ${a[i]}`);
      i++;
    }
  }
  return out.join("\n");
}

const allowlistSchema = z.object({
  entries: z
    .array(
      z.strictObject({
        /** Request ids; `*` matches any run of characters (e.g. both kubectl versions). */
        ids: z.array(z.string().min(1)).min(1),
        reason: z.string().min(20),
      }),
    )
    .default([]),
});

/** One accepted divergence: the requests it covers and why a user can live with it. */
export interface AllowlistEntry {
  readonly ids: readonly string[];
  readonly reason: string;
  matches(requestId: string): boolean;
  /** The id patterns that match none of these request ids. */
  unused(requestIds: readonly string[]): string[];
}

/** Reads the allowlist file. */
export function readAllowlist(path: string): AllowlistEntry[] {
  const parsed = allowlistSchema.parse(parseYaml(readFileSync(path, "utf8")) ?? {});
  return parsed.entries.map((e) => {
    const patterns = e.ids.map((id) => ({
      id,
      re: new RegExp(`^${id.split("*").map(escapeRegExp).join(".*")}$`),
    }));
    return {
      ids: e.ids,
      reason: e.reason,
      matches: (requestId) => patterns.some((p) => p.re.test(requestId)),
      unused: (requestIds) => patterns.filter((p) => !requestIds.some((r) => p.re.test(r))).map((p) => p.id),
    };
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces `{{name}}` with the target's saved value; an unknown name is a mistake in the table. */
export function fill(template: string, vars: ReadonlyMap<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`no saved value {{${name}}}`);
    return value;
  });
}

/** A dotted path into a JSON value (`metadata.resourceVersion`, `items.0.metadata.name`). */
export function pick(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const part of path.split(".")) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
