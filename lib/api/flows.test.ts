import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { closeTestDb, required } from "../../testing/services";
import { startRedisServer } from "../../testing/stack";
import { startUpstashRestServer } from "../../testing/upstash-rest/server";
import { parseConfig, type Env } from "../env";
import { PEER_HEADER, peerHeaderValue } from "../http/client-ip";
import { healthRoute, sessionRoute, type Handler } from "../http/route";
import { HASH_QUEUE_LIMIT, takeHashTicket } from "../password";
import { sql } from "../db";
import { powSettings } from "../pow/pow";
import { loginKey } from "../users";
import { solveInNode, type ChallengeJson } from "../pow/solve";
import { StoreUnavailableError, type SessionRecord } from "@holdfast/session";
import { countingStore } from "@holdfast/session/testing";
import { countingLedger, type RoundTrip } from "../../testing/counting-ledger";
import { createServices, sessionsOver, type Services } from "../services";
import { getCaptcha } from "./captcha";
import { getChallenge } from "./challenge";
import { draftKey, type RequestContext } from "./context";
import { login } from "./login";
import { logout } from "./logout";
import { me } from "./me";
import { password } from "./password";
import { register } from "./register";
import { saveSignupDraft } from "./signup-draft";

/** The endpoints driven with plain Requests against real backends, as Next would call them. */

const BASE = "http://holdfast.test";
const SECRET = "flows-secret-0123456789-0123456789-abc";
const env = (extra: Env): Env => ({
  SESSION_SECRET: SECRET,
  DATABASE_URL: required("DATABASE_URL"),
  CAPTCHA_TEST_MODE: "1",
  PASSWORD_HASH_COST: "1",
  RATE_LIMIT_MULTIPLIER: "1000",
  ...extra,
});

interface App {
  services: Services;
  calls: RoundTrip[];
  call(endpoint: (ctx: RequestContext) => Promise<Response>, init?: RequestInit & { path?: string; cookie?: string; formPage?: string }): Promise<Response>;
}

const opened: Services[] = [];

function app(services: Services): App {
  opened.push(services);
  const store = countingStore(services.store);
  const calls: RoundTrip[] = store.calls;
  const counted = { ...services, store, sessions: sessionsOver(services.config, store), captchas: countingLedger(services.captchas, calls) };
  return {
    services: counted,
    calls,
    call(endpoint, init = {}) {
      const handler: Handler = sessionRoute(() => counted, endpoint, { formPage: init.formPage });
      const headers = new Headers(init.headers);
      if (init.cookie) headers.set("cookie", init.cookie);
      if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
      return handler(new Request(`${BASE}${init.path ?? "/"}`, { ...init, headers }));
    },
  };
}

const cookieOf = (r: Response) => r.headers.getSetCookie()[0]?.split(";")[0];
const json = (body: unknown) => ({ method: "POST", body: JSON.stringify(body) });
/** A plain HTML form post to an endpoint whose form lives on `formPage`. */
const form = (fields: Record<string, string>, formPage: string) => ({
  method: "POST",
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
  formPage,
});
const user = () => {
  const id = randomBytes(4).toString("hex");
  return { username: `f_${id}`, email: `f.${id}@example.test`, password: `password-${id}` };
};

/** GET /api/challenge as its route binds it. */
const challenge = (ctx: RequestContext) => getChallenge(ctx, powSettings(ctx.services.config));

/** A proof of work for one registration: the challenge endpoint through the same harness, solved here. */
async function proof(a: App): Promise<string> {
  const r = await a.call(challenge, { path: "/api/challenge" });
  assert.equal(r.status, 200);
  const solved = solveInNode((await r.json()) as ChallengeJson);
  assert.ok(solved, "the test-mode challenge is solvable");
  return solved.payload;
}

async function signUp(a: App) {
  const captcha = await a.call(getCaptcha);
  const u = user();
  const r = await a.call(register, { ...json({ ...u, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(a) }), cookie: cookieOf(captcha) });
  assert.equal(r.status, 201, await r.clone().text());
  return { ...u, cookie: cookieOf(r)! };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  for (const c of cleanups.reverse()) await c();
  await closeTestDb();
});

const roundTrips: Record<string, Record<string, number>> = {};

const STORES: [string, () => Promise<Env>][] = [
  ["memory", async () => ({ SESSION_STORE: "memory" })],
  ["cookie", async () => ({ SESSION_STORE: "cookie" })],
  ["database", async () => ({ SESSION_STORE: "database" })],
  ["redis over TCP", async () => ({ SESSION_STORE: "redis", REDIS_URL: required("REDIS_URL") })],
  ["cached over TCP", async () => ({ SESSION_STORE: "cached", REDIS_URL: required("REDIS_URL") })],
  [
    "redis over REST",
    async () => ({
      SESSION_STORE: "redis",
      UPSTASH_REDIS_REST_URL: required("UPSTASH_REDIS_REST_URL"),
      UPSTASH_REDIS_REST_TOKEN: required("UPSTASH_REDIS_REST_TOKEN"),
    }),
  ],
];

