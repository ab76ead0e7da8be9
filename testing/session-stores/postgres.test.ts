import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { hashToken } from "@holdfast/session";
import { createPostgresStore, type Queryable } from "@holdfast/session/stores/postgres";
import { sql } from "../../lib/db";
import { closeTestDb, required, testDb } from "../services";

after(closeTestDb);

async function expiredRows(n: number, tag: string) {
  const past = new Date(Date.now() - 60_000);
  await testDb().session.createMany({
    data: Array.from({ length: n }, (_, i) => ({ tokenHash: `${tag}-${i}`, data: {}, createdAt: past, lastActiveAt: past, expiresAt: past })),
  });
}

/** The test database's pool, with every statement it is sent recorded in order. */
function countingPool(): { counted: Queryable; statements: string[] } {
  const pool = sql(testDb());
  const statements: string[] = [];
  const counted: Queryable = {
    query: (text, values) => {
      statements.push(text);
      return pool.query(text, values);
    },
  };
  return { counted, statements };
}

const count = (tag: string) => testDb().session.count({ where: { tokenHash: { startsWith: tag } } });

describe("database store housekeeping", () => {
  it("the sweep deletes expired rows in batches and keeps live ones", async () => {
    const tag = `sweep-${randomUUID()}`;
    await expiredRows(25, tag);
    const live = new Date(Date.now() + 60_000);
    await testDb().session.create({ data: { tokenHash: `${tag}-live`, data: {}, createdAt: new Date(), lastActiveAt: new Date(), expiresAt: live } });
    const removed = await createPostgresStore(sql(testDb()), { sweepBatchSize: 4 }).sweepExpired();
    assert.ok(removed >= 25, `removed ${removed}`);
    assert.equal(await count(tag), 1);
  });

  it("an expired row is removed when a read meets it", async () => {
    const store = createPostgresStore(sql(testDb()));
    const token = randomUUID();
    const past = new Date(Date.now() - 1_000);
    await testDb().session.create({ data: { tokenHash: hashToken(token), data: { a: 1 }, createdAt: past, lastActiveAt: past, expiresAt: past } });
    assert.equal(await store.read(token, Date.now()), null);
    assert.equal(await testDb().session.count({ where: { tokenHash: hashToken(token) } }), 0);
  });

  it("creating sessions sweeps now and then in the background, without cron", async () => {
    const tag = `bg-${randomUUID()}`;
    await expiredRows(5, tag);
    const store = createPostgresStore(sql(testDb()), { sweepIntervalMs: 0 });
    const now = Date.now();
    await store.create({ data: { x: 1 }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000);
    for (let i = 0; i < 50 && (await count(tag)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await count(tag), 0);
  });

  it("npm run sessions:clear deletes expired sessions now", async () => {
    const tag = `clear-${randomUUID()}`;
    await expiredRows(3, tag);
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/sessions-clear.ts"], {
      // Only the database matters here; the stack's Redis settings would ask for two Redis at once.
      env: { ...process.env, DATABASE_URL: required("DATABASE_URL"), REDIS_CLUSTER_NODES: "" },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /removed \d+ expired sessions/);
    assert.equal(await count(tag), 0);
  });

  it("a rotation (login, registration) is one statement: the old row goes and the new one comes, or neither", async () => {
    const { counted, statements } = countingPool();
    const store = createPostgresStore(counted, { sweepIntervalMs: Number.MAX_SAFE_INTEGER });
    const now = Date.now();
    const old = await store.create({ data: { step: 1 }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000);
    statements.length = 0;
    const next = await store.rotate!(old, { data: { step: 2 }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000);
    assert.equal(statements.length, 1, statements.join("\n"));
    assert.equal(await store.read(old, now), null);
    assert.deepEqual((await store.read(next, now))?.data, { step: 2 });

    // A new row the database refuses (jsonb takes no NUL character) leaves the old session in place.
    await assert.rejects(store.rotate!(next, { data: { step: "\u0000" }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000));
    assert.deepEqual((await store.read(next, now))?.data, { step: 2 });
  });

  it("reads sent together share one statement, each answered with its own session, at most readBatchSize a statement", async () => {
    const { counted, statements } = countingPool();
    const now = Date.now();
    const make = async (store: ReturnType<typeof createPostgresStore>) => {
      const tokens = [];
      for (const n of [1, 2, 3]) tokens.push(await store.create({ data: { n }, userId: null, createdAt: now, lastActiveAt: now }, now + 60_000));
      const expired = randomUUID();
      const past = new Date(now - 1_000);
      await testDb().session.create({ data: { tokenHash: hashToken(expired), data: { n: 0 }, createdAt: past, lastActiveAt: past, expiresAt: past } });
      return [...tokens, expired, randomUUID()];
    };
    const reads = (store: ReturnType<typeof createPostgresStore>, tokens: string[]) => Promise.all(tokens.map((t) => store.read(t, now).then((r) => r?.data ?? null)));
    const selects = () => statements.filter((s) => s.startsWith("SELECT"));

    const store = createPostgresStore(counted, { sweepIntervalMs: Number.MAX_SAFE_INTEGER });
    const tokens = await make(store);
    statements.length = 0;
    assert.deepEqual(await reads(store, tokens), [{ n: 1 }, { n: 2 }, { n: 3 }, null, null]);
    assert.equal(selects().length, 1, statements.join("\n"));
    // The expired row met by the batch is gone, as with a read alone.
    assert.equal(await testDb().session.count({ where: { tokenHash: hashToken(tokens[3]!) } }), 0);

    const capped = createPostgresStore(counted, { sweepIntervalMs: Number.MAX_SAFE_INTEGER, readBatchSize: 2 });
    const more = await make(capped);
    statements.length = 0;
    assert.deepEqual(await reads(capped, more), [{ n: 1 }, { n: 2 }, { n: 3 }, null, null]);
    assert.equal(selects().length, 3, statements.join("\n"));
    assert.throws(() => createPostgresStore(counted, { readBatchSize: 0 }), /readBatchSize/);

    // Two requests with the same cookie in one batch: equal sessions, each its own object.
    const [a, b] = await Promise.all([store.read(tokens[0]!, now), store.read(tokens[0]!, now)]);
    assert.deepEqual(a?.data, { n: 1 });
    assert.deepEqual(b?.data, { n: 1 });
    assert.notEqual(a?.data, b?.data);
  });
});
