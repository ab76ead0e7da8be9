import { readCookie, readCookies, setCookieHeader } from "./cookie-header.js";
import { Session, type CookieChange } from "./session.js";
import type { SessionStore } from "./store.js";

/** Whether a request arrived over https, so the cookie may carry `Secure`. */
export type SecureRule = boolean | ((request: { headers: Headers; url?: string }) => boolean);

export interface SessionsOptions {
  store: SessionStore;
  cookie?: {
    /** Default `sid`. */
    name?: string;
    /** Leave unset for a host-only cookie (the safe default). */
    domain?: string;
    /**
     * `true` always, `false` never, or a function of the request. The default trusts only what the
     * request itself shows: its URL's scheme, else its `Origin` header's (a server action has no URL).
     */
    secure?: SecureRule;
  };
  /** A session unused this long is gone. Default 30 minutes. */
  idleTimeoutMs?: number;
  /**
   * The same for a session no one has logged in to (it holds only what a visitor left: a captcha,
   * a form's draft), at most `idleTimeoutMs`. Default `idleTimeoutMs`. A server-side store keeps
   * every such session this long, so a short one bounds what a stream of cookie-less requests
   * can make it hold.
   */
  anonymousIdleTimeoutMs?: number;
  /** A session older than this is gone however active. Default 7 days. */
  absoluteTimeoutMs?: number;
  /** Clock for tests. */
  now?: () => number;
}

/** Sessions over one store, with one cookie's settings: what an app creates once per process. */
export interface Sessions {
  readonly store: SessionStore;
  /** The cookie's name and, when set, its Domain. */
  readonly cookie: { readonly name: string; readonly domain: string | undefined };
  /** The session behind a cookie value (or none); nothing is read until it is used. */
  open(token: string | undefined): Session;
  /** The session behind a request's Cookie header: its first cookie by the name, opened with no read. */
  fromRequest(request: Request): Session;
  /**
   * The session behind a Cookie header that `handle` serves: with two cookies by the name (one
   * set under an earlier Domain or Path), the first that names a live session, which costs a read
   * of each; with one, that one, unread.
   */
  fromCookieHeader(header: string | null): Promise<Session>;
  /** The Set-Cookie header value a commit asks for, or null when the cookie stays. */
  cookieHeader(change: CookieChange, request: { headers: Headers; url?: string }): string | null;
  /**
   * Every Set-Cookie header a commit asks for: `cookieHeader`'s, and, when a Domain is set and the
   * request carried several cookies by the name, one that expires the host-only cookie kept from
   * before the Domain was set. A sealed one stays valid until it expires, so once the Domain
   * cookie was cleared (a logout) it would be served again.
   */
  cookieHeaders(change: CookieChange, request: { headers: Headers; url?: string }): string[];
  /** Whether the cookie is sent with `Secure` for this request. */
  secure(request: { headers: Headers; url?: string }): boolean;
  /**
   * Runs a handler with the request's session, commits it, and adds the Set-Cookie header, plus
   * `Cache-Control: no-store` and `Vary: Cookie`, since the answer depends on the session.
   */
  handle(request: Request, handler: (session: Session) => Promise<Response>): Promise<Response>;
}

const DEFAULT_IDLE_MS = 30 * 60_000;
const DEFAULT_ABSOLUTE_MS = 7 * 24 * 3_600_000;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function schemeIsHttps(request: { headers: Headers; url?: string }): boolean {
  const from = request.url ?? request.headers.get("origin") ?? undefined;
  if (!from) return false;
  try {
    return new URL(from).protocol === "https:";
  } catch {
    return false;
  }
}

