import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, DEV_SECRET_PREFIX, listenProblem, loadEnvFiles, parseConfig } from "./env";

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
  it("reads the .env files Next reads for the app; a variable already in the environment wins, an empty one counts as unset", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "holdfast-dotenv-"));
    try {
      writeFileSync(path.join(dir, ".env"), "HOLDFAST_DOTENV_A=from-file\nHOLDFAST_DOTENV_B=from-file\nHOLDFAST_DOTENV_C=from-file\n");
      process.env.HOLDFAST_DOTENV_B = "from-environment";
      process.env.HOLDFAST_DOTENV_C = "";
      process.env.HOLDFAST_DOTENV_D = "";
      assert.deepEqual(loadEnvFiles(true, dir), [".env"]);
      assert.equal(process.env.HOLDFAST_DOTENV_A, "from-file");
      assert.equal(process.env.HOLDFAST_DOTENV_B, "from-environment");
      assert.equal(process.env.HOLDFAST_DOTENV_C, "from-file");
      assert.equal(process.env.HOLDFAST_DOTENV_D, "", "an empty variable no file names stays as it was");
    } finally {
      delete process.env.HOLDFAST_DOTENV_A;
      delete process.env.HOLDFAST_DOTENV_B;
      delete process.env.HOLDFAST_DOTENV_C;
      delete process.env.HOLDFAST_DOTENV_D;
      rmSync(dir, { recursive: true, force: true });
    }
  });

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

  it("CAPTCHA_POOL_SIZE: 32 by default, 0 turns the pool off, anything else than 0-1024 is refused with its fix", () => {
    assert.equal(parseConfig(base).captchaPoolSize, 32);
    assert.equal(parseConfig({ ...base, CAPTCHA_POOL_SIZE: "0" }).captchaPoolSize, 0);
    for (const bad of ["-1", "lots", "2000", "1.5"]) assert.match(refusal({ ...base, CAPTCHA_POOL_SIZE: bad }), /CAPTCHA_POOL_SIZE.*use a whole number from 0/);
  });

  it("REDIS_CLUSTER_NODES: host:port seeds become a cluster; each mistake has its own sentence", () => {
    const cluster = { ...base, SESSION_STORE: "redis", REDIS_CLUSTER_NODES: "10.0.0.5:6379, redis-2.internal:7000,[::1]:6380" };
    assert.deepEqual(parseConfig(cluster).redis, { transport: "cluster", nodes: ["10.0.0.5:6379", "redis-2.internal:7000", "[::1]:6380"], prefix: "holdfast", tls: false });
    // A managed cluster's credentials and TLS, which go with the nodes only.
    assert.deepEqual(parseConfig({ ...cluster, REDIS_CLUSTER_USERNAME: "app", REDIS_CLUSTER_PASSWORD: "s3cret", REDIS_CLUSTER_TLS: "1" }).redis, {
      transport: "cluster",
      nodes: ["10.0.0.5:6379", "redis-2.internal:7000", "[::1]:6380"],
      prefix: "holdfast",
      username: "app",
      password: "s3cret",
      tls: true,
    });
    assert.match(refusal({ ...cluster, REDIS_CLUSTER_USERNAME: "app" }), /REDIS_CLUSTER_USERNAME is set without REDIS_CLUSTER_PASSWORD/);
    assert.match(refusal({ ...base, SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER_PASSWORD: "s3cret" }), /go with REDIS_CLUSTER_NODES, which is unset/);
    assert.doesNotMatch(refusal({ ...cluster, REDIS_CLUSTER_USERNAME: "app" }), /s3cret/);
    const cases: [string, RegExp][] = [
      [",", /REDIS_CLUSTER_NODES is empty: list the cluster's nodes as host:port/],
      ["10.0.0.5:6379,,10.0.0.6:6379", /REDIS_CLUSTER_NODES has an empty entry/],
      ["redis://10.0.0.5:6379", /entry number 1 \(not printed: it may hold credentials\) is a URL: write host:port only/],
      ["10.0.0.5", /entry "10.0.0.5" is not host:port/],
      ["10.0.0.5:70000", /entry "10.0.0.5:70000" has port 70000: use a port from 1 to 65535/],
    ];
    for (const [value, sentence] of cases) assert.match(refusal({ ...base, SESSION_STORE: "redis", REDIS_CLUSTER_NODES: value }), sentence, value);
    // An entry that may hold a password is named by its place, never printed.
    for (const value of ["10.0.0.4:6379,redis://default:s3cret-pass@10.0.0.5:6379", "10.0.0.4:6379,default:s3cret-pass@10.0.0.5:6379", "10.0.0.4:6379,10.0.0.5:6379?password=s3cret-pass"]) {
      const said = refusal({ ...base, SESSION_STORE: "redis", REDIS_CLUSTER_NODES: value });
      assert.match(said, /entry number 2 \(not printed: it may hold credentials\) is (a URL|not host:port)/, value);
      assert.doesNotMatch(said, /s3cret/, value);
    }
    assert.match(refusal({ ...cluster, REDIS_URL: "redis://127.0.0.1:6379" }), /REDIS_CLUSTER_NODES and REDIS_URL .* are both set/);
    // Without any Redis, the store names the cluster setting among its choices.
    assert.match(refusal({ ...base, SESSION_STORE: "redis" }), /REDIS_CLUSTER_NODES=host:port/);
  });

  it("DATABASE_POOL_SIZE: 10 by default, 1 to 100, refused otherwise with its fix", () => {
    assert.equal(parseConfig(base).databasePoolSize, 10);
    assert.equal(parseConfig({ ...base, DATABASE_POOL_SIZE: "2" }).databasePoolSize, 2);
    for (const bad of ["0", "101", "many", "0x10", "1e1", "10.0", " 10"]) assert.match(refusal({ ...base, DATABASE_POOL_SIZE: bad }), /DATABASE_POOL_SIZE.*use a whole number from 1 to 100/);
  });

  it("numbers are digits: hex, exponents and decimals are refused, and a timeout's message names its range", () => {
    for (const name of ["SESSION_IDLE_TIMEOUT_SECONDS", "CAPTCHA_TTL_SECONDS", "CAPTCHA_POOL_SIZE", "PASSWORD_HASH_COST", "POW_MAX_NUMBER"]) {
      for (const bad of ["0x10", "1e3", "12.5"]) assert.match(refusal({ ...base, [name]: bad }), new RegExp(name), `${name}=${bad}`);
    }
    assert.match(refusal({ ...base, SESSION_IDLE_TIMEOUT_SECONDS: "999999999" }), /SESSION_IDLE_TIMEOUT_SECONDS.*from 1 to 31536000/);
    assert.equal(parseConfig({ ...base, SESSION_IDLE_TIMEOUT_SECONDS: "600" }).idleTimeoutMs, 600_000);
    assert.equal(parseConfig({ ...base, POW_MAX_NUMBER: "5000" }).powMaxNumber.normal, 5000);
  });

  it("a DATABASE_URL that is not a URL (a port in letters) is refused in one sentence, not at the first query", () => {
    assert.match(refusal({ ...base, DATABASE_URL: "postgres://u@127.0.0.1:notaport/db" }), /DATABASE_URL.*use a postgres:\/\/ URL \(postgres:\/\/user:password@host:port\/database, the port in digits/);
    assert.equal(parseConfig({ ...base, DATABASE_URL: "postgres:///app?host=/var/run/postgresql" }).databaseUrl, "postgres:///app?host=/var/run/postgresql");
  });

  it("a session no one has logged in to idles out after 30 minutes, never before its captcha or its pass does, never after the idle timeout", () => {
    assert.equal(parseConfig(base).anonymousIdleTimeoutMs, 1_800_000);
    assert.equal(parseConfig({ ...base, SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: "900" }).anonymousIdleTimeoutMs, 900_000);
    assert.equal(parseConfig({ ...base, SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: "60", CAPTCHA_TTL_SECONDS: "600" }).anonymousIdleTimeoutMs, 600_000);
    assert.equal(parseConfig({ ...base, SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: "60", CAPTCHA_TTL_SECONDS: "30" }).anonymousIdleTimeoutMs, 300_000, "never below the captcha pass's 5 minutes");
    assert.equal(parseConfig({ ...base, SESSION_IDLE_TIMEOUT_SECONDS: "600" }).anonymousIdleTimeoutMs, 600_000);
    assert.match(refusal({ ...base, SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: "0" }), /SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS.*from 1 to 31536000/);
  });

  it("a captcha may not outlive its session: CAPTCHA_TTL_SECONDS set above SESSION_IDLE_TIMEOUT_SECONDS is one sentence naming both", () => {
    assert.equal(
      refusal({ ...base, CAPTCHA_TTL_SECONDS: "900", SESSION_IDLE_TIMEOUT_SECONDS: "600" }),
      "CAPTCHA_TTL_SECONDS (900) is longer than SESSION_IDLE_TIMEOUT_SECONDS (600), so a captcha would outlive the session that holds it: lower CAPTCHA_TTL_SECONDS to at most 600, or raise SESSION_IDLE_TIMEOUT_SECONDS to at least 900.",
    );
    assert.match(refusal({ ...base, CAPTCHA_TTL_SECONDS: "90000" }), /^CAPTCHA_TTL_SECONDS \(90000\) is longer than SESSION_IDLE_TIMEOUT_SECONDS \(86400, the default\)/);
    // The default lifetime is cut to a shorter idle timeout, as the pass's 5 minutes are: such a site keeps starting.
    const short = parseConfig({ ...base, SESSION_IDLE_TIMEOUT_SECONDS: "60" });
    assert.deepEqual([short.captchaTtlMs, short.passTtlMs, short.anonymousIdleTimeoutMs], [60_000, 60_000, 60_000]);
    assert.equal(parseConfig(base).passTtlMs, 300_000);
    // Equal is the longest a captcha may live; the anonymous idle timeout is then both.
    const equal = parseConfig({ ...base, CAPTCHA_TTL_SECONDS: "600", SESSION_IDLE_TIMEOUT_SECONDS: "600" });
    assert.deepEqual([equal.captchaTtlMs, equal.anonymousIdleTimeoutMs, equal.idleTimeoutMs], [600_000, 600_000, 600_000]);
    // An invalid value is said once, not also compared as the default that stands in for it.
    assert.match(refusal({ ...base, CAPTCHA_TTL_SECONDS: "90000", SESSION_IDLE_TIMEOUT_SECONDS: "1e3" }), /^SESSION_IDLE_TIMEOUT_SECONDS is not valid: [^\n]+$/);
  });

  it("the proof of work without the image may not cost less than the one with it", () => {
    assert.match(refusal({ ...base, POW_MAX_NUMBER: "3000", POW_MAX_NUMBER_ACCESSIBLE: "2000" }), /POW_MAX_NUMBER_ACCESSIBLE \(2000\) is below POW_MAX_NUMBER \(3000\).*at least 3000/);
    // Against the default of the other: 8000000 without the image.
    assert.match(refusal({ ...base, POW_MAX_NUMBER: "9000000" }), /POW_MAX_NUMBER_ACCESSIBLE \(8000000, the default\) is below POW_MAX_NUMBER \(9000000\)/);
    assert.equal(parseConfig({ ...base, POW_MAX_NUMBER: "3000", POW_MAX_NUMBER_ACCESSIBLE: "3000" }).powMaxNumber.accessible, 3000);
    assert.equal(parseConfig({ ...base, POW_MAX_NUMBER: "8000000" }).powMaxNumber.normal, 8000000);
  });

  it("a __Host- or __Secure- cookie name is always Secure, and refused where browsers would drop it", () => {
    assert.equal(parseConfig({ ...base, SESSION_COOKIE_NAME: "__Host-session" }).cookie.secure, "always");
    assert.equal(parseConfig({ ...base, SESSION_COOKIE_NAME: "__Secure-session", SESSION_COOKIE_DOMAIN: "example.com" }).cookie.secure, "always");
    assert.equal(parseConfig({ ...base, SESSION_COOKIE_NAME: "Host-session" }).cookie.secure, "auto");
    assert.match(refusal({ ...base, SESSION_COOKIE_NAME: "__Secure-s", SESSION_COOKIE_SECURE: "false" }), /SESSION_COOKIE_NAME=__Secure-s starts with __Secure-, which browsers keep only with Secure/);
    assert.match(refusal({ ...base, SESSION_COOKIE_NAME: "__host-s", SESSION_COOKIE_DOMAIN: "example.com" }), /starts with __Host-, which browsers keep only without Domain/);
  });

  it("SESSION_COOKIE_DOMAIN takes a host name browsers accept as Domain (a leading dot as they do); anything else is one sentence with the fix", () => {
    const label = "a".repeat(63);
    const longest = `${label}.${label}.${label}.${"b".repeat(61)}`;
    for (const domain of ["example.com", "app.example.com", ".example.com", "localhost", "my-site.example", "xn--bcher-kva.example", "127.0.0.1", `${label}.example`, longest, `.${longest}`]) {
      assert.equal(parseConfig({ ...base, SESSION_COOKIE_DOMAIN: domain }).cookie.domain, domain, domain);
    }
    for (const bad of ["..", "-", ".", "example..com", "..example.com", "example.com.", "-example.com", "example-.com", "app.-example.com", `${label}a.example`, `${longest}b`, "exa_mple.com", "example.com:8080", "https://example.com", "exa mple.com"]) {
      assert.match(
        refusal({ ...base, SESSION_COOKIE_DOMAIN: bad }),
        /^SESSION_COOKIE_DOMAIN is not valid: use a host name such as example\.com \(labels of 1 to 63 letters, digits or hyphens, none starting or ending with a hyphen, joined by single dots, 253 characters at most\), or leave it unset\.$/,
        bad,
      );
    }
  });

  it("captcha test mode is announced as a warning", () => {
    assert.match(parseConfig({ ...base, CAPTCHA_TEST_MODE: "1" }).warnings.join(" "), /X-Captcha-Answer/);
  });

  it("an empty variable counts as unset", () => {
    assert.equal(parseConfig({ ...base, SESSION_STORE: "" }).store, "cookie");
  });
});

