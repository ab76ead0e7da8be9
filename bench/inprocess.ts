/**
 * Measurements that drive lib code in this process, as lib/api/flows.test.ts does: store round
 * trips per request (the counting wrappers), sealed cookie sizes, and captcha drawing per core.
 */
import { randomBytes } from "node:crypto";
import { getCaptcha } from "../lib/api/captcha";
import { getChallenge } from "../lib/api/challenge";
import type { RequestContext } from "../lib/api/context";
import { PEER_HEADER, peerHeaderValue } from "../lib/http/client-ip";
import { login } from "../lib/api/login";
import { logout } from "../lib/api/logout";
import { me } from "../lib/api/me";
import { register } from "../lib/api/register";
import { renderCaptcha } from "../lib/captcha/render";
import { captchaText } from "../lib/captcha/text";
import type { Db } from "../lib/db";
import { parseConfig } from "../lib/env";
import { sessionRoute } from "../lib/http/route";
import { powSettings } from "../lib/pow/pow";
import { countingStore } from "@holdfast/session/testing";
import { countingLedger } from "../testing/counting-ledger";
import { createServices, sessionsOver, type Services } from "../lib/services";
import { proofFrom } from "../testing/pow";
import { summarize, type Summary } from "./stats";

type Endpoint = (ctx: RequestContext) => Promise<Response>;

const BASE = "http://holdfast.bench";

