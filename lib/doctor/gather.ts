import pg from "pg";
import { createClient } from "redis";
import { ConfigError, parseConfig, type Env } from "../env";
import { databaseProblem, unappliedMigrations } from "../migrate";
import { createServices } from "../services";
import { noAnswerCause, WAIT_MS, type Facts } from "./diagnose";

export { noAnswerCause };

const TIMEOUT_MS = WAIT_MS;

function within<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS).unref())]);
}

async function reachable(run: () => Promise<unknown>): Promise<boolean> {
  return within(run()).then(
    () => true,
    () => false,
  );
}

/**
 * How many connections the database at `url` allows this app, and whether a pooler answers in
 * its place. A pooler (PgBouncer, a managed one) gives its clients a backend id of its own
 * making, and usually listens on another port than the server it forwards to: either one
 * differing from what the server says of itself means the connection count that matters is the
 * pooler's, not max_connections.
 */
export async function databaseConnections(url: string): Promise<NonNullable<Facts["databaseConnections"]>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS });
  await client.connect();
  try {
    const { rows } = await client.query<{ max: number; reserved: number; pid: number; port: number | null }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int + COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved,
              pg_backend_pid() AS pid, inet_server_port() AS port`,
    );
    const row = rows[0]!;
    const urlPort = Number(new URL(url).port || 5432);
    const givenPid = (client as unknown as { processID: number | null }).processID;
    const pooler = givenPid !== row.pid || (row.port !== null && row.port !== urlPort);
    return { max: row.max, reserved: row.reserved, pooler };
  } finally {
    await client.end();
  }
}

/** How a Redis over TCP handles a full memory: its limit, its policy, its use, and what it evicted so far. */
async function redisMemory(url: string): Promise<NonNullable<Facts["redisMemory"]>> {
  const client = createClient({ url, socket: { connectTimeout: TIMEOUT_MS, reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  try {
    const info = `${await client.info("memory")}\n${await client.info("stats")}`;
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";
    return { maxBytes: Number(field("maxmemory")) || 0, usedBytes: Number(field("used_memory")) || 0, policy: field("maxmemory_policy"), evictedKeys: Number(field("evicted_keys")) || 0 };
  } finally {
    await client.quit().catch(() => {});
  }
}

interface HealthBody {
  store?: string;
  /** INSTANCE_NAME, or the process's opaque id. */
  instance?: unknown;
  time?: number;
  proxy?: { forwardedHeadersSeen?: boolean; trustProxy?: boolean };
  /** What still serves but without a part of it: `cache` while the cached store's Redis fails. */
  degraded?: unknown;
  error?: { code?: unknown };
}

/** Collects the facts `diagnose` judges: the configuration, round trips, and what a running site says. */
export async function gather(env: Env, options: { url?: string; instances?: number; embeddedDatabase?: boolean } = {}): Promise<Facts> {
  const facts: Facts = { url: options.url, instancesPlanned: options.instances, embeddedDatabase: options.embeddedDatabase };
  try {
    facts.config = parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    facts.configErrors = error.problems;
  }

  if (facts.config) {
    const services = createServices(facts.config);
    try {
      facts.reach = {
        store: await reachable(() => services.store.ping()),
        database: await reachable(() => services.db.$queryRaw`SELECT 1`),
      };
      const redis = facts.config.redis;
      if (facts.reach.store && redis?.transport === "tcp") facts.redisMemory = await within(redisMemory(redis.url)).catch(() => undefined);
      if (!facts.reach.database) {
        // Why, in one sentence with its fix, from a plain connection's error.
        facts.databaseProblem = await within(unappliedMigrations(facts.config.databaseUrl)).then(
          () => undefined,
          (error: unknown) => databaseProblem(error, facts.config!.databaseUrl) ?? undefined,
        );
      }
      if (facts.reach.database) {
        facts.pendingMigrations = await within(unappliedMigrations(facts.config.databaseUrl));
        facts.databaseConnections = await within(databaseConnections(facts.config.databaseUrl)).catch(() => undefined);
        const before = Date.now();
        const [row] = await within(services.db.$queryRaw<{ now: Date }[]>`SELECT now() AS now`);
        facts.databaseSkewMs = row!.now.getTime() - (before + Date.now()) / 2;
      }
    } finally {
      await services.close().catch(() => {});
    }
  }

  if (options.url) {
    const site: NonNullable<Facts["site"]> = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, trustProxyBy: {}, healthOk: true };
    // Enough requests for round-robin to visit every instance a few times.
    const attempts = Math.max(6, (options.instances ?? 3) * 3);
    for (let i = 0; i < attempts; i++) {
      const before = Date.now();
      let failure: unknown;
      const response: Response | null = await within(fetch(`${options.url}/api/health`)).catch((error: unknown) => ((failure = error), null));
      if (!response) {
        site.noAnswer ??= { count: 0, of: attempts, cause: noAnswerCause(failure) };
        site.noAnswer.count++;
        continue;
      }
      const midpoint = (before + Date.now()) / 2;
      const body = (await response.json().catch(() => ({}))) as HealthBody;
      site.healthOk &&= response.status === 200;
      if (response.status !== 200 && typeof body.error?.code === "string") site.healthCode ??= body.error.code;
      site.store = body.store ?? site.store;
      site.forwardedHeadersSeen ||= body.proxy?.forwardedHeadersSeen === true;
      const name = response.headers.get("x-holdfast-instance") ?? (typeof body.instance === "string" ? body.instance : "the site");
      if (typeof body.proxy?.trustProxy === "boolean") site.trustProxyBy![name] = body.proxy.trustProxy;
      if (Array.isArray(body.degraded) && body.degraded.includes("cache") && !site.cacheDownOn?.includes(name)) (site.cacheDownOn ??= []).push(name);
      // Trusted only when every instance that said trusts.
      site.trustProxy = Object.values(site.trustProxyBy!).length > 0 && Object.values(site.trustProxyBy!).every(Boolean);
      if (typeof body.time === "number") site.instanceSkewMs[name] = body.time - midpoint;
    }
    const captcha = await within(fetch(`${options.url}/api/captcha`)).catch(() => null);
    site.captchaAnswerExposed = captcha?.headers.has("x-captcha-answer") ?? false;
    site.cookie = sessionCookie(captcha?.headers.getSetCookie() ?? [], facts.config?.cookie.name);
    facts.site = site;
  }
  return facts;
}


/**
 * The attributes a browser weighs of the session cookie among a response's Set-Cookie lines: the
 * one named `name`, else the first that sets a value. Undefined when none is set.
 */
export function sessionCookie(lines: string[], name?: string): { secure: boolean; domain?: string } | undefined {
  // The site may name its cookie otherwise than this environment does: then the one that sets a value.
  const line = (name ? lines.find((l) => l.startsWith(`${name}=`)) : undefined) ?? lines.find((l) => /^[^=;]+=[^;]/.test(l));
  if (!line) return undefined;
  const attributes = line.split(";").slice(1).map((a) => a.trim());
  const domain = attributes.find((a) => /^domain=/i.test(a))?.slice("domain=".length);
  return { secure: attributes.some((a) => /^secure$/i.test(a)), ...(domain ? { domain } : {}) };
}
