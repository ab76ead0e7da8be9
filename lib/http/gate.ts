import { parseAndValidateFlightRouterState } from "next/dist/server/app-render/parse-and-validate-flight-router-state.js";
import { methodNotAllowed, notFound } from "./errors";

/**
 * What the app's server (server.ts, in production and in development) answers itself, before Next sees a request, because
 * Next would answer it outside the contract:
 *
 * - a method Next's route handlers cannot take (TRACE, TRACK, CONNECT, WebDAV's PROPFIND and
 *   the like): Next throws building its Request, answers a bare 500 and logs a stack trace, so
 *   any client could fill the log. Under /api it gets the contract's 405 with the endpoint's
 *   `Allow` (404 where no endpoint is); a page gets a plain 405.
 * - a path under /api whose percent-encoding is broken (`/api/%ff`, or `/%2e%2e/api/%ff`, which
 *   Next resolves to it): Next answers a bare 500; it names no endpoint, so it gets the
 *   contract's 404.
 * - a POST (or PUT, PATCH, DELETE) to a page: this app has no server actions, yet Next would look
 *   one up (from a Next-Action header or a multipart field), answer 400 or 409 and log an error
 *   quoting the client; it gets a plain 405 with `Allow: GET, HEAD`.
 * - a request target in absolute form (`GET http://elsewhere.example/signup`): Next redirects to
 *   the host it names. HTTP/1.1 lets a server take such a target as its own path (RFC 9112,
 *   3.2.2), so that is what it becomes; any other form is a 400.
 * - request headers that only Next's own router and middleware send (see nextHeaders).
 */

/** The methods Next's route handlers take. */
const HANDLED = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** The methods a page takes. */
const PAGE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Each endpoint's `Allow`, as its route module's `endpoint()` builds it (a test holds the two together). */
export const ENDPOINT_METHODS: Readonly<Record<string, string>> = {
  "/api/captcha": "GET, HEAD, OPTIONS",
  "/api/challenge": "GET, HEAD, OPTIONS",
  "/api/health": "GET, HEAD, OPTIONS",
  "/api/me": "GET, HEAD, OPTIONS",
  "/api/ping": "GET, HEAD, OPTIONS",
  "/api/register": "POST, OPTIONS",
  "/api/login": "POST, OPTIONS",
  "/api/logout": "POST, OPTIONS",
  "/api/password": "POST, OPTIONS",
  "/api/signup/draft": "POST, OPTIONS",
};

/**
 * The page whose plain form posts each endpoint takes: a form post that fails lands back there
 * (lib/http/route.ts), also one the server answers itself (server.ts, a body cut off).
 */
export const FORM_PAGES = {
  "/api/register": "/signup",
  "/api/signup/draft": "/signup",
  "/api/login": "/login",
  "/api/logout": "/welcome",
  "/api/password": "/password",
} as const satisfies Readonly<Record<string, string>>;

/** The metrics endpoint: `GET, HEAD` while it is on (METRICS_TOKEN set), no endpoint otherwise. */
const METRICS_PATH = "/api/internal/metrics";

