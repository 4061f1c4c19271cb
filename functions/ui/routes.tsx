/** @jsxImportSource hono/jsx */
/**
 * `GET /ui`: the read-only page of pools and their scaling history. Who may open it:
 * - dev mode (`npm start`) without a token: anyone reaching the server on a loopback name (the server listens on
 *   127.0.0.1; the Host check keeps a web page from reading it by DNS rebinding);
 * - `VMPOOL_UI_TOKEN` configured (any mode): `Authorization: Bearer <token>`, or a browser opening
 *   `/ui?token=<token>` once, which sets an HttpOnly, SameSite=Strict cookie scoped to `/ui` (holding a MAC of the
 *   token, never the token) and redirects to `/ui` so the token leaves the address bar and history;
 * - otherwise (`vmpool serve`, Lambda, without a token): no page at all, a 404 like any unknown path.
 * The page reads the cluster with three list requests and sends no script (its Content-Security-Policy allows
 * none).
 */
import { createHmac } from "node:crypto";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { ReasonedError } from "../../shared/errors";
import { readOverview } from "../../shared/history";
import { errorBody, safeEqual } from "../http";
import type { Runtime } from "../runtime";
import { UiPage } from "./page";

export const UI_PATH = "/ui";
export const UI_COOKIE = "vmpool_ui";
/** The page reloads itself this often. */
export const UI_REFRESH_SECONDS = 5;
const COOKIE_MAX_AGE_SECONDS = 8 * 3600;
/** One page's reads of the cluster. */
const READ_DEADLINE_MS = 10_000;

const QuerySchema = z.object({ token: z.string().min(1).max(1024).optional() });

/** Who may see the page, from the mode and the configured token. */
export type UiAccess =
  | { readonly kind: "open" }
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "off" };

export function uiAccess(devMode: boolean, token: string | undefined): UiAccess {
  if (token) return { kind: "token", token };
  return devMode ? { kind: "open" } : { kind: "off" };
}

/** Whether a Host header names this machine by a loopback name (`127.0.0.1`, `localhost`, `[::1]`, any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  const name = (host ?? "").replace(/:\d+$/u, "").toLowerCase();
  return name === "127.0.0.1" || name === "localhost" || name === "[::1]";
}

/** The cookie's value: a MAC of the token, so the cookie proves the token without being it. */
function sessionOf(token: string): string {
  return createHmac("sha256", token).update("vmpool-ui-session").digest("base64url");
}

const SECURITY_HEADERS = {
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
} as const;

export function uiRoutes(runtime: Runtime): Hono {
  const app = new Hono();
  const access = uiAccess(runtime.devMode, runtime.secrets.uiToken);
  app.get(UI_PATH, async (c) => {
    if (access.kind === "off") {
      return c.json(errorBody("NotFound", `no route for GET ${UI_PATH}`), 404);
    }
    const query = QuerySchema.safeParse({ token: c.req.query("token") });
    if (!query.success) throw new ReasonedError("InvalidQuery", "token: too long", { status: 400 });
    if (access.kind === "open") {
      if (!isLoopbackHost(c.req.header("host")))
        throw new ReasonedError("Forbidden", "the dev-mode page answers only on 127.0.0.1 or localhost", {
          status: 403,
        });
    } else {
      const session = sessionOf(access.token);
      if (query.data.token !== undefined) {
        if (!safeEqual(query.data.token, access.token))
          throw new ReasonedError("Unauthorized", "invalid token", { status: 401 });
        const forwarded = c.req.header("x-forwarded-proto");
        setCookie(c, UI_COOKIE, session, {
          httpOnly: true,
          sameSite: "Strict",
          path: UI_PATH,
          maxAge: COOKIE_MAX_AGE_SECONDS,
          secure: new URL(c.req.url).protocol === "https:" || forwarded === "https",
        });
        return c.redirect(UI_PATH, 303);
      }
      const bearer = /^Bearer\s+(.+)$/iu.exec(c.req.header("authorization") ?? "")?.[1]?.trim();
      const cookie = getCookie(c, UI_COOKIE);
      const allowed =
        (bearer !== undefined && safeEqual(bearer, access.token)) ||
        (cookie !== undefined && safeEqual(cookie, session));
      if (!allowed) {
        c.header("WWW-Authenticate", 'Bearer realm="vmpool-ui"');
        throw new ReasonedError(
          "Unauthorized",
          "open /ui?token=<VMPOOL_UI_TOKEN> or send Authorization: Bearer",
          {
            status: 401,
          },
        );
      }
    }
    const now = runtime.now();
    const pools = await readOverview(runtime.kube.withDeadline(Date.now() + READ_DEADLINE_MS));
    return c.html(
      <UiPage pools={pools} now={now} refreshSeconds={UI_REFRESH_SECONDS} />,
      200,
      SECURITY_HEADERS,
    );
  });
  return app;
}
