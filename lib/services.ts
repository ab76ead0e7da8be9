import { createSessions, type Sessions, type SessionStore } from "@holdfast/session";
import type { RedisTransport } from "@holdfast/session/redis";
import { nodeRestTransport } from "@holdfast/session/redis/rest-node";
import { clusterTransport, tcpTransport } from "@holdfast/session/redis/tcp";
import { createCachedStore } from "@holdfast/session/stores/cached";
import { createCookieStore } from "@holdfast/session/stores/cookie";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { createPostgresStore } from "@holdfast/session/stores/postgres";
import { createRedisStore } from "@holdfast/session/stores/redis";
import type { CaptchaLedger } from "./captcha/ledger";
import { memoryLedger } from "./captcha/ledgers/memory";
import { postgresLedger } from "./captcha/ledgers/postgres";
import { redisLedger } from "./captcha/ledgers/redis";
import { closeDb, getDb, sql, type Db } from "./db";
import type { Config } from "./env";
import { isHttps, siteOrigin } from "./http/request";
import { log } from "./log";
import { isLoopback } from "./loopback";
import { databaseLimiter } from "./ratelimit/database";
import { memoryLimiter, type RateLimiter } from "./ratelimit/limiter";
import { redisLimiter } from "./ratelimit/redis";
import { withLedgerSignals, withStoreSignals } from "./signals/store-signals";

/** What a request of this app can reach: made once per process from the parsed configuration. */
export interface Services {
  config: Config;
  db: Db;
  store: SessionStore;
  /** The store with this app's cookie and timeouts: opens a request's session and writes its cookie. */
  sessions: Sessions;
  /** Where captchas, passes and challenges are made single-use: the store's backend where it is shared. */
  captchas: CaptchaLedger;
  /** Rate limits, kept where the sessions are shared: Redis for redis, Postgres otherwise (cached included: it outlives Redis). */
  limiter: RateLimiter;
  /** Closes what these services opened (the database client and any Redis connection). */
  close(): Promise<void>;
}

function redisTransport(redis: NonNullable<Config["redis"]>): RedisTransport {
  switch (redis.transport) {
    case "tcp":
      return tcpTransport(redis.url, { logger: log });
    case "cluster":
      return clusterTransport(redis.nodes, {
        logger: log,
        defaults: { ...(redis.username ? { username: redis.username } : {}), ...(redis.password ? { password: redis.password } : {}), ...(redis.tls ? { socket: { tls: true } } : {}) },
      });
    case "rest":
      // Upstash over undici: this app runs on Node, where fetch costs several times the CPU per command.
      return nodeRestTransport(redis.url, redis.token);
  }
}

/** The composition root: the one place that turns SESSION_STORE into a store, a ledger and a limiter. */
export function createServices(config: Config): Services {
  const db = getDb(config.databaseUrl, config.databasePoolSize);
  // The error's name and code only: a driver's message may quote the statement or the connection.
  const sweepFailed = (what: string) => (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    log.warn(`${what} sweep failed: ${(error as Error).name}${typeof code === "string" ? ` (${code})` : ""}`);
  };
  const onSweepError = sweepFailed("expired-captcha");
  const onLimitSweepError = sweepFailed("expired rate-limit");
  const build = (store: SessionStore, captchas: CaptchaLedger, limiter: RateLimiter, closeStore = async () => {}): Services => ({
    config,
    db,
    store,
    // Every round trip of the request path is timed into the process's signals.
    sessions: sessionsOver(config, withStoreSignals(store)),
    captchas: withLedgerSignals(captchas, ledgerBackend(config)),
    limiter,
    async close() {
      await closeStore();
      await closeDb(db);
    },
  });
  const postgres = () => createPostgresStore(sql(db), { logger: log });
  switch (config.store) {
    case "memory":
      return build(createMemoryStore(), memoryLedger(), memoryLimiter());
    case "cookie": {
      const store = createCookieStore({
        secrets: config.secrets,
        cookieName: config.cookie.name,
        ttlSeconds: Math.ceil(config.absoluteTimeoutMs / 1000),
      });
      // A sealed cookie can be replayed, so single use needs a server-side record: the users' database.
      return build(store, postgresLedger(db, { onSweepError }), databaseLimiter(db, { onSweepError: onLimitSweepError }));
    }
    case "database":
      return build(postgres(), postgresLedger(db, { onSweepError }), databaseLimiter(db, { onSweepError: onLimitSweepError }));
    case "redis": {
      const redis = config.redis!;
      const transport = redisTransport(redis);
      const store = createRedisStore(transport, { prefix: redis.prefix, waitForReplicas: config.redisWaitReplicas, logger: log });
      return build(store, redisLedger(transport, redis.prefix), redisLimiter(transport, redis.prefix), () => transport.close());
    }
    case "cached": {
      const redis = config.redis!;
      const transport = redisTransport(redis);
      const store = createCachedStore(postgres(), createRedisStore(transport, { prefix: redis.prefix }), { logger: log });
      // The ledger must be one place: a take in Redis with the database as fallback would let a
      // take in each succeed for one captcha. The database's one-row UPDATE is atomic and survives a flush.
      // The limits are counted there too: this store promises to serve while Redis is down, and a
      // limiter in Redis would then answer every limited request 503.
      return build(store, postgresLedger(db, { onSweepError }), databaseLimiter(db, { onSweepError: onLimitSweepError }), () => transport.close());
    }
  }
}

