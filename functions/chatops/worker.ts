/**
 * The slow part of a chat command, after the webhook has answered: run it against the cluster (bounded by the
 * pass deadline) and post the result to the command's `response_url` (Block Kit with a plain-text fallback for
 * Slack, markdown for Mattermost). Runs in process on the Node server and in its own invocation on Lambda.
 * Never throws: what goes wrong is logged and, when possible, told to the user.
 */
import {
  type ChatJob,
  type ChatResult,
  type ExecuteOutcome,
  executeText,
  isResponseUrlAllowed,
  jobExpiry,
  kubeChatopsPort,
  type OriginRule,
  type Policy,
  renderMattermostResult,
  renderResult,
} from "../../shared/chatops";
import type { Logger } from "../../shared/log";
import type { Runtime } from "../runtime";

/** How long a post to a response_url may take. */
const POST_TIMEOUT_MS = 10_000;

export interface WorkerDeps {
  readonly policy: Policy | null;
  readonly responseUrlOrigins: readonly OriginRule[];
  readonly fetch: typeof fetch;
  readonly log: Logger;
}

export interface ChatopsWorker {
  /** Runs the job and posts its result (unless it is a redelivery of one already run). */
  run(job: ChatJob): Promise<ExecuteOutcome>;
}

/** The worker for one runtime: built once per cold start, run once per accepted command. */
export function createChatopsWorker(runtime: Runtime, deps: WorkerDeps): ChatopsWorker {
  return {
    async run(job) {
      const log = deps.log.child({
        source: job.source,
        userId: job.subject.userId,
        deliveryKey: job.deliveryKey,
      });
      const expired = jobExpiry(job, runtime.now());
      if (expired) {
        // Its delivery key may be forgotten by now: running it could repeat a command that already ran.
        log.warn({ reason: expired.reason, receivedAt: job.receivedAt }, expired.message);
        await postResult(job, expired, deps, log);
        return { result: expired };
      }
      let outcome: ExecuteOutcome;
      try {
        const deadline = runtime.now().getTime() + runtime.settings.VMPOOL_PASS_DEADLINE_MS;
        const port = kubeChatopsPort(runtime.kube.withDeadline(deadline), {
          log,
          now: runtime.now,
          random: runtime.random,
        });
        outcome = await executeText(job.text, {
          port,
          policy: deps.policy,
          subject: job.subject,
          source: job.source,
          defaultNamespace: runtime.settings.VMPOOL_DEFAULT_NAMESPACE,
          replicaCeiling: runtime.settings.VMPOOL_MAX_REPLICAS,
          ...(job.deliveryKey === undefined ? {} : { deliveryKey: job.deliveryKey }),
          ...(job.issuedAt === undefined ? {} : { issuedAt: new Date(job.issuedAt) }),
          now: runtime.now,
          log,
          requestReconcile: (pool, reason) => runtime.requestReconcile(pool, reason),
        });
      } catch (err) {
        log.error({ err }, "chat command crashed");
        outcome = {
          result: {
            kind: "error",
            reason: "InternalError",
            message: "Something went wrong; the details are in the function's log.",
          },
        };
      }
      if (!outcome.duplicate) await postResult(job, outcome.result, deps, log);
      return outcome;
    },
  };
}

/** POST the rendered result to the job's response_url; failures are logged (the user sees nothing more). */
async function postResult(job: ChatJob, result: ChatResult, deps: WorkerDeps, log: Logger): Promise<void> {
  if (!isResponseUrlAllowed(job.responseUrl, deps.responseUrlOrigins)) {
    log.warn(
      { reason: "ResponseUrlNotAllowed" },
      "not posting the result: response_url is not an allowed origin",
    );
    return;
  }
  const message = job.source === "slack" ? renderResult(result) : renderMattermostResult(result);
  try {
    const response = await deps.fetch(job.responseUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      redirect: "error",
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    if (!response.ok) {
      log.warn({ status: response.status, result: result.kind }, "the chat app refused the result");
    }
    await response.body?.cancel();
  } catch (err) {
    log.warn({ err, result: result.kind }, "could not post the result to the response_url");
  }
}
