import { createHash } from "node:crypto";
import { configureProcessSignals, generatedInstanceId } from "./registry";

/** The parts of the parsed Config the signals are labelled from (structurally, lib/env's Config). */
export interface SignalsConfig {
  instanceName?: string;
  store: string;
  databaseUrl?: string;
  redis?: { url?: string; nodes?: string[]; prefix: string };
}

/** Where a URL points, without its user, password, query or token. */
function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname.toLowerCase()}:${u.port}${u.pathname}`;
  } catch {
    return "unparsed";
  }
}

function redisWhere(redis: NonNullable<SignalsConfig["redis"]>): string {
  if (redis.nodes) return `cluster ${[...redis.nodes].sort().join(",")}`;
  return redis.url ? endpointOf(redis.url) : "none";
}

/**
 * A short fingerprint of the backend this process's sessions and captchas live in: equal on
 * instances that share it, different on one that points at another Redis, key prefix or
 * database. Hashed so that a scrape shows no host names; credentials never enter it.
 */
export function storeTarget(config: SignalsConfig, instance: string): string {
  const where =
    config.store === "memory"
      ? `memory ${instance} ${process.pid}`
      : config.store === "redis" || config.store === "cached"
        ? `redis ${config.redis ? `${redisWhere(config.redis)} ${config.redis.prefix}` : "none"}`
        : `database ${config.databaseUrl ? endpointOf(config.databaseUrl) : "none"}`;
  return createHash("sha256").update(where).digest("hex").slice(0, 8);
}

/**
 * For Next's `instrumentation.ts` `register()`: sets up the process's MeterProvider and names
 * its instance and store. Safe to call any number of times (the first call wins) and a no-op
 * outside the Node.js runtime, so the edge runtime never loads the metrics SDK through it.
 * It opens no port and starts no timer, so `next build` and `next dev` are unaffected.
 */
export function registerSignals(runtime: string | undefined, config: SignalsConfig): boolean {
  if (runtime !== "nodejs") return false;
  const instance = config.instanceName ?? generatedInstanceId();
  return configureProcessSignals({ instance, store: config.store, target: storeTarget(config, instance) });
}