for (const [label, storeEnv] of STORES) {
  describe(`endpoints over the ${label} store`, () => {
    it("round trips per request: none untouched, one to read, at most two to modify", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const { cookie } = await signUp(a);
      const count = async (name: string, run: () => Promise<unknown>) => {
        a.calls.splice(0);
        await run();
        (roundTrips[label] ??= {})[name] = a.calls.length;
        return a.calls.length;
      };
      assert.equal(await count("untouched", () => a.call(async () => new Response("ok"), { cookie })), 0);
      assert.equal(await count("read-only (me)", () => a.call(me, { cookie })), 1);
      // A new captcha is one session write plus its single-use record.
      assert.ok((await count("modifying (new captcha)", () => a.call(getCaptcha, { cookie }))) <= 3);
      // A challenge touches no session: its single-use record only.
      assert.equal(await count("proof-of-work challenge", () => a.call(challenge, { cookie })), 1);
      const fresh = await a.call(getCaptcha);
      const altcha = await proof(a);
      const registered = await count("registration", () =>
        a.call(register, { ...json({ ...user(), captcha: fresh.headers.get("x-captcha-answer"), altcha }), cookie: cookieOf(fresh) }),
      );
      // Among them the proof's single use, taken from the ledger.
      assert.ok(registered >= 2 && a.calls.filter((c) => c === "captcha.take").length >= 2, `registration calls: ${a.calls.join(", ")}`);
    });

    it(`logout everywhere and a password change ${label === "cookie" ? "(expected difference) cannot revoke sealed cookies" : "revoke the user's other sessions"}`, async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const u = await signUp(a);
      const other = cookieOf(await a.call(login, json({ login: u.username, password: u.password })))!;
      const third = cookieOf(await a.call(login, json({ login: u.username, password: u.password })))!;
      const revocable = a.services.store.revocable;

      const changed = await a.call(password, { ...json({ currentPassword: u.password, newPassword: "a-brand-new-password" }), cookie: u.cookie });
      assert.equal(changed.status, 204);
      const rotated = cookieOf(changed)!;
      assert.notEqual(rotated, u.cookie);
      assert.equal((await a.call(me, { cookie: rotated })).status, 200);
      assert.equal((await a.call(me, { cookie: other })).status, revocable ? 401 : 200);

      const fourth = cookieOf(await a.call(login, json({ login: u.email, password: "a-brand-new-password" })))!;
      const out = await a.call(logout, { ...json({ everywhere: true }), cookie: fourth });
      assert.equal(out.status, 204);
      assert.equal((await a.call(me, { cookie: fourth })).status, revocable ? 401 : 200);
      assert.equal((await a.call(me, { cookie: rotated })).status, revocable ? 401 : 200);
      assert.equal((await a.call(me, { cookie: third })).status, revocable ? 401 : 200);
    });

    it("a login with the old password still in flight when the password changes gets no session", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const u = await signUp(a);
      // A second app over the same store whose logged-in writes wait until released: the login
      // has checked the old password, and its session is not written yet, when the change lands.
      let reached!: () => void;
      const atWrite = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const inner = a.services.store;
      const written: unknown[] = [];
      const held = async <T>(userId: string | null, write: () => Promise<T>) => {
        if (!userId) return write();
        reached();
        await released;
        const token = await write();
        written.push(token);
        return token;
      };
      const store = {
        ...inner,
        create: (record: Parameters<typeof inner.create>[0], expiresAt: number) => held(record.userId, () => inner.create(record, expiresAt)),
        rotate: inner.rotate && ((old: string, record: Parameters<typeof inner.create>[0], expiresAt: number) => held(record.userId, () => inner.rotate!(old, record, expiresAt))),
      };
      const racing = sessionRoute(() => ({ ...a.services, store, sessions: sessionsOver(a.services.config, store) }), login);
      const inFlight = racing(new Request(`${BASE}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: u.username, password: u.password }) }));
      await atWrite;
      const changed = await a.call(password, { ...json({ currentPassword: u.password, newPassword: "a-brand-new-password" }), cookie: u.cookie });
      assert.equal(changed.status, 204);
      release();
      const late = await inFlight;
      assert.equal(late.status, 401, await late.clone().text());
      assert.equal(((await late.json()) as { error: { code: string } }).error.code, "invalid_credentials");
      const cookie = cookieOf(late);
      // At most a cookie that clears; nothing that logs in.
      assert.ok(cookie === undefined || (await a.call(me, { cookie })).status === 401, `the late login's cookie works: ${cookie}`);
      // Nor is the session it wrote left behind where the store keeps sessions.
      assert.equal(written.length, 1);
      if (inner.revocable) assert.equal(await inner.read(written[0] as string, Date.now()), null);
      assert.equal((await a.call(me, { cookie: cookieOf(changed) })).status, 200);
    });

    it("logout with no body under a content type (JSON, text) ends the session like one with none", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      for (const type of ["application/json", "text/plain;charset=UTF-8"]) {
        const u = await signUp(a);
        const out = await a.call(logout, { method: "POST", body: "", headers: { "content-type": type }, cookie: u.cookie });
        assert.equal(out.status, 204, type);
        assert.match(out.headers.getSetCookie()[0] ?? "", /Max-Age=0/, type);
        if (a.services.store.revocable) assert.equal((await a.call(me, { cookie: u.cookie })).status, 401, type);
      }
      // A body that is there still has to be JSON or a form.
      const text = await a.call(logout, { method: "POST", body: "everywhere=1", headers: { "content-type": "text/plain" } });
      assert.equal(text.status, 415);
    });

    it("log out everywhere from a session that already ended: the form says so, and nothing it cannot name is ended", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const u = await signUp(a);
      const phone = cookieOf(await a.call(login, json({ login: u.username, password: u.password })))!;
      // Logged out in another tab: this tab's cookie names a session that is gone.
      assert.equal((await a.call(logout, { method: "POST", cookie: u.cookie })).status, 204);
      // JSON keeps the contract's 204, whatever the session.
      assert.equal((await a.call(logout, { ...json({ everywhere: true }), cookie: u.cookie })).status, 204);
      const formPost = await a.call(logout, { ...form({ everywhere: "1" }, "/welcome"), cookie: u.cookie });
      assert.equal(formPost.status, 303);
      // The cookie store cannot tell an ended session from a live one: the seal still names the user.
      if (!a.services.store.revocable) return assert.equal(formPost.headers.get("location"), "/login?out=here");
      assert.equal(formPost.headers.get("location"), "/login?error=session_ended");
      assert.equal((await a.call(me, { cookie: phone })).status, 200, "the phone's session was not ended, and the page did not claim it was");
    });

    it("an answer to the captcha another tab replaced is captcha_invalid, its field saying it was replaced", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const first = await a.call(getCaptcha);
      const second = await a.call(getCaptcha, { cookie: cookieOf(first) });
      const cookie = cookieOf(second) ?? cookieOf(first);
      const answers = [first, second].map((r) => r.headers.get("x-captcha-answer"));
      const r = await a.call(register, { ...json({ ...user(), captcha: answers[0], altcha: await proof(a) }), cookie });
      // Two draws with the same text (one in 12^5) would make the first answer the right one.
      if (answers[0] === answers[1]) return assert.equal(r.status, 201);
      assert.equal(r.status, 400);
      assert.deepEqual(((await r.json()) as { error: { code: string; fields?: unknown } }).error, {
        code: "captcha_invalid",
        message: "The captcha answer is wrong. Load a new captcha and try again.",
        fields: { captcha: "replaced" },
      });
    });

    it("the store keeps a visitor's session 30 minutes idle, and a logged-in one the full idle timeout", async () => {
      const services = createServices(parseConfig(env(await storeEnv())));
      const kept: [string, number][] = [];
      const inner = services.store;
      const spied = {
        ...inner,
        create: (record: SessionRecord, expiresAt: number) => (kept.push(["create", expiresAt - Date.now()]), inner.create(record, expiresAt)),
        update: (token: string, record: SessionRecord, expiresAt: number) => (kept.push(["update", expiresAt - Date.now()]), inner.update(token, record, expiresAt)),
        ...(inner.rotate && { rotate: (old: string, record: SessionRecord, expiresAt: number) => (kept.push(["rotate", expiresAt - Date.now()]), inner.rotate!(old, record, expiresAt)) }),
      };
      const a = app({ ...services, store: spied });
      await signUp(a);
      const near = (ms: number, target: number) => Math.abs(ms - target) < 60_000;
      assert.ok(near(kept[0]![1], 1_800_000), `the captcha's session: ${JSON.stringify(kept)}`);
      assert.ok(near(kept.at(-1)![1], 86_400_000), `the registered session: ${JSON.stringify(kept)}`);
    });

    it("a wrong current password changes nothing", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const u = await signUp(a);
      const r = await a.call(password, { ...json({ currentPassword: "nope-nope", newPassword: "another-password" }), cookie: u.cookie });
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, "invalid_credentials");
      assert.equal((await a.call(login, json({ login: u.username, password: u.password }))).status, 200);
    });

    it("the current password as the new one is invalid_input (newPassword unchanged), and ends no session", async () => {
      const a = app(createServices(parseConfig(env(await storeEnv()))));
      const u = await signUp(a);
      const other = cookieOf(await a.call(login, json({ login: u.username, password: u.password })))!;
      // NFKC, as the hash sees it: a full-width letter is the same password.
      for (const again of [u.password, u.password.replace("p", "\uff50")]) {
        const r = await a.call(password, { ...json({ currentPassword: u.password, newPassword: again }), cookie: u.cookie });
        assert.equal(r.status, 400);
        assert.deepEqual(((await r.json()) as { error: { fields: unknown } }).error.fields, { newPassword: "unchanged" });
      }
      assert.equal((await a.call(me, { cookie: other })).status, 200);
    });
  });
}

