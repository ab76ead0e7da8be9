import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import pg from "pg";
import { createClient } from "redis";
import { startPgBouncer } from "../../testing/pgbouncer";
import { startRedisServer } from "../../testing/stack";
import { required } from "../../testing/services";
import { migrate } from "../migrate";
import { shippedMigrations } from "../migrations";
import { parseConfig, type Env } from "../env";
import { diagnose, type Facts } from "./diagnose";
import { databaseConnections, gather, noAnswerCause, sessionCookie } from "./gather";

const base: Env = { SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://localhost:1/x" };
const config = (env: Env = {}) => parseConfig({ ...base, ...env });
const checks = (facts: Facts) => diagnose(facts).map((f) => f.check);

describe("doctor", () => {
  it("a sound configuration has no findings", () => {
    assert.deepEqual(diagnose({ config: config(), url: "https://example.com", reach: { store: true, database: true } }), []);
  });

  it("memory store: fires in production, with several instances planned, or when several answer", () => {
    assert.deepEqual(checks({ config: config({ SESSION_STORE: "memory" }), instancesPlanned: 3 }), ["memory-store"]);
    assert.deepEqual(checks({ config: { ...config({ SESSION_STORE: "memory" }), production: true } }), ["memory-store"]);
    const site = { instanceSkewMs: { i1: 0, i2: 0 }, store: "memory", captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["memory-store"]);
    assert.deepEqual(checks({ config: config({ SESSION_STORE: "memory" }), instancesPlanned: 1 }), []);
  });

  it("secure cookie over http", () => {
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "http://app.example.com" }), ["secure-cookie"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "https://app.example.com" }), []);
  });

  it("secure cookie over http on loopback is no fault: browsers keep it there, as the server's own warning knows", () => {
    const site = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true, cookie: { secure: true } };
    for (const url of ["http://127.0.0.1:3000", "http://127.8.9.10:4501", "http://localhost:3000", "http://LOCALHOST", "http://[::1]:3000"]) {
      assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url }), [], url);
      assert.deepEqual(checks({ url, site }), [], url);
    }
    // Only loopback: another address of this machine, or a name that merely starts like one, is not.
    for (const url of ["http://10.0.0.5:3000", "http://localhost.example.com", "http://127.0.0.1.example.com"]) {
      assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url }), ["secure-cookie"], url);
      assert.deepEqual(checks({ url, site }), ["secure-cookie"], url);
    }
  });

  it("a running site's own Set-Cookie decides the cookie checks, whatever this environment says", () => {
    const site = (cookie?: { secure: boolean; domain?: string }) => ({ instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true, cookie });
    assert.deepEqual(checks({ url: "http://10.0.0.5:3000", site: site({ secure: true }) }), ["secure-cookie"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "http://10.0.0.5:3000", site: site({ secure: false }) }), []);
    assert.deepEqual(checks({ url: "http://127.0.0.1:3000", site: site({ secure: false, domain: "example.com" }) }), ["cookie-domain"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_DOMAIN: "example.org" }), url: "https://app.example.com", site: site({ secure: true }) }), []);
    // No cookie read from the site: this environment's settings stand in.
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "http://app.example.com", site: site() }), ["secure-cookie"]);
  });

  it("reads the session cookie's Secure and Domain from Set-Cookie lines", () => {
    assert.deepEqual(sessionCookie(["other=1; Path=/", "holdfast_session=abc; Path=/; HttpOnly; Secure; Domain=example.com"], "holdfast_session"), { secure: true, domain: "example.com" });
    assert.deepEqual(sessionCookie(["holdfast_session=abc; Path=/; HttpOnly; SameSite=Lax"]), { secure: false });
    // A site that names its cookie otherwise than the doctor's environment does.
    assert.deepEqual(sessionCookie(["sid=abc; Path=/; Secure"], "holdfast_session"), { secure: true });
    assert.equal(sessionCookie(["holdfast_session=; Max-Age=0"], "other"), undefined);
    assert.equal(sessionCookie([]), undefined);
  });

  it("--url: a site that sets its cookie Secure over http, for another domain, is named from its responses alone (Secure over http only off loopback)", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/api/health") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, store: "cookie", time: Date.now() }));
      res.writeHead(200, { "content-type": "image/svg+xml", "set-cookie": "holdfast_session=abc; Path=/; HttpOnly; Secure; Domain=example.com; SameSite=Lax" }).end("<svg/>");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      // An environment with no cookie settings of its own, as on an operator's laptop.
      const facts = await gather({ ...base }, { url: `http://127.0.0.1:${port}` });
      assert.deepEqual(facts.site?.cookie, { secure: true, domain: "example.com" });
      const found = checks(facts);
      assert.ok(found.includes("cookie-domain") && !found.includes("secure-cookie"), found.join(", "));
      // The same answers from a site served by name over http: browsers drop that Secure cookie.
      const byName = checks({ ...facts, url: "http://shop.example.org" });
      assert.ok(byName.includes("secure-cookie") && byName.includes("cookie-domain"), byName.join(", "));
    } finally {
      server.close();
    }
  });

  /** The doctor's facts about a site of two processes in turn, whose /api/health answers `health(turn)`. */
  async function gatherTwoProcesses(health: (turn: number) => { headers?: Record<string, string>; body: Record<string, unknown> }) {
    let turn = 0;
    const server = createServer((req, res) => {
      if (req.url !== "/api/health") return void res.writeHead(200, { "content-type": "image/svg+xml" }).end("<svg/>");
      const { headers, body } = health(turn++ % 2);
      res.writeHead(200, { "content-type": "application/json", ...headers }).end(JSON.stringify({ ok: true, time: Date.now(), ...body }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      return await gather({ ...base }, { url: `http://127.0.0.1:${port}` });
    } finally {
      server.close();
    }
  }

  it("--url: two unnamed memory-store processes behind one address are counted apart by their health", async () => {
    // Round robin over two processes with no INSTANCE_NAME: no X-Holdfast-Instance header.
    const facts = await gatherTwoProcesses((turn) => ({ body: { store: "memory", instance: ["a1b2c3d4e5f6", "0f9e8d7c6b5a"][turn] } }));
    assert.equal(Object.keys(facts.site?.instanceSkewMs ?? {}).length, 2);
    const finding = diagnose(facts).find((f) => f.check === "memory-store");
    assert.match(finding?.problem ?? "", /2 instances answering/);
  });

  it("--url: an instance whose cached store cannot reach its Redis is named, though its health is 200", async () => {
    const facts = await gatherTwoProcesses((turn) => {
      const instance = ["i1", "i2"][turn]!;
      return { headers: { "x-holdfast-instance": instance }, body: { store: "cached", instance, ...(instance === "i2" ? { degraded: ["cache"] } : {}) } };
    });
    assert.deepEqual(facts.site?.cacheDownOn, ["i2"]);
    // This environment's own database is judged too (the test stack's, or none): only the site's findings here.
    const findings = diagnose(facts).filter((f) => f.check.startsWith("cache") || f.check.startsWith("site"));
    assert.deepEqual(findings.map((f) => f.check), ["cache-down"]);
    assert.match(findings[0]!.problem, /^Instance i2 cannot reach the cached store's Redis/);
  });

  it("a site whose database lacks migrations is named as that, with the command that fixes it", () => {
    const site = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: false, healthCode: "database_not_migrated" };
    const [finding] = diagnose({ url: "http://127.0.0.1:3000", site });
    assert.equal(finding?.check, "site-unhealthy");
    assert.match(finding!.problem, /database_not_migrated/);
    assert.match(finding!.fix, /npm run db:migrate/);
  });

  it("--url where nothing listens: the site could not be reached (connection refused), not that it cannot reach its store", async () => {
    const closed = createServer().listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, "close");
    const url = `http://127.0.0.1:${port}`;
    const facts = await gather({ ...base, DATABASE_URL: required("DATABASE_URL") }, { url });
    assert.deepEqual(diagnose(facts), [
      {
        check: "site-unreachable",
        problem: `${url} could not be reached: the connection was refused, so nothing listens at that host and port.`,
        fix: "Start the site (`npm start`, or `npm run dev`), or correct --url to the host and port it serves on (its PORT and HOSTNAME).",
      },
    ]);
  });

  it("--url whose host name does not resolve, or that never answers, says so with the fix for that cause", async () => {
    const facts = await gather({ ...base, DATABASE_URL: required("DATABASE_URL") }, { url: "http://holdfast.invalid" });
    const [finding, ...rest] = diagnose(facts);
    assert.deepEqual(rest, []);
    assert.equal(finding?.check, "site-unreachable");
    assert.equal(finding.problem, "http://holdfast.invalid could not be reached: its host name does not resolve.");
    assert.match(finding.fix, /^Correct the host name in --url/);
    assert.equal(noAnswerCause(new Error("timed out")), "timeout");
    const silent = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true, noAnswer: { count: 6, of: 6, cause: "timeout" as const } };
    assert.match(diagnose({ url: "http://10.0.0.5:3000", site: silent })[0]!.problem, /could not be reached: no answer came within 4 seconds\.$/);
    // Some requests answered: an instance behind the address is down, and the answers are judged as usual.
    const some = diagnose({ url: "http://lb", site: { ...silent, healthOk: false, noAnswer: { count: 2, of: 6, cause: "refused" } } });
    assert.deepEqual(some.map((f) => f.check), ["site-unreachable", "site-unhealthy"]);
    assert.match(some[0]!.problem, /^2 of 6 requests to http:\/\/lb\/api\/health got no answer \(the connection was refused/);
  });

  it("NODE_ENV=production with SESSION_STORE=memory is the memory-store check, with a fix that is one", async () => {
    const facts = await gather({ ...base, NODE_ENV: "production", SESSION_STORE: "memory" });
    assert.deepEqual(
      diagnose(facts),
      [
        {
          check: "memory-store",
          problem: "SESSION_STORE=memory with NODE_ENV=production: each process keeps its own sessions, so a captcha issued by one is unknown to the next.",
          fix: "Use SESSION_STORE=cookie, database, redis or cached.",
        },
      ],
    );
  });

  it("cookie domain that does not match the host", () => {
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_DOMAIN: "example.org" }), url: "https://app.example.com" }), ["cookie-domain"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_DOMAIN: ".example.com" }), url: "https://app.example.com" }), []);
  });

  it("missing, short or development secret in production, from the configuration's own refusal", async () => {
    for (const env of [{ SESSION_SECRET: "" }, { SESSION_SECRET: "short" }, { NODE_ENV: "production", SESSION_SECRET: `dev-insecure-${"x".repeat(40)}` }]) {
      const facts = await gather({ ...base, ...env });
      assert.deepEqual(checks(facts), ["secret"], JSON.stringify(env));
    }
  });

  it("captcha test mode, from the environment or from a running site's responses", () => {
    assert.deepEqual(checks({ config: config({ CAPTCHA_TEST_MODE: "1" }) }), ["captcha-test-mode"]);
    const site = { instanceSkewMs: {}, captchaAnswerExposed: true, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["captcha-test-mode"]);
  });

  it("store or database unreachable, measured by a real round trip", async () => {
    const dead = await gather({ ...base, SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:1" });
    assert.deepEqual(checks(dead).sort(), ["database-unreachable", "store-unreachable"]);
    // Each named with the fix for its own cause.
    const findings = diagnose(dead);
    assert.match(findings.find((f) => f.check === "store-unreachable")!.fix, /^Check REDIS_URL,/);
    assert.match(findings.find((f) => f.check === "database-unreachable")!.problem, /^The database at DATABASE_URL \(.*\) cannot be reached\.$/);
    const missing = new URL(required("DATABASE_URL"));
    missing.pathname = "/holdfast_doctor_no_such_database";
    const absent = diagnose(await gather({ ...base, DATABASE_URL: missing.toString() })).find((f) => f.check === "database-unreachable");
    assert.match(absent?.fix ?? "", /^Create it \(createdb holdfast_doctor_no_such_database\)/);
    const alive = await gather({ ...base, DATABASE_URL: required("DATABASE_URL"), SESSION_STORE: "redis", REDIS_URL: required("REDIS_URL") });
    assert.deepEqual(checks(alive), []);
  });

  it("clock skew between an instance and the database", () => {
    const site = (skew: number) => ({ instanceSkewMs: { i1: 10, i2: skew }, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: true, healthOk: true });
    assert.deepEqual(checks({ config: config(), site: site(5_000), databaseSkewMs: 0 }), ["clock-skew"]);
    assert.deepEqual(checks({ config: config(), site: site(5_000), databaseSkewMs: 4_900 }), ["clock-skew"]);
    assert.deepEqual(checks({ config: config(), site: site(300), databaseSkewMs: 0 }), []);
  });

  it("every configuration error is a finding of its own, with its fix and no generic sentence", async () => {
    const facts = await gather({ ...base, SESSION_STORE: "file", SESSION_COOKIE_SECURE: "sometimes", SESSION_SECRET: "short" });
    const findings = diagnose(facts);
    assert.deepEqual(findings.map((f) => f.check).sort(), ["config", "config", "secret"]);
    for (const f of findings) {
      assert.doesNotMatch(f.fix, /named above/);
      assert.ok(f.fix.length > 10, f.fix);
    }
    assert.match(findings.find((f) => f.problem.startsWith("SESSION_STORE"))!.fix, /cookie, database, redis/);
  });

  it("a database that lacks shipped migrations is named, with npm run db:migrate as the fix", async () => {
    const admin = new pg.Client({ connectionString: required("DATABASE_URL") });
    await admin.connect();
    const name = `holdfast_doctor_${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
    try {
      const url = new URL(required("DATABASE_URL"));
      url.pathname = `/${name}`;
      const facts = await gather({ ...base, DATABASE_URL: url.toString() });
      const finding = diagnose(facts).find((f) => f.check === "database-not-migrated");
      assert.ok(finding, JSON.stringify(diagnose(facts)));
      assert.match(finding.fix, /npm run db:migrate/);
      assert.deepEqual(facts.pendingMigrations, shippedMigrations());
      await migrate(url.toString());
      assert.deepEqual(checks(await gather({ ...base, DATABASE_URL: url.toString() })), []);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it("a Redis that evicts keys when full, or that is nearly full without evicting, read from the Redis itself", async () => {
    const redis = await startRedisServer();
    try {
      const env = { ...base, DATABASE_URL: required("DATABASE_URL"), SESSION_STORE: "redis", REDIS_URL: redis.url };
      // No limit: nothing to evict, nothing to say.
      assert.deepEqual(checks(await gather(env)), []);
      const admin = createClient({ url: redis.url });
      await admin.connect();
      await admin.configSet({ maxmemory: "64mb", "maxmemory-policy": "allkeys-lru" });
      const evicting = diagnose(await gather(env));
      assert.deepEqual(evicting.map((f) => f.check), ["redis-eviction"]);
      assert.match(evicting[0]!.problem, /maxmemory 64\.0 MB, maxmemory-policy allkeys-lru/);
      assert.match(evicting[0]!.fix, /maxmemory-policy noeviction/);
      // Not evicting, and nearly full: sign-ups will meet 503s.
      await admin.set("ballast", "x".repeat(2_000_000));
      await admin.configSet({ maxmemory: "2500kb", "maxmemory-policy": "noeviction" });
      assert.deepEqual(checks(await gather(env)), ["redis-full"]);
      await admin.quit();
    } finally {
      await redis.stop();
    }
  });

  it("TRUST_PROXY unset behind a proxy", () => {
    const site = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: true, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["trust-proxy"]);
    assert.deepEqual(checks({ config: config(), site: { ...site, trustProxy: true } }), []);
  });

  it("TRUST_PROXY set on some instances only, or set where the doctor reached an instance with no proxy in front", () => {
    const site = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: true, trustProxy: false, healthOk: true };
    const mixed = diagnose({ config: config(), url: "http://lb", site: { ...site, trustProxyBy: { i1: true, i2: false } } });
    assert.deepEqual(mixed.map((f) => f.check), ["trust-proxy-mixed"]);
    assert.match(mixed[0]!.problem, /set on i1, unset on i2/);
    const direct = diagnose({ config: config(), url: "http://10.0.0.5:3000", site: { ...site, forwardedHeadersSeen: false, trustProxy: true, trustProxyBy: { i1: true } } });
    assert.deepEqual(direct.map((f) => f.check), ["trust-proxy-direct"]);
    assert.match(direct[0]!.problem, /http:\/\/10\.0\.0\.5:3000 answered with no proxy in front/);
    // Through the proxy, with every instance trusting it: nothing to say.
    assert.deepEqual(checks({ config: config(), url: "http://lb", site: { ...site, trustProxy: true, trustProxyBy: { i1: true, i2: true } } }), []);
  });

  it("more connections than the database allows: the numbers and the pool size that fits, unless a pooler answers", () => {
    const slots = { max: 100, reserved: 3, pooler: false };
    const twelve = diagnose({ config: config(), instancesPlanned: 12, databaseConnections: slots });
    assert.deepEqual(twelve.map((f) => f.check), ["database-connections"]);
    assert.match(twelve[0]!.problem, /^12 instances × 10 = 120 connections, above the 97 this database allows \(max_connections 100 minus 3 reserved\)/);
    assert.match(twelve[0]!.fix, /^Set DATABASE_POOL_SIZE=8 \(12 × 8 = 96\), or connect through PgBouncer in transaction mode/);
    // Exactly at the limit is fine; one connection over is not.
    assert.deepEqual(checks({ config: config({ DATABASE_POOL_SIZE: "8" }), instancesPlanned: 12, databaseConnections: slots }), []);
    assert.deepEqual(checks({ config: config({ DATABASE_POOL_SIZE: "97" }), instancesPlanned: 1, databaseConnections: slots }), []);
    assert.deepEqual(checks({ config: config({ DATABASE_POOL_SIZE: "98" }), databaseConnections: slots }), ["database-connections"]);
    // Behind a pooler, max_connections is the pooler's business.
    assert.deepEqual(checks({ config: config(), instancesPlanned: 12, databaseConnections: { ...slots, pooler: true } }), []);
    // Without --instances, the instances that answered at --url count.
    const site = { instanceSkewMs: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`i${i + 1}`, 0])), captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    assert.match(diagnose({ config: config(), site, databaseConnections: slots })[0]!.fix, /DATABASE_POOL_SIZE=8 \(11 × 8 = 88\)/);
    // More instances than slots: no pool size fits.
    assert.match(diagnose({ config: config(), instancesPlanned: 120, databaseConnections: slots })[0]!.fix, /^Even DATABASE_POOL_SIZE=1 opens 120 connections: connect through PgBouncer/);
  });

  it("reads the database's connection slots, and tells a direct connection from one through PgBouncer", async () => {
    const name = `holdfast_doctor_pool_${process.pid}`;
    const admin = new pg.Client({ connectionString: required("DATABASE_URL") });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(required("DATABASE_URL"));
    url.pathname = `/${name}`;
    const bouncer = await startPgBouncer({ databaseUrl: url.toString(), maxServerConnections: 2, poolMode: "transaction" });
    try {
      await migrate(url.toString());
      const { rows } = await admin.query<{ max: number }>("SELECT current_setting('max_connections')::int AS max");
      const direct = await databaseConnections(url.toString());
      assert.deepEqual(direct, { max: rows[0]!.max, reserved: direct.reserved, pooler: false });
      assert.ok(direct.reserved >= 0 && direct.reserved < direct.max);
      assert.deepEqual(await databaseConnections(bouncer.url), { ...direct, pooler: true });
      // One instance more than the default pool size allows: named directly, not through the pooler.
      const instances = Math.floor((direct.max - direct.reserved) / 10) + 1;
      assert.deepEqual(checks(await gather({ ...base, DATABASE_URL: url.toString() }, { instances })), ["database-connections"]);
      assert.deepEqual(checks(await gather({ ...base, DATABASE_URL: bouncer.url }, { instances })), []);
    } finally {
      await bouncer.stop();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
