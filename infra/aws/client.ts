/**
 * The one place an EventBridge client is constructed. Credentials and region come from the SDK's default chain
 * unless a region is given (e.g. from the infra config); an endpoint (an AWS API emulator such as moto) replaces
 * the service's own, as `AWS_ENDPOINT_URL` does for the SDK.
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";

export type { EventBridgeClient } from "@aws-sdk/client-eventbridge";

export interface EventBridgeClientOptions {
  readonly region?: string;
  /** SDK-level attempts for throttling and transient errors (the SDK default is 3). */
  readonly maxAttempts?: number;
  /** Another endpoint than the service's (`http://127.0.0.1:5000` for moto). */
  readonly endpoint?: string;
}

/** Creates the EventBridge client used by `infra plan|apply|destroy` and the reconcile fan-out. */
export function createEventBridgeClient(options: EventBridgeClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    maxAttempts: options.maxAttempts ?? 3,
  });
}
