import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { closeTestDb, required } from "../../testing/services";
import { cookieOf, slowServices, solvedProof } from "../../testing/slow-services";
import { parseConfig } from "../env";
import { createServices, type Services } from "../services";
import { getCaptcha } from "./captcha";
import { login } from "./login";
import { register } from "./register";

/**
 * Where a request's session read overlaps other round trips. Every ledger call and limiter hit
 * takes 25 ms here and the log says when each began and ended (testing/slow-services.ts); a
 * read that starts before the call it should overlap has ended is one round trip fewer in
 * sequence on a remote store.
 */

const opened: Services[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  await closeTestDb();
});

function harness() {
  const services = createServices(
    parseConfig({
      SESSION_SECRET: "overlap-secret-0123456789-0123456789-abc",
      DATABASE_URL: required("DATABASE_URL"),
      SESSION_STORE: "memory",
      CAPTCHA_TEST_MODE: "1",
      PASSWORD_HASH_COST: "1",
      RATE_LIMIT_MULTIPLIER: "1000",
    }),
  );
  opened.push(services);
  // The store answers at once (its read is only logged); ledger calls and limiter hits take 25 ms.
  return slowServices(services, (kind) => (kind === "store" ? 0 : 25));
}

const before = (log: string[], a: string, b: string) => {
  assert.ok(log.includes(a) && log.includes(b), `${a} and ${b} in ${log.join(", ")}`);
  assert.ok(log.indexOf(a) < log.indexOf(b), `${a} before ${b}: ${log.join(", ")}`);
};

describe("the session read overlaps the request's other round trips", () => {
  it("GET /api/captcha on a live session: the read begins while the captcha record is written", async () => {
    const { log, call } = harness();
    const first = await call(getCaptcha);
    log.length = 0;
    const again = await call(getCaptcha, { cookie: cookieOf(first) });
    assert.equal(again.status, 200);
    before(log, "read:start", "put:end");
  });

  it("POST /api/register: the read begins while the proof's record is taken", async () => {
    const { log, call } = harness();
    const captcha = await call(getCaptcha);
    const altcha = await solvedProof(call);
    const id = randomBytes(4).toString("hex");
    const body = { username: `o_${id}`, email: `o.${id}@example.test`, password: `password-${id}`, captcha: captcha.headers.get("x-captcha-answer"), altcha };
    log.length = 0;
    const r = await call(register, { method: "POST", body: JSON.stringify(body), cookie: cookieOf(captcha) });
    assert.equal(r.status, 201, await r.clone().text());
    // The proof's take comes first, the captcha's second.
    before(log, "read:start", "take:end");
  });

  it("POST /api/login: the read begins before the account's limit is checked and the password hashed", async () => {
    const { log, call } = harness();
    const captcha = await call(getCaptcha);
    const altcha = await solvedProof(call);
    const id = randomBytes(4).toString("hex");
    const account = { username: `o_${id}`, email: `o.${id}@example.test`, password: `password-${id}` };
    const made = await call(register, { method: "POST", body: JSON.stringify({ ...account, captcha: captcha.headers.get("x-captcha-answer"), altcha }), cookie: cookieOf(captcha) });
    assert.equal(made.status, 201);
    log.length = 0;
    const r = await call(login, { method: "POST", body: JSON.stringify({ login: account.username, password: account.password }), cookie: cookieOf(made) });
    assert.equal(r.status, 200, await r.clone().text());
    before(log, "read:start", "limit loginAccount:start");
  });
});
