import { cookies } from "next/headers";
import type { RequestContext } from "../api/context";
import { health } from "../api/health";
import { config } from "../env";
import { errorResponse } from "../http/errors";
import { isHttps } from "../http/request";
import { findUser, type PublicUser } from "../users";
import { readCookie, setCookieHeader } from "./cookie-header";
import { createServices, type Services } from "./select";
import { Session } from "./session";
import { SessionTooLargeError, StoreUnavailableError } from "./store";

/** The one module that binds the framework-free session core to Next. */

let services: Services | undefined;

export function getServices(): Services {
  services ??= createServices(config());
  return services;
}

function openSession(s: Services, token: string | undefined): Session {
  return new Session(s.store, token, { idleTimeoutMs: s.config.idleTimeoutMs, absoluteTimeoutMs: s.config.absoluteTimeoutMs });
}

function internalError(error: unknown): Response {
  if (error instanceof StoreUnavailableError) return errorResponse("session_store_unavailable");
  // Log the kind of failure only: messages of lower layers may quote cookies or SQL parameters.
  const kind = error instanceof SessionTooLargeError ? error.message : (error as Error)?.name ?? "unknown";
  console.error(`[holdfast] request failed: ${kind}`);
  return errorResponse("internal_error");
}

function served(response: Response, s: Services): Response {
  if (s.config.instanceName) response.headers.set("x-holdfast-instance", s.config.instanceName);
  return response;
}

/** Wraps an endpoint: opens the session lazily, commits it after the endpoint ran, sets the cookie. */
export function sessionRoute(endpoint: (ctx: RequestContext) => Promise<Response>) {
  return async (req: Request): Promise<Response> => {
    let s: Services;
    try {
      s = getServices();
    } catch (error) {
      return internalError(error);
    }
    const session = openSession(s, readCookie(req.headers.get("cookie"), s.config.cookie.name));
    let response: Response;
    try {
      response = await endpoint({ req, session, services: s });
      const header = setCookieHeader(await session.commit(), {
        name: s.config.cookie.name,
        domain: s.config.cookie.domain,
        secure: s.config.cookie.secure === "auto" ? isHttps(req, s.config.trustProxy) : s.config.cookie.secure === "always",
      });
      if (header) response.headers.append("set-cookie", header);
    } catch (error) {
      response = internalError(error);
    }
    response.headers.set("cache-control", "no-store");
    response.headers.append("vary", "Cookie");
    return served(response, s);
  };
}

export async function healthRoute(): Promise<Response> {
  try {
    const s = getServices();
    return served(await health(s), s);
  } catch (error) {
    return internalError(error);
  }
}

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
