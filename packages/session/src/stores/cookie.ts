import { createHash } from "node:crypto";
import * as Iron from "@hapi/iron";
import { SessionTooLargeError, type SessionRecord, type SessionStore } from "../store.js";

const UNSEAL_CACHE_SIZE = 1_000;

/**
 * A token is an iron seal (`Fe26.2*…`, @hapi/iron: AES-256-CBC and HMAC-SHA-256 under keys
 * derived from the secret) followed by `~2`, the spelling iron-session 8 writes and reads, so
 * cookies sealed by either open with the other and no one is logged out by the change. The iron
 * part is covered by its HMAC character for character; the suffix is not, so a token is accepted
 * only in the one spelling sealing produces.
 */
const CANONICAL_SEAL = /^Fe26\.2\*[^~]+~2$/;
const SUFFIX = "~2";

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
/** A secret's id in a seal, derived from the secret, so reordering or removing others never strands a seal. */
const idOf = (secret: string) => String(parseInt(createHash("sha256").update(secret).digest("hex").slice(0, 8), 16));

/**
 * The secrets by the ids the seals name, as iron-session 8's `unsealData({ password })` takes
 * them: what another reader of these cookies (an edge function with iron-session, say) needs.
 * No prototype: the id in a token picks the secret, and `constructor` must find nothing.
 */
export function sealPasswords(secrets: readonly string[]): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(secrets.map((s) => [idOf(s), s])));
}

export function createCookieStore(options: CookieStoreOptions): SessionStore {
  const first = options.secrets[0];
  if (!first) throw new Error("@holdfast/session cookie store: at least one secret is required");
  const sealWith = { id: idOf(first), secret: first };
  const unsealWith = sealPasswords(options.secrets);
  const iron: Iron.SealOptions = { ...Iron.defaults, ttl: options.ttlSeconds * 1000 };
  // Unsealing costs two key derivations, an HMAC and a decryption; a browser sends the same cookie
  // again and again, so recent results are kept (by the sealed string, which authenticates itself).
  const opened = new Map<string, SessionRecord>();
  const remember = (token: string, record: SessionRecord) => {
    if (opened.size >= UNSEAL_CACHE_SIZE) opened.delete(opened.keys().next().value!);
    opened.set(token, record);
  };

  async function seal(record: SessionRecord): Promise<string> {
    const value = `${await Iron.seal(record, sealWith, iron)}${SUFFIX}`;
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
        const record: unknown = await Iron.unseal(token.slice(0, -SUFFIX.length), unsealWith, iron);
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

function isRecord(unsealed: unknown): unsealed is SessionRecord {
  if (typeof unsealed !== "object" || unsealed === null) return false;
  const value = unsealed as Partial<SessionRecord>;
  return (
    typeof value.createdAt === "number" &&
    typeof value.lastActiveAt === "number" &&
    (value.userId === null || typeof value.userId === "string") &&
    typeof value.data === "object" &&
    value.data !== null &&
    !Array.isArray(value.data)
  );
}
