import assert from "node:assert/strict";
import net from "node:net";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { startPgBouncer, type PgBouncer } from "../testing/pgbouncer";
import { required } from "../testing/services";
import { createDb, type Db } from "./db";
import { databaseProblem, databaseSentence, migrate, MIGRATION_LOCK_KEY, MIGRATIONS_DIR, unappliedMigrations } from "./migrate";
import { freePort } from "../testing/stack";
import { shippedMigrations } from "./migrations";

const NAME = "holdfast_migrate_test";
let url: string;
let db: Db;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: required("DATABASE_URL") });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe("migrations", () => {
  before(async () => {
    await admin(`DROP DATABASE IF EXISTS "${NAME}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${NAME}"`);
    const u = new URL(required("DATABASE_URL"));
    u.pathname = `/${NAME}`;
    url = u.toString();
  });
  after(async () => {
    await db?.$disconnect();
    await admin(`DROP DATABASE IF EXISTS "${NAME}" WITH (FORCE)`);
  });

  it("apply to an empty database, then do nothing when repeated, also concurrently", async () => {
    const first = await migrate(url);
    assert.ok(first.applied.length >= 1);
    const again = await Promise.all([migrate(url), migrate(url)]);
    for (const r of again) {
      assert.deepEqual(r.applied, []);
      assert.deepEqual(r.alreadyApplied, first.applied);
    }
  });

  it("are recorded in _prisma_migrations as prisma migrate deploy records them", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query(`SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`);
    await client.end();
    assert.ok(rows.length >= 1);
    for (const row of rows) {
      const sql = readFileSync(path.join(MIGRATIONS_DIR, row.migration_name, "migration.sql"), "utf8");
      assert.equal(row.checksum, createHash("sha256").update(sql).digest("hex"));
      assert.ok(row.finished_at instanceof Date);
      assert.equal(row.applied_steps_count, 1);
    }
  });

  it("the migrated schema serves every model of the Prisma schema", async () => {
    db = createDb(url);
    const id = randomUUID();
    await db.user.create({ data: { id, username: "Ann", usernameKey: "ann", email: "ann@example.test", passwordHash: "h" } });
    const now = new Date();
    await db.session.create({ data: { tokenHash: "t", data: { a: 1 }, userId: id, createdAt: now, lastActiveAt: now, expiresAt: now } });
    await db.captcha.create({ data: { id: "c", answerHash: "h", expiresAt: now } });
    await db.rateLimit.create({ data: { key: "k", tatMs: BigInt(now.getTime()), expiresAt: now } });
    assert.equal((await db.rateLimit.findUniqueOrThrow({ where: { key: "k" } })).tatMs, BigInt(now.getTime()));
    assert.deepEqual((await db.session.findUnique({ where: { tokenHash: "t" }, include: { user: true } }))?.user?.email, "ann@example.test");
    assert.equal(await db.captcha.count(), 1);
    // Sessions go with their user.
    await db.user.delete({ where: { id } });
    assert.equal(await db.session.count(), 0);
    // Every model in schema.prisma has been exercised above.
    const models = [...readFileSync("prisma/schema.prisma", "utf8").matchAll(/^model (\w+)/gm)].map((m) => m[1]);
    assert.deepEqual(models.sort(), ["Captcha", "RateLimit", "Session", "User"]);
  });
});

