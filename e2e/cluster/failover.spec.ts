import { cpus, loadavg } from "node:os";
import path from "node:path";
import { hashToken, silentLogger, type SessionRecord } from "@holdfast/session";
import { clusterTransport } from "@holdfast/session/redis/tcp";
import { createRedisStore } from "@holdfast/session/stores/redis";
import { expect, test } from "@playwright/test";
import { startCluster, type Cluster } from "../../testing/cluster";
import { proofFrom } from "../../testing/pow";
import { keySlot, parseClusterNodes, startRedisCluster, type FailoverResult, type RedisCluster } from "../../testing/redis-cluster";
import { TEST_SECRET } from "../../testing/stores";

/**
 * A Redis Cluster primary killed (SIGKILL) while sign-up flows run, on one cluster of six
 * redis-server processes shared by two deployments side by side: two instances each behind
 * their own nginx, one with REDIS_WAIT_REPLICAS=0 and one with 1. Both see the same failover at
 * the same moment, so their figures compare directly. Printed: the WAIT cost per request on the
 * healthy cluster; flows attempted and failed during the failover, by step, status and code;
 * sessions lost; when the flows succeed again. Asserted: no 5xx but 503
 * session_store_unavailable, every flow succeeds from a bound after the kill without restarting
 * an instance, and no session acknowledged before the kill is lost.
 *
 * Run: E2E_SUITE=cluster CLUSTER_ENV='{"DATABASE_URL":"postgres://…"}' npx playwright test e2e/cluster/failover.spec.ts
 */

const env = JSON.parse(process.env.CLUSTER_ENV ?? "{}") as Record<string, string>;
/** The flows test sessions, not hashing or proof-of-work cost. */
const LOAD_ENV = { SESSION_SECRET: TEST_SECRET, CAPTCHA_TEST_MODE: "1", RATE_LIMIT_MULTIPLIER: "1000", PASSWORD_HASH_COST: "1", BENCHMARK: "1" };
const NODE_TIMEOUT_MS = 2_000;
/** Visitors per deployment, each running flows one after another. */
const VISITORS = 3;
/** Flows each deployment completes on the healthy cluster before the kill: they measure the WAIT cost. */
const BASELINE_FLOWS = 30;
/** Flows keep running at least this long after the promotion… */
const AFTER_PROMOTION_MS = 10_000;
/** …and until each deployment has completed this many that started after the recovery bound. */
const AFTER_FLOWS = 12;
/** Every flow that starts this long after the kill succeeds. Promotion takes 3.4–5.2 s with a 2 s node timeout. */
const RECOVERY_BOUND_MS = 10_000;
/** A phase that has not reached its count of flows by then fails the test: the machine is too slow to tell. */
const PHASE_LIMIT_MS = 90_000;
const KEY_PREFIX = "holdfast";

type StepName = "challenge" | "captcha" | "register" | "me";
interface Step {
  step: StepName;
  status: number;
  code?: string;
  start: number;
  ms: number;
}
interface Flow {
  start: number;
  end: number;
  ok: boolean;
  steps: Step[];
  token?: string;
  /** When the register's 201 arrived: the session is acknowledged from then on. */
  registeredAt?: number;
}

async function request(steps: Step[], step: StepName, url: string, init: RequestInit = {}): Promise<Response | undefined> {
  const start = Date.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let code: string | undefined;
    if (response.status >= 400) {
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        code = "not-json";
      }
    }
    steps.push({ step, status: response.status, code, start, ms: Date.now() - start });
    return new Response(text, { status: response.status, headers: response.headers });
  } catch (error) {
    steps.push({ step, status: 0, code: (error as Error).name, start, ms: Date.now() - start });
    return undefined;
  }
}

const cookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((c) => c.startsWith("holdfast_session="))
    ?.split(";")[0]
    ?.slice("holdfast_session=".length);

