import { SessionTooLargeError, StoreUnavailableError } from "@holdfast/session";
import { afterLogin, formFailure, type RequestContext } from "../api/context";
import { health } from "../api/health";
import { log } from "../log";
import { isNotMigrated } from "../migrations";
import { PasswordHashBusy } from "../password";
import type { Services } from "../services";
import { withOutcomeSignals } from "../signals/outcome";
import { errorResponse, methodNotAllowed, notFound, type ErrorCode } from "./errors";
import { isFormPost } from "./request";
import type { FieldErrors } from "../validation";

/**
 * Turns an endpoint into a handler of web-standard Requests: the session is opened lazily from
 * the cookie, committed after the endpoint ran, and the cookie change written to the response
 * (the package's `Sessions.handle`); what fails becomes the contract's error. Framework-free, so
 * the same handler serves Next, a bare node:http server and the tests.
 */

export type Handler = (req: Request) => Promise<Response>;

function internalError(error: unknown): Response {
  if (error instanceof StoreUnavailableError) return errorResponse("session_store_unavailable");
  if (isNotMigrated(error)) return errorResponse("database_not_migrated");
  if (error instanceof PasswordHashBusy) return errorResponse("server_busy", { headers: { "retry-after": "1" } });
  // Log the kind of failure and its code only: messages of lower layers may quote cookies or SQL parameters.
  const e = error as { name?: string; code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  const kind = error instanceof SessionTooLargeError ? error.message : (e?.name ?? "unknown");
  const code = [e?.code, e?.meta?.driverAdapterError?.cause?.kind].filter((c) => typeof c === "string").join(" ");
  log.error(`request failed: ${kind}${code ? ` (${code})` : ""}`);
  return errorResponse("internal_error");
}

/** What `Sessions.handle` adds to its answers, for the ones given in their place: never cached, varies by cookie. */
function perSession(response: Response): Response {
  response.headers.set("cache-control", "no-store");
  response.headers.append("vary", "Cookie");
  return response;
}

function served(response: Response, s: Services): Response {
  if (s.config.instanceName) response.headers.set("x-holdfast-instance", s.config.instanceName);
  return response;
}

/** The value a response's Set-Cookie gives the session cookie, if it sets one. */
function sessionCookieValue(response: Response, name: string): string | undefined {
  const set = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`));
  const value = set?.slice(name.length + 1).split(";")[0];
  return value || undefined;
}

export interface RouteOptions {
  /**
   * The page whose plain form posts this endpoint takes. Such a post that fails lands back on it
   * (303 to `<page>?error=<code>`, the failing fields' codes too), whatever failed: the
   * endpoint's own checks, a rate limit, the body's size, the store. Never JSON, which a browser
   * without JavaScript would show raw. A cross-origin post still gets its 403 JSON.
   */
  formPage?: string;
}

export function sessionRoute(services: () => Services, endpoint: (ctx: RequestContext) => Promise<Response>, options: RouteOptions = {}): Handler {
  const { formPage } = options;
  const handler = answer(services, endpoint);
  if (!formPage) return handler;
  return async (req) => {
    const response = await handler(req);
    return isFormPost(req) ? backToForm(response, formPage, req) : response;
  };
}

/**
 * A JSON error turned into the 303 back to the form's page, with every other header kept (the
 * cookie, Retry-After). The page a login returns to rides in the form's action (`?next=`) as well
 * as its body, so a refusal that answers before the body is read (a rate limit, its size) keeps it.
 */
async function backToForm(response: Response, page: string, req: Request): Promise<Response> {
  if (response.status < 400 || !response.headers.get("content-type")?.startsWith("application/json")) return response;
  const { error } = (await response.clone().json()) as { error?: { code?: string; fields?: FieldErrors } };
  if (!error?.code || error.code === "cross_origin") return response;
  // The page cannot read the 303's Retry-After, so the wait also goes in its URL (`retry=<s>`).
  const next = afterLogin(new URL(req.url).searchParams.get("next"));
  const back = formFailure(page, error.code as ErrorCode, error.fields, response.headers.get("retry-after") ?? undefined, next);
  for (const [name, value] of response.headers) {
    if (name !== "content-type" && name !== "content-length" && name !== "set-cookie") back.headers.set(name, value);
  }
  for (const cookie of response.headers.getSetCookie()) back.headers.append("set-cookie", cookie);
  return back;
}

function answer(services: () => Services, endpoint: (ctx: RequestContext) => Promise<Response>): Handler {
  return async (req) => {
    let s: Services;
    try {
      s = services();
    } catch (error) {
      return internalError(error);
    }
    let response: Response;
    let ifCommitFails: (() => Response) | undefined;
    try {
      const checks: (() => Promise<Response | null>)[] = [];
      const afterCommit = (check: () => Promise<Response | null>) => void checks.push(check);
      const context = { req, services: s, afterCommit, ifCommitFails: (answer: () => Response) => void (ifCommitFails = answer) };
      // Commits the session after the endpoint and writes the cookie, Cache-Control and Vary.
      response = await s.sessions.handle(req, (session) => endpoint({ ...context, session }));
      for (const check of checks) {
        const instead = await check();
        if (!instead) continue;
        // The committed session's cookie never reaches the client, and the session is removed
        // where the store keeps it; the client's own cookie is cleared.
        const committed = sessionCookieValue(response, s.sessions.cookie.name);
        if (committed) await s.store.delete(committed);
        response = instead;
        for (const clear of s.sessions.cookieHeaders({ kind: "clear" }, req)) response.headers.append("set-cookie", clear);
        perSession(response);
        break;
      }
    } catch (error) {
      response = perSession(error instanceof StoreUnavailableError && ifCommitFails ? ifCommitFails() : internalError(error));
    }
    return served(sessionCookieFirst(response, s.sessions.cookie.name), s);
  };
}

/**
 * The session cookie as the first Set-Cookie, before any other an endpoint added (the device
 * cookie of a login): a client that reads one cookie from an answer reads the session's.
 */
function sessionCookieFirst(response: Response, name: string): Response {
  const cookies = response.headers.getSetCookie();
  const first = cookies.findIndex((c) => c.startsWith(`${name}=`));
  if (first <= 0) return response;
  response.headers.delete("set-cookie");
  for (const cookie of [cookies[first]!, ...cookies.filter((_, i) => i !== first)]) response.headers.append("set-cookie", cookie);
  return response;
}

export function healthRoute(services: () => Services): Handler {
  return async (req) => {
    try {
      const s = services();
      return served(await health(s, req), s);
    } catch (error) {
      return internalError(error);
    }
  };
}

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/**
 * Every method for one endpoint, so that none falls through to Next's empty 405: the served
 * ones, HEAD as GET without a body, OPTIONS as 204 with `Allow`, and the rest as the
 * contract's 405 `method_not_allowed` with `Allow`.
 */
export function endpoint(served: { GET?: Handler; POST?: Handler; HEAD?: Handler }): Record<Method, Handler> {
  const allow = [...(served.GET ? ["GET", "HEAD"] : []), ...(served.POST ? ["POST"] : []), "OPTIONS"].join(", ");
  const refuse: Handler = async () => methodNotAllowed(allow);
  const get = served.GET;
  const table: Record<Method, Handler> = {
    GET: get ?? refuse,
    HEAD: served.HEAD ?? (get
      ? async (req) => {
          const response = await get(req);
          await response.body?.cancel();
          return new Response(null, { status: response.status, headers: response.headers });
        }
      : refuse),
    POST: served.POST ?? refuse,
    PUT: refuse,
    PATCH: refuse,
    DELETE: refuse,
    OPTIONS: async () => new Response(null, { status: 204, headers: { allow, "cache-control": "no-store" } }),
  };
  // Every answer is counted once, by route, status and code, in the process's signals.
  return Object.fromEntries(Object.entries(table).map(([method, handler]) => [method, withOutcomeSignals(handler)])) as Record<Method, Handler>;
}

/**
 * HEAD for an endpoint whose GET issues something (a captcha, a proof-of-work challenge): the
 * GET's status and content type, and nothing done. HEAD is safe (RFC 9110): a link checker or a
 * prefetch must not replace the captcha a person is reading, set a cookie, write a record or
 * spend the address's rate limit.
 */
export const headWithoutIssuing = (contentType: string): Handler => async () =>
  new Response(null, { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" } });

/** Any path under /api that names no endpoint: the contract's JSON, not Next's HTML page. */
export const unknownEndpoint: Handler = withOutcomeSignals(async () => notFound());
