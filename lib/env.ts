import nextEnv from "@next/env";
import { z } from "zod";
import { POW_MAX_NUMBER } from "./pow/costs";

/**
 * The only module that reads process.env. Everything else receives a parsed Config.
 * A wrong setting is a ConfigError whose message is one sentence naming the variable and the fix.
 */

/**
 * Loads the `.env` files Next loads for the app (`.env`, `.env.local`, `.env.development` or
 * `.env.production` and their `.local`), with Next's own loader, into process.env, so that the
 * launcher, server.ts, the doctor and the app all read the same settings. A variable already set
 * in the environment wins over every file; an empty one counts as unset, so a file's value
 * applies (Next's loader alone would keep the empty one). Call it once, before `config()` or
 * `parseConfig`. Returns the files read, for a command to say where its settings came from.
 */
export function loadEnvFiles(dev: boolean, dir = process.cwd()): string[] {
  // Next's loader keeps a variable set empty in the environment over a file's value; here empty
  // counts as unset, so a file's value applies. The empty ones no file names (TZ="", say) are
  // put back as they were.
  const empty = Object.keys(process.env).filter((name) => process.env[name] === "");
  for (const name of empty) delete process.env[name];
  const { loadedEnvFiles } = nextEnv.loadEnvConfig(dir, dev, { info: () => {}, error: (...args: unknown[]) => console.error("[holdfast]", ...args) });
  for (const name of empty) process.env[name] ??= "";
  return loadedEnvFiles.map((file) => file.path);
}

/**
 * In development Next reads the .env files again when one changes, first resetting process.env
 * to what it held when they were first read (loadEnvFiles, before Next started). What Next set on
 * itself since (`__NEXT_DEV_SERVER`) is kept across that reset, or every request after an edit of
 * `.env.local` fails as if in production without a build. Call once Next is prepared.
 */
export function keepNextEnvAcrossReloads(): void {
  const own = Object.entries(process.env).filter(([name]) => name.startsWith("__NEXT") && name !== "__NEXT_PROCESSED_ENV");
  nextEnv.updateInitialEnv(Object.fromEntries(own));
}

export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem found, one sentence each; the message lists them one per line. */
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join("\n"));
    this.problems = list;
  }
}

/** Prefix of the secret `npm run dev` generates; production refuses it. */
export const DEV_SECRET_PREFIX = "dev-insecure-";
/** The refusal of SESSION_STORE=memory in production, which the doctor names as its memory-store check. */
export const MEMORY_IN_PRODUCTION =
  "SESSION_STORE=memory is refused in production: each process would keep its own sessions, so a request served by another process would lose the captcha and the login; use cookie, database, redis or cached.";
/**
 * How long the right answer kept after a taken name (lib/captcha/pass.ts) counts, unless the idle
 * timeout is shorter; also the least a session no one logged in to is kept idle, so it holds the pass.
 */
const PASS_TTL_SECONDS = 300;
/** Argon2id memory in MiB: OWASP's recommended minimum (with t = 2, p = 1). */
export const SECURE_PASSWORD_HASH_COST = 19;

const flag = z
  .enum(["1", "0", "true", "false", ""])
  .optional()
  .transform((v) => v === "1" || v === "true");

const rate = (fallback: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,6}\/[1-9]\d{0,5}(s|m|h)$/)
    .default(fallback);

/** Digits only: `0x10`, `1e1` or `10.0` are refused, not read as the numbers they spell. */
const digits = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const whole = (min: number, max: number, fallback: number) => digits(min, max).default(fallback);

const seconds = (fallback: number) => whole(1, 31_536_000, fallback);

