import type { FieldErrors } from "../validation";

/** Every error code of the contract, with its status and the sentence a person reads. */
const ERRORS = {
  invalid_input: [400, "Some fields are not valid."],
  invalid_json: [400, "The request body is not valid JSON."],
  no_session: [
    400,
    "The request carried no session cookie, so the captcha cannot be checked. Allow cookies for this site (send requests with credentials, over https if the cookie is Secure), load a new captcha and try again.",
  ],
  session_unknown: [400, "The session cookie matches no live session: it expired or was ended. Load a new captcha and try again."],
  captcha_missing: [400, "No captcha is waiting for an answer: it was already used or never issued. Load a new captcha."],
  captcha_expired: [400, "The captcha expired. Load a new captcha."],
  captcha_invalid: [400, "The captcha answer is wrong. Load a new captcha and try again."],
  pow_invalid: [400, "The proof of work is missing its challenge, wrong, expired or already used. Fetch a new challenge from /api/challenge and solve it."],
  unauthenticated: [401, "You are not logged in."],
  invalid_credentials: [401, "The login or the password is wrong."],
  cross_origin: [403, "This request came from another site and was refused."],
  not_found: [404, "There is no such endpoint."],
  method_not_allowed: [405, "This endpoint does not serve that method; the Allow header lists the ones it serves."],
  username_taken: [409, "That username is taken."],
  email_taken: [409, "An account with that email already exists."],
  payload_too_large: [413, "The request body is larger than 16 KiB."],
  unsupported_media_type: [415, "Send JSON (application/json) or a form (application/x-www-form-urlencoded)."],
  rate_limited: [429, "Too many requests. Wait a moment and try again."],
  session_store_unavailable: [503, "The session store cannot be reached right now. Try again shortly."],
  server_busy: [503, "Too many sign-ups and logins are being checked right now. Try again in a moment."],
  database_not_migrated: [503, "The database lacks migrations this version ships. The operator must run `npm run db:migrate`."],
  internal_error: [500, "Something went wrong on our side."],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

/** Said instead of the usual session_unknown sentence when sessions live in one process's memory. */
export const MEMORY_SESSION_UNKNOWN =
  "The session cookie matches no session in this process. Sessions are kept in one process's memory (SESSION_STORE=memory) while several processes serve this site, so each process knows only its own; use a shared store: cookie, database, redis or cached.";

/** captcha_missing's sentence when the field says `lost`: the answer was never checked. */
export const CAPTCHA_LOST =
  "The server no longer holds the captcha (or the right answer kept after a taken name) this session was waiting on, though it was not used and had not expired, so this attempt was not checked. Load a new captcha.";

/** Said instead of the usual pow_invalid sentence when the challenge ledger is one process's memory. */
export const MEMORY_POW_UNKNOWN =
  "The proof of work names a challenge this process never issued or already used. Challenges are kept in one process's memory (SESSION_STORE=memory) while several processes serve this site, so each process knows only its own; use a shared store: cookie, database, redis or cached.";

/** The contract's JSON body for a code, for a reply written outside a Response (server.ts). */
export function errorBody(code: ErrorCode): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message: ERRORS[code][1] } };
}

export function errorResponse(
  code: ErrorCode,
  options: { fields?: FieldErrors; message?: string; headers?: Record<string, string> } = {},
): Response {
  const error = { code, message: options.message ?? ERRORS[code][1], ...(options.fields ? { fields: options.fields } : {}) };
  return Response.json({ error }, { status: ERRORS[code][0], headers: options.headers });
}

/** 404 `not_found`: a path under /api that names no endpoint (never cached). */
export const notFound = (): Response => errorResponse("not_found", { headers: { "cache-control": "no-store" } });

/** 405 `method_not_allowed` with the methods the endpoint serves (never cached). */
export const methodNotAllowed = (allow: string): Response => errorResponse("method_not_allowed", { headers: { allow, "cache-control": "no-store" } });