describe("fail closed: a stopped Redis gives 503 session_store_unavailable, quickly", () => {
  for (const transport of ["tcp", "rest"] as const) {
    it(`over ${transport.toUpperCase()}`, async () => {
      const redis = await startRedisServer();
      cleanups.push(redis.stop);
      let extra: Env = { REDIS_URL: redis.url };
      if (transport === "rest") {
        const rest = await startUpstashRestServer({ redisUrl: redis.url, token: "t" });
        cleanups.push(rest.close);
        extra = { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: "t" };
      }
      const a = app(createServices(parseConfig(env({ SESSION_STORE: "redis", ...extra }))));
      const { cookie } = await signUp(a);
      // Issued while Redis is up, so the register below gets past the shape and reaches the store.
      const altcha = await proof(a);
      await redis.stop();

      for (const [name, run] of [
        ["captcha", () => a.call(getCaptcha, { cookie })],
        ["challenge", () => a.call(challenge)],
        ["me", () => a.call(me, { cookie })],
        ["register", () => a.call(register, { ...json({ ...user(), captcha: "ACDEF", altcha }), cookie })],
      ] as const) {
        const started = Date.now();
        const r = await run();
        const ms = Date.now() - started;
        assert.equal(r.status, 503, `${name}: ${r.status}`);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, "session_store_unavailable");
        assert.ok(ms < 8_000, `${name} answered in ${ms} ms`);
      }
      const health = await healthRoute(() => a.services)(new Request(`${BASE}/api/health`));
      assert.equal(health.status, 503);
      const body = (await health.json()) as { checks: { store: { ok: boolean }; database: { ok: boolean } } };
      assert.equal(body.checks.store.ok, false);
      assert.equal(body.checks.database.ok, true);
    });
  }
});

describe("a Redis that is full and refuses writes (maxmemory, noeviction) is an unavailable store, never a 500", () => {
  it("over TCP: 503 session_store_unavailable, and the refusal's own words in the log", async () => {
    const redis = await startRedisServer();
    cleanups.push(redis.stop);
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "redis", REDIS_URL: redis.url }))));
    const { cookie } = await signUp(a);
    // Full: one large value over a small maxmemory, and nothing may be evicted.
    const { createClient } = await import("redis");
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.set("ballast", "x".repeat(2_000_000));
    await admin.configSet({ maxmemory: "1mb", "maxmemory-policy": "noeviction" });
    await admin.quit();

    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...parts: unknown[]) => void warnings.push(parts.join(" "));
    try {
      for (const [name, run] of [
        ["captcha", () => a.call(getCaptcha, { cookie })],
        ["challenge", () => a.call(challenge)],
      ] as const) {
        const r = await run();
        assert.equal(r.status, 503, `${name}: ${r.status}`);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, "session_store_unavailable");
      }
    } finally {
      console.warn = warn;
    }
    assert.ok(warnings.some((w) => /refused a command: OOM/.test(w)), warnings.join("\n"));
  });
});

after(() => {
  const names = [...new Set(Object.values(roundTrips).flatMap((r) => Object.keys(r)))];
  console.log(`\nsession store round trips per request, captcha records included (counting wrapper)\n${["store", ...names].join(" | ")}`);
  for (const [store, counts] of Object.entries(roundTrips)) console.log([store, ...names.map((n) => counts[n] ?? "-")].join(" | "));
});

describe("the cached store outlives Redis: every endpoint serves from the database", () => {
  it("sign-up, /api/me, logout and login work while Redis is stopped", async () => {
    const redis = await startRedisServer();
    cleanups.push(redis.stop);
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cached", REDIS_URL: redis.url }))));
    const before = await signUp(a);
    const health = async () => {
      const r = await healthRoute(() => a.services)(new Request(`${BASE}/api/health`));
      return { status: r.status, body: (await r.json()) as { ok: boolean; degraded?: string[]; checks: Record<string, { ok: boolean }> } };
    };
    const up = await health();
    assert.deepEqual([up.status, up.body.checks.cache?.ok, up.body.degraded], [200, true, undefined]);
    await redis.stop();
    // Still serving, so still 200 for a load balancer, but said: the cache is down.
    const down = await health();
    assert.deepEqual([down.status, down.body.ok, down.body.checks.store?.ok, down.body.checks.cache?.ok, down.body.degraded], [200, true, true, false, ["cache"]]);

    // A whole new sign-up: captcha, challenge (both rate-limited) and register, then me.
    const u = await signUp(a);
    const me1 = await a.call(me, { cookie: u.cookie });
    assert.equal(me1.status, 200);
    // The earlier user logs in; the limits are counted, so a login is not refused for Redis's sake.
    const r = await a.call(login, json({ login: before.username, password: before.password }));
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await a.call(logout, { method: "POST", cookie: cookieOf(r) })).status, 204);
  });
});

