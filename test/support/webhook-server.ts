/**
 * A validating admission webhook for tests, on https://127.0.0.1:<free port> with a certificate of its own CA
 * (made in a temp directory with the project's PKI helpers): it records every AdmissionReview it is sent and
 * answers as the test says (allow, deny, an HTTP error, a malformed answer, or never).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ensureCa, ensureServingCert } from "../../infra/real/pki";

export const reviewSchema = z.looseObject({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: z.looseObject({ uid: z.string(), operation: z.string() }),
});
export type Review = z.infer<typeof reviewSchema> & { request: Record<string, unknown> };

export type Answer =
  | { readonly kind: "allow"; readonly warnings?: readonly string[] }
  | { readonly kind: "deny"; readonly status: Record<string, unknown> }
  | { readonly kind: "http"; readonly code: number; readonly body: string }
  /** A 200 whose body is used as is (wrong uid, wrong kind, a patch). */
  | { readonly kind: "raw"; readonly body: (uid: string) => unknown }
  | { readonly kind: "hang" };

export interface TestWebhook {
  readonly url: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  /** base64 of caPem, for `clientConfig.caBundle`. */
  readonly caBundle: string;
  /** Every review received, with the query string it came with. */
  readonly received: { review: Review; query: string; at: number }[];
  answer: (review: Review) => Answer;
  close(): Promise<void>;
}

/**
 * Starts the webhook; with `tls` it serves that certificate (one the API server already trusts, e.g. a cluster's
 * `admission.webhookTls`) instead of one of its own CA, and `caPem`/`caBundle` are empty.
 */
export async function startTestWebhook(
  answer: (review: Review) => Answer = () => ({ kind: "allow" }),
  tls?: { readonly cert: string; readonly key: string },
): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), "vmpool-webhook-"));
  const caPem = tls ? "" : ensureCa(dir, "test-webhook-ca");
  const { cert, key } = tls ?? ensureServingCert({ dir }, "webhook");
  const hanging = new Set<() => void>();
  const state: TestWebhook = {
    url: "",
    caPem,
    caBundle: Buffer.from(caPem).toString("base64"),
    received: [],
    answer,
    close: async () => {
      for (const end of hanging) end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = reviewSchema.parse(JSON.parse(Buffer.concat(chunks).toString("utf8"))) as Review;
      state.received.push({ review, query: (req.url ?? "").split("?")[1] ?? "", at: performance.now() });
      const uid = review.request.uid;
      const reply = (code: number, body: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
      };
      const a = state.answer(review);
      const envelope = (response: Record<string, unknown>) => ({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid, ...response },
      });
      switch (a.kind) {
        case "allow":
          return reply(200, envelope({ allowed: true, ...(a.warnings ? { warnings: a.warnings } : {}) }));
        case "deny":
          return reply(200, envelope({ allowed: false, status: a.status }));
        case "http":
          return reply(a.code, a.body);
        case "raw":
          return reply(200, a.body(uid));
        case "hang": {
          const end = () => res.destroy();
          hanging.add(end);
          res.on("close", () => hanging.delete(end));
          return undefined;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(state, {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`,
  });
}
