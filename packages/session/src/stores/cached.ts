import { consoleLogger, type Logger } from "../logger.js";
import { StoreUnavailableError, type SessionRecord, type SessionStore } from "../store.js";
import type { PostgresStore } from "./postgres.js";
import type { RedisStore } from "./redis.js";

/**
 * Django's `cached_db`: Postgres holds every session, Redis a write-through copy in front of
 * it, so a read-only request costs one Redis GET and a Redis that loses its data loses nothing.
 *
 * The rule that keeps a destroyed session destroyed: the database changes first and the cache
 * second, and the only cache writes that can create an entry are `create` (a token nobody else
 * has yet) and a refill, which checks the database again after writing. Hence:
 * - delete and revoke remove the row, then the entry. A reader that finds the entry before the
 *   DEL read it while the session was still alive; after the DEL only a refill can bring it back.
 *   A rotation (a login) swaps the rows in one statement, then drops the old entry the same way.
 * - update writes the row (an UPDATE: nothing if it is gone), then the entry with XX, which
 *   only replaces an entry that exists, so it cannot recreate one a delete removed.
 * - a refill writes with NX and reads the row again. If the row is gone or changed by then, a
 *   delete or update overlapped it and the refill removes its own entry. If it is unchanged, any
 *   later delete sends its DEL after this check, so after the refill's entry is written. Either
 *   way the entry is gone; for a moment (one database read) a request can still see the
 *   session, as if it had arrived just before the logout. That is the guarantee, and
 *   the tests check its end state.
 * - two updates racing each other may leave different winners in the row and the entry (last
 *   writer wins in each, as in Django). Both are a live session's data; nothing comes back to life.
 *
 * Redis is optional at run time: while it is unreachable every operation uses the database
 * alone, one warning per interval says so, and the invalidations Redis missed are remembered
 * and replayed before this process reads the cache again (beside the requests, whose reads the
 * database serves until the replay is done while their writes go on to Redis, so a long outage's
 * backlog stalls none of them and steady writes cannot keep it from running dry). Another process that can still reach
 * that Redis cannot know of them. A hit is never checked against the database (that check is
 * the round trip the cache saves), so an entry written behind the store's back (a restored
 * snapshot older than a logout, rows deleted by hand) is served until a write meets it: run
 * the cache Redis without persistence, and delete the prefix's keys when clearing the table.
 * The database is not optional: when it fails, the error (StoreUnavailableError) is the answer,
 * except for a read the cache can serve, since nothing can be destroyed while the database is down.
 */

export interface CachedStoreOptions {
  /** Least time between two "Redis is unavailable" warnings. */
  warnIntervalMs?: number;
  /** How long Redis is left alone after a failure, so an outage costs no time per request. */
  retryAfterMs?: number;
  /** Most invalidations remembered while Redis is away. */
  maxPending?: number;
  /** Wall clock for the two intervals (tests inject one). */
  clock?: () => number;
  logger?: Logger;
}

type Invalidation = [key: string, run: () => Promise<unknown>];

/** Invalidations replayed side by side (pipelined on one connection). */
const REPLAY_BATCH = 64;

