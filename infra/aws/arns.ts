/**
 * A Lambda function's ARN taken apart, with no AWS SDK import: the definitions derive the partition, region and
 * account of everything else they declare from the function ARNs in the config.
 */

/** A Lambda function ARN taken apart. */
export interface LambdaArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
  readonly qualifier?: string;
  /** The ARN without the qualifier: what `FunctionName` takes when `Qualifier` is passed separately. */
  readonly unqualified: string;
}

const LAMBDA_ARN =
  /^arn:(aws(?:-[a-z]+)*):lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)(?::([^:]+))?$/;

/** Parses a Lambda function ARN (optionally qualified by a version or alias); undefined for anything else. */
export function parseLambdaArn(arn: string): LambdaArn | undefined {
  const m = LAMBDA_ARN.exec(arn);
  if (!m) return undefined;
  const [, partition = "", region = "", account = "", name = "", qualifier] = m;
  return {
    partition,
    region,
    account,
    name,
    ...(qualifier === undefined ? {} : { qualifier }),
    unqualified: `arn:${partition}:lambda:${region}:${account}:function:${name}`,
  };
}
