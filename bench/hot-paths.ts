/**
 * `npx tsx bench/hot-paths.ts [DATABASE_URL [REDIS_URL]]`: what a hot-path query costs through Prisma and as
 * plain SQL on the same pg pool (lib/db.ts `sql`), side by side in one run, alternating rounds.
 * The queries are the ones a flow makes: session read, captcha take, rate limit hit (the read
 * half), user lookup, and the user insert of a registration (its rows are deleted at the end).
 * Then a login's session rotation on the database store and, given a Redis, on the cached store
 * in front of it: the core's fallback, a delete then a create, against the store's own `rotate`.
 */
import { randomUUID } from "node:crypto";
import type { SessionStore } from "@holdfast/session";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { createCachedStore } from "@holdfast/session/stores/cached";
import { createPostgresStore } from "@holdfast/session/stores/postgres";
import { createRedisStore } from "@holdfast/session/stores/redis";
import { closeDb, createDb, sql } from "../lib/db";
import { migrate } from "../lib/migrate";

const url = process.argv[2] ?? process.env.DATABASE_URL;
if (!url) throw new Error("bench/hot-paths: pass a postgres:// URL or set DATABASE_URL");
await migrate(url);
const db = createDb(url);
const pool = sql(db);
const N = 1_000;
const ROUNDS = 3;

const token = "0".repeat(64);
const userId = randomUUID();

const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
  [
    "session read",
    () => db.session.findUnique({ where: { tokenHash: token } }),
    () => pool.query("SELECT data, user_id, created_at, last_active_at, expires_at FROM sessions WHERE token_hash = $1", [token]),
  ],
  [
    "captcha take",
    () => db.$queryRaw`DELETE FROM captchas WHERE id = ${token} RETURNING answer_hash, expires_at`,
    () => pool.query("DELETE FROM captchas WHERE id = $1 RETURNING answer_hash, expires_at", [token]),
  ],
  [
    "rate-limit row read",
    () => db.$queryRaw`SELECT tat_ms FROM rate_limits WHERE key = ${token}`,
    () => pool.query("SELECT tat_ms FROM rate_limits WHERE key = $1", [token]),
  ],
  [
    "user lookup",
    () => db.user.findUnique({ where: { id: userId }, select: { id: true, username: true, email: true } }),
    () => pool.query("SELECT id, username, email FROM users WHERE id = $1", [userId]),
  ],
  [
    "user insert (registration)",
    () => {
      const id = randomUUID();
      return db.user.create({ data: { id, username: `hp_${id}`, usernameKey: `hp_${id}`, email: `${id}@hot-paths.test`, passwordHash: "x" }, select: { id: true, username: true, email: true } });
    },
    () => {
      const id = randomUUID();
      return pool.query("INSERT INTO users (id, username, username_key, email, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id, username, email", [id, `hp_${id}`, `hp_${id}`, `${id}@hot-paths.test`, "x"]);
    },
  ],
];

async function perQuery(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < N; i++) await run();
  return (performance.now() - started) / N;
}

console.log(`hot-path queries, ${N} sequential per measurement, ${ROUNDS} alternating rounds, median shown`);
console.log("| query | Prisma ms | pg ms | Prisma ÷ pg |\n|---|---:|---:|---:|");
for (const [label, prisma, plain] of cases) {
  for (let i = 0; i < 100; i++) await Promise.all([prisma(), plain()]);
  await row(label, prisma, plain);
}

/** Two variants measured in alternating rounds; prints their medians and the first ÷ the second as a table row. */
async function row(label: string, first: () => Promise<unknown>, second: () => Promise<unknown>) {
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    a.push(await perQuery(first));
    b.push(await perQuery(second));
  }
  console.log(`| ${label} | ${median(a).toFixed(3)} | ${median(b).toFixed(3)} | ${(median(a) / median(b)).toFixed(2)}× |`);
}

function median(xs: number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
}

/**
 * A login's rotation on a store: the core's fallback, a delete then a create, against the
 * store's own `rotate`. Each replaces the session the previous one made, as a login after a
 * sign-up page does; the sessions belong to a user, so a cache also updates the user's index.
 */
async function rotation(label: string, store: SessionStore) {
  const record = () => {
    const now = Date.now();
    return { data: { captcha: randomUUID() }, userId, createdAt: now, lastActiveAt: now };
  };
  let current = await store.create(record(), Date.now() + 60_000);
  const twoSteps = async () => {
    await store.delete(current);
    current = await store.create(record(), Date.now() + 60_000);
  };
  const oneStep = async () => {
    current = await store.rotate!(current, record(), Date.now() + 60_000);
  };
  for (let i = 0; i < 100; i++) {
    await twoSteps();
    await oneStep();
  }
  await row(label, twoSteps, oneStep);
  await store.delete(current);
}

// The sessions' user, made only now so the lookups above stay as they were measured before.
await pool.query("INSERT INTO users (id, username, username_key, email, password_hash) VALUES ($1, $2, $2, $3, 'x')", [userId, `hp_${userId}`, `${userId}@hot-paths.test`]);
const database = createPostgresStore(pool, { sweepIntervalMs: Number.MAX_SAFE_INTEGER });
console.log("\n| session rotation, per login | delete, then create: ms | rotate: ms | ratio |\n|---|---:|---:|---:|");
await rotation("database store", database);
const redisUrl = process.argv[3] ?? process.env.REDIS_URL;
if (redisUrl) {
  const transport = tcpTransport(redisUrl);
  await rotation("cached store (Redis over TCP in front)", createCachedStore(database, createRedisStore(transport, { prefix: `hot-paths-${randomUUID()}` })));
  await transport.close();
}
await pool.query("DELETE FROM users WHERE email LIKE '%@hot-paths.test'");
await closeDb(db);
