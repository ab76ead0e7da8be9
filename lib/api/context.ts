import type { RateLimitName } from "../env";
import { clientIp, rateLimitAddress, rateLimitNetwork } from "../http/client-ip";
import { CAPTCHA_LOST, errorResponse, MEMORY_SESSION_UNKNOWN, type ErrorCode } from "../http/errors";
import { ownOriginMismatch } from "../http/request";
import { log } from "../log";
import type { Session } from "@holdfast/session";
import type { Services } from "../services";
import { hasControl, type FieldErrors } from "../validation";

/** What every endpoint receives; built by the binding module, or by a test with plain objects. */
export interface RequestContext {
  req: Request;
  session: Session;
  services: Services;
  /**
   * Runs `check` once the session is committed (its writes done), before the answer leaves; a
   * Response it returns is sent instead, and the session's cookie is not: it is cleared.
   */
  afterCommit(check: () => Promise<Response | null>): void;
  /**
   * The answer to give instead of 503 `session_store_unavailable` should committing the session
   * find its store unavailable: for an endpoint that has by then done something that stands (an
   * account created), so the client is not told that nothing happened.
   */
  ifCommitFails(answer: () => Response): void;
}

/** When the set-up behind a refused own-origin post was last said: at most every ten minutes, so a forged request cannot silence a real cause for good. */
let ownOriginSaidAt = -Infinity;

/** The error response for a code, with the memory store's own explanation of an unknown session. */
export function failure(ctx: RequestContext, code: ErrorCode, fields?: FieldErrors): Response {
  if (code === "cross_origin" && Date.now() - ownOriginSaidAt >= 600_000) {
    // The site's own pages may be refused, and the cause would be the set-up.
    const mismatch = ownOriginMismatch(ctx.req, ctx.services.config.proxyHops);
    if (mismatch) {
      ownOriginSaidAt = Date.now();
      log.warn(mismatch);
    }
  }
  const message =
    code === "session_unknown" && !ctx.services.store.shared ? MEMORY_SESSION_UNKNOWN : code === "captcha_missing" && fields?.captcha === "lost" ? CAPTCHA_LOST : undefined;
  return errorResponse(code, { fields, message });
}

/**
 * Counts one request against a named limit for a key (a client address, an account). Null when
 * allowed, else the 429 response with Retry-After.
 */
export async function limited(ctx: RequestContext, name: RateLimitName, key: string): Promise<Response | null> {
  const verdict = await ctx.services.limiter.hit(`${name}:${key}`, ctx.services.config.rateLimits[name]);
  if (verdict.ok) return null;
  return errorResponse("rate_limited", { headers: { "retry-after": String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))) } });
}

/** The client the per-address rate limits count by: its address, or an IPv6 address's /64. */
export function client(ctx: RequestContext): string {
  return rateLimitAddress(clientIp(ctx.req, ctx.services.config.proxyHops));
}

/** An IPv6 client's /48, which the path without the image also limits (see register.ts); undefined for IPv4. */
export function clientNetwork(ctx: RequestContext): string | undefined {
  return rateLimitNetwork(clientIp(ctx.req, ctx.services.config.proxyHops));
}

/** The pages a login returns to (`next`), so a login link can never send anyone elsewhere. */
export const AFTER_LOGIN = ["/welcome", "/password"] as const;
export type AfterLogin = (typeof AFTER_LOGIN)[number];

/** The page a login asked to return to, when it is one of ours; /welcome otherwise. */
export function afterLogin(next: unknown): AfterLogin {
  return AFTER_LOGIN.find((page) => page === next) ?? "/welcome";
}

/** A 303 for plain form posts, so the browser lands on a page rather than on JSON. */
export function seeOther(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}

/** The forms whose no-JavaScript round trips keep what the person typed. */
export type DraftForm = "signup" | "login";

/**
 * What a person typed into a form, kept in their session between a plain form post and the page
 * it lands on, never in a URL (where logs, history and Referer would keep it). A password is
 * never kept: `passwordCleared` tells the page to say so.
 */
export interface FormDraft {
  values: Record<string, string>;
  passwordCleared: boolean;
}

export const draftKey = (form: DraftForm) => `draft:${form}`;

/**
 * At most this many bytes of typed values are kept per form: a sealed cookie holds 4096 bytes in
 * all, and a database keeps the draft in a JSON column.
 */
const MAX_DRAFT_BYTES = 768;

/** The longest value any form field takes (an email address, RFC 5321). */
const MAX_FIELD_CHARS = 254;

/**
 * Keeps the typed values (never a password) for the form's page to show again. A value that no
 * field would accept as it stands (a control character, which a JSON column refuses as NUL and a
 * sealed cookie spells in six bytes; more characters than any field takes) is not kept, nor one
 * that would take the draft over MAX_DRAFT_BYTES: the page then shows that field empty, with its
 * error.
 */
export async function keepDraft(ctx: RequestContext, form: DraftForm, body: Record<string, unknown>, names: readonly string[]): Promise<void> {
  const values: Record<string, string> = {};
  let bytes = 0;
  for (const name of names) {
    const value = body[name];
    // Longer than any field takes: kept cut short, it would come back as something not typed.
    if (typeof value !== "string" || value === "" || value.length > MAX_FIELD_CHARS || hasControl(value)) continue;
    const size = Buffer.byteLength(value);
    if (bytes + size > MAX_DRAFT_BYTES) continue;
    bytes += size;
    values[name] = value;
  }
  const password = Object.keys(body).some((k) => /password/i.test(k) && typeof body[k] === "string" && body[k] !== "");
  await ctx.session.set(draftKey(form), { values, passwordCleared: password } satisfies FormDraft);
}

/**
 * Where a failed form post goes back to: the form's page with the error code and the failing
 * fields' codes only. What the person typed waits in the session (keepDraft).
 */
export function formFailure(page: string, code: ErrorCode, fields?: FieldErrors, retryAfter?: string, next?: AfterLogin): Response {
  const query = new URLSearchParams({ error: code });
  if (fields) query.set("fields", fieldList(fields));
  if (retryAfter && /^\d{1,6}$/.test(retryAfter)) {
    query.set("retry", retryAfter);
    // When, so that a page reloaded later counts down from here rather than from the reload.
    query.set("at", String(Math.floor(Date.now() / 1000)));
  }
  // The page a login returns to, kept across a refused try (the default needs no mention).
  if (next && next !== "/welcome") query.set("next", next);
  const back = seeOther(`${page}?${query}`);
  if (query.has("retry")) back.headers.set("retry-after", retryAfter!);
  return back;
}

export function fieldList(fields: FieldErrors): string {
  return Object.entries(fields)
    .map(([field, code]) => `${field}.${code}`)
    .join(",");
}