describe("REDIS_WAIT_REPLICAS", () => {
  const cluster = { ...base, SESSION_STORE: "redis", REDIS_CLUSTER_NODES: "127.0.0.1:7000" };

  it("defaults to 0 (no wait) and passes a count through for a TCP Redis or a cluster", () => {
    assert.equal(parseConfig(cluster).redisWaitReplicas, 0);
    assert.equal(parseConfig({ ...cluster, REDIS_WAIT_REPLICAS: "1" }).redisWaitReplicas, 1);
    assert.equal(parseConfig({ ...base, SESSION_STORE: "redis", REDIS_URL: "redis://localhost", REDIS_WAIT_REPLICAS: "2" }).redisWaitReplicas, 2);
  });

  it("a bad value, or a store where WAIT means nothing, is one sentence that names the fix", () => {
    for (const value of ["-1", "1.5", "many", "17"]) assert.match(refusal({ ...cluster, REDIS_WAIT_REPLICAS: value }), /^REDIS_WAIT_REPLICAS is not valid: use a whole number from 0 to 16/);
    const rest = { ...base, SESSION_STORE: "redis", UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t", REDIS_WAIT_REPLICAS: "1" };
    assert.match(refusal(rest), /^REDIS_WAIT_REPLICAS=1 needs SESSION_STORE=redis over REDIS_URL or REDIS_CLUSTER_NODES .*: unset it\.$/);
    assert.match(refusal({ ...cluster, SESSION_STORE: "cached", REDIS_WAIT_REPLICAS: "1" }), /REDIS_WAIT_REPLICAS=1 needs SESSION_STORE=redis/);
  });
});

describe("PORT and HOSTNAME: where the server listens", () => {
  it("default to 3000 on 127.0.0.1, and an empty one counts as unset (never a random port, never every interface)", () => {
    assert.deepEqual([parseConfig(base).port, parseConfig(base).hostname], [3000, "127.0.0.1"]);
    const empty = parseConfig({ ...base, PORT: "", HOSTNAME: "" });
    assert.deepEqual([empty.port, empty.hostname], [3000, "127.0.0.1"]);
    const set = parseConfig({ ...base, PORT: "8080", HOSTNAME: "0.0.0.0" });
    assert.deepEqual([set.port, set.hostname], [8080, "0.0.0.0"]);
    // The machine's own name, as many containers set HOSTNAME, and IPv6 addresses are kept.
    for (const hostname of ["a1b2c3d4e5f6", "web-1.internal", "::1", "::"]) assert.equal(parseConfig({ ...base, HOSTNAME: hostname }).hostname, hostname);
  });

  it("a port that is not digits from 1 to 65535, or a HOSTNAME that is no host, is one sentence with the fix", () => {
    for (const bad of ["abc", "0", "65536", "0x50", "80.0", "1e3", " 80", "-1"]) {
      assert.match(refusal({ ...base, PORT: bad }), /^PORT is not valid: use a whole number from 1 to 65535 \(the port the server listens on; 3000 is the default\)\.$/, bad);
    }
    for (const bad of ["http://0.0.0.0", "a b", "127.0.0.1/8", "host\n"]) {
      assert.match(refusal({ ...base, HOSTNAME: bad }), /^HOSTNAME is not valid: use the host name or IP address to listen on, such as 127\.0\.0\.1 .* or 0\.0\.0\.0 \(every interface\)\.$/, bad);
    }
  });

  it("a listen error is one sentence naming the port or host and what to do", () => {
    const at = { port: 3000, hostname: "127.0.0.1" };
    assert.equal(listenProblem("EADDRINUSE", at), "Port 3000 on 127.0.0.1 is already in use by another process: stop that process, or set PORT to a free port.");
    assert.match(listenProblem("EACCES", { port: 80, hostname: "0.0.0.0" }), /^Port 80 on 0\.0\.0\.0 may not be opened by this user .*: set PORT to 1024 or above/);
    assert.match(listenProblem("EADDRNOTAVAIL", { port: 3000, hostname: "10.9.9.9" }), /^HOSTNAME=10\.9\.9\.9 is not an address of this machine: set HOSTNAME to one of its addresses/);
    assert.match(listenProblem("ENOTFOUND", { port: 3000, hostname: "nowhere.invalid" }), /^HOSTNAME=nowhere\.invalid does not resolve to an address: /);
    assert.equal(listenProblem("EWHATEVER", { port: 3000, hostname: "::1" }), "The server cannot listen on [::1]:3000 (EWHATEVER): check PORT and HOSTNAME.");
  });
});