const schema = z.object({
  PORT: whole(1, 65_535, 3000),
  // Many containers set HOSTNAME to the machine's name; a non-empty one is honoured as given.
  HOSTNAME: z
    .string()
    .regex(/^[A-Za-z0-9._:%-]{1,253}$/)
    .default("127.0.0.1"),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  SESSION_STORE: z.enum(["cookie", "database", "redis", "cached", "memory"]).default("cookie"),
  SESSION_SECRET: z.string().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .refine((v) => URL.canParse(v))
    .optional(),
  DATABASE_POOL_SIZE: whole(1, 100, 10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//)
    .optional(),
  UPSTASH_REDIS_REST_URL: z
    .string()
    .regex(/^https?:\/\//)
    .optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_CLUSTER_USERNAME: z.string().min(1).max(256).optional(),
  REDIS_CLUSTER_PASSWORD: z.string().min(1).max(1024).optional(),
  REDIS_CLUSTER_TLS: flag,
  REDIS_WAIT_REPLICAS: whole(0, 16, 0),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/)
    .default("holdfast"),
  SESSION_COOKIE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("holdfast_session"),
  SESSION_COOKIE_SECURE: z.enum(["auto", "true", "false"]).default("auto"),
  // A host name browsers take as a cookie's Domain: labels of 1 to 63 letters, digits or hyphens,
  // no hyphen at either end, joined by single dots. The leading dot of the old cookie syntax is
  // accepted, as browsers ignore it; `..`, `-` or a trailing dot would be refused by the browser,
  // and every captcha check would then say no_session.
  SESSION_COOKIE_DOMAIN: z
    .string()
    .regex(/^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/)
    .refine((v) => v.replace(/^\./, "").length <= 253)
    .optional(),
  SESSION_IDLE_TIMEOUT_SECONDS: seconds(86_400),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: seconds(604_800),
  SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: seconds(1_800),
  CAPTCHA_TTL_SECONDS: seconds(300),
  CAPTCHA_TEST_MODE: flag,
  TRUST_PROXY: z
    .enum(["0", "1", "2", "3", "4", "5", "true", "false"])
    .optional()
    .transform((v) => (v === "true" ? 1 : v === undefined || v === "false" ? 0 : Number(v))),
  PASSWORD_HASH_COST: whole(1, 1024, SECURE_PASSWORD_HASH_COST),
  BENCHMARK: flag,
  POW_OPTIONAL: flag,
  RATE_LIMIT_CAPTCHA: rate("30/1m"),
  RATE_LIMIT_REGISTER: rate("20/1h"),
  RATE_LIMIT_REGISTER_ACCESSIBLE: rate("5/1h"),
  RATE_LIMIT_LOGIN: rate("30/5m"),
  RATE_LIMIT_LOGIN_ACCOUNT: rate("10/5m"),
  RATE_LIMIT_MULTIPLIER: z
    .string()
    .regex(/^\d{1,7}(\.\d{1,6})?$/)
    .transform(Number)
    .pipe(z.number().min(0.001).max(1_000_000))
    .default(1),
  INSTANCE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  POW_MAX_NUMBER: digits(1, 100_000_000).optional(),
  POW_MAX_NUMBER_ACCESSIBLE: digits(1, 100_000_000).optional(),
  CAPTCHA_POOL_SIZE: whole(0, 1024, 32),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{32,256}$/)
    .optional(),
});

