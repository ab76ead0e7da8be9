import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { required } from "../../testing/services";
import { parseConfig, type Env } from "../env";
import { sessionRoute } from "../http/route";
import { createServices, type Services } from "../services";
import { getCaptcha } from "./captcha";
import type { RequestContext } from "./context";
import { register } from "./register";

/** POW_OPTIONAL, the benchmark-only way to register without a proof of work (bench/peer.ts). */

const SECRET = "register-secret-0123456789-0123456789-abc";
const env = (extra: Env): Env => ({
  SESSION_SECRET: SECRET,
  DATABASE_URL: required("DATABASE_URL"),
  SESSION_STORE: "cookie",
  CAPTCHA_TEST_MODE: "1",
  PASSWORD_HASH_COST: "1",
  RATE_LIMIT_MULTIPLIER: "1000",
  ...extra,
});

const opened: Services[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
});

/** A captcha, then a registration with its answer and no `altcha` field (or the one given). */
async function registerWithoutProof(extra: Env, altcha?: string): Promise<Response> {
  const services = createServices(parseConfig(env(extra)));
  opened.push(services);
  const call = (endpoint: (ctx: RequestContext) => Promise<Response>, init: RequestInit = {}) =>
    sessionRoute(() => services, endpoint)(new Request("http://holdfast.test/", init));
  const captcha = await call(getCaptcha);
  const id = randomBytes(4).toString("hex");
  const body = { username: `r_${id}`, email: `r.${id}@example.test`, password: `password-${id}`, captcha: captcha.headers.get("x-captcha-answer"), ...(altcha ? { altcha } : {}) };
  return call(register, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", cookie: captcha.headers.getSetCookie()[0]!.split(";")[0]! },
  });
}

describe("POST /api/register without a proof of work", () => {
  it("is invalid input (altcha required) without POW_OPTIONAL, and with BENCHMARK=1 alone", async () => {
    for (const extra of [{}, { BENCHMARK: "1" }]) {
      const r = await registerWithoutProof(extra);
      assert.equal(r.status, 400);
      const { error } = (await r.json()) as { error: { code: string; fields: Record<string, string> } };
      assert.equal(error.code, "invalid_input");
      assert.deepEqual(error.fields, { altcha: "required" });
    }
  });

  it("POW_OPTIONAL without BENCHMARK=1 does not start: the configuration is refused", () => {
    assert.throws(() => parseConfig(env({ POW_OPTIONAL: "1" })), /POW_OPTIONAL=1 .* is refused/);
    assert.throws(() => parseConfig(env({ POW_OPTIONAL: "1", NODE_ENV: "production" })), /POW_OPTIONAL=1 .* is refused/);
  });

  it("is accepted with BENCHMARK=1 POW_OPTIONAL=1; a proof that is sent is still checked", async () => {
    const ok = await registerWithoutProof({ BENCHMARK: "1", POW_OPTIONAL: "1" });
    assert.equal(ok.status, 201, await ok.clone().text());
    const forged = await registerWithoutProof({ BENCHMARK: "1", POW_OPTIONAL: "1" }, Buffer.from("{}").toString("base64"));
    assert.equal(forged.status, 400);
    assert.equal(((await forged.json()) as { error: { code: string } }).error.code, "pow_invalid");
  });
});
