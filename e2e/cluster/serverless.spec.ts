import { expect, test } from "@playwright/test";
import { randomBytes } from "node:crypto";
import { startCluster } from "../../testing/cluster";
import { proofFrom } from "../../testing/pow";

/**
 * The serverless shape: every request is served by a freshly started instance (a cold start per
 * request), so nothing may live in a process between requests.
 */

const STORE = process.env.E2E_STORE ?? "unknown";
const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;

async function coldRequest(path: string, init: RequestInit = {}): Promise<Response> {
  const instance = await startCluster({ env, instances: 1 });
  try {
    const response = await fetch(`${instance.url}${path}`, init);
    // Read the body before the instance goes away.
    const body = await response.arrayBuffer();
    return new Response(response.status === 204 ? null : body, { status: response.status, headers: response.headers });
  } finally {
    await instance.stop();
  }
}

const cookieOf = (r: Response, previous?: string) =>
  r.headers.getSetCookie().find((c) => c.startsWith("holdfast_session="))?.split(";")[0] ?? previous;

/** A proof of work whose challenge came from a cold instance of its own. */
async function coldProof(): Promise<string> {
  const challenge = await coldRequest("/api/challenge");
  const text = await challenge.text();
  expect(challenge.status, text).toBe(200);
  return proofFrom(text).payload;
}

test.describe.configure({ timeout: 180_000 });

test(`a cold start per request (${STORE} store): the session survives and the captcha and the proof of work work, once each`, async () => {
  const altcha = await coldProof();
  const captcha = await coldRequest("/api/captcha");
  expect(captcha.status).toBe(200);
  const answer = captcha.headers.get("x-captcha-answer")!;
  const cookie = cookieOf(captcha)!;
  const id = randomBytes(5).toString("hex");
  const fields = { username: `s_${id}`, email: `s.${id}@example.test`, password: `password-${id}`, captcha: answer };
  const body = JSON.stringify({ ...fields, altcha });
  const register = await coldRequest("/api/register", { method: "POST", headers: { "content-type": "application/json", cookie }, body });
  expect(register.status, await register.clone().text()).toBe(201);
  const loggedIn = cookieOf(register)!;
  const me = await coldRequest("/api/me", { headers: { cookie: loggedIn } });
  expect(me.status).toBe(200);
  // The whole request again on yet another fresh instance: the proof is spent (checked first).
  const again = { ...fields, username: `t_${id}`, email: `t.${id}@example.test` };
  const reused = await coldRequest("/api/register", { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ ...again, altcha }) });
  expect(reused.status).toBe(400);
  expect(((await reused.json()) as { error: { code: string } }).error.code).toBe("pow_invalid");
  // The pre-registration cookie replayed with a fresh proof on yet another fresh instance: the captcha is spent.
  const replay = await coldRequest("/api/register", { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ ...again, altcha: await coldProof() }) });
  expect(replay.status).toBe(400);
  expect(((await replay.json()) as { error: { code: string } }).error.code).toMatch(/^(captcha_missing|session_unknown)$/);
});