/** One visitor: proof of work, captcha, register, me; stops at the first answer that is not the expected one. */
async function signUp(base: string): Promise<Flow> {
  const steps: Step[] = [];
  const flow: Flow = { start: Date.now(), end: 0, ok: false, steps };
  const done = () => ({ ...flow, end: Date.now() });
  const challenge = await request(steps, "challenge", `${base}/api/challenge`);
  if (challenge?.status !== 200) return done();
  const altcha = proofFrom(await challenge.text()).payload;
  const captcha = await request(steps, "captcha", `${base}/api/captcha`);
  if (captcha?.status !== 200) return done();
  let token = cookieOf(captcha);
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const register = await request(steps, "register", `${base}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: `holdfast_session=${token ?? ""}`, origin: base },
    body: JSON.stringify({ username: `f_${id}`, email: `f.${id}@example.test`, password: `password-${id}`, captcha: captcha.headers.get("x-captcha-answer"), altcha }),
  });
  if (register?.status !== 201) return done();
  flow.registeredAt = Date.now();
  token = cookieOf(register) ?? token;
  flow.token = token;
  const me = await request(steps, "me", `${base}/api/me`, { headers: { cookie: `holdfast_session=${token}` } });
  flow.ok = me?.status === 200;
  return done();
}

const p50 = (values: number[]) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const describeStep = (s: Step) => `${s.step} ${s.status}${s.code ? ` ${s.code}` : ""}`;
const tally = (labels: string[]) =>
  Object.entries(labels.reduce<Record<string, number>>((all, l) => ({ ...all, [l]: (all[l] ?? 0) + 1 }), {}))
    .sort((a, b) => b[1] - a[1])
    .map(([l, n]) => `${n} × ${l}`)
    .join(", ") || "none";

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

interface Deployment {
  label: string;
  waitReplicas: number;
  cluster: Cluster;
  flows: Flow[];
  pids: number[];
}

/**
 * The WAIT cost at the store, where a request's noise does not hide it: p50 of one session write
 * (anonymous: SET; logged in: index, then SET) with and without WAIT 1, alternating, on the
 * healthy cluster.
 */
async function writeCost(nodes: string[], writes = 300): Promise<Record<string, { plain: number; waiting: number }>> {
  const transport = clusterTransport(nodes, { logger: silentLogger });
  try {
    const plain = createRedisStore(transport, { prefix: "failover-bench" });
    const waiting = createRedisStore(transport, { prefix: "failover-bench", waitForReplicas: 1, logger: silentLogger });
    const out: Record<string, { plain: number; waiting: number }> = {};
    for (const userId of [null, "u1"]) {
      const times = { plain: [] as number[], waiting: [] as number[] };
      for (let i = 0; i < writes; i++) {
        for (const [name, store] of [["plain", plain], ["waiting", waiting]] as const) {
          const record: SessionRecord = { data: { i }, userId, createdAt: Date.now(), lastActiveAt: Date.now() };
          const start = performance.now();
          await store.create(record, record.lastActiveAt + 60_000);
          times[name].push(performance.now() - start);
        }
      }
      out[userId ? "logged-in write" : "anonymous write"] = { plain: p50(times.plain), waiting: p50(times.waiting) };
    }
    return out;
  } finally {
    await transport.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` holds or the phase limit passes; says which. */
async function until(done: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
  return true;
}

// Stopped after the test even when it times out, so no instance or redis-server outlives it.
const cleanups: (() => Promise<void>)[] = [];
test.afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

test.describe.configure({ mode: "serial", timeout: 360_000 });

test("a primary killed mid-run: flows fail only with 503 during the failover, recover without a restart, and lose no acknowledged session", async () => {
  const log = (line: string) => console.log(`[failover] ${line}`);
  const redis: RedisCluster = await startRedisCluster(log, { nodeTimeoutMs: NODE_TIMEOUT_MS });
  cleanups.push(() => redis.stop());
  const deployments: Deployment[] = [];
  for (const waitReplicas of [0, 1]) {
    const label = waitReplicas === 0 ? "no WAIT" : `WAIT ${waitReplicas}`;
    const cluster = await startCluster({
      instances: 2,
      logDir: path.resolve(`artifacts/logs/failover-wait${waitReplicas}`),
      env: {
        ...LOAD_ENV,
        ...env,
        SESSION_STORE: "redis",
        REDIS_URL: "",
        UPSTASH_REDIS_REST_URL: "",
        UPSTASH_REDIS_REST_TOKEN: "",
        REDIS_CLUSTER_NODES: redis.nodes.join(","),
        REDIS_KEY_PREFIX: KEY_PREFIX,
        REDIS_WAIT_REPLICAS: String(waitReplicas),
      },
    });
    cleanups.push(() => cluster.stop());
    deployments.push({ label, waitReplicas, cluster, flows: [], pids: cluster.instances.map((i) => i.process.pid!) });
  }
  // Each instance's first requests load code; they are not measured.
  await Promise.all(deployments.map(async (d) => {
    for (let i = 0; i < 2 * d.cluster.instances.length; i++) await signUp(d.cluster.url);
  }));
  const loadAtStart = loadavg()[0]!;
  const storeCost = await writeCost(redis.nodes);

  let running = true;
  cleanups.push(async () => {
    running = false;
  });
  const visitors = deployments.flatMap((d) =>
    Array.from({ length: VISITORS }, async () => {
      while (running) d.flows.push(await signUp(d.cluster.url));
    }),
  );
  const started = Date.now();
  expect(await until(() => deployments.every((d) => d.flows.length >= BASELINE_FLOWS), PHASE_LIMIT_MS), `${BASELINE_FLOWS} flows per deployment before the kill`).toBe(true);

  const victim = (await redis.primaries())[0]!;
  const own = parseClusterNodes(await redis.command(victim, "CLUSTER", "NODES")).find((n) => n.flags.includes("myself"))!;
  const onVictim = (token: string) => {
    const slot = keySlot(`${KEY_PREFIX}:sess:${hashToken(token)}`);
    return own.slots.some(([a, b]) => slot >= a && slot <= b);
  };
  const killedAt = Date.now();
  await redis.killPrimary(victim);
  const failover: FailoverResult = await redis.waitForFailover(victim, 30_000);
  log(`killed primary ${victim} at +${killedAt - started} ms; ${failover.promoted} promoted after ${failover.promotedMs} ms, cluster whole after ${failover.convergedMs} ms`);
  await sleep(Math.max(0, killedAt + failover.promotedMs + AFTER_PROMOTION_MS - Date.now()));
  const recovered = await until(() => deployments.every((d) => d.flows.filter((f) => f.start >= killedAt + RECOVERY_BOUND_MS).length >= AFTER_FLOWS), PHASE_LIMIT_MS);
  running = false;
  await Promise.all(visitors);
  log(`flows stopped at +${Date.now() - started} ms: ${deployments.map((d) => `${d.label} ${d.flows.length}`).join(", ")}`);

  const report: Record<string, Record<string, string | number>> = {};
  const checks = new Map<Deployment, { lostBefore: number; fiveXx: Step[]; after: Flow[] }>();
  for (const d of deployments) {
    const r = (report[d.label] = {} as Record<string, string | number>);
    const measured = d.flows.filter((f) => f.end < killedAt);
    const healthyFailures = measured.filter((f) => !f.ok);
    const latency = (step: StepName) => p50(measured.flatMap((f) => f.steps.filter((s) => s.step === step && s.status < 400).map((s) => s.ms)));
    for (const step of ["challenge", "captcha", "register", "me"] as const) r[`p50 ${step} ms (healthy)`] = latency(step);
    r["flows before the kill"] = `${measured.length} measured, ${healthyFailures.length} failed`;

    // During the failover: every flow in flight at the kill or started before the promotion.
    const during = d.flows.filter((f) => f.end >= killedAt && f.start < killedAt + failover.promotedMs);
    const failed = during.filter((f) => !f.ok);
    r["flows during the failover (kill → promotion)"] = `${during.length} attempted, ${failed.length} failed`;
    r["  their failed requests"] = tally(failed.map((f) => describeStep(f.steps.at(-1)!)));
    const late = d.flows.filter((f) => f.start >= killedAt + failover.promotedMs && !f.ok);
    r["flows started after the promotion that failed"] = `${late.length}${late.length ? ` (${tally(late.map((f) => describeStep(f.steps.at(-1)!)))})` : ""}`;
    const slowest = d.flows.filter((f) => f.end >= killedAt).flatMap((f) => f.steps).sort((a, b) => b.ms - a.ms)[0];
    r["slowest request after the kill"] = slowest ? `${slowest.ms} ms (${describeStep(slowest)})` : "none";
    const all = d.flows.flatMap((f) => f.steps);
    const fiveXx = all.filter((s) => s.status >= 500 || s.status === 0);
    r["5xx and no-answer, whole run"] = tally(fiveXx.map(describeStep));
    const lastFailure = Math.max(killedAt, ...d.flows.filter((f) => !f.ok).map((f) => f.end));
    r["last failed flow ended, after the kill"] = `${lastFailure - killedAt} ms`;
    const after = d.flows.filter((f) => f.start >= killedAt + RECOVERY_BOUND_MS);
    r[`flows started ≥ ${RECOVERY_BOUND_MS / 1000} s after the kill`] = `${after.length}, ${after.filter((f) => !f.ok).length} failed`;
    const afterPromotion = d.flows.filter((f) => f.ok && f.start >= killedAt + failover.convergedMs);
    r["p50 register ms after the failover (killed node not back)"] = p50(afterPromotion.flatMap((f) => f.steps.filter((s) => s.step === "register").map((s) => s.ms)));

    // Sessions acknowledged (register 201) before the kill, and during the failover: still logged in?
    const check = async (flows: Flow[]) => {
      const statuses = await inBatches(flows, 8, async (f) => {
        const me = await fetch(`${d.cluster.url}/api/me`, { headers: { cookie: `holdfast_session=${f.token}` }, signal: AbortSignal.timeout(15_000) });
        return me.status;
      });
      return { total: flows.length, lost: statuses.filter((s) => s !== 200).length, statuses: tally(statuses.map(String)), onVictim: flows.filter((f) => onVictim(f.token!)).length };
    };
    const before = await check(d.flows.filter((f) => f.registeredAt !== undefined && f.registeredAt < killedAt));
    const since = await check(d.flows.filter((f) => f.registeredAt !== undefined && f.registeredAt >= killedAt));
    r["sessions acknowledged before the kill"] = `${before.total} (${before.onVictim} on the killed primary), lost ${before.lost} (${before.statuses})`;
    r["sessions acknowledged after the kill"] = `${since.total} (${since.onVictim} in the killed primary's slots), lost ${since.lost} (${since.statuses})`;
    r["instances restarted"] = d.cluster.instances.filter((i, k) => i.process.exitCode !== null || i.process.signalCode !== null || i.process.pid !== d.pids[k]).length;
    checks.set(d, { lostBefore: before.lost, fiveXx, after });
    log(`${d.label}: sessions checked at +${Date.now() - started} ms`);
  }

  const labels = deployments.map((d) => d.label);
  const rows = Object.keys(report[labels[0]!]!);
  const width = Math.max(...rows.map((k) => k.length));
  log(`node timeout ${NODE_TIMEOUT_MS} ms, ${VISITORS} visitors per deployment, 2 instances each; victim ${victim}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (${cpus().length} cores)`);
  for (const row of rows) log(`${row.padEnd(width)} | ${labels.map((l) => `${l}: ${report[l]![row]}`).join(" | ")}`);
  const [plain, waiting] = deployments;
  for (const step of ["register", "me"] as const) {
    const key = `p50 ${step} ms (healthy)`;
    log(`WAIT cost, p50 ${step}: ${Number(report[waiting!.label]![key]) - Number(report[plain!.label]![key])} ms (${report[plain!.label]![key]} → ${report[waiting!.label]![key]})`);
  }
  for (const [what, { plain, waiting }] of Object.entries(storeCost)) {
    log(`WAIT cost at the store, p50 of one ${what}: ${(waiting - plain).toFixed(3)} ms (${plain.toFixed(3)} → ${waiting.toFixed(3)} ms)`);
  }
  const waits = await Promise.all((await redis.primaries()).map(async (p) => /cmdstat_wait:calls=(\d+)/.exec(await redis.command(p, "INFO", "commandstats"))?.[1] ?? "0"));
  log(`WAIT calls on each live primary: ${waits.join(", ")}`);
  // A build older than REDIS_WAIT_REPLICAS would ignore it and prove nothing.
  expect(waits.reduce((sum, n) => sum + Number(n), 0), "the WAIT deployment sent WAIT").toBeGreaterThan(0);

  expect(recovered, `${AFTER_FLOWS} flows per deployment started ${RECOVERY_BOUND_MS} ms after the kill`).toBe(true);
  for (const d of deployments) {
    const { lostBefore, fiveXx, after } = checks.get(d)!;
    expect(fiveXx.map(describeStep).filter((s) => !/^\w+ 503 session_store_unavailable$/.test(s)), `${d.label}: every 5xx is 503 session_store_unavailable`).toEqual([]);
    expect(after.filter((f) => !f.ok).map((f) => describeStep(f.steps.at(-1)!)), `${d.label}: every flow succeeds from ${RECOVERY_BOUND_MS} ms after the kill`).toEqual([]);
    expect(report[d.label]!["instances restarted"]).toBe(0);
    if (d.waitReplicas > 0) expect(lostBefore, `${d.label}: sessions acknowledged before the kill and lost`).toBe(0);
  }
});
