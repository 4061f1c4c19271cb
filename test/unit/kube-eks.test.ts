import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSourceFromEnv } from "../../functions/bootstrap";
import {
  type AwsCredentials,
  createKube,
  EKS_TOKEN_PREFIX,
  eksTokenSource,
  isKubeError,
  mintEksToken,
} from "../../shared/kube";

const SIGNED_AT = new Date("2025-06-01T12:00:00Z");
const CREDS: AwsCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SESSION_CREDS: AwsCredentials = { ...CREDS, sessionToken: "FwoGZXIvYXdzE+session/token=" };
const MINUTE = 60_000;

/** aws-iam-authenticator's Verify accepts only these query parameters (pkg/token/token.go parameterWhitelist). */
const WHITELIST = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

function decode(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const body = token.slice(EKS_TOKEN_PREFIX.length);
  // base64url without padding, as Go's base64.RawURLEncoding.
  expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(body, "base64url").toString("utf8"));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const hmac = (key: Buffer | string, text: string) => createHmac("sha256", key).update(text).digest();
const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * An independent SigV4 check of a presigned GET (AWS "Create a signed AWS API request"): the signature STS would
 * compute for this URL when the request carries `x-k8s-aws-id: <clusterId>`.
 */
function expectedSignature(url: URL, clusterId: string, secret: string): string {
  const params = [...url.searchParams.entries()].filter(([key]) => key !== "X-Amz-Signature");
  const canonicalQuery = params
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const canonicalRequest = [
    "GET",
    url.pathname,
    canonicalQuery,
    `host:${url.host}\nx-k8s-aws-id:${clusterId}\n`,
    "host;x-k8s-aws-id",
    sha256(""),
  ].join("\n");
  const date = url.searchParams.get("X-Amz-Date") ?? "";
  const [, day, region, service] = (url.searchParams.get("X-Amz-Credential") ?? "").split("/");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day ?? ""), region ?? ""), service ?? ""), "aws4_request");
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

describe("mintEksToken", () => {
  it("is k8s-aws-v1. + the base64url (unpadded) presigned STS GetCallerIdentity URL of the regional endpoint", async () => {
    const { token } = await mintEksToken("prod-cluster", "eu-central-1", CREDS, SIGNED_AT);
    const url = decode(token);
    expect(url.protocol).toBe("https:");
    expect(url.host).toBe("sts.eu-central-1.amazonaws.com");
    expect(url.pathname).toBe("/");
    expect(token).not.toContain("=");
  });

  it("carries exactly the presigned query parameters aws-iam-authenticator verifies", async () => {
    const url = decode((await mintEksToken("prod-cluster", "us-east-1", SESSION_CREDS, SIGNED_AT)).token);
    const params = Object.fromEntries(url.searchParams.entries());
    expect(params).toMatchObject({
      Action: "GetCallerIdentity",
      Version: "2011-06-15",
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "AKIDEXAMPLE/20250601/us-east-1/sts/aws4_request",
      "X-Amz-Date": "20250601T120000Z",
      "X-Amz-Expires": "60",
      "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
      "X-Amz-Security-Token": SESSION_CREDS.sessionToken,
    });
    expect(params["X-Amz-Signature"]).toMatch(/^[0-9a-f]{64}$/);
    for (const key of url.searchParams.keys()) expect(WHITELIST.has(key.toLowerCase())).toBe(true);
    expect(url.searchParams.getAll("Action")).toHaveLength(1);
  });

  it("omits the security token for long-term credentials", async () => {
    const url = decode((await mintEksToken("c", "us-east-1", CREDS, SIGNED_AT)).token);
    expect(url.searchParams.has("X-Amz-Security-Token")).toBe(false);
  });

  it("signs the x-k8s-aws-id header with the cluster name (and only that cluster's name verifies)", async () => {
    const url = decode((await mintEksToken("prod-cluster", "us-west-2", SESSION_CREDS, SIGNED_AT)).token);
    const signature = url.searchParams.get("X-Amz-Signature");
    expect(expectedSignature(url, "prod-cluster", SESSION_CREDS.secretAccessKey)).toBe(signature);
    expect(expectedSignature(url, "other-cluster", SESSION_CREDS.secretAccessKey)).not.toBe(signature);
    expect(expectedSignature(url, "prod-cluster", "another-secret")).not.toBe(signature);
  });

  it("is reproducible for the same credentials and clock, and differs when the clock moves", async () => {
    const a = await mintEksToken("c", "us-east-1", CREDS, SIGNED_AT);
    const b = await mintEksToken("c", "us-east-1", CREDS, SIGNED_AT);
    const c = await mintEksToken("c", "us-east-1", CREDS, new Date(SIGNED_AT.getTime() + 1000));
    expect(a.token).toBe(b.token);
    expect(c.token).not.toBe(a.token);
  });

  it.each([
    // the commercial partition
    ["us-east-1", "sts.us-east-1.amazonaws.com"],
    // GovCloud keeps amazonaws.com
    ["us-gov-west-1", "sts.us-gov-west-1.amazonaws.com"],
    // China uses amazonaws.com.cn
    ["cn-north-1", "sts.cn-north-1.amazonaws.com.cn"],
  ])("signs for %s at %s", async (region, host) => {
    const url = decode((await mintEksToken("c", region, CREDS, SIGNED_AT)).token);
    expect(url.host).toBe(host);
    expect(url.searchParams.get("X-Amz-Credential")).toBe(`AKIDEXAMPLE/20250601/${region}/sts/aws4_request`);
  });

  it("expires 15 minutes after signing, or when temporary credentials do if sooner", async () => {
    const plain = await mintEksToken("c", "us-east-1", CREDS, SIGNED_AT);
    expect(plain.expiresAt.toISOString()).toBe("2025-06-01T12:15:00.000Z");
    const expiring = { ...SESSION_CREDS, expiration: new Date("2025-06-01T12:05:00Z") };
    const short = await mintEksToken("c", "us-east-1", expiring, SIGNED_AT);
    expect(short.expiresAt.toISOString()).toBe("2025-06-01T12:05:00.000Z");
  });
});

