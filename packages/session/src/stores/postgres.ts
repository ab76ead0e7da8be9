import DataLoader from "dataloader";
import { consoleLogger, type Logger } from "../logger.js";
import { StoreUnavailableError, type SessionRecord, type SessionStore } from "../store.js";
import { hashToken, newToken } from "../token.js";

/**
 * What the store needs of a Postgres client: `query(text, values)`, as a `pg` Pool has it. Pass
 * the pool your app already has (with Prisma 7, the one given to `@prisma/adapter-pg`). Every
 * statement is a single parameterised query outside a transaction, so a connection pooler in
 * transaction mode (PgBouncer) is fine.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface PostgresStoreOptions {
  /** The sessions table (see the package's sql/ folder for its shape). Default `sessions`. */
  table?: string;
  /** How often, at most, a process sweeps expired rows in the background. Default one minute. */
  sweepIntervalMs?: number;
  sweepBatchSize?: number;
  /** Session reads of one turn of the event loop go in one statement, at most this many; 1 reads each alone. Default 64. */
  readBatchSize?: number;
  logger?: Logger;
  now?: () => number;
}

export interface PostgresStore extends SessionStore {
  /** Replaces a session by a new one in one statement: the old row goes and the new one comes together, or neither does. */
  rotate(oldToken: string, record: SessionRecord, expiresAt: number): Promise<string>;
  /** `read`, with the row's own expiry: what a cache in front of this store needs for its TTL. */
  readEntry(token: string, now: number): Promise<{ record: SessionRecord; expiresAt: number } | null>;
  /** Deletes expired sessions in batches; returns how many went. */
  sweepExpired(now?: number): Promise<number>;
}

/** The event loop's next turn: after every request whose data arrived in this one has run. setImmediate where the runtime has it. */
const nextTurn = (dispatch: () => void): void => {
  if (typeof setImmediate === "function") setImmediate(dispatch);
  else setTimeout(dispatch, 0);
};

interface Row {
  data: SessionRecord["data"];
  user_id: string | null;
  created_at: Date;
  last_active_at: Date;
  expires_at: Date;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;
/**
 * Socket errors, and the SQLSTATEs that say the database cannot serve now rather than that the
 * statement is wrong: shutdown and restart (57P01–57P03), connection failures (08…), no free
 * connection slot (53300 too_many_connections, 53400 configuration_limit_exceeded), and a
 * statement cancelled by `statement_timeout` or `lock_timeout` under load (57014, 55P03).
 */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "53300", "53400", "57014", "55P03"]);
const CONNECTION_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|timeout exceeded when trying to connect|Connection terminated|terminating connection|the database system is (starting|shutting) up|server conn crashed|no more connections allowed/i;

/** Whether an error (or one of its causes) says the database could not be reached or could not serve in time, as opposed to a query being wrong. */
export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && CONNECTION_TEXT.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Sessions in a Postgres table. The cookie holds a 256-bit random token; the table holds only
 * its SHA-256 hash. Expired rows go when a read meets them and in an occasional background
 * sweep, so no cron job is needed.
 */
