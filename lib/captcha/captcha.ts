import { createHash, createHmac, randomBytes } from "node:crypto";
import { sameDigest, type Session } from "@holdfast/session";
import { drawCaptcha, type DrawnCaptcha } from "./draw";
import { SPENT, type CaptchaLedger, type PendingCaptcha } from "./ledger";
import { derivedKeys } from "../secret-keys";
import { normalizeAnswer } from "./text";

/** What the session holds: a reference to the server-side record, never the answer. */
interface PendingRef {
  id: string;
  expiresAt: number;
  usedAt?: number;
  /**
   * The session's earlier captchas that this one replaced while they were still live (another
   * tab of the site asked for a new one), or that an attempt for another image spent (see
   * spentKey), by ledger key, newest first: they no longer count, but an answer to one of them
   * is named as such rather than as a wrong answer.
   */
  replaced?: string[];
}

/**
 * The ledger key of a captcha that an attempt for another image spent (the site open in two
 * tabs: one tab's answer spends the captcha the other shows). Its record is put back under this
 * key, which no pending reference can name, so it can only ever make a later right answer to it
 * read "replaced" (never solve anything; a replayed cookie still finds the captcha itself gone).
 */
const spentKey = (id: string) => `~${id}`;
const idOfKey = (key: string) => (key.startsWith("~") ? key.slice(1) : key);

export type CaptchaCheck =
  | "ok"
  | "no_session"
  | "session_unknown"
  | "captcha_missing"
  | "captcha_expired"
  | "captcha_invalid"
  /** Wrong for the pending captcha, right for one it replaced: the image another tab showed. */
  | "captcha_replaced"
  /**
   * The session waits on a captcha, unused and unexpired, that the ledger does not hold and never
   * saw taken: the ledger lost it (evicted it, or this instance keeps another ledger than the one
   * that drew it). The answer was never checked.
   */
  | "captcha_lost";

/** How many replaced captchas a session remembers. */
const REPLACED_KEPT = 2;

export interface CaptchaOptions {
  ttlMs: number;
  /** The keys of the answers' HMACs (captchaKeys): the first issues, every one checks. */
  keys: readonly string[];
  now?: () => number;
  /** Where the answer and picture come from: drawn here unless given (see pool.ts). */
  draw?: () => DrawnCaptcha;
}

const SESSION_KEY = "captcha";

/**
 * The keys under which the ledger keeps answers, one per secret of SESSION_SECRET's list (the
 * first issues, all check, so a rotation keeps the captchas already on screen). Keyed, not a bare
 * hash: there are few enough answers that anyone who reads the ledger (a backup, a replica, a
 * Redis left open) would recover every pending one from a plain SHA-256 at once.
 */
export function captchaKeys(sessionSecrets: readonly string[]): string[] {
  return derivedKeys(sessionSecrets, "holdfast captcha answer key v1");
}

function answerHash(key: string, id: string, answer: string): string {
  return createHmac("sha256", key).update(`${id}:${normalizeAnswer(answer)}`).digest("hex");
}

/**
 * Records that expire by this time may still be kept as the bare SHA-256 that records had before
 * answers were keyed: drawn by an instance of an earlier build during a rolling deploy, for a
 * person who loaded the page before it. An hour after this process started none can be live.
 */
const BARE_HASHES_UNTIL = Date.now() + 60 * 60_000;

/** Whether an answer matches a record under any of the keys (or, for a record of before keyed answers, its bare hash). */
function answerMatches(keys: readonly string[], id: string, answer: string, record: PendingCaptcha): boolean {
  let match = false;
  for (const key of keys) match = sameDigest(answerHash(key, id, answer), record.answerHash) || match;
  if (record.expiresAt > BARE_HASHES_UNTIL) return match;
  return sameDigest(createHash("sha256").update(`${id}:${normalizeAnswer(answer)}`).digest("hex"), record.answerHash) || match;
}

