import { randomBytes } from "node:crypto";
import { FORWARDED_HEADER } from "../http/client-ip";
import { APPLIED_MIGRATIONS_SQL, MIGRATIONS_TABLE_EXISTS_SQL, notMigratedSentence, pendingMigrations } from "../migrations";
import { errorResponse } from "../http/errors";
import type { Services } from "../services";

const CHECK_TIMEOUT_MS = 3_000;

/**
 * This process among the instances behind one address, for `npm run doctor` to count them (a
 * process-memory store served by several is the classic bug): INSTANCE_NAME, or else an opaque
 * id drawn at start, which says nothing about the host.
 */
const PROCESS_ID = randomBytes(6).toString("hex");

interface Check {
  ok: boolean;
  ms: number;
  /** Shipped migrations the database lacks (database check only). */
  pending?: string[];
}

async function timed(run: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
  });
  try {
    const pending = await Promise.race([run(), timeout]);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    if (Array.isArray(pending) && pending.length > 0) return { ok: false, ms, pending: pending as string[] };
    return { ok: true, ms };
  } catch {
    return { ok: false, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** The database's round trip: which shipped migrations it lacks. */
async function unapplied(services: Services): Promise<string[]> {
  const [table] = await services.db.$queryRawUnsafe<{ present: boolean }[]>(MIGRATIONS_TABLE_EXISTS_SQL);
  if (!table?.present) return pendingMigrations([]);
  const rows = await services.db.$queryRawUnsafe<{ migration_name: string }[]>(APPLIED_MIGRATIONS_SQL);
  return pendingMigrations(rows.map((r) => r.migration_name));
}

interface Checks {
  store: Check;
  database: Check;
  /** The store's cache alone (the cached store's Redis): only a store that has one. */
  cache?: Check;
}

/** The round trips in flight, per services: requests that arrive meanwhile share them. */
const inFlight = new WeakMap<Services, Promise<Checks>>();

/**
 * One set of round trips at a time per instance, however many health requests arrive together:
 * a request that arrives while one is in flight gets its answer (at most CHECK_TIMEOUT_MS old),
 * so a flood of health checks (the endpoint is public, and unlimited, for load balancers) costs
 * the store and the database one check at a time, not one per request.
 */
function sharedChecks(services: Services): Promise<Checks> {
  let checks = inFlight.get(services);
  if (!checks) {
    const { store } = services;
    const pingCache = store.pingCache?.bind(store);
    checks = Promise.all([timed(() => store.ping()), timed(() => unapplied(services)), pingCache ? timed(pingCache) : undefined]).then(([store, database, cache]) =>
      cache ? { store, database, cache } : { store, database },
    );
    inFlight.set(services, checks);
    void checks.finally(() => inFlight.delete(services));
  }
  return checks;
}

/** Whether the session store and the database answer now, as health checks them (shared, timed). */
export async function storeAnswers(services: Services): Promise<boolean> {
  const { store, database } = await sharedChecks(services);
  return store.ok && database.ok;
}

/**
 * GET /api/health: a real round trip to the session store and to the database, each timed; the
 * database's answers whether it holds every migration this build ships.
 * It also reports this instance's clock and whether proxy headers arrive, so `npm run doctor`
 * can find clock skew and a missing TRUST_PROXY.
 */
export async function health(services: Services, req: Request): Promise<Response> {
  const checks = await sharedChecks(services);
  const { store, database } = checks;
  const proxy = {
    forwardedHeadersSeen: req.headers.get(FORWARDED_HEADER) === "1",
    trustProxy: services.config.trustProxy,
  };
  const instance = services.config.instanceName ?? PROCESS_ID;
  // A cache that fails leaves the store serving from its backend: still 200 (a load balancer
  // keeps the instance), but said, as `degraded`, for people and for the doctor.
  const degraded = checks.cache && !checks.cache.ok ? { degraded: ["cache"] } : {};
  const body = { ok: store.ok && database.ok, store: services.store.name, instance, checks, ...degraded, time: Date.now(), proxy };
  if (body.ok) return Response.json(body, { headers: { "cache-control": "no-store" } });
  const failing = (["store", "database"] as const).filter((name) => !checks[name].ok);
  const error = database.pending
    ? await errorResponse("database_not_migrated", { message: notMigratedSentence(database.pending) }).json()
    : await errorResponse("session_store_unavailable", { message: `Not answering (unreachable, refusing, or failing): ${failing.join(", ")}.` }).json();
  return Response.json({ ...body, ...error }, { status: 503, headers: { "cache-control": "no-store" } });
}