export function createPostgresStore(db: Queryable, options: PostgresStoreOptions = {}): PostgresStore {
  const table = options.table ?? "sessions";
  if (!TABLE.test(table)) throw new Error(`@holdfast/session postgres store: "${table}" is not a plain table name`);
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const readBatchSize = options.readBatchSize ?? 64;
  if (!Number.isInteger(readBatchSize) || readBatchSize < 1) throw new Error("@holdfast/session postgres store: readBatchSize must be a whole number of at least 1");
  const batch = options.sweepBatchSize ?? 1_000;
  const clock = options.now ?? Date.now;
  const logger = options.logger ?? consoleLogger();
  let lastSweep = 0;

  async function query<R extends object>(text: string, values: unknown[]) {
    try {
      return await db.query<R>(text, values);
    } catch (error) {
      if (isConnectionError(error)) throw new StoreUnavailableError("database", { cause: error });
      throw error;
    }
  }

  async function sweepExpired(now = clock()): Promise<number> {
    let total = 0;
    // Small batches keep each statement short, so reads are never queued behind one big delete.
    for (;;) {
      const { rowCount } = await query(
        `DELETE FROM ${table} WHERE token_hash IN (SELECT token_hash FROM ${table} WHERE expires_at <= $1 LIMIT $2)`,
        [new Date(now), batch],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  function maybeSweep(now: number) {
    if (now - lastSweep < sweepIntervalMs) return;
    lastSweep = now;
    sweepExpired(now).catch((error) => logger.warn(`expired-session sweep failed: ${(error as Error).name}`));
  }

  const columnList = "data, user_id, created_at, last_active_at, expires_at";
  // Reads that arrive in the same turn of the event loop (concurrent requests, say) share one
  // statement: DataLoader gathers them until setImmediate, without a cache, at most 64 a batch.
  const rowsByHash = new DataLoader<string, Row | undefined>(
    async (hashes) => {
      if (hashes.length === 1) return [(await query<Row>(`SELECT ${columnList} FROM ${table} WHERE token_hash = $1`, [hashes[0]])).rows[0]];
      const { rows } = await query<Row & { token_hash: string }>(`SELECT token_hash, ${columnList} FROM ${table} WHERE token_hash = ANY($1::text[])`, [[...hashes]]);
      const byHash = new Map(rows.map((row) => [row.token_hash, row]));
      // Requests with the same cookie each get a session data object of their own, as a read alone gives.
      const given = new Set<string>();
      return hashes.map((hash) => {
        const row = byHash.get(hash);
        if (!row) return undefined;
        if (given.has(hash)) return { ...row, data: structuredClone(row.data) };
        given.add(hash);
        return row;
      });
    },
    { cache: false, maxBatchSize: readBatchSize, batchScheduleFn: nextTurn },
  );

  async function readEntry(token: string, now: number) {
    const tokenHash = hashToken(token);
    const found = await rowsByHash.load(tokenHash);
    if (!found) return null;
    if (found.expires_at.getTime() <= now) {
      await query(`DELETE FROM ${table} WHERE token_hash = $1`, [tokenHash]);
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

  const insert = `INSERT INTO ${table} (data, user_id, created_at, last_active_at, expires_at, token_hash) VALUES ($1::jsonb, $2, $3, $4, $5, $6)`;

  return {
    name: "database",
    revocable: true,
    shared: true,
    async create(record, expiresAt) {
      const token = newToken();
      await query(insert, [...columns(record, expiresAt), hashToken(token)]);
      maybeSweep(record.createdAt);
      return token;
    },
    async rotate(oldToken, record, expiresAt) {
      // One statement, so one round trip and one transaction: the old row goes and the new one
      // comes together, or neither does.
      const token = newToken();
      await query(`WITH gone AS (DELETE FROM ${table} WHERE token_hash = $7) ${insert}`, [...columns(record, expiresAt), hashToken(token), hashToken(oldToken)]);
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
        `UPDATE ${table} SET data = $1::jsonb, user_id = $2, created_at = $3, last_active_at = $4, expires_at = $5 WHERE token_hash = $6`,
        [...columns(record, expiresAt), hashToken(token)],
      );
      return rowCount === 1 ? token : null;
    },
    async delete(token) {
      await query(`DELETE FROM ${table} WHERE token_hash = $1`, [hashToken(token)]);
    },
    async revokeUser(userId, except) {
      const { rowCount } = await query(`DELETE FROM ${table} WHERE user_id = $1 AND token_hash <> $2`, [userId, except === undefined ? "" : hashToken(except)]);
      return rowCount ?? 0;
    },
    async ping() {
      await query("SELECT 1", []);
    },
    sweepExpired,
  };
}
