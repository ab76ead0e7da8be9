import { randomBytes } from "node:crypto";
import { createCookieStore } from "@holdfast/session/stores/cookie";
import { COOKIE, type Probe } from "./http";

/** Parts 2 and 7: forged and damaged session cookies, and session fixation. */

export interface Account {
  id: string;
  username: string;
  email: string;
  password: string;
  /** The logged-in session's cookie pair. */
  cookie: string;
}

export function newUser() {
  const id = randomBytes(5).toString("hex");
  return { username: `sec_${id}`, email: `Sec.${id}@Example.test`, password: `pw-${id}-secret-enough` };
}

/** A registration through the proof of work and the captcha, as a browser would do it. */
export async function signUp(probe: Probe, label: string): Promise<Account | null> {
  const proof = await probe.proof(`${label}: challenge`);
  const captcha = await probe.captcha(`${label}: captcha`);
  if (!captcha || !proof) return null;
  const user = newUser();
  probe.secret(user.password);
  const reply = await probe.post(`${label}: register`, "/api/register", { ...user, captcha: captcha.answer, altcha: proof.payload }, { cookie: captcha.cookie });
  if (!probe.expect(`${label}: register`, reply, { status: 201 }) || !reply?.cookie) return null;
  return { ...user, id: (reply.json as { user: { id: string } }).user.id, cookie: reply.cookie };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function flip(value: string, at: number): string {
  const i = Math.max(0, Math.min(value.length - 1, at));
  const c = value[i]!;
  const k = ALNUM.indexOf(c);
  const next = k === -1 ? "A" : ALNUM[(k + 17) % ALNUM.length]!;
  return value.slice(0, i) + next + value.slice(i + 1);
}

/** Damaged copies of one cookie value, as whole Cookie headers. */
function damaged(value: string): [string, string][] {
  const pair = (v: string) => `${COOKIE}=${v}`;
  const n = value.length;
  const out: [string, string][] = [];
  for (const at of [0, 1, 7, Math.floor(n / 3), Math.floor(n / 2), n - 8, n - 3, n - 1]) out.push([`flipped at ${at}`, pair(flip(value, at))]);
  for (const keep of [n - 1, n - 10, Math.floor(n / 2), 20, 1]) out.push([`truncated to ${keep}`, pair(value.slice(0, keep))]);
  out.push(["in upper case", pair(value.toUpperCase())], ["of 5000 random characters", pair(randomBytes(3750).toString("base64url"))]);
  // Stay well under the proxy's header limit, so the app is what answers.
  const copies = Math.max(2, Math.min(20, Math.floor(6000 / (n + 20))));
  out.push([`${copies} bad cookies of the same name`, Array.from({ length: copies }, (_, i) => pair(flip(value, i))).join("; ")]);
  return out;
}

/**
 * The value with bytes appended. A token has one spelling: a server-side token with a tail names
 * no session, and so does a seal with a tail (iron-session itself would read `~2x` as version 2).
 */
function appended(value: string): [string, string][] {
  const pair = (v: string) => `${COOKIE}=${v}`;
  return [
    ["with a character appended", pair(`${value}A`)],
    ["with x appended", pair(`${value}x`)],
    ["with xx appended", pair(`${value}xx`)],
    ["with 0 appended", pair(`${value}0`)],
    ["with == appended", pair(`${value}==`)],
    ["with ~x appended", pair(`${value}~x`)],
  ];
}

/** Cookies made without the server's secret: a foreign seal for the cookie store, random tokens for server stores. */
async function forged(store: string, userId: string): Promise<[string, string][]> {
  const pair = (v: string) => `${COOKIE}=${v}`;
  const out: [string, string][] = [
    ["a random 43-character token", pair(randomBytes(32).toString("base64url"))],
    ["the user id as token", pair(userId)],
    ["a JSON session", pair(encodeURIComponent(JSON.stringify({ userId, data: {} })))],
    ["a base64 JSON session", pair(Buffer.from(JSON.stringify({ userId, createdAt: Date.now(), lastActiveAt: Date.now(), data: {} })).toString("base64url"))],
    ["an iron-looking garbage seal", pair(`Fe26.2**${randomBytes(16).toString("hex")}*${randomBytes(8).toString("base64url")}*${randomBytes(16).toString("base64url")}**${randomBytes(8).toString("base64url")}*${randomBytes(32).toString("base64url")}~2`)],
  ];
  if (store === "cookie") {
    const foreign = createCookieStore({ secrets: [`another-site-secret-${randomBytes(16).toString("hex")}`], cookieName: COOKIE, ttlSeconds: 3600 });
    const now = Date.now();
    const sealed = await foreign.create({ data: {}, userId, createdAt: now, lastActiveAt: now }, now + 3_600_000);
    out.push(["sealed with a foreign secret, logged in as a real user", pair(sealed)]);
  }
  return out;
}

export async function cookies(probe: Probe, store: string, log: (line: string) => void, directUrl?: string): Promise<void> {
  const account = await signUp(probe, "cookies setup");
  const pending = await probe.captcha("cookies: pending captcha");
  if (!account || !pending) return;
  const loggedIn = account.cookie.slice(COOKIE.length + 1);
  const anonymous = pending.cookie.slice(COOKIE.length + 1);
  let tried = 0;
  const meRefused = async (what: string, cookie: string, base?: string) => {
    tried++;
    probe.expect(`cookies: /api/me with a cookie ${what}`, await probe.send(`me ${what}`, "/api/me", { cookie, base }), { status: 401, codes: ["unauthenticated"] });
  };
  // Each attempt with its own valid proof, so that the cookie is what is refused.
  const registerRefused = async (what: string, cookie: string, codes: string[], base?: string) => {
    tried++;
    const altcha = await probe.altcha(`register ${what}: challenge`);
    const reply = await probe.post(`register ${what}`, "/api/register", { ...newUser(), captcha: pending.answer, altcha }, { cookie, base });
    probe.expect(`cookies: register with the right answer and a cookie ${what}`, reply, { status: 400, codes });
  };

  for (const [what, cookie] of [...damaged(loggedIn), ...(await forged(store, account.id))]) await meRefused(what, cookie);
  for (const [what, cookie] of [...damaged(anonymous), ...(await forged(store, account.id))]) await registerRefused(what, cookie, ["session_unknown"]);
  for (const [what, cookie] of appended(loggedIn)) await meRefused(what, cookie);
  for (const [what, cookie] of appended(anonymous)) await registerRefused(what, cookie, ["session_unknown"]);
  await meRefused("with an empty value", `${COOKIE}=`);
  await registerRefused("with an empty value", `${COOKIE}=`, ["no_session"]);
  await registerRefused("under another name", `HOLDFAST_SESSION=${anonymous}`, ["no_session"]);

  // Controls: the genuine cookies still work, so every refusal above was about the damage.
  probe.expect("cookies: control /api/me with the genuine cookie", await probe.send("me control", "/api/me", { cookie: account.cookie }), { status: 200 });
  const altcha = await probe.altcha("register control: challenge");
  probe.expect("cookies: control register with the genuine pending cookie", await probe.post("register control", "/api/register", { ...newUser(), captcha: pending.answer, altcha }, { cookie: pending.cookie }), { status: 201 });

  // A live cookie among 8.4 KiB of others is read like any other: a browser that carries many
  // cookies is logged in, and its logout ends the session. The test cluster's nginx passes
  // headers up to 16 KiB, but a proxy may refuse first; the app is also asked directly.
  const padding = `; pad=${"p".repeat(8400)}`;
  const viaProxy = await probe.send("me with a 8.4 KiB Cookie header", "/api/me", { cookie: `${account.cookie}${padding}` });
  probe.expect("cookies: /api/me with a live cookie in a Cookie header above 8 KiB, through the proxy", viaProxy, { status: 200, proxy: [400, 431] });
  if (directUrl) {
    const me = await probe.send("me with a 8.4 KiB Cookie header (straight to the instance)", "/api/me", { cookie: `${account.cookie}${padding}`, base: directUrl });
    probe.expect("cookies: /api/me with a live cookie in a Cookie header above 8 KiB (straight to the instance)", me, { status: 200 });
    const out = await probe.post("logout with a 8.4 KiB Cookie header (straight to the instance)", "/api/logout", {}, { cookie: `${account.cookie}${padding}`, base: directUrl });
    if (probe.expect("cookies: logout with a live cookie in a Cookie header above 8 KiB (straight to the instance)", out, { status: 204 }) && !out?.cleared) {
      probe.fail("cookies: logout with a Cookie header above 8 KiB sent no clearing cookie");
    }
    // Where the store can revoke, that logout ended the session itself.
    if (store !== "cookie") await meRefused("that a logout sent among 8.4 KiB of other cookies ended", account.cookie);
  } else {
    probe.fail("cookies: no instance URL was given, so the Cookie header above 8 KiB never reached the app");
  }
  const proxied = viaProxy?.fromApp ? `the app answered ${viaProxy.status}` : `nginx answered ${viaProxy?.status ?? "nothing"} itself`;
  log(`cookies: ${tried} damaged, forged, empty or oversized cookies tried, then both genuine cookies accepted; a Cookie header above 8 KiB: read, and its logout ended the session; ${proxied} through the proxy`);
}

/** Part 7: a cookie held before login is worthless after it; cross-site logout cannot end a session. */
export async function fixation(probe: Probe, log: (line: string) => void): Promise<void> {
  const account = await signUp(probe, "fixation setup");
  const before = await probe.captcha("fixation: anonymous session");
  if (!account || !before) return;
  const login = await probe.post("fixation: login", "/api/login", { login: account.username, password: account.password }, { cookie: before.cookie });
  if (!probe.expect("fixation: login with an anonymous cookie", login, { status: 200 })) return;
  const after = login!.cookie;
  if (!after || after === before.cookie) probe.fail("fixation: login did not issue a new session cookie");
  probe.expect("fixation: /api/me with the pre-login cookie", await probe.send("fixation old", "/api/me", { cookie: before.cookie }), { status: 401, codes: ["unauthenticated"] });
  if (after) {
    probe.expect("fixation: /api/me with the post-login cookie", await probe.send("fixation new", "/api/me", { cookie: after }), { status: 200 });
    const csrf = await probe.post("fixation: cross-site logout", "/api/logout", {}, { cookie: after, headers: { origin: "https://evil.example" } });
    probe.expect("fixation: logout from another site", csrf, { status: 403, codes: ["cross_origin"] });
    if (csrf?.cleared) probe.fail("fixation: a refused cross-site logout cleared the cookie");
    probe.expect("fixation: /api/me after the refused logout", await probe.send("fixation still", "/api/me", { cookie: after }), { status: 200 });
  }
  log("session fixation: the pre-login cookie is refused after login, the new one works, a cross-site logout changes nothing");
}
