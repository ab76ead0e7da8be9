import { hash as argon2Hash, parseOptions, verify as argon2Verify } from "@node-rs/argon2";
import { availableParallelism } from "node:os";
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashes. New ones are Argon2id (`@node-rs/argon2`, prebuilt binaries) at
 * OWASP's recommended minimum: m = 19 MiB, t = 2, p = 1. The cost is the memory in MiB
 * (PASSWORD_HASH_COST); the PHC string records every parameter, so a hash made at a lower cost,
 * or an older scrypt one (`scrypt$ln=17,r=8,p=1$<salt>$<hash>`), still verifies and is rehashed
 * at the next successful login.
 *
 * Hashing is CPU and memory on the thread pool, so an open sign-up form is a lever for starving
 * everything else. At most HASH_CONCURRENCY hashes run at once; a bounded number wait their
 * turn for a bounded time, and anything beyond that is refused at once with PasswordHashBusy,
 * which the endpoints answer as 503 `server_busy` with Retry-After. A registration takes its
 * place first (takeHashTicket), before it spends its captcha and proof of work.
 */

export const DEFAULT_MEMORY_MIB = 19;
const TIME_COST = 2;
const PARALLELISM = 1;
const ARGON2ID = 2;

/** Hashes at once: one core is always left for every other route (on 2 cores, one hash at a time). */
export const HASH_CONCURRENCY = Math.max(1, Math.min(4, availableParallelism() - 1));
/** How many may wait, and for how long, before a request is refused instead of queued. */
export const HASH_QUEUE_LIMIT = 64;
export const HASH_WAIT_MS = 5_000;

export class PasswordHashBusy extends Error {
  override name = "PasswordHashBusy";
}

let running = 0;
const waiting: { start: () => void; timer?: NodeJS.Timeout }[] = [];
/**
 * Tickets (takeHashTicket) whose hash has not started yet: at most HASH_QUEUE_LIMIT, a bound of
 * their own, so registrations busy with their captcha (no hash yet) never turn a login away;
 * with the other hashes' HASH_QUEUE_LIMIT, no more than twice that ever wait.
 */
let ticketsOut = 0;

/**
 * Runs one hash under the bound; refuses rather than queue without limit. A ticket's hash was
 * promised its place up front: it is never refused and waits its turn without the time limit
 * (the tickets' bound limits that wait); `started` says when it runs.
 */
async function bounded<T>(work: () => Promise<T>, ticket?: { started: () => void }): Promise<T> {
  if (running >= HASH_CONCURRENCY) {
    if (!ticket && waiting.length >= HASH_QUEUE_LIMIT) throw new PasswordHashBusy("too many password hashes waiting");
    await new Promise<void>((resolve, reject) => {
      const entry: (typeof waiting)[number] = {
        start: () => {
          clearTimeout(entry.timer);
          resolve();
        },
      };
      if (!ticket) {
        entry.timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(new PasswordHashBusy("waited too long for a password hash"));
        }, HASH_WAIT_MS);
      }
      waiting.push(entry);
    });
  } else {
    running++;
  }
  ticket?.started();
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    // The slot passes straight to the next in line, so `running` stays counted.
    if (next) next.start();
    else running--;
  }
}

function argon2Options(memoryMiB: number) {
  return { memoryCost: memoryMiB * 1024, timeCost: TIME_COST, parallelism: PARALLELISM, algorithm: ARGON2ID };
}

export async function hashPassword(password: string, memoryMiB: number): Promise<string> {
  return bounded(() => argon2Hash(password.normalize("NFKC"), argon2Options(memoryMiB)));
}

/** A place in the hash queue, taken before a request spends anything single-use. */
export interface HashTicket {
  /** Hashes under the bound, never refused: at most once per ticket. */
  hash(password: string, memoryMiB: number): Promise<string>;
  /** Gives the place back unused (safe to call after `hash`, and twice). */
  release(): void;
}

/**
 * For a request that will spend something single-use (a captcha, a proof of work) before its
 * hash: `server_busy` is then answered before anything is spent, or never, so a request refused
 * as busy can be sent again as it was. Throws PasswordHashBusy when the queue has no place.
 */
export function takeHashTicket(): HashTicket {
  if (ticketsOut >= HASH_QUEUE_LIMIT) throw new PasswordHashBusy("too many registrations hold a place for their password hash");
  ticketsOut++;
  let out = true;
  const giveBack = () => {
    if (out) ticketsOut--;
    out = false;
  };
  let used = false;
  return {
    hash(password, memoryMiB) {
      if (used || !out) return Promise.reject(new Error("this hash ticket was already used or released"));
      used = true;
      // Counted until its hash runs: waiting its turn, it still holds its place.
      return bounded(() => argon2Hash(password.normalize("NFKC"), argon2Options(memoryMiB)), { started: giveBack });
    },
    // Once its hash was asked for, the place is given back when that hash starts, not before.
    release: () => {
      if (!used) giveBack();
    },
  };
}

// scrypt, for hashes made before Argon2id became the default.
interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

function parseScrypt(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const match = /^scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return null;
  const [, ln, r, p, salt, key] = match;
  return { params: { ln: Number(ln), r: Number(r), p: Number(p) }, salt: Buffer.from(salt!, "base64"), key: Buffer.from(key!, "base64") };
}

function scryptDerive(password: string, salt: Buffer, keyLength: number, { ln, r, p }: ScryptParams): Promise<Buffer> {
  const N = 2 ** ln;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** An scrypt hash in the format this project wrote before Argon2id; for tests of the upgrade path. */
export async function hashPasswordScrypt(password: string, ln: number): Promise<string> {
  const params = { ln, r: 8, p: 1 };
  const salt = randomBytes(16);
  const key = await bounded(() => scryptDerive(password, salt, 32, params));
  return `scrypt$ln=${ln},r=8,p=1$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Constant-time check; `needsRehash` says the stored hash is not Argon2id at the current cost. */
export async function verifyPassword(password: string, stored: string, memoryMiB: number): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (stored.startsWith("$argon2")) {
    let options;
    try {
      options = parseOptions(stored);
    } catch {
      return { ok: false, needsRehash: false };
    }
    const ok = await bounded(() => argon2Verify(stored, password.normalize("NFKC"))).catch((error: unknown) => {
      if (error instanceof PasswordHashBusy) throw error;
      return false;
    });
    const weaker = options.algorithm !== ARGON2ID || options.memoryCost < memoryMiB * 1024 || options.timeCost < TIME_COST;
    return { ok, needsRehash: ok && weaker };
  }
  const parsed = parseScrypt(stored);
  if (!parsed) return { ok: false, needsRehash: false };
  const key = await bounded(() => scryptDerive(password, parsed.salt, parsed.key.length, parsed.params));
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  return { ok, needsRehash: ok };
}

const dummies = new Map<number, Promise<string>>();

/**
 * A hash to verify against when the user does not exist, made with the current default, so an
 * unknown login and a wrong password cost the same time.
 */
export function dummyHash(memoryMiB: number): Promise<string> {
  let hash = dummies.get(memoryMiB);
  if (!hash) {
    hash = hashPassword(randomBytes(16).toString("hex"), memoryMiB);
    dummies.set(memoryMiB, hash);
    hash.catch(() => dummies.delete(memoryMiB));
  }
  return hash;
}
