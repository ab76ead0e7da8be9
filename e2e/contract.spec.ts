import { expect, test, type Browser, type BrowserContext } from "@playwright/test";
import { proof } from "../testing/pow";
import { rawRequest } from "../testing/raw-http";
import { fillAccount, newUser, STORE, watchCaptcha } from "./helpers";

/**
 * The contract's edges through the built server (`next start` behind the proxy), as a client
 * that knows only docs/CONTRACT.md sends them: no body, no content type, every method, HEAD and
 * OPTIONS, JSON that is not an object, and plain form posts whose failures must keep personal
 * data out of the URL.
 */
const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const COOKIE = "holdfast_session";

const ENDPOINTS: Record<string, ("GET" | "POST")[]> = {
  "/api/captcha": ["GET"],
  "/api/register": ["POST"],
  "/api/login": ["POST"],
  "/api/logout": ["POST"],
  "/api/me": ["GET"],
  "/api/password": ["POST"],
  "/api/health": ["GET"],
  "/api/signup/draft": ["POST"],
  "/api/challenge": ["GET"],
};
const ALL = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

const cookieFrom = (response: Response, previous?: string) =>
  response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))?.split(";")[0] ?? previous;

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toContain("application/json");
  return ((await response.json()) as { error: { code: string; message: string; fields?: Record<string, string> } }).error;
}

/** A new browser context that holds a session cookie (`name=value`, as the API set it). */
async function contextWith(browser: Browser, cookie: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addCookies([{ name: COOKIE, value: cookie.split("=")[1]!, url: BASE }]);
  return context;
}

