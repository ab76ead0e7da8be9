import { MEMORY_IN_PRODUCTION, type Config } from "../env";
import { isLoopback } from "../loopback";

/**
 * `npm run doctor`: the causes of "wrong captcha sometimes" and its cousins, each named with
 * its fix. This module only judges facts; gather.ts collects them from the environment and,
 * optionally, a running site.
 */

export interface Finding {
  check: string;
  problem: string;
  fix: string;
}

export interface Facts {
  config?: Config;
  /** The configuration's own refusals, one sentence each (naming the variable and the fix). */
  configErrors?: string[];
  /** Shipped migrations the database lacks; whether that database is the embedded default. */
  pendingMigrations?: string[];
  embeddedDatabase?: boolean;
  /** How many instances the operator plans to run (--instances). */
  instancesPlanned?: number;
  /** The base URL of a running site (--url). */
  url?: string;
  /** Whether the store and the database answered a round trip. */
  reach?: { store: boolean; database: boolean };
  /** A Redis over TCP's memory limit (0: none), its policy when full, its use, and the keys it evicted so far. */
  redisMemory?: { maxBytes: number; usedBytes: number; policy: string; evictedKeys: number };
  /** Why the database did not answer, and the fix (lib/migrate.ts's databaseProblem), when known. */
  databaseProblem?: { problem: string; fix: string };
  /** What the running site said about itself. */
  site?: {
    /** Instance name → its clock minus ours, in ms (round-trip midpoint). */
    instanceSkewMs: Record<string, number>;
    store?: string;
    captchaAnswerExposed: boolean;
    forwardedHeadersSeen: boolean;
    trustProxy: boolean;
    /** Instance name → whether it trusts proxy headers (TRUST_PROXY), as each one's /api/health said. */
    trustProxyBy?: Record<string, boolean>;
    /** Whether every /api/health that answered said 200 (requests with no answer are in noAnswer). */
    healthOk: boolean;
    /** Requests to /api/health that got no HTTP answer at all, of how many sent, and why the first did not. */
    noAnswer?: { count: number; of: number; cause: NoAnswerCause };
    /** The error code of a failing /api/health (database_not_migrated, session_store_unavailable). */
    healthCode?: string;
    /** Instances whose /api/health said their store's cache (the cached store's Redis) fails. */
    cacheDownOn?: string[];
    /** The session cookie as GET /api/captcha set it: what a browser at `url` is asked to keep. */
    cookie?: { secure: boolean; domain?: string };
  };
  /** The database's clock minus ours, in ms. */
  databaseSkewMs?: number;
  /**
   * The database's connection slots (max_connections, and those reserved for superusers) and
   * whether DATABASE_URL reaches it through a pooler, whose own limit then applies instead.
   */
  databaseConnections?: { max: number; reserved: number; pooler: boolean };
}

/** How long the doctor waits for each answer (a round trip, a request to the site). */
export const WAIT_MS = 4_000;

/** Why a request to the site got no answer: connection refused, a name that does not resolve, a timeout, or else. */
export type NoAnswerCause = "refused" | "dns" | "timeout" | "other";

const NO_ANSWER: Record<NoAnswerCause, { why: string; fix: string }> = {
  refused: {
    why: "the connection was refused, so nothing listens at that host and port",
    fix: "Start the site (`npm start`, or `npm run dev`), or correct --url to the host and port it serves on (its PORT and HOSTNAME).",
  },
  dns: {
    why: "its host name does not resolve",
    fix: "Correct the host name in --url, or give the site's IP address.",
  },
  timeout: {
    why: `no answer came within ${WAIT_MS / 1000} seconds`,
    fix: "Check that the site runs and that no firewall or proxy between here and --url holds the connection, then run the doctor again.",
  },
  other: {
    why: "the connection failed",
    fix: "Check that the site runs and that --url is the address it serves on.",
  },
};

