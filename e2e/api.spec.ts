import { expect, test } from "@playwright/test";
import { decodePayload, encodeRaw, fetchProof, proof } from "../testing/pow";
import { newUser, STORE } from "./helpers";

/** The HTTP contract, with cookies handled by hand so every case says exactly what it sends. */
const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const COOKIE = "holdfast_session";

function cookieFrom(response: Response): string | undefined {
  const header = response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  return header?.split(";")[0];
}

async function captcha(cookie?: string) {
  const response = await fetch(`${BASE}/api/captcha`, { headers: cookie ? { cookie } : {} });
  return { response, answer: response.headers.get("x-captcha-answer")!, cookie: cookieFrom(response) ?? cookie };
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${BASE}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function code(response: Response) {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** A fresh proof of work for one register attempt (each challenge is single-use). */
const altcha = () => proof(BASE);

test.describe(`HTTP contract (${STORE} store)`, () => {
  test("the captcha is an uncacheable SVG that starts a session", async () => {
    const { response, cookie } = await captcha();
    expect(response.headers.get("content-type")).toContain("image/svg+xml");
    expect(response.headers.get("cache-control")).toContain("no-store");
    expect(await response.text()).toMatch(/^<svg[\s\S]*<\/svg>$/);
    const setCookie = response.headers.getSetCookie()[0]!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // served over http here, and SESSION_COOKIE_SECURE=auto
    expect(cookie).toBeTruthy();
  });

  test("a register POST without a cookie is no_session, never a wrong captcha", async () => {
    const response = await post("/api/register", { ...newUser(), captcha: "ACDEF", altcha: await altcha() });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("no_session");
    expect(body.error.message).toMatch(/cookie/i);
  });

  test("a wrong answer is captcha_invalid, and the same captcha retried is captcha_missing", async () => {
    const { answer, cookie } = await captcha();
    const wrong = answer === "AAAAA" ? "CCCCC" : "AAAAA";
    const first = await post("/api/register", { ...newUser(), captcha: wrong, altcha: await altcha() }, { cookie: cookie! });
    expect(await code(first)).toBe("captcha_invalid");
    const retry = await post("/api/register", { ...newUser(), captcha: answer, altcha: await altcha() }, { cookie: cookieFrom(first) ?? cookie! });
    expect(await code(retry)).toBe("captcha_missing");
  });

  test("replaying the cookie from before a successful sign-up cannot use its captcha twice", async () => {
    const { answer, cookie } = await captcha();
    const ok = await post("/api/register", { ...newUser(), captcha: answer, altcha: await altcha() }, { cookie: cookie! });
    expect(ok.status).toBe(201);
    // The old cookie value again, with a fresh proof: for the cookie store it still unseals, so only the server-side record can stop it.
    const replay = await post("/api/register", { ...newUser(), captcha: answer, altcha: await altcha() }, { cookie: cookie! });
    expect(replay.status).toBe(400);
    expect(await code(replay)).toBe(STORE === "cookie" ? "captcha_missing" : "session_unknown");
  });

  test("registration logs in, rotates the token, and /api/me answers", async () => {
    const { answer, cookie } = await captcha();
    const user = newUser();
    const response = await post("/api/register", { ...user, captcha: answer, altcha: await altcha() }, { cookie: cookie! });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { user: { id: string; username: string; email: string } };
    expect(body.user).toMatchObject({ username: user.username, email: user.email.toLowerCase() });
    const rotated = cookieFrom(response);
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(cookie);
    const me = await fetch(`${BASE}/api/me`, { headers: { cookie: rotated! } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { id: string } }).user.id).toBe(body.user.id);
  });

  test("login rotates the token every time, and logout ends the session", async () => {
    const { answer, cookie } = await captcha();
    const user = newUser();
    expect((await post("/api/register", { ...user, captcha: answer, altcha: await altcha() }, { cookie: cookie! })).status).toBe(201);
    const first = await post("/api/login", { login: user.username.toUpperCase(), password: user.password });
    expect(first.status).toBe(200);
    const a = cookieFrom(first)!;
    const second = await post("/api/login", { login: user.email, password: user.password }, { cookie: a });
    const b = cookieFrom(second)!;
    expect(b).not.toBe(a);
    const logout = await post("/api/logout", {}, { cookie: b });
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    const me = await fetch(`${BASE}/api/me`, { headers: { cookie: b } });
    // A sealed cookie cannot be revoked on the server: only the other stores forget it.
    expect(me.status).toBe(STORE === "cookie" ? 200 : 401);
  });

  test("a wrong login is invalid_credentials whether or not the user exists", async () => {
    const user = newUser();
    for (const login of [user.username, "nobody_at_all_here"]) {
      const response = await post("/api/login", { login, password: "wrong-password" });
      expect(response.status).toBe(401);
      expect(await code(response)).toBe("invalid_credentials");
    }
  });

  test("a tampered or truncated cookie is an empty session, never a 5xx", async () => {
    const { cookie } = await captcha();
    // The first character of the value swapped for another, so the tampered cookie always differs.
    const flipped = cookie!.replace(/=(.)/, (_, first: string) => `=${first === "X" ? "Y" : "X"}`);
    for (const bad of [cookie!.slice(0, -5), flipped, `${COOKIE}=garbage`, `${COOKIE}=`]) {
      const me = await fetch(`${BASE}/api/me`, { headers: { cookie: bad } });
      expect(me.status, bad).toBe(401);
      const register = await post("/api/register", { ...newUser(), captcha: "ACDEF", altcha: await altcha() }, { cookie: bad });
      expect(register.status).toBe(400);
      expect(["session_unknown", "no_session"]).toContain(await code(register));
    }
  });

  test("shape errors come before the proof and the session check and consume neither the proof nor the captcha", async () => {
    const { answer, cookie } = await captcha();
    const fields = async (response: Response) => {
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: string; fields: Record<string, string> } };
      expect(body.error.code).toBe("invalid_input");
      return body.error.fields;
    };
    const bare = await post("/api/register", { username: "ab", email: "not-an-email", password: "short" }, { cookie: cookie! });
    expect(await fields(bare)).toEqual({ username: "too_short", email: "invalid_format", password: "too_short", captcha: "required", altcha: "required" });
    // The same proof through every shape error, then the sign-up: fixing the form costs no new proof.
    const altchaOnce = await altcha();
    const bad = await post("/api/register", { username: "ab", email: "not-an-email", password: "short", altcha: altchaOnce }, { cookie: cookieFrom(bare) ?? cookie! });
    // A missing captcha is reported with the other fields, not after them.
    expect(await fields(bad)).toEqual({ username: "too_short", email: "invalid_format", password: "too_short", captcha: "required" });
    const user = newUser();
    const noCaptcha = await post("/api/register", { ...user, altcha: altchaOnce }, { cookie: cookieFrom(bad) ?? cookie! });
    expect(await fields(noCaptcha)).toEqual({ captcha: "required" });
    const ok = await post("/api/register", { ...user, captcha: answer, altcha: altchaOnce }, { cookie: cookieFrom(noCaptcha) ?? cookieFrom(bad) ?? cookie! });
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  test("bad bodies get their own codes", async () => {
    expect(await code(await post("/api/register", "{not json"))).toBe("invalid_json");
    expect(await code(await post("/api/register", "[1,2]"))).toBe("invalid_input");
    const multipart = await post("/api/register", "x", { "content-type": "multipart/form-data; boundary=x" });
    expect(multipart.status).toBe(415);
    const big = await post("/api/register", JSON.stringify({ username: "x".repeat(17 * 1024) }));
    expect(big.status).toBe(413);
    expect(await code(big)).toBe("payload_too_large");
  });

  test("a challenge is uncacheable JSON in ALTCHA's format and sets no cookie; an unknown level is invalid_input", async () => {
    for (const level of ["normal", "accessible"] as const) {
      const response = await fetch(`${BASE}/api/challenge${level === "accessible" ? "?level=accessible" : ""}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(response.headers.get("cache-control")).toContain("no-store");
      expect(response.headers.getSetCookie()).toEqual([]);
      const body = (await response.json()) as { parameters: { algorithm: string; nonce: string; expiresAt: number; data?: { level?: string } }; signature: string };
      expect(body.parameters.algorithm).toBe("SHA-256");
      expect(body.parameters.data?.level).toBe(level);
      expect(body.parameters.expiresAt * 1000).toBeGreaterThan(Date.now());
      expect(body.signature).toMatch(/^[0-9a-f]{64}$/);
    }
    const unknown = await fetch(`${BASE}/api/challenge?level=free`);
    expect(unknown.status).toBe(400);
    expect(await code(unknown)).toBe("invalid_input");
  });

  test("the proof of work is required, single-use, and checked before the session", async () => {
    const { answer, cookie } = await captcha();
    const missing = await post("/api/register", { ...newUser(), captcha: answer }, { cookie: cookie! });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { error: { code: string; fields: Record<string, string> } };
    expect(body.error).toMatchObject({ code: "invalid_input", fields: { altcha: "required" } });
    // A forged proof without any cookie: the proof is checked before the session.
    const used = await fetchProof(BASE);
    const forged = decodePayload(used.payload);
    forged.challenge.signature = forged.challenge.signature.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const noCookie = await post("/api/register", { ...newUser(), captcha: "ACDEF", altcha: encodeRaw(forged) });
    expect(await code(noCookie)).toBe("pow_invalid");
    const ok = await post("/api/register", { ...newUser(), captcha: answer, altcha: used.payload }, { cookie: cookieFrom(missing) ?? cookie! });
    expect(ok.status, await ok.clone().text()).toBe(201);
    // The used proof with a new captcha, right answer and all: refused on the proof.
    const next = await captcha();
    const replay = await post("/api/register", { ...newUser(), captcha: next.answer, altcha: used.payload }, { cookie: next.cookie! });
    expect(replay.status).toBe(400);
    expect(await code(replay)).toBe("pow_invalid");
    // The proof failed before the captcha, so that captcha is still waiting.
    const after = await post("/api/register", { ...newUser(), captcha: next.answer, altcha: await altcha() }, { cookie: cookieFrom(replay) ?? next.cookie! });
    expect(after.status, await after.clone().text()).toBe(201);
  });

  test("a right captcha whose sign-up hit a taken username leaves one pass: the next attempt may omit the captcha, once", async () => {
    const taken = newUser();
    const first = await captcha();
    expect((await post("/api/register", { ...taken, captcha: first.answer, altcha: await altcha() }, { cookie: first.cookie! })).status).toBe(201);
    const { answer, cookie } = await captcha();
    const conflict = await post("/api/register", { ...newUser(), username: taken.username, captcha: answer, altcha: await altcha() }, { cookie: cookie! });
    expect(conflict.status).toBe(409);
    expect(await code(conflict)).toBe("username_taken");
    const withPass = cookieFrom(conflict) ?? cookie!;
    const ok = await post("/api/register", { ...newUser(), altcha: await altcha() }, { cookie: withPass });
    expect(ok.status, await ok.clone().text()).toBe(201);
    // Spent. The cookie that held the pass: for the cookie store a sealed copy that still names it,
    // which only the server-side record can stop; the other stores forgot that token at sign-up.
    const again = await post("/api/register", { ...newUser(), altcha: await altcha() }, { cookie: withPass });
    expect(again.status).toBe(400);
    expect(await code(again)).toBe(STORE === "cookie" ? "captcha_missing" : "invalid_input");
    // The logged-in cookie after the sign-up holds no pass either.
    const loggedIn = await post("/api/register", { ...newUser(), altcha: await altcha() }, { cookie: cookieFrom(ok)! });
    expect(loggedIn.status).toBe(400);
    expect(((await loggedIn.json()) as { error: { fields?: Record<string, string> } }).error.fields).toEqual({ captcha: "required" });
  });

  test("a proof at the accessible level stands in for the captcha; a normal one does not", async () => {
    const normal = await post("/api/register", { ...newUser(), altcha: await altcha() });
    expect(normal.status).toBe(400);
    const body = (await normal.json()) as { error: { code: string; fields: Record<string, string> } };
    expect(body.error).toMatchObject({ code: "invalid_input", fields: { captcha: "required" } });
    const user = newUser();
    const accessible = await post("/api/register", { ...user, altcha: await proof(BASE, "accessible") });
    expect(accessible.status, await accessible.clone().text()).toBe(201);
    expect(((await accessible.json()) as { user: { username: string } }).user.username).toBe(user.username);
  });

  test("cross-origin posts are refused, form posts included", async () => {
    const json = await post("/api/register", { ...newUser(), captcha: "ACDEF", altcha: await altcha() }, { origin: "https://evil.example" });
    expect(json.status).toBe(403);
    expect(await code(json)).toBe("cross_origin");
    const form = await post("/api/login", "login=a&password=b", {
      "content-type": "application/x-www-form-urlencoded",
      "sec-fetch-site": "cross-site",
    });
    expect(form.status).toBe(403);
    expect(await code(form)).toBe("cross_origin");
  });

  test("form posts redirect with 303", async () => {
    const { answer, cookie } = await captcha();
    const user = newUser();
    const form = async () => new URLSearchParams({ ...user, captcha: answer, altcha: await altcha() }).toString();
    const ok = await post("/api/register", await form(), { "content-type": "application/x-www-form-urlencoded", cookie: cookie! });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toMatch(/\/welcome$/);
    // The same form again with a fresh proof: refused on the captcha or the session, not on the proof.
    const again = await post("/api/register", await form(), { "content-type": "application/x-www-form-urlencoded", cookie: cookie! });
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toMatch(/\/signup\?error=(captcha_missing|session_unknown)/);
  });

  test("/api/me without a login is 401, /welcome redirects to /login, health is a real round trip", async () => {
    const me = await fetch(`${BASE}/api/me`);
    expect(me.status).toBe(401);
    expect(await code(me)).toBe("unauthenticated");
    const welcome = await fetch(`${BASE}/welcome`, { redirect: "manual" });
    expect([303, 307]).toContain(welcome.status);
    expect(welcome.headers.get("location")).toMatch(/\/login$/);
    const health = await fetch(`${BASE}/api/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { ok: boolean; store: string; checks: Record<string, { ok: boolean }> };
    expect(body).toMatchObject({ ok: true, store: STORE.replace(/-(tcp|rest|cluster)$/, "") });
    expect(body.checks.store!.ok && body.checks.database!.ok).toBe(true);
  });
});
