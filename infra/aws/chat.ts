/**
 * Handing a chat command to the chat-ops worker: one `Chat Command Requested` event on our bus, published by the
 * webhook before it acknowledges the command, so no work ever runs after a Lambda response (Slack's 3-second
 * deadline; reference/scaling-triggers.md §0.4). The rule for this detail-type targets the chat-ops function.
 */
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ReasonedError } from "../../shared/errors";
import { CHAT_COMMAND_DETAIL_TYPE, EVENT_SOURCE } from "./contract";

/**
 * Publishes `detail` as one `Chat Command Requested` event on `busName` and returns its event id. Throws
 * `ChatCommandNotQueued` (retryable) when EventBridge refuses the entry or the call fails after the SDK's retries.
 */
export async function publishChatCommand(
  client: EventBridgeClient,
  busName: string,
  detail: Readonly<Record<string, unknown>>,
): Promise<string> {
  let entry: {
    EventId?: string | undefined;
    ErrorCode?: string | undefined;
    ErrorMessage?: string | undefined;
  };
  try {
    const response = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: EVENT_SOURCE,
            DetailType: CHAT_COMMAND_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    entry = response.Entries?.[0] ?? { ErrorCode: "MissingResult", ErrorMessage: "no result entry" };
  } catch (cause) {
    throw new ReasonedError("ChatCommandNotQueued", "PutEvents call failed", {
      retryable: true,
      status: 503,
      cause,
    });
  }
  if (entry.ErrorCode !== undefined || entry.EventId === undefined) {
    throw new ReasonedError(
      "ChatCommandNotQueued",
      `EventBridge refused the chat command: ${entry.ErrorCode ?? "NoEventId"} ${entry.ErrorMessage ?? ""}`.trim(),
      { retryable: true, status: 503 },
    );
  }
  return entry.EventId;
}
