/**
 * Handing a chat command to the worker on AWS: one `Chat Command Requested` PutEvents entry on our bus, and a
 * reason-coded, retryable error when EventBridge refuses it (so the webhook can tell the user instead of acking a
 * command that will never run). EventBridge is mocked with aws-sdk-client-mock.
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { eventBridgePublisher } from "../../functions/chatops/handler";
import { CHAT_COMMAND_DETAIL_TYPE, EVENT_SOURCE, publishChatCommand } from "../../infra/aws";
import { type ChatJob, parseChatJob } from "../../shared/chatops";
import { hasReason, ReasonedError } from "../../shared/errors";

const mock = mockClient(EventBridgeClient);
afterEach(() => mock.reset());

const job: ChatJob = {
  source: "slack",
  text: "scale web 3",
  subject: { userId: "U1", userName: "alice", channelId: "C1", channelName: "ops" },
  responseUrl: "https://hooks.slack.com/commands/1/2/3",
  deliveryKey: "slack-0123abcd",
  receivedAt: "2026-11-21T12:00:00.000Z",
};

describe("publishChatCommand", () => {
  it("puts one entry on the bus with our source and detail-type, and returns its id", async () => {
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "evt-1" }] });
    const id = await publishChatCommand(new EventBridgeClient({ region: "eu-west-1" }), "vmpool-functions", {
      ...job,
    });
    expect(id).toBe("evt-1");
    const entries = mock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      EventBusName: "vmpool-functions",
      Source: EVENT_SOURCE,
      DetailType: CHAT_COMMAND_DETAIL_TYPE,
    });
    // What the worker will validate on the other side.
    expect(parseChatJob(JSON.parse(entries[0]?.Detail ?? ""))).toEqual({ ok: true, job });
  });

  it.each([
    // EventBridge refused the entry
    [{ FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try again" }] }],
    // no result entry at all
    [{ FailedEntryCount: 0, Entries: [] }],
  ])("a refused entry is a retryable ChatCommandNotQueued (%j)", async (response) => {
    mock.on(PutEventsCommand).resolves(response);
    const error = await publishChatCommand(new EventBridgeClient({ region: "eu-west-1" }), "bus", {}).catch(
      (err: unknown) => err,
    );
    expect(hasReason(error, "ChatCommandNotQueued")).toBe(true);
    expect((error as ReasonedError).retryable).toBe(true);
  });

  it("a failed call is a ChatCommandNotQueued too", async () => {
    mock.on(PutEventsCommand).rejects(new Error("socket hang up"));
    const error = await publishChatCommand(new EventBridgeClient({ region: "eu-west-1" }), "bus", {}).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ReasonedError);
    expect(hasReason(error, "ChatCommandNotQueued")).toBe(true);
  });

  it("the Lambda publisher sends jobs to the configured bus", async () => {
    mock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "evt-2" }] });
    const publish = eventBridgePublisher({
      responseUrlOrigins: [],
      eventBusName: "team-bus",
      region: "eu-west-1",
    });
    await publish(job);
    expect(mock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.EventBusName).toBe("team-bus");
  });
});
