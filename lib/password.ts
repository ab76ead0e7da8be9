import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * scrypt from node:crypto. The stored string records its parameters
 * (`scrypt$ln=17,r=8,p=1$<salt>$<hash>`), so the cost can be raised later and old hashes are
 * upgraded at the next login. ln=17, r=8, p=1 is OWASP's recommended minimum for scrypt.
 */

const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

interface Params {
  ln: number;
  r: number;
  p: number;
}

function derive(password: string, salt: Buffer, { ln, r, p }: Params): Promise<Buffer> {
  const N = 2 ** ln;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  const params = { ln: cost, r: BLOCK_SIZE, p: PARALLELISM };
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

function parse(stored: string): { params: Params; salt: Buffer; key: Buffer } | null {
  const match = /^scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return null;
  const [, ln, r, p, salt, key] = match;
  return { params: { ln: Number(ln), r: Number(r), p: Number(p) }, salt: Buffer.from(salt!, "base64"), key: Buffer.from(key!, "base64") };
}

/** Constant-time check; `needsRehash` says the stored hash is weaker than the current cost. */
export async function verifyPassword(
  password: string,
  stored: string,
  cost: number,
): Promise<{ ok: boolean; needsRehash: boolean }> {
  const parsed = parse(stored);
  if (!parsed) return { ok: false, needsRehash: false };
  const key = await derive(password, parsed.salt, parsed.params);
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  const { ln, r, p } = parsed.params;
  return { ok, needsRehash: ok && (ln < cost || r !== BLOCK_SIZE || p !== PARALLELISM) };
}

const dummies = new Map<number, Promise<string>>();

/**
 * A hash to verify against when the user does not exist, so an unknown login and a wrong
 * password cost the same time.
 */
export function dummyHash(cost: number): Promise<string> {
  let hash = dummies.get(cost);
  if (!hash) {
    hash = hashPassword(randomBytes(16).toString("hex"), cost);
    dummies.set(cost, hash);
  }
  return hash;
}
