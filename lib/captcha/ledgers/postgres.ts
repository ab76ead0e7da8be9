import { dbCall, sql, type Db } from "../../db";
import { SPENT, type CaptchaLedger } from "../ledger";

/** How long past its expiry a record is kept before the sweep deletes it. */
const SWEEP_GRACE_MS = 60_000;

export interface PostgresLedger extends CaptchaLedger {
  /** Deletes expired records in batches; returns how many went. */
  sweepExpired(now?: number): Promise<number>;
}

/**
 * Records in the users' database (table `captchas`). The cookie and sealed-cookie session stores
 * use it too: a sealed cookie can be replayed, so single use needs a record on the server.
 * A taken row stays as a tombstone until it expires. Expired rows go in an occasional background
 * sweep, at most once a minute per process.
 */
export function postgresLedger(db: Db, options: { sweepIntervalMs?: number; sweepBatchSize?: number; onSweepError?: (error: unknown) => void } = {}): PostgresLedger {
  const pool = sql(db);
  const query = <R extends object>(text: string, values: unknown[]) => dbCall(() => pool.query<R>(text, values));
  const interval = options.sweepIntervalMs ?? 60_000;
  const batch = options.sweepBatchSize ?? 1_000;
  let lastSweep = 0;

  async function sweepExpired(now = Date.now()): Promise<number> {
    let total = 0;
    // A minute past expiry, as a Redis key outlives its record: an instance whose clock runs
    // behind this one's still finds a record it thinks live (expired, or used), never nothing,
    // which would read as lost.
    const before = new Date(now - SWEEP_GRACE_MS);
    for (;;) {
      const { rowCount } = await query("DELETE FROM captchas WHERE id IN (SELECT id FROM captchas WHERE expires_at <= $1 LIMIT $2)", [before, batch]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  return {
    async put(id, captcha) {
      await query("INSERT INTO captchas (id, answer_hash, expires_at) VALUES ($1, $2, $3)", [id, captcha.answerHash, new Date(captcha.expiresAt)]);
      const now = Date.now();
      if (now - lastSweep >= interval) {
        lastSweep = now;
        sweepExpired(now).catch((error) => options.onSweepError?.(error));
      }
    },
    async take(id) {
      // The row stays until the sweep, as a tombstone (see SPENT): the first take marks the answer
      // (`~` before it) and gets it back; a later one finds the mark. One UPDATE of one row, so
      // atomic: a concurrent take waits on the row's lock, then finds the mark and changes nothing.
      const { rows } = await query<{ answer_hash: string; expires_at: Date }>(
        "UPDATE captchas SET answer_hash = '~' || answer_hash WHERE id = $1 AND left(answer_hash, 1) <> '~' RETURNING answer_hash, expires_at",
        [id],
      );
      const found = rows[0];
      if (found) return { answerHash: found.answer_hash.slice(1), expiresAt: found.expires_at.getTime() };
      // Nothing taken: used before (its tombstone is there), or never here. Only failures ask.
      const { rowCount } = await query("SELECT 1 FROM captchas WHERE id = $1", [id]);
      return rowCount ? SPENT : null;
    },
    sweepExpired,
  };
}
