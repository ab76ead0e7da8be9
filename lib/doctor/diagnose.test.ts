import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { required } from "../../testing/services";
import { parseConfig, type Env } from "../env";
import { diagnose, type Facts } from "./diagnose";
import { gather } from "./gather";

const base: Env = { SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://localhost:1/x" };
const config = (env: Env = {}) => parseConfig({ ...base, ...env });
const checks = (facts: Facts) => diagnose(facts).map((f) => f.check);

describe("doctor", () => {
  it("a sound configuration has no findings", () => {
    assert.deepEqual(diagnose({ config: config(), url: "https://example.com", reach: { store: true, database: true } }), []);
  });

  it("memory store: fires in production, with several instances planned, or when several answer", () => {
    assert.deepEqual(checks({ config: config({ SESSION_STORE: "memory" }), instancesPlanned: 3 }), ["memory-store"]);
    assert.deepEqual(checks({ config: { ...config({ SESSION_STORE: "memory" }), production: true } }), ["memory-store"]);
    const site = { instanceSkewMs: { i1: 0, i2: 0 }, store: "memory", captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["memory-store"]);
    assert.deepEqual(checks({ config: config({ SESSION_STORE: "memory" }), instancesPlanned: 1 }), []);
  });

  it("secure cookie over http", () => {
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "http://app.example.com" }), ["secure-cookie"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_SECURE: "true" }), url: "https://app.example.com" }), []);
  });

  it("cookie domain that does not match the host", () => {
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_DOMAIN: "example.org" }), url: "https://app.example.com" }), ["cookie-domain"]);
    assert.deepEqual(checks({ config: config({ SESSION_COOKIE_DOMAIN: ".example.com" }), url: "https://app.example.com" }), []);
  });

  it("missing, short or development secret in production, from the configuration's own refusal", async () => {
    for (const env of [{ SESSION_SECRET: "" }, { SESSION_SECRET: "short" }, { NODE_ENV: "production", SESSION_SECRET: `dev-insecure-${"x".repeat(40)}` }]) {
      const facts = await gather({ ...base, ...env });
      assert.deepEqual(checks(facts), ["secret"], JSON.stringify(env));
    }
  });

  it("captcha test mode, from the environment or from a running site's responses", () => {
    assert.deepEqual(checks({ config: config({ CAPTCHA_TEST_MODE: "1" }) }), ["captcha-test-mode"]);
    const site = { instanceSkewMs: {}, captchaAnswerExposed: true, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["captcha-test-mode"]);
  });

  it("store or database unreachable, measured by a real round trip", async () => {
    const dead = await gather({ ...base, SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:1" });
    assert.deepEqual(checks(dead).sort(), ["database-unreachable", "store-unreachable"]);
    const alive = await gather({ ...base, DATABASE_URL: required("DATABASE_URL"), SESSION_STORE: "redis", REDIS_URL: required("REDIS_URL") });
    assert.deepEqual(checks(alive), []);
  });

  it("clock skew between an instance and the database", () => {
    const site = (skew: number) => ({ instanceSkewMs: { i1: 10, i2: skew }, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: true, healthOk: true });
    assert.deepEqual(checks({ config: config(), site: site(5_000), databaseSkewMs: 0 }), ["clock-skew"]);
    assert.deepEqual(checks({ config: config(), site: site(5_000), databaseSkewMs: 4_900 }), ["clock-skew"]);
    assert.deepEqual(checks({ config: config(), site: site(300), databaseSkewMs: 0 }), []);
  });

  it("TRUST_PROXY unset behind a proxy", () => {
    const site = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: true, trustProxy: false, healthOk: true };
    assert.deepEqual(checks({ config: config(), site }), ["trust-proxy"]);
    assert.deepEqual(checks({ config: config(), site: { ...site, trustProxy: true } }), []);
  });
});
