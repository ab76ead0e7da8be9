/**
 * `npx tsx bench/burst.ts`: a burst of 50 concurrent registrations with one email, at the
 * production password hash (Argon2id, 19 MiB), against one instance of the built app, while a
 * steady stream of captcha fetches measures whether anything starves. Prints how the 50 ended
 * (one 201, the rest 409, or 503 server_busy when the bound refuses), their latencies, and the
 * captcha route's p50/p99 during the burst against the same stream without it, in one run.
 *
 * By default it compares variants of the server side by side in one run, rounds alternating
 * (A B C, C B A, A B C, …), one instance per variant started up front:
 *   before:      CAPTCHA_POOL_SIZE=0 (every captcha drawn on the request path)
 *   pool-nice10: CAPTCHA_POOL_NICE=10 (drawn ahead by a worker thread at a lower priority)
 *   after:       the defaults (drawn ahead by a worker thread at the normal priority, see
 *                lib/captcha/pool.ts)
 *
 *   npx tsx bench/burst.ts [--rounds 3] [--variant name:ENV=V,ENV=V …] [--probe] [--cpu-prof DIR]
 *
 * --variant (repeatable) replaces the default pair; `--variant now:` is the defaults alone, and
 * `--variant old@/path/to/checkout:` runs another checkout's build (say, the commit before a
 * change, built in a git worktree) beside this one.
 * --probe preloads bench/burst-probe.mjs into each server and prints, per window, the server's
 * event-loop delay, the CPU time of its main thread and of its other threads (the hashing), the
 * load client's own CPU time and the whole machine's. --cpu-prof DIR also writes each server's
 * main-thread CPU profile to DIR/<variant>.cpuprofile and prints the burst windows' offsets for
 * `tsx bench/profile.ts`.
 *
 * Needs `npm run build` first, Postgres at TEST_DATABASE_URL (or the machine's), and redis-server.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startCluster, type Cluster } from "../testing/cluster";
import { proof } from "../testing/pow";
import { startStack } from "../testing/stack";
import { TEST_SECRET } from "../testing/stores";

const BURST = 50;
const STREAM_MS = 6_000;

function flag(name: string): boolean {
  return process.argv.includes(name);
}
function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function options(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : []));
}

interface Variant {
  name: string;
  env: Record<string, string>;
  /** Another checkout's build to run, instead of this one's. */
  appDir?: string;
}

const DEFAULT_VARIANTS: Variant[] = [
  { name: "before", env: { CAPTCHA_POOL_SIZE: "0" } },
  { name: "pool-nice10", env: { CAPTCHA_POOL_NICE: "10" } },
  { name: "after", env: {} },
];

function parseVariant(text: string): Variant {
  const [label, rest = ""] = text.split(/:(.*)/s) as [string, string?];
  const [name, appDir] = label.split("@") as [string, string?];
  const env: Record<string, string> = {};
  for (const pair of rest.split(",").filter(Boolean)) {
    const [k, v = ""] = pair.split(/=(.*)/s) as [string, string?];
    env[k] = v;
  }
  return { name, env, ...(appDir ? { appDir } : {}) };
}

const variants = options("--variant").length ? options("--variant").map(parseVariant) : DEFAULT_VARIANTS;
const ROUNDS = Number(option("--rounds") ?? 3);
const PROBE = flag("--probe");
const CPU_PROF = option("--cpu-prof");

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const median = (values: number[]) => percentile(values, 50);
const wall = () => performance.timeOrigin + performance.now();

interface Fetch {
  at: number;
  ms: number;
}

async function captchaStream(base: string, until: () => boolean): Promise<Fetch[]> {
  const times: Fetch[] = [];
  // Two steady clients, as people loading the sign-up page would be.
  await Promise.all(
    [0, 1].map(async () => {
      while (!until()) {
        const at = wall();
        const started = performance.now();
        const response = await fetch(`${base}/api/captcha`);
        await response.arrayBuffer();
        if (response.status === 200) times.push({ at, ms: performance.now() - started });
      }
    }),
  );
  return times;
}

