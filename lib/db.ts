import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../prisma/generated/client";
import { StoreUnavailableError } from "@holdfast/session";

export type Db = PrismaClient;

/** The pool under a client, for the hot paths' plain SQL. */
const POOL = Symbol.for("holdfast.pool");

/**
 * A client with bounded waits, so an unreachable database is a quick 503 rather than a hang.
 * Prisma owns the schema, the migrations and most queries; the requests' hot paths (session
 * read and write, captcha ledger, rate limit, user lookup) send plain SQL through the same
 * pool, since a Prisma query costs several times a `pg` one (bench/speedups.ts).
 */
export function createDb(url: string): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    // An idle pool never keeps a finished script or test process alive.
    allowExitOnIdle: true,
  });
  // An idle connection that the server ends (a restart, a failover, an admin) must not crash the
  // process: the pool drops it, and the next query opens a new one or fails as a 503.
  pool.on("error", (error) => console.warn(`[holdfast] database connection lost: ${(error as { code?: string }).code ?? error.name}`));
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  Object.defineProperty(db, POOL, { value: pool });
  return db;
}

/** The pool of a client made by createDb: `sql(db).query(text, values)`. */
export function sql(db: Db): pg.Pool {
  const pool = (db as unknown as Record<symbol, pg.Pool | undefined>)[POOL];
  if (!pool) throw new Error("holdfast/db: this client was not made by createDb");
  return pool;
}

/** Disconnects a client made by createDb and ends its pool; getDb then makes a new one. */
export async function closeDb(db: Db): Promise<void> {
  if (shared.holdfastDb?.db === db) delete shared.holdfastDb;
  await db.$disconnect();
  const pool = (db as unknown as Record<symbol, pg.Pool | undefined>)[POOL];
  if (pool && !pool.ended) await pool.end();
}

const CONNECTION_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "57P03", "08000", "08001", "08003", "08006"]);
const CONNECTION_TEXT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|timeout exceeded when trying to connect|Connection terminated|terminating connection|the database system is (starting|shutting) up|Can't reach database server/i;

function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (kind === "DatabaseNotReachable" || kind === "ConnectionClosed" || kind === "SocketTimeout") return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && CONNECTION_TEXT.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs a database call; an unreachable database becomes StoreUnavailableError("database"). */
export async function dbCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isConnectionError(error)) throw new StoreUnavailableError("database", { cause: error });
    throw error;
  }
}

/** The column names of a unique-constraint violation, or null when the error is something else. */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; meta?: Record<string, unknown>; message?: string };
  if (e?.code !== "P2002") return null;
  return JSON.stringify(e.meta ?? {}) + " " + (e.message ?? "");
}

const shared = globalThis as unknown as { holdfastDb?: { url: string; db: Db } };

/** One client per process (and per URL), kept across hot reloads in development. */
export function getDb(url: string): Db {
  if (shared.holdfastDb?.url !== url) shared.holdfastDb = { url, db: createDb(url) };
  return shared.holdfastDb.db;
}