/** Counts every query the endpoints make through `services.db` (the users table); the stores hold their own client. */
export function countingDb(db: Db, counter: { n: number }): Db {
  const raw = new Set(["$queryRaw", "$executeRaw", "$queryRawUnsafe", "$executeRawUnsafe"]);
  // The proxy's target is an empty object over the client, not the client: lib/db.ts defines the
  // pool as a read-only, non-configurable property, which a proxy of the client itself must return
  // unchanged (a TypeError otherwise), so the counting pool below could not stand in for it.
  const target = db;
  return new Proxy(Object.create(db) as Db, {
    get(_shadow, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof prop === "string" && raw.has(prop) && typeof value === "function") {
        return (...args: unknown[]) => {
          counter.n++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (typeof prop === "string" && !prop.startsWith("$") && value && typeof value === "object") {
        return new Proxy(value, {
          get(delegate, method) {
            const fn = Reflect.get(delegate, method) as unknown;
            if (typeof fn !== "function") return fn;
            return (...args: unknown[]) => {
              counter.n++;
              return (fn as (...a: unknown[]) => unknown).apply(delegate, args);
            };
          },
        });
      }
      // The pool under the client (lib/db.ts `sql`): its queries are user queries too.
      if (typeof prop === "symbol" && value && typeof value === "object" && "query" in value) {
        const pool = value as { query: (...a: unknown[]) => unknown };
        return new Proxy(pool, {
          get(delegate, method) {
            const fn = Reflect.get(delegate, method) as unknown;
            if (method !== "query" || typeof fn !== "function") return typeof fn === "function" ? fn.bind(delegate) : fn;
            return (...args: unknown[]) => {
              counter.n++;
              return (fn as (...a: unknown[]) => unknown).apply(delegate, args);
            };
          },
        });
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as Db;
}

export interface RoundTrips {
  request: string;
  /** The counting wrapper's figure: session store calls plus captcha records, as the README counts them. */
  storeCalls: number;
  calls: string[];
  rateLimitHits: number;
  userQueries: number;
  /** Everything that leaves the process; a cookie-store session call is local (seal/unseal). */
  network: number;
  target: string;
  status: number;
}

function harness(services: Services) {
  const store = countingStore(services.store);
  const limits = { n: 0 };
  const queries = { n: 0 };
  const counted: Services = {
    ...services,
    store,
    sessions: sessionsOver(services.config, store),
    captchas: countingLedger(services.captchas, store.calls),
    limiter: {
      hit(key, rule) {
        limits.n++;
        return services.limiter.hit(key, rule);
      },
    },
    db: countingDb(services.db, queries),
  };
  const call = (endpoint: Endpoint, init: RequestInit & { cookie?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set("cookie", init.cookie);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    headers.set(PEER_HEADER, peerHeaderValue("127.0.0.1"));
    return sessionRoute(() => counted, endpoint)(new Request(`${BASE}/`, { ...init, headers }));
  };
  const count = async (request: string, target: string, run: () => Promise<Response>): Promise<RoundTrips & { response: Response }> => {
    store.reset();
    limits.n = 0;
    queries.n = 0;
    const response = await run();
    const calls = [...store.calls];
    const local = services.store.name === "cookie" ? calls.filter((c) => !c.startsWith("captcha.")).length : 0;
    return {
      request,
      storeCalls: calls.length,
      calls,
      rateLimitHits: limits.n,
      userQueries: queries.n,
      network: calls.length - local + limits.n + queries.n,
      target,
      status: response.status,
      response,
    };
  };
  return { call, count };
}

const cookieOf = (r: Response) => r.headers.getSetCookie()[0]?.split(";")[0];
const user = () => {
  const id = randomBytes(5).toString("hex");
  return { username: `r_${id}`, email: `r.${id}@bench.test`, password: `password-${id}` };
};
const post = (body: unknown) => ({ method: "POST", body: JSON.stringify(body) });

/** GET /api/challenge as the route binds it. */
const challenge: Endpoint = (ctx) => getChallenge(ctx, powSettings(ctx.services.config));

/** A solved proof of work for one registration, through the challenge endpoint (single-use). */
async function altcha(call: (endpoint: Endpoint) => Promise<Response>): Promise<string> {
  const r = await call(challenge);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`bench: GET /api/challenge → ${r.status}: ${text.slice(0, 200)}`);
  return proofFrom(text).payload;
}

/**
 * Services for in-process runs. Not closed per store: every store shares the process's one
 * database client (getDb), which cannot be used again once disconnected; `closeAll` ends them.
 */
const opened: Services[] = [];
export function inProcessServices(env: Record<string, string>): Services {
  const services = createServices(parseConfig({ ...env, NODE_ENV: "test" }));
  opened.push(services);
  return services;
}
export async function closeAll(): Promise<void> {
  for (const s of opened.splice(0)) await s.close().catch(() => {});
}

/** Round trips per request for one store, over the real backend. */
export async function countRoundTrips(env: Record<string, string>): Promise<RoundTrips[]> {
  const services = inProcessServices(env);
  const { call, count } = harness(services);
  const captcha = await call(getCaptcha);
  const u = user();
  const registered = await call(register, { ...post({ ...u, captcha: captcha.headers.get("x-captcha-answer"), altcha: await altcha(call) }), cookie: cookieOf(captcha) });
  if (registered.status !== 201) throw new Error(`bench: sign-up for the round-trip count failed with ${registered.status}`);
  const cookie = cookieOf(registered)!;

  const rows = [
    await count("untouched (a route that never reads the session)", "0", () => call(async () => Response.json({ ok: true }), { cookie })),
    await count("read-only: GET /api/me", "1", () => call(me, { cookie })),
    await count("modifying: GET /api/captcha, no cookie yet", "≤ 2", () => call(getCaptcha)),
    await count("modifying: GET /api/captcha on a live session", "≤ 2", () => call(getCaptcha, { cookie })),
    await count("proof of work: GET /api/challenge (its single-use record, no session)", "1", () => call(challenge)),
  ];
  const fresh = await call(getCaptcha);
  const proof = await altcha(call);
  rows.push(
    await count("registration: POST /api/register (proof of work and captcha)", "fewest", () =>
      call(register, { ...post({ ...user(), captcha: fresh.headers.get("x-captcha-answer"), altcha: proof }), cookie: cookieOf(fresh) }),
    ),
    await count("login: POST /api/login, no cookie", "fewest", () => call(login, post({ login: u.username, password: u.password }))),
  );
  const loggedIn = cookieOf(rows.at(-1)!.response)!;
  rows.push(await count("logout: POST /api/logout", "fewest", () => call(logout, { method: "POST", cookie: loggedIn })));
  return rows.map((row): RoundTrips => {
    const figures: Partial<typeof row> = { ...row };
    delete figures.response;
    return figures as RoundTrips;
  });
}

export interface CookieSizes {
  anonymousWithCaptcha: { cookieBytes: number; setCookieBytes: number };
  afterRegistration: { cookieBytes: number; setCookieBytes: number };
  afterLogin: { cookieBytes: number; setCookieBytes: number };
}

/** Sealed cookie sizes of the cookie store: `name=value` as the browser sends it back, and the whole Set-Cookie. */
export async function sealedCookieSizes(env: Record<string, string>): Promise<CookieSizes> {
  const services = inProcessServices({ ...env, SESSION_STORE: "cookie" });
  const { call } = harness(services);
  const size = (r: Response) => {
    const header = r.headers.getSetCookie()[0] ?? "";
    return { cookieBytes: Buffer.byteLength(header.split(";")[0]!), setCookieBytes: Buffer.byteLength(header) };
  };
  const captcha = await call(getCaptcha);
  const u = user();
  const registered = await call(register, { ...post({ ...u, captcha: captcha.headers.get("x-captcha-answer"), altcha: await altcha(call) }), cookie: cookieOf(captcha) });
  const loggedIn = await call(login, post({ login: u.username, password: u.password }));
  return { anonymousWithCaptcha: size(captcha), afterRegistration: size(registered), afterLogin: size(loggedIn) };
}

export interface CaptchaRate {
  count: number;
  perSecond: number;
  render: Summary;
  meanSvgBytes: number;
}

/** `renderCaptcha(captchaText())` in a loop on this one thread: captchas per second per core. */
export function captchaRate(count: number, warmup = 200): CaptchaRate {
  for (let i = 0; i < warmup; i++) renderCaptcha(captchaText());
  const times: number[] = [];
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const svg = renderCaptcha(captchaText());
    times.push(performance.now() - t0);
    bytes += svg.length;
  }
  const total = performance.now() - start;
  return { count, perSecond: (count / total) * 1000, render: summarize(times), meanSvgBytes: bytes / count };
}
