import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { startCluster, type Cluster } from "../cluster";
import type { Stack } from "../stack";
import type { StoreConfig } from "../stores";
import { findLeaks, findStackTraces } from "./log-check";
import { runSecuritySuite, type SecurityReport } from "./suite";

/**
 * One store's security run: two single-instance clusters of the built app behind nginx.
 * - "main": RATE_LIMIT_MULTIPLIER=1000 and PASSWORD_HASH_COST=1 (BENCHMARK=1), for the
 *   hundreds of requests and the 50-way races of parts 1–5, 7, 9 and 10 (proof of work, captcha pass);
 * - "limits": the default limits and the default hash cost (17), for login timing (6) and the
 *   rate limits (8), which mean nothing otherwise.
 * Then the instance logs of both are searched for every secret the suite sent or received.
 */

export const PART_SETTINGS = [
  "parts 1-5, 7, 9, 10: PASSWORD_HASH_COST=1 (BENCHMARK=1), RATE_LIMIT_MULTIPLIER=1000",
  "parts 6, 8: a second server with the default hash cost (17) and the default limits (RATE_LIMIT_MULTIPLIER=1)",
];

/** Limiter state in Postgres outlives a cluster (the cookie and database stores share it); Redis keys get a prefix per cluster instead. */
async function clearLimiterState(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("DELETE FROM rate_limits");
  } finally {
    await client.end();
  }
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

export async function runStoreSecurity(stack: Stack, store: StoreConfig, log: (line: string) => void): Promise<SecurityReport> {
  const logRoot = path.resolve("artifacts/logs/security", store.name);
  rmSync(logRoot, { recursive: true, force: true });
  mkdirSync(logRoot, { recursive: true });
  const env = { ...stack.env, ...store.env(stack) };
  // Unset: limits at their defaults, and the proof of work at CAPTCHA_TEST_MODE's cost.
  const unset = {
    PASSWORD_HASH_COST: "", BENCHMARK: "", RATE_LIMIT_CAPTCHA: "", RATE_LIMIT_REGISTER: "", RATE_LIMIT_REGISTER_ACCESSIBLE: "", RATE_LIMIT_LOGIN: "", RATE_LIMIT_LOGIN_ACCOUNT: "",
    POW_MAX_NUMBER: "", POW_MAX_NUMBER_ACCESSIBLE: "",
  };
  const settings = {
    main: { ...env, ...unset, RATE_LIMIT_MULTIPLIER: "1000", PASSWORD_HASH_COST: "1", BENCHMARK: "1", REDIS_KEY_PREFIX: `sec-${store.name}-main` },
    limits: { ...env, ...unset, RATE_LIMIT_MULTIPLIER: "1", REDIS_KEY_PREFIX: `sec-${store.name}-limits` },
  };
  const started = await Promise.allSettled(
    (["main", "limits"] as const).map((name) => startCluster({ env: settings[name], instances: 1, logDir: path.join(logRoot, name) })),
  );
  const clusters = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stopped = new Set<Cluster>();
  const stop = async (c: Cluster) => {
    if (!stopped.has(c)) await c.stop();
    stopped.add(c);
  };
  let report: SecurityReport;
  try {
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [main, limits] = clusters as [Cluster, Cluster];
    await clearLimiterState(stack.env.DATABASE_URL);
    report = await runSecuritySuite(main.url, {
      store: store.name,
      log,
      limitsUrl: limits.url,
      directUrl: `http://127.0.0.1:${main.instances[0]!.port}`,
      // The timing part wants the machine to itself, and the limits start from nothing.
      beforeLimits: async () => {
        await stop(main);
        await clearLimiterState(stack.env.DATABASE_URL);
      },
    });
  } finally {
    for (const c of clusters) await stop(c);
    // The limits part spends this address's budgets at the default limits; left in Postgres,
    // they would refuse the next store's suites (which share the table) until they refill.
    await clearLimiterState(stack.env.DATABASE_URL);
  }
  // The log streams flush after the processes exit.
  await new Promise((r) => setTimeout(r, 300));
  const logs = files(logRoot);
  const leaks = findLeaks(logs, report.secrets);
  for (const leak of leaks) report.failures.push(`log leak: ${leak}`);
  const traces = findStackTraces(logs);
  for (const trace of traces) report.failures.push(`stack trace in a server log: ${trace}`);
  log(`log check: ${report.secrets.length} secrets searched in ${logs.length} log files (${path.relative(process.cwd(), logRoot)}), ${leaks.length} found; stack traces: ${traces.length}`);
  return report;
}
