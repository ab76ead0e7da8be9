import type { RateLimitName } from "../env";
import { clientIp } from "../http/client-ip";
import { errorResponse, MEMORY_SESSION_UNKNOWN, type ErrorCode } from "../http/errors";
import type { Session } from "../session/session";
import type { Services } from "../session/select";
import type { FieldErrors } from "../validation";

/** What every endpoint receives; built by the binding module, or by a test with plain objects. */
export interface RequestContext {
  req: Request;
  session: Session;
  services: Services;
}

/** The error response for a code, with the memory store's own explanation of an unknown session. */
export function failure(ctx: RequestContext, code: ErrorCode, fields?: FieldErrors): Response {
  const message = code === "session_unknown" && ctx.services.store.name === "memory" ? MEMORY_SESSION_UNKNOWN : undefined;
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

/** The client address the rate limits count by. */
export function client(ctx: RequestContext): string {
  return clientIp(ctx.req, ctx.services.config.proxyHops);
}

/** A 303 for plain form posts, so the browser lands on a page rather than on JSON. */
export function seeOther(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}

/** Where a failed form post goes back to: the form's page, with the code and what the person typed. */
export function formFailure(page: string, code: ErrorCode, extra: Record<string, string | undefined> = {}): Response {
  const query = new URLSearchParams({ error: code });
  for (const [key, value] of Object.entries(extra)) if (value) query.set(key, value);
  return seeOther(`${page}?${query}`);
}

export function fieldList(fields: FieldErrors): string {
  return Object.entries(fields)
    .map(([field, code]) => `${field}.${code}`)
    .join(",");
}

/** A string field of a parsed body, for echoing back into a form. */
export function field(body: Record<string, unknown>, name: string, max = 254): string | undefined {
  const value = body[name];
  return typeof value === "string" ? value.slice(0, max) : undefined;
}
