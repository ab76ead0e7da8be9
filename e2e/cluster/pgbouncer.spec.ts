import { expect, test } from "@playwright/test";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { migrate } from "../../lib/migrate";
import { startCluster } from "../../testing/cluster";
import { startPgBouncer } from "../../testing/pgbouncer";
import { proofFrom } from "../../testing/pow";

/**
 * Pooled Postgres at scale: twelve instances of the build behind nginx, every one of them
 * talking to the database through one PgBouncer in transaction pooling that opens at most ten
 * server connections. 600 sign-up flows (proof of work, captcha, register, me), many at once,
 * must all succeed, while the database never sees more than ten connections from them.
 *
 * The database is one of its own, so that every backend on it is one of PgBouncer's; the
 * sampler counts them from a connection to another database.
 */

const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;
const INSTANCES = 12;
const MAX_SERVER_CONNECTIONS = 10;
const FLOWS = 600;
// One visitor per instance, more at once than there are server connections: clients contend
// for PgBouncer's connections without the test itself queueing requests for seconds on two cores.
const CONCURRENCY = 12;
/**
 * The password hash at its lowest cost: this measures the pooled database, and 600 Argon2id
 * hashes at the production 19 MiB on two shared cores would measure hashing (and answer
 * server_busy when too many wait). NODE_ENV=production refuses a low cost unless BENCHMARK=1,
 * the schema's explicit switch for a measured run; it changes nothing else that runs here.
 */
const LOAD_ENV = { PASSWORD_HASH_COST: "1", BENCHMARK: "1" };

test.describe.configure({ timeout: 900_000 });

interface Outcome {
  ok: boolean;
  /** Each request's time to its full answer, in ms. */
  latencies: number[];
  /** `<step> <status> <code>` of the first step that failed. */
  failure?: string;
}

const sessionCookie = (response: Response, previous = "") =>
  response.headers.getSetCookie().find((c) => c.startsWith("holdfast_session="))?.split(";")[0] ?? previous;

