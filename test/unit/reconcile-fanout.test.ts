import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { fanOutFromEnv } from "../../functions/reconcile/handler";

describe("reconcile fan-out from the environment", () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterEach(() => eventBridge.reset());

  it("is off without VMPOOL_FANOUT_BUS", () => {
    expect(fanOutFromEnv({})).toBeUndefined();
  });

  it("publishes one Pool Reconcile Requested event per pool, ten per PutEvents call", async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries?: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `event-${i}` })),
    }));
    const fanOut = fanOutFromEnv({ VMPOOL_FANOUT_BUS: "vmpool-functions", AWS_REGION: "us-east-1" });
    const pools = Array.from({ length: 12 }, (_, i) => ({
      kind: "VirtualMachinePool",
      namespace: "default",
      name: `p${i}`,
    }));
    expect(await fanOut?.(pools)).toEqual({ sent: 12, failed: 0 });
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 2]);
    const first = calls[0]?.args[0].input.Entries?.[0];
    expect(first).toMatchObject({
      EventBusName: "vmpool-functions",
      DetailType: "Pool Reconcile Requested",
      Source: "vmpool-functions",
    });
    expect(JSON.parse(first?.Detail ?? "{}")).toEqual({
      kind: "VirtualMachinePool",
      namespace: "default",
      name: "p0",
    });
  });
});