describe("migrations through PgBouncer in transaction mode", () => {
  const name = `holdfast_migrate_pooled_${process.pid}`;
  let bouncer: PgBouncer;
  let direct: pg.Client;

  before(async () => {
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${name}"`);
    const u = new URL(required("DATABASE_URL"));
    u.pathname = `/${name}`;
    bouncer = await startPgBouncer({ databaseUrl: u.toString(), maxServerConnections: 10, poolMode: "transaction" });
    direct = new pg.Client({ connectionString: u.toString() });
    await direct.connect();
  });
  after(async () => {
    await direct?.end();
    await bouncer?.stop();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  // Held by any backend of this database: a lock leaked on a pooled server connection stays
  // there, since PgBouncer keeps that connection open for the next client.
  const heldLocks = async () =>
    Number(
      (
        await direct.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = $1",
          [MIGRATION_LOCK_KEY],
        )
      ).rows[0]!.n,
    );

  it("three at once all succeed, apply each migration once and leave no advisory lock held; three more change nothing", async () => {
    const shipped = shippedMigrations();
    const first = await Promise.all([migrate(bouncer.url), migrate(bouncer.url), migrate(bouncer.url)]);
    // Each migration was applied by exactly one of them; the others found it done.
    assert.deepEqual(first.flatMap((r) => r.applied).sort(), shipped);
    for (const r of first) assert.deepEqual([...r.applied, ...r.alreadyApplied].sort(), shipped);
    const { rows } = await direct.query<{ migration_name: string; n: string }>(
      `SELECT migration_name, count(*) AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL GROUP BY migration_name ORDER BY migration_name`,
    );
    assert.deepEqual(rows.map((r) => [r.migration_name, Number(r.n)]), shipped.map((m) => [m, 1]));
    // PgBouncer's server connections are still open (it keeps them for the next client).
    assert.ok(Number((await direct.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows[0]!.n) >= 1);
    assert.equal(await heldLocks(), 0);

    const again = await Promise.all([migrate(bouncer.url), migrate(bouncer.url), migrate(bouncer.url)]);
    for (const r of again) assert.deepEqual(r, { applied: [], alreadyApplied: shipped });
    assert.equal(await heldLocks(), 0);
  });

  it("a startup parameter the pooler refuses (options=-c …) is one sentence that names it and the fix", async () => {
    const url = new URL(bouncer.url);
    url.searchParams.set("options", "-c statement_timeout=5s");
    const error = await unappliedMigrations(url.toString()).then(
      () => assert.fail("PgBouncer took the options parameter"),
      (e: unknown) => e,
    );
    const problem = databaseProblem(error, url.toString());
    assert.match(problem ? databaseSentence(problem) : "", /refused the startup parameter "options" that DATABASE_URL sends: remove it from DATABASE_URL/);
  });
});

describe("a database a command cannot use is one sentence with its fix, never the password", () => {
  const sentence = async (databaseUrl: string) => {
    const error = await unappliedMigrations(databaseUrl).then(
      () => assert.fail(`${databaseUrl} was usable`),
      (e: unknown) => e,
    );
    const problem = databaseProblem(error, databaseUrl);
    return problem && databaseSentence(problem);
  };
  const at = (change: (url: URL) => void) => {
    const url = new URL(required("DATABASE_URL"));
    change(url);
    return url.toString();
  };

  it("nothing listening at the port", async () => {
    const port = await freePort();
    const problem = await sentence(at((u) => ((u.port = String(port)), (u.password = "pw-never-shown"))));
    assert.match(problem ?? "", /^The database at DATABASE_URL \(.*\) cannot be reached: start PostgreSQL there/);
    assert.ok(problem!.includes(`:${port}/`), problem!);
    assert.doesNotMatch(problem!, /pw-never-shown/);
  });

  it("a database that does not exist", async () => {
    const problem = await sentence(at((u) => (u.pathname = "/holdfast_no_such_database")));
    assert.match(problem ?? "", /^The database "holdfast_no_such_database" does not exist at DATABASE_URL .*createdb holdfast_no_such_database/);
  });

  it("a role the server refuses", async () => {
    const problem = await sentence(at((u) => ((u.username = "holdfast_no_such_role"), (u.password = "pw-never-shown"))));
    assert.match(problem ?? "", /^The database at DATABASE_URL \(.*\) refused the login: correct the user and password in DATABASE_URL/);
    assert.doesNotMatch(problem!, /pw-never-shown|holdfast_no_such_role/);
  });

  it("a server that does not accept the SSL that DATABASE_URL asks for", async () => {
    // What a PostgreSQL server without SSL answers to the SSLRequest: a single "N".
    const server = net.createServer((socket) => socket.once("data", () => socket.end("N")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const problem = await sentence(`postgres://someone:pw-never-shown@127.0.0.1:${port}/app?sslmode=require`);
      assert.match(problem ?? "", /^The database at DATABASE_URL \(127\.0\.0\.1:\d+\/app\) does not accept SSL, which DATABASE_URL asks for: remove sslmode/);
      assert.doesNotMatch(problem!, /pw-never-shown/);
    } finally {
      server.close();
    }
  });

  it("any other error is not named as one of these", () => {
    assert.equal(databaseProblem(new Error("syntax error at or near"), required("DATABASE_URL")), null);
  });
});