async function signUp(base: string): Promise<Outcome> {
  const latencies: number[] = [];
  const timed = async (url: string, init?: RequestInit) => {
    const started = performance.now();
    const response = await fetch(url, init);
    const body = Buffer.from(await response.arrayBuffer());
    latencies.push(performance.now() - started);
    return { response, body };
  };
  const failed = (step: string, { response, body }: { response: Response; body: Buffer }): Outcome => {
    let code = "-";
    try {
      code = (JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code ?? "-";
    } catch {
      // not JSON: the status says enough
    }
    return { ok: false, latencies, failure: `${step} ${response.status} ${code}` };
  };
  try {
    const challenge = await timed(`${base}/api/challenge`);
    if (challenge.response.status !== 200) return failed("challenge", challenge);
    const altcha = proofFrom(challenge.body.toString()).payload;
    const captcha = await timed(`${base}/api/captcha`);
    if (captcha.response.status !== 200) return failed("captcha", captcha);
    let cookie = sessionCookie(captcha.response);
    const id = randomBytes(6).toString("hex");
    const register = await timed(`${base}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ username: `p_${id}`, email: `p.${id}@example.test`, password: `password-${id}`, captcha: captcha.response.headers.get("x-captcha-answer"), altcha }),
    });
    if (register.response.status !== 201) return failed("register", register);
    cookie = sessionCookie(register.response, cookie);
    const me = await timed(`${base}/api/me`, { headers: { cookie } });
    if (me.response.status !== 200) return failed("me", me);
    return { ok: true, latencies };
  } catch (error) {
    return { ok: false, latencies, failure: `exception ${(error as Error).message}` };
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

test(`${INSTANCES} instances through PgBouncer (transaction pooling, ${MAX_SERVER_CONNECTIONS} server connections): ${FLOWS} sign-up flows, 0 failures`, async () => {
  expect(env.DATABASE_URL, "CLUSTER_ENV needs DATABASE_URL").toBeTruthy();
  const adminUrl = env.DATABASE_URL!;
  const database = `holdfast_pgbouncer_scale_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${database}"`);
  const direct = new URL(adminUrl);
  direct.pathname = `/${database}`;
  const bouncer = await startPgBouncer({ databaseUrl: direct.toString(), maxServerConnections: MAX_SERVER_CONNECTIONS, poolMode: "transaction" });
  let peakServer = 0;
  let peakWaiting = 0;
  let sampling = true;
  let samplerError: unknown;
  const counter = new pg.Client({ connectionString: adminUrl });
  const pools = new pg.Client({ connectionString: bouncer.adminUrl });
  let sampler: Promise<void> = Promise.resolve();
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  try {
    // The release step, through the pooler too.
    await migrate(bouncer.url);
    await counter.connect();
    await pools.connect();
    sampler = (async () => {
      while (sampling) {
        const { rows } = await counter.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1", [database]);
        peakServer = Math.max(peakServer, Number(rows[0]!.n));
        // PgBouncer's admin console speaks only the simple protocol: no parameters.
        const shown = await pools.query<{ database: string; cl_waiting: string }>("SHOW POOLS");
        peakWaiting = Math.max(peakWaiting, ...shown.rows.filter((r) => r.database === database).map((r) => Number(r.cl_waiting)));
        await new Promise((r) => setTimeout(r, 50));
      }
    })().catch((error: unknown) => {
      samplerError = error;
    });

    const startedAt = Date.now();
    cluster = await startCluster({
      env: { ...env, ...LOAD_ENV, SESSION_STORE: "database", DATABASE_URL: bouncer.url },
      instances: INSTANCES,
      logDir: path.resolve("artifacts/logs/pgbouncer"),
    });
    const upAt = Date.now();
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < FLOWS) {
          next += 1;
          outcomes.push(await signUp(cluster!.url));
        }
      }),
    );
    const seconds = (Date.now() - upAt) / 1000;
    // Stopped before the check below connects to the database directly.
    sampling = false;
    await sampler;
    const latencies = outcomes.flatMap((o) => o.latencies).sort((a, b) => a - b);
    const byCode = new Map<string, number>();
    for (const o of outcomes) if (!o.ok) byCode.set(o.failure!, (byCode.get(o.failure!) ?? 0) + 1);
    const { rows } = await counter.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1", [database]);
    const users = new pg.Client({ connectionString: direct.toString() });
    await users.connect();
    const created = Number((await users.query<{ n: string }>("SELECT count(*) AS n FROM users")).rows[0]!.n);
    await users.end();
    const succeeded = outcomes.filter((o) => o.ok).length;
    console.log(
      `[pgbouncer] instances ${INSTANCES}, server connections at most ${MAX_SERVER_CONNECTIONS} (transaction pooling), ${CONCURRENCY} visitors at once: ` +
        `flows ${outcomes.length}, succeeded ${succeeded}, users created ${created}, ${(outcomes.length / seconds).toFixed(1)} flows/s over ${seconds.toFixed(1)} s ` +
        `(cluster start ${((upAt - startedAt) / 1000).toFixed(1)} s); failures by code: ${byCode.size ? [...byCode].map(([k, n]) => `${k} ×${n}`).join(", ") : "none"}; ` +
        `peak server connections in pg_stat_activity ${peakServer} (${rows[0]!.n} at the end), peak clients waiting in PgBouncer ${peakWaiting}; ` +
        `request latency p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${percentile(latencies, 100).toFixed(0)} ms`,
    );
    expect(samplerError).toBeUndefined();
    expect([...byCode]).toEqual([]);
    expect(succeeded).toBe(FLOWS);
    expect(created).toBe(FLOWS);
    expect(peakServer).toBeGreaterThan(0);
    expect(peakServer).toBeLessThanOrEqual(MAX_SERVER_CONNECTIONS);
  } finally {
    sampling = false;
    await sampler;
    await cluster?.stop();
    await counter.end().catch(() => {});
    await pools.end().catch(() => {});
    await bouncer.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
});
