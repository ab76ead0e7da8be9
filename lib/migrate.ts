import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { isConnectionError, sqlState } from "./db";
import { APPLIED_MIGRATIONS_SQL, MIGRATIONS_DIR, MIGRATIONS_TABLE_EXISTS_SQL, pendingMigrations, shippedMigrations } from "./migrations";

export { MIGRATIONS_DIR };

/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in order and records each in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does (same table, same sha256
 * checksum), so either tool can take over from the other. Safe to repeat and to run from
 * several processes at once, directly or through a pooler in transaction mode (PgBouncer):
 * each step is one transaction that takes a transaction-level advisory lock, so the lock and
 * the work always share a server connection and the lock ends with the transaction. A
 * session-level lock (`pg_advisory_lock` … `pg_advisory_unlock`) does not survive transaction
 * pooling: the unlock may run on another server connection, the lock leaks, and nothing is
 * serialised.
 */

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** An arbitrary constant that names this lock among the database's advisory locks. */
export const MIGRATION_LOCK_KEY = 72_707_369;

/** The shipped migrations that DATABASE_URL lacks; empty when it is up to date. Changes nothing. */
export async function unappliedMigrations(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const table = await client.query<{ present: boolean }>(MIGRATIONS_TABLE_EXISTS_SQL);
    const applied = table.rows[0]?.present ? (await client.query<{ migration_name: string }>(APPLIED_MIGRATIONS_SQL)).rows.map((r) => r.migration_name) : [];
    return pendingMigrations(applied, dir);
  } finally {
    await client.end();
  }
}

export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const names = shippedMigrations(dir);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  try {
    // Two processes creating the table at once collide in pg_type even with IF NOT EXISTS.
    await locked(client, () => client.query(MIGRATIONS_TABLE));
    for (const name of names) {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      const checksum = createHash("sha256").update(sql).digest("hex");
      const applied = await locked(client, async () => {
        // Asked again under the lock: another process may have applied it while this one waited.
        const { rows } = await client.query<{ checksum: string }>(
          `SELECT checksum FROM "_prisma_migrations" WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
          [name],
        );
        const known = rows[0]?.checksum;
        if (known !== undefined) {
          if (known !== checksum) throw new Error(`holdfast/migrate: ${name} was edited after it was applied; add a new migration instead`);
          return false;
        }
        const id = randomUUID();
        await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`, [id, checksum, name]);
        try {
          await client.query(sql);
        } catch (error) {
          throw new Error(`holdfast/migrate: ${name} failed: ${(error as Error).message}`, { cause: error });
        }
        await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
        return true;
      });
      (applied ? result.applied : result.alreadyApplied).push(name);
    }
  } finally {
    await client.end();
  }
  return result;
}

/**
 * Runs `work` in one transaction that holds the migrations' advisory lock; the lock goes with
 * the COMMIT or ROLLBACK, on whichever server connection a pooler gave the transaction.
 */
async function locked<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    const value = await work();
    await client.query("COMMIT");
    return value;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Where a database URL points, without its user or password: `host:port/name`. */
export function databaseWhere(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || "5432"}${url.pathname || "/"}`;
  } catch {
    return "(an unreadable URL)";
  }
}

/** Why a database cannot be used, and the fix: `${problem}: ${fix}.` is its one sentence. */
export interface DatabaseProblem {
  problem: string;
  fix: string;
}

/** The one sentence a command prints for a database it cannot use. */
export const databaseSentence = ({ problem, fix }: DatabaseProblem) => `${problem}: ${fix}.`;

/**
 * What makes a database unusable to a command, with the fix: unreachable, refusing the login, or
 * missing. Null for any other error. Names the host, port and database, never the user or
 * password.
 */
export function databaseProblem(error: unknown, databaseUrl: string): DatabaseProblem | null {
  const where = databaseWhere(databaseUrl);
  const code = (error as { code?: unknown }).code;
  if (code === "28P01" || code === "28000") {
    return { problem: `The database at DATABASE_URL (${where}) refused the login`, fix: "correct the user and password in DATABASE_URL, or grant that role access" };
  }
  if (code === "3D000") {
    const name = where.split("/").slice(1).join("/");
    return { problem: `The database "${name}" does not exist at DATABASE_URL (${where})`, fix: `create it (createdb ${name}), or correct the database name in DATABASE_URL` };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return { problem: `DATABASE_URL names a host that does not resolve (${where})`, fix: "correct the host in DATABASE_URL" };
  }
  const message = String((error as { message?: unknown }).message ?? "");
  const parameter = /unsupported startup parameter:\s*(\S+)/i.exec(message)?.[1];
  if (parameter) {
    return {
      problem: `The server at DATABASE_URL (${where}), a connection pooler such as PgBouncer, refused the startup parameter "${parameter}" that DATABASE_URL sends`,
      fix: `remove it from DATABASE_URL (set such a setting on the database role instead: ALTER ROLE … SET), or list it in the pooler's ignore_startup_parameters`,
    };
  }
  if (/does not support SSL/i.test(message)) {
    return { problem: `The database at DATABASE_URL (${where}) does not accept SSL, which DATABASE_URL asks for`, fix: "remove sslmode (or ssl) from DATABASE_URL, or turn SSL on at the server" };
  }
  // Reached, but it could not serve: not the "cannot be reached" below, whose fix is no fix here.
  const state = sqlState(error);
  if (state === "53300" || state === "53400") {
    return {
      problem: `The database at DATABASE_URL (${where}) has no connection left for this one (too many connections)`,
      fix: "wait for connections to free up, lower DATABASE_POOL_SIZE or the number of instances, or put a pooler in front (the README's recipe)",
    };
  }
  if (state === "57014" || state === "55P03") {
    return {
      problem: `The database at DATABASE_URL (${where}) cancelled a statement of this command (statement_timeout or lock_timeout)`,
      fix: "run it again when the database is less busy, or give this command's role a longer statement_timeout (ALTER ROLE … SET statement_timeout)",
    };
  }
  if (isConnectionError(error) || /connection timeout/i.test(message)) {
    return { problem: `The database at DATABASE_URL (${where}) cannot be reached`, fix: "start PostgreSQL there, or correct the host and port in DATABASE_URL" };
  }
  return null;
}
