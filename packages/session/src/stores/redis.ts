import { consoleLogger, type Logger } from "../logger.js";
import type { SessionRecord, SessionStore } from "../store.js";
import { hashToken, newToken } from "../token.js";
import { luaScript, type RedisTransport } from "../redis/transport.js";

/**
 * Sessions in Redis, over any transport. A session is one key, `<prefix>:sess:<sha256(token)>`,
 * that expires with it; a logged-in user's sessions are also listed in one sorted set,
 * `<prefix>:user:{<userId>}:sessions:z`, so they can be revoked together. Each entry is scored
 * with the time, on that node's clock, after which its session cannot be alive; every write to
 * the index first drops the entries past it, so it holds the sessions written within one
 * lifetime, not every session the user ever had. (Builds before it kept a plain set at
 * `…:sessions`, which revocation still reads and cleans: a rolling deploy's two builds never
 * write one key with two types.)
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
 *
 * With `waitForReplicas`, every write and delete of a session is followed by WAIT on the node
 * that took it, before the next step or the answer; the order above then holds on the replicas
 * too, so a failover cannot keep a session whose set entry it lost.
 */

// A minute past a session's own end before its entry may go: the entry's clock (the index's node)
// and the session's (its key's node) may differ, and an entry dropped while its session still
// lives would make that session impossible to revoke.
const ENTRY_GRACE_MS = 60_000;

// Adds or re-scores one session (scored with when it ends, on Redis's clock, plus the grace),
// drops the entries whose sessions have ended, and only ever extends the index's own lifetime,
// so it outlives every session listed in it.
const INDEX = luaScript(`
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2]) + ${ENTRY_GRACE_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`);

export interface RedisStoreOptions {
  /** Prepended to every key, so one Redis can hold several apps. Default `holdfast`. */
  prefix?: string;
  /**
   * Replicas that must hold each session write before the store answers: Redis `WAIT` after each
   * write, on the node that took it, so a failover that promotes one of them keeps the session.
   * 0, the default, does not wait. Refused over REST, where WAIT has no connection to count.
   */
  waitForReplicas?: number;
  /**
   * The longest one write waits for them, 1 to 1000 ms; default 50. A write that reached fewer
   * stands and its request succeeds: it did happen on the primary, and a 503 would make the
   * client retry a write that exists. The shortfall is logged. The wait holds that node's
   * connection, which other requests share, so keep it short.
   */
  waitTimeoutMs?: number;
  /** Where a write that reached fewer replicas is reported, at most once every 10 s. */
  logger?: Logger;
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
  const replicated = replication(transport, options);
  const sessionKey = (hash: string) => `${prefix}:sess:${hash}`;
  // The braces make the user's id the key's hash tag: one user's index always lives in one slot.
  const userKey = (userId: string) => `${prefix}:user:{${userId}}:sessions:z`;
  // Where builds before the sorted index listed a user's sessions, in a plain set that every login
  // lengthened: still read and cleaned by revocation until it expires, never written.
  const legacyUserKey = (userId: string) => `${prefix}:user:{${userId}}:sessions`;

  async function remove(key: string): Promise<unknown> {
    const deleted = await transport.send(["DEL", key]);
    await replicated(key);
    return deleted;
  }

  /** `first` runs alongside the index step, and both finish before the session is written. */
  async function write(token: string, record: SessionRecord, expiresAt: number, mode: "NX" | "XX", first?: Promise<unknown>): Promise<boolean> {
    const hash = hashToken(token);
    // Milliseconds left, measured on the record's own clock so an injected clock works too.
    const ttl = String(Math.max(1, expiresAt - record.lastActiveAt));
    const index = async (key: string) => {
      await INDEX(transport, [key], [hash, ttl]);
      await replicated(key);
    };
    await Promise.all([first, record.userId ? index(userKey(record.userId)) : undefined]);
    const key = sessionKey(hash);
    if ((await transport.send(["SET", key, JSON.stringify(record), mode, "PX", ttl])) !== "OK") return false;
    await replicated(key);
    return true;
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
    rotate: (oldToken, record, expiresAt) => fresh(record, expiresAt, remove(sessionKey(hashToken(oldToken)))),
    put: (token, record, expiresAt) => write(token, record, expiresAt, "NX"),
    async delete(token) {
      await remove(sessionKey(hashToken(token)));
    },
    async revokeUser(userId, except) {
      const keep = except === undefined ? "" : hashToken(except);
      // Every session listed, ended or not (deleting an ended one costs nothing).
      const [listed, legacy] = ((await Promise.all([
        transport.send(["ZRANGE", userKey(userId), "0", "-1"]),
        transport.send(["SMEMBERS", legacyUserKey(userId)]),
      ])) as [string[], string[]]).map((hashes) => hashes.filter((hash) => hash !== keep)) as [string[], string[]];
      const doomed = [...new Set([...listed, ...legacy])];
      if (doomed.length === 0) return 0;
      // One key per command: on a cluster the sessions may live on different nodes.
      const deleted = await Promise.all(doomed.map((hash) => remove(sessionKey(hash))));
      await Promise.all([
        listed.length ? transport.send(["ZREM", userKey(userId), ...listed]) : undefined,
        legacy.length ? transport.send(["SREM", legacyUserKey(userId), ...legacy]) : undefined,
      ]);
      return deleted.reduce<number>((n, d) => n + Number(d), 0);
    },
    async ping() {
      await transport.send(["PING"]);
    },
  };
}

/** What waits, after a write to `key`, until the replicas asked for hold it: nothing by default. */
function replication(transport: RedisTransport, options: RedisStoreOptions): (key: string) => Promise<void> {
  const replicas = options.waitForReplicas ?? 0;
  const timeoutMs = options.waitTimeoutMs ?? 50;
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 16) {
    throw new Error(`@holdfast/session redis store: waitForReplicas must be a whole number from 0 to 16, not ${replicas}`);
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 1_000) {
    // WAIT 0 blocks forever, and a wait near the transport's own timeout would turn into a 503.
    throw new Error(`@holdfast/session redis store: waitTimeoutMs must be a whole number of milliseconds from 1 to 1000, not ${timeoutMs}`);
  }
  if (replicas === 0) return async () => {};
  if (transport.kind === "rest") {
    throw new Error(
      "@holdfast/session redis store: waitForReplicas needs a TCP or cluster transport: WAIT counts the writes of one connection, and over REST every command is a request of its own",
    );
  }
  const logger = options.logger ?? consoleLogger();
  let lastWarned = 0;
  return async (key) => {
    const acknowledged = Number(await transport.send(["WAIT", String(replicas), String(timeoutMs)], key));
    if (acknowledged >= replicas || Date.now() - lastWarned < 10_000) return;
    lastWarned = Date.now();
    logger.warn(
      `redis store: a session write reached ${acknowledged} of ${replicas} replicas within ${timeoutMs} ms; it stands on the primary, and a failover before a replica catches up would lose it`,
    );
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