/** Sends wrong logins until the limit answers (at most 6): at least one is refused as wrong first. */
async function exhaust(attempt: () => Promise<Response>): Promise<void> {
  const seen: number[] = [];
  for (let i = 0; i < 6 && seen.at(-1) !== 429; i++) seen.push((await attempt()).status);
  assert.deepEqual([seen[0], seen.at(-1)], [401, 429], seen.join(","));
}

describe("login limits and hostile logins", () => {
  it("the per-account limit counts each name of an account apart, so it never links a username to its email", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN_ACCOUNT: "3/1m", RATE_LIMIT_LOGIN: "1000/1m", RATE_LIMIT_REGISTER: "1000/1m", RATE_LIMIT_CAPTCHA: "1000/1m" }))));
    const u = await signUp(a);
    for (let i = 0; i < 3; i++) assert.equal((await a.call(login, json({ login: u.username.toUpperCase(), password: "wrong-password" }))).status, 401);
    // The name is limited, in any case, the right password included.
    const byName = await a.call(login, json({ login: u.username, password: u.password }));
    assert.equal(byName.status, 429);
    assert.match(byName.headers.get("retry-after") ?? "", /^\d+$/);
    // Its email answers as any other address would: a limit reached by the name does not show on
    // it, or a prober who knows the name could find its email among candidates.
    assert.equal((await a.call(login, json({ login: u.email.toUpperCase(), password: "wrong-password" }))).status, 401);
    assert.equal((await a.call(login, json({ login: `other_${u.email}`, password: "wrong-password" }))).status, 401);
    // The limits are kept under a hash of each name: the table never holds what was typed.
    const { rows } = await sql(a.services.db).query<{ key: string }>("SELECT key FROM rate_limits WHERE key LIKE 'loginAccount:%' AND (key ILIKE '%' || $1 || '%' OR key ILIKE '%' || $2 || '%')", [u.username, u.email]);
    assert.deepEqual(rows, []);
    const hashed = await sql(a.services.db).query("SELECT 1 FROM rate_limits WHERE key = $1", [`loginAccount:${loginKey(u.username.toUpperCase(), a.services.config.secrets)}`]);
    assert.equal(hashed.rowCount, 1);
  });

  it("the per-address limits count an IPv6 client by its /64 and an IPv4-mapped one as IPv4", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN: "2/1m" }))));
    const network = `2001:db8:${randomBytes(2).toString("hex")}:${randomBytes(2).toString("hex")}`;
    const from = (peer: string) => a.call(login, { ...json({ login: `nobody_${randomBytes(4).toString("hex")}`, password: "wrong-password" }), headers: { [PEER_HEADER]: peerHeaderValue(peer) } });
    assert.equal((await from(`${network}::1`)).status, 401);
    assert.equal((await from(`${network}:ffff:1:2:3`)).status, 401);
    // A third address of the same network is the same client.
    assert.equal((await from(`${network}::9`)).status, 429);
    // The next network is another client.
    assert.equal((await from(`${network.slice(0, -1)}${(parseInt(network.slice(-1), 16) ^ 1).toString(16)}::1`)).status, 401);

    const v4 = `10.${randomBytes(3).join(".")}`;
    assert.equal((await from(v4)).status, 401);
    assert.equal((await from(`::ffff:${v4}`)).status, 401);
    assert.equal((await from(v4)).status, 429);
  });

  it("the path without the image is limited per IPv6 /48 too: its /64s share 16 times one /64's budget", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_REGISTER_ACCESSIBLE: "1/1h" }))));
    const site = `2001:db8:${randomBytes(2).toString("hex")}`;
    const accessible = async (peer: string) => {
      const r = await a.call(challenge, { path: "/api/challenge?level=accessible" });
      const altcha = solveInNode((await r.json()) as ChallengeJson)!.payload;
      return a.call(register, { ...json({ ...user(), altcha }), headers: { [PEER_HEADER]: peerHeaderValue(peer) } });
    };
    for (let i = 0; i < 16; i++) assert.equal((await accessible(`${site}:${i.toString(16)}::1`)).status, 201, `network ${i}`);
    // A /64 of the same /48 that has not signed up yet is refused: the /48's budget is spent.
    const refused = await accessible(`${site}:ff::1`);
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
    // Another /48 is another party; IPv4 addresses have no wider network.
    assert.equal((await accessible(`2001:db9:${randomBytes(2).toString("hex")}:1::1`)).status, 201);
    assert.equal((await accessible(`10.${randomBytes(3).join(".")}`)).status, 201);
  });

  it("a limited address on the path without the image is told so before its proof is spent; a typo spends no budget", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_REGISTER_ACCESSIBLE: "1/1h" }))));
    const peer = { [PEER_HEADER]: peerHeaderValue(`10.${randomBytes(3).join(".")}`) };
    const accessibleProof = async () => {
      const r = await a.call(challenge, { path: "/api/challenge?level=accessible" });
      return solveInNode((await r.json()) as ChallengeJson)!.payload;
    };
    const typo = await a.call(register, { ...json({ ...user(), password: "short", altcha: await accessibleProof() }), headers: peer });
    assert.equal(typo.status, 400);
    assert.equal((await a.call(register, { ...json({ ...user(), altcha: await accessibleProof() }), headers: peer })).status, 201, "the typo spent none of the one registration an hour");
    const altcha = await accessibleProof();
    const limitedReply = await a.call(register, { ...json({ ...user(), altcha }), headers: peer });
    assert.equal(limitedReply.status, 429);
    // The proof was not spent: it still verifies, once.
    const { checkProof } = await import("../pow/pow");
    assert.equal((await checkProof(a.services.captchas, altcha, { hmacKey: powSettings(a.services.config).hmacKeys })).verdict, "ok");
  });

  it("control characters in a login are invalid input, never a database error", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database" }))));
    for (const name of ["null\u0000", "a\u0000@example.test", "tab\tname"]) {
      const r = await a.call(login, json({ login: name, password: "x" }));
      assert.equal(r.status, 400, JSON.stringify(name));
      assert.deepEqual(((await r.json()) as { error: { fields: Record<string, string> } }).error.fields, { login: "invalid_format" });
    }
  });
});

