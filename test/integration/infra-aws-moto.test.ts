/**
 * The AWS side against a real AWS API emulator: moto's server on 127.0.0.1 (test/support/moto.ts). The template that
 * `vmpool infra template` prints is deployed with CloudFormation and what it made is read back through each
 * service's API; `vmpool infra plan`, `apply` (twice), `plan --destroy` and `destroy` run as the CLI, over HTTP.
 * The failures moto cannot produce (throttling, partial PutTargets failures, denied calls) stay with the
 * aws-sdk-client-mock tests (test/unit/infra-aws-*.test.ts).
 *
 * What moto 5 does not do, and so what this suite cannot show: its CloudFormation skips resource types it does not
 * implement (`MOTO_UNIMPLEMENTED` below: function URLs, the queue policy, the Scheduler group) with a warning, and
 * answers 500 to a stack whose Outputs read an attribute of one of them, so the URL outputs are left out of the
 * stack created here; it answers a CloudFormation role's inline policy as Python's repr instead of JSON; it does not
 * evaluate IAM (the roles' policies are checked as documents) and does not run the functions (that needs Docker).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from "@aws-sdk/client-cloudformation";
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  type ListRulesCommandOutput,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
} from "@aws-sdk/client-eventbridge";
import {
  CreateRoleCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  GetPolicyCommand,
  LambdaClient,
} from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { templateConfigSchema } from "../../infra/aws/config";
import { DEFAULT_BUS, FUNCTION_NAMES, type FunctionName } from "../../infra/aws/definitions";
import { permissionDefinitions, STATEMENT_PREFIX } from "../../infra/aws/permissions";
import { FUNCTION_STACK } from "../../infra/aws/stack-functions";
import { type CfnTemplate, LOGICAL, templateDefinitions } from "../../infra/aws/template";
import { writeZip } from "../../infra/build/zip";
import { SECRET_ENV, SECRET_KEYS } from "../../shared/config";
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, type Moto, motoSkipReason, startMoto } from "../support/moto";

const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "infra/cli/main.ts");
const skip = motoSkipReason();
if (skip !== undefined) process.stderr.write(`infra-aws-moto: skipped: ${skip}\n`);

/** Resource types moto's CloudFormation does not implement (it skips them with a warning). */
const MOTO_UNIMPLEMENTED = new Set([
  "AWS::Lambda::Url",
  "AWS::SQS::QueuePolicy",
  "AWS::Scheduler::ScheduleGroup",
]);

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npx vmpool …` as a user runs it: a fresh process whose only AWS is moto. */
function vmpool(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: tmpdir(),
        LOG_LEVEL: "silent",
        // Set by vitest.config.ts: the SDK's Node 20 notice is for users, not test output.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:
          process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? "",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** A deployment package that loads (moto stores it; it never runs it). */
async function tinyZip(dir: string): Promise<Buffer> {
  const file = join(dir, "fn.zip");
  await writeZip(file, [
    { name: "index.mjs", data: Buffer.from("export const handler = async () => ({});\n") },
  ]);
  return readFileSync(file);
}

/**
 * A policy document as IAM answers it: JSON, URL-encoded JSON (AWS's GetRolePolicy), or — moto's own quirk for
 * inline policies a CloudFormation role was created with — Python's repr of it, which Python reads back.
 */
function policyDocument(text: string | undefined): { Statement: Record<string, unknown>[] } {
  const raw = text ?? "{}";
  const decoded = raw.trimStart().startsWith("{") ? raw : decodeURIComponent(raw);
  let doc: { Statement: Record<string, unknown>[] | Record<string, unknown> };
  try {
    doc = JSON.parse(decoded);
  } catch {
    const python = spawnSync(
      "python3",
      ["-c", "import ast, json, sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))"],
      { input: decoded, encoding: "utf8" },
    );
    if (python.status !== 0) throw new Error(`not a policy document: ${decoded}\n${python.stderr}`);
    doc = JSON.parse(python.stdout);
  }
  return { Statement: Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement] };
}

describe.skipIf(skip !== undefined)(`AWS against moto${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let moto: Moto;
  let dir: string;
  let zip: Buffer;
  const clientsFor = (region: string) => {
    const config = { region, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS };
    return {
      cfn: new CloudFormationClient(config),
      events: new EventBridgeClient(config),
      lambda: new LambdaClient(config),
      iam: new IAMClient(config),
      sqs: new SQSClient(config),
      s3: new S3Client({ ...config, forcePathStyle: true }),
    };
  };

  beforeAll(async () => {
    // Python importing moto takes seconds, more on a machine busy with other suites.
    moto = await startMoto(90_000);
    dir = mkdtempSync(join(tmpdir(), "vmpool-moto-"));
    zip = await tinyZip(dir);
  }, 120_000);

  afterAll(async () => {
    await moto?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("the CloudFormation template, deployed", () => {
    const region = "eu-west-1";
    let aws: ReturnType<typeof clientsFor>;
    let template: CfnTemplate;
    const parameters: Record<string, string> = {
      CodeBucket: "vmpool-code",
      KubeServer: "https://k8s.example.test:6443",
      KubeToken: "kube-token-for-the-test",
      // Turns on the one pull source that calls AWS, so its conditional policy is made too.
      AutoscalePullSources: "metrics-server,cloudwatch",
    };
    for (const key of SECRET_KEYS) parameters[LOGICAL.secret(key)] = `${key}-0123456789abcdef`;
    const defs = templateDefinitions(templateConfigSchema.parse({}));

    beforeAll(async () => {
      await moto.reset();
      aws = clientsFor(region);
      const printed = await vmpool(["infra", "template"], moto.env);
      expect(printed.stderr).toBe("");
      expect(printed.code).toBe(0);
      template = parse(printed.stdout) as CfnTemplate;
      await aws.s3.send(
        new CreateBucketCommand({
          Bucket: parameters.CodeBucket,
          CreateBucketConfiguration: { LocationConstraint: region },
        }),
      );
      for (const fn of FUNCTION_NAMES) {
        await aws.s3.send(
          new PutObjectCommand({ Bucket: parameters.CodeBucket, Key: `${fn}.zip`, Body: zip }),
        );
      }
      // moto answers 500 to a stack whose outputs read an attribute of a type it does not implement.
      const outputs = Object.fromEntries(
        Object.entries(template.Outputs).filter(([, output]) => {
          const getAtt = (output.Value as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
          const type = getAtt === undefined ? undefined : template.Resources[getAtt[0]]?.Type;
          return type === undefined || !MOTO_UNIMPLEMENTED.has(type);
        }),
      );
      await aws.cfn.send(
        new CreateStackCommand({
          StackName: "vmpool",
          TemplateBody: JSON.stringify({ ...template, Outputs: outputs }),
          Capabilities: ["CAPABILITY_IAM"],
          Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
            ParameterKey,
            ParameterValue,
          })),
        }),
      );
    }, 120_000);

    it("creates the stack with every resource moto implements, and only the unimplemented ones missing", async () => {
      const stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: "vmpool" }))).Stacks?.[0];
      expect(stack?.StackStatus).toBe("CREATE_COMPLETE");
      const made = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: "vmpool" })))
        .StackResources;
      const madeIds = new Set(
        (made ?? []).flatMap((r) => (r.LogicalResourceId ? [r.LogicalResourceId] : [])),
      );
      const expected = Object.entries(template.Resources).filter(([, r]) => !MOTO_UNIMPLEMENTED.has(r.Type));
      expect([...madeIds].sort()).toEqual(expected.map(([id]) => id).sort());
      // Should moto learn one of these types, the gap list (and the README) must shrink.
      const skipped = Object.entries(template.Resources).filter(([, r]) => MOTO_UNIMPLEMENTED.has(r.Type));
      expect(skipped.length).toBeGreaterThan(0);
      for (const [id] of skipped) expect(madeIds.has(id)).toBe(false);
      const outputs = new Map((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
      expect(outputs.get("EventBusArn")).toBe(
        `arn:aws:events:${region}:${MOTO_ACCOUNT}:event-bus/${defs.eventBus.name}`,
      );
    });

    it("makes each function from its zip with its role, its secrets and its settings", async () => {
      for (const fn of FUNCTION_NAMES) {
        const got = await aws.lambda.send(new GetFunctionCommand({ FunctionName: `vmpool-${fn}` }));
        const config = got.Configuration;
        expect(config?.Handler).toBe("index.handler");
        expect(config?.Runtime).toBe(template.Parameters.Runtime?.Default);
        expect(config?.Timeout).toBe(template.Parameters.Timeout?.Default);
        expect(config?.MemorySize).toBe(template.Parameters.MemorySize?.Default);
        expect(config?.Role).toMatch(
          new RegExp(`^arn:aws:iam::${MOTO_ACCOUNT}:role/vmpool-${LOGICAL.role(fn)}-`),
        );
        const env = config?.Environment?.Variables ?? {};
        for (const key of SECRET_KEYS) {
          expect(env[SECRET_ENV[key]]).toBe(
            FUNCTION_STACK[fn].secrets.includes(key) ? parameters[LOGICAL.secret(key)] : undefined,
          );
        }
        expect(env.VMPOOL_KUBE_SERVER).toBe(parameters.KubeServer);
        expect(env.VMPOOL_KUBE_TOKEN).toBe(parameters.KubeToken);
        // Parameters left empty leave their variable unset (the functions' schemas refuse empty values).
        expect(Object.keys(env)).not.toContain("VMPOOL_KUBECONFIG_YAML");
        expect(Object.keys(env)).not.toContain("VMPOOL_EKS_CLUSTER");
        expect(env.VMPOOL_MANAGE).toBe(template.Parameters.Manage?.Default);
        for (const publication of FUNCTION_STACK[fn].publishes) {
          expect(env[publication.busVariable]).toBe(defs.eventBus.name);
        }
      }
    });

    it("makes the bus, and every rule of the definitions with its schedule or pattern and its target", async () => {
      const bus = await aws.events.send(new DescribeEventBusCommand({ Name: defs.eventBus.name }));
      expect(bus.Arn).toBe(`arn:aws:events:${region}:${MOTO_ACCOUNT}:event-bus/${defs.eventBus.name}`);
      const queue = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: "vmpool-dlq" }));
      const attributes = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["All"] }),
      );
      const queueArn = attributes.Attributes?.QueueArn;
      expect(queueArn).toBe(`arn:aws:sqs:${region}:${MOTO_ACCOUNT}:vmpool-dlq`);
      expect(attributes.Attributes?.MessageRetentionPeriod).toBe("1209600");
      expect(defs.rules.length).toBeGreaterThan(0);
      for (const rule of defs.rules) {
        const got = await aws.events.send(
          new DescribeRuleCommand({ Name: rule.name, EventBusName: rule.eventBusName }),
        );
        expect(got.State).toBe(rule.state);
        expect(got.ScheduleExpression).toBe(rule.scheduleExpression);
        expect(got.EventPattern === undefined ? undefined : JSON.parse(got.EventPattern)).toEqual(
          rule.eventPattern,
        );
        const targets = await aws.events.send(
          new ListTargetsByRuleCommand({ Rule: rule.name, EventBusName: rule.eventBusName }),
        );
        expect(
          (targets.Targets ?? []).map((t) => ({
            id: t.Id,
            arn: t.Arn,
            retry: t.RetryPolicy,
            deadLetter: t.DeadLetterConfig?.Arn,
          })),
        ).toEqual(
          rule.targets.map((t) => ({
            id: t.id,
            arn: `arn:aws:lambda:${region}:${MOTO_ACCOUNT}:function:vmpool-${t.function}`,
            retry: {
              MaximumRetryAttempts: t.retryPolicy.maximumRetryAttempts,
              MaximumEventAgeInSeconds: t.retryPolicy.maximumEventAgeInSeconds,
            },
            deadLetter: queueArn,
          })),
        );
      }
    });

    it("lets each rule invoke its target, and anyone call the functions' URLs", async () => {
      const policies = new Map<FunctionName, Record<string, unknown>[]>();
      for (const fn of FUNCTION_NAMES) {
        const policy = await aws.lambda.send(new GetPolicyCommand({ FunctionName: `vmpool-${fn}` }));
        policies.set(fn, policyDocument(policy.Policy).Statement);
      }
      for (const rule of defs.rules) {
        const ruleArn = (
          await aws.events.send(new DescribeRuleCommand({ Name: rule.name, EventBusName: rule.eventBusName }))
        ).Arn;
        for (const target of rule.targets) {
          const statements = policies.get(target.function) ?? [];
          const fromRule = statements.filter((s) =>
            JSON.stringify(s.Condition ?? {}).includes(`"${ruleArn}"`),
          );
          expect(fromRule, `${rule.name} → ${target.function}`).toHaveLength(1);
          expect(fromRule[0]?.Action).toBe("lambda:InvokeFunction");
          expect(JSON.stringify(fromRule[0]?.Principal)).toContain("events.amazonaws.com");
        }
      }
      for (const fn of FUNCTION_NAMES) {
        const actions = (policies.get(fn) ?? [])
          .filter((s) => JSON.stringify(s.Principal) === '"*"' || JSON.stringify(s.Principal).includes('"*"'))
          .map((s) => s.Action);
        expect(actions.sort()).toEqual(
          FUNCTION_STACK[fn].routes.length > 0 ? ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"] : [],
        );
      }
    });

    it("gives each role its logs and exactly the events it publishes, no wildcard action", async () => {
      const stackResources = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: "vmpool" })))
        .StackResources;
      const physical = new Map(
        (stackResources ?? []).map((r) => [r.LogicalResourceId, r.PhysicalResourceId]),
      );
      for (const fn of FUNCTION_NAMES) {
        const roleName = physical.get(LOGICAL.role(fn));
        expect(roleName).toBeDefined();
        const names =
          (await aws.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
        const statements: Record<string, unknown>[] = [];
        for (const name of names) {
          const policy = await aws.iam.send(
            new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }),
          );
          statements.push(...policyDocument(policy.PolicyDocument).Statement);
        }
        const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
        expect(actions.filter((a) => typeof a !== "string" || a.includes("*"))).toEqual([]);
        expect(actions).toContain("logs:PutLogEvents");
        const logs = statements.find((s) => JSON.stringify(s.Action).includes("logs:PutLogEvents"));
        expect(logs?.Resource).toBe(
          `arn:aws:logs:${region}:${MOTO_ACCOUNT}:log-group:/aws/lambda/vmpool-${fn}:*`,
        );
        const publishes = statements.filter((s) => s.Action === "events:PutEvents");
        expect(
          publishes.map((s) => (s.Condition as Record<string, Record<string, string>>).StringEquals),
        ).toEqual(
          FUNCTION_STACK[fn].publishes.map((p) => ({
            "events:source": "vmpool-functions",
            "events:detail-type": p.detailType,
          })),
        );
        const pulls = Object.values(FUNCTION_STACK[fn].pullSources?.actions ?? {}).flat();
        expect(statements.filter((s) => s.Resource === "*").flatMap((s) => s.Action)).toEqual(pulls);
        for (const statement of publishes) {
          expect(statement.Resource).toBe(
            `arn:aws:events:${region}:${MOTO_ACCOUNT}:event-bus/${defs.eventBus.name}`,
          );
        }
      }
    });

    it("makes the role EventBridge Scheduler assumes for follow-ups, publishing only onto the bus", async () => {
      const followUps = defs.followUps;
      if (followUps === undefined)
        return expect(template.Resources).not.toHaveProperty("FollowUpSchedulerRole");
      const resources = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: "vmpool" })))
        .StackResources;
      const roleName = resources?.find(
        (r) => r.LogicalResourceId === "FollowUpSchedulerRole",
      )?.PhysicalResourceId;
      const role = await aws.iam.send(new GetRoleCommand({ RoleName: roleName }));
      expect(policyDocument(role.Role?.AssumeRolePolicyDocument).Statement).toEqual([
        {
          Effect: "Allow",
          Principal: { Service: followUps.executionRole.trustedService },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": MOTO_ACCOUNT } },
        },
      ]);
      const reconcile = await aws.lambda.send(
        new GetFunctionCommand({ FunctionName: `vmpool-${followUps.function}` }),
      );
      expect(reconcile.Configuration?.Environment?.Variables?.VMPOOL_FOLLOW_UP_ROLE_ARN).toBe(role.Role?.Arn);
      expect(reconcile.Configuration?.Environment?.Variables?.VMPOOL_FOLLOW_UP_BUS_ARN).toBe(
        `arn:aws:events:${region}:${MOTO_ACCOUNT}:event-bus/${defs.eventBus.name}`,
      );
    });
  });

  describe("vmpool infra plan, apply, plan --destroy and destroy", () => {
    const region = "us-east-1";
    let aws: ReturnType<typeof clientsFor>;
    let configFile: string;
    const run = (...args: string[]) => vmpool(["infra", ...args, "--config", configFile], moto.env);

    /** Everything `vmpool infra` may touch, as moto holds it. */
    async function snapshot() {
      const rules = [];
      for (const bus of [DEFAULT_BUS, "vmpool-functions"]) {
        let listed: ListRulesCommandOutput;
        try {
          listed = await aws.events.send(new ListRulesCommand({ EventBusName: bus, NamePrefix: "vmpool-" }));
        } catch (err) {
          if ((err as Error).name === "ResourceNotFoundException") continue;
          throw err;
        }
        for (const rule of listed.Rules ?? []) {
          const targets = await aws.events.send(
            new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: bus }),
          );
          const tags = await aws.events.send(new ListTagsForResourceCommand({ ResourceARN: rule.Arn }));
          rules.push({ bus, rule, targets: targets.Targets, tags: tags.Tags });
        }
      }
      const policies: Record<string, unknown> = {};
      for (const fn of FUNCTION_NAMES) {
        try {
          const policy = await aws.lambda.send(new GetPolicyCommand({ FunctionName: `vmpool-${fn}` }));
          policies[fn] = policyDocument(policy.Policy).Statement;
        } catch (err) {
          if ((err as Error).name !== "ResourceNotFoundException") throw err;
          policies[fn] = [];
        }
      }
      let bus: unknown;
      try {
        bus = await aws.events.send(new DescribeEventBusCommand({ Name: "vmpool-functions" }));
        delete (bus as { $metadata?: unknown }).$metadata;
      } catch (err) {
        if ((err as Error).name !== "ResourceNotFoundException") throw err;
      }
      return { rules, policies, bus };
    }

    const sids = (statements: unknown) =>
      (statements as { Sid?: string }[])
        .map((s) => s.Sid ?? "")
        .filter((sid) => sid.startsWith(STATEMENT_PREFIX));

    beforeAll(async () => {
      await moto.reset();
      aws = clientsFor(region);
      const role = await aws.iam.send(
        new CreateRoleCommand({
          RoleName: "vmpool-functions",
          AssumeRolePolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
            ],
          }),
        }),
      );
      const functions: Record<string, string> = {};
      for (const fn of FUNCTION_NAMES) {
        const made = await aws.lambda.send(
          new CreateFunctionCommand({
            FunctionName: `vmpool-${fn}`,
            Runtime: "nodejs20.x",
            Handler: "index.handler",
            Role: role.Role?.Arn,
            Code: { ZipFile: zip },
          }),
        );
        functions[fn] = made.FunctionArn ?? "";
      }
      const queue = await aws.sqs.send(new CreateQueueCommand({ QueueName: "vmpool-dlq" }));
      const queueArn = (
        await aws.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }),
        )
      ).Attributes?.QueueArn;
      // Someone else's: a statement on our function and a rule under our prefix without our tag.
      await aws.lambda.send(
        new AddPermissionCommand({
          FunctionName: "vmpool-reconcile",
          StatementId: "someone-elses",
          Action: "lambda:InvokeFunction",
          Principal: "s3.amazonaws.com",
        }),
      );
      await aws.events.send(
        new PutRuleCommand({ Name: "vmpool-hand-made", ScheduleExpression: "rate(1 hour)" }),
      );
      configFile = join(dir, "infra.json");
      writeFileSync(
        configFile,
        JSON.stringify({ region, functions, deadLetterQueueArn: queueArn, tags: { team: "platform" } }),
      );
    }, 120_000);

    it("plan shows what apply would create and changes nothing", async () => {
      const before = await snapshot();
      const plan = await run("plan");
      expect(plan.stderr).toBe("");
      expect(plan.code).toBe(0);
      const defs = templateDefinitions(templateConfigSchema.parse({}));
      for (const rule of defs.rules) expect(plan.stdout).toContain(rule.name);
      expect(plan.stdout).toMatch(/Plan: [1-9]\d* to create/);
      expect(plan.stdout).toMatch(/Permissions: [1-9]\d* to add/);
      expect(await snapshot()).toEqual(before);
    }, 90_000);

    it("apply converges; a second apply changes nothing", async () => {
      const first = await run("apply");
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const after = await snapshot();
      const config = JSON.parse(readFileSync(configFile, "utf8"));
      const defs = templateDefinitions(templateConfigSchema.parse({}));
      const ours = after.rules.filter((r) => r.tags?.some((t) => t.Key === "managed-by"));
      expect(ours.map((r) => `${r.bus}/${r.rule.Name}`).sort()).toEqual(
        defs.rules.map((r) => `${r.eventBusName}/${r.name}`).sort(),
      );
      for (const { targets } of ours) {
        expect(targets?.map((t) => t.DeadLetterConfig?.Arn)).toEqual([config.deadLetterQueueArn]);
      }
      const wanted = permissionDefinitions(templateDefinitions(templateConfigSchema.parse({}))).length;
      const added = FUNCTION_NAMES.flatMap((fn) => sids(after.policies[fn]));
      expect(added).toHaveLength(wanted);
      expect(JSON.stringify(after.policies.reconcile)).toContain("someone-elses");
      expect(after.bus).toBeDefined();

      const second = await run("apply");
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("No permission changes applied.");
      expect(second.stdout).toContain("No changes applied.");
      expect(await snapshot()).toEqual(after);
      const plan = await run("plan");
      expect(plan.stdout).toContain("No changes. EventBridge matches the definitions.");
      expect(plan.stdout).toContain("No changes. The function policies match the definitions.");
    }, 120_000);

    it("plan --destroy lists what destroy removes; destroy removes only ours", async () => {
      const before = await snapshot();
      const plan = await run("plan", "--destroy");
      expect(plan.code).toBe(0);
      expect(plan.stdout).toMatch(/[1-9]\d* to delete/);
      expect(plan.stdout).toMatch(/[1-9]\d* to remove/);
      expect(await snapshot()).toEqual(before);

      const destroyed = await run("destroy");
      expect(destroyed.stderr).toBe("");
      expect(destroyed.code).toBe(0);
      const after = await snapshot();
      expect(after.rules.map((r) => r.rule.Name)).toEqual(["vmpool-hand-made"]);
      expect(FUNCTION_NAMES.flatMap((fn) => sids(after.policies[fn]))).toEqual([]);
      expect(JSON.stringify(after.policies.reconcile)).toContain("someone-elses");
      expect(after.bus).toBeUndefined();
    }, 120_000);
  });
});
