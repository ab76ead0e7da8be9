import { dbCall, type Db } from "../../db";
import type { Prisma } from "../../../prisma/generated/client";
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

  async function readEntry(token: string, now: number) {
    const tokenHash = hashToken(token);
    const found = await dbCall(() => db.session.findUnique({ where: { tokenHash } }));
    if (!found) return null;
    if (found.expiresAt.getTime() <= now) {
      await dbCall(() => db.session.deleteMany({ where: { tokenHash } }));
      return null;
    }
    const record: SessionRecord = {
      data: found.data as SessionRecord["data"],
      userId: found.userId,
      createdAt: found.createdAt.getTime(),
      lastActiveAt: found.lastActiveAt.getTime(),
    };
    return { record, expiresAt: found.expiresAt.getTime() };
  }

  const row = (record: SessionRecord, expiresAt: number) => ({
    data: record.data as Prisma.InputJsonValue,
    userId: record.userId,
    createdAt: new Date(record.createdAt),
    lastActiveAt: new Date(record.lastActiveAt),
    expiresAt: new Date(expiresAt),
  });

  return {
    name: "database",
    revocable: true,
    shared: true,
    async create(record, expiresAt) {
      const token = newToken();
      await dbCall(() => db.session.create({ data: { tokenHash: hashToken(token), ...row(record, expiresAt) } }));
      maybeSweep(record.createdAt);
      return token;
    },
    readEntry,
    async read(token, now) {
      return (await readEntry(token, now))?.record ?? null;
    },
    async update(token, record, expiresAt) {
      // updateMany matches nothing once the row is gone, so a destroyed session stays destroyed.
      const { count } = await dbCall(() =>
        db.session.updateMany({ where: { tokenHash: hashToken(token) }, data: row(record, expiresAt) }),
      );
      return count === 1 ? token : null;
    },
    async delete(token) {
      await dbCall(() => db.session.deleteMany({ where: { tokenHash: hashToken(token) } }));
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
        await dbCall(() =>
          db.captcha.create({ data: { id, answerHash: captcha.answerHash, expiresAt: new Date(captcha.expiresAt) } }),
        );
      },
      async take(id) {
        // DELETE … RETURNING is atomic: of any number of concurrent takes, one gets the row.
        const rows = await dbCall(
          () => db.$queryRaw<{ answer_hash: string; expires_at: Date }[]>`DELETE FROM captchas WHERE id = ${id} RETURNING answer_hash, expires_at`,
        );
        const found = rows[0];
        return found ? { answerHash: found.answer_hash, expiresAt: found.expires_at.getTime() } : null;
      },
    },
  };
}
