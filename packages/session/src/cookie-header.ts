import type { CookieChange } from "./session.js";

export interface CookieSettings {
  name: string;
  secure: boolean;
  domain: string | undefined;
}

/** A cookie's value as sent: RFC 6265 lets it stand in double quotes, which are no part of it (`""` is empty). */
function valueOf(part: string, eq: number): string {
  const value = part.slice(eq + 1).trim();
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * The value of one cookie in a Cookie header; an empty value (`""` too) counts as no cookie. A long header
 * is read as any other (the server in front already bounds its size): ignoring one would treat a
 * browser that carries many other cookies as logged out, and its logout would end nothing.
 */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = valueOf(part, eq);
    return value === "" ? undefined : value;
  }
  return undefined;
}

/**
 * How many cookies of one name are looked at: a browser holds one per domain and path it was set
 * for, so each change of Domain adds one (host-only, then `example.com`, then `www.example.com`
 * is three). Each costs a store read, read side by side, so no more than four.
 */
const MOST_CANDIDATES = 4;

/**
 * Every non-empty value of one cookie in a Cookie header, in the order the browser sent them, at
 * most four. A browser holds one cookie per name, domain and path: a site whose cookie Domain
 * changed (unset, then `.example.com`) sends the old one first, since it is older.
 */
export function readCookies(header: string | null, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = valueOf(part, eq);
    if (value !== "" && !values.includes(value)) values.push(value);
    if (values.length === MOST_CANDIDATES) break;
  }
  return values;
}

/** The cookie a change asks for, as attributes: what a framework's cookie API takes. Null when the cookie stays as it is. */
export function cookieFor(
  change: CookieChange,
  settings: CookieSettings,
  now = Date.now(),
): { name: string; value: string; maxAge: number; path: "/"; httpOnly: true; sameSite: "lax"; domain?: string; secure: boolean } | null {
  if (change.kind === "keep") return null;
  const maxAge = change.kind === "set" ? Math.max(0, Math.floor(((change.keepUntil ?? change.expiresAt) - now) / 1000)) : 0;
  return {
    name: settings.name,
    value: change.kind === "set" ? change.value : "",
    maxAge,
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    ...(settings.domain ? { domain: settings.domain } : {}),
    secure: settings.secure,
  };
}

/** The Set-Cookie header for a change, or null when the cookie stays as it is. */
export function setCookieHeader(change: CookieChange, settings: CookieSettings, now = Date.now()): string | null {
  const cookie = cookieFor(change, settings, now);
  if (!cookie) return null;
  const parts = [`${cookie.name}=${cookie.value}`, `Max-Age=${cookie.maxAge}`];
  if (change.kind === "clear") parts.push("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  parts.push("Path=/", "HttpOnly", "SameSite=Lax");
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.secure) parts.push("Secure");
  return parts.join("; ");
}
