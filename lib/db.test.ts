import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StoreUnavailableError } from "@holdfast/session";
import { createPostgresStore } from "@holdfast/session/stores/postgres";
import pg from "pg";
import { startPgBouncer, type PgBouncer } from "../testing/pgbouncer";
import { required } from "../testing/services";
import { closeDb, createDb, dbCall, sql, sqlState } from "./db";
import { databaseProblem, migrate, unappliedMigrations } from "./migrate";

/**
 * The app's database client behind PgBouncer in transaction mode, the pooled shape of a
 * deployment: it must connect at all (no startup parameter PgBouncer refuses), open no more
 * connections than DATABASE_POOL_SIZE, and answer a saturated pooler with a quick 503 rather
 * than a hang.
 */

const NAME = `holdfast_db_pooled_${process.pid}`;

async function admin(text: string) {
  const client = new pg.Client({ connectionString: required("DATABASE_URL") });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe("the database client through PgBouncer in transaction mode", () => {
  let bouncer: PgBouncer;
  let direct: string;

  before(async () => {
    await admin(`DROP DATABASE IF EXISTS "${NAME}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${NAME}"`);
    const u = new URL(required("DATABASE_URL"));
    u.pathname = `/${NAME}`;
    direct = u.toString();
    await migrate(direct);
    // One server connection: a client that holds it saturates the pooler.
    bouncer = await startPgBouncer({ databaseUrl: direct, maxServerConnections: 1, poolMode: "transaction" });
  });
  after(async () => {
    await bouncer?.stop();
    await admin(`DROP DATABASE IF EXISTS "${NAME}" WITH (FORCE)`);
  });

  it("connects and answers through Prisma, plain SQL and the session store (no startup parameter is refused)", async () => {
    const db = createDb(bouncer.url);
    try {
      assert.equal(await db.user.count(), 0);
      const { rows } = await sql(db).query<{ one: number }>("SELECT 1 AS one");
      assert.equal(rows[0]!.one, 1);
      assert.equal(await createPostgresStore(sql(db)).read("no-such-token", Date.now()), null);
      // Nothing that a pooler would have to carry from one transaction to the next.
      const options = sql(db).options as unknown as Record<string, unknown>;
      for (const key of ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "options"]) assert.equal(options[key], undefined, key);
    } finally {
      await closeDb(db);
    }
  });

  it("opens at most poolSize connections, however many queries wait", async () => {
    const db = createDb(direct, { poolSize: 3 });
    try {
      await Promise.all(Array.from({ length: 12 }, () => sql(db).query("SELECT pg_sleep(0.05)")));
      assert.equal(sql(db).totalCount, 3);
    } finally {
      await closeDb(db);
    }
  });

  it("a saturated pooler is a quick StoreUnavailableError on every path, not a hang", async () => {
    const db = createDb(bouncer.url, { queryTimeoutMs: 400 });
    // Prisma's first query loads its engine (seconds here), which is not what this measures.
    assert.equal(await db.user.count(), 0);
    const holder = new pg.Client({ connectionString: bouncer.url });
    await holder.connect();
    // An open transaction keeps PgBouncer's only server connection to itself.
    await holder.query("BEGIN");
    await holder.query("SELECT 1");
    try {
      const quick = async (what: string, run: () => Promise<unknown>) => {
        const started = Date.now();
        await assert.rejects(run(), (error) => error instanceof StoreUnavailableError, what);
        const took = Date.now() - started;
        assert.ok(took < 2_000, `${what} took ${took} ms`);
      };
      await quick("plain SQL", () => dbCall(() => sql(db).query("SELECT 1")));
      await quick("Prisma", () => dbCall(() => db.user.count()));
      await quick("the session store", () => createPostgresStore(sql(db)).read("no-such-token", Date.now()));
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
      await closeDb(db);
    }
    // Once the connection is free again, a new client is served.
    const after = createDb(bouncer.url);
    try {
      assert.equal(await after.user.count(), 0);
    } finally {
      await closeDb(after);
    }
  });
});

describe("a database that cannot serve now is StoreUnavailableError (503), never a 500", () => {
  const DB = `holdfast_db_busy_${process.pid}`;
  const FULL = `holdfast_full_${process.pid}`;
  const SLOW = `holdfast_slow_${process.pid}`;
  const PASSWORD = "busy-test-password";
  let url: (role: string) => string;

  before(async () => {
    await admin(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${DB}"`);
    const base = new URL(required("DATABASE_URL"));
    base.pathname = `/${DB}`;
    await migrate(base.toString());
    // With a password: the embedded test database asks for one (a trust server ignores it).
    url = (role) => Object.assign(new URL(base), { username: role, password: PASSWORD }).toString();
    // No connection slot for this role (53300 too_many_connections), and statements cut off at
    // 300 ms (57014, as an operator's statement_timeout does under load).
    for (const role of [FULL, SLOW]) await admin(`DROP ROLE IF EXISTS "${role}"`);
    await admin(`CREATE ROLE "${FULL}" LOGIN PASSWORD '${PASSWORD}' CONNECTION LIMIT 0`);
    await admin(`CREATE ROLE "${SLOW}" LOGIN PASSWORD '${PASSWORD}'`);
    await admin(`ALTER ROLE "${SLOW}" SET statement_timeout = '300ms'`);
    const grant = new pg.Client({ connectionString: base.toString() });
    await grant.connect();
    await grant.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO "${FULL}", "${SLOW}"`);
    await grant.end();
  });
  after(async () => {
    await admin(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`);
    for (const role of [FULL, SLOW]) await admin(`DROP ROLE IF EXISTS "${role}"`);
  });

  /** Refused as unavailable, for the very cause the case sets up (not a login refused on the way). */
  const unavailable = async (what: string, state: string, run: () => Promise<unknown>) =>
    assert.rejects(run(), (error) => error instanceof StoreUnavailableError && error.store === "database" && sqlState(error.cause) === state, what);

  it("no connection slot left (53300): Prisma, plain SQL and the session store", async () => {
    const db = createDb(url(FULL));
    try {
      await unavailable("Prisma", "53300", () => dbCall(() => db.user.count()));
      await unavailable("plain SQL", "53300", () => dbCall(() => sql(db).query("SELECT 1")));
      await unavailable("the session store", "53300", () => createPostgresStore(sql(db)).read("no-such-token", Date.now()));
      // A command told so names that cause, not an unreachable database.
      const problem = await unappliedMigrations(url(FULL)).then(() => null, (error: unknown) => databaseProblem(error, url(FULL)));
      assert.match(problem?.problem ?? "", /has no connection left for this one/);
    } finally {
      await closeDb(db);
    }
  });

  it("a statement cancelled by statement_timeout (57014): Prisma, plain SQL and the session store", async () => {
    const owner = new pg.Client({ connectionString: Object.assign(new URL(required("DATABASE_URL")), { pathname: `/${DB}` }).toString() });
    await owner.connect();
    const db = createDb(url(SLOW));
    try {
      // Whatever touches these tables waits behind this lock until its statement is cancelled.
      await owner.query("BEGIN");
      await owner.query("LOCK TABLE users, sessions IN ACCESS EXCLUSIVE MODE");
      await unavailable("Prisma", "57014", () => dbCall(() => db.user.count()));
      await unavailable("plain SQL", "57014", () => dbCall(() => sql(db).query("SELECT count(*) FROM users")));
      await unavailable("the session store", "57014", () => createPostgresStore(sql(db)).read("no-such-token", Date.now()));
    } finally {
      await owner.query("ROLLBACK").catch(() => {});
      await owner.end();
      await closeDb(db);
    }
  });
});

