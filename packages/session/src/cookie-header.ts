import type { CookieChange } from "./session.js";

/** A Cookie header longer than this is ignored rather than parsed. */
export const MAX_COOKIE_HEADER_BYTES = 8 * 1024;

export interface CookieSettings {
  name: string;
  secure: boolean;
  domain: string | undefined;
}

/** The value of one cookie in a Cookie header; an empty value counts as no cookie. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header || header.length > MAX_COOKIE_HEADER_BYTES) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === "" ? undefined : value;
  }
  return undefined;
}

/** The Set-Cookie header for a change, or null when the cookie stays as it is. */
export function setCookieHeader(change: CookieChange, settings: CookieSettings, now = Date.now()): string | null {
  if (change.kind === "keep") return null;
  const parts =
    change.kind === "set"
      ? [`${settings.name}=${change.value}`, `Max-Age=${Math.max(0, Math.floor((change.expiresAt - now) / 1000))}`]
      : [`${settings.name}=`, "Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"];
  parts.push("Path=/", "HttpOnly", "SameSite=Lax");
  if (settings.domain) parts.push(`Domain=${settings.domain}`);
  if (settings.secure) parts.push("Secure");
  return parts.join("; ");
}
