/**
 * @holdfast/session: server-side sessions for web-standard Request/Response apps (Next.js route
 * handlers, server actions and components through `@holdfast/session/next`). This entry point
 * is the framework-free core; stores are subpath exports, each the only place its driver is imported.
 */
export { Session, type CookieChange, type SessionOptions, type SessionState } from "./session.js";
export { createSessions, type SecureRule, type Sessions, type SessionsOptions } from "./sessions.js";
export { SessionTooLargeError, StoreUnavailableError, type SessionData, type SessionRecord, type SessionStore } from "./store.js";
export { cookieFor, readCookie, setCookieHeader, type CookieSettings } from "./cookie-header.js";
export { hashToken, newToken, sameDigest } from "./token.js";
export { consoleLogger, silentLogger, type Logger } from "./logger.js";
export { observeStore, type ObservedCall, type StoreCall } from "./observe.js";
