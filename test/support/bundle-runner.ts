/**
 * Runs a function the way Lambda does on a cold start: a fresh `node` process imports the module and calls its
 * `handler` once with an event. Used by the bundle tests and the bundle benchmark. The module is either a built
 * bundle (copied to a directory outside the repository, so nothing can come from `node_modules`) or, for
 * comparison, the handler's TypeScript source loaded through `tsx`. The child writes its answer and timings to a
 * file, because the function's own logs own stdout.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, parse } from "node:path";
import { pathToFileURL } from "node:url";
import { inflateRawSync } from "node:zlib";

const INVOKE_SCRIPT = `
import { readFileSync, writeFileSync } from "node:fs";
const [moduleUrl, eventFile, resultFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const context = {
  awsRequestId: "00000000-0000-4000-8000-000000000001",
  functionName: "bundle-test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:bundle-test",
  memoryLimitInMB: "512",
  logGroupName: "/aws/lambda/bundle-test",
  logStreamName: "2026/11/21/[$LATEST]0123456789abcdef",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30000,
};
const started = performance.now();
const mod = await import(moduleUrl);
const imported = performance.now();
let result;
let error;
try {
  result = await mod.handler(event, context);
} catch (err) {
  error = { name: err?.name, reason: err?.reason, message: String(err?.message ?? err) };
}
const invoked = performance.now();
writeFileSync(resultFile, JSON.stringify({
  exports: Object.keys(mod).sort(),
  result,
  error,
  importMs: imported - started,
  invokeMs: invoked - imported,
}));
// Keep-alive sockets and timers must not keep a finished invocation alive (Lambda freezes the process here).
process.exit(0);
`;

export interface Invocation {
  readonly exports: readonly string[];
  readonly result: unknown;
  /** Set when the handler threw (Lambda would report the invocation as failed). */
  readonly error?: { readonly name?: string; readonly reason?: string; readonly message: string };
  readonly importMs: number;
  readonly invokeMs: number;
  /** Spawn to exit, Node's own start-up included. */
  readonly processMs: number;
}

export interface InvokeOptions {
  /** A built `index.mjs`, or a `.ts` handler source when `tsx` is set. */
  readonly module: string;
  readonly event: unknown;
  /** The child's whole environment (nothing is inherited but PATH). */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory holding the invoke script, event and result files. */
  readonly workdir: string;
  /** Load `module` through `tsx` (the unbundled source); the child then runs in the repository. */
  readonly tsx?: { readonly repoRoot: string };
  readonly timeoutMs?: number;
}

/** Copies a bundle into `dir` (created if needed) and returns the copy's path. */
export function copyBundle(bundle: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, "index.mjs");
  copyFileSync(bundle, target);
  return target;
}

/** True when `dir` or any directory above it holds a `node_modules` (an import could resolve from there). */
export function hasNodeModulesAbove(dir: string): boolean {
  const { root } = parse(dir);
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, "node_modules"))) return true;
    if (current === root) return false;
  }
}

let sequence = 0;

/** Runs one cold invocation in a fresh `node` process. */
export async function invokeFresh(options: InvokeOptions): Promise<Invocation> {
  mkdirSync(options.workdir, { recursive: true });
  const id = `${process.pid}-${++sequence}`;
  const script = join(options.workdir, "invoke.mjs");
  const eventFile = join(options.workdir, `event-${id}.json`);
  const resultFile = join(options.workdir, `result-${id}.json`);
  writeFileSync(script, INVOKE_SCRIPT);
  writeFileSync(eventFile, JSON.stringify(options.event));
  const args = [
    ...(options.tsx ? ["--import", "tsx"] : []),
    script,
    pathToFileURL(options.module).href,
    eventFile,
    resultFile,
  ];
  const started = performance.now();
  const { code, stderr, stdout } = await run(
    args,
    options.tsx ? options.tsx.repoRoot : options.workdir,
    { PATH: process.env.PATH ?? "", ...options.env },
    options.timeoutMs ?? 30_000,
  );
  const processMs = performance.now() - started;
  if (code !== 0 || !existsSync(resultFile)) {
    throw new Error(
      `node exited with ${code} before answering:\n${stderr.slice(-4000)}\n${stdout.slice(-4000)}`,
    );
  }
  return { ...(JSON.parse(readFileSync(resultFile, "utf8")) as Omit<Invocation, "processMs">), processMs };
}