/** Machine-wide busy and total CPU ms so far, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + fields[4]!;
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

interface Window {
  from: number;
  to: number;
  clientCpuMs: number;
  machine: { busy: number; total: number };
}

function window(run: () => Promise<void>): () => Promise<Window> {
  return async () => {
    const from = wall();
    const c0 = process.cpuUsage();
    const m0 = machineCpu();
    await run();
    const c = process.cpuUsage(c0);
    const m1 = machineCpu();
    return { from, to: wall(), clientCpuMs: (c.user + c.system) / 1000, machine: { busy: m1.busy - m0.busy, total: m1.total - m0.total } };
  };
}

interface Round {
  variant: string;
  round: number;
  codes: Map<string, number>;
  regP50: number;
  regMax: number;
  burstMs: number;
  quiet: Fetch[];
  during: Fetch[];
  burstStart: number;
  /** Content-Encoding of the last warm-up captcha. */
  encoding: string;
  windows: { quiet: Window; burst: Window; during: Window };
}

async function runRound(variant: string, round: number, base: string): Promise<Round> {
  let encoding = "";
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`${base}/api/captcha`);
    await response.arrayBuffer();
    encoding = response.headers.get("content-encoding") ?? "identity";
  }

  let quiet: Fetch[] = [];
  const quietWindow = await window(async () => {
    const quietEnd = Date.now() + STREAM_MS;
    quiet = await captchaStream(base, () => Date.now() > quietEnd);
  })();

  // The 50 each need their own captcha and proof, fetched before the burst starts.
  const email = `burst.${Date.now()}.${variant}@example.test`;
  const prepared = await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const captcha = await fetch(`${base}/api/captcha`);
      const cookie = captcha.headers.getSetCookie()[0]!.split(";")[0]!;
      return { cookie, body: JSON.stringify({ username: `burst_${Date.now()}_${i}`, email, password: "burst-password-1", captcha: captcha.headers.get("x-captcha-answer"), altcha: await proof(base) }) };
    }),
  );
  await new Promise((r) => setTimeout(r, 500));

  let done = false;
  let during: Promise<Fetch[]> = Promise.resolve([]);
  let results: { code: string; ms: number }[] = [];
  let burstMs = 0;
  let burstStart = 0;
  let burstWindow: Window | undefined;
  const duringWindow = await window(async () => {
    during = captchaStream(base, () => done);
    burstStart = wall();
    burstWindow = await window(async () => {
      const started = performance.now();
      results = await Promise.all(
        prepared.map(async ({ cookie, body }) => {
          const t = performance.now();
          const response = await fetch(`${base}/api/register`, { method: "POST", headers: { "content-type": "application/json", cookie }, body });
          const code = response.status === 201 ? "201" : `${response.status} ${((await response.json()) as { error: { code: string } }).error.code}`;
          return { code, ms: performance.now() - t };
        }),
      );
      burstMs = performance.now() - started;
    })();
    // Keep measuring a moment past the burst's end, as long as the quiet stream ran.
    await new Promise((r) => setTimeout(r, Math.max(0, STREAM_MS - burstMs)));
    done = true;
    await during;
  })();

  const codes = new Map<string, number>();
  for (const r of results) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  const latencies = results.map((r) => r.ms);
  return {
    variant,
    round,
    codes,
    regP50: median(latencies),
    regMax: Math.max(...latencies),
    burstMs,
    quiet,
    during: await during,
    burstStart,
    encoding,
    windows: { quiet: quietWindow, burst: burstWindow!, during: duringWindow },
  };
}

interface ProbeData {
  pid: number;
  clock: [number, number];
  lag: [number, number][];
  cpu: [number, Record<string, number>][];
}

/** CPU ms per thread between two wall times, from the probe's samples (50 ms apart). */
function threadCpu(probe: ProbeData, from: number, to: number): { main: number; busiestOther: number; others: number } {
  const before = [...probe.cpu].reverse().find(([t]) => t <= from)?.[1] ?? {};
  const after = probe.cpu.find(([t]) => t >= to)?.[1] ?? probe.cpu.at(-1)![1];
  let main = 0, busiestOther = 0, others = 0;
  for (const [tid, ms] of Object.entries(after)) {
    const d = ms - (before[tid] ?? 0);
    if (Number(tid) === probe.pid) main = d;
    else {
      others += d;
      busiestOther = Math.max(busiestOther, d);
    }
  }
  return { main, busiestOther, others };
}

