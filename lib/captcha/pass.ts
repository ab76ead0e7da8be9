import { randomBytes } from "node:crypto";
import type { Session } from "@holdfast/session";
import { SPENT, type CaptchaLedger } from "./ledger";

/**
 * A solved captcha that survives a taken username or email. After a right answer whose
 * registration then fails on uniqueness (409), the session holds a reference to a single-use
 * record in the ledger, valid for config.passTtlMs (lib/env.ts): the next registration from that session may omit
 * the captcha. Like the captcha itself, the record lives on the server, so replaying a sealed
 * cookie that still names the pass finds nothing to take.
 */

const SESSION_KEY = "captchaPass";
/**
 * `pass2:` since takes leave a tombstone: a build from before them takes a record by deleting it
 * and checks only its expiry, so on a tombstone of `pass:` it would accept a pass twice during a
 * rolling deploy. Under this prefix it finds nothing (the pass reads as already used).
 */
const LEDGER_PREFIX = "pass2:";

interface PassRef {
  id: string;
  expiresAt: number;
}

/** `ttlMs`: config.passTtlMs, 5 minutes or the session's idle timeout where that is shorter. */
export async function grantPass(session: Session, ledger: CaptchaLedger, ttlMs: number, now = Date.now()): Promise<void> {
  const id = randomBytes(16).toString("base64url");
  const expiresAt = now + ttlMs;
  await ledger.put(LEDGER_PREFIX + id, { answerHash: "pass", expiresAt }, ttlMs);
  await session.set(SESSION_KEY, { id, expiresAt } satisfies PassRef);
}

/** How long the pass the session names has left, in ms (0 for none, or an expired one); takes nothing. */
export async function passLeftMs(session: Pick<Session, "get">, now = Date.now()): Promise<number> {
  const ref = await session.get<PassRef>(SESSION_KEY);
  return ref && typeof ref.id === "string" && typeof ref.expiresAt === "number" ? Math.max(0, ref.expiresAt - now) : 0;
}

/** Whether the session names a pass that has not expired; takes nothing. */
export async function hasPass(session: Pick<Session, "get">, now = Date.now()): Promise<boolean> {
  return (await passLeftMs(session, now)) > 0;
}

/**
 * What taking a pass found. `used`: another attempt took it first (the session no longer names
 * it, or the ledger holds it marked used); `lost`: the ledger does not hold it at all though it
 * was neither used nor expired (Redis evicted it, or another ledger); `expired`: it lapsed
 * between the check and the take.
 */
export type PassTake = "ok" | "used" | "lost" | "expired";

/** Consumes the session's pass, whatever the attempt's outcome. */
export async function takePass(session: Session, ledger: CaptchaLedger, now = Date.now()): Promise<PassTake> {
  const ref = await session.get<PassRef>(SESSION_KEY);
  if (!ref || typeof ref.id !== "string") return "used";
  await session.unset(SESSION_KEY);
  const record = await ledger.take(LEDGER_PREFIX + ref.id);
  if (record === SPENT) return "used";
  const expiresAt = record?.expiresAt ?? (typeof ref.expiresAt === "number" ? ref.expiresAt : 0);
  if (expiresAt <= now) return "expired";
  return record === null ? "lost" : "ok";
}