/** Why a request got no HTTP answer at all, from fetch's error (its cause carries the socket's code). */
export function noAnswerCause(error: unknown): NoAnswerCause {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | undefined)?.cause;
  // A name with several addresses (localhost: ::1 and 127.0.0.1) fails with one error per address.
  const code = String(cause?.code ?? cause?.errors?.[0]?.code ?? "");
  if (code === "ECONNREFUSED") return "refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return "dns";
  if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT" || (error instanceof Error && error.message === "timed out")) return "timeout";
  return "other";
}

/** Why a request got no answer, in words: "the connection was refused, so nothing listens…". */
export function noAnswerWhy(error: unknown): string {
  return NO_ANSWER[noAnswerCause(error)].why;
}

export const MAX_SKEW_MS = 2_000;

function domainMatches(host: string, domain: string): boolean {
  const d = domain.replace(/^\./, "").toLowerCase();
  const h = host.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}

const MEMORY_PROBLEM = (why: string) => `SESSION_STORE=memory with ${why}: each process keeps its own sessions, so a captcha issued by one is unknown to the next.`;
const MEMORY_FIX = "Use SESSION_STORE=cookie, database, redis or cached.";

export function diagnose(facts: Facts): Finding[] {
  const findings: Finding[] = [];
  const add = (check: string, problem: string, fix: string) => findings.push({ check, problem, fix });
  const { config, site } = facts;

  for (const sentence of facts.configErrors ?? []) {
    // The configuration refuses it for the very reason this check exists: named as this check.
    if (sentence === MEMORY_IN_PRODUCTION) {
      add("memory-store", MEMORY_PROBLEM("NODE_ENV=production"), MEMORY_FIX);
      continue;
    }
    // Each sentence already says its fix after the colon.
    const [problem, ...fix] = sentence.split(": ");
    add(/^SESSION_SECRET/.test(sentence) ? "secret" : "config", `${problem}.`, fix.join(": ").replace(/\.$/, "") + ".");
  }

  if (facts.pendingMigrations?.length) {
    const n = facts.pendingMigrations.length;
    add(
      "database-not-migrated",
      `The database lacks ${n} migration${n === 1 ? "" : "s"} this build ships (${facts.pendingMigrations.join(", ")}): /api/health answers 503 database_not_migrated and sign-ups fail.`,
      facts.embeddedDatabase ? "Run `npm run db:migrate`, or start the app with `npm run dev` or `npm start`, which migrate the embedded database." : "Run `npm run db:migrate` with this DATABASE_URL.",
    );
  }

  const instancesSeen = Object.keys(site?.instanceSkewMs ?? {}).length;
  const memory = config?.store === "memory" || site?.store === "memory";
  if (memory && !findings.some((f) => f.check === "memory-store") && (config?.production || (facts.instancesPlanned ?? 1) > 1 || instancesSeen > 1)) {
    add(
      "memory-store",
      MEMORY_PROBLEM(instancesSeen > 1 ? `${instancesSeen} instances answering` : config?.production ? "NODE_ENV=production" : `${facts.instancesPlanned} instances planned`),
      MEMORY_FIX,
    );
  }

  // The site's own Set-Cookie decides where one was read; otherwise this environment's settings.
  // Browsers keep a Secure cookie over http on loopback (a secure context), as the server's own
  // warning knows: there it is no fault.
  const http = facts.url !== undefined && facts.url.startsWith("http:") && !isLoopback(new URL(facts.url).host);
  if (http && site?.cookie?.secure) {
    add("secure-cookie", `${facts.url} sets its session cookie Secure while it is served over http: browsers drop the cookie, so every captcha check is no_session.`, "Serve the site over https, or set SESSION_COOKIE_SECURE=auto on the site.");
  } else if (http && !site?.cookie && config?.cookie.secure === "always") {
    add("secure-cookie", "SESSION_COOKIE_SECURE=true while the site is served over http: browsers drop the cookie, so every captcha check is no_session.", "Serve the site over https, or set SESSION_COOKIE_SECURE=auto.");
  }

  const domain = site?.cookie ? site.cookie.domain : config?.cookie.domain;
  if (domain && facts.url && !domainMatches(new URL(facts.url).hostname, domain)) {
    const setBy = site?.cookie ? `${facts.url} sets its session cookie with Domain=${domain}, which` : `SESSION_COOKIE_DOMAIN=${domain}`;
    add("cookie-domain", `${setBy} does not match the host ${new URL(facts.url).hostname}: browsers refuse the cookie.`, "Unset SESSION_COOKIE_DOMAIN (host-only cookie) or set it to the site's domain.");
  }

  if (config?.captchaTestMode || site?.captchaAnswerExposed) {
    add("captcha-test-mode", "CAPTCHA_TEST_MODE is on: every captcha response carries its answer in X-Captcha-Answer, so bots solve it for free.", "Unset CAPTCHA_TEST_MODE outside automated tests.");
  }

  if (facts.reach && !facts.reach.store) {
    const where =
      config?.store === "database"
        ? "DATABASE_URL"
        : config?.redis?.transport === "rest"
          ? "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN"
          : config?.redis?.transport === "cluster"
            ? "REDIS_CLUSTER_NODES"
            : "REDIS_URL";
    add("store-unreachable", `The ${config?.store ?? "session"} store did not answer a round trip.`, `Check ${where}, and that the service runs and accepts connections.`);
  }
  if (facts.reach && !facts.reach.database) {
    const known = facts.databaseProblem;
    if (known) add("database-unreachable", `${known.problem}.`, `${known.fix.replace(/^./, (c) => c.toUpperCase())}.`);
    else add("database-unreachable", "The database did not answer a round trip.", "Check DATABASE_URL and that PostgreSQL runs and accepts connections.");
  }
  const redisMemory = facts.redisMemory;
  if (redisMemory && redisMemory.maxBytes > 0) {
    const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
    if (redisMemory.policy !== "noeviction") {
      const evicted = redisMemory.evictedKeys > 0 ? `, and it has evicted ${redisMemory.evictedKeys} keys so far` : "";
      add(
        "redis-eviction",
        `Redis evicts keys when full (maxmemory ${mb(redisMemory.maxBytes)}, maxmemory-policy ${redisMemory.policy}${evicted}): sessions, captchas and proofs of work then vanish, and people are told sometimes that their session ended or their check failed.`,
        "Set maxmemory-policy noeviction, so a full Redis refuses writes (503) instead of dropping sessions, and give maxmemory room for every live session; or use SESSION_STORE=cached, whose sessions are kept in Postgres.",
      );
    } else if (redisMemory.usedBytes >= 0.9 * redisMemory.maxBytes) {
      add(
        "redis-full",
        `Redis holds ${mb(redisMemory.usedBytes)} of its ${mb(redisMemory.maxBytes)} maxmemory (maxmemory-policy noeviction): once full it refuses writes, and sign-ups and logins answer 503.`,
        "Raise maxmemory, or shorten SESSION_IDLE_TIMEOUT_SECONDS so fewer sessions are kept.",
      );
    }
  }
  const missed = site?.noAnswer;
  if (missed && missed.count === missed.of) {
    add("site-unreachable", `${facts.url} could not be reached: ${NO_ANSWER[missed.cause].why}.`, NO_ANSWER[missed.cause].fix);
  } else if (missed) {
    add(
      "site-unreachable",
      `${missed.count} of ${missed.of} requests to ${facts.url}/api/health got no answer (${NO_ANSWER[missed.cause].why}): an instance behind it may be down or overloaded.`,
      "Read the log of each instance behind --url, and check that every one of them runs.",
    );
  }
  if (site && !site.healthOk) {
    if (site.healthCode === "database_not_migrated") {
      add("site-unhealthy", `${facts.url}/api/health answers 503 database_not_migrated: the site's database lacks migrations its build ships.`, "Run `npm run db:migrate` with the site's DATABASE_URL.");
    } else {
      add("site-unhealthy", `${facts.url}/api/health does not answer 200: the running site cannot reach its store or database.`, "Read the failing check in /api/health's response.");
    }
  }

  if (site?.cacheDownOn?.length) {
    const who = site.cacheDownOn.length === 1 ? `Instance ${site.cacheDownOn[0]}` : `Instances ${site.cacheDownOn.join(", ")}`;
    add(
      "cache-down",
      `${who} cannot reach the cached store's Redis (/api/health reports \`degraded: ["cache"]\`): sessions are served from the database, each read a query, and a logout meanwhile may not end a copied cookie on the other instances until their cached copy expires.`,
      "Check the Redis at REDIS_URL (or UPSTASH_REDIS_REST_URL) from that instance; the store uses it again by itself once it answers.",
    );
  }
  for (const [name, skew] of Object.entries(site?.instanceSkewMs ?? {})) {
    const versusDb = facts.databaseSkewMs === undefined ? skew : skew - facts.databaseSkewMs;
    if (Math.abs(versusDb) > MAX_SKEW_MS) {
      add("clock-skew", `Instance ${name}'s clock is ${Math.round(versusDb)} ms off the database's: captcha and session expiry are judged differently per instance.`, "Run NTP (chrony or systemd-timesyncd) on every host.");
    }
  }
  if (!site && facts.databaseSkewMs !== undefined && Math.abs(facts.databaseSkewMs) > MAX_SKEW_MS) {
    add("clock-skew", `This host's clock is ${Math.round(-facts.databaseSkewMs)} ms off the database's.`, "Run NTP (chrony or systemd-timesyncd) on every host.");
  }

  const slots = facts.databaseConnections;
  if (config && slots && !slots.pooler) {
    // What the operator plans, else what answered at --url, else this one process.
    const instances = facts.instancesPlanned ?? (instancesSeen || 1);
    const allowed = slots.max - slots.reserved;
    const wanted = instances * config.databasePoolSize;
    if (wanted > allowed) {
      const fits = Math.floor(allowed / instances);
      const count = `${instances} instance${instances === 1 ? "" : "s"} × ${config.databasePoolSize} = ${wanted} connections`;
      add(
        "database-connections",
        `${count}, above the ${allowed} this database allows (max_connections ${slots.max} minus ${slots.reserved} reserved): under load the last connections are refused ("too many clients") and their requests answer 503.`,
        fits >= 1
          ? `Set DATABASE_POOL_SIZE=${fits} (${instances} × ${fits} = ${instances * fits}), or connect through PgBouncer in transaction mode and set DATABASE_URL to it.`
          : `Even DATABASE_POOL_SIZE=1 opens ${instances} connections: connect through PgBouncer in transaction mode and set DATABASE_URL to it, or raise max_connections.`,
      );
    }
  }

  const trusting = Object.entries(site?.trustProxyBy ?? {});
  const mixed = trusting.some(([, on]) => on) && trusting.some(([, on]) => !on);
  if (mixed) {
    const which = (on: boolean) => trusting.filter(([, t]) => t === on).map(([name]) => name).join(", ");
    add(
      "trust-proxy-mixed",
      `TRUST_PROXY differs between instances (set on ${which(true)}, unset on ${which(false)}): they disagree on the client's address and scheme, so rate limits and Secure cookies depend on which instance answers, and behind a proxy that terminates TLS the instances without it refuse every form post as cross_origin.`,
      "Set the same TRUST_PROXY on every instance.",
    );
  } else if (site?.forwardedHeadersSeen && !site.trustProxy) {
    add(
      "trust-proxy",
      "Requests arrive through a proxy (X-Forwarded-* headers) but TRUST_PROXY is unset: the app sees http and the proxy's address, so Secure cookies and per-client rate limits go wrong, and if the proxy terminates TLS every form post from the site's https pages is refused as cross_origin.",
      "Set TRUST_PROXY=1 when the proxy is yours and appends to (or overwrites) X-Forwarded-For; 2 to 5 for that many proxies in a row.",
    );
  } else if (site && site.trustProxy && !site.forwardedHeadersSeen && trusting.length > 0) {
    add(
      "trust-proxy-direct",
      `TRUST_PROXY is set, yet ${facts.url} answered with no proxy in front (no X-Forwarded-For arrived): whoever reaches an instance this way chooses the address its rate limits count by, and the scheme its cookies follow.`,
      "Let only your proxy reach the instances (listen on a private address, HOSTNAME, or firewall them), and run the doctor against the proxy's URL; or unset TRUST_PROXY where no proxy stands in front.",
    );
  }
  return findings;
}
