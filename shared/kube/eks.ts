/**
 * EKS bearer tokens minted in-process, because Lambda has neither the `aws` CLI nor aws-iam-authenticator for a
 * kubeconfig exec plugin. A token is a presigned STS `GetCallerIdentity` URL whose signature covers the
 * `x-k8s-aws-id: <cluster>` header, base64url-encoded without padding behind `k8s-aws-v1.` — what
 * aws-iam-authenticator's `GetWithSTS` produces and its `Verify` accepts (kubernetes-sigs/aws-iam-authenticator
 * `pkg/token/token.go`). STS honours such a URL for 15 minutes after its `X-Amz-Date` whatever `X-Amz-Expires`
 * says; the token is cached across warm invocations and minted again a minute before it lapses.
 */
import { KubeError } from "./errors";

export const EKS_TOKEN_PREFIX = "k8s-aws-v1.";
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/**
 * Ignored by STS; aws-iam-authenticator signs with 60 for compatibility (servers up to 0.3.0 require 0–60, later
 * ones 0–900), so we do the same.
 */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** A presigned GetCallerIdentity URL is accepted for 15 minutes after its X-Amz-Date. */
export const EKS_TOKEN_LIFETIME_MS = 15 * 60_000;
/** Mint again this long before expiry (aws-iam-authenticator's one-minute cushion). */
export const EKS_TOKEN_REFRESH_MARGIN_MS = 60_000;

/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, … */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** Static AWS credentials, as the SDK's credential providers resolve them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** When temporary credentials stop working; a presigned URL dies with them. */
  readonly expiration?: Date | undefined;
}

/** Resolves credentials; the SDK's `defaultProvider()` memoizes and refreshes them itself. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface EksToken {
  readonly token: string;
  /** When the API server stops accepting it. */
  readonly expiresAt: Date;
}

/** The regional STS endpoint host (aws-iam-authenticator uses the regional endpoint when a region is given). */
export function stsHost(region: string): string {
  return region.startsWith("cn-") ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** RFC 3986 percent-encoding, as SigV4 canonicalises query values. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function base64UrlNoPadding(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/**
 * Mints one token for `clusterName` from `credentials`, signed at `signingDate`. Deterministic: the same inputs
 * give the same token.
 */
export async function mintEksToken(
  clusterName: string,
  region: string,
  credentials: AwsCredentials,
  signingDate: Date,
): Promise<EksToken> {
  const hostname = stsHost(region);
  // Loaded on first use, like the credential chain: only EKS deployments pay for the signer at all.
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import("@smithy/signature-v4"),
    import("@aws-crypto/sha256-js"),
  ]);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    region,
    service: "sts",
    sha256: Sha256,
  });
  const presigned = await signer.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname,
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
    },
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .map(([key, value]) => `${encodeRfc3986(key)}=${encodeRfc3986(String(value))}`)
    .join("&");
  const url = `https://${hostname}/?${query}`;
  const lapses = signingDate.getTime() + EKS_TOKEN_LIFETIME_MS;
  const credentialsLapse = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
  return {
    token: `${EKS_TOKEN_PREFIX}${base64UrlNoPadding(url)}`,
    expiresAt: new Date(Math.min(lapses, credentialsLapse)),
  };
}

export interface EksTokenSourceOptions {
  readonly clusterName: string;
  readonly region: string;
  /** Default: the AWS SDK's default provider chain (environment variables on Lambda, IRSA, IMDS, …). */
  readonly credentials?: AwsCredentialsProvider;
  readonly now?: () => Date;
}

/** A bearer token that stays valid: the cached one, or a fresh one when it is about to lapse. */
export interface BearerSource {
  token(): Promise<string>;
  /** Forget the cached token (the API server answered 401). */
  invalidate(): void;
}

async function sdkDefaultCredentials(): Promise<AwsCredentialsProvider> {
  // Loaded on first use: functions that never talk to EKS do not pay for the provider chain at cold start.
  const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
  return defaultProvider();
}

/**
 * A cached EKS token source: one token per ~14 minutes, concurrent callers share one signing, and a failed
 * signing is not remembered. Failures are KubeError `Unauthorized` (no credentials, or they cannot sign).
 */
export function eksTokenSource(options: EksTokenSourceOptions): BearerSource {
  const now = options.now ?? (() => new Date());
  let provider = options.credentials;
  let current: EksToken | undefined;
  let pending: Promise<EksToken> | undefined;

  const mint = async (): Promise<EksToken> => {
    try {
      provider ??= await sdkDefaultCredentials();
      return await mintEksToken(options.clusterName, options.region, await provider(), now());
    } catch (err) {
      throw new KubeError(
        "Unauthorized",
        `cannot mint an EKS token for cluster ${options.clusterName}: ${err instanceof Error ? err.message : String(err)}`,
        { retryable: false, status: 401, cause: err },
      );
    }
  };

  return {
    async token() {
      if (current && now().getTime() < current.expiresAt.getTime() - EKS_TOKEN_REFRESH_MARGIN_MS) {
        return current.token;
      }
      pending ??= mint().finally(() => {
        pending = undefined;
      });
      current = await pending;
      return current.token;
    },
    invalidate() {
      current = undefined;
    },
  };
}
