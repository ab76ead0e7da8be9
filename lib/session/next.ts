import { cookies } from "next/headers";
import { draftKey, type DraftForm, type FormDraft, type RequestContext } from "../api/context";
import { config } from "../env";
import { healthRoute as health, openSession, sessionRoute as route } from "../http/route";
import { hasPass } from "../captcha/pass";
import { findUser, type PublicUser } from "../users";
import { createServices, type Services } from "./select";
import { StoreUnavailableError } from "./store";

/** The one module that binds the framework-free session core to Next: the process's services and the request cookies. */

let services: Services | undefined;

function getServices(): Services {
  services ??= createServices(config());
  return services;
}

export const sessionRoute = (endpoint: (ctx: RequestContext) => Promise<Response>) => route(getServices, endpoint);
export const healthRoute = health(getServices);

/** The logged-in user for a server component; read-only, so it never writes the session. */
export async function currentUser(): Promise<PublicUser | null> {
  const s = getServices();
  const jar = await cookies();
  const session = openSession(s, jar.get(s.config.cookie.name)?.value || undefined);
  try {
    const userId = await session.userId();
    return userId ? await findUser(s.db, userId) : null;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return null;
    throw error;
  }
}

/** What the person typed into a form before a failed plain post (never a password); read-only. */
export async function formDraft(form: DraftForm): Promise<FormDraft | null> {
  const s = getServices();
  const jar = await cookies();
  const token = jar.get(s.config.cookie.name)?.value || undefined;
  if (!token) return null;
  try {
    const draft = await openSession(s, token).get<FormDraft>(draftKey(form));
    return draft && typeof draft === "object" && typeof draft.values === "object" ? draft : null;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return null;
    throw error;
  }
}

/** Whether the session holds a live captcha pass (a solved captcha kept after a 409); read-only. */
export async function captchaPassHeld(): Promise<boolean> {
  const s = getServices();
  const token = (await cookies()).get(s.config.cookie.name)?.value || undefined;
  if (!token) return false;
  try {
    return await hasPass(openSession(s, token));
  } catch (error) {
    if (error instanceof StoreUnavailableError) return false;
    throw error;
  }
}

/** What the configured store can do, so a page offers only that. */
export function storeCapabilities(): { revocable: boolean } {
  return { revocable: getServices().store.revocable };
}