/** A clock tests move by hand, and a credentials provider counting its calls. */
function fixture(credentials: AwsCredentials = CREDS) {
  let at = SIGNED_AT.getTime();
  const calls = { count: 0 };
  const source = eksTokenSource({
    clusterName: "prod-cluster",
    region: "us-east-1",
    now: () => new Date(at),
    credentials: async () => {
      calls.count++;
      return credentials;
    },
  });
  return { source, calls, advance: (ms: number) => (at += ms) };
}

const signedAt = (token: string) => decode(token).searchParams.get("X-Amz-Date");

describe("eksTokenSource", () => {
  it("reuses the token while it has more than a minute left, then signs a new one", async () => {
    const { source, calls, advance } = fixture();
    const first = await source.token();
    advance(13 * MINUTE);
    expect(await source.token()).toBe(first);
    expect(calls.count).toBe(1);
    advance(MINUTE);
    const second = await source.token();
    expect(second).not.toBe(first);
    expect(signedAt(second)).toBe("20250601T121400Z");
    expect(calls.count).toBe(2);
  });

  it("refreshes early when the credentials behind the token expire first", async () => {
    const { source, calls, advance } = fixture({
      ...SESSION_CREDS,
      expiration: new Date("2025-06-01T12:05:00Z"),
    });
    await source.token();
    advance(3 * MINUTE);
    await source.token();
    expect(calls.count).toBe(1);
    advance(MINUTE);
    await source.token();
    expect(calls.count).toBe(2);
  });

  it("shares one signing among concurrent callers", async () => {
    const { source, calls } = fixture();
    const tokens = await Promise.all([source.token(), source.token(), source.token()]);
    expect(new Set(tokens).size).toBe(1);
    expect(calls.count).toBe(1);
  });

  it("signs again after invalidate() (the API server answered 401)", async () => {
    const { source, calls } = fixture();
    await source.token();
    source.invalidate();
    await source.token();
    expect(calls.count).toBe(2);
  });

  it("fails as Unauthorized when credentials cannot be resolved, and does not remember the failure", async () => {
    let fail = true;
    const source = eksTokenSource({
      clusterName: "prod-cluster",
      region: "us-east-1",
      now: () => SIGNED_AT,
      credentials: async () => {
        if (fail) throw new Error("Could not load credentials from any providers");
        return CREDS;
      },
    });
    const err = await source.token().catch((e: unknown) => e);
    expect(isKubeError(err, "Unauthorized")).toBe(true);
    expect((err as Error).message).toContain("prod-cluster");
    expect((err as Error).message).toContain("Could not load credentials");
    fail = false;
    expect((await source.token()).startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  });
});

describe("an eks cluster source", () => {
  let server: Server;
  let url = "";
  const seen: { authorization: string | undefined }[] = [];
  let answer401 = false;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ authorization: req.headers.authorization });
      res.setHeader("Content-Type", "application/json");
      if (answer401) {
        answer401 = false;
        res.statusCode = 401;
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "Unauthorized",
            code: 401,
          }),
        );
        return;
      }
      res.end(
        JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" } }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends the minted token as a bearer token and mints a new one after a 401", async () => {
    let credentialCalls = 0;
    const kube = createKube(
      { kind: "eks", server: url, clusterName: "prod-cluster", region: "us-east-1" },
      {
        now: () => SIGNED_AT,
        awsCredentials: async () => {
          credentialCalls++;
          return CREDS;
        },
        retry: { maxAttempts: 1 },
      },
    );
    expect(await kube.get("Pod", "default", "p")).toMatchObject({ metadata: { name: "p" } });
    const bearer = seen.at(-1)?.authorization ?? "";
    expect(bearer.startsWith(`Bearer ${EKS_TOKEN_PREFIX}`)).toBe(true);
    expect(decode(bearer.slice("Bearer ".length)).searchParams.get("X-Amz-Date")).toBe("20250601T120000Z");
    await kube.get("Pod", "default", "p");
    expect(credentialCalls).toBe(1);

    answer401 = true;
    const err = await kube.get("Pod", "default", "p").catch((e: unknown) => e);
    expect(isKubeError(err, "Unauthorized")).toBe(true);
    await kube.get("Pod", "default", "p");
    expect(credentialCalls).toBe(2);
  });
});