const FIX: Record<string, string> = {
  PORT: "use a whole number from 1 to 65535 (the port the server listens on; 3000 is the default)",
  HOSTNAME: "use the host name or IP address to listen on, such as 127.0.0.1 (this machine only, the default) or 0.0.0.0 (every interface)",
  NODE_ENV: "use development, production or test",
  SESSION_STORE: "use one of cookie, database, redis, cached or memory",
  DATABASE_URL: "use a postgres:// URL (postgres://user:password@host:port/database, the port in digits and special characters of the password percent-encoded), or leave it unset to use the embedded database",
  DATABASE_POOL_SIZE: "use a whole number from 1 to 100 (the most database connections one instance opens; 10 is the default)",
  REDIS_URL: "use a redis:// or rediss:// URL",
  UPSTASH_REDIS_REST_URL: "use the https:// REST URL of your Upstash database",
  UPSTASH_REDIS_REST_TOKEN: "set the REST token of your Upstash database",
  REDIS_KEY_PREFIX: "use 1 to 32 characters of A-Z, a-z, 0-9, _ . -",
  REDIS_CLUSTER_USERNAME: "use the cluster's ACL user name (1 to 256 characters), or leave it unset for the default user",
  REDIS_CLUSTER_PASSWORD: "use the cluster's password (1 to 1024 characters), or leave it unset for a cluster without one",
  REDIS_CLUSTER_TLS: "use 1 to connect to every node over TLS, or leave it unset",
  REDIS_WAIT_REPLICAS: "use a whole number from 0 to 16: how many replicas must hold each session write before it is acknowledged (0, the default, does not wait)",
  SESSION_COOKIE_NAME: "use 1 to 64 characters of A-Z, a-z, 0-9, _ . -",
  SESSION_COOKIE_SECURE: "use auto, true or false",
  SESSION_COOKIE_DOMAIN: "use a host name such as example.com (labels of 1 to 63 letters, digits or hyphens, none starting or ending with a hyphen, joined by single dots, 253 characters at most), or leave it unset",
  SESSION_IDLE_TIMEOUT_SECONDS: "use a whole number of seconds from 1 to 31536000 (a year)",
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: "use a whole number of seconds from 1 to 31536000 (a year)",
  SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS: "use a whole number of seconds from 1 to 31536000 (a year)",
  CAPTCHA_TTL_SECONDS: "use a whole number of seconds from 1 to 31536000 (a year)",
  CAPTCHA_TEST_MODE: "use 1 to enable it or leave it unset",
  TRUST_PROXY: "use 1 when one reverse proxy you control sets X-Forwarded-For and X-Forwarded-Proto (2 to 5 for that many proxies in a row), or leave it unset",
  PASSWORD_HASH_COST: "use a whole number from 1 to 1024 (Argon2id memory in MiB; 19 is the secure default)",
  BENCHMARK: "use 1 or leave it unset",
  POW_OPTIONAL: "use 1 (only with BENCHMARK=1) or leave it unset",
  RATE_LIMIT_CAPTCHA: "use <requests>/<period> with a period in s, m or h, such as 30/1m",
  RATE_LIMIT_REGISTER: "use <requests>/<period> with a period in s, m or h, such as 20/1h",
  RATE_LIMIT_REGISTER_ACCESSIBLE: "use <requests>/<period> with a period in s, m or h, such as 5/1h",
  RATE_LIMIT_LOGIN: "use <requests>/<period> with a period in s, m or h, such as 30/5m",
  RATE_LIMIT_LOGIN_ACCOUNT: "use <requests>/<period> with a period in s, m or h, such as 10/5m",
  RATE_LIMIT_MULTIPLIER: "use a number from 0.001 to 1000000, in digits with at most 6 decimals, such as 0.5 or 100 (a load test sets it high)",
  INSTANCE_NAME: "use 1 to 64 characters of A-Z, a-z, 0-9, _ . -",
  POW_MAX_NUMBER: "use a whole number from 1 to 100000000 (the proof of work's counter range; 2000000 is the default)",
  POW_MAX_NUMBER_ACCESSIBLE: "use a whole number from 1 to 100000000 (the no-image path's counter range; 8000000 is the default)",
  CAPTCHA_POOL_SIZE: "use a whole number from 0 (draw every captcha on the request) to 1024 (captchas drawn ahead by a worker thread); 32 is the default",
  METRICS_TOKEN: "use 32 to 256 printable characters without spaces, such as the output of `openssl rand -hex 32`, or leave it unset to turn the metrics endpoint off",
};

export type StoreName = z.infer<typeof schema>["SESSION_STORE"];