describe("server_busy spends nothing: the same registration sent again succeeds", () => {
  it("with every place in the hash queue taken, a registration is 503 server_busy and keeps its captcha and proof", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database" }))));
    const captcha = await a.call(getCaptcha);
    const request = () => a.call(register, { ...json({ ...u, captcha: captcha.headers.get("x-captcha-answer"), altcha }), cookie: cookieOf(captcha) });
    const u = user();
    const altcha = await proof(a);
    // Other registrations hold every place (their captchas being checked, say).
    const held = Array.from({ length: HASH_QUEUE_LIMIT }, () => takeHashTicket());
    let busy: Response;
    try {
      busy = await request();
    } finally {
      for (const ticket of held) ticket.release();
    }
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.equal(((await busy.json()) as { error: { code: string } }).error.code, "server_busy");
    // As the contract says: nothing was done, so the same request can be sent again.
    const again = await request();
    assert.equal(again.status, 201, await again.clone().text());
  });

  it("a plain form post told server_busy lands back on /signup keeping what was typed, as any failed post does", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database" }))));
    const captcha = await a.call(getCaptcha);
    const u = user();
    // A form with its proof (a plain post has none, and is refused for that first).
    const altcha = await proof(a);
    const held = Array.from({ length: HASH_QUEUE_LIMIT }, () => takeHashTicket());
    let busy: Response;
    try {
      busy = await a.call(register, { ...form({ ...u, captcha: "ACDEF", altcha }, "/signup"), cookie: cookieOf(captcha) });
    } finally {
      for (const ticket of held) ticket.release();
    }
    assert.equal(busy.status, 303);
    assert.match(busy.headers.get("location") ?? "", /^\/signup\?error=server_busy&retry=1&at=\d+$/);
    assert.equal(busy.headers.get("retry-after"), "1");
    const session = await a.services.sessions.fromCookieHeader(cookieOf(busy) ?? cookieOf(captcha)!);
    assert.deepEqual(((await session.get(draftKey("signup"))) as { values: unknown }).values, { username: u.username, email: u.email });
  });
});

describe("a registration whose login cannot be stored says the account was created", () => {
  it("503 session_store_unavailable with fields.account created, no session cookie, and the account logs in once the store answers", async () => {
    const services = createServices(parseConfig(env({ SESSION_STORE: "database" })));
    // The store goes away between the insert and the login's write: only the login's rotation fails.
    let down = false;
    const store = {
      ...services.store,
      rotate: async (...args: Parameters<NonNullable<typeof services.store.rotate>>) => {
        if (down) throw new StoreUnavailableError("database");
        return services.store.rotate!(...args);
      },
    };
    const a = app({ ...services, store, sessions: sessionsOver(services.config, store) });
    const captcha = await a.call(getCaptcha);
    const u = user();
    down = true;
    const r = await a.call(register, { ...json({ ...u, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(a) }), cookie: cookieOf(captcha) });
    down = false;
    assert.equal(r.status, 503);
    const body = (await r.json()) as { error: { code: string; fields?: Record<string, string>; message: string } };
    assert.equal(body.error.code, "session_store_unavailable");
    assert.deepEqual(body.error.fields, { account: "created" });
    assert.match(body.error.message, /account was created/);
    assert.deepEqual(r.headers.getSetCookie(), []);
    const logged = await a.call(login, json({ login: u.username, password: u.password }));
    assert.equal(logged.status, 200, await logged.clone().text());
  });

  it("a store that fails before the account exists is still a bare 503: nothing was created", async () => {
    const services = createServices(parseConfig(env({ SESSION_STORE: "database" })));
    const store = { ...services.store, read: async () => Promise.reject(new StoreUnavailableError("database")) };
    const a = app({ ...services, store, sessions: sessionsOver(services.config, store) });
    const u = user();
    const r = await a.call(register, { ...json({ ...u, captcha: "ACDEF", altcha: await proof(a) }), cookie: "holdfast_session=whatever" });
    assert.equal(r.status, 503);
    const body = (await r.json()) as { error: { code: string; fields?: unknown } };
    assert.deepEqual([body.error.code, body.error.fields], ["session_store_unavailable", undefined]);
    assert.equal((await a.call(login, json({ login: u.username, password: u.password }))).status, 401);
  });
});

describe("a flood of health checks", () => {
  it("20 at once share one round trip to the store and one to the database; the next asks again", async () => {
    const services = createServices(parseConfig(env({ SESSION_STORE: "database" })));
    opened.push(services);
    let pings = 0;
    const store = { ...services.store, ping: async () => (pings++, services.store.ping()) };
    const counted = { ...services, store };
    const route = healthRoute(() => counted);
    const answers = await Promise.all(Array.from({ length: 20 }, () => route(new Request(`${BASE}/api/health`))));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [200]);
    assert.equal(pings, 1);
    assert.equal((await route(new Request(`${BASE}/api/health`))).status, 200);
    assert.equal(pings, 2);
  });
});

