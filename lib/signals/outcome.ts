import { processSignals, type Signals } from "./registry";

/**
 * What one response counts as: a bounded route label and the contract's code. The code is read
 * from the response itself, so the wiring needs one wrapper around a handler and no change to
 * the endpoints that produce the responses.
 */

/** The endpoints a label may name; any other path is "other", so a client cannot mint labels. */
export const KNOWN_ROUTES = [
  "/api/captcha",
  "/api/challenge",
  "/api/health",
  "/api/internal/metrics",
  "/api/login",
  "/api/logout",
  "/api/me",
  "/api/password",
  "/api/ping",
  "/api/register",
  "/api/signup/draft",
] as const;

const known = new Set<string>(KNOWN_ROUTES);

export function routeLabel(pathname: string): string {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  return known.has(path) ? path : "other";
}

const CODE = /^[a-z][a-z_]{0,39}$/;
const marked = new WeakMap<Response, string>();

/** Lets the code that made an error response say its code, so it need not be read back from the body. */
export function markCode(response: Response, code: string): Response {
  marked.set(response, code);
  return response;
}

function redirectError(location: string | null): string | null {
  if (!location) return null;
  try {
    const query = new URL(location, "http://localhost").searchParams;
    const error = query.get("error");
    return error === "captcha_missing" && (query.get("fields") ?? "").split(",").includes("captcha.lost") ? LOST : error;
  } catch {
    return "unknown";
  }
}

/**
 * A `captcha_missing` whose field says the ledger lost the captcha (`fields.captcha: "lost"`) is
 * counted apart from one that was used, so the doctor can tell a ledger that drops records from
 * answers sent twice.
 */
const LOST = "captcha_lost";

/**
 * The contract's code of a response: "ok" for a success or a plain redirect, the `error` of a
 * form post's redirect back (`/signup?error=<code>`), or `error.code` of a JSON error body
 * (`captcha_lost` for a lost captcha, see LOST).
 * "unknown" when an error carries none (such as Next's own pages), never a free-text value.
 */
export async function outcomeCode(response: Response): Promise<string> {
  const tagged = marked.get(response);
  if (tagged) return tagged;
  if (response.status < 300) return "ok";
  if (response.status < 400) {
    const error = redirectError(response.headers.get("location"));
    return error === null ? "ok" : CODE.test(error) ? error : "unknown";
  }
  if (!response.headers.get("content-type")?.includes("json") || !response.body) return "unknown";
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown; fields?: { captcha?: unknown } } } | null;
    const code = body?.error?.code;
    if (code === "captcha_missing" && body?.error?.fields?.captcha === "lost") return LOST;
    return typeof code === "string" && CODE.test(code) ? code : "unknown";
  } catch {
    return "unknown";
  }
}

type Handler = (req: Request) => Promise<Response>;

/**
 * Counts every response of a handler, thrown errors too (as a 500 internal_error, then rethrown).
 * Counting never changes or delays the response beyond reading a small error body's copy.
 */
export function withOutcomeSignals(handler: Handler, signals: () => Signals = processSignals): Handler {
  return async (req) => {
    const route = routeLabel(new URL(req.url).pathname);
    let response: Response;
    try {
      response = await handler(req);
    } catch (error) {
      signals().recordOutcome({ route, status: 500, code: "internal_error" });
      throw error;
    }
    signals().recordOutcome({ route, status: response.status, code: await outcomeCode(response) });
    return response;
  };
}
