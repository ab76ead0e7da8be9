import { dbCall, sql, type Db } from "../../db";
import { SPENT, type CaptchaLedger } from "../ledger";

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
    for (;;) {
      const { rowCount } = await query("DELETE FROM captchas WHERE id IN (SELECT id FROM captchas WHERE expires_at <= $1 LIMIT $2)", [new Date(now), batch]);
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
      // The row stays, its answer blanked, until the sweep: a tombstone (see SPENT). The lock
      // makes the take atomic: a concurrent take waits for this one, then reads the blank.
      const { rows } = await query<{ answer_hash: string; expires_at: Date }>(
        "WITH taken AS (SELECT id, answer_hash FROM captchas WHERE id = $1 FOR UPDATE) UPDATE captchas SET answer_hash = '' FROM taken WHERE captchas.id = taken.id RETURNING taken.answer_hash, captchas.expires_at",
        [id],
      );
      const found = rows[0];
      if (!found) return null;
      return found.answer_hash === "" ? SPENT : { answerHash: found.answer_hash, expiresAt: found.expires_at.getTime() };
    },
    sweepExpired,
  };
}
