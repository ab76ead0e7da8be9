import { createHmac, randomUUID } from "node:crypto";
import { dbCall, sql, uniqueViolation, type Db } from "./db";
import { dummyHash, hashPassword, verifyPassword } from "./password";
import { derivedKeys } from "./secret-keys";
import { asciiDomain, emailForm } from "./validation";

export interface PublicUser {
  id: string;
  username: string;
  email: string;
}

/** `passwordHash`: what was stored (the device cookie is signed over it). */
export type CreateUserResult =
  | { ok: true; user: PublicUser; passwordHash: string }
  /** `email_taken` when the email is (the person may have an account), and every taken field in `taken`. */
  | { ok: false; code: "username_taken" | "email_taken"; taken: ("username" | "email")[] };

/** Usernames are unique regardless of case; the key is what the unique index holds. */
export const usernameKey = (username: string) => username.toLowerCase();

/**
 * Registrations in flight in this process, by the unique keys they claim (`u:<username key>`,
 * `e:<email>`). A burst of sign-ups with one email (a double submit, a script) would otherwise
 * pass the cheap look together and each pay a slow hash before the unique index turns all but
 * one away: the rest wait for the first here, then look again and answer 409 without hashing.
 */
const inFlight = new Map<string, Promise<void>>();

export interface CreateUserOptions {
  /** The password hash; tests count calls with their own. */
  hash?: (password: string) => Promise<string>;
}

export async function createUser(
  db: Db,
  input: { username: string; email: string; password: string },
  hashCost: number,
  options: CreateUserOptions = {},
): Promise<CreateUserResult> {
  const key = usernameKey(input.username);
  const email = input.email.toLowerCase();
  const claims = [`u:${key}`, `e:${email}`];
  for (;;) {
    const ahead = claims.flatMap((c) => inFlight.get(c) ?? []);
    if (ahead.length) {
      await Promise.all(ahead);
      continue;
    }
    // A cheap look first spares a slow hash for the common case; the unique indexes decide races
    // (between instances, or with a registration that claimed a key during this look).
    // Both names at once: a person told only of the username would fix it, try again, and only
    // then hear that the email has an account.
    const { rows } = await dbCall(() =>
      sql(db).query<{ username_key: string; email: string }>("SELECT username_key, email FROM users WHERE username_key = $1 OR email = $2 LIMIT 2", [key, email]),
    );
    const taken = (["username", "email"] as const).filter((field) => rows.some((row) => (field === "username" ? row.username_key === key : row.email === email)));
    if (taken.length) return { ok: false, code: taken.includes("email") ? "email_taken" : "username_taken", taken };
    if (!claims.some((c) => inFlight.has(c))) break;
  }

  let release!: () => void;
  const claimed = new Promise<void>((resolve) => (release = resolve));
  for (const c of claims) inFlight.set(c, claimed);
  try {
    return await insertUser(db, input, key, email, await (options.hash ?? ((password) => hashPassword(password, hashCost)))(input.password));
  } finally {
    for (const c of claims) if (inFlight.get(c) === claimed) inFlight.delete(c);
    release();
  }
}

async function insertUser(db: Db, input: { username: string }, key: string, email: string, passwordHash: string): Promise<CreateUserResult> {
  try {
    // Plain SQL on the pg pool, as the other hot-path queries are (bench/hot-paths.ts: Prisma's
    // create costs several times this round trip); Prisma keeps the schema and migrations.
    const { rows: created } = await dbCall(() =>
      sql(db).query<PublicUser>(
        "INSERT INTO users (id, username, username_key, email, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id, username, email",
        [randomUUID(), input.username, key, email, passwordHash],
      ),
    );
    const row = created[0]!;
    return { ok: true, user: { id: row.id, username: row.username, email: row.email }, passwordHash };
  } catch (error) {
    const violation = uniqueViolation(error);
    if (violation === null) throw error;
    return /username/.test(violation) ? { ok: false, code: "username_taken", taken: ["username"] } : { ok: false, code: "email_taken", taken: ["email"] };
  }
}

/** What a login names: the user, if any. */
export interface Account {
  user: (PublicUser & { passwordHash: string }) | null;
}

/**
 * The per-account login limit's key for a login as typed: an HMAC, under a key derived from
 * SESSION_SECRET, of `u:<username key>` or `e:<email>`, whether an account has it or not, so the
 * limits' table (or Redis) never holds what people typed (an email, a password pasted into the
 * wrong box), nor anything a dictionary could turn back into it. Never the user's id: a username
 * and its email counting together would link them, since a limit reached by one name would show
 * on the other. Under the first secret only: a rotation starts the counts afresh.
 */
export const loginKey = (login: string, secrets: readonly string[]) => {
  const { column, value } = loginLookup(login);
  return `h:${createHmac("sha256", derivedKeys(secrets, LOGIN_LIMIT_LABEL)[0]!)
    .update(`${column === "email" ? "e" : "u"}:${value}`)
    .digest("base64url")}`;
};