describe("a captcha the ledger lost is named as lost; one that was used, as used", () => {
  for (const label of ["database", "redis"] as const) {
    it(`${label}: captcha_missing with fields.captcha "lost" and its own sentence, a log line with the cause; the same answer sent twice reads as used`, async () => {
      const prefix = `lost-${randomBytes(4).toString("hex")}`;
      const services = createServices(parseConfig(env(label === "redis" ? { SESSION_STORE: "redis", REDIS_URL: required("REDIS_URL"), REDIS_KEY_PREFIX: prefix } : { SESSION_STORE: "database" })));
      const ids: string[] = [];
      const inner = services.captchas;
      const a = app({ ...services, captchas: { ...inner, put: (id, c, ttl) => (ids.push(id), inner.put(id, c, ttl)) } });
      const captcha = await a.call(getCaptcha);
      const id = ids.find((i) => !i.startsWith("pow"))!;
      // What eviction does: the record is gone, though nothing took it.
      if (label === "redis") {
        const { createClient } = await import("redis");
        const admin = createClient({ url: required("REDIS_URL") });
        await admin.connect();
        assert.equal(await admin.del(`${prefix}:captcha:${id}`), 1);
        await admin.quit();
      } else {
        const { sql } = await import("../db");
        assert.equal((await sql(services.db).query("DELETE FROM captchas WHERE id = $1", [id])).rowCount, 1);
      }
      const warned: string[] = [];
      const warn = console.warn;
      console.warn = (line: string) => warned.push(line);
      let body: { error: { code: string; message: string; fields?: unknown } };
      try {
        const r = await a.call(register, { ...json({ ...user(), captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(a) }), cookie: cookieOf(captcha) });
        assert.equal(r.status, 400);
        body = (await r.json()) as typeof body;
      } finally {
        console.warn = warn;
      }
      assert.equal(body.error.code, "captcha_missing");
      assert.deepEqual(body.error.fields, { captcha: "lost" });
      assert.match(body.error.message, /no longer holds the captcha/);
      // Said at most every ten minutes per process and store, with that store's causes.
      assert.equal(warned.length, 1, warned.join("\n"));
      assert.match(warned[0]!, /captcha was gone from the ledger/);
      assert.match(warned[0]!, label === "database" ? /another DATABASE_URL/ : /Redis evicted it under memory pressure/);

      // Two tabs (or two clicks) sending one answer at once: one is checked, the other finds it used.
      const second = await a.call(getCaptcha);
      const answer = second.headers.get("x-captcha-answer");
      const [p1, p2] = [await proof(a), await proof(a)];
      const replies = await Promise.all(
        [p1, p2].map((altcha) => a.call(register, { ...json({ ...user(), captcha: answer, altcha }), cookie: cookieOf(second) })),
      );
      const codes = await Promise.all(replies.map(async (r) => (r.status === 201 ? "ok" : ((await r.json()) as typeof body).error)));
      assert.equal(codes.filter((c) => c === "ok").length, 1, JSON.stringify(codes));
      const other = codes.find((c) => c !== "ok") as typeof body.error;
      assert.ok(other.code === "captcha_missing" || other.code === "session_unknown", JSON.stringify(other));
      assert.equal(other.fields, undefined, "a used captcha is not said to be lost");
    });
  }
});

describe("the right answer kept after a taken name (a pass) says what became of it", () => {
  /** A 409 after a right answer: the cookie that holds the pass, and the pass's ledger id. */
  async function passAfterConflict(a: App, ids: string[]) {
    const taken = await signUp(a);
    const captcha = await a.call(getCaptcha);
    const r = await a.call(register, { ...json({ ...user(), username: taken.username, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(a) }), cookie: cookieOf(captcha) });
    assert.equal(r.status, 409);
    return { cookie: cookieOf(r) ?? cookieOf(captcha)!, id: ids.filter((i) => i.startsWith("pass")).at(-1)! };
  }
  const recording = (services: Services, ids: string[]): Services => ({ ...services, captchas: { ...services.captchas, put: (id, c, ttl) => (ids.push(id), services.captchas.put(id, c, ttl)) } });
  const withoutCaptcha = async (a: App, cookie: string) => {
    const r = await a.call(register, { ...json({ ...user(), altcha: await proof(a) }), cookie });
    return { status: r.status, error: r.status === 201 ? undefined : ((await r.json()) as { error: { code: string; fields?: unknown } }).error };
  };

  it("a username and an email both taken are said at once (email_taken, both in fields), and the pass then serves the next try", async () => {
    const ids: string[] = [];
    const a = app(recording(createServices(parseConfig(env({ SESSION_STORE: "database" }))), ids));
    const taken = await signUp(a);
    const captcha = await a.call(getCaptcha);
    const r = await a.call(register, { ...json({ ...user(), username: taken.username, email: taken.email, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(a) }), cookie: cookieOf(captcha) });
    assert.equal(r.status, 409);
    const { error } = (await r.json()) as { error: { code: string; fields?: unknown } };
    assert.deepEqual([error.code, error.fields], ["email_taken", { username: "username_taken", email: "email_taken" }]);
    // One field alone names itself the same way.
    const single = await a.call(register, { ...json({ ...user(), username: taken.username, altcha: await proof(a) }), cookie: cookieOf(r) ?? cookieOf(captcha) });
    assert.equal(single.status, 409);
    assert.deepEqual(((await single.json()) as { error: { fields?: unknown } }).error.fields, { username: "username_taken" });
  });

  it("used by another attempt first (the cookie store's older copy names it still): captcha_missing with fields.captcha pass_used", async () => {
    const ids: string[] = [];
    const a = app(recording(createServices(parseConfig(env({ SESSION_STORE: "cookie" }))), ids));
    const { cookie } = await passAfterConflict(a, ids);
    assert.equal((await withoutCaptcha(a, cookie)).status, 201);
    const again = await withoutCaptcha(a, cookie);
    assert.equal(again.status, 400);
    assert.deepEqual(again.error, { ...again.error, code: "captcha_missing", fields: { captcha: "pass_used" } });
  });

  it("lost by the ledger before its use: captcha_missing with fields.captcha lost, as a lost captcha", async () => {
    const ids: string[] = [];
    const services = createServices(parseConfig(env({ SESSION_STORE: "database" })));
    const a = app(recording(services, ids));
    const { cookie, id } = await passAfterConflict(a, ids);
    const { sql } = await import("../db");
    assert.equal((await sql(services.db).query("DELETE FROM captchas WHERE id = $1", [id])).rowCount, 1);
    const warn = console.warn;
    console.warn = () => {};
    try {
      const lost = await withoutCaptcha(a, cookie);
      assert.equal(lost.status, 400);
      assert.deepEqual(lost.error, { ...lost.error, code: "captcha_missing", fields: { captcha: "lost" } });
    } finally {
      console.warn = warn;
    }
  });
});

describe("another site cannot make a visitor's browser replace its captcha", () => {
  it("GET /api/captcha marked cross-site is 403 cross_origin and issues nothing; same-origin and typed-in requests are served", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database" }))));
    const first = await a.call(getCaptcha, { headers: { "sec-fetch-site": "same-origin" } });
    assert.equal(first.status, 200);
    const cookie = cookieOf(first)!;
    a.calls.splice(0);
    const crossSite = await a.call(getCaptcha, { headers: { "sec-fetch-site": "cross-site" }, cookie });
    assert.equal(crossSite.status, 403);
    assert.equal(((await crossSite.json()) as { error: { code: string } }).error.code, "cross_origin");
    assert.deepEqual(crossSite.headers.getSetCookie(), []);
    assert.deepEqual(a.calls, [], "no captcha drawn into the ledger, no session touched");
    // The pending captcha is still the one the page shows.
    const answer = first.headers.get("x-captcha-answer")!;
    const r = await a.call(register, { ...json({ ...user(), captcha: answer, altcha: await proof(a) }), cookie });
    assert.equal(r.status, 201, await r.clone().text());
    assert.equal((await a.call(getCaptcha, { headers: { "sec-fetch-site": "none" } })).status, 200);
  });
});

