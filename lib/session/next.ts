import { cookies } from "next/headers";
import { cache } from "react";
import { draftKey, type DraftForm, type FormDraft, type RequestContext } from "../api/context";
import { config } from "../env";
import { healthRoute as health, openSession, sessionRoute as route } from "../http/route";
import { hasPass } from "../captcha/pass";
import { findUser, type PublicUser } from "../users";
import { createServices, type Services } from "./select";
import type { Session } from "./session";
import { StoreUnavailableError } from "./store";

/** The one module that binds the framework-free session core to Next: the process's services and the request cookies. */

let services: Services | undefined;

function getServices(): Services {
  services ??= createServices(config());
  return services;
}

export const sessionRoute = (endpoint: (ctx: RequestContext) => Promise<Response>) => route(getServices, endpoint);
export const healthRoute = health(getServices);

/**
 * The request's session for server components, read-only (they cannot set cookies), opened once
 * per request: every helper below shares it, so a page asking two things makes one store read.
 */
const requestSession = cache(async (): Promise<{ session: Session; services: Services } | null> => {
  const services = getServices();
  const token = (await cookies()).get(services.config.cookie.name)?.value || undefined;
  return token ? { session: openSession(services, token), services } : null;
});

/** Reads from the request's session; no cookie, or a store that cannot be reached, gives `fallback`. */
async function fromSession<T>(fallback: T, read: (session: Session, services: Services) => Promise<T>): Promise<T> {
  const opened = await requestSession();
  if (!opened) return fallback;
  try {
    return await read(opened.session, opened.services);
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
