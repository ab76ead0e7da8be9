import { NETWORK_ERROR, UNEXPECTED_RESPONSE, type FieldErrors } from "./messages";

/** `retryAfter`: the seconds a refusal asked to wait (Retry-After), when it said. */
export type ApiFailure = { code: string; fields: FieldErrors; retryAfter?: number };
export type ApiResult = { ok: true; status: number } | ({ ok: false; status: number } & ApiFailure);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Pulls `{error:{code,fields}}` out of a body without trusting its shape. */
function readFailure(body: unknown): ApiFailure {
  const error = isRecord(body) ? body.error : undefined;
  if (!isRecord(error) || typeof error.code !== "string") return { code: UNEXPECTED_RESPONSE, fields: {} };
  const fields: FieldErrors = {};
  if (isRecord(error.fields)) {
    for (const [field, code] of Object.entries(error.fields)) {
      if (typeof code === "string") fields[field] = code;
    }
  }
  return { code: error.code, fields };
}

/** Who this browser is logged in as now, as GET /api/me says; null when no one, or it cannot tell. */
export async function loggedInAs(): Promise<string | null> {
  const me = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
  if (me?.status !== 200) return null;
  const body = (await me.json().catch(() => null)) as { user?: { username?: unknown } } | null;
  return typeof body?.user?.username === "string" ? body.user.username : null;
}

/** Whether this browser is logged out here, as GET /api/me says (a network failure says nothing: false). */
export async function loggedOutHere(): Promise<boolean> {
  const me = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
  return me?.status === 401;
}

/**
 * How long a form waits for its answer: past it the person is told the answer did not come, and
 * can try again, rather than face a button that stays busy for good (a connection that hangs).
 */
export const ANSWER_TIMEOUT_MS = 30_000;

/** POSTs JSON the way the API expects; never throws, so callers only branch on the result. */
export async function postJson(url: string, body: unknown, timeoutMs = ANSWER_TIMEOUT_MS): Promise<ApiResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return { ok: false, status: 0, code: NETWORK_ERROR, fields: {} };
  }
  if (response.ok) return { ok: true, status: response.status };
  // Proxies and crashed handlers answer with HTML, so a parse failure is expected, not exceptional.
  const parsed: unknown = await response.json().catch(() => null);
  const wait = Number(response.headers.get("retry-after"));
  return { ok: false, status: response.status, ...readFailure(parsed), ...(wait > 0 ? { retryAfter: wait } : {}) };
}