function lagIn(probe: ProbeData, from: number, to: number): { p50: number; p99: number; max: number } {
  const lags = probe.lag.filter(([t]) => t >= from && t <= to).map(([, l]) => l);
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) };
}

const f1 = (n: number) => n.toFixed(1);
const r0 = (n: number) => String(Math.round(n));

const stack = await startStack((line) => console.log(`[burst] ${line}`));
const probeDir = path.join(tmpdir(), `holdfast-burst-${process.pid}`);
mkdirSync(probeDir, { recursive: true });
if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
const clusters: { variant: Variant; cluster: Cluster; base: string; probeFile: string }[] = [];
const rounds: Round[] = [];
try {
  for (const variant of variants) {
    const probeFile = path.join(probeDir, `${variant.name}.json`);
    const probing = PROBE || CPU_PROF !== undefined;
    const nodeOptions = probing ? `--import=${path.resolve("bench/burst-probe.mjs")}` : "";
    const cluster = await startCluster({
      env: {
        ...stack.env,
        // The stack also runs a Redis Cluster; one Redis is what this measures (empty counts as unset).
        REDIS_CLUSTER_NODES: "",
        SESSION_STORE: "cookie",
        SESSION_SECRET: TEST_SECRET,
        CAPTCHA_TEST_MODE: "1",
        RATE_LIMIT_MULTIPLIER: "1000",
        ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
        ...(probing ? { BURST_PROBE_OUT: probeFile } : {}),
        ...(CPU_PROF ? { BURST_PROBE_PROFILE: path.resolve(CPU_PROF, `${variant.name}.cpuprofile`) } : {}),
        ...variant.env,
      },
      instances: 1,
      ...(variant.appDir ? { appDir: variant.appDir } : {}),
      logDir: path.resolve(`artifacts/logs/burst-${variant.name}`),
    });
    clusters.push({ variant, cluster, base: `http://127.0.0.1:${cluster.instances[0]!.port}`, probeFile });
  }
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order, so neither variant always runs first.
    const order = round % 2 ? clusters : [...clusters].reverse();
    for (const { variant, base } of order) {
      const r = await runRound(variant.name, round, base);
      rounds.push(r);
      const q99 = percentile(r.quiet.map((f) => f.ms), 99), d99 = percentile(r.during.map((f) => f.ms), 99);
      console.log(
        `[burst] round ${round} ${variant.name} (captcha ${r.encoding}): ${[...r.codes].map(([c, n]) => `${n}× ${c}`).join(", ")} in ${r0(r.burstMs)} ms; ` +
          `captcha p99 ${f1(q99)} → ${f1(d99)} ms (${(d99 / q99).toFixed(2)}×)`,
      );
    }
  }
} finally {
  await Promise.all(clusters.map((c) => c.cluster.stop()));
  await stack.stop();
}

