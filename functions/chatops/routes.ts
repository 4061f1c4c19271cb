/**
 * The chat-ops webhooks: `POST /hooks/slack` (v0 signature over the raw body, 5-minute window, `ssl_check`) and
 * `POST /hooks/mattermost` (per-command token). Nothing touches the cluster before the request is verified. The
 * answer comes at once: usage and help, a polite refusal (the policy is decided from the text alone), or an
 * ephemeral "working on it"; the command itself then runs in the worker, which posts the result to the
 * `response_url`. On the Node server the worker runs in this process after the answer, tracked so shutdown and
 * tests can wait for it; on Lambda the job is published as an EventBridge event before answering, and a separate
 * invocation runs it (never work after a Lambda response).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  allowsHttp,
  type ChatJob,
  type ChatResult,
  type ChatSource,
  type ChatSubject,
  commandHelp,
  HELP_TEXT,
  isResponseUrlAllowed,
  MAX_CHAT_BODY_BYTES,
  parseCommand,
  parseMattermostForm,
  parseSlackForm,
  preAuthorize,
  renderMattermostResult,
  renderResult,
  slackDedupKey,
  verifyMattermostToken,
  verifySlackRequest,
} from "../../shared/chatops";
import { ReasonedError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { errorBody, renderError } from "../http";
import type { Runtime } from "../runtime";
import { type ChatopsSettings, chatopsSettingsFromEnv, loadChatopsPolicy } from "./settings";
import { type ChatopsWorker, createChatopsWorker } from "./worker";

/** Hands an accepted job to the worker somewhere else (Lambda: PutEvents); resolves once it is queued. */
export type ChatJobPublisher = (job: ChatJob) => Promise<void>;

export interface ChatopsOptions {
  /** Where accepted commands go. Default: run them in this process after answering (Node server). */
  readonly publish?: ChatJobPublisher;
  /** Default: from the environment (`chatopsSettingsFromEnv`). */
  readonly settings?: ChatopsSettings;
  /** Used to post results. Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface Chatops {
  /** Mount with `app.route("/", routes)` (what `chatopsRoutes` returns). */
  readonly routes: Hono;
  /** Runs one accepted command and posts its result (the Lambda worker calls it with the event's job). */
  readonly worker: ChatopsWorker;
  /** Resolves once every command accepted so far in this process has finished (no-op when publishing). */
  idle(): Promise<void>;
}

/** Commands running in this process at once; more get "busy, try again" instead of piling up. */
export const MAX_IN_FLIGHT = 64;

