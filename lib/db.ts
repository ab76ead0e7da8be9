import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../prisma/generated/client";
import { StoreUnavailableError } from "@holdfast/session";
import { isConnectionError as isPostgresUnavailable } from "@holdfast/session/stores/postgres";

export type Db = PrismaClient;

/** The pool under a client, for the hot paths' plain SQL. */
const POOL = Symbol.for("holdfast.pool");

/** Connections one process opens at most when DATABASE_POOL_SIZE is unset. */
export const DEFAULT_POOL_SIZE = 10;
/**
 * How long a query may wait for its answer, time in a pooler's queue included, before it is a
 * 503: the 10 s the server-side statement_timeout used to allow, now also bounding the wait for
 * a pooled connection. Shorter failed sign-ups on a loaded two-core machine whose event loops lag
 * by seconds (e2e/cluster/pgbouncer.spec.ts).
 */
export const QUERY_TIMEOUT_MS = 10_000;

export interface DbOptions {
  /** The most connections this process opens (DATABASE_POOL_SIZE). */
  poolSize?: number;
  queryTimeoutMs?: number;
}

/**
 * A client with bounded waits, so an unreachable or saturated database is a quick 503 rather than
 * a hang. Prisma owns the schema, the migrations and most queries; the requests' hot paths
 * (session read and write, captcha ledger, rate limit, user lookup) send plain SQL through the
 * same pool, since a Prisma query costs several times a `pg` one (bench/speedups.ts).
 *
 * Safe behind a pooler in transaction mode (PgBouncer), where consecutive statements of one
 * client may run on different server connections:
 * - no server-side setting is sent: node-postgres passes `statement_timeout` (and the like) as
 *   startup parameters, which PgBouncer refuses outright ("unsupported startup parameter"), and
 *   a `SET` would stay on a server connection that other clients then get. The timeout is the
 *   client's own `query_timeout`; a server-side one belongs to the database role
 *   (`ALTER ROLE … SET statement_timeout`), which every server connection applies itself;
 * - no named prepared statements: our queries carry no `name`, and @prisma/adapter-pg names them
 *   only when given a `statementNameGenerator`, which we do not give;
 * - no session-level locks or settings anywhere (lib/migrate.ts takes transaction-level locks).
 */
export function createDb(url: string, options: DbOptions = {}): Db {
  const queryTimeout = options.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    // Client-side: never sent to the server, so a pooler has nothing to refuse.
    query_timeout: queryTimeout,
    // An idle pool never keeps a finished script or test process alive.
    allowExitOnIdle: true,
  });
  // An idle connection that the server ends (a restart, a failover, an admin) must not crash the
  // process: the pool drops it, and the next query opens a new one or fails as a 503.
  pool.on("error", (error) => console.warn(`[holdfast] database connection lost: ${(error as { code?: string }).code ?? error.name}`));
  markTimeouts(pool, queryTimeout);
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  Object.defineProperty(db, POOL, { value: pool });
  return db;
}

/**
 * node-postgres reports its query_timeout as a bare "Query read timeout" with no code. Every
 * caller of the pool (this app's dbCall, the session package's Postgres store) recognises an
 * unreachable database by its code, so the error is given ETIMEDOUT: a query that waited this
 * long is, for the request, a database it cannot reach (503), not a wrong query (500).
 */
function markTimeouts(pool: pg.Pool, ms: number): void {
  const mark = (error: unknown) => {
    if (error instanceof Error && error.message === "Query read timeout" && !(error as { code?: unknown }).code) {
      Object.assign(error, { code: "ETIMEDOUT", message: `Query read timeout: no answer within ${ms} ms` });
    }
    return error;
  };
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const wrapped = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === "function") {
      args[args.length - 1] = (error: unknown, result: unknown) => (callback as (e: unknown, r: unknown) => void)(mark(error), result);
      return query(...args);
    }
    return (query(...args) as Promise<unknown>).catch((error: unknown) => {
      throw mark(error);
    });
  };
  pool.query = wrapped as typeof pool.query;
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

// Prisma's own codes and the driver adapter's error kinds for the same causes; the Postgres and
// socket codes are the session store's (one list: a cause the store answers 503 must be one here).
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const PRISMA_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const PRISMA_TEXT = /Query read timeout|Can't reach database server/i;

/**
 * An error and what lies under it, at most six deep: its `cause`, or, for Prisma's error, the
 * driver's in `meta.driverAdapterError` (whose cause holds the SQLSTATE or the kind).
 */
function* errorChain(error: unknown): Generator<object> {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause ?? (e as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
  }
}

/** The SQLSTATE an error carries (a pg error's `code`, or the one Prisma's driver error holds), if any. */
export function sqlState(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    for (const value of [(e as { originalCode?: unknown }).originalCode, (e as { code?: unknown }).code]) {
      if (typeof value === "string" && /^[0-9A-Z]{5}$/.test(value) && !/^P\d{4}$/.test(value)) return value;
    }
  }
  return undefined;
}

export function isConnectionError(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (isPostgresUnavailable(e)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && PRISMA_CODES.has(code)) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (typeof kind === "string" && PRISMA_KINDS.has(kind)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && PRISMA_TEXT.test(message)) return true;
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

/**
 * What names the columns of a unique-constraint violation (Prisma's P2002 meta, or pg's 23505
 * constraint name, e.g. users_username_key_key), or null when the error is something else.
 */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; meta?: Record<string, unknown>; message?: string; constraint?: string };
  if (e?.code === "23505") return `${e.constraint ?? ""} ${e.message ?? ""}`;
  if (e?.code !== "P2002") return null;
  return JSON.stringify(e.meta ?? {}) + " " + (e.message ?? "");
}

const shared = globalThis as unknown as { holdfastDb?: { url: string; poolSize: number; db: Db } };

/** One client per process (and per URL and pool size), kept across hot reloads in development. */
export function getDb(url: string, poolSize = DEFAULT_POOL_SIZE): Db {
  if (shared.holdfastDb?.url !== url || shared.holdfastDb.poolSize !== poolSize) shared.holdfastDb = { url, poolSize, db: createDb(url, { poolSize }) };
  return shared.holdfastDb.db;
}