console.log(`\nburst of ${BURST} registrations with one email, Argon2id 19 MiB; ${ROUNDS} rounds per variant, alternating, one run`);
for (const { variant, probeFile } of clusters) {
  const mine = rounds.filter((r) => r.variant === variant.name);
  const env = [...(variant.appDir ? [`build of ${variant.appDir}`] : []), ...Object.entries(variant.env).map(([k, v]) => `${k}=${v}`)].join(" ") || "defaults";
  console.log(`\n${variant.name} (${env})`);
  for (const r of mine) {
    const q = r.quiet.map((f) => f.ms), d = r.during.map((f) => f.ms);
    console.log(
      `  round ${r.round}: ${[...r.codes].map(([c, n]) => `${n}× ${c}`).join(", ")}; registration p50 ${r0(r.regP50)} ms, max ${r0(r.regMax)} ms, burst over in ${r0(r.burstMs)} ms`,
    );
    console.log(
      `    captcha without the burst: ${q.length} fetches, p50 ${f1(median(q))} ms, p99 ${f1(percentile(q, 99))} ms; during: ${d.length} fetches, p50 ${f1(median(d))} ms, p99 ${f1(percentile(d, 99))} ms → ${(percentile(d, 99) / percentile(q, 99)).toFixed(2)}×`,
    );
    const slow = [...r.during].sort((a, b) => b.ms - a.ms).slice(0, 4);
    console.log(`    slowest during: ${slow.map((f) => `${r0(f.ms)} ms at +${r0(f.at - r.burstStart)} ms`).join(", ")}`);
  }
  const ratios = mine.map((r) => percentile(r.during.map((f) => f.ms), 99) / percentile(r.quiet.map((f) => f.ms), 99));
  const pooledQ = mine.flatMap((r) => r.quiet.map((f) => f.ms)), pooledD = mine.flatMap((r) => r.during.map((f) => f.ms));
  console.log(
    `  median of rounds: captcha p99 during ÷ without ${median(ratios).toFixed(2)}× (goal ≤ 2×); pooled p99 ${f1(percentile(pooledQ, 99))} → ${f1(percentile(pooledD, 99))} ms; quiet p50 ${f1(median(pooledQ))} ms`,
  );

  if (PROBE && existsSync(probeFile)) {
    const probe = JSON.parse(readFileSync(probeFile, "utf8")) as ProbeData;
    for (const r of mine) {
      for (const [name, w] of Object.entries(r.windows)) {
        const lag = lagIn(probe, w.from, w.to);
        const cpu = threadCpu(probe, w.from, w.to);
        const secs = (w.to - w.from) / 1000;
        console.log(
          `    round ${r.round} ${name.padEnd(6)} ${r0(w.to - w.from)} ms: server event-loop delay p50 ${f1(lag.p50)} p99 ${f1(lag.p99)} max ${f1(lag.max)} ms; ` +
            `CPU main ${r0(cpu.main)} ms, hashing/other threads ${r0(cpu.others)} ms (busiest ${r0(cpu.busiestOther)}); client ${r0(w.clientCpuMs)} ms; ` +
            `machine ${f1(w.machine.busy / 1000 / secs)} of ${f1(w.machine.total / 1000 / secs)} cores busy`,
        );
      }
    }
  }
  if (CPU_PROF) {
    const file = path.resolve(CPU_PROF, `${variant.name}.cpuprofile`);
    if (existsSync(file) && existsSync(probeFile)) {
      const probe = JSON.parse(readFileSync(probeFile, "utf8")) as ProbeData;
      const profile = JSON.parse(readFileSync(file, "utf8")) as { startTime: number };
      // Wall time of the profile's start: the probe paired the two clocks at exit.
      const startWall = probe.clock[0] - (probe.clock[1] - profile.startTime) / 1000;
      for (const r of mine) {
        const w = r.windows.burst;
        console.log(`    profile: tsx bench/profile.ts ${file} --from-ms ${r0(w.from - startWall)} --to-ms ${r0(w.to - startWall)}   (round ${r.round}'s burst)`);
      }
    }
  }
}

// The comparison, each variant against the first, from the same run.
const ratioOf = (r: Round) => percentile(r.during.map((f) => f.ms), 99) / percentile(r.quiet.map((f) => f.ms), 99);
console.log(`\ncomparison (medians over ${ROUNDS} alternating rounds; captcha p99 during the burst ÷ without it, goal ≤ 2×):`);
for (const { variant, probeFile } of clusters) {
  const mine = rounds.filter((r) => r.variant === variant.name);
  let cpu = "";
  if (PROBE && existsSync(probeFile)) {
    const probe = JSON.parse(readFileSync(probeFile, "utf8")) as ProbeData;
    // Main-thread CPU per captcha fetch while nothing else runs: what each fetch costs the thread every route shares.
    const perFetch = mine.map((r) => threadCpu(probe, r.windows.quiet.from, r.windows.quiet.to).main / r.quiet.length);
    cpu = `; main-thread CPU per quiet fetch ${median(perFetch).toFixed(2)} ms`;
  }
  const outcomes = mine.map((r) => [...r.codes].sort().map(([c, n]) => `${n}×${c.split(" ")[0]}`).join("+")).join(", ");
  console.log(
    `  ${variant.name.padEnd(18)} ${median(mine.map(ratioOf)).toFixed(2)}× (rounds ${mine.map((r) => ratioOf(r).toFixed(2)).join(", ")}); ` +
      `quiet p50 ${f1(median(mine.flatMap((r) => r.quiet.map((f) => f.ms))))} ms; burst over in ${r0(median(mine.map((r) => r.burstMs)))} ms [${outcomes}]${cpu}`,
  );
}
rmSync(probeDir, { recursive: true, force: true });
