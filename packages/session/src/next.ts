import { cookies, headers } from "next/headers.js";
import { cache } from "react";
import { cookieFor } from "./cookie-header.js";
import type { Session } from "./session.js";
import type { Sessions } from "./sessions.js";

/**
 * The binding to Next.js's App Router, the one module of the package that imports `next/*`.
 * - `route(handler)`: a route handler with the request's session, committed after it ran.
 * - `read()`: the request's session in a server component, opened once per request and
 *   read-only (a component cannot set cookies).
 * - `getSession()`: the session in a server action; `save()` commits it and sets or clears the
 *   cookie through `cookies()`. `withSession(fn)` does both around `fn`.
 */

/** What a server component may do with the session. */
export type ReadonlySession = Pick<Session, "state" | "get" | "has" | "userId" | "hasCookie">;

/** A server action's session: `save()` writes what changed and updates the cookie, once. */
export type ActionSession = Session & { save(): Promise<void> };

export interface NextSessions {
  route<C = unknown>(handler: (request: Request, session: Session, context: C) => Promise<Response>): (request: Request, context: C) => Promise<Response>;
  read(): Promise<ReadonlySession>;
  getSession(): Promise<ActionSession>;
  withSession<T>(action: (session: Session) => Promise<T>): Promise<T>;
}

/** `sessions` may be a function, so the store is made at the first request rather than at import (and at build). */
export function nextSessions(sessions: Sessions | (() => Sessions)): NextSessions {
  const resolve = typeof sessions === "function" ? sessions : () => sessions;

  // cookies() first: during `next build` it ends the prerender of a page that reads the session
  // before the store is made, so a store that needs the environment is not made at build time.
  // The jar holds one value per name: the cookie a server action just set, else the request's
  // last. The request's Cookie header holds every one (two after a Domain change); the session is
  // chosen among them all as route handlers choose it (Sessions.fromCookieHeader), the jar's first.
  const candidates = async (s: Sessions): Promise<string> => {
    const jarValue = (await cookies()).get(s.cookie.name)?.value;
    const header = (await headers()).get("cookie") ?? "";
    return jarValue ? `${s.cookie.name}=${jarValue}; ${header}` : header;
  };

  const read = cache(async (): Promise<ReadonlySession> => {
    await cookies();
    const s = resolve();
    return s.fromCookieHeader(await candidates(s));
  });

  async function getSession(): Promise<ActionSession> {
    const jar = await cookies();
    const s = resolve();
    const session = await s.fromCookieHeader(await candidates(s));
    let saved = false;
    const save = async () => {
      if (saved) throw new Error("@holdfast/session/next: save() was already called; call getSession() again for another change");
      saved = true;
      const change = await session.commit();
      const cookie = cookieFor(change, { name: s.cookie.name, domain: s.cookie.domain, secure: s.secure({ headers: await headers() }) });
      if (cookie) jar.set(cookie);
    };
    return Object.assign(session, { save });
  }

  return {
    route: (handler) => (request, context) => resolve().handle(request, (session) => handler(request, session, context)),
    read,
    getSession,
    async withSession(action) {
      const session = await getSession();
      const result = await action(session);
      await session.save();
      return result;
    },
  };
}
