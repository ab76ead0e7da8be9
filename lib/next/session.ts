import { StoreUnavailableError } from "@holdfast/session";
import { nextSessions, type ReadonlySession } from "@holdfast/session/next";
import { draftKey, type AfterLogin, type DraftForm, type FormDraft, type RequestContext } from "../api/context";
import { storeAnswers } from "../api/health";
import { passLeftMs } from "../captcha/pass";
import { config } from "../env";
import { healthRoute as health, sessionRoute as route, type RouteOptions } from "../http/route";
import { createServices, type Services } from "../services";
import { isNotMigrated } from "../migrations";
import { findUser, type PublicUser } from "../users";
import { PASSWORD_CHANGED_KEY } from "../api/password";

/**
 * This app's Next wiring: the process's services, its endpoints as route handlers, and what its
 * server components read from the session (through the package's read-only, once-per-request
 * `read()`). It knows users and forms, so it is app code, not part of the session package.
 */

let services: Services | undefined;

function getServices(): Services {
  services ??= createServices(config());
  return services;
}

export const sessionRoute = (endpoint: (ctx: RequestContext) => Promise<Response>, options?: RouteOptions) => route(getServices, endpoint, options);
export const healthRoute = health(getServices);

const pages = nextSessions(() => getServices().sessions);

/** The login page's codes (app/ui/messages.ts) for why it was sent there. */
const LOGIN_NOT_KEPT_CODE = "login_not_kept";
const SESSION_ENDED_CODE = "session_expired";

/** A session that could not be read: its store (or the database) cannot be reached, or lacks a migration. */
export const UNAVAILABLE = "unavailable";

/**
 * Reads from the request's session; no cookie gives `fallback`, and a session that cannot be read
 * `onUnavailable`: a page never answers a 500 for the store's sake, and says so where it matters.
 */
async function fromSession<T, U = T>(fallback: T, read: (session: ReadonlySession, services: Services) => Promise<T>, onUnavailable: T | U = fallback): Promise<T | U> {
  const session = await pages.read();
  if (!session.hasCookie) return fallback;
  try {
    return await read(session, getServices());
  } catch (error) {
    if (error instanceof StoreUnavailableError || isNotMigrated(error)) return onUnavailable;
    throw error;
  }
}

/**
 * The logged-in user for a server component, or UNAVAILABLE when the session cannot be read now:
 * a logged-in person is then told so, not sent to the login page as if logged out.
 */
export function currentUser(): Promise<PublicUser | null | typeof UNAVAILABLE> {
  return fromSession<PublicUser | null, typeof UNAVAILABLE>(
    null,
    async (session, s) => {
      const userId = await session.userId();
      return userId ? await findUser(s.db, userId) : null;
    },
    UNAVAILABLE,
  );
}

/**
 * Where a page that needs the login sends a person without one: the login page, which returns
 * them to `page` afterwards, and says why when they had a session that ended (timed out, or ended
 * from another device), or when they had just logged in and this browser did not keep it.
 */
export async function loginRedirect(page: AfterLogin, from: string | undefined): Promise<string> {
  const session = await pages.read();
  const query = new URLSearchParams(page === "/welcome" ? {} : { next: page });
  // A session that ended explains itself first: `from=login` stays in a tab's URL, so a reload
  // there after a timeout is no refused cookie.
  if (session.hasCookie && (await session.state().catch(() => "live")) === "unknown") query.set("error", SESSION_ENDED_CODE);
  else if (from === "login") query.set("error", LOGIN_NOT_KEPT_CODE);
  const search = query.toString();
  return search ? `/login?${search}` : "/login";
}

/** What the person typed into a form before a failed plain post (never a password). */
export function formDraft(form: DraftForm): Promise<FormDraft | null> {
  return fromSession(null, async (session) => {
    const draft = await session.get<FormDraft>(draftKey(form));
    return draft && typeof draft === "object" && typeof draft.values === "object" ? draft : null;
  });
}

/** How long after a change the welcome page may say so: the redirect's moment, and a slow reload. */
const PASSWORD_CHANGE_SAID_FOR_MS = 10 * 60_000;

/** Whether this session changed the account's password in the last few minutes (`?password=changed` is only a request to say so). */
export function passwordJustChanged(): Promise<boolean> {
  return fromSession(false, async (session) => {
    const at = await session.get<number>(PASSWORD_CHANGED_KEY);
    return typeof at === "number" && Date.now() - at >= 0 && Date.now() - at < PASSWORD_CHANGE_SAID_FOR_MS;
  });
}

/** How long the session's captcha pass (a solved captcha kept after a 409) has left, in ms; 0 for none. */
export function captchaPassLeftMs(): Promise<number> {
  return fromSession(0, (session) => passLeftMs(session));
}

/** How long a captcha counts from its drawing (CAPTCHA_TTL_SECONDS). */
export function captchaTtlMs(): number {
  return getServices().config.captchaTtlMs;
}

/** How long a pass lives from the 409 that leaves it (lib/env.ts passTtlMs). */
export function captchaPassTtlMs(): number {
  return getServices().config.passTtlMs;
}

/** What the configured store can do, so a page offers only that. */
export function storeCapabilities(): { revocable: boolean } {
  return { revocable: getServices().store.revocable };
}

/**
 * A refusal a page's address carries, as it stands now: `session_store_unavailable` on a page
 * reloaded once the store and the database answer again (health's own checks, only then) becomes
 * `storeBack`, so the page no longer says something that is no longer true.
 */
export async function currentRefusal<R extends { code: string | null }>(refused: R, storeBack: string): Promise<R | { code: string; fields: Record<string, never> }> {
  if (refused.code !== "session_store_unavailable") return refused;
  return (await storeAnswers(getServices())) ? { code: storeBack, fields: {} } : refused;
}