export interface Config {
  /** Where the server listens (PORT, HOSTNAME). */
  port: number;
  hostname: string;
  production: boolean;
  store: StoreName;
  secrets: string[];
  databaseUrl: string;
  /** The most database connections this instance opens (DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  redis:
    | { transport: "tcp"; url: string; prefix: string }
    | { transport: "cluster"; nodes: string[]; prefix: string; username?: string; password?: string; tls: boolean }
    | { transport: "rest"; url: string; token: string; prefix: string }
    | undefined;
  /** Replicas that must hold each session write of SESSION_STORE=redis before it is acknowledged (WAIT); 0 does not wait. */
  redisWaitReplicas: number;
  cookie: { name: string; secure: "auto" | "always" | "never"; domain: string | undefined };
  idleTimeoutMs: number;
  /** The idle timeout of a session no one has logged in to: at least the captcha's lifetime, at most idleTimeoutMs. */
  anonymousIdleTimeoutMs: number;
  absoluteTimeoutMs: number;
  captchaTtlMs: number;
  /** How long the right answer kept after a taken name (lib/captcha/pass.ts) counts: 5 minutes, or the idle timeout if shorter. */
  passTtlMs: number;
  captchaTestMode: boolean;
  trustProxy: boolean;
  /** How many proxies of ours stand in front (TRUST_PROXY); 0 when none is trusted. */
  proxyHops: number;
  passwordHashCost: number;
  /** Benchmark only (POW_OPTIONAL=1 with BENCHMARK=1): a registration without a proof of work is accepted; one with a proof is still checked. */
  powOptional: boolean;
  instanceName: string | undefined;
  /** Proof-of-work cost overrides (counter ranges); unset keeps lib/pow's defaults. */
  powMaxNumber: { normal?: number; accessible?: number };
  /** Captchas drawn ahead by a worker thread (lib/captcha/pool.ts); 0 draws each on its request. */
  captchaPoolSize: number;
  /** The bearer token that reads the metrics endpoint; unset turns the endpoint off (404). */
  metricsToken: string | undefined;
  rateLimits: Record<RateLimitName, { limit: number; periodMs: number }>;
  warnings: string[];
}

export type Env = Record<string, string | undefined>;

export type RateLimitName = "captcha" | "register" | "registerAccessible" | "registerAccessibleNetwork" | "login" | "loginAccount";

/** How many /64s' worth of RATE_LIMIT_REGISTER_ACCESSIBLE one IPv6 /48 gets in all. */
export const ACCESSIBLE_NETWORK_SHARE = 16;

function parseRate(value: string, multiplier: number): { limit: number; periodMs: number } {
  const [, count, amount, unit] = /^(\d+)\/(\d+)(s|m|h)$/.exec(value)!;
  const periodMs = Number(amount) * { s: 1_000, m: 60_000, h: 3_600_000 }[unit as "s" | "m" | "h"];
  return { limit: Math.max(1, Math.round(Number(count) * multiplier)), periodMs };
}

function scaledRate(rate: { limit: number; periodMs: number }, times: number): { limit: number; periodMs: number } {
  return { limit: rate.limit * times, periodMs: rate.periodMs };
}