describe("plain form posts always land back on their page", () => {
  it("a rate-limited form post is a 303 to its page with the code and Retry-After, never JSON", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN: "1/1m" }))));
    const fields = { login: `nobody_${randomBytes(3).toString("hex")}`, password: "wrong-password" };
    // An address of its own, so limits counted by earlier runs on this database do not apply.
    const address = { [PEER_HEADER]: peerHeaderValue(`10.${randomBytes(3).join(".")}`) };
    const post = (init: ReturnType<typeof form>) => ({ ...init, headers: { ...init.headers, ...address } });
    const first = await a.call(login, post(form(fields, "/login")));
    assert.equal(first.status, 303);
    assert.equal(first.headers.get("location"), "/login?error=invalid_credentials");
    const limited = await a.call(login, post(form(fields, "/login")));
    assert.equal(limited.status, 303);
    // The wait goes in the URL as well, where the page can read it.
    const wait = limited.headers.get("retry-after") ?? "";
    assert.match(wait, /^\d+$/);
    assert.match(limited.headers.get("location") ?? "", new RegExp(`^/login\\?error=rate_limited&retry=${wait}&at=\\d+$`));
    // When it was said, so that a reload counts down from there.
    const at = Number(new URL(limited.headers.get("location")!, BASE).searchParams.get("at"));
    assert.ok(Math.abs(at - Date.now() / 1000) < 5, String(at));
    // The password page's login names where it returns to in its action too, which the limit,
    // answering before the body is read, keeps; a page it may not return to is dropped.
    const toPassword = await a.call(login, { ...post(form({ ...fields, next: "/password" }, "/login")), path: "/api/login?next=%2Fpassword" });
    assert.match(toPassword.headers.get("location") ?? "", new RegExp(`^/login\\?error=rate_limited&retry=${toPassword.headers.get("retry-after")}&at=\\d+&next=%2Fpassword$`));
    const elsewhere = await a.call(login, { ...post(form(fields, "/login")), path: "/api/login?next=https%3A%2F%2Fevil.example" });
    assert.match(elsewhere.headers.get("location") ?? "", new RegExp(`^/login\\?error=rate_limited&retry=${elsewhere.headers.get("retry-after")}&at=\\d+$`));
    // The same request as JSON keeps the contract's 429.
    assert.equal((await a.call(login, { ...json(fields), headers: address })).status, 429);
  });

  it("a form body above the limit, and a malformed logout form, come back to the page", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie" }))));
    const big = await a.call(register, form({ username: "x".repeat(20_000) }, "/signup"));
    assert.equal(big.status, 303);
    assert.equal(big.headers.get("location"), "/signup?error=payload_too_large");
    const odd = await a.call(logout, form({ everywhere: "yes" }, "/welcome"));
    assert.equal(odd.status, 303);
    assert.equal(odd.headers.get("location"), "/welcome?error=invalid_input&fields=everywhere.invalid_format");
    // A cross-origin form post stays the contract's 403 JSON.
    const cross = await a.call(login, { ...form({ login: "a", password: "b" }, "/login"), headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://elsewhere.test" } });
    assert.equal(cross.status, 403);
    assert.equal(((await cross.json()) as { error: { code: string } }).error.code, "cross_origin");
  });

  for (const store of ["cookie", "database"]) {
    it(`on the ${store} store, typed values a field cannot hold are not kept: a 303, never a 500`, async () => {
      const a = app(createServices(parseConfig(env({ SESSION_STORE: store }))));
      // NUL, which a JSON column refuses; 254 control characters, six bytes each in a sealed cookie;
      // an email cut at 254 in the middle of a character.
      const cases: Record<string, string>[] = [
        { username: "ab\u0000c", email: "x\u0000y@example.test", password: "password-1" },
        { username: "\u0001".repeat(254), email: "\u0001".repeat(254), password: "password-1" },
        { username: "ok_name", email: `${"a".repeat(253)}\u{1F600}`, password: "password-1" },
      ];
      for (const fields of cases) {
        const r = await a.call(register, form(fields, "/signup"));
        assert.equal(r.status, 303, JSON.stringify(fields).slice(0, 80));
        assert.match(r.headers.get("location") ?? "", /^\/signup\?error=invalid_input/);
        const cookie = cookieOf(r);
        assert.ok(cookie, "the draft went into a session");
        const draft = await a.call(saveSignupDraft, { ...form({ username: "kept_name", email: fields.email! }, "/signup"), cookie });
        assert.equal(draft.status, 303);
        assert.equal(draft.headers.get("location"), "/signup?captcha=new");
      }
      // Longer than any field takes: not kept, rather than kept cut short; each value that fits is kept whole.
      const kept = async (fields: Record<string, string>) => {
        const r = await a.call(saveSignupDraft, form(fields, "/signup"));
        assert.equal(r.status, 303);
        const session = await a.services.sessions.fromCookieHeader(cookieOf(r) ?? null);
        return ((await session.get<{ values: Record<string, string> }>(draftKey("signup"))) ?? { values: {} }).values;
      };
      assert.deepEqual(await kept({ username: "u".repeat(500), email: `${"e".repeat(400)}@example.com` }), {});
      assert.deepEqual(await kept({ username: "u".repeat(40), email: "someone@example.com" }), { username: "u".repeat(40), email: "someone@example.com" });
      // 508 bytes, then 762 more would pass 768: the first is kept whole, the second not at all.
      assert.deepEqual(await kept({ username: "é".repeat(254), email: "€".repeat(254) }), { username: "é".repeat(254) });
      // A value whose bytes are not UTF-8 (%FF): that field is invalid_format, and what else was typed is kept.
      const raw = (body: string, formPage: string) => ({ method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" }, formPage });
      const broken = await a.call(register, raw("username=kept_user&email=kept%40example.test&password=%FFsecret", "/signup"));
      assert.equal(broken.headers.get("location"), "/signup?error=invalid_input&fields=password.invalid_format%2Caltcha.required%2Ccaptcha.required");
      const session = await a.services.sessions.fromCookieHeader(cookieOf(broken) ?? null);
      assert.deepEqual((await session.get<{ values: Record<string, string> }>(draftKey("signup")))?.values, { username: "kept_user", email: "kept@example.test" });
      // A logout form is not refused for a field it does not read.
      const u = await signUp(a);
      const out = await a.call(logout, { ...raw("junk=%FF", "/welcome"), cookie: u.cookie });
      assert.equal(out.headers.get("location"), "/login?out=here");
      assert.equal((await a.call(me, { cookie: u.cookie })).status, store === "cookie" ? 200 : 401);
      // Half a surrogate pair, which JSON can spell and a JSON column refuses: not kept either.
      for (const value of ["\udc00", "a\ud800b"]) {
        const draft = await a.call(saveSignupDraft, json({ username: value, email: value }));
        assert.equal(draft.status, 303, JSON.stringify(value));
      }
    });
  }

  it("wrong passwords from anywhere lock an account's name, never a browser that logged in to it before (its device cookie)", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN_ACCOUNT: "3/1m", RATE_LIMIT_LOGIN: "1000/1m", RATE_LIMIT_REGISTER: "1000/1m", RATE_LIMIT_CAPTCHA: "1000/1m" }))));
    const u = await signUp(a);
    const owner = (await a.call(login, json({ login: u.username, password: u.password }))).headers.getSetCookie();
    assert.match(owner[0]!, /^holdfast_session=/, "the session cookie comes first");
    const device = owner.find((c) => c.startsWith("holdfast_session_device="))!.split(";")[0]!;
    assert.match(owner.find((c) => c.startsWith("holdfast_session_device="))!, /HttpOnly; SameSite=Lax/);
    // A stranger fills the name's budget with wrong passwords (the owner's login above spent one).
    await exhaust(() => a.call(login, json({ login: u.username, password: "wrong-password" })));
    assert.equal((await a.call(login, json({ login: u.username, password: u.password }))).status, 429, "a browser the owner never used is locked out");
    // The owner's browser logs in, and changes the password, on its own budget.
    const deviceOf = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith("holdfast_session_device="))?.split(";")[0];
    const back = await a.call(login, { ...json({ login: u.username, password: u.password }), cookie: device });
    assert.equal(back.status, 200);
    assert.ok(deviceOf(back), "every login issues the cookie again, so a browser in use keeps it");
    const session = cookieOf(back)!;
    const changed = await a.call(password, { ...json({ currentPassword: u.password, newPassword: "another-password" }), cookie: `${session}; ${device}` });
    assert.equal(changed.status, 204);
    const renewed = deviceOf(changed)!;
    assert.ok(renewed && renewed !== device);
    // The new password voids the device cookies signed over the old one: whoever minted them with the old password gets no budget.
    assert.equal((await a.call(login, { ...json({ login: u.username, password: "another-password" }), cookie: device })).status, 429, "a cookie from before the change");
    assert.equal((await a.call(login, { ...json({ login: u.username, password: "another-password" }), cookie: renewed })).status, 200, "the browser that made the change");
    // The device's budget is its own, and limited too.
    await exhaust(() => a.call(login, { ...json({ login: u.username, password: "wrong-password" }), cookie: renewed }));
    assert.equal((await a.call(login, { ...json({ login: u.username, password: "another-password" }), cookie: renewed })).status, 429);
  });

  it("a device cookie counts only for its own account, and only as signed", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN_ACCOUNT: "3/1m", RATE_LIMIT_LOGIN: "1000/1m", RATE_LIMIT_REGISTER: "1000/1m", RATE_LIMIT_CAPTCHA: "1000/1m" }))));
    const mine = await signUp(a);
    const theirs = await signUp(a);
    const device = (await a.call(login, json({ login: mine.username, password: mine.password }))).headers.getSetCookie().find((c) => c.startsWith("holdfast_session_device="))!.split(";")[0]!;
    await exhaust(() => a.call(login, json({ login: theirs.username, password: "wrong-password" })));
    assert.equal((await a.call(login, { ...json({ login: theirs.username, password: theirs.password }), cookie: device })).status, 429, "another account's device");
    const [name, value] = device.split("=") as [string, string];
    const forged = `${name}=${value.slice(0, -1)}${value.endsWith("0") ? "1" : "0"}`;
    await exhaust(() => a.call(login, json({ login: mine.username, password: "wrong-password" })));
    assert.equal((await a.call(login, { ...json({ login: mine.username, password: mine.password }), cookie: forged })).status, 429, "a tampered signature");
    assert.equal((await a.call(login, { ...json({ login: mine.username, password: mine.password }), cookie: device })).status, 200);
  });

  it("a password change counts against the login limits of both the account's names", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN_ACCOUNT: "3/1m", RATE_LIMIT_LOGIN: "1000/1m", RATE_LIMIT_REGISTER: "1000/1m", RATE_LIMIT_CAPTCHA: "1000/1m" }))));
    const u = await signUp(a);
    const change = () => a.call(password, { ...json({ currentPassword: "wrong-password", newPassword: "another-password" }), cookie: u.cookie });
    for (let i = 0; i < 3; i++) assert.equal((await change()).status, 401);
    const limitedChange = await change();
    assert.equal(limitedChange.status, 429);
    assert.match(limitedChange.headers.get("retry-after") ?? "", /^\d+$/);
    // Logins by either name share those budgets, the right password included.
    assert.equal((await a.call(login, json({ login: u.username, password: u.password }))).status, 429);
    assert.equal((await a.call(login, json({ login: u.email, password: u.password }))).status, 429);
  });

  it("a password change is refused once either of the account's names is limited", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "database", RATE_LIMIT_MULTIPLIER: "1", RATE_LIMIT_LOGIN_ACCOUNT: "3/1m", RATE_LIMIT_LOGIN: "1000/1m", RATE_LIMIT_REGISTER: "1000/1m", RATE_LIMIT_CAPTCHA: "1000/1m" }))));
    const u = await signUp(a);
    for (let i = 0; i < 3; i++) assert.equal((await a.call(login, json({ login: u.email, password: "wrong-password" }))).status, 401);
    const change = await a.call(password, { ...json({ currentPassword: u.password, newPassword: "another-password" }), cookie: u.cookie });
    assert.equal(change.status, 429);
  });

  it("C1 control characters and lone surrogates are invalid_format, like C0 and DEL", async () => {
    const a = app(createServices(parseConfig(env({ SESSION_STORE: "cookie" }))));
    for (const value of ["pass\u0085word-1", "pass\u009bword-1", "pass\ud800word-1", "pass\udfffword-1"]) {
      const r = await a.call(login, json({ login: "someone", password: value }));
      assert.equal(r.status, 400);
      assert.deepEqual(((await r.json()) as { error: { fields: Record<string, string> } }).error.fields, { password: "invalid_format" });
    }
  });
});