/**
 * The headers next.config.mjs puts on every response Next sends, for the answers the gate sends
 * itself (a test compares the two lists).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

function pageMethodNotAllowed(): Response {
  return new Response("Method Not Allowed\n", { status: 405, headers: { "content-type": "text/plain", allow: "GET, HEAD" } });
}

export type GateVerdict = { pass: true; url: string } | { pass: false; response: Response };

function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

function resolved(path: string): string {
  // Most paths hold no dot segment (spelt `.` or `%2e`), backslash or doubled slash: nothing to resolve.
  if (!/[.%\\]|\/\//.test(path)) return path;
  try {
    // Appended, not resolved against a base: `//api/x` is a path here, not a host.
    return new URL(`http://gate.invalid${path}`).pathname;
  } catch {
    return path;
  }
}

export function gate(method: string, target: string, options: { metrics: boolean; dev?: boolean }): GateVerdict {
  let url = target;
  if (!url.startsWith("/")) {
    let parsed: URL | undefined;
    try {
      parsed = /^https?:\/\//i.test(url) ? new URL(url) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) return { pass: false, response: new Response("Bad Request\n", { status: 400, headers: { "content-type": "text/plain" } }) };
    url = `${parsed.pathname}${parsed.search}`;
  }
  // Classified as Next routes it: with its dot segments resolved, `%2e` spelt out or not
  // (`/%2e%2e/api/me` is /api/me), as the WHATWG URL parser resolves them.
  const path = resolved(url.split("?")[0]!);
  const api = isApi(path);
  if (api) {
    try {
      decodeURIComponent(path);
    } catch {
      return { pass: false, response: notFound() };
    }
  }
  // Next's image optimizer: this app draws no next/image, and the optimizer fetches the `url=` it
  // is given from this very server, past this gate (a captcha drawn for a cross-site request, a
  // 500 and a stack trace for `url=/api/%ff`, the client's text in the log). Off in
  // next.config.mjs too; answered here before Next wakes up.
  if (path === "/_next/image" || path.startsWith("/_next/image/")) {
    return { pass: false, response: new Response("Not Found\n", { status: 404, headers: { "content-type": "text/plain", "cache-control": "no-store" } }) };
  }
  if (!api) {
    // Pages take GET and HEAD only: this app has no server actions, and Next would look one up
    // for a POST that names one (a Next-Action header, or a multipart field), answer 400 or 409
    // and log an error with the client's text in it. Forms post to /api. So do Next's own paths
    // (its assets) in production; in development its tools post to theirs.
    const nextOwn = path.startsWith("/_next/") || path.startsWith("/__nextjs");
    if (nextOwn && options.dev) return HANDLED.has(method) ? { pass: true, url } : { pass: false, response: pageMethodNotAllowed() };
    // OPTIONS says what a page takes (Next would answer it a 400, or a 405 with Allow twice).
    if (method === "OPTIONS") return { pass: false, response: new Response(null, { status: 204, headers: { allow: "GET, HEAD", "cache-control": "no-store" } }) };
    if (PAGE_METHODS.has(method)) return { pass: true, url };
    return { pass: false, response: pageMethodNotAllowed() };
  }
  if (HANDLED.has(method)) return { pass: true, url };
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const allow = ENDPOINT_METHODS[trimmed] ?? (options.metrics && trimmed === METRICS_PATH ? "GET, HEAD" : undefined);
  return { pass: false, response: allow ? methodNotAllowed(allow) : notFound() };
}

/**
 * Headers only Next's own middleware and server actions send, which change what Next does with a
 * request, never sent by this app's pages (no middleware, no server actions, no prefetching
 * links): `x-middleware-prefetch` makes Next answer `200 {}` for any route without running it
 * (a logout that logs nobody out), a prefetch of a page makes Next log a stack trace. A page that
 * ever uses next/link's prefetching must take `next-router-prefetch` off this list.
 */
const NEXT_ONLY = ["x-middleware-prefetch", "x-middleware-subrequest", "next-action", "next-router-prefetch", "next-router-segment-prefetch"];
/** The client router's headers for a page's server-rendered payload: meaningless to an endpoint, where Next answers them with a redirect. */
const ROUTER = ["rsc", "next-router-state-tree", "next-url", "next-hmr-refresh"];
const ROUTER_STATE = "next-router-state-tree";

/**
 * What the server does with a request's headers before Next sees them: the ones to remove, or a
 * 400 for a router state a page cannot be rendered with (Next answers a 500 and logs a stack
 * trace). The state is checked by Next's own parser, so what its router sends always passes.
 */
export function nextHeaders(target: string, headers: Readonly<Record<string, string | string[] | undefined>>): { drop: string[] } | { refuse: Response } {
  const drop = NEXT_ONLY.filter((name) => headers[name] !== undefined);
  const path = resolved(target.split("?")[0]!);
  if (isApi(path)) return { drop: [...drop, ...ROUTER.filter((name) => headers[name] !== undefined)] };
  const state = headers[ROUTER_STATE];
  if (state !== undefined) {
    try {
      parseAndValidateFlightRouterState(state);
    } catch {
      return { refuse: new Response("Bad Request\n", { status: 400, headers: { "content-type": "text/plain" } }) };
    }
  }
  return { drop };
}
