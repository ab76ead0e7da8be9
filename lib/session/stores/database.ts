import { dbCall, sql, type Db } from "../../db";
import type { CaptchaLedger, SessionRecord, SessionStore } from "../store";
import { hashToken, newToken } from "../token";

export interface DatabaseStoreOptions {
  /** How often, at most, a process sweeps expired rows in the background. */
  sweepIntervalMs?: number;
  sweepBatchSize?: number;
  now?: () => number;
}

export interface DatabaseStore extends SessionStore {
  captchas: CaptchaLedger;
  /** `read`, with the row's own expiry: what a cache in front of this store needs for its TTL. */
  readEntry(token: string, now: number): Promise<{ record: SessionRecord; expiresAt: number } | null>;
  /** Deletes expired sessions and captchas in batches; returns how many sessions went. */
  sweepExpired(now?: number): Promise<number>;
}

/**
 * Sessions in a Postgres table. The cookie holds a 256-bit random token; the table holds only
 * its SHA-256 hash. Expired rows go when a read meets them and in an occasional background
 * sweep, so no cron job is needed.
 */
export function createDatabaseStore(db: Db, options: DatabaseStoreOptions = {}): DatabaseStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const batch = options.sweepBatchSize ?? 1_000;
  const clock = options.now ?? Date.now;
  let lastSweep = 0;

  async function sweepExpired(now = clock()): Promise<number> {
    const cutoff = new Date(now);
    let total = 0;
    // Small batches keep each statement short, so reads are never queued behind one big delete.
    for (;;) {
      const n = await dbCall(
        () => db.$executeRaw`DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ${cutoff} LIMIT ${batch})`,
      );
      total += n;
      if (n < batch) break;
    }
    for (;;) {
      const n = await dbCall(
        () => db.$executeRaw`DELETE FROM captchas WHERE id IN (SELECT id FROM captchas WHERE expires_at <= ${cutoff} LIMIT ${batch})`,
      );
      if (n < batch) break;
    }
    return total;
  }

  function maybeSweep(now: number) {
    if (now - lastSweep < sweepIntervalMs) return;
    lastSweep = now;
    sweepExpired(now).catch((error) => console.warn("[holdfast] expired-session sweep failed:", (error as Error).message));
  }

  // The hot paths are plain SQL through the client's own pool (see lib/db.ts).
  const pool = sql(db);
  const query = <R extends object>(text: string, values: unknown[]) => dbCall(() => pool.query<R>(text, values));

  async function readEntry(token: string, now: number) {
    const tokenHash = hashToken(token);
    const { rows } = await query<{ data: SessionRecord["data"]; user_id: string | null; created_at: Date; last_active_at: Date; expires_at: Date }>(
      "SELECT data, user_id, created_at, last_active_at, expires_at FROM sessions WHERE token_hash = $1",
      [tokenHash],
    );
    const found = rows[0];
    if (!found) return null;
    if (found.expires_at.getTime() <= now) {
      await query("DELETE FROM sessions WHERE token_hash = $1", [tokenHash]);
      return null;
    }
    const record: SessionRecord = {
      data: found.data,
      userId: found.user_id,
      createdAt: found.created_at.getTime(),
      lastActiveAt: found.last_active_at.getTime(),
    };
    return { record, expiresAt: found.expires_at.getTime() };
  }

  const columns = (record: SessionRecord, expiresAt: number) => [
    JSON.stringify(record.data),
    record.userId,
    new Date(record.createdAt),
    new Date(record.lastActiveAt),
    new Date(expiresAt),
  ];

  return {
    name: "database",
    revocable: true,
    shared: true,
    async create(record, expiresAt) {
      const token = newToken();
      await query(
        "INSERT INTO sessions (data, user_id, created_at, last_active_at, expires_at, token_hash) VALUES ($1::jsonb, $2, $3, $4, $5, $6)",
        [...columns(record, expiresAt), hashToken(token)],
      );
      maybeSweep(record.createdAt);
      return token;
    },
    readEntry,
    async read(token, now) {
      return (await readEntry(token, now))?.record ?? null;
    },
    async update(token, record, expiresAt) {
      // An UPDATE matches nothing once the row is gone, so a destroyed session stays destroyed.
      const { rowCount } = await query(
        "UPDATE sessions SET data = $1::jsonb, user_id = $2, created_at = $3, last_active_at = $4, expires_at = $5 WHERE token_hash = $6",
        [...columns(record, expiresAt), hashToken(token)],
      );
      return rowCount === 1 ? token : null;
    },
    async delete(token) {
      await query("DELETE FROM sessions WHERE token_hash = $1", [hashToken(token)]);
    },
    async revokeUser(userId, except) {
      const { count } = await dbCall(() =>
        db.session.deleteMany({
          where: { userId, ...(except === undefined ? {} : { NOT: { tokenHash: hashToken(except) } }) },
        }),
      );
      return count;
    },
    async ping() {
      await dbCall(() => db.$queryRaw`SELECT 1`);
    },
    sweepExpired,
    captchas: {
      async put(id, captcha) {
        await query("INSERT INTO captchas (id, answer_hash, expires_at) VALUES ($1, $2, $3)", [id, captcha.answerHash, new Date(captcha.expiresAt)]);
      },
      async take(id) {
        // DELETE … RETURNING is atomic: of any number of concurrent takes, one gets the row.
        const { rows } = await query<{ answer_hash: string; expires_at: Date }>("DELETE FROM captchas WHERE id = $1 RETURNING answer_hash, expires_at", [id]);
        const found = rows[0];
        return found ? { answerHash: found.answer_hash, expiresAt: found.expires_at.getTime() } : null;
      },
    },
  };
}
