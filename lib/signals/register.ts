import { createHash, createHmac } from "node:crypto";
import { configureProcessSignals, generatedInstanceId } from "./registry";

/** The parts of the parsed Config the signals are labelled from (structurally, lib/env's Config). */
export interface SignalsConfig {
  instanceName?: string;
  secrets?: readonly string[];
  store: string;
  databaseUrl?: string;
  redis?: { url?: string; nodes?: string[]; prefix: string };
}

const DEFAULT_PORTS: Record<string, string> = { "redis:": "6379", "rediss:": "6379", "postgres:": "5432", "postgresql:": "5432" };
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Where a URL points, without its user, password, query or token, in one spelling: the default
 * port written out, a loopback name as "loopback", Redis's database 0 as /0 and postgresql: as
 * postgres:, so instances that reach one server by two spellings are not told apart.
 */
function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    const protocol = u.protocol === "postgresql:" ? "postgres:" : u.protocol;
    const host = u.hostname.toLowerCase();
    const port = u.port || DEFAULT_PORTS[u.protocol] || "";
    const pathname = protocol.startsWith("redis") && (u.pathname === "" || u.pathname === "/") ? "/0" : u.pathname;
    return `${protocol}//${LOOPBACK.has(host) ? "loopback" : host}:${port}${pathname}`;
  } catch {
    return "unparsed";
  }
}

function redisWhere(redis: NonNullable<SignalsConfig["redis"]>): string {
  if (redis.nodes) return `cluster ${[...redis.nodes].sort().join(",")}`;
  return redis.url ? endpointOf(redis.url) : "none";
}

/**
 * A short fingerprint of the backends this process's sessions, captchas and users live in: equal
 * on instances that share them, different on one that points at another Redis, key prefix or
 * database (with a Redis store too: users, and the cached store's ledger, live in the database).
 * Hashed so that a scrape shows no host names; credentials never enter it.
 */
export function storeTarget(config: SignalsConfig, instance: string): string {
  const where =
    config.store === "memory"
      ? `memory ${instance} ${process.pid}`
      : config.store === "redis" || config.store === "cached"
        ? `redis ${config.redis ? `${redisWhere(config.redis)} ${config.redis.prefix}` : "none"} database ${config.databaseUrl ? endpointOf(config.databaseUrl) : "none"}`
        : `database ${config.databaseUrl ? endpointOf(config.databaseUrl) : "none"}`;
  return createHash("sha256").update(where).digest("hex").slice(0, 8);
}

/**
 * 8 hex characters of an HMAC of a constant under the first secret: instances that seal and sign
 * with one secret show the same, one deployed with another shows its own (its cookies, captchas'
 * keys and challenges' signatures then fail on the others). Nothing about the secret can be
 * learned from it but a guess's check, and the metrics endpoint that shows it wants METRICS_TOKEN.
 */
export function secretFingerprint(secrets: readonly string[] | undefined): string {
  const first = secrets?.[0];
  return first ? createHmac("sha256", first).update("holdfast secret fingerprint v1").digest("hex").slice(0, 8) : "";
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
  return configureProcessSignals({ instance, store: config.store, target: storeTarget(config, instance), secret: secretFingerprint(config.secrets) });
}
