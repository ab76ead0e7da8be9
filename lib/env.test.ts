import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, DEV_SECRET_PREFIX, parseConfig } from "./env";

const base = { SESSION_SECRET: "s".repeat(32), DATABASE_URL: "postgres://localhost/x" };

function refusal(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

describe("configuration", () => {
  it("defaults: cookie store, 5-minute captcha, secure cookie decided per request", () => {
    const c = parseConfig(base);
    assert.equal(c.store, "cookie");
    assert.equal(c.captchaTtlMs, 300_000);
    assert.equal(c.cookie.secure, "auto");
    assert.equal(c.captchaTestMode, false);
  });

  it("every problem is reported at once, one sentence each", () => {
    try {
      parseConfig({ SESSION_STORE: "file", SESSION_COOKIE_SECURE: "maybe", SESSION_SECRET: "short" });
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 4, error.message);
      assert.match(error.problems.join("\n"), /SESSION_STORE is not valid/);
      assert.match(error.problems.join("\n"), /SESSION_COOKIE_SECURE is not valid/);
      assert.match(error.problems.join("\n"), /SESSION_SECRET is too short/);
      assert.match(error.problems.join("\n"), /DATABASE_URL is not set/);
    }
  });

  it("a wrong SESSION_STORE names the variable and the fix", () => {
    assert.match(refusal({ ...base, SESSION_STORE: "file" }), /^SESSION_STORE is not valid: use one of cookie, database, redis, cached or memory\.$/);
  });

  it("production refuses the memory store, saying why", () => {
    assert.match(refusal({ ...base, NODE_ENV: "production", SESSION_STORE: "memory" }), /SESSION_STORE=memory is refused in production: each process would keep its own sessions/);
    assert.equal(parseConfig({ ...base, SESSION_STORE: "memory" }).store, "memory");
  });

  it("production needs its own secret: missing, short or generated ones are refused", () => {
    assert.match(refusal({ DATABASE_URL: base.DATABASE_URL, NODE_ENV: "production" }), /^SESSION_SECRET is not set/);
    assert.match(refusal({ ...base, SESSION_SECRET: "short" }), /^SESSION_SECRET is too short/);
    assert.match(refusal({ ...base, NODE_ENV: "production", SESSION_SECRET: DEV_SECRET_PREFIX + "x".repeat(40) }), /development secret/);
  });

  it("several secrets: comma-separated, the first seals", () => {
    assert.deepEqual(parseConfig({ ...base, SESSION_SECRET: `${"a".repeat(32)}, ${"b".repeat(32)}` }).secrets, ["a".repeat(32), "b".repeat(32)]);
  });

  it("redis needs a URL; REDIS_URL wins over the Upstash pair", () => {
    assert.match(refusal({ ...base, SESSION_STORE: "redis" }), /^SESSION_STORE=redis needs a Redis/);
    assert.match(refusal({ ...base, SESSION_STORE: "cached" }), /^SESSION_STORE=cached needs a Redis/);
    const both = parseConfig({ ...base, SESSION_STORE: "redis", REDIS_URL: "redis://h:6379", UPSTASH_REDIS_REST_URL: "https://u", UPSTASH_REDIS_REST_TOKEN: "t" });
    assert.equal(both.redis?.transport, "tcp");
    assert.match(refusal({ ...base, UPSTASH_REDIS_REST_URL: "https://u" }), /must be set together/);
  });

  it("a low password hash cost warns, and production refuses it unless BENCHMARK=1", () => {
    assert.match(parseConfig({ ...base, PASSWORD_HASH_COST: "12" }).warnings.join(" "), /below the secure default/);
    assert.match(refusal({ ...base, NODE_ENV: "production", PASSWORD_HASH_COST: "12" }), /refused in production/);
    assert.equal(parseConfig({ ...base, NODE_ENV: "production", PASSWORD_HASH_COST: "12", BENCHMARK: "1" }).passwordHashCost, 12);
  });

  it("POW_OPTIONAL (a registration without a proof of work) is refused unless BENCHMARK=1, in every environment", () => {
    for (const NODE_ENV of ["production", "development", "test"]) {
      assert.match(refusal({ ...base, NODE_ENV, POW_OPTIONAL: "1" }), /POW_OPTIONAL=1 .* is refused: unset it, or also set BENCHMARK=1/);
      const c = parseConfig({ ...base, NODE_ENV, POW_OPTIONAL: "1", BENCHMARK: "1" });
      assert.equal(c.powOptional, true);
      assert.match(c.warnings.join(" "), /POW_OPTIONAL is on/);
    }
    assert.equal(parseConfig(base).powOptional, false);
    assert.equal(parseConfig({ ...base, BENCHMARK: "1" }).powOptional, false);
  });

  it("captcha test mode is announced as a warning", () => {
    assert.match(parseConfig({ ...base, CAPTCHA_TEST_MODE: "1" }).warnings.join(" "), /X-Captcha-Answer/);
  });

  it("an empty variable counts as unset", () => {
    assert.equal(parseConfig({ ...base, SESSION_STORE: "" }).store, "cookie");
  });
});