/** Issues a captcha bound to the session, replacing any earlier one. */
export async function issueCaptcha(
  session: Session,
  ledger: CaptchaLedger,
  options: CaptchaOptions,
): Promise<DrawnCaptcha> {
  const now = (options.now ?? Date.now)();
  const drawn = (options.draw ?? drawCaptcha)();
  const { answer } = drawn;
  const id = randomBytes(16).toString("base64url");
  const expiresAt = now + options.ttlMs;
  // The session's read (a round trip on a server-side store) overlaps the ledger's write.
  session.prefetch();
  const key = options.keys[0];
  if (key === undefined) throw new Error("issueCaptcha: no key to keep the answer under");
  await ledger.put(id, { answerHash: answerHash(key, id, answer), expiresAt }, options.ttlMs);
  const earlier = await session.get<PendingRef>(SESSION_KEY);
  const live = earlier && typeof earlier.id === "string" && earlier.usedAt === undefined && earlier.expiresAt > now;
  // The earlier one, if still live, and what it remembered (a spent one's too).
  const remembered = earlier && Array.isArray(earlier.replaced) ? earlier.replaced.filter((key): key is string => typeof key === "string") : [];
  const replaced = [...(live ? [earlier.id] : []), ...remembered].slice(0, REPLACED_KEPT);
  await session.set(SESSION_KEY, { id, expiresAt, ...(replaced.length ? { replaced } : {}) } satisfies PendingRef);
  return drawn;
}

/**
 * Checks an answer and consumes the captcha, whatever the outcome. The ledger's atomic take is
 * what makes it single-use: a replayed old cookie still names the id, but finds a tombstone.
 */
export async function checkCaptcha(
  session: Session,
  ledger: CaptchaLedger,
  answer: string,
  options: Pick<CaptchaOptions, "now" | "keys">,
): Promise<CaptchaCheck> {
  if (!session.hasCookie) return "no_session";
  if ((await session.state()) !== "live") return "session_unknown";
  const pending = await session.get<PendingRef>(SESSION_KEY);
  if (!pending || typeof pending.id !== "string" || pending.usedAt !== undefined) return "captcha_missing";

  const now = (options.now ?? Date.now)();
  const record = await ledger.take(pending.id);
  // The session knows when its captcha expires; the ledger may have dropped the record by then
  // (a Redis TTL, the database's sweep), and that must read "expired", not "already used". Before
  // then, a tombstone means it was used (a replayed cookie, a double submit), and nothing at all
  // means the ledger lost it.
  const expired = typeof pending.expiresAt === "number" && pending.expiresAt <= now;
  let outcome: CaptchaCheck =
    record === null || record === SPENT
      ? expired
        ? "captcha_expired"
        : record === SPENT
          ? "captcha_missing"
          : "captcha_lost"
    : record.expiresAt <= now
      ? "captcha_expired"
      : answerMatches(options.keys, pending.id, answer, record)
        ? "ok"
        : "captcha_invalid";
  // Wrong for this captcha: was it right for one this one replaced? Those are taken too, so each
  // still answers once; none of them counts as solved.
  if (outcome === "captcha_invalid" && Array.isArray(pending.replaced) && (await answersReplaced(ledger, pending.replaced, answer, now, options.keys))) {
    outcome = "captcha_replaced";
  }
  // A failed attempt leaves a marker rather than nothing, so the session lives on and a retry
  // reads "missing", not "no session"; a solved one leaves nothing behind.
  if (outcome === "ok") {
    await session.unset(SESSION_KEY);
    return outcome;
  }
  // An answer that did not match the captcha it spent may have been meant for another image of
  // this session (another tab): the spent one is remembered, so its own right answer, sent from
  // the tab that shows it, is named "replaced", not a typing mistake.
  const spent = record !== null && record !== SPENT && record.expiresAt > now && (outcome === "captcha_invalid" || outcome === "captcha_replaced");
  if (spent) await ledger.put(spentKey(pending.id), record, record.expiresAt - now);
  await session.set(SESSION_KEY, { id: pending.id, expiresAt: pending.expiresAt, usedAt: now, ...(spent ? { replaced: [spentKey(pending.id)] } : {}) } satisfies PendingRef);
  return outcome;
}

async function answersReplaced(ledger: CaptchaLedger, ledgerKeys: unknown[], answer: string, now: number, keys: readonly string[]): Promise<boolean> {
  const records = await Promise.all(ledgerKeys.filter((key): key is string => typeof key === "string").slice(0, REPLACED_KEPT).map(async (key) => ({ id: idOfKey(key), record: await ledger.take(key) })));
  return records.some(({ id, record }) => record !== null && record !== SPENT && record.expiresAt > now && answerMatches(keys, id, answer, record));
}
