/**
 * A small stateful EventBridge behind aws-sdk-client-mock: buses, rules, targets and tags live in maps, list calls
 * paginate with a tiny page size, and hooks inject per-entry failures into PutTargets and PutEvents. It follows
 * the API reference where our code depends on it (PutRule ignores tags on update, DeleteRule needs no targets,
 * schedules only on the default bus, at most 10 entries per PutTargets/PutEvents).
 */
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  type Tag,
  TagResourceCommand,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import type { InfraConfigInput } from "../../infra/aws";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

/** A valid deployment config (account 123456789012, eu-west-1) that tests override field by field. */
export const CONFIG: InfraConfigInput = {
  region: "eu-west-1",
  functions: {
    reconcile: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-reconcile",
    autoscale: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-autoscale",
    chatops: "arn:aws:lambda:eu-west-1:123456789012:function:vmpool-chatops",
  },
  deadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:vmpool-dlq",
  tags: { team: "platform" },
};

export interface FakeRule {
  name: string;
  bus: string;
  arn: string;
  scheduleExpression: string | undefined;
  eventPattern: string | undefined;
  state: string | undefined;
  description: string | undefined;
  tags: Record<string, string>;
  targets: Map<string, Target>;
}

export interface FakeFailure {
  readonly code: string;
  readonly message: string;
}

export class FakeEventBridge {
  readonly buses = new Map<string, { arn: string; tags: Record<string, string> }>();
  readonly rules = new Map<string, FakeRule>();
  readonly events: PutEventsRequestEntry[] = [];
  /** Items per ListRules/ListTargetsByRule page, small to exercise NextToken handling. */
  pageSize = 2;
  /** Return a failure to refuse one PutTargets entry on this attempt. */
  putTargetFailure: (rule: string, target: Target) => FakeFailure | undefined = () => undefined;
  /** Return a failure to refuse one PutEvents entry on this attempt. */
  putEventFailure: (entry: PutEventsRequestEntry) => FakeFailure | undefined = () => undefined;
  readonly mock: AwsClientStub<EventBridgeClient>;
  readonly client: EventBridgeClient;

  constructor() {
    this.buses.set("default", { arn: busArn("default"), tags: {} });
    this.mock = mockClient(EventBridgeClient);
    this.client = new EventBridgeClient({ region: REGION });
    this.install();
  }

  /** Adds a rule directly (e.g. someone else's), bypassing the API. */
  seedRule(rule: {
    name: string;
    bus?: string;
    scheduleExpression?: string;
    eventPattern?: string;
    tags?: Record<string, string>;
    targets?: Target[];
  }): FakeRule {
    const bus = rule.bus ?? "default";
    const stored: FakeRule = {
      name: rule.name,
      bus,
      arn: ruleArn(bus, rule.name),
      scheduleExpression: rule.scheduleExpression,
      eventPattern: rule.eventPattern,
      state: "ENABLED",
      description: undefined,
      tags: { ...(rule.tags ?? {}) },
      targets: new Map((rule.targets ?? []).map((t) => [t.Id ?? "", t])),
    };
    this.rules.set(key(bus, rule.name), stored);
    return stored;
  }

  rule(bus: string, name: string): FakeRule | undefined {
    return this.rules.get(key(bus, name));
  }

  /** Names of the commands sent so far, in order. */
  commandNames(): string[] {
    return this.mock.calls().map((call) => (call.args[0] as object).constructor.name);
  }

  restore(): void {
    this.mock.restore();
  }

