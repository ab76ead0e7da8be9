import { StoreUnavailableError } from "@holdfast/session";
import { nextSessions, type ReadonlySession } from "@holdfast/session/next";
import { draftKey, type DraftForm, type FormDraft, type RequestContext } from "../api/context";
import { hasPass } from "../captcha/pass";
import { config } from "../env";
import { healthRoute as health, sessionRoute as route, type RouteOptions } from "../http/route";
import { createServices, type Services } from "../services";
import { findUser, type PublicUser } from "../users";

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

/** Reads from the request's session; no cookie, or a store that cannot be reached, gives `fallback`. */
async function fromSession<T>(fallback: T, read: (session: ReadonlySession, services: Services) => Promise<T>): Promise<T> {
  const session = await pages.read();
  if (!session.hasCookie) return fallback;
  try {
    return await read(session, getServices());
  } catch (error) {
    if (error instanceof StoreUnavailableError) return fallback;
    throw error;
  }
}

/** The logged-in user for a server component. */
export function currentUser(): Promise<PublicUser | null> {
  return fromSession(null, async (session, s) => {
    const userId = await session.userId();
    return userId ? await findUser(s.db, userId) : null;
  });
}

/** What the person typed into a form before a failed plain post (never a password). */
export function formDraft(form: DraftForm): Promise<FormDraft | null> {
  return fromSession(null, async (session) => {
    const draft = await session.get<FormDraft>(draftKey(form));
    return draft && typeof draft === "object" && typeof draft.values === "object" ? draft : null;
  });
}

/** Whether the session holds a live captcha pass (a solved captcha kept after a 409). */
export function captchaPassHeld(): Promise<boolean> {
  return fromSession(false, (session) => hasPass(session));
}

/** What the configured store can do, so a page offers only that. */
export function storeCapabilities(): { revocable: boolean } {
  return { revocable: getServices().store.revocable };
}