export function parseConfig(env: Env): Config {
  // An empty variable means "unset", as in a shell where `FOO=` clears a value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const problems: string[] = [];
  let result = schema.safeParse(present);
  let invalid: string[] = [];
  if (!result.success) {
    // Name every invalid variable, then judge the rest as if those were unset.
    invalid = [...new Set(result.error.issues.map((issue) => String(issue.path[0])))];
    for (const name of invalid) problems.push(`${name} is not valid: ${FIX[name] ?? "see the README"}.`);
    result = schema.safeParse(Object.fromEntries(Object.entries(present).filter(([k]) => !invalid.includes(k))));
    if (!result.success) throw new ConfigError(problems);
  }
  const e = result.data;
  const production = e.NODE_ENV === "production";
  const warnings: string[] = [];

  const secrets = (e.SESSION_SECRET ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0) {
    problems.push(
      production
        ? "SESSION_SECRET is not set: production needs one, so generate it with `openssl rand -base64 48` and set it."
        : "SESSION_SECRET is not set: start the app with `npm run dev`, which generates a development secret, or set one of at least 32 characters.",
    );
  } else if (secrets.some((s) => s.length < 32)) {
    problems.push("SESSION_SECRET is too short: every comma-separated secret needs at least 32 characters.");
  } else if (production && secrets.some((s) => s.startsWith(DEV_SECRET_PREFIX))) {
    problems.push(
      "SESSION_SECRET holds the generated development secret: production needs its own, so generate one with `openssl rand -base64 48`.",
    );
  } else if (secrets[0]!.startsWith(DEV_SECRET_PREFIX)) {
    warnings.push("SESSION_SECRET is the generated development secret; never use it in production.");
  }

  if (e.SESSION_STORE === "memory" && production) {
    problems.push(MEMORY_IN_PRODUCTION);
  } else if (e.SESSION_STORE === "memory") {
    warnings.push("SESSION_STORE=memory keeps sessions in this process only; it is for tests and a single `npm run dev`.");
  }

  let redis: Config["redis"];
  if (e.REDIS_CLUSTER_NODES !== undefined) {
    const nodes = clusterNodes(e.REDIS_CLUSTER_NODES, problems);
    if (e.REDIS_URL || e.UPSTASH_REDIS_REST_URL) {
      problems.push("REDIS_CLUSTER_NODES and REDIS_URL (or UPSTASH_REDIS_REST_URL) are both set: keep REDIS_CLUSTER_NODES for a Redis Cluster, or unset it for one Redis.");
    } else if (e.REDIS_CLUSTER_USERNAME !== undefined && e.REDIS_CLUSTER_PASSWORD === undefined) {
      problems.push("REDIS_CLUSTER_USERNAME is set without REDIS_CLUSTER_PASSWORD: set the password of that user too, or unset the user name.");
    } else if (nodes) {
      redis = {
        transport: "cluster",
        nodes,
        prefix: e.REDIS_KEY_PREFIX,
        ...(e.REDIS_CLUSTER_USERNAME !== undefined ? { username: e.REDIS_CLUSTER_USERNAME } : {}),
        ...(e.REDIS_CLUSTER_PASSWORD !== undefined ? { password: e.REDIS_CLUSTER_PASSWORD } : {}),
        tls: e.REDIS_CLUSTER_TLS,
      };
    }
  } else if (e.REDIS_CLUSTER_USERNAME !== undefined || e.REDIS_CLUSTER_PASSWORD !== undefined || e.REDIS_CLUSTER_TLS) {
    problems.push("REDIS_CLUSTER_USERNAME, REDIS_CLUSTER_PASSWORD and REDIS_CLUSTER_TLS go with REDIS_CLUSTER_NODES, which is unset: set it, or put one Redis's credentials in REDIS_URL (redis://user:password@host:port, rediss:// for TLS).");
  } else if (e.REDIS_URL) {
    // A TCP URL wins: it is what a long-running server should use when both are configured.
    redis = { transport: "tcp", url: e.REDIS_URL, prefix: e.REDIS_KEY_PREFIX };
  } else if (e.UPSTASH_REDIS_REST_URL || e.UPSTASH_REDIS_REST_TOKEN) {
    if (!e.UPSTASH_REDIS_REST_URL || !e.UPSTASH_REDIS_REST_TOKEN) {
      problems.push(
        "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together: copy both from your Upstash database.",
      );
    } else {
      redis = {
        transport: "rest",
        url: e.UPSTASH_REDIS_REST_URL,
        token: e.UPSTASH_REDIS_REST_TOKEN,
        prefix: e.REDIS_KEY_PREFIX,
      };
    }
  }
  if ((e.SESSION_STORE === "redis" || e.SESSION_STORE === "cached") && !redis && !problems.some((p) => /^(UPSTASH|REDIS_URL|REDIS_CLUSTER_NODES)/.test(p))) {
    problems.push(
      `SESSION_STORE=${e.SESSION_STORE} needs a Redis: set REDIS_URL=redis://…, REDIS_CLUSTER_NODES=host:port,… for a Redis Cluster, or both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.`,
    );
  }

  if (e.REDIS_WAIT_REPLICAS > 0 && (e.SESSION_STORE !== "redis" || redis?.transport === "rest")) {
    problems.push(
      `REDIS_WAIT_REPLICAS=${e.REDIS_WAIT_REPLICAS} needs SESSION_STORE=redis over REDIS_URL or REDIS_CLUSTER_NODES (Upstash REST has no connection for WAIT to count, and cached sessions are durable in Postgres): unset it.`,
    );
  }

  if (!e.DATABASE_URL && !problems.some((p) => p.startsWith("DATABASE_URL"))) {
    problems.push(
      "DATABASE_URL is not set: start the app with `npm run dev` or `npm start`, which start the embedded Postgres, or set DATABASE_URL=postgres://….",
    );
  }

  if (e.SESSION_ABSOLUTE_TIMEOUT_SECONDS < e.SESSION_IDLE_TIMEOUT_SECONDS) {
    problems.push(
      "SESSION_ABSOLUTE_TIMEOUT_SECONDS is shorter than SESSION_IDLE_TIMEOUT_SECONDS: raise it to at least the idle timeout.",
    );
  }

  // A session no one has logged in to idles out at most after the idle timeout (the clamp below),
  // so a longer captcha would outlive the session that holds it. A captcha lifetime set so is
  // refused; the default one is cut to the idle timeout (a site whose idle timeout is under five
  // minutes keeps starting). Not judged against a default that stands in for an invalid value:
  // that value's own sentence comes first.
  const captchaTtlSet = present.CAPTCHA_TTL_SECONDS !== undefined && !invalid.includes("CAPTCHA_TTL_SECONDS");
  if (captchaTtlSet && e.CAPTCHA_TTL_SECONDS > e.SESSION_IDLE_TIMEOUT_SECONDS && !invalid.includes("SESSION_IDLE_TIMEOUT_SECONDS")) {
    const idle = `${e.SESSION_IDLE_TIMEOUT_SECONDS}${present.SESSION_IDLE_TIMEOUT_SECONDS === undefined ? ", the default" : ""}`;
    problems.push(
      `CAPTCHA_TTL_SECONDS (${e.CAPTCHA_TTL_SECONDS}) is longer than SESSION_IDLE_TIMEOUT_SECONDS (${idle}), so a captcha would outlive the session that holds it: lower CAPTCHA_TTL_SECONDS to at most ${e.SESSION_IDLE_TIMEOUT_SECONDS}, or raise SESSION_IDLE_TIMEOUT_SECONDS to at least ${e.CAPTCHA_TTL_SECONDS}.`,
    );
  }
  const captchaTtlSeconds = Math.min(e.CAPTCHA_TTL_SECONDS, e.SESSION_IDLE_TIMEOUT_SECONDS);

  if (e.PASSWORD_HASH_COST < SECURE_PASSWORD_HASH_COST) {
    if (production && !e.BENCHMARK) {
      problems.push(
        `PASSWORD_HASH_COST=${e.PASSWORD_HASH_COST} is below the secure ${SECURE_PASSWORD_HASH_COST} and refused in production: unset it, or also set BENCHMARK=1 for a benchmark run.`,
      );
    } else {
      warnings.push(
        `PASSWORD_HASH_COST=${e.PASSWORD_HASH_COST} is below the secure default of ${SECURE_PASSWORD_HASH_COST}; use it only for tests and benchmarks.`,
      );
    }
  }
  if (e.POW_OPTIONAL && !e.BENCHMARK) {
    problems.push("POW_OPTIONAL=1 lets a registration skip the proof of work and is refused: unset it, or also set BENCHMARK=1 for a benchmark run.");
  } else if (e.POW_OPTIONAL) {
    warnings.push("POW_OPTIONAL is on: a registration without a proof of work is accepted. Benchmarks only; never on a public site.");
  }
  // Browsers keep a __Secure- or __Host- cookie only with Secure (and a __Host- one only without
  // Domain): refused where that cannot hold, and always Secure otherwise, even over http.
  const cookiePrefix = /^__(Host|Secure)-/i.exec(e.SESSION_COOKIE_NAME)?.[0];
  if (cookiePrefix && e.SESSION_COOKIE_SECURE === "false") {
    problems.push(
      `SESSION_COOKIE_NAME=${e.SESSION_COOKIE_NAME} starts with ${cookiePrefix}, which browsers keep only with Secure, and SESSION_COOKIE_SECURE=false drops it: unset SESSION_COOKIE_SECURE, or choose a name without the prefix.`,
    );
  }
  if (cookiePrefix && /^__Host-$/i.test(cookiePrefix) && e.SESSION_COOKIE_DOMAIN) {
    problems.push(
      `SESSION_COOKIE_NAME=${e.SESSION_COOKIE_NAME} starts with __Host-, which browsers keep only without Domain, and SESSION_COOKIE_DOMAIN is set: unset SESSION_COOKIE_DOMAIN, or use the __Secure- prefix to share the cookie with subdomains.`,
    );
  }

  // The path without the image must cost a bot at least what the one with it does.
  const powBase = e.CAPTCHA_TEST_MODE ? { normal: POW_MAX_NUMBER.test, accessible: POW_MAX_NUMBER.test } : POW_MAX_NUMBER;
  const powNormal = e.POW_MAX_NUMBER ?? powBase.normal;
  const powAccessible = e.POW_MAX_NUMBER_ACCESSIBLE ?? powBase.accessible;
  if (powAccessible < powNormal) {
    problems.push(
      `POW_MAX_NUMBER_ACCESSIBLE (${powAccessible}${e.POW_MAX_NUMBER_ACCESSIBLE === undefined ? ", the default" : ""}) is below POW_MAX_NUMBER (${powNormal}), so registering without the captcha would cost a bot less work than with it: set POW_MAX_NUMBER_ACCESSIBLE to at least ${powNormal}.`,
    );
  }
  if (e.CAPTCHA_TEST_MODE) {
    warnings.push("CAPTCHA_TEST_MODE is on: every captcha response reveals its answer in X-Captcha-Answer. Never enable it on a public site.");
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    port: e.PORT,
    hostname: e.HOSTNAME,
    production,
    store: e.SESSION_STORE,
    secrets,
    databaseUrl: e.DATABASE_URL!,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redis,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    cookie: {
      name: e.SESSION_COOKIE_NAME,
      secure: cookiePrefix || e.SESSION_COOKIE_SECURE === "true" ? "always" : e.SESSION_COOKIE_SECURE === "auto" ? "auto" : "never",
      domain: e.SESSION_COOKIE_DOMAIN,
    },
    idleTimeoutMs: e.SESSION_IDLE_TIMEOUT_SECONDS * 1000,
    // Never below what such a session holds: the captcha, or the 5-minute pass a taken name leaves (lib/captcha/pass.ts).
    // Never above the idle timeout: a captcha set longer is refused above, and the default one and the pass are cut to it.
    anonymousIdleTimeoutMs: Math.min(e.SESSION_IDLE_TIMEOUT_SECONDS, Math.max(e.SESSION_ANONYMOUS_IDLE_TIMEOUT_SECONDS, captchaTtlSeconds, PASS_TTL_SECONDS)) * 1000,
    absoluteTimeoutMs: e.SESSION_ABSOLUTE_TIMEOUT_SECONDS * 1000,
    captchaTtlMs: captchaTtlSeconds * 1000,
    passTtlMs: Math.min(PASS_TTL_SECONDS, e.SESSION_IDLE_TIMEOUT_SECONDS) * 1000,
    captchaTestMode: e.CAPTCHA_TEST_MODE,
    trustProxy: e.TRUST_PROXY > 0,
    proxyHops: e.TRUST_PROXY,
    passwordHashCost: e.PASSWORD_HASH_COST,
    powOptional: e.POW_OPTIONAL && e.BENCHMARK,
    instanceName: e.INSTANCE_NAME,
    powMaxNumber: { normal: e.POW_MAX_NUMBER, accessible: e.POW_MAX_NUMBER_ACCESSIBLE },
    captchaPoolSize: e.CAPTCHA_POOL_SIZE,
    metricsToken: e.METRICS_TOKEN,
    rateLimits: {
      captcha: parseRate(e.RATE_LIMIT_CAPTCHA, e.RATE_LIMIT_MULTIPLIER),
      register: parseRate(e.RATE_LIMIT_REGISTER, e.RATE_LIMIT_MULTIPLIER),
      registerAccessible: parseRate(e.RATE_LIMIT_REGISTER_ACCESSIBLE, e.RATE_LIMIT_MULTIPLIER),
      registerAccessibleNetwork: scaledRate(parseRate(e.RATE_LIMIT_REGISTER_ACCESSIBLE, e.RATE_LIMIT_MULTIPLIER), ACCESSIBLE_NETWORK_SHARE),
      login: parseRate(e.RATE_LIMIT_LOGIN, e.RATE_LIMIT_MULTIPLIER),
      loginAccount: parseRate(e.RATE_LIMIT_LOGIN_ACCOUNT, e.RATE_LIMIT_MULTIPLIER),
    },
    warnings,
  };
}

