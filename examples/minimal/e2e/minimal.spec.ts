import { createHash } from "node:crypto";
import { expect, test, type APIResponse, type BrowserContext, type Page } from "@playwright/test";
import { createClient } from "redis";

/**
 * The example app through a browser: its page, route handler and server action, with the
 * session checked in the cookie jar and in Redis itself.
 */

const COOKIE = "minimal_sid";
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) throw new Error("REDIS_URL is not set: run this test through testing/example.ts, which starts the example and its Redis.");

const redis = createClient({ url: REDIS_URL });
test.beforeAll(async () => {
  await redis.connect();
});
test.afterAll(async () => {
  await redis.close();
});

/** The session as the example's Redis store holds it: one key per session, named by the token's hash. */
async function stored(token: string): Promise<{ data: Record<string, unknown> } | null> {
  const raw = await redis.get(`minimal:sess:${createHash("sha256").update(token).digest("hex")}`);
  return raw === null ? null : JSON.parse(raw);
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === COOKIE);
}

function setCookieOf(response: APIResponse): string | undefined {
  return response.headersArray().find((h) => h.name.toLowerCase() === "set-cookie" && h.value.startsWith(`${COOKIE}=`))?.value;
}

async function saveName(page: Page, name: string) {
  await page.goto("/");
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("greeting")).toHaveText(`Hello, ${name}.`);
}

test("the page renders, and reading it creates no session", async ({ page, context }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "@holdfast/session" })).toBeVisible();
  await expect(page.getByTestId("greeting")).toHaveText("Hello, stranger.");
  await expect(page.getByTestId("visits")).toHaveText("0");
  await expect(page.getByTestId("state")).toHaveText("Session: absent");
  expect(await sessionCookie(context)).toBeUndefined();
});

test("the route handler sets the cookie and counts across requests", async ({ page, context }) => {
  const first = await context.request.post("/api/counter");
  expect(first.status()).toBe(200);
  expect(await first.json()).toEqual({ visits: 1 });
  expect(first.headers()["cache-control"]).toBe("no-store");
  const header = setCookieOf(first);
  expect(header).toBeDefined();
  const token = header!.slice(COOKIE.length + 1).split(";")[0]!;
  expect(token).toMatch(TOKEN);

  const second = await context.request.post("/api/counter");
  expect(await second.json()).toEqual({ visits: 2 });
  // A read-only request writes nothing and leaves the cookie as it is.
  const read = await context.request.get("/api/counter");
  expect(await read.json()).toEqual({ visits: 2 });
  expect(setCookieOf(read)).toBeUndefined();

  expect((await sessionCookie(context))?.value).toBe(token);
  expect((await stored(token))?.data).toEqual({ visits: 2 });
  await page.goto("/");
  await expect(page.getByTestId("visits")).toHaveText("2");
  await expect(page.getByTestId("state")).toHaveText("Session: live");
});

test("the server action writes the session, and the page shows it after a reload", async ({ page, context }) => {
  await saveName(page, "Ada Lovelace");
  const cookie = await sessionCookie(context);
  expect(cookie?.value).toMatch(TOKEN);
  expect((await stored(cookie!.value))?.data).toEqual({ name: "Ada Lovelace" });

  await page.reload();
  await expect(page.getByTestId("greeting")).toHaveText("Hello, Ada Lovelace.");
  await expect(page.getByTestId("state")).toHaveText("Session: live");
  await expect(page.getByLabel("Your name")).toHaveValue("Ada Lovelace");

  // A second write through the action updates the same session rather than starting another.
  await saveName(page, "Ada");
  expect((await sessionCookie(context))?.value).toBe(cookie!.value);
  expect((await stored(cookie!.value))?.data).toEqual({ name: "Ada" });
  await page.reload();
  await expect(page.getByTestId("greeting")).toHaveText("Hello, Ada.");
});

test("a second browser context does not see the first one's session", async ({ browser }) => {
  const first = await browser.newContext({ baseURL: BASE_URL });
  const second = await browser.newContext({ baseURL: BASE_URL });
  try {
    const page = await first.newPage();
    await saveName(page, "Grace");
    expect(await (await first.request.post("/api/counter")).json()).toEqual({ visits: 1 });
    expect(await sessionCookie(first)).toBeDefined();

    const other = await second.newPage();
    await other.goto("/");
    await expect(other.getByTestId("greeting")).toHaveText("Hello, stranger.");
    await expect(other.getByTestId("visits")).toHaveText("0");
    await expect(other.getByTestId("state")).toHaveText("Session: absent");
    expect(await sessionCookie(second)).toBeUndefined();
    // Its own counter starts at one, and the first context's stays where it was.
    expect(await (await second.request.post("/api/counter")).json()).toEqual({ visits: 1 });
    expect((await sessionCookie(second))?.value).not.toBe((await sessionCookie(first))?.value);
    await page.reload();
    await expect(page.getByTestId("greeting")).toHaveText("Hello, Grace.");
    await expect(page.getByTestId("visits")).toHaveText("1");
  } finally {
    await first.close();
    await second.close();
  }
});

test("the session cookie is HttpOnly, SameSite=Lax, host-only on path /, and not Secure over http", async ({ page, context }) => {
  await saveName(page, "Lin");
  const cookie = await sessionCookie(context);
  expect(cookie).toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  expect(cookie!.sameSite).toBe("Lax");
  expect(cookie!.path).toBe("/");
  expect(cookie!.domain).toBe(new URL(BASE_URL).hostname);
  expect(cookie!.secure).toBe(false);
  expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000);
  // HttpOnly in fact: the page's scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain(COOKIE);

  // The route handler's Set-Cookie says the same.
  const header = setCookieOf(await context.request.post("/api/counter"));
  expect(header).toMatch(/; HttpOnly(;|$)/);
  expect(header).toMatch(/; SameSite=Lax(;|$)/);
  expect(header).not.toMatch(/; Secure(;|$)/);
});

test("forgetting ends the session: withSession() destroys it, clears the cookie and the Redis key", async ({ page, context }) => {
  await saveName(page, "Alan");
  const token = (await sessionCookie(context))!.value;
  expect(await stored(token)).not.toBeNull();

  await page.getByRole("button", { name: "Forget me" }).click();
  await expect(page.getByTestId("greeting")).toHaveText("Hello, stranger.");
  await expect.poll(async () => (await sessionCookie(context))?.value ?? null).toBeNull();
  expect(await stored(token)).toBeNull();

  // The old token, sent by hand, is no session any more.
  const replay = await page.request.get("/api/counter", { headers: { cookie: `${COOKIE}=${token}` } });
  expect(await replay.json()).toEqual({ visits: 0 });
});