  private install(): void {
    const m = this.mock;
    m.on(CreateEventBusCommand).callsFake((input) => {
      if (this.buses.has(input.Name)) throw error(ResourceAlreadyExistsException, `bus ${input.Name} exists`);
      this.buses.set(input.Name, { arn: busArn(input.Name), tags: fromTags(input.Tags) });
      return { EventBusArn: busArn(input.Name) };
    });
    m.on(DescribeEventBusCommand).callsFake((input) => {
      const bus = this.buses.get(input.Name ?? "default");
      if (bus === undefined)
        throw error(ResourceNotFoundException, `Event bus ${input.Name} does not exist.`);
      return { Name: input.Name, Arn: bus.arn };
    });
    m.on(DeleteEventBusCommand).callsFake((input) => {
      if ([...this.rules.values()].some((r) => r.bus === input.Name)) throw validation("bus still has rules");
      this.buses.delete(input.Name);
      return {};
    });
    m.on(ListRulesCommand).callsFake((input) => {
      const bus = input.EventBusName ?? "default";
      if (!this.buses.has(bus)) throw error(ResourceNotFoundException, `Event bus ${bus} does not exist.`);
      const names = [...this.rules.values()]
        .filter((r) => r.bus === bus && r.name.startsWith(input.NamePrefix ?? ""))
        .sort((a, b) => a.name.localeCompare(b.name));
      const { page, next } = paginate(names, input.NextToken, this.pageSize);
      return { Rules: page.map((r) => ({ Name: r.name, Arn: r.arn, EventBusName: bus })), NextToken: next };
    });
    m.on(DescribeRuleCommand).callsFake((input) => {
      const rule = this.mustGetRule(input.EventBusName, input.Name);
      return {
        Name: rule.name,
        Arn: rule.arn,
        EventBusName: rule.bus,
        ScheduleExpression: rule.scheduleExpression,
        EventPattern: rule.eventPattern,
        State: rule.state,
        Description: rule.description,
      };
    });
    m.on(PutRuleCommand).callsFake((input) => {
      const bus = input.EventBusName ?? "default";
      if (!this.buses.has(bus)) throw error(ResourceNotFoundException, `Event bus ${bus} does not exist.`);
      if (input.ScheduleExpression !== undefined && bus !== "default") {
        throw validation("ScheduleExpression is supported only on the default event bus.");
      }
      const existing = this.rules.get(key(bus, input.Name));
      const rule: FakeRule = {
        name: input.Name,
        bus,
        arn: ruleArn(bus, input.Name),
        scheduleExpression: input.ScheduleExpression,
        eventPattern: input.EventPattern,
        state: input.State ?? "ENABLED",
        description: input.Description,
        // Tags in PutRule only apply on create.
        tags: existing?.tags ?? fromTags(input.Tags),
        targets: existing?.targets ?? new Map(),
      };
      this.rules.set(key(bus, input.Name), rule);
      return { RuleArn: rule.arn };
    });
    m.on(DeleteRuleCommand).callsFake((input) => {
      const rule = this.rules.get(key(input.EventBusName ?? "default", input.Name));
      if (rule === undefined) return {};
      if (rule.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
      this.rules.delete(key(rule.bus, rule.name));
      return {};
    });
    m.on(ListTargetsByRuleCommand).callsFake((input) => {
      const rule = this.mustGetRule(input.EventBusName, input.Rule);
      const targets = [...rule.targets.values()].sort((a, b) => (a.Id ?? "").localeCompare(b.Id ?? ""));
      const { page, next } = paginate(targets, input.NextToken, this.pageSize);
      return { Targets: page.map((t) => structuredClone(t)), NextToken: next };
    });
    m.on(PutTargetsCommand).callsFake((input) => {
      const rule = this.mustGetRule(input.EventBusName, input.Rule);
      const targets: Target[] = input.Targets ?? [];
      if (targets.length > 10) throw validation("at most 10 targets per request");
      const failed: { TargetId: string | undefined; ErrorCode: string; ErrorMessage: string }[] = [];
      for (const target of targets) {
        const failure = this.putTargetFailure(rule.name, target);
        if (failure !== undefined) {
          failed.push({ TargetId: target.Id, ErrorCode: failure.code, ErrorMessage: failure.message });
          continue;
        }
        rule.targets.set(target.Id ?? "", structuredClone(target));
      }
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    });
    m.on(RemoveTargetsCommand).callsFake((input) => {
      const rule = this.mustGetRule(input.EventBusName, input.Rule);
      for (const id of input.Ids ?? []) rule.targets.delete(id);
      return { FailedEntryCount: 0, FailedEntries: [] };
    });
    m.on(ListTagsForResourceCommand).callsFake((input) => {
      const resource = this.byArn(input.ResourceARN);
      return { Tags: toTags(resource.tags) };
    });
    m.on(TagResourceCommand).callsFake((input) => {
      const resource = this.byArn(input.ResourceARN);
      Object.assign(resource.tags, fromTags(input.Tags));
      return {};
    });
    m.on(PutEventsCommand).callsFake((input) => {
      const entries: PutEventsRequestEntry[] = input.Entries ?? [];
      if (entries.length > 10) throw validation("at most 10 entries per PutEvents");
      let failedCount = 0;
      const results = entries.map((entry, index) => {
        const failure = this.putEventFailure(entry);
        if (failure !== undefined) {
          failedCount++;
          return { ErrorCode: failure.code, ErrorMessage: failure.message };
        }
        this.events.push(entry);
        return { EventId: `event-${this.events.length}-${index}` };
      });
      return { FailedEntryCount: failedCount, Entries: results };
    });
  }

  private mustGetRule(bus: string | undefined, name: string): FakeRule {
    const rule = this.rules.get(key(bus ?? "default", name));
    if (rule === undefined) throw error(ResourceNotFoundException, `Rule ${name} does not exist.`);
    return rule;
  }

  private byArn(arn: string): { tags: Record<string, string> } {
    for (const bus of this.buses.values()) if (bus.arn === arn) return bus;
    for (const rule of this.rules.values()) if (rule.arn === arn) return rule;
    throw error(ResourceNotFoundException, `Resource ${arn} does not exist.`);
  }
}

function key(bus: string, name: string): string {
  return `${bus}/${name}`;
}

function busArn(name: string): string {
  return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
}

function ruleArn(bus: string, name: string): string {
  return bus === "default"
    ? `arn:aws:events:${REGION}:${ACCOUNT}:rule/${name}`
    : `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}/${name}`;
}

function paginate<T>(
  items: readonly T[],
  token: string | undefined,
  size: number,
): { page: T[]; next?: string } {
  const start = token === undefined ? 0 : Number(token);
  const page = items.slice(start, start + size);
  const end = start + size;
  return end < items.length ? { page, next: String(end) } : { page };
}

function fromTags(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

function toTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function error<E>(ctor: new (opts: { message: string; $metadata: object }) => E, message: string): E {
  return new ctor({ message, $metadata: {} });
}

function validation(message: string): EventBridgeServiceException {
  return new EventBridgeServiceException({
    name: "ValidationException",
    $fault: "client",
    message,
    $metadata: {},
  });
}
