import { createHash } from "node:crypto";
import { sealData, unsealData } from "iron-session";
import { SessionTooLargeError, type SessionRecord, type SessionStore } from "../store.js";

const UNSEAL_CACHE_SIZE = 1_000;

/**
 * iron-session writes `<iron seal>~2` and reads the version with parseInt, so `~2x` or `~20`
 * would unseal too. The iron part is covered by its HMAC character for character; the suffix
 * is not, so a token is accepted only in the one spelling sealing produces.
 */
const CANONICAL_SEAL = /^Fe26\.2\*[^~]+~2$/;

/** Browsers drop a cookie whose name and value exceed this many bytes. */
export const MAX_COOKIE_BYTES = 4096;

export interface CookieStoreOptions {
  /** The first seals; every one unseals, so a secret can be rotated without logging everyone out. */
  secrets: string[];
  cookieName: string;
  /** Lifetime of a seal in seconds, as a backstop to the core's own idle and absolute checks. */
  ttlSeconds: number;
}

/**
 * The session itself, sealed (encrypted and authenticated) into the cookie. The documented
 * exception to "a store never sees a cookie": the token is the data. Nothing lives on the
 * server, so a destroyed session's old cookie stays valid until it expires (not revocable).
 */
export function createCookieStore(options: CookieStoreOptions): SessionStore {
  // A secret's id is derived from the secret, so reordering or removing others never strands a seal.
  const idOf = (secret: string) => String(parseInt(createHash("sha256").update(secret).digest("hex").slice(0, 8), 16));
  const first = options.secrets[0];
  if (!first) throw new Error("@holdfast/session cookie store: at least one secret is required");
  const sealWith = { [idOf(first)]: first };
  const unsealWith = Object.fromEntries(options.secrets.map((s) => [idOf(s), s]));
  const ttl = options.ttlSeconds;
  // Unsealing costs a key derivation and two WebCrypto calls; a browser sends the same cookie
  // again and again, so recent results are kept (by the sealed string, which authenticates itself).
  const opened = new Map<string, SessionRecord>();
  const remember = (token: string, record: SessionRecord) => {
    if (opened.size >= UNSEAL_CACHE_SIZE) opened.delete(opened.keys().next().value!);
    opened.set(token, record);
  };

  async function seal(record: SessionRecord): Promise<string> {
    const value = await sealData(record, { password: sealWith, ttl });
    remember(value, structuredClone(record));
    const bytes = Buffer.byteLength(options.cookieName) + 1 + value.length;
    if (bytes > MAX_COOKIE_BYTES) {
      throw new SessionTooLargeError(
        `@holdfast/session cookie store: the sealed session is ${bytes} bytes, above the ${MAX_COOKIE_BYTES} a browser keeps; store less in the session or use a server-side store`,
      );
    }
    return value;
  }

  return {
    name: "cookie",
    revocable: false,
    shared: true,
    create: (record) => seal(record),
    async read(token) {
      if (!CANONICAL_SEAL.test(token)) return null;
      const known = opened.get(token);
      if (known) return structuredClone(known);
      try {
        const record = await unsealData<Partial<SessionRecord>>(token, { password: unsealWith, ttl });
        if (!isRecord(record)) return null;
        remember(token, structuredClone(record));
        return record;
      } catch {
        // A tampered, truncated or foreign cookie is no session, never an error.
        return null;
      }
    },
    update: (_token, record) => seal(record),
    async delete() {},
    async ping() {},
  };
}

function isRecord(value: Partial<SessionRecord>): value is SessionRecord {
  return (
    typeof value.createdAt === "number" &&
    typeof value.lastActiveAt === "number" &&
    (value.userId === null || typeof value.userId === "string") &&
    typeof value.data === "object" &&
    value.data !== null &&
    !Array.isArray(value.data)
  );
}