export function createCachedStore(database: PostgresStore, redis: RedisStore, options: CachedStoreOptions = {}): SessionStore {
  const warnIntervalMs = options.warnIntervalMs ?? 30_000;
  const retryAfterMs = options.retryAfterMs ?? 5_000;
  const maxPending = options.maxPending ?? 100_000;
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? consoleLogger();
  let downUntil = 0;
  let lastWarned = -Infinity;
  // Every invalidation only deletes cache entries, so one replayed late costs at most a miss.
  // Keyed by what they delete, so repeats while Redis is away collapse into one.
  const pending = new Map<string, () => Promise<unknown>>();
  let replaying: Promise<void> | undefined;

  function warn(message: string) {
    const now = clock();
    if (now - lastWarned < warnIntervalMs) return;
    lastWarned = now;
    logger.warn(`cached store: ${message}`);
  }

  function unavailable(error: StoreUnavailableError) {
    downUntil = clock() + retryAfterMs;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    warn(`Redis is unavailable${cause}; sessions are served from the database`);
  }

  function remember([key, run]: Invalidation) {
    if (pending.size >= maxPending && !pending.has(key)) {
      warn(`more than ${maxPending} cache invalidations are waiting for Redis; flush the session keys once it is back`);
      return;
    }
    pending.set(key, run);
  }

  /**
   * Sends the remembered invalidations, REPLAY_BATCH at a time side by side (each only deletes,
   * so their order does not matter), until none is left: those that arrive meanwhile included.
   */
  async function replay(): Promise<void> {
    while (pending.size > 0) {
      const batch: [string, () => Promise<unknown>][] = [];
      for (const entry of pending) {
        batch.push(entry);
        if (batch.length === REPLAY_BATCH) break;
      }
      const results = await Promise.allSettled(batch.map(([, run]) => run()));
      let failure: unknown;
      results.forEach((result, i) => {
        const [key, run] = batch[i]!;
        // A newer invalidation for the same key may have arrived meanwhile; keep that one.
        if (result.status === "fulfilled" && pending.get(key) === run) pending.delete(key);
        if (result.status === "rejected") failure ??= result.reason;
      });
      if (failure !== undefined) {
        if (failure instanceof StoreUnavailableError) unavailable(failure);
        else {
          // Not Redis being away: said, and Redis is left alone for a while as if it were.
          downUntil = clock() + retryAfterMs;
          logger.error(`cached store: replaying cache invalidations failed (${failure instanceof Error ? failure.name : "error"}); sessions are served from the database meanwhile`);
        }
        return;
      }
    }
  }

  /**
   * Whether a cache step may run now: none while Redis is away. While the invalidations it missed
   * are replayed (beside the requests, so a long outage's backlog stalls none of them), reads
   * skip the cache, whose entries may be stale until then, and writes go on: each follows its
   * database change, as always, so it needs nothing to be replayed first, and a write that
   * waited would only add to the backlog, which under steady writes would never run dry.
   */
  function usable(write: boolean): boolean {
    if (clock() < downUntil) return false;
    if (pending.size === 0 && !replaying) return true;
    replaying ??= replay()
      .catch(() => {})
      .finally(() => (replaying = undefined));
    return write;
  }

  /**
   * One Redis step, skipped while Redis is away. A write names the invalidation that undoes it (a
   * read names none); one that was skipped or failed leaves it behind: a write that timed out may
   * still have landed, so it is undone too.
   */
  async function cache<T>(step: () => Promise<T>, invalidation?: Invalidation): Promise<T | undefined> {
    if (usable(invalidation !== undefined)) {
      try {
        return await step();
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        unavailable(error);
      }
    }
    if (invalidation) remember(invalidation);
    return undefined;
  }

  const forget = (token: string): Invalidation => [`token:${token}`, () => redis.delete(token)];

  async function refill(token: string, entry: { record: SessionRecord; expiresAt: number }, now: number) {
    // `put` counts the TTL from lastActiveAt; shifting expiresAt makes it the time the row has left.
    const shifted = entry.record.lastActiveAt + (entry.expiresAt - now);
    // NX: an entry already there was written by a create, an update or another refill that checks its own.
    if (!(await cache(() => redis.put(token, entry.record, shifted), forget(token)))) return;
    // A check that fails leaves the entry unverified, so it goes; the first read still answers.
    const again = await database.readEntry(token, now).catch(() => null);
    if (!again || JSON.stringify(again) !== JSON.stringify(entry)) await cache(() => redis.delete(token), forget(token));
  }

  return {
    name: "cached",
    revocable: true,
    shared: true,
    async create(record, expiresAt) {
      const token = await database.create(record, expiresAt);
      await cache(() => redis.put(token, record, expiresAt), forget(token));
      return token;
    },
    async rotate(oldToken, record, expiresAt) {
      // The database swaps the rows in one statement (both or neither), then the old entry goes
      // and the new one comes, side by side. An old entry Redis could not drop is remembered like
      // any other invalidation; a new entry it could not write is a miss, refilled on first read.
      const token = await database.rotate(oldToken, record, expiresAt);
      await Promise.all([cache(() => redis.delete(oldToken), forget(oldToken)), cache(() => redis.put(token, record, expiresAt), forget(token))]);
      return token;
    },
    async read(token, now) {
      const cached = await cache(() => redis.read(token, now));
      if (cached) return cached;
      const entry = await database.readEntry(token, now);
      if (!entry) return null;
      // null is Redis answering "not here"; undefined is Redis being away, when nothing is refilled.
      if (cached === null) await refill(token, entry, now);
      return entry.record;
    },
    async update(token, record, expiresAt) {
      const next = await database.update(token, record, expiresAt);
      // Gone from the database: also drop any entry an invalidation lost while Redis was away.
      if (next === null) await cache(() => redis.delete(token), forget(token));
      else await cache(() => redis.update(token, record, expiresAt), forget(token));
      return next;
    },
    async delete(token) {
      await database.delete(token);
      await cache(() => redis.delete(token), forget(token));
    },
    async revokeUser(userId, except) {
      // The database's userId index decides; Redis's user set finds the entries to drop.
      const count = await database.revokeUser!(userId, except);
      const revoke = () => redis.revokeUser!(userId, except);
      await cache(revoke, [`user:${userId}:${except ?? ""}`, revoke]);
      return count;
    },
    async ping() {
      // Health is the database's: without Redis this store still serves every request.
      await database.ping();
      await cache(() => redis.ping());
    },
    async pingCache() {
      // Redis's own answer, failure included: health reports it beside the database's. Known to
      // be away (a failure in the last few seconds): said at once, so a Redis that drops packets
      // does not make every health check wait for it.
      if (clock() < downUntil) throw new StoreUnavailableError("redis");
      try {
        await redis.ping();
      } catch (error) {
        if (error instanceof StoreUnavailableError) unavailable(error);
        throw error;
      }
    },
  };
}