let cached: Config | undefined;

/** The process's configuration, parsed once. */
/**
 * The warnings already printed by this process. server.ts and Next's bundles each load their own
 * copy of this module, so the set lives on the process, and a warning is printed once.
 */
const printed: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for("holdfast.config.warnings")] ??= new Set<string>()) as Set<string>;

export function config(): Config {
  if (!cached) {
    cached = parseConfig(process.env);
    for (const w of cached.warnings.filter((w) => !printed.has(w))) {
      printed.add(w);
      console.warn(`[holdfast] warning: ${w}`);
    }
  }
  return cached;
}

/** REDIS_CLUSTER_NODES: seed nodes as `host:port,host:port`; each mistake gets its own sentence. */
function clusterNodes(value: string, problems: string[]): string[] | undefined {
  const entries = value.split(",").map((entry) => entry.trim());
  if (entries.every((entry) => entry === "")) {
    problems.push("REDIS_CLUSTER_NODES is empty: list the cluster's nodes as host:port separated by commas, such as 10.0.0.5:6379,10.0.0.6:6379, or unset it.");
    return undefined;
  }
  const before = problems.length;
  for (const [index, entry] of entries.entries()) {
    // An entry with anything but a host, a port and brackets in it may hold a user and password
    // (redis://default:secret@host:port, host:6379?password=…): named by its place, never printed.
    const shown = /^[A-Za-z0-9.:[\]-]{1,100}$/.test(entry) ? `"${entry}"` : `number ${index + 1} (not printed: it may hold credentials)`;
    if (entry === "") {
      problems.push("REDIS_CLUSTER_NODES has an empty entry (two commas, or one at an end): remove it.");
      continue;
    }
    if (/^[a-z]+:\/\//i.test(entry)) {
      problems.push(`REDIS_CLUSTER_NODES entry ${shown} is a URL: write host:port only, such as 10.0.0.5:6379.`);
      continue;
    }
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(entry);
    if (!match) {
      problems.push(`REDIS_CLUSTER_NODES entry ${shown} is not host:port: write it as 10.0.0.5:6379 (an IPv6 address in brackets, [::1]:6379).`);
      continue;
    }
    const port = Number(match[2]);
    if (port < 1 || port > 65535) problems.push(`REDIS_CLUSTER_NODES entry ${shown} has port ${match[2]}: use a port from 1 to 65535.`);
  }
  return problems.length === before ? entries : undefined;
}

/**
 * Why the server could not listen where PORT and HOSTNAME say (the error's code, such as
 * EADDRINUSE), as one sentence naming the port or host and the fix.
 */
export function listenProblem(code: string | undefined, { port, hostname }: { port: number; hostname: string }): string {
  const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return `Port ${port} on ${hostname} is already in use by another process: stop that process, or set PORT to a free port.`;
    case "EACCES":
      return `Port ${port} on ${hostname} may not be opened by this user (ports below 1024 need privileges): set PORT to 1024 or above, such as 3000, and let a proxy serve ports 80 and 443.`;
    case "EADDRNOTAVAIL":
      return `HOSTNAME=${hostname} is not an address of this machine: set HOSTNAME to one of its addresses, to 0.0.0.0 for every interface, or leave it unset for 127.0.0.1.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `HOSTNAME=${hostname} does not resolve to an address: set HOSTNAME to an IP address of this machine, to 0.0.0.0 for every interface, or leave it unset for 127.0.0.1.`;
    default:
      return `The server cannot listen on ${address} (${code ?? "no error code"}): check PORT and HOSTNAME.`;
  }
}
