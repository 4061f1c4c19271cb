import { PutEventsCommand, ThrottlingException } from "@aws-sdk/client-eventbridge";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PoolRef, poolReconcileDetailSchema, putPoolReconcileEvents } from "../../infra/aws";
import { FakeEventBridge } from "./infra-aws-fake";

let fake: FakeEventBridge;
let sleeps: number[];
const options = () => ({ sleep: async (ms: number) => void sleeps.push(ms) });

const pools: PoolRef[] = Array.from({ length: 25 }, (_, i) => ({
  kind: i % 2 === 0 ? "VirtualMachinePool" : "VirtualMachineInstanceReplicaSet",
  namespace: "default",
  name: `pool-${i}`,
}));

beforeEach(() => {
  fake = new FakeEventBridge();
  sleeps = [];
});
afterEach(() => fake.restore());

const batchSizes = () => fake.mock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length);
const sentNames = (call: number) =>
  fake.mock
    .commandCalls(PutEventsCommand)
    [call]?.args[0].input.Entries?.map(
      (e) => poolReconcileDetailSchema.parse(JSON.parse(e.Detail ?? "")).name,
    );

describe("putPoolReconcileEvents", () => {
  it("sends 25 pools in 3 PutEvents calls of at most 10", async () => {
    const result = await putPoolReconcileEvents(fake.client, "vmpool-functions", pools, options());
    expect(result).toEqual({ sent: 25, failed: [] });
    expect(batchSizes()).toEqual([10, 10, 5]);
    expect(sleeps).toEqual([]);
    expect(fake.events).toHaveLength(25);
    const first = fake.events[0];
    expect(first).toMatchObject({
      EventBusName: "vmpool-functions",
      Source: "vmpool-functions",
      DetailType: "Pool Reconcile Requested",
    });
    const details = fake.events.map((e) => poolReconcileDetailSchema.parse(JSON.parse(e.Detail ?? "")));
    expect(details).toEqual(pools);
  });

  it("resends only failed entries with backoff", async () => {
    const refusals = new Map([
      ["pool-3", 1],
      ["pool-17", 2],
    ]);
    fake.putEventFailure = (entry) => {
      const name = poolReconcileDetailSchema.parse(JSON.parse(entry.Detail ?? "")).name;
      const left = refusals.get(name) ?? 0;
      if (left === 0) return undefined;
      refusals.set(name, left - 1);
      return { code: "InternalFailure", message: "try again" };
    };
    const result = await putPoolReconcileEvents(fake.client, "vmpool-functions", pools, options());
    expect(result).toEqual({ sent: 25, failed: [] });
    expect(batchSizes()).toEqual([10, 1, 10, 1, 1, 5]);
    expect(sentNames(1)).toEqual(["pool-3"]);
    expect(sentNames(3)).toEqual(["pool-17"]);
    expect(sleeps).toEqual([200, 200, 400]);
    expect(new Set(fake.events.map((e) => e.Detail)).size).toBe(25);
  });

  it("reports entries that still fail after the bounded attempts", async () => {
    fake.putEventFailure = (entry) =>
      entry.Detail?.includes('"pool-20"') ? { code: "ThrottlingException", message: "slow down" } : undefined;
    const result = await putPoolReconcileEvents(fake.client, "vmpool-functions", pools, {
      ...options(),
      maxAttempts: 3,
    });
    expect(result.sent).toBe(24);
    expect(result.failed).toEqual([
      {
        pool: { kind: "VirtualMachinePool", namespace: "default", name: "pool-20" },
        errorCode: "ThrottlingException",
        errorMessage: "slow down",
      },
    ]);
    expect(batchSizes()).toEqual([10, 10, 5, 1, 1]);
    expect(sleeps).toEqual([200, 400]);
  });

  it("treats a PutEvents call that throws as a failure of its entries and retries them", async () => {
    fake.mock
      .on(PutEventsCommand)
      .rejectsOnce(new ThrottlingException({ message: "Rate exceeded", $metadata: {} }))
      .callsFake((input) => ({
        FailedEntryCount: 0,
        Entries: (input.Entries ?? []).map((_: unknown, i: number) => ({ EventId: `e-${i}` })),
      }));
    const result = await putPoolReconcileEvents(
      fake.client,
      "vmpool-functions",
      pools.slice(0, 4),
      options(),
    );
    expect(result).toEqual({ sent: 4, failed: [] });
    expect(batchSizes()).toEqual([4, 4]);
    expect(sleeps).toEqual([200]);
  });

  it("makes no call for no pools", async () => {
    expect(await putPoolReconcileEvents(fake.client, "vmpool-functions", [], options())).toEqual({
      sent: 0,
      failed: [],
    });
    expect(fake.mock.calls()).toHaveLength(0);
  });
});