async function signUp(): Promise<{ cookie: string; user: ReturnType<typeof newUser> }> {
  const captcha = await fetch(`${BASE}/api/captcha`);
  const user = newUser();
  const response = await fetch(`${BASE}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: cookieFrom(captcha)! },
    body: JSON.stringify({ ...user, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(BASE) }),
  });
  expect(response.status).toBe(201);
  return { cookie: cookieFrom(response)!, user };
}

test.describe(`contract edges through the built server (${STORE} store)`, () => {
  test("every method an endpoint does not serve is 405 method_not_allowed JSON with Allow", async () => {
    for (const [path, served] of Object.entries(ENDPOINTS)) {
      for (const method of ALL.filter((m) => !served.includes(m as "GET" | "POST"))) {
        const response = await fetch(`${BASE}${path}`, { method, headers: { "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect((await errorOf(response)).code).toBe("method_not_allowed");
        const allow = response.headers.get("allow")!.split(", ");
        expect(allow).toEqual(expect.arrayContaining([...served, "OPTIONS"]));
        expect(allow).not.toContain(method);
      }
    }
  });

  test("HEAD and OPTIONS answer sensibly on every endpoint, never a 5xx", async () => {
    for (const [path, served] of Object.entries(ENDPOINTS)) {
      const options = await fetch(`${BASE}${path}`, { method: "OPTIONS" });
      expect(options.status, `OPTIONS ${path}`).toBe(204);
      expect(options.headers.get("allow")).toContain(served[0]);
      const head = await fetch(`${BASE}${path}`, { method: "HEAD" });
      expect(head.status, `HEAD ${path}`).toBeLessThan(500);
      if (served.includes("GET")) {
        const get = await fetch(`${BASE}${path}`);
        expect(head.status, `HEAD ${path} is GET without a body`).toBe(get.status);
        expect(await head.text()).toBe("");
      } else {
        expect(head.status).toBe(405);
        expect(head.headers.get("allow")).toContain("POST");
      }
    }
  });

  test("HEAD on the captcha and the challenge issues nothing: the captcha a person is reading still counts", async () => {
    const captcha = await fetch(`${BASE}/api/captcha`);
    const cookie = cookieFrom(captcha)!;
    for (const path of ["/api/captcha", "/api/challenge"]) {
      const head = await fetch(`${BASE}${path}`, { method: "HEAD", headers: { cookie } });
      expect(head.status, path).toBe(200);
      expect(head.headers.get("content-type"), path).toContain(path === "/api/captcha" ? "image/svg+xml" : "application/json");
      expect(head.headers.get("cache-control"), path).toBe("no-store");
      expect(head.headers.getSetCookie(), path).toEqual([]);
      expect(head.headers.get("x-captcha-answer"), path).toBeNull();
    }
    // Had HEAD drawn a new captcha, this answer would be `captcha_invalid` ("replaced").
    const response = await fetch(`${BASE}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ ...newUser(), captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(BASE) }),
    });
    expect(response.status).toBe(201);
  });

  test("through the proxy too: a body above its own 1 MiB limit and TRACE get the contract's answers", async () => {
    const huge = "a".repeat(1_100_000);
    const json = await fetch(`${BASE}/api/register`, { method: "POST", headers: { "content-type": "application/json" }, body: huge });
    expect(json.status).toBe(413);
    expect((await errorOf(json)).code).toBe("payload_too_large");
    expect(json.headers.get("x-frame-options")).toBe("DENY");
    const form = await fetch(`${BASE}/api/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `login=${huge}`, redirect: "manual" });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toBe("/login?error=payload_too_large");
    // The login form of the password page names where it returns to in its action: kept, as the app keeps it.
    const toPassword = await fetch(`${BASE}/api/login?next=%2Fpassword`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `login=${huge}`, redirect: "manual" });
    expect(toPassword.headers.get("location")).toBe("/login?error=payload_too_large&next=%2Fpassword");
    const elsewhere = await fetch(`${BASE}/api/login?next=https%3A%2F%2Fevil.example`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `login=${huge}`, redirect: "manual" });
    expect(elsewhere.headers.get("location")).toBe("/login?error=payload_too_large");
    const trace = await rawRequest(BASE, ["TRACE /api/me HTTP/1.1"]);
    expect(trace.status).toBe(405);
    expect(trace.headers).toContain("allow: get, head, options");
    expect(trace.body).toContain('"code":"method_not_allowed"');
    // HTTP/1.0 needs no Host header; the proxy still hands the app one, so the app answers.
    const old = await rawRequest(BASE, ["GET /api/me HTTP/1.0"], { host: false });
    expect(old.status).toBe(401);
    expect(old.body).toContain('"code":"unauthenticated"');
    expect(old.headers).toContain("x-frame-options: deny");
  });

  test("headers only Next's own router, middleware and server actions send change nothing a client is answered", async () => {
    const prefetch = { "x-middleware-prefetch": "1" };
    const me = await fetch(`${BASE}/api/me`, { headers: prefetch });
    expect(me.status).toBe(401);
    expect((await errorOf(me)).code).toBe("unauthenticated");
    expect((await fetch(`${BASE}/api/nope`, { headers: prefetch })).status).toBe(404);
    // A logout sent with it still logs out.
    const { cookie } = await signUp();
    const out = await fetch(`${BASE}/api/logout`, { method: "POST", headers: { ...prefetch, cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=;.*Max-Age=0`));
    if (STORE !== "cookie") expect((await fetch(`${BASE}/api/me`, { headers: { cookie } })).status).toBe(401);
    // The client router's headers mean nothing to an endpoint (Next would redirect it).
    const rsc = await fetch(`${BASE}/api/me`, { headers: { rsc: "1" }, redirect: "manual" });
    expect(rsc.status).toBe(401);
    // A router state no page can be rendered with is a 400, not a 500; a prefetch renders the page.
    for (const state of ["garbage", "%5B%5D", "null"]) {
      const page = await fetch(`${BASE}/signup`, { headers: { rsc: "1", "next-router-state-tree": state }, redirect: "manual" });
      expect(page.status, state).toBe(400);
      expect(page.headers.get("x-frame-options")).toBe("DENY");
    }
    expect((await fetch(`${BASE}/signup`, { headers: { rsc: "1", "next-router-prefetch": "1" } })).status).toBe(200);
    // Next's own paths look up no server action: a POST there is a 405, as on a page.
    const action = await fetch(`${BASE}/_next/foo`, { method: "POST", headers: { "next-action": "client text", "content-type": "text/plain" }, body: "x" });
    expect(action.status).toBe(405);
    // Next's redirect for a trailing slash carries the security headers too.
    const slash = await fetch(`${BASE}/api/me/`, { redirect: "manual" });
    expect(slash.status).toBe(308);
    expect(slash.headers.get("x-frame-options")).toBe("DENY");
    expect(slash.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  test("pages, which read the session, vary on Cookie and are not stored, as the API's session responses", async () => {
    const { cookie } = await signUp();
    for (const path of ["/signup", "/login", "/welcome", "/password", "/", "/no-such-page"]) {
      const page = await fetch(`${BASE}${path}`, { headers: { cookie }, redirect: "manual" });
      const vary = (page.headers.get("vary") ?? "").split(",").map((name) => name.trim().toLowerCase());
      expect(vary, path).toContain("cookie");
      expect(page.headers.get("cache-control") ?? "", path).toContain("no-store");
    }
    const me = await fetch(`${BASE}/api/me`, { headers: { cookie } });
    expect((me.headers.get("vary") ?? "").toLowerCase()).toContain("cookie");
  });

  test("the password page's client-side push to the login page (a real router state) still renders", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await contextWith(browser, cookie);
    const page = await context.newPage();
    await page.goto("/password");
    // The login goes (its cookie cleared, as a logout in another tab does); the change is then unauthenticated, and the page pushes to /login.
    await context.clearCookies();
    const pushed = page.waitForResponse((r) => r.url().includes("/login") && r.request().headers()["next-router-state-tree"] !== undefined);
    await page.getByLabel("Current password").fill(user.password);
    await page.getByLabel("New password").fill(`${user.password}-new`);
    await page.getByRole("button", { name: "Change password" }).click();
    expect((await pushed).status()).toBe(200);
    await expect(page).toHaveURL(/\/login\?next=%2Fpassword&error=session_expired$/);
    await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
    await context.close();
  });

  test("a session cookie left from an earlier cookie Domain, sent first, does not hide the live one: the sign-up goes through", async () => {
    // A browser keeps the cookie set before SESSION_COOKIE_DOMAIN changed, and sends it first (it is older).
    const stale = `${COOKIE}=${STORE === "cookie" ? "Fe26.2**stale" : "stale-token-from-the-old-domain"}`;
    const captcha = await fetch(`${BASE}/api/captcha`, { headers: { cookie: stale } });
    const fresh = cookieFrom(captcha)!;
    const user = newUser();
    const response = await fetch(`${BASE}/api/register`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: `${stale}; ${fresh}` },
      body: JSON.stringify({ ...user, captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(BASE) }),
    });
    expect(response.status, JSON.stringify(await response.clone().json())).toBe(201);
    const me = await fetch(`${BASE}/api/me`, { headers: { cookie: `${stale}; ${cookieFrom(response)}` } });
    expect(me.status).toBe(200);
  });

  test("a page chooses among two session cookies as the endpoints do: the live one, wherever the browser puts it", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await browser.newContext();
    // The live cookie on a longer path (sent first), a stale one on / (sent last, the value Next's cookie jar keeps).
    await context.addCookies([
      { name: COOKIE, value: cookie.split("=")[1]!, domain: new URL(BASE).hostname, path: "/welcome" },
      { name: COOKIE, value: STORE === "cookie" ? "Fe26.2**stale" : "stale-token", domain: new URL(BASE).hostname, path: "/" },
    ]);
    const page = await context.newPage();
    await page.goto("/welcome");
    await expect(page).toHaveURL(/\/welcome$/);
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
    await context.close();
  });

  test("no page can be framed by another site, and no response is sniffed as another type", async () => {
    for (const path of ["/signup", "/login", "/welcome", "/api/captcha", "/api/me"]) {
      const response = await fetch(`${BASE}${path}`, { redirect: "manual" });
      expect(response.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
  });

  test("Next's image optimizer answers nothing: 404, never a 500, and no captcha drawn for the url it names", async () => {
    for (const url of ["/api/%ff", "/api/captcha", "/welcome", "/api/someone@example.test"]) {
      const r = await fetch(`${BASE}/_next/image?url=${encodeURIComponent(url)}&w=64&q=75`, { headers: { "sec-fetch-site": "cross-site" } });
      expect(r.status, url).toBe(404);
      expect(r.headers.get("set-cookie"), url).toBeNull();
    }
  });

  test("a path under /api that names no endpoint, /api itself included, is 404 not_found JSON, for any method", async () => {
    for (const path of ["/api/no-such-endpoint", "/api"]) {
      for (const method of ALL) {
        const response = await fetch(`${BASE}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(404);
        expect((await errorOf(response)).code).toBe("not_found");
      }
    }
  });

  test("an error code in a page's URL that the page has no words for shows nothing a link chose, whatever its name, never a 500", async () => {
    for (const page of ["/signup", "/login"]) {
      for (const code of ["__proto__", "constructor", "to_string", "call_support_now"]) {
        const response = await fetch(`${BASE}${page}?error=${code}&fields=username.__proto__`);
        expect(response.status, `${page}?error=${code}`).toBe(200);
        const html = await response.text();
        expect(html, `${page}?error=${code}`).not.toContain('data-testid="form-error"');
        expect(html).not.toContain(`Something went wrong (${code})`);
      }
      // A code it knows is shown.
      expect(await (await fetch(`${BASE}${page}?error=rate_limited`)).text()).toContain('data-testid="form-error"');
    }
  });

  test("logout with no body and no content type is 204 and ends the session", async () => {
    const { cookie } = await signUp();
    // What fetch(url, { method: "POST" }) sends: no body, no Content-Type.
    const logout = await fetch(`${BASE}/api/logout`, { method: "POST", headers: { cookie } });
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    const me = await fetch(`${BASE}/api/me`, { headers: { cookie } });
    // A sealed cookie cannot be revoked on the server; every other store forgets it.
    expect(me.status).toBe(STORE === "cookie" ? 200 : 401);
  });

  test("logout as curl -X POST sends it (no body, no length, no type): 204, and the session is gone", async () => {
    const { cookie } = await signUp();
    const answer = await rawRequest(BASE, ["POST /api/logout HTTP/1.1", "User-Agent: curl/8", "Accept: */*", `Cookie: ${cookie}`]);
    expect(answer.status).toBe(204);
    expect((await fetch(`${BASE}/api/me`, { headers: { cookie } })).status).toBe(STORE === "cookie" ? 200 : 401);
  });

  test("logout with {}, with an empty form, and with no body under any content type: 204 (or 303 for the form)", async () => {
    for (const init of [
      { body: "{}", headers: { "content-type": "application/json" } },
      { body: "", headers: { "content-type": "application/x-www-form-urlencoded" } },
      // No body, whatever the type says: what fetch(url, { method: "POST", headers: { "Content-Type":
      // "application/json" } }) sends, and what fetch with body "" sends (text/plain).
      { body: undefined, headers: { "content-type": "application/json" } },
      { body: "", headers: { "content-type": "text/plain;charset=UTF-8" } },
    ]) {
      const { cookie } = await signUp();
      const logout = await fetch(`${BASE}/api/logout`, { method: "POST", body: init.body, headers: { ...init.headers, cookie }, redirect: "manual" });
      expect([204, 303], JSON.stringify(init)).toContain(logout.status);
      expect(logout.headers.getSetCookie()[0], JSON.stringify(init)).toMatch(/Max-Age=0/);
      if (STORE !== "cookie") expect((await fetch(`${BASE}/api/me`, { headers: { cookie } })).status).toBe(401);
    }
  });

  test("a POST that needs a body, sent with none, is 415 with its code; text without a type is 415 on logout too", async () => {
    for (const path of ["/api/register", "/api/login", "/api/password", "/api/signup/draft"]) {
      const response = await fetch(`${BASE}${path}`, { method: "POST" });
      expect(response.status, path).toBe(415);
      expect((await errorOf(response)).code).toBe("unsupported_media_type");
    }
    const text = await fetch(`${BASE}/api/logout`, { method: "POST", body: "everywhere=1", headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
  });

  test("JSON that is not an object is invalid_input with fields, on every POST endpoint", async () => {
    for (const path of ["/api/register", "/api/login", "/api/logout", "/api/password"]) {
      for (const body of ["[]", '"x"', "1", "null", "[1,2]", "true"]) {
        const response = await fetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
        expect(response.status, `${path} ${body}`).toBe(400);
        const error = await errorOf(response);
        expect(error.code).toBe("invalid_input");
        expect(error.fields).toEqual({ body: "invalid_format" });
      }
    }
  });

  test("a seal or token with characters appended is no session", async () => {
    const { cookie } = await signUp();
    expect((await fetch(`${BASE}/api/me`, { headers: { cookie } })).status).toBe(200);
    for (const suffix of ["x", "xx", "A", "0"]) {
      const me = await fetch(`${BASE}/api/me`, { headers: { cookie: `${cookie}${suffix}` } });
      expect(me.status, suffix).toBe(401);
    }
  });

  test("without JavaScript the sign-up page says JavaScript is needed, keeps what was typed out of the URL, and says the password was cleared", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const captcha = watchCaptcha(page);
    const user = newUser();
    await page.goto("/signup");
    await expect(page.getByRole("note")).toContainText("needs JavaScript");
    await fillAccount(page, user);
    await page.getByLabel("Captcha", { exact: true }).fill(await captcha.answer());
    await page.getByRole("button", { name: "Create account" }).click();
    // A plain form post carries no proof of work: refused before the captcha is spent, and said plainly.
    await expect(page).toHaveURL(/\/signup\?error=invalid_input&fields=altcha\.required$/);
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "javascript_required");
    // Said once (the banner, not the note as well), and no field is focused as if it could help.
    await expect(page.getByText(/needs JavaScript/)).toHaveCount(1);
    await expect(page.getByLabel("Captcha", { exact: true })).not.toBeFocused();
    const url = page.url();
    for (const value of [user.username, user.email, user.email.toLowerCase(), encodeURIComponent(user.email), user.password]) {
      expect(url).not.toContain(value);
    }
    await expect(page.getByLabel("Username", { exact: true })).toHaveValue(user.username);
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
    await expect(page.getByLabel("Password")).toHaveValue("");
    await expect(page.getByText(/password you typed was not kept/)).toBeVisible();

    // "New captcha" without JavaScript keeps what was typed too, and still puts none of it in the URL.
    await page.getByLabel("Username", { exact: true }).fill(`${user.username}x`);
    await page.getByRole("button", { name: "New captcha" }).click();
    await expect(page).toHaveURL(/\/signup\?captcha=new$/);
    await expect(page.getByLabel("Username", { exact: true })).toHaveValue(`${user.username}x`);
    await expect(page.getByLabel("Email")).toHaveValue(user.email);
    expect(page.url()).not.toContain(user.username);
    await context.close();
  });

  test("a failed login without JavaScript keeps the login out of the URL", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto("/login");
    await page.getByLabel("Username or email").fill("someone@example.test");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/login\?error=invalid_credentials$/);
    expect(page.url()).not.toContain("someone");
    await expect(page.getByLabel("Username or email")).toHaveValue("someone@example.test");
    await expect(page.getByText(/password you typed was not kept/)).toBeVisible();
    // The person must act on the password: that is where the page starts.
    await expect(page.getByLabel("Password")).toBeFocused();
    await context.close();
  });

  test("the login and sign-up pages say who is already logged in, with the way to the account", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await contextWith(browser, cookie);
    const page = await context.newPage();
    for (const path of ["/login", "/signup"]) {
      await page.goto(path);
      await expect(page.getByTestId("logged-in-note")).toContainText(`already logged in as ${user.username}`);
      await expect(page.getByTestId("logged-in-note").getByRole("link", { name: "Go to your account" })).toHaveAttribute("href", "/welcome");
    }
    // The sign-up form switches this browser to the account it creates, and its note says so.
    await expect(page.getByTestId("logged-in-note")).toContainText("this browser then switches to it");
    // The site's address takes someone logged in to their account, anyone else to sign-up.
    await page.goto("/");
    await expect(page).toHaveURL(/\/welcome$/);
    const anonymous = await browser.newPage();
    await anonymous.goto("/");
    await expect(anonymous).toHaveURL(/\/signup$/);
    await anonymous.goto("/login");
    await expect(anonymous.getByTestId("logged-in-note")).toHaveCount(0);
    // The site has an icon, named by every page.
    const icon = await anonymous.locator('link[rel="icon"]').first().getAttribute("href");
    expect(icon).toBeTruthy();
    const served = await fetch(new URL(icon!, BASE));
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toContain("image/svg+xml");
    await anonymous.close();
    await context.close();
  });

  test("after a password change the welcome page says what happened to other sessions, as the store can do it", async ({ browser }) => {
    const { cookie, user } = await signUp();
    // A link to the notice's address says nothing before a change: only the session's own record does.
    const before = await contextWith(browser, cookie);
    const linked = await before.newPage();
    await linked.goto("/welcome?password=changed");
    await expect(linked.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
    await expect(linked.getByTestId("password-changed")).toHaveCount(0);
    await before.close();
    // Another browser logged in as the same user before the change.
    const other = await fetch(`${BASE}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: user.username, password: user.password }) });
    const otherCookie = cookieFrom(other)!;
    const changed = await fetch(`${BASE}/api/password`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ currentPassword: user.password, newPassword: `${user.password}-new` }).toString(),
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.get("location")).toBe("/welcome?password=changed");
    const context = await browser.newContext();
    await context.addCookies([{ name: COOKIE, value: cookieFrom(changed, cookie)!.split("=")[1]!, url: BASE }]);
    const page = await context.newPage();
    await page.goto("/welcome?password=changed");
    const notice = page.getByTestId("password-changed");
    const otherStillIn = (await fetch(`${BASE}/api/me`, { headers: { cookie: otherCookie } })).status === 200;
    if (STORE === "cookie") {
      await expect(notice).toContainText("stay logged in until they expire");
      expect(otherStillIn).toBe(true);
    } else {
      await expect(notice).toContainText("were ended");
      expect(otherStillIn).toBe(false);
    }
    await context.close();
  });

  test("the welcome page leads to a password change: a wrong current password is named under its field, the right one ends on the notice", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await contextWith(browser, cookie);
    const page = await context.newPage();
    await page.goto("/welcome");
    await page.getByRole("link", { name: "Change password" }).click();
    await expect(page).toHaveURL(/\/password$/);
    await page.getByLabel("Current password").fill("not-the-password");
    await page.getByLabel("New password").fill(`${user.password}-new`);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("error-currentPassword")).toContainText("That is not your current password.");
    await expect(page.getByLabel("Current password")).toBeFocused();
    await page.getByLabel("Current password").fill(user.password);
    await page.getByLabel("New password").fill(`${user.password}-new`);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("password-changed")).toBeVisible();
    // Said once: the address forgets it, so a reload or a bookmark does not say it again.
    await expect(page).toHaveURL(/\/welcome$/);
    await page.reload();
    await expect(page.getByRole("heading", { name: `Welcome, ${user.username}` })).toBeVisible();
    await expect(page.getByTestId("password-changed")).toHaveCount(0);

    // Without JavaScript a refused change lands back on /password, its field named there.
    const session = (await context.cookies()).find((c) => c.name === COOKIE)!;
    const plain = await browser.newContext({ javaScriptEnabled: false });
    await plain.addCookies([{ name: COOKIE, value: session.value, url: BASE }]);
    const noJs = await plain.newPage();
    await noJs.goto("/password");
    await noJs.getByLabel("Current password").fill(`${user.password}-new`);
    await noJs.getByLabel("New password").fill("short");
    await noJs.getByRole("button", { name: "Change password" }).click();
    await expect(noJs).toHaveURL(/\/password\?error=invalid_input&fields=newPassword\.too_short$/);
    await expect(noJs.getByTestId("error-newPassword")).toContainText("Use at least 8 characters.");
    await expect(noJs.getByText("the passwords you typed were not kept")).toBeVisible();
    // The current password again as the new one: named under its field.
    await noJs.getByLabel("Current password").fill(`${user.password}-new`);
    await noJs.getByLabel("New password").fill(`${user.password}-new`);
    await noJs.getByRole("button", { name: "Change password" }).click();
    await expect(noJs.getByTestId("error-newPassword")).toContainText("the same as the current password you typed");
    await plain.close();
    await context.close();
  });

  test("the password form keeps what no answer rejected; after a change that got no answer, a refused current password says it may have changed", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await contextWith(browser, cookie);
    const page = await context.newPage();
    await page.goto("/password");
    const current = page.getByLabel("Current password");
    const fresh = page.getByLabel("New password");
    // A new password too short: the right current one stays, the rejected one is emptied.
    await current.fill(user.password);
    await fresh.fill("short");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("error-newPassword")).toContainText("Use at least 8 characters.");
    await expect(current).toHaveValue(user.password);
    await expect(fresh).toHaveValue("");
    // The change reaches the server, and its answer never comes back: both are kept to send again.
    await page.route("**/api/password", async (route) => {
      await route.fetch();
      await route.abort("connectionreset");
    });
    await fresh.fill(`${user.password}-new`);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "network_error");
    await expect(current).toHaveValue(user.password);
    await expect(fresh).toHaveValue(`${user.password}-new`);
    // Sent again, the old password is no longer the current one: the page says why that may be.
    await page.unroute("**/api/password");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("error-currentPassword")).toContainText("it may have changed your password");
    await expect(page.getByTestId("form-error")).toHaveCount(0);
    await expect(current).toHaveValue("");
    await current.fill(`${user.password}-new`);
    await fresh.fill(`${user.password}-newer`);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("password-changed")).toBeVisible();
    await context.close();
  });

  test("a logout says so on the login page, as far as it reached, with and without JavaScript, and only once", async ({ browser }) => {
    for (const javaScriptEnabled of [true, false]) {
      const { cookie } = await signUp();
      const context = await browser.newContext({ javaScriptEnabled });
      await context.addCookies([{ name: COOKIE, value: cookie.split("=")[1]!, url: BASE }]);
      const page = await context.newPage();
      await page.goto("/welcome");
      const everywhere = STORE !== "cookie";
      await page.getByRole("button", { name: everywhere ? "Log out everywhere" : "Log out", exact: true }).click();
      await expect(page.getByTestId("logged-out"), `JavaScript ${javaScriptEnabled}`).toHaveText(
        everywhere ? "You are logged out here, and your sessions on every other browser and device were ended." : "You are logged out in this browser.",
      );
      await expect(page).toHaveTitle(/^Logged out: Log in/);
      if (javaScriptEnabled) {
        await expect(page).toHaveURL(/\/login$/);
        // An attempt here that fails says its own thing; the logout is no longer the news.
        await page.getByLabel("Username or email").fill(`nobody_${Date.now()}`);
        await page.getByLabel("Password").fill("wrong-password");
        await page.getByRole("button", { name: "Log in" }).click();
        await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "invalid_credentials");
        await expect(page.getByTestId("logged-out")).toHaveCount(0);
        // Nor does it come back while the next attempt is checked.
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => (release = resolve));
        await page.route("**/api/login", async (route) => {
          await held;
          await route.continue();
        });
        await page.getByLabel("Password").fill("wrong-password");
        await page.getByRole("button", { name: "Log in" }).click();
        await expect(page.getByTestId("form-error")).toHaveCount(0);
        await expect(page.getByTestId("logged-out")).toHaveCount(0);
        release();
        await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "invalid_credentials");
        await page.unroute("**/api/login");
        await page.reload();
        await expect(page.getByLabel("Username or email")).toBeVisible();
        await expect(page.getByTestId("logged-out")).toHaveCount(0);
      } else {
        await expect(page).toHaveURL(/\/login\?out=(here|everywhere)$/);
      }
      await context.close();
    }
    // An address alone claims nothing the store cannot do: the cookie store never ends other sessions.
    const page = await browser.newPage();
    await page.goto("/login?out=everywhere");
    await expect(page.getByTestId("logged-out")).toHaveText(
      STORE === "cookie" ? "You are logged out in this browser." : "You are logged out here, and your sessions on every other browser and device were ended.",
    );
    await page.close();
  });

  test("logged in again (in another tab), the login page no longer says the session ended; its way on follows next", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const context = await contextWith(browser, cookie);
    const page = await context.newPage();
    await page.goto("/login?next=%2Fpassword&error=session_expired");
    await expect(page.getByTestId("logged-in-note")).toContainText(`You are already logged in as ${user.username}`);
    await expect(page.getByTestId("form-error")).toHaveCount(0);
    await expect(page).toHaveTitle(/^Log in/);
    await expect(page.getByTestId("logged-in-note").getByRole("link")).toHaveAttribute("href", "/password");
    // A refusal of a login that was tried here still shows: it is about that try.
    await page.goto("/login?error=invalid_credentials");
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "invalid_credentials");
    await context.close();
  });

  test("a login whose cookie the browser refuses says so, rather than landing back on an empty login page", async ({ browser }) => {
    const { user } = await signUp();
    const context = await browser.newContext();
    const page = await context.newPage();
    // A browser that blocks cookies: the login succeeds on the server, and its cookie never
    // reaches the browser (sent from here, so the context's cookie jar never sees it).
    await page.route("**/api/login", async (route) => {
      const response = await fetch(`${BASE}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: route.request().postData() ?? "" });
      expect(response.status).toBe(200);
      await route.fulfill({ status: response.status, contentType: "application/json", body: await response.text() });
    });
    await page.goto("/login");
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "login_not_kept");
    await expect(page.getByTestId("form-error")).toContainText("Allow cookies for this site");
    await expect(page).toHaveURL(/\/login$/);
    await context.close();
  });

  test("without JavaScript too, a login whose cookie the browser refuses says so", async ({ browser }) => {
    const { user } = await signUp();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    // The login's 303 reaches the browser without its cookie: the post is sent from here (the
    // context's own fetch would keep the cookie in its jar), and only its Location goes back.
    await page.route("**/api/login", async (route) => {
      const response = await fetch(`${BASE}/api/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: route.request().postData() ?? "", redirect: "manual" });
      expect(response.status).toBe(303);
      await route.fulfill({ status: 303, headers: { location: response.headers.get("location")! } });
    });
    await page.goto("/login");
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/login\?error=login_not_kept$/);
    await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "login_not_kept");
    await context.close();
  });

  test("a page that needs the login, reached with a session that ended, says so and comes back after the login", async ({ browser }) => {
    const { user } = await signUp();
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled });
      // A cookie naming no live session: timed out, or ended from another device.
      await context.addCookies([{ name: COOKIE, value: "ended-session-token-000000000000000000000000", url: BASE }]);
      const page = await context.newPage();
      await page.goto("/password");
      await expect(page).toHaveURL(/\/login\?next=%2Fpassword&error=session_expired$/);
      await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "session_expired");
      // A wrong password first: the page it returns to survives the refusal.
      await page.getByLabel("Username or email").fill(user.username);
      await page.getByLabel("Password").fill("not-the-password");
      await page.getByRole("button", { name: "Log in" }).click();
      await expect(page.getByTestId("form-error")).toHaveAttribute("data-code", "invalid_credentials");
      // The address follows: the earlier "session ended" is gone from it (a reload would show it again).
      await expect(page).toHaveURL(javaScriptEnabled ? /\/login\?next=%2Fpassword$/ : /\/login\?error=invalid_credentials&next=%2Fpassword$/);
      await page.getByLabel("Username or email").fill(user.username);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Log in" }).click();
      // The mark of a plain login post is gone from the address once logged in (a bookmark of it
      // would read as a refused cookie later).
      await expect(page, `JavaScript ${javaScriptEnabled ? "on" : "off"}`).toHaveURL(/\/password$/);
      await expect(page.getByRole("heading", { name: "Change your password" })).toBeVisible();
      await context.close();
    }
    // With no session at all there is nothing to explain; a login link from elsewhere can only
    // ever return to one of the site's own pages.
    const plain = await fetch(`${BASE}/welcome`, { redirect: "manual" });
    expect(plain.headers.get("location")).toBe("/login");
    const away = await fetch(`${BASE}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ login: user.username, password: user.password, next: "https://elsewhere.example/" }).toString(),
      redirect: "manual",
    });
    expect(away.headers.get("location")).toBe("/welcome?from=login");
  });

  test("a rate limit says how long to wait, from Retry-After, with and without JavaScript", async ({ page }) => {
    await page.route("**/api/login", (route) =>
      route.fulfill({ status: 429, headers: { "content-type": "application/json", "retry-after": "170" }, body: JSON.stringify({ error: { code: "rate_limited", message: "Too many requests." } }) }),
    );
    await page.goto("/login");
    await page.getByLabel("Username or email").fill("someone");
    await page.getByLabel("Password").fill("some-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("form-error")).toContainText("Please wait about 3 minutes, then try again.");
    // A plain form post's 303 carries the wait as retry=<seconds>.
    await page.goto("/signup?error=rate_limited&retry=1800");
    await expect(page.getByTestId("form-error")).toContainText("Please wait about 30 minutes, then try again.");
    await page.goto("/login?error=rate_limited&retry=45");
    await expect(page.getByTestId("form-error")).toContainText("Please wait 45 seconds, then try again.");
  });

  test("'Log out everywhere' from a tab whose session already ended says so instead of claiming it worked", async ({ browser }) => {
    const { cookie } = await signUp();
    const context = await contextWith(browser, cookie);
    const first = await context.newPage();
    const second = await context.newPage();
    await first.goto("/welcome");
    await second.goto("/welcome");
    await first.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(first.getByTestId("logged-out")).toHaveText("You are logged out in this browser.");
    await expect(first).toHaveURL(/\/login$/);
    if (STORE === "cookie") {
      // Not offered where it cannot be kept (a sealed cookie cannot be ended elsewhere).
      await expect(second.getByRole("button", { name: "Log out everywhere" })).toHaveCount(0);
      return await context.close();
    }
    await second.getByRole("button", { name: "Log out everywhere" }).click();
    await expect(second).toHaveURL(/\/login\?error=session_ended$/);
    await expect(second.getByTestId("form-error")).toContainText("were not ended");
    await context.close();
  });

  test("the welcome page offers 'Log out everywhere' only where the store can end other sessions", async ({ browser }) => {
    const { cookie, user } = await signUp();
    const second = await contextWith(browser, cookie);
    const other = await browser.newContext();
    const page = await other.newPage();
    await page.goto("/login");
    await page.getByLabel("Username or email").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    // A click before the page is live posts the form plainly, which lands with `from=login`.
    await expect(page).toHaveURL(/\/welcome(\?from=login)?$/);
    const everywhere = page.getByRole("button", { name: "Log out everywhere" });
    if (STORE === "cookie") {
      await expect(everywhere).toHaveCount(0);
      await expect(page.getByTestId("logout-scope")).toContainText("any copy of this one, last until they expire");
      // Nor does the sign-up page promise sessions the store cannot end.
      const signup = await page.context().newPage();
      await signup.goto("/signup");
      await expect(signup.getByText("One account, one password.", { exact: true })).toBeVisible();
      await signup.close();
    } else {
      await everywhere.click();
      await expect(page).toHaveURL(/\/login/);
      // The promise held: the first browser's session is over too.
      const check = await second.newPage();
      await check.goto("/welcome");
      // Sent to log in, and told why: its session was ended from elsewhere.
      await expect(check).toHaveURL(/\/login\?error=session_expired$/);
    }
    await second.close();
    await other.close();
  });
});
