/**
 * A small stateful Lambda resource-policy store behind aws-sdk-client-mock: GetPolicy answers
 * ResourceNotFoundException for a function without statements (as Lambda does), AddPermission refuses a duplicate
 * statement id with ResourceConflictException, RemovePermission an unknown one with ResourceNotFoundException.
 * Statements are stored the way Lambda renders them (`Condition.ArnLike["AWS:SourceArn"]`).
 */
import {
  AddPermissionCommand,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";

export interface FakeStatement {
  Sid: string;
  Effect: string;
  Principal: { Service: string } | string;
  Action: string;
  Resource: string;
  Condition?: { ArnLike: { "AWS:SourceArn": string } };
}

export class FakeLambda {
  /** Statements per function key (`<unqualified ARN>` or `<unqualified ARN>:<qualifier>`). */
  readonly policies = new Map<string, FakeStatement[]>();
  readonly mock: AwsClientStub<LambdaClient>;
  readonly client: LambdaClient;

  constructor() {
    this.mock = mockClient(LambdaClient);
    this.client = new LambdaClient({ region: "eu-west-1" });
    this.install();
  }

  /** Adds a statement directly (e.g. someone else's), bypassing the API. */
  seed(functionKey: string, statement: FakeStatement): void {
    this.statements(functionKey).push(statement);
  }

  statements(functionKey: string): FakeStatement[] {
    let list = this.policies.get(functionKey);
    if (list === undefined) {
      list = [];
      this.policies.set(functionKey, list);
    }
    return list;
  }

  /** Names of the commands sent so far, in order. */
  commandNames(): string[] {
    return this.mock.calls().map((call) => (call.args[0] as object).constructor.name);
  }

  restore(): void {
    this.mock.restore();
  }

  private install(): void {
    this.mock.on(GetPolicyCommand).callsFake((input) => {
      const key = keyOf(input.FunctionName, input.Qualifier);
      const list = this.policies.get(key) ?? [];
      if (list.length === 0) throw notFound(`The resource you requested does not exist. (${key})`);
      return {
        Policy: JSON.stringify({ Version: "2012-10-17", Id: "default", Statement: list }),
        RevisionId: "rev",
      };
    });
    this.mock.on(AddPermissionCommand).callsFake((input) => {
      const key = keyOf(input.FunctionName, input.Qualifier);
      const list = this.statements(key);
      if (list.some((s) => s.Sid === input.StatementId)) {
        throw new ResourceConflictException({
          message: "The statement id provided already exists. Please provide a new statement id.",
          $metadata: {},
        });
      }
      const statement: FakeStatement = {
        Sid: input.StatementId ?? "",
        Effect: "Allow",
        Principal: { Service: input.Principal ?? "" },
        Action: input.Action ?? "",
        Resource: key,
        ...(input.SourceArn === undefined
          ? {}
          : { Condition: { ArnLike: { "AWS:SourceArn": input.SourceArn } } }),
      };
      list.push(statement);
      return { Statement: JSON.stringify(statement) };
    });
    this.mock.on(RemovePermissionCommand).callsFake((input) => {
      const key = keyOf(input.FunctionName, input.Qualifier);
      const list = this.statements(key);
      const index = list.findIndex((s) => s.Sid === input.StatementId);
      if (index < 0)
        throw notFound(`No policy is associated with the given resource. (${input.StatementId})`);
      list.splice(index, 1);
      return {};
    });
  }
}

function keyOf(functionName: string | undefined, qualifier: string | undefined): string {
  if (functionName === undefined || !functionName.startsWith("arn:")) {
    throw new Error(`the fake expects an unqualified function ARN, got ${functionName}`);
  }
  if (functionName.split(":").length !== 7)
    throw new Error(`qualified ARN passed as FunctionName: ${functionName}`);
  return qualifier === undefined ? functionName : `${functionName}:${qualifier}`;
}

function notFound(message: string): ResourceNotFoundException {
  return new ResourceNotFoundException({ message, $metadata: {} });
}