/** Where a login as typed is looked up: an email in the form it is kept in (emailForm), a username by its key. */
function loginLookup(login: string): { column: "email" | "username_key"; value: string } {
  return login.includes("@") ? { column: "email", value: emailForm(login) } : { column: "username_key", value: usernameKey(login) };
}

const LOGIN_LIMIT_LABEL = "holdfast login limit key v1";

type UserRow = { id: string; username: string; email: string; password_hash: string };

/**
 * The account a login names. Names and addresses are ASCII, and only ASCII is folded to lower
 * case: `toLowerCase` would also turn the Kelvin sign (U+212A) into `k`, so a look-alike name
 * would log in as the account it imitates. An email's domain alone goes through IDNA first (as a
 * browser's email field sends it), whose mapping folds such letters in the domain by its own rules.
 */
export async function findAccount(db: Db, login: string): Promise<Account> {
  const { column, value } = loginLookup(login);
  // Checked before case folding; an email's domain in IDNA's form, which is ASCII.
  if (!/^[\x21-\x7e]+$/.test(column === "email" ? asciiDomain(login) : login)) return { user: null };
  const { rows } = await dbCall(() => sql(db).query<UserRow>(`SELECT id, username, email, password_hash FROM users WHERE ${column} = $1`, [value]));
  const row = rows[0];
  const user = row ? { id: row.id, username: row.username, email: row.email, passwordHash: row.password_hash } : null;
  return { user };
}

/** A user whose password matched, with the hash it matched (or the one it was upgraded to). */
export interface Verified {
  user: PublicUser;
  passwordHash: string;
}

/**
 * The account's user when the password matches, or null. An unknown account is checked against
 * a dummy hash, so both failures take the same path and the same time. A hash below the current
 * cost is upgraded, only if it is still the one that matched: a password changed meanwhile is
 * neither overwritten nor accepted.
 */
export async function checkPassword(db: Db, { user }: Account, password: string, hashCost: number): Promise<Verified | null> {
  const { ok, needsRehash } = await verifyPassword(password, user?.passwordHash ?? (await dummyHash(hashCost)), hashCost);
  if (!user || !ok) return null;
  let passwordHash = user.passwordHash;
  if (needsRehash) {
    const upgraded = await hashPassword(password, hashCost);
    if (await replaceHash(db, user.id, user.passwordHash, upgraded)) passwordHash = upgraded;
    else {
      // Another request replaced the hash meanwhile: a concurrent login's upgrade (the password
      // still matches what won) or a password change (it does not).
      const current = await storedHash(db, user.id);
      if (current === null || !(await verifyPassword(password, current, hashCost)).ok) return null;
      passwordHash = current;
    }
  }
  return { user: { id: user.id, username: user.username, email: user.email }, passwordHash };
}

export async function authenticate(db: Db, login: string, password: string, hashCost: number): Promise<PublicUser | null> {
  return (await checkPassword(db, await findAccount(db, login), password, hashCost))?.user ?? null;
}

/** Sets a new hash where the old one is still in place; false when it no longer is. */
async function replaceHash(db: Db, userId: string, old: string, passwordHash: string): Promise<boolean> {
  const { count } = await dbCall(() => db.user.updateMany({ where: { id: userId, passwordHash: old }, data: { passwordHash } }));
  return count === 1;
}

/** The user's password hash as stored now, or null for no such user. */
export async function storedHash(db: Db, userId: string): Promise<string | null> {
  const { rows } = await dbCall(() => sql(db).query<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [userId]));
  return rows[0]?.password_hash ?? null;
}

/**
 * Whether `password`, which matched `passwordHash`, is still the user's password: the same hash,
 * or (after another login upgraded it) a newer one it still matches.
 */
export async function passwordUnchanged(db: Db, userId: string, passwordHash: string, password: string, hashCost: number): Promise<boolean> {
  const current = await storedHash(db, userId);
  if (current === passwordHash) return true;
  return current !== null && (await verifyPassword(password, current, hashCost)).ok;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findUser(db: Db, id: string): Promise<PublicUser | null> {
  if (!UUID.test(id)) return null;
  const { rows } = await dbCall(() => sql(db).query<PublicUser>("SELECT id, username, email FROM users WHERE id = $1", [id]));
  return rows[0] ?? null;
}

/**
 * Replaces a user's password after checking the current one, and returns the hash now stored;
 * null when the current one is wrong, or stopped being current while it was checked (another
 * change won).
 */
export async function changePassword(db: Db, userId: string, current: string, next: string, hashCost: number): Promise<string | null> {
  const stored = await storedHash(db, userId);
  if (stored === null || !(await verifyPassword(current, stored, hashCost)).ok) return null;
  const replacement = await hashPassword(next, hashCost);
  if (await replaceHash(db, userId, stored, replacement)) return replacement;
  // Another request replaced the hash meanwhile. The same change sent twice (a double submit) is
  // done; a login's upgrade of the same password may be replaced once more; anything else won.
  const now = await storedHash(db, userId);
  if (now === null) return null;
  if ((await verifyPassword(next, now, hashCost)).ok) return now;
  return (await verifyPassword(current, now, hashCost)).ok && (await replaceHash(db, userId, now, replacement)) ? replacement : null;
}
