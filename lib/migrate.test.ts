import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { required } from "../testing/services";
import { createDb, type Db } from "./db";
import { migrate, MIGRATIONS_DIR } from "./migrate";

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