function run(
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    // The function's JSON logs: kept (bounded) for the failure message only.
    child.stdout.on("data", (chunk: Buffer) => {
      stdout = (stdout + chunk.toString("utf8")).slice(-8000);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`node did not finish within ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/** One entry of a zip archive as its central directory describes it. */
export interface ZipRecord {
  readonly name: string;
  readonly data: Buffer;
  /** Unix mode from the external attributes. */
  readonly mode: number;
  readonly dosDate: number;
  readonly dosTime: number;
  /** Length of the extra field (0 when no extended timestamp was written). */
  readonly extraLength: number;
}

/** Reads a zip without a comment (what yazl writes by default): every entry, inflated. */
export function readZip(zip: Buffer): ZipRecord[] {
  const eocd = zip.length - 22;
  if (zip.readUInt32LE(eocd) !== 0x06054b50) throw new Error("no end-of-central-directory record");
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const records: ZipRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central directory header ${i}`);
    const method = zip.readUInt16LE(offset + 10);
    const compressed = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString("utf8", offset + 46, offset + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    records.push({
      name,
      data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw),
      mode: zip.readUInt32LE(offset + 38) >>> 16,
      dosTime: zip.readUInt16LE(offset + 12),
      dosDate: zip.readUInt16LE(offset + 14),
      extraLength,
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}

/**
 * A stand-in on 127.0.0.1 for EventBridge (PutEvents over the awsJson 1.1 protocol, reached through the SDK's
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`) and for chat `response_url`s (any other POST).
 */
export interface AwsStandIn {
  readonly url: string;
  readonly putEvents: Array<{ Entries: Array<{ Source: string; DetailType: string; Detail: string }> }>;
  readonly replies: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const putEvents: AwsStandIn["putEvents"] = [];
  const replies: AwsStandIn["replies"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      if (req.headers["x-amz-target"] === "AWSEvents.PutEvents") {
        putEvents.push(body);
        const entries = (body.Entries as unknown[]).map((_, i) => ({
          EventId: `event-${putEvents.length}-${i}`,
        }));
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: entries }));
        return;
      }
      replies.push(body);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    putEvents,
    replies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The four webhook secrets, as the functions read them from the environment. */
export const BUNDLE_SECRETS = {
  VMPOOL_RECONCILE_TOKEN: "bundle-reconcile-token-0123456789",
  VMPOOL_ALERTMANAGER_TOKEN: "bundle-alertmanager-token-012345",
  VMPOOL_SLACK_SIGNING_SECRET: "bundle-slack-signing-secret-0123",
  VMPOOL_MATTERMOST_TOKEN: "bundle-mattermost-token-01234567",
} as const;

/**
 * What a deployed function's configuration holds: the cluster (a kubeconfig path), the secrets, dummy AWS
 * credentials and the stand-in's endpoint (nothing leaves 127.0.0.1), and the chat-ops policy and reply origins.
 */
export function lambdaEnv(options: {
  readonly kubeconfig: string;
  readonly home: string;
  readonly standIn: AwsStandIn;
  readonly policyFile: string;
  readonly logLevel?: string;
}): Record<string, string> {
  return {
    ...BUNDLE_SECRETS,
    VMPOOL_KUBECONFIG: options.kubeconfig,
    HOME: options.home,
    TZ: "UTC",
    LOG_LEVEL: options.logLevel ?? "warn",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDBUNDLETEST",
    AWS_SECRET_ACCESS_KEY: "bundle-test-secret",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL_EVENTBRIDGE: options.standIn.url,
    VMPOOL_EVENT_BUS_NAME: "vmpool-functions",
    VMPOOL_CHATOPS_POLICY_FILE: options.policyFile,
    VMPOOL_CHATOPS_RESPONSE_URLS: "http://127.0.0.1:*",
  };
}

/** A Lambda function URL (payload 2.0) request, on the shape of the reconcile fixture. */
export function functionUrlEvent(
  base: Record<string, unknown>,
  request: { method: string; path: string; headers?: Record<string, string>; body: string; base64?: boolean },
): Record<string, unknown> {
  const shape = base as { headers: Record<string, string>; requestContext: { http: Record<string, string> } };
  return {
    ...shape,
    rawPath: request.path,
    headers: { ...shape.headers, ...(request.headers ?? {}) },
    requestContext: {
      ...shape.requestContext,
      http: { ...shape.requestContext.http, method: request.method, path: request.path },
    },
    body: request.base64 === true ? Buffer.from(request.body, "utf8").toString("base64") : request.body,
    isBase64Encoded: request.base64 === true,
  };
}
