import { ConfigError, parseConfig, type Env } from "../env";
import { unappliedMigrations } from "../migrate";
import { createServices } from "../services";
import type { Facts } from "./diagnose";

const TIMEOUT_MS = 4_000;

function within<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS).unref())]);
}

async function reachable(run: () => Promise<unknown>): Promise<boolean> {
  return within(run()).then(
    () => true,
    () => false,
  );
}

interface HealthBody {
  store?: string;
  time?: number;
  proxy?: { forwardedHeadersSeen?: boolean; trustProxy?: boolean };
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
      if (facts.reach.database) {
        facts.pendingMigrations = await within(unappliedMigrations(facts.config.databaseUrl));
        const before = Date.now();
        const [row] = await within(services.db.$queryRaw<{ now: Date }[]>`SELECT now() AS now`);
        facts.databaseSkewMs = row!.now.getTime() - (before + Date.now()) / 2;
      }
    } finally {
      await services.close().catch(() => {});
    }
  }

  if (options.url) {
    const site: NonNullable<Facts["site"]> = { instanceSkewMs: {}, captchaAnswerExposed: false, forwardedHeadersSeen: false, trustProxy: false, healthOk: true };
    // Enough requests for round-robin to visit every instance a few times.
    for (let i = 0; i < Math.max(6, (options.instances ?? 3) * 3); i++) {
      const before = Date.now();
      const response: Response | null = await within(fetch(`${options.url}/api/health`)).catch(() => null);
      if (!response) {
        site.healthOk = false;
        continue;
      }
      const midpoint = (before + Date.now()) / 2;
      const body = (await response.json().catch(() => ({}))) as HealthBody;
      site.healthOk &&= response.status === 200;
      site.store = body.store ?? site.store;
      site.forwardedHeadersSeen ||= body.proxy?.forwardedHeadersSeen === true;
      site.trustProxy = body.proxy?.trustProxy === true;
      const name = response.headers.get("x-holdfast-instance") ?? "the site";
      if (typeof body.time === "number") site.instanceSkewMs[name] = body.time - midpoint;
    }
    const captcha = await within(fetch(`${options.url}/api/captcha`)).catch(() => null);
    site.captchaAnswerExposed = captcha?.headers.has("x-captcha-answer") ?? false;
    facts.site = site;
  }
  return facts;
}
