/**
 * The database store at scale, on a benchmark database of its own (created here, dropped at the
 * end): session lookup latency with 10k and with ~1M rows, the query plan that explains it, and
 * the expired-session sweep over 1M rows with concurrent reads timed during and without it.
 */
import pg from "pg";
import { createDb, sql as sqlPool } from "../lib/db";
import { migrate } from "../lib/migrate";
import { createPostgresStore, type Queryable } from "@holdfast/session/stores/postgres";
import { summarize, type Summary } from "./stats";

export interface ScaleOptions {
  /** A URL of the Postgres server to create the benchmark database on. */
  adminUrl: string;
  liveRows: number;
  expiredRows: number;
  lookups: number;
  readers: number;
  log(line: string): void;
}

export interface ScaleResult {
  liveRows: number;
  expiredRows: number;
  insertSeconds: number;
  lookupSmall: Summary;
  lookupLarge: Summary;
  p50Ratio: number;
  p99Ratio: number;
  planSmall: string;
  planLarge: string;
  indexScan: boolean;
  sweep: {
    deleted: number;
    seconds: number;
    rowsPerSecond: number;
    statements: number;
    batchSize: number;
    readers: number;
    readsWithout: Summary;
    readsDuring: Summary;
    p99Ratio: number;
  };
}

const DATABASE = "holdfast_bench_scale";
const BATCH = 1_000;

// The token of row i is `<prefix><i>`; the table keeps its SHA-256 in hex, as hashToken() does.
const insertRows = (prefix: string, count: number, activeAt: string, expires: string) => `
  INSERT INTO sessions (token_hash, data, user_id, created_at, last_active_at, expires_at)
  SELECT encode(sha256(convert_to('${prefix}' || i, 'UTF8')), 'hex'), '{}'::jsonb, NULL, ${activeAt}, ${activeAt}, ${expires}
  FROM generate_series(1, ${count}) AS i`;

export async function databaseScale(options: ScaleOptions): Promise<ScaleResult> {
  const { log } = options;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${DATABASE}"`);
  const url = new URL(options.adminUrl);
  url.pathname = `/${DATABASE}`;
  const dbUrl = url.toString();
  const sql = new pg.Client({ connectionString: dbUrl });
  const clients = [createDb(dbUrl), createDb(dbUrl), createDb(dbUrl)] as const;
  try {
    await migrate(dbUrl);
    await sql.connect();
    const [lookupDb, readerDb, sweepDb] = clients;
    const store = createPostgresStore(sqlPool(lookupDb));
    const live = (i: number) => `bench-live-${i}`;
    const randomLive = () => live(1 + Math.floor(Math.random() * options.liveRows));

    const lookups = async (): Promise<Summary> => {
      for (let i = 0; i < 200; i++) await store.read(randomLive(), Date.now());
      const times: number[] = [];
      for (let i = 0; i < options.lookups; i++) {
        const t0 = performance.now();
        const found = await store.read(randomLive(), Date.now());
        times.push(performance.now() - t0);
        if (!found) throw new Error("bench: a live benchmark session was not found");
      }
      return summarize(times);
    };
    const plan = async () => {
      const { rows } = await sql.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT * FROM sessions WHERE token_hash = $1`, [
        "0".repeat(64),
      ]);
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    };

    log(`database scale: inserting ${options.liveRows.toLocaleString("en-US")} live sessions`);
    await sql.query(insertRows("bench-live-", options.liveRows, "now()", "now() + interval '1 day'"));
    await sql.query("VACUUM ANALYZE sessions");
    const lookupSmall = await lookups();
    const planSmall = await plan();

    log(`database scale: inserting ${options.expiredRows.toLocaleString("en-US")} expired sessions (INSERT … SELECT generate_series)`);
    const t0 = performance.now();
    // Expiries spread over the past week, as real expired sessions are.
    await sql.query(insertRows("bench-old-", options.expiredRows, "now() - interval '1 day' - (i * interval '600 ms')", "now() - interval '1 minute' - (i * interval '600 ms')"));
    const insertSeconds = (performance.now() - t0) / 1000;
    await sql.query("VACUUM ANALYZE sessions");
    const lookupLarge = await lookups();
    const planLarge = await plan();
    const indexScan = [planSmall, planLarge].every((p) => /Index (Only )?Scan/.test(p));

    // Readers on their own client, as another instance's requests would be.
    const reader = createPostgresStore(sqlPool(readerDb));
    const readLoop = async (stop: { done: boolean }, times: number[]) => {
      while (!stop.done) {
        const t = performance.now();
        await reader.read(randomLive(), Date.now());
        times.push(performance.now() - t);
      }
    };
    const readFor = async (until: Promise<unknown>) => {
      const stop = { done: false };
      const times: number[] = [];
      const loops = Array.from({ length: options.readers }, () => readLoop(stop, times));
      await until;
      stop.done = true;
      await Promise.all(loops);
      return summarize(times);
    };

    log(`database scale: reads without a sweep (${options.readers} concurrent readers)`);
    const readsWithout = await readFor(new Promise((r) => setTimeout(r, 4_000)));
    log(`database scale: sweeping ${options.expiredRows.toLocaleString("en-US")} expired sessions while the readers go on`);
    const statements = { n: 0 };
    const counted: Queryable = {
      query: (text, values) => {
        statements.n++;
        return sqlPool(sweepDb).query(text, values);
      },
    };
    const sweeper = createPostgresStore(counted, { sweepBatchSize: BATCH });
    const s0 = performance.now();
    let deleted = 0;
    const readsDuring = await readFor(sweeper.sweepExpired().then((n) => (deleted = n)));
    const seconds = (performance.now() - s0) / 1000;
    const { rows } = await sql.query<{ n: string }>("SELECT count(*) AS n FROM sessions");
    if (Number(rows[0]!.n) !== options.liveRows) throw new Error(`bench: ${rows[0]!.n} sessions left after the sweep, expected ${options.liveRows}`);

    return {
      liveRows: options.liveRows,
      expiredRows: options.expiredRows,
      insertSeconds,
      lookupSmall,
      lookupLarge,
      p50Ratio: lookupLarge.p50Ms / lookupSmall.p50Ms,
      p99Ratio: lookupLarge.p99Ms / lookupSmall.p99Ms,
      planSmall,
      planLarge,
      indexScan,
      sweep: {
        deleted,
        seconds,
        rowsPerSecond: deleted / seconds,
        statements: statements.n,
        batchSize: BATCH,
        readers: options.readers,
        readsWithout,
        readsDuring,
        p99Ratio: readsDuring.p99Ms / readsWithout.p99Ms,
      },
    };
  } finally {
    for (const db of clients) await db.$disconnect().catch(() => {});
    await sql.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
