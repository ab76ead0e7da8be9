import { dbCall, sql, type Db } from "../db";
import type { RateLimiter } from "./limiter";

const SWEEP_INTERVAL_MS = 60_000;
/** Rows one sweep statement deletes, and statements one sweep runs at most (then the next sweep goes on). */
const SWEEP_BATCH = 1_000;
const SWEEP_MAX_BATCHES = 100;

export interface DatabaseLimiterOptions {
  /** Told when a sweep of expired limits fails (the limits still hold; the table grows meanwhile). */
  onSweepError?: (error: unknown) => void;
}

/**
 * GCRA in Postgres, on the database's clock. The upsert re-checks the limit against the locked
 * row, so concurrent requests never pass more than the rule allows.
 */
export function databaseLimiter(db: Db, options: DatabaseLimiterOptions = {}): RateLimiter {
  let lastSweep = 0;
  const pool = sql(db);
  /**
   * Deletes expired limits a batch at a time, one statement after another so it never holds many
   * row locks at once, until a batch comes back short: keys made faster than one batch a minute
   * (logins for many typed names) are still all swept.
   */
  async function sweep(): Promise<void> {
    for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
      const { rowCount } = await pool.query(`DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE expires_at < now() LIMIT ${SWEEP_BATCH})`);
      if ((rowCount ?? 0) < SWEEP_BATCH) return;
    }
  }
  return {
    async hit(key, rule) {
      const interval = rule.periodMs / rule.limit;
      const period = rule.periodMs;
      // Plain SQL through the client's pool: this runs on every limited request (see lib/db.ts).
      const { rows } = await dbCall(() =>
        pool.query<{ allowed: string | null; tat: string; now: string }>(
          `WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now),
          cur AS (SELECT GREATEST(COALESCE((SELECT tat_ms FROM rate_limits WHERE key = $1), 0), clock.now) AS tat, clock.now FROM clock),
          hit AS (
            INSERT INTO rate_limits AS r (key, tat_ms, expires_at)
            SELECT $1, cur.tat + $2::float8, to_timestamp((cur.tat + $2::float8) / 1000.0) FROM cur
            WHERE cur.tat + $2::float8 - cur.now <= $3::float8
            ON CONFLICT (key) DO UPDATE
              SET tat_ms = GREATEST(r.tat_ms, (SELECT now FROM clock)) + $2::float8,
                  expires_at = to_timestamp((GREATEST(r.tat_ms, (SELECT now FROM clock)) + $2::float8) / 1000.0)
              WHERE GREATEST(r.tat_ms, (SELECT now FROM clock)) + $2::float8 - (SELECT now FROM clock) <= $3::float8
            RETURNING r.tat_ms
          )
          SELECT (SELECT tat_ms FROM hit) AS allowed, cur.tat, cur.now FROM cur`,
          [key, interval, period],
        ),
      );
      const row = rows[0];
      const now = Date.now();
      if (now - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = now;
        sweep().catch((error: unknown) => options.onSweepError?.(error));
      }
      if (row!.allowed !== null) return { ok: true };
      // The first read was not locked, so ask the row itself when the next request may pass.
      const { rows: locked } = await dbCall(() =>
        pool.query<{ tat: string; now: string }>(
          "SELECT tat_ms AS tat, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now FROM rate_limits WHERE key = $1",
          [key],
        ),
      );
      const current = locked[0];
      const tat = Number(current?.tat ?? row!.tat);
      return { ok: false, retryAfterMs: Math.max(1, tat + interval - period - Number(current?.now ?? row!.now)) };
    },
  };
}