/** Builds the chat-ops routes and worker once per cold start. Throws `InvalidPolicy`/`InvalidSettings` early. */
export function createChatops(runtime: Runtime, options: ChatopsOptions = {}): Chatops {
  const log = runtime.log.child({ function: "chatops" });
  const settings = options.settings ?? chatopsSettingsFromEnv();
  const policy = loadChatopsPolicy(runtime, log);
  const worker = createChatopsWorker(runtime, {
    policy,
    responseUrlOrigins: settings.responseUrlOrigins,
    fetch: options.fetch ?? globalThis.fetch,
    log,
  });
  const inFlight = new Set<Promise<void>>();

  const dispatch = async (job: ChatJob): Promise<void> => {
    if (options.publish) return options.publish(job);
    if (inFlight.size >= MAX_IN_FLIGHT) {
      throw new ReasonedError("Busy", `${MAX_IN_FLIGHT} chat commands are already running`, {
        retryable: true,
      });
    }
    // Start after this request's answer is on its way: the worker's first await is a cluster read anyway.
    const running: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => worker.run(job))
      .then(
        () => undefined,
        (err: unknown) => log.error({ err }, "chat command worker failed"),
      )
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  /** The immediate answer to a verified command; queues it when it needs the cluster. */
  const accept = async (job: ChatJob): Promise<ChatResult> => {
    const parsed = parseCommand(job.text);
    if (!parsed.ok) {
      return { kind: "error", reason: parsed.reason, message: parsed.message, usage: parsed.usage };
    }
    const { command } = parsed;
    if (command.name === "help") {
      return { kind: "help", text: command.topic ? commandHelp(command.topic) : HELP_TEXT };
    }
    const refusal = preAuthorize(command, policy, job.subject, runtime.settings.VMPOOL_DEFAULT_NAMESPACE);
    if (refusal) {
      log.info(
        { chatops: "refused", reason: refusal.reason, command: command.name, userId: job.subject.userId },
        refusal.message,
      );
      return refusal;
    }
    try {
      await dispatch(job);
    } catch (err) {
      const busy = err instanceof ReasonedError && err.reason === "Busy";
      (busy ? log.warn : log.error).call(
        log,
        { err, command: command.name },
        "could not start a chat command",
      );
      return {
        kind: "error",
        reason: busy ? "Busy" : "NotQueued",
        message: busy
          ? "Too many commands are running right now; please try again in a moment."
          : "The command could not be started; please try again.",
      };
    }
    return { kind: "accepted", commandText: job.text.trim() };
  };

  const routes = new Hono();
  routes.onError((err, c) => renderError(err, c, log));
  // Stops reading a streamed body at the limit; `readBody` also checks what a buffered event body holds.
  const limit = bodyLimit({
    maxSize: MAX_CHAT_BODY_BYTES,
    onError: (c) =>
      c.json(errorBody("PayloadTooLarge", `body larger than ${MAX_CHAT_BODY_BYTES} bytes`), 413),
  });
  routes.post("/hooks/slack", limit, (c) => slackHook(c, runtime, settings, log, accept));
  routes.post("/hooks/mattermost", limit, (c) => mattermostHook(c, runtime, settings, log, accept));

  return {
    routes,
    worker,
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

/** The route factory for the function server (`createFunctionApp(runtime, [chatopsRoutes, …])`). */
export function chatopsRoutes(runtime: Runtime): Hono {
  return createChatops(runtime).routes;
}

type Accept = (job: ChatJob) => Promise<ChatResult>;

async function slackHook(
  c: Context,
  runtime: Runtime,
  settings: ChatopsSettings,
  log: Logger,
  accept: Accept,
): Promise<Response> {
  const secret = runtime.secrets.slackSigningSecret;
  if (!secret) return c.json(errorBody("NotConfigured", "Slack is not configured on this server"), 503);
  const bytes = await readBody(c);
  const verified = verifySlackRequest({
    rawBody: bytes,
    timestampHeader: c.req.header("x-slack-request-timestamp"),
    signatureHeader: c.req.header("x-slack-signature"),
    signingSecret: secret,
    now: runtime.now(),
  });
  if (!verified.ok) {
    log.warn({ reason: verified.reason, path: c.req.path }, `rejected a Slack request: ${verified.message}`);
    return c.json(errorBody(verified.reason, verified.message), verified.status);
  }
  const raw = decodeUtf8(bytes);
  const form = parseSlackForm(raw, { allowHttpResponseUrl: allowsHttp(settings.responseUrlOrigins) });
  if (!form.ok) return c.json(errorBody(form.reason, form.message), 400);
  if (form.value.type === "ssl_check") return c.body(null, 200);
  const command = form.value.command;
  const refused = checkResponseUrl(command.response_url, settings, log);
  if (refused) return c.json(refused, 400);
  const delivery = slackDedupKey({
    rawBody: bytes,
    teamId: command.team_id,
    triggerId: command.trigger_id,
    retryNumHeader: c.req.header("x-slack-retry-num") ?? null,
  });
  if (delivery.retryNum > 0) {
    // Answered again; the worker recognises the key on the pool and does not run a change twice.
    log.info({ deliveryKey: delivery.key, retryNum: delivery.retryNum }, "Slack redelivered a command");
  }
  // Verified above: Unix seconds within the replay window. Every copy of this request carries the same one.
  const issuedAt = new Date(Number(c.req.header("x-slack-request-timestamp")) * 1000);
  const reply = await accept(
    job(runtime, "slack", command.text, subjectOf(command), command.response_url, {
      key: delivery.key,
      issuedAt,
    }),
  );
  return c.json(renderResult(reply));
}

async function mattermostHook(
  c: Context,
  runtime: Runtime,
  settings: ChatopsSettings,
  log: Logger,
  accept: Accept,
): Promise<Response> {
  const expected = runtime.secrets.mattermostToken;
  if (!expected)
    return c.json(errorBody("NotConfigured", "Mattermost is not configured on this server"), 503);
  const raw = decodeUtf8(await readBody(c));
  const verified = verifyMattermostToken(
    { formToken: new URLSearchParams(raw).get("token"), authorizationHeader: c.req.header("authorization") },
    expected,
  );
  if (!verified.ok) {
    log.warn(
      { reason: verified.reason, path: c.req.path },
      `rejected a Mattermost request: ${verified.message}`,
    );
    return c.json(errorBody(verified.reason, verified.message), verified.status);
  }
  const form = parseMattermostForm(raw);
  if (!form.ok) return c.json(errorBody(form.reason, form.message), 400);
  const command = form.value;
  const refused = checkResponseUrl(command.response_url, settings, log);
  if (refused) return c.json(refused, 400);
  // Mattermost does not redeliver, so no delivery key: nothing needs remembering on the pool.
  const reply = await accept(
    job(runtime, "mattermost", command.text, subjectOf(command), command.response_url, undefined),
  );
  return c.json(renderMattermostResult(reply));
}

function job(
  runtime: Runtime,
  source: ChatSource,
  text: string,
  subject: ChatSubject,
  responseUrl: string,
  delivery: { readonly key: string; readonly issuedAt: Date } | undefined,
): ChatJob {
  return {
    source,
    text,
    subject,
    responseUrl,
    ...(delivery === undefined
      ? {}
      : { deliveryKey: delivery.key, issuedAt: delivery.issuedAt.toISOString() }),
    receivedAt: runtime.now().toISOString(),
  };
}

function subjectOf(command: {
  readonly user_id: string;
  readonly user_name: string;
  readonly channel_id: string;
  readonly channel_name: string;
}): ChatSubject {
  return {
    userId: command.user_id,
    channelId: command.channel_id,
    ...(command.user_name ? { userName: command.user_name } : {}),
    ...(command.channel_name ? { channelName: command.channel_name } : {}),
  };
}

function checkResponseUrl(
  url: string,
  settings: ChatopsSettings,
  log: Logger,
): { error: { reason: string; message: string } } | undefined {
  if (isResponseUrlAllowed(url, settings.responseUrlOrigins)) return undefined;
  log.warn(
    { reason: "ResponseUrlNotAllowed" },
    "refused a command whose response_url is not an allowed origin",
  );
  return errorBody("ResponseUrlNotAllowed", "response_url is not an allowed origin");
}

/** The raw body bytes, refusing more than MAX_CHAT_BODY_BYTES with 413 (declared or actual). */
async function readBody(c: Context): Promise<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_CHAT_BODY_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > MAX_CHAT_BODY_BYTES) throw tooLarge();
  return bytes;
}

function tooLarge(): ReasonedError {
  return new ReasonedError("PayloadTooLarge", `body larger than ${MAX_CHAT_BODY_BYTES} bytes`, {
    status: 413,
  });
}

/** Form bodies are ASCII; bytes that are not UTF-8 at all are a malformed request, not text to guess at. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ReasonedError("MalformedBody", "body is not UTF-8", { status: 400 });
  }
}
