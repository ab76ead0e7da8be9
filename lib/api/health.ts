import { FORWARDED_HEADER } from "../http/client-ip";
import { errorResponse } from "../http/errors";
import type { Services } from "../session/select";

const CHECK_TIMEOUT_MS = 3_000;

interface Check {
  ok: boolean;
  ms: number;
}

async function timed(run: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([run(), timeout]);
    return { ok: true, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return { ok: false, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /api/health: a real round trip to the session store and to the database, each timed.
 * It also reports this instance's clock and whether proxy headers arrive, so `npm run doctor`
 * can find clock skew and a missing TRUST_PROXY.
 */
export async function health(services: Services, req: Request): Promise<Response> {
  const [store, database] = await Promise.all([timed(() => services.store.ping()), timed(() => services.db.$queryRaw`SELECT 1`)]);
  const checks = { store, database };
  const proxy = {
    forwardedHeadersSeen: req.headers.get(FORWARDED_HEADER) === "1",
    trustProxy: services.config.trustProxy,
  };
  const body = { ok: store.ok && database.ok, store: services.store.name, checks, time: Date.now(), proxy };
  if (body.ok) return Response.json(body, { headers: { "cache-control": "no-store" } });
  const failing = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  const error = await errorResponse("session_store_unavailable", { message: `Unreachable: ${failing.join(", ")}.` }).json();
  return Response.json({ ...body, ...error }, { status: 503, headers: { "cache-control": "no-store" } });
}
