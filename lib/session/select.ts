import { closeDb, getDb, type Db } from "../db";
import type { Config } from "../env";
import { databaseLimiter } from "../ratelimit/database";
import { memoryLimiter, type RateLimiter } from "../ratelimit/limiter";
import { redisLimiter } from "../ratelimit/redis";
import type { CaptchaLedger, SessionStore } from "./store";
import { createCachedStore } from "./stores/cached";
import { createCookieStore } from "./stores/cookie";
import { createDatabaseStore } from "./stores/database";
import { createMemoryStore } from "./stores/memory";
import { createRedisStore } from "./stores/redis";
import { restTransport } from "./stores/redis-rest";
import { tcpTransport } from "./stores/redis-tcp";

export interface Services {
  config: Config;
  db: Db;
  store: SessionStore;
  /** Where captchas are made single-use: the session store's own backend where it has one. */
  captchas: CaptchaLedger;
  /** Rate limits, kept where the sessions are shared: Redis for redis and cached, Postgres otherwise. */
  limiter: RateLimiter;
  /** Closes what these services opened (the database client and any Redis connection). */
  close(): Promise<void>;
}

/** The one place that turns SESSION_STORE into a store. */
export function createServices(config: Config): Services {
  const db = getDb(config.databaseUrl);
  const services = (store: SessionStore, captchas: CaptchaLedger, limiter: RateLimiter, closeStore = async () => {}): Services => ({
    config,
    db,
    store,
    captchas,
    limiter,
    async close() {
      await closeStore();
      await closeDb(db);
    },
  });
  switch (config.store) {
    case "memory": {
      const store = createMemoryStore();
      return services(store, store.captchas, memoryLimiter());
    }
    case "cookie": {
      const store = createCookieStore({
        secrets: config.secrets,
        cookieName: config.cookie.name,
        ttlSeconds: Math.ceil(config.absoluteTimeoutMs / 1000),
      });
      // A sealed cookie can be replayed, so single use needs a server-side record: the users' database.
      return services(store, createDatabaseStore(db).captchas, databaseLimiter(db));
    }
    case "database": {
      const store = createDatabaseStore(db);
      return services(store, store.captchas, databaseLimiter(db));
    }
    case "redis": {
      const redis = config.redis!;
      const transport = redis.transport === "tcp" ? tcpTransport(redis.url) : restTransport(redis.url, redis.token);
      const store = createRedisStore(transport, redis.prefix);
      return services(store, store.captchas, redisLimiter(transport, redis.prefix), () => transport.close());
    }
    case "cached": {
      const redis = config.redis!;
      const transport = redis.transport === "tcp" ? tcpTransport(redis.url) : restTransport(redis.url, redis.token);
      const store = createCachedStore(createDatabaseStore(db), createRedisStore(transport, redis.prefix));
      return services(store, store.captchas, redisLimiter(transport, redis.prefix), () => transport.close());
    }
  }
}
