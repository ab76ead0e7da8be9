import type { SessionRecord, SessionStore } from "../store.js";
import { hashToken, newToken } from "../token.js";
import { luaScript, type RedisTransport } from "../redis/transport.js";

/**
 * Sessions in Redis, over any transport. A session is one key, `<prefix>:sess:<sha256(token)>`,
 * that expires with it; a logged-in user's sessions are also listed in one set,
 * `<prefix>:user:{<userId>}:sessions`, so they can be revoked together.
 *
 * No command touches two keys, so a Redis Cluster (where two keys may live on two nodes) and
 * Upstash take every call. Where a session and its user's set change together, the steps run in
 * an order that is safe if the process stops between them:
 * - a write for a logged-in user adds to the set first, then writes the session. A set entry
 *   without a session is harmless (revoking deletes a key that is not there); a session missing
 *   from the set could not be revoked, so that order never happens.
 * - a rotation deletes the old session first, then writes the new one: stopping between them
 *   logs the person out, which is safe; the other order could leave a pre-login token alive.
 * - revocation lists the set, deletes each session, then removes exactly those entries. A
 *   session created meanwhile is not in the list it read, as if created just after.
 */

// Only ever extends the set's lifetime, so it outlives the longest session listed in it.
const INDEX = luaScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`);

export interface RedisStoreOptions {
  /** Prepended to every key, so one Redis can hold several apps. Default `holdfast`. */
  prefix?: string;
}

export interface RedisStore extends SessionStore {
  readonly transport: RedisTransport;
  /**
   * Writes a record under a token issued elsewhere, never overwriting (NX); false when the key
   * exists. For a store layered on this one, whose tokens come from its own backend. The TTL is
   * `expiresAt - record.lastActiveAt`, as for `create`.
   */
  put(token: string, record: SessionRecord, expiresAt: number): Promise<boolean>;
}

const PREFIX = /^[A-Za-z0-9:_.-]{1,64}$/;

export function createRedisStore(transport: RedisTransport, options: RedisStoreOptions = {}): RedisStore {
  const prefix = options.prefix ?? "holdfast";
  if (!PREFIX.test(prefix)) throw new Error(`@holdfast/session redis store: the prefix "${prefix}" may hold only letters, digits and : _ . -`);
  const sessionKey = (hash: string) => `${prefix}:sess:${hash}`;
  // The braces make the user's id the key's hash tag: one user's set always lives in one slot.
  const userKey = (userId: string) => `${prefix}:user:{${userId}}:sessions`;

  /** `first` runs alongside the index step, and both finish before the session is written. */
  async function write(token: string, record: SessionRecord, expiresAt: number, mode: "NX" | "XX", first?: Promise<unknown>): Promise<boolean> {
    const hash = hashToken(token);
    // Milliseconds left, measured on the record's own clock so an injected clock works too.
    const ttl = String(Math.max(1, expiresAt - record.lastActiveAt));
    await Promise.all([first, record.userId ? INDEX(transport, [userKey(record.userId)], [hash, ttl]) : undefined]);
    return (await transport.send(["SET", sessionKey(hash), JSON.stringify(record), mode, "PX", ttl])) === "OK";
  }

  async function fresh(record: SessionRecord, expiresAt: number, first?: Promise<unknown>): Promise<string> {
    const token = newToken();
    if (!(await write(token, record, expiresAt, "NX", first))) throw new Error("@holdfast/session redis store: a new session token collided");
    return token;
  }

  return {
    name: "redis",
    revocable: true,
    shared: true,
    transport,
    create: (record, expiresAt) => fresh(record, expiresAt),
    async read(token) {
      const raw = await transport.send(["GET", sessionKey(hashToken(token))]);
      return typeof raw === "string" ? parseRecord(raw) : null;
    },
    async update(token, record, expiresAt) {
      return (await write(token, record, expiresAt, "XX")) ? token : null;
    },
    rotate: (oldToken, record, expiresAt) => fresh(record, expiresAt, transport.send(["DEL", sessionKey(hashToken(oldToken))])),
    put: (token, record, expiresAt) => write(token, record, expiresAt, "NX"),
    async delete(token) {
      await transport.send(["DEL", sessionKey(hashToken(token))]);
    },
    async revokeUser(userId, except) {
      const keep = except === undefined ? "" : hashToken(except);
      const listed = (await transport.send(["SMEMBERS", userKey(userId)])) as string[];
      const doomed = listed.filter((hash) => hash !== keep);
      if (doomed.length === 0) return 0;
      // One key per command: on a cluster the sessions may live on different nodes.
      const deleted = await Promise.all(doomed.map((hash) => transport.send(["DEL", sessionKey(hash)])));
      await transport.send(["SREM", userKey(userId), ...doomed]);
      return deleted.reduce<number>((n, d) => n + Number(d), 0);
    },
    async ping() {
      await transport.send(["PING"]);
    },
  };
}

function parseRecord(raw: string): SessionRecord | null {
  try {
    const value = JSON.parse(raw) as SessionRecord;
    return typeof value.createdAt === "number" && typeof value.lastActiveAt === "number" && typeof value.data === "object" ? value : null;
  } catch {
    return null;
  }
}
