import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { createCookieStore } from "@holdfast/session/stores/cookie";
import pg from "pg";
import { startCluster } from "../../testing/cluster";
import { rawRequest as raw } from "../../testing/raw-http";
import { freePort } from "../../testing/stack";

/**
 * Edges that need an instance of their own, reached directly (no proxy in front): what counts of
 * X-Forwarded-* with and without TRUST_PROXY, and a database that was never migrated.
 */

const STORE = process.env.E2E_STORE ?? "unknown";
const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;

test.describe.configure({ timeout: 180_000 });

async function withInstance<T>(extra: Record<string, string>, run: (base: string) => Promise<T>): Promise<T> {
  const cluster = await startCluster({ env: { ...env, ...extra }, instances: 1 });
  try {
    return await run(`http://127.0.0.1:${cluster.instances[0]!.port}`);
  } finally {
    await cluster.stop();
  }
}

const sessionCookie = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith("holdfast_session="));

test(`a SIGTERM ends the instance within its grace, however slowly a client sends a body (${STORE} store)`, async () => {
  const cluster = await startCluster({ env, instances: 1 });
  try {
    const instance = cluster.instances[0]!;
    // A login whose body comes a byte every 2 s: it never completes by itself.
    const socket = (await import("node:net")).connect({ host: "127.0.0.1", port: instance.port });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.on("error", () => {});
    socket.write(`POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:${instance.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const trickle = setInterval(() => socket.write(" "), 2_000);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const started = Date.now();
      const exited = new Promise<void>((resolve) => instance.process.once("exit", () => resolve()));
      instance.process.kill("SIGTERM");
      await exited;
      // The grace is 10 s; node's own request timeout would have kept it up to 300 s.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  } finally {
    await cluster.stop();
  }
});

test(`X-Forwarded-* counts only with TRUST_PROXY (${STORE} store)`, async () => {
  const spoofed = { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example", "x-forwarded-for": "203.0.113.9" };
  await withInstance({ TRUST_PROXY: "0" }, async (base) => {
    const captcha = await fetch(`${base}/api/captcha`, { headers: spoofed });
    expect(captcha.status).toBe(200);
    expect(sessionCookie(captcha)).not.toMatch(/Secure/i);
    // The site's origin is still this host over http: a same-origin post from it is accepted,
    // and one claiming the forwarded host is refused.
    const own = await fetch(`${base}/api/logout`, { method: "POST", headers: { ...spoofed, origin: base } });
    expect(own.status).toBe(204);
    const claimed = await fetch(`${base}/api/logout`, { method: "POST", headers: { ...spoofed, origin: "https://evil.example" } });
    expect(claimed.status).toBe(403);
    const health = (await (await fetch(`${base}/api/health`, { headers: spoofed })).json()) as { proxy: { forwardedHeadersSeen: boolean; trustProxy: boolean } };
    expect(health.proxy).toEqual({ forwardedHeadersSeen: true, trustProxy: false });
  });
  await withInstance({ TRUST_PROXY: "1" }, async (base) => {
    const captcha = await fetch(`${base}/api/captcha`, { headers: spoofed });
    expect(sessionCookie(captcha)).toMatch(/; Secure/i);
    const forwarded = await fetch(`${base}/api/logout`, { method: "POST", headers: { ...spoofed, origin: "https://evil.example" } });
    expect(forwarded.status).toBe(204);
    const plain = await fetch(`${base}/api/captcha`);
    expect(sessionCookie(plain)).not.toMatch(/Secure/i);
    // A proxy that appends: the client's https ahead of our proxy's http counts for nothing
    // (a Secure cookie over http would be dropped), and the other way round our proxy's https counts.
    const appended = await fetch(`${base}/api/captcha`, { headers: { "x-forwarded-proto": "https, http" } });
    expect(sessionCookie(appended)).not.toMatch(/Secure/i);
    const overHttps = await fetch(`${base}/api/captcha`, { headers: { "x-forwarded-proto": "http, https" } });
    expect(sessionCookie(overHttps)).toMatch(/; Secure/i);
    const own = await fetch(`${base}/api/logout`, { method: "POST", headers: { "x-forwarded-proto": "https, http", "x-forwarded-host": "evil.example, 127.0.0.1", origin: "https://evil.example" } });
    expect(own.status).toBe(403);
  });
});

test(`what Next would answer outside the contract, the production server answers first (${STORE} store)`, async () => {
  await withInstance({}, async (base) => {
    const trace = await raw(base, ["TRACE /api/me HTTP/1.1"]);
    expect(trace.status).toBe(405);
    expect(trace.headers).toContain("allow: get, head, options");
    expect(trace.body).toContain('"code":"method_not_allowed"');
    // The gate's own answers carry the headers every page does.
    expect(trace.headers).toContain("x-frame-options: deny");
    expect(trace.headers).toContain("content-security-policy: frame-ancestors 'none'");
    expect((await raw(base, ["PROPFIND /api/nowhere HTTP/1.1"])).status).toBe(404);
    for (const path of ["/api/%ff", "/api/captcha%ff"]) {
      const broken = await fetch(`${base}${path}`);
      expect(broken.status, path).toBe(404);
      expect(((await broken.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    // The same behind dot segments, which Next resolves (fetch would resolve them first, so a socket).
    const dotted = await raw(base, ["GET /%2e%2e/api/%ff HTTP/1.1"]);
    expect(dotted.status).toBe(404);
    expect(dotted.body).toContain('"code":"not_found"');
    expect(dotted.headers).toContain("x-frame-options: deny");
    // An absolute-form target naming another host is this site's own page, never a redirect there.
    const absolute = await raw(base, ["GET http://evil.example/signup HTTP/1.1"]);
    expect(absolute.status).toBe(200);
    expect(absolute.headers).not.toContain("evil.example");
  });
});

test(`a page reloaded while the database is away still says the service is away, never that it is back (${STORE} store)`, async () => {
  // Nothing listens there: every query fails to connect.
  const dead = new URL(env.DATABASE_URL!);
  dead.port = String(await freePort());
  await withInstance({ DATABASE_URL: dead.toString() }, async (base) => {
    for (const path of ["/signup", "/login"]) {
      const page = await fetch(`${base}${path}?error=session_store_unavailable`);
      expect(page.status, path).toBe(200);
      const html = await page.text();
      expect(html, path).toContain('data-code="session_store_unavailable"');
      expect(html, path).not.toContain('data-code="store_back"');
    }
  });
});

test(`a database that was never migrated: health 503 database_not_migrated, no 500, npm start refuses (${STORE} store)`, async () => {
  const admin = new pg.Client({ connectionString: env.DATABASE_URL });
  await admin.connect();
  const name = `holdfast_unmigrated_${STORE.replace(/\W/g, "_")}`;
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(env.DATABASE_URL!);
  url.pathname = `/${name}`;
  try {
    await withInstance({ DATABASE_URL: url.toString() }, async (base) => {
      const health = await fetch(`${base}/api/health`);
      expect(health.status).toBe(503);
      const body = (await health.json()) as { error: { code: string; message: string }; checks: { database: { pending: string[] } } };
      expect(body.error.code).toBe("database_not_migrated");
      expect(body.error.message).toContain("npm run db:migrate");
      expect(body.checks.database.pending.length).toBeGreaterThan(0);
      // Every endpoint answers with a code of the contract, never a 500.
      const captcha = await fetch(`${base}/api/captcha`);
      expect(captcha.status, await captcha.clone().text()).not.toBe(500);
      if (captcha.status !== 200) expect(((await captcha.json()) as { error: { code: string } }).error.code).toBe("database_not_migrated");
      const login = await fetch(`${base}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "someone", password: "password-1" }) });
      expect(login.status).toBe(503);
      expect(((await login.json()) as { error: { code: string } }).error.code).toBe("database_not_migrated");

      // The pages, asked with a session cookie, never answer a 500 either. Where that session has
      // to be read from the missing tables (a logged-in seal's user, a database session), a page
      // that needs the login says it cannot check it, rather than sending the person to log in.
      const now = Date.now();
      const sealed = async () =>
        createCookieStore({ secrets: env.SESSION_SECRET!.split(","), cookieName: "holdfast_session", ttlSeconds: 3600 }).create({ data: {}, userId: randomUUID(), createdAt: now, lastActiveAt: now }, now + 3_600_000);
      const cookie = `holdfast_session=${STORE === "cookie" ? await sealed() : randomBytes(32).toString("base64url")}`;
      const readsTheDatabase = ["cookie", "database", "cached-tcp"].includes(STORE);
      for (const path of ["/signup", "/login", "/welcome", "/password"]) {
        const page = await fetch(`${base}${path}`, { headers: { cookie }, redirect: "manual" });
        expect(page.status, path).toBeLessThan(500);
        if (readsTheDatabase && (path === "/welcome" || path === "/password")) {
          expect(page.status, path).toBe(200);
          expect(await page.text(), path).toContain('data-testid="session-unavailable"');
        }
      }
    });

    // `npm start` on an external database that lacks migrations refuses, with the sentence and the fix.
    const port = await freePort();
    const started = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn("npx", ["tsx", "scripts/launch.ts", "start"], {
        env: { ...process.env, ...env, NODE_ENV: "production", DATABASE_URL: url.toString(), PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
    expect(started.code).toBe(1);
    expect(started.output).toMatch(/The database lacks \d+ migrations? this build ships .*run `NODE_ENV=production npm run db:migrate` against DATABASE_URL/);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
});

test("a rolling deploy: the proxy retries a script another build's instance does not have, so the page's scripts always load", async () => {
  // An instance of another build: it knows none of this build's file names.
  const other = http.createServer((_req, res) => res.writeHead(404, { "content-type": "text/plain" }).end("not found"));
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  const cluster = await startCluster({ env, instances: 1, extraUpstreams: [(other.address() as import("node:net").AddressInfo).port] });
  try {
    const page = await (await fetch(`${cluster.url}/login`)).text().catch(() => "");
    // The page itself may have come from either upstream; ask until this build's page names its scripts.
    let html = page;
    for (let i = 0; i < 4 && !/\/_next\/static\/[^"]+\.js/.test(html); i++) html = await (await fetch(`${cluster.url}/login`)).text();
    const scripts = [...html.matchAll(/\/_next\/static\/[^"]+\.js/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (let round = 0; round < 3; round++) {
      for (const script of scripts) expect((await fetch(`${cluster.url}${script}`)).status, script).toBe(200);
    }
  } finally {
    await cluster.stop();
    other.close();
  }
});