export function createSessions(options: SessionsOptions): Sessions {
  const name = options.cookie?.name ?? "sid";
  if (!COOKIE_NAME.test(name)) throw new Error(`@holdfast/session: "${name}" is not a valid cookie name`);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const absoluteTimeoutMs = options.absoluteTimeoutMs ?? DEFAULT_ABSOLUTE_MS;
  if (!(idleTimeoutMs > 0 && absoluteTimeoutMs >= idleTimeoutMs)) {
    throw new Error("@holdfast/session: idleTimeoutMs must be positive and at most absoluteTimeoutMs");
  }
  const anonymousIdleTimeoutMs = options.anonymousIdleTimeoutMs ?? idleTimeoutMs;
  if (!(anonymousIdleTimeoutMs > 0 && anonymousIdleTimeoutMs <= idleTimeoutMs)) {
    throw new Error("@holdfast/session: anonymousIdleTimeoutMs must be positive and at most idleTimeoutMs");
  }
  const rule = options.cookie?.secure ?? schemeIsHttps;
  const secure = (request: { headers: Headers; url?: string }) => (typeof rule === "function" ? rule(request) : rule);
  const open = (token: string | undefined) => new Session(options.store, token, { idleTimeoutMs, anonymousIdleTimeoutMs, absoluteTimeoutMs, now: options.now });
  /**
   * The session of the first of several cookies by the session's name (four at most) that names a
   * live one, or of the first cookie. One cookie is opened as it is, with no read; several come from a cookie
   * set under another Domain or Path than today's, where the browser sends the older one first:
   * read as the only one, a stale cookie would make every request of that browser "no session
   * here" until it expired, however often the new one was set.
   */
  const openLive = async (tokens: string[]): Promise<Session> => {
    const candidates = tokens.map((token) => open(token));
    if (candidates.length < 2) return candidates[0] ?? open(undefined);
    // Read side by side: one round trip's wait, whichever is live.
    let states: string[];
    try {
      states = await Promise.all(candidates.map((candidate) => candidate.state()));
    } catch {
      // The store failed: the first cookie's session, unread, fails again where any session
      // would, at its first use (a route answers 503, a page says the store is unavailable).
      return open(tokens[0]);
    }
    const live = candidates.filter((_, i) => states[i] === "live");
    if (live.length < 2) return live[0] ?? candidates[0]!;
    // Several live ones (a sealed cookie from before a Domain change stays valid until it
    // expires, and the browser sends it first): the one written last is the one this site keeps
    // writing, so a captcha issued under the new Domain is found; a tie goes to the first sent.
    const times = await Promise.all(live.map((candidate) => candidate.lastActiveAt()));
    let latest = 0;
    times.forEach((time, i) => {
      if ((time ?? -Infinity) > (times[latest] ?? -Infinity)) latest = i;
    });
    return live[latest]!;
  };
  const cookieHeader = (change: CookieChange, request: { headers: Headers; url?: string }) =>
    setCookieHeader(change, { name, domain: options.cookie?.domain, secure: secure(request) }, (options.now ?? Date.now)());
  const cookieHeaders = (change: CookieChange, request: { headers: Headers; url?: string }): string[] => {
    const header = cookieHeader(change, request);
    if (header === null) return [];
    if (!options.cookie?.domain || readCookies(request.headers.get("cookie"), name).length < 2) return [header];
    const hostOnly = setCookieHeader({ kind: "clear" }, { name, domain: undefined, secure: secure(request) }, (options.now ?? Date.now)());
    return hostOnly === null ? [header] : [header, hostOnly];
  };

  return {
    store: options.store,
    cookie: { name, domain: options.cookie?.domain },
    open,
    fromRequest: (request) => open(readCookie(request.headers.get("cookie"), name)),
    fromCookieHeader: (header) => openLive(readCookies(header, name)),
    cookieHeader,
    cookieHeaders,
    secure,
    async handle(request, handler) {
      const session = await openLive(readCookies(request.headers.get("cookie"), name));
      const response = await handler(session);
      for (const header of cookieHeaders(await session.commit(), request)) response.headers.append("set-cookie", header);
      response.headers.set("cache-control", "no-store");
      response.headers.append("vary", "Cookie");
      return response;
    },
  };
}