/** Where a configuration keeps its captcha ledger, as the signals name it. */
function ledgerBackend(config: Config): string {
  return config.store === "memory" ? "memory" : config.store === "redis" ? "redis" : "database";
}

/** The store with this app's cookie settings and timeouts (tests wrap a store and call it again). */
export function sessionsOver(config: Config, store: SessionStore): Sessions {
  return createSessions({
    store,
    cookie: { name: config.cookie.name, domain: config.cookie.domain, secure: domainChecked(config, secureRule(config)) },
    idleTimeoutMs: config.idleTimeoutMs,
    anonymousIdleTimeoutMs: config.anonymousIdleTimeoutMs,
    absoluteTimeoutMs: config.absoluteTimeoutMs,
  });
}

/**
 * With SESSION_COOKIE_DOMAIN set, a request to a host name that Domain does not cover (the
 * browser refuses such a cookie, and every captcha check then says no_session, which reads as
 * "cookies blocked") is said in the log, at most every ten minutes, with the fix. Called wherever
 * the cookie is written, as part of its Secure decision.
 */
function domainChecked(config: Config, rule: boolean | ((request: { headers: Headers; url?: string }) => boolean)) {
  const domain = config.cookie.domain?.replace(/^\./, "").toLowerCase();
  if (!domain) return rule;
  let saidAt = -Infinity;
  return (request: { headers: Headers; url?: string }) => {
    if (Date.now() - saidAt >= 600_000) {
      let host = "";
      try {
        host = new URL(siteOrigin(request, config.proxyHops)).hostname.toLowerCase();
      } catch {
        // No host to judge.
      }
      // Not for an address (a scanner that asks by IP) or loopback: no site is served there by
      // name. Only a browser's request (it sends Sec-Fetch-Site; a scanner that names any Host
      // does not) is a person meeting the bug, and only it may decide what the warning says.
      const named = host !== "" && !/^[\d.]+$|^\[|^localhost$/.test(host) && request.headers.has("sec-fetch-site");
      if (named && host !== domain && !host.endsWith(`.${domain}`)) {
        saidAt = Date.now();
        log.warn(
          `a request came to ${host.slice(0, 100)}, which SESSION_COOKIE_DOMAIN=${domain} does not cover: browsers refuse the session cookie there, so every captcha check says no_session. Set SESSION_COOKIE_DOMAIN to ${host.slice(0, 100)} or a parent of it, or leave it unset for a host-only cookie.`,
        );
      }
    }
    return typeof rule === "function" ? rule(request) : rule;
  };
}

function secureRule(config: Config): boolean | ((request: { headers: Headers; url?: string }) => boolean) {
  if (config.cookie.secure === "never") return false;
  if (config.cookie.secure === "always") {
    // Always Secure, and a request that came over plain http to a real host: that browser drops
    // the cookie and the person reads "cookies blocked". Said in the log, once per process.
    let said = false;
    return (request) => {
      if (!said && !isHttps(request, config.proxyHops)) {
        let host: string;
        try {
          host = new URL(siteOrigin(request, config.proxyHops)).host.slice(0, 100);
        } catch {
          host = "this site";
        }
        if (!isLoopback(host)) {
          said = true;
          log.warn(
            `a request to ${host} came over http, and the session cookie is always Secure (SESSION_COOKIE_SECURE=true or a __Secure-/__Host- name): browsers drop it there, so every captcha check says no_session. Serve the site over https, or set TRUST_PROXY if a proxy terminates TLS.`,
          );
        }
      }
      return true;
    };
  }
  return (request) => isHttps(request, config.proxyHops);
}
