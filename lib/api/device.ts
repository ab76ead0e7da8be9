import { createHmac, randomBytes } from "node:crypto";
import { readCookie, sameDigest, setCookieHeader } from "@holdfast/session";
import type { Config } from "../env";
import { derivedKeys } from "../secret-keys";

/**
 * The device cookie (OWASP's defence against lockout by the per-account login limit): a browser
 * that once logged in to an account, or created it, carries a signed note of that account. Its
 * logins to that account count against a limit of their own, per device, rather than against the
 * account name's, which anyone can exhaust from anywhere with wrong passwords. So a stranger who
 * fills an account's budget locks out only browsers the owner never used; the owner's own logs
 * in. The note names the account by id and a random nonce, signed with a key derived from
 * SESSION_SECRET (every secret of the list checks) over those and the account's password hash as
 * it stood: a password change voids every device cookie of the account, so one minted by whoever
 * knew the old password buys no budget against the new one. It grants nothing else, and names one
 * account: a login to another account replaces it.
 */

const LIFETIME_MS = 365 * 24 * 60 * 60_000;
const keys = (secrets: readonly string[]) => derivedKeys(secrets, "holdfast device cookie key v1");

/** What the signature covers: the cookie's own parts, and the password hash they were issued under. */
const sign = (key: string, body: string, passwordHash: string) => createHmac("sha256", key).update(`${body}\0${passwordHash}`).digest("hex");

/** The device cookie's name: the session cookie's, with `_device` (a `__Host-` name stays one). */
export const deviceCookieName = (config: Pick<Config, "cookie">) => `${config.cookie.name}_device`;

export interface Device {
  userId: string;
  /** What its own login limit counts by. */
  nonce: string;
}

/** The account and nonce the request's device cookie claims, unchecked: check it with `deviceHolds`. */
export function claimedDevice(req: Request, config: Pick<Config, "cookie">): (Device & { mac: string }) | null {
  const value = readCookie(req.headers.get("cookie"), deviceCookieName(config));
  const parts = value?.split(".");
  if (!parts || parts.length !== 4 || parts[0] !== "d1") return null;
  const [, userId, nonce, mac] = parts as [string, string, string, string];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(userId) || !/^[A-Za-z0-9_-]{22}$/.test(nonce)) return null;
  return { userId, nonce, mac };
}

/** Whether a claimed device cookie was issued by this site for `userId` under its current password hash. */
export function deviceHolds(device: (Device & { mac: string }) | null, userId: string, passwordHash: string, config: Pick<Config, "secrets">): device is Device & { mac: string } {
  if (!device || device.userId !== userId) return false;
  const body = `d1.${device.userId}.${device.nonce}`;
  return keys(config.secrets).some((key) => sameDigest(sign(key, body, passwordHash), device.mac));
}

/**
 * The Set-Cookie header that makes this browser a known device of the account, for a year from
 * now (every login issues it again: a browser in use keeps it), under the password hash it has.
 */
export function deviceCookie(userId: string, passwordHash: string, config: Pick<Config, "cookie" | "secrets">, secure: boolean, now = Date.now()): string {
  const body = `d1.${userId}.${randomBytes(16).toString("base64url")}`;
  const value = `${body}.${sign(keys(config.secrets)[0]!, body, passwordHash)}`;
  // Host-only whatever SESSION_COOKIE_DOMAIN says: it is read by this site's login alone.
  return setCookieHeader({ kind: "set", value, expiresAt: now + LIFETIME_MS }, { name: deviceCookieName(config), secure, domain: undefined }, now)!;
}