describe("clusterSourceFromEnv", () => {
  const EKS = {
    VMPOOL_EKS_CLUSTER: "prod-cluster",
    VMPOOL_KUBE_SERVER: "https://ABC.gr7.us-east-1.eks.amazonaws.com",
  };

  it.each([
    // an EKS cluster: name, endpoint and the Lambda runtime's AWS_REGION
    [
      { ...EKS, AWS_REGION: "us-east-1" },
      { kind: "eks", clusterName: "prod-cluster", region: "us-east-1", server: EKS.VMPOOL_KUBE_SERVER },
    ],
    // the cluster CA rides along
    [
      { ...EKS, AWS_REGION: "us-east-1", VMPOOL_KUBE_CA_DATA: "LS0tLS1CRUdJTg==" },
      { kind: "eks", caData: "LS0tLS1CRUdJTg==" },
    ],
    // a kubeconfig from a secret wins over everything else
    [
      { ...EKS, AWS_REGION: "us-east-1", VMPOOL_KUBECONFIG_YAML: "apiVersion: v1" },
      { kind: "kubeconfigText" },
    ],
    // a static token without an EKS cluster name stays a token source
    [
      { VMPOOL_KUBE_SERVER: EKS.VMPOOL_KUBE_SERVER, VMPOOL_KUBE_TOKEN: "t0ken" },
      { kind: "token", token: "t0ken" },
    ],
  ])("%j → %j", (env, expected) => {
    expect(clusterSourceFromEnv(env)).toMatchObject(expected);
  });

  it.each([
    // no region
    [EKS, /AWS_REGION must be set/],
    // no endpoint
    [{ VMPOOL_EKS_CLUSTER: "prod-cluster", AWS_REGION: "us-east-1" }, /VMPOOL_KUBE_SERVER must be set/],
    // a region that is not one
    [{ ...EKS, AWS_REGION: "moon-1" }, /AWS_REGION: must be an AWS region/],
    // EKS cluster names are letters, digits, - and _
    [
      { ...EKS, VMPOOL_EKS_CLUSTER: "bad name", AWS_REGION: "us-east-1" },
      /VMPOOL_EKS_CLUSTER: must be an EKS/,
    ],
    // nothing configured at all
    [{}, /no cluster configured/],
  ])("%j fails: %s", (env, message) => {
    expect(() => clusterSourceFromEnv(env)).toThrow(message);
  });
});
