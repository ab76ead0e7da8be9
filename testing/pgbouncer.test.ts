import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { startPgBouncer, type PgBouncer } from "./pgbouncer";

/**
 * The harness's own proof: Debian's pgbouncer in transaction pooling answers queries and never
 * opens more than its cap of server connections, however many clients wait. Each run uses a
 * database of its own, so counting that database's backends counts PgBouncer's connections and
 * nobody else's. Run with `node --import tsx --test testing/pgbouncer.test.ts`; the server is
 * TEST_DATABASE_URL's (or DATABASE_URL's), else the local postgres@127.0.0.1:5432/test.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const DATABASE = `holdfast_pgbouncer_${process.pid}`;
const CAP = 10;

function databaseUrl(): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, options: Partial<pg.ClientConfig> = {}): Promise<T> {
  const client = new pg.Client({ connectionString: url, ...options });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("PgBouncer in front of Postgres (testing/pgbouncer.ts)", () => {
  let bouncer: PgBouncer;
  let admin: pg.Client;

  before(async () => {
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${DATABASE}"`);
    bouncer = await startPgBouncer({ databaseUrl: databaseUrl(), maxServerConnections: CAP, poolMode: "transaction" });
  });

  after(async () => {
    await bouncer?.stop();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`).catch(() => {});
      await admin.end();
    }
  });

  const serverConnections = async () =>
    Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1", [DATABASE])).rows[0]!.n);

  it("answers queries, in transaction pooling: clients share server connections between transactions", async () => {
    // Twenty clients stay connected; their queries, one after another, all run on one or two
    // server connections. In session pooling each client would hold its own.
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const client = new pg.Client({ connectionString: bouncer.url });
        await client.connect();
        return client;
      }),
    );
    try {
      const backends = new Set<number>();
      for (const client of clients) {
        const { rows } = await client.query<{ pid: number; db: string; sum: number }>("SELECT pg_backend_pid() AS pid, current_database() AS db, 1 + 1 AS sum");
        assert.equal(rows[0]!.db, DATABASE);
        assert.equal(rows[0]!.sum, 2);
        backends.add(rows[0]!.pid);
      }
      assert.ok(backends.size <= 2, `20 connected clients used ${backends.size} server connections`);
      assert.ok((await serverConnections()) <= 2);
      // The pool exists once a client has used it.
      const pools = await withClient(bouncer.adminUrl, (c) => c.query<{ database: string; pool_mode: string }>("SHOW POOLS"));
      assert.equal(pools.rows.find((r) => r.database === DATABASE)?.pool_mode, "transaction");
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it(`opens at most ${CAP} server connections while 30 clients run pg_sleep at once`, async () => {
    const SLEEP_S = 0.6;
    let peak = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, await serverConnections());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const started = Date.now();
    const pool = new pg.Pool({ connectionString: bouncer.url, max: 30 });
    try {
      const results = await Promise.all(Array.from({ length: 30 }, () => pool.query("SELECT pg_sleep($1)", [SLEEP_S])));
      assert.equal(results.length, 30);
    } finally {
      running = false;
      await sampler;
      await pool.end();
    }
    const elapsed = Date.now() - started;
    // Exactly the cap: never more, and all of it used (so the count does see PgBouncer's connections).
    assert.equal(peak, CAP, `peak server connections: ${peak}`);
    // 30 sleeps on 10 connections take three rounds; without the cap they would take one.
    assert.ok(elapsed >= 3 * SLEEP_S * 1000 * 0.95, `30 sleeps took ${elapsed} ms`);
  });

  it("refuses statement_timeout as a startup parameter unless told to ignore it, which drops it", async () => {
    await assert.rejects(
      withClient(bouncer.url, async () => {}, { statement_timeout: 1_000 }),
      /unsupported startup parameter: statement_timeout/,
    );
    const ignoring = await startPgBouncer({ databaseUrl: databaseUrl(), maxServerConnections: 2, ignoreStartupParameters: ["statement_timeout"] });
    const setting = await startPgBouncer({ databaseUrl: databaseUrl(), maxServerConnections: 2, connectQuery: "SET statement_timeout = 1000" });
    try {
      const show = (c: pg.Client) => c.query<{ statement_timeout: string }>("SHOW statement_timeout").then((r) => r.rows[0]!.statement_timeout);
      // Accepted, but the server never hears of it.
      assert.equal(await withClient(ignoring.url, show, { statement_timeout: 1_000 }), "0");
      // A connect_query sets it on every server connection instead.
      assert.equal(await withClient(setting.url, show), "1s");
    } finally {
      await ignoring.stop();
      await setting.stop();
    }
  });

  it("runs as an unprivileged user even when started by root", () => {
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${bouncer.process.pid}/status`, "utf8"))?.[1]);
    if (process.getuid?.() === 0) assert.notEqual(uid, 0);
    else assert.equal(uid, process.getuid?.());
  });

  it("stop() ends PgBouncer and removes its folder", async () => {
    const other = await startPgBouncer({ databaseUrl: databaseUrl(), maxServerConnections: 1 });
    assert.equal(await withClient(other.url, (c) => c.query("SELECT 1 AS one").then((r) => r.rows[0].one)), 1);
    await other.stop();
    assert.notEqual(other.process.exitCode ?? other.process.signalCode, null);
    assert.ok(await refuses(other.port));
    assert.equal(existsSync(other.dir), false);
  });
});
