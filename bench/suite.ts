/**
 * The benchmark sequence. bench/run.ts starts it inside the snapshot it built, so the app, the
 * bare node server and the in-process measurements all run one and the same source.
 *
 *   node --import tsx bench/suite.ts --out <dir> [--trial] [--source <label>] [--concurrency N] [--stores cookie,database]
 *     [--skip peer,flows,scale,profile] [--profile-store <store>] [--profile-scenario flow|captcha|me] [--peer <dir>]
 *
 * `peer` is the Django comparison (bench/peer.ts), at a fast hash and at each side's defaults.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { SECURE_PASSWORD_HASH_COST } from "../lib/env";
import { startEmbeddedPostgres } from "../lib/embedded-postgres";
import { freePort, startStack, type Stack } from "../testing/stack";
import { captchaRate, closeAll, countRoundTrips, sealedCookieSizes } from "./inprocess";
import { mergeResults, startLoadWorker, type LoadResult, type LoadSpec, type LoadWorker } from "./load";
import { hashFloor, hashFloorLine } from "./hash-floor";
import { comparePeer, peerMissing, type PeerSetting } from "./peer";
import { summarizeProfile } from "./profile";
import { goals, writeReport, type EndpointSet, type FlowRow, type Results } from "./report";
import { databaseScale } from "./scale";
import { BENCH_HASH_COST, cpuMs, startNext, startProcess, storeEnv, STORES, STORE_TITLE, type Running, type StoreLabel } from "./servers";
import { ms, rate, ratio } from "./stats";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const trial = args.includes("--trial");
const outDir = path.resolve(option("--out") ?? "bench/results");
const skip = new Set((option("--skip") ?? "").split(",").filter(Boolean));
const C = Number(option("--concurrency") ?? 16);
const only = option("--stores")?.split(",");
if (only?.some((s) => !(STORES as readonly string[]).includes(s))) throw new Error(`bench: --stores takes a comma-separated list of ${STORES.join(", ")}`);
const stores = STORES.filter((s) => !only || only.includes(s));
const peerDir = path.resolve(option("--peer") ?? process.env.HOLDFAST_PEER_DIR ?? "../shared/peers/django-signup");
/** The Django comparison (bench/peer.ts): flows per target and round, 3 rounds, as the issue measured; fewer in a trial. */
const PEER: Record<PeerSetting, { flows: number; rounds: number; warmupFlows: number }> = trial
  ? { fast: { flows: 300, rounds: 2, warmupFlows: 60 }, default: { flows: 100, rounds: 2, warmupFlows: 16 } }
  : { fast: { flows: 800, rounds: 3, warmupFlows: 100 }, default: { flows: 200, rounds: 3, warmupFlows: 32 } };
const PEER_TIMEOUT_MS = 10_000;

/**
 * Seconds of each measurement: the full run fits in 10 minutes on the 2-core machine; a trial in
 * about 5. `endpoint` is per endpoint, split into `rounds` slices interleaved with the other
 * endpoints of the same server, so a burst of background load hits them all alike.
 */
const T = trial
  ? { flow: 5, endpoint: 3, rounds: 2, realCost: 8, node: 4, warmup: 1.5, profile: 6, expiredRows: 200_000, lookups: 1_000, captchas: 500 }
  : { flow: 6, endpoint: 3.6, rounds: 3, realCost: 10, node: 4, warmup: 2, profile: 6, expiredRows: 1_000_000, lookups: 2_000, captchas: 2_000 };
/** Virtual users at the default hash (Argon2id, 19 MiB): one hash at a time per instance on 2 cores (lib/password.ts), so more users only queue. */
const REAL_COST_USERS = 4;

const started = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};
const progress = (line: string) => console.log(`[bench ${clock()}] ${line}`);
/** One line per figure, as the report's tables hold them. */
const figure = (line: string) => console.log(`  » ${line}`);

const logDir = path.resolve("artifacts/logs/bench");
mkdirSync(logDir, { recursive: true });

function endpointLine(r: LoadResult): string {
  return Object.entries(r.endpoints)
    .map(([name, s]) => `${name.replace(/^(GET|POST) \/api\//, "")} p50 ${ms(s.p50Ms)} p95 ${ms(s.p95Ms)} p99 ${ms(s.p99Ms)} ms`)
    .join(" | ");
}

function cpuNote(r: LoadResult): string {
  return r.serverCpuMsPerIteration === undefined ? "?" : `${ms(r.serverCpuMsPerIteration)} ms`;
}

function errorsNote(r: LoadResult): string {
  return r.errors ? `  (${r.errors} errors, e.g. ${r.errorSamples[0]})` : "";
}

function wrk(url: string, seconds: number): { requestsPerSecond: number; p50Ms: number; p99Ms: number } | undefined {
  try {
    const out = execFileSync("wrk", ["-t1", `-c${C}`, `-d${seconds}s`, "--latency", url], { encoding: "utf8" });
    const unit = (v: string, u: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[u] ?? 1);
    const pct = (p: string) => {
      const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
      return m ? unit(m[1]!, m[2]!) : NaN;
    };
    return { requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50Ms: pct("50"), p99Ms: pct("99") };
  } catch {
    return undefined;
  }
}

async function main() {
  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    trial,
    command: option("--command") ?? `npm run bench${trial ? " -- --trial" : ""}`,
    source: option("--source") ?? "working tree",
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? "unknown",
      node: process.version,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    settings: {
      concurrency: C,
      passwordHashCost: BENCH_HASH_COST,
      realPasswordHashCost: SECURE_PASSWORD_HASH_COST,
      rateLimitMultiplier: 1_000_000,
      seconds: T,
      peer: { ...PEER, timeoutMs: PEER_TIMEOUT_MS, dir: peerDir },
      shapes: "Next ×1 and ×2: testing/cluster.ts (server.ts instances behind nginx, round-robin); the single instance's own port is used directly for the endpoint comparisons, as node-server is",
    },
    flows: [],
    endpoints: [],
    roundTrips: {},
    errors: [],
  };

  const dataRoot = path.join(tmpdir(), "holdfast-bench", "postgres");
  progress(`starting services: a private embedded Postgres (${dataRoot}), redis-server and the Upstash REST server`);
  // A Postgres of our own, so startStack's fresh holdfast_test database is never another run's.
  const pgServer = await startEmbeddedPostgres(dataRoot, await freePort(), progress);
  process.env.TEST_DATABASE_URL = pgServer.url;
  let stack: Stack;
  try {
    stack = await startStack(progress);
  } catch (error) {
    await pgServer.stop().catch(() => {});
    throw error;
  }
  const worker: LoadWorker = startLoadWorker();
  const running = new Set<Running>();
  const stopAll = async () => {
    for (const r of running) await r.stop().catch(() => {});
    running.clear();
  };
  const track = (r: Running) => (running.add(r), r);
  const untrack = async (r: Running) => {
    running.delete(r);
    await r.stop();
  };
  /** One run of the generator, with the CPU time the servers spent on it. */
  const measured = async (server: Running, spec: LoadSpec): Promise<LoadResult> => {
    const before = cpuMs(server.pids);
    const result = await worker.run(spec);
    const serverCpuMs = cpuMs(server.pids) - before;
    return { ...result, serverCpuMs, ...(result.completed > 0 ? { serverCpuMsPerIteration: serverCpuMs / result.completed } : {}) };
  };
  const load = (server: Running, base: string, scenario: LoadSpec["scenario"], seconds: number, warmup = T.warmup, concurrency = C) =>
    measured(server, { base, scenario, concurrency, durationMs: seconds * 1000, warmupMs: warmup * 1000 });
  /**
   * A fresh server loads each route's code and compiles it hot on its first requests; a few
   * untimed flows first, so that CPU is not counted against the measured ones.
   */
  const warm = async (server: Running) => {
    await worker.run({ base: server.url, scenario: { kind: "flow" }, concurrency: 4, durationMs: 1, warmupMs: 1_500 });
  };
  /** The endpoints of one server, in interleaved slices; a short warm-up of each first. */
  const endpoints = async (server: Running, base: string, scope: string, set: Partial<Record<"ping" | "me" | "captcha" | "hello", LoadSpec["scenario"]>>) => {
    const names = Object.keys(set) as (keyof typeof set)[];
    const runs = new Map<string, LoadResult[]>(names.map((n) => [n, []]));
    for (let round = 0; round <= T.rounds; round++) {
      for (const name of names) {
        const seconds = round === 0 ? 0.5 : T.endpoint / T.rounds;
        const r = await measured(server, { base, scenario: set[name]!, concurrency: C, durationMs: seconds * 1000, warmupMs: 300, keepSamples: true, sessionScope: scope });
        if (round > 0) runs.get(name)!.push(r);
      }
    }
    return Object.fromEntries(names.map((n) => [n, mergeResults(runs.get(n)!)])) as Partial<Record<"ping" | "me" | "captcha" | "hello", LoadResult>>;
  };

  try {
    // Section 3 and 4 first: quick, and they fail fast when a backend is missing.
    progress("round trips per request (counting wrappers, in-process, real backends)");
    for (const store of stores) {
      const rows = await countRoundTrips(storeEnv(stack, store));
      results.roundTrips[store] = rows;
      for (const r of rows) figure(`round trips · ${STORE_TITLE[store]} · ${r.request}: ${r.storeCalls} store calls (target ${r.target}; ${r.calls.join(", ") || "none"}) + ${r.rateLimitHits} rate-limit + ${r.userQueries} user queries = ${r.network} over the network`);
    }
    progress(`captcha drawing on one core: renderCaptcha(captchaText()) × ${T.captchas}`);
    results.captcha = captchaRate(T.captchas);
    figure(`captcha generation: ${rate(results.captcha.perSecond)} captchas/s on one core (p50 ${ms(results.captcha.render.p50Ms)} ms, p99 ${ms(results.captcha.render.p99Ms)} ms, ${Math.round(results.captcha.meanSvgBytes)} B SVG)`);
    results.captchaBench = newestCaptchaBench(outDir);
    results.cookieSizes = await sealedCookieSizes(storeEnv(stack, "cookie"));
    const cs = results.cookieSizes;
    figure(`sealed cookie (cookie store), anonymous session with a pending captcha: ${cs.anonymousWithCaptcha.cookieBytes} B (Set-Cookie ${cs.anonymousWithCaptcha.setCookieBytes} B)`);
    figure(`sealed cookie (cookie store), logged in after registration: ${cs.afterRegistration.cookieBytes} B; after a plain login: ${cs.afterLogin.cookieBytes} B`);
    await closeAll();

    if (!skip.has("peer")) {
      const missing = peerMissing(peerDir);
      if (missing) {
        results.errors.push(`Django comparison skipped: ${missing}`);
        progress(`Django comparison skipped: ${missing}`);
      } else {
        results.peer = [];
        for (const setting of ["fast", "default"] as const) {
          progress(`Django comparison, ${setting === "fast" ? "fast hash on both sides" : "each side's default hash"}: ${PEER[setting].flows} flows per target and round, ${PEER[setting].rounds} rounds, ${C} virtual users, the peer's loadclient.mjs`);
          results.peer.push(
            await comparePeer({ peerDir, stack, stores, setting, ...PEER[setting], concurrency: C, timeoutMs: PEER_TIMEOUT_MS, logDir: path.join(logDir, "peer"), progress, figure }),
          );
        }
        progress("one password hash on each side, one at a time (bench/hash-floor.ts)");
        try {
          results.hashFloor = await hashFloor(trial ? 3 : 5, trial ? 5 : 10);
          figure(`hash floor · ${hashFloorLine(results.hashFloor)}`);
        } catch (error) {
          results.errors.push(`hash floor: ${(error as Error).message}`);
        }
      }
    }

    if (!skip.has("flows")) {
      for (const store of stores) {
        const title = STORE_TITLE[store];
        const env = storeEnv(stack, store);
        try {
          progress(`${title}: Next, 1 instance behind nginx`);
          let next = track(await startNext(env, 1, path.join(logDir, store, "next-1")));
          await warm(next);
          const flow1 = await load(next, next.url, { kind: "flow" }, T.flow);
          addFlow(results, store, "next-1", BENCH_HASH_COST, flow1);
          const nextSet: EndpointSet = {
            store,
            server: "next",
            url: "instance port, no proxy",
            ...(await endpoints(next, next.directUrl!, `${store} next`, { ping: { kind: "get", path: "/api/ping" }, me: { kind: "me" }, captcha: { kind: "get", path: "/api/captcha" } })),
          };
          results.endpoints.push(nextSet);
          endpointFigures(title, "Next ×1", nextSet);
          await untrack(next);

          progress(`${title}: Next, 2 instances behind nginx`);
          next = track(await startNext(env, 2, path.join(logDir, store, "next-2")));
          await warm(next);
          addFlow(results, store, "next-2", BENCH_HASH_COST, await load(next, next.url, { kind: "flow" }, T.flow));
          await untrack(next);

          progress(`${title}: Next, 1 instance behind nginx, default password hash (Argon2id ${SECURE_PASSWORD_HASH_COST} MiB), ${REAL_COST_USERS} virtual users`);
          next = track(await startNext(storeEnv(stack, store, { realHashCost: true }), 1, path.join(logDir, store, "next-1-cost17")));
          await warm(next);
          addFlow(results, store, "next-1-cost17", SECURE_PASSWORD_HASH_COST, await load(next, next.url, { kind: "flow" }, T.realCost, 4, REAL_COST_USERS));
          await untrack(next);

          progress(`${title}: bench/node-server.ts (bare node:http, same lib code)`);
          const node = track(await startProcess("bench/node-server.ts", env, path.join(logDir, store)));
          await warm(node);
          addFlow(results, store, "node-1", BENCH_HASH_COST, await load(node, node.url, { kind: "flow" }, T.node));
          const first = !results.endpoints.some((e) => e.server === "node");
          const nodeSet: EndpointSet = {
            store,
            server: "node",
            url: "process port",
            ...(await endpoints(node, node.url, `${store} node`, {
              ping: { kind: "get", path: "/api/ping" },
              me: { kind: "me" },
              captcha: { kind: "get", path: "/api/captcha" },
              // node:http's own ceiling does not depend on the store: measured once.
              ...(first ? { hello: { kind: "get", path: "/hello" } as const } : {}),
            })),
          };
          if (first) {
            results.wrkHello = wrk(`${node.url}/hello`, T.endpoint);
            if (results.wrkHello) figure(`bare node:http hello (wrk -t1 -c${C}): ${rate(results.wrkHello.requestsPerSecond)} req/s, p50 ${ms(results.wrkHello.p50Ms)} ms, p99 ${ms(results.wrkHello.p99Ms)} ms`);
          }
          results.endpoints.push(nodeSet);
          endpointFigures(title, "node:http", nodeSet);
          await untrack(node);
          ratioFigures(title, nextSet, nodeSet);
        } catch (error) {
          results.errors.push(`${title}: ${(error as Error).message}`);
          progress(`${title}: failed: ${(error as Error).message}`);
          await stopAll();
        }
      }
    }

    if (!skip.has("profile")) await profile(results, stack, worker, load);

    if (!skip.has("scale")) {
      progress("database scale (a benchmark database of its own, dropped afterwards)");
      results.scale = await databaseScale({
        adminUrl: pgServer.url,
        liveRows: 10_000,
        expiredRows: T.expiredRows,
        lookups: T.lookups,
        readers: 4,
        log: progress,
      });
      const s = results.scale;
      const rows = (n: number) => n.toLocaleString("en-US");
      figure(`session lookup, ${rows(s.liveRows)} rows: p50 ${ms(s.lookupSmall.p50Ms)} ms, p99 ${ms(s.lookupSmall.p99Ms)} ms`);
      figure(`session lookup, ${rows(s.liveRows + s.expiredRows)} rows: p50 ${ms(s.lookupLarge.p50Ms)} ms, p99 ${ms(s.lookupLarge.p99Ms)} ms; ratio p50 ${ratio(s.p50Ratio)}, p99 ${ratio(s.p99Ratio)} (target flat; plan: ${s.indexScan ? "index scan" : "NOT an index scan"})`);
      figure(`expired-session sweep: ${rows(s.sweep.deleted)} rows in ${s.sweep.seconds.toFixed(1)} s (${rate(s.sweep.rowsPerSecond)} rows/s, ${s.sweep.statements} statements of ≤ ${s.sweep.batchSize})`);
      figure(`session reads during the sweep: p99 ${ms(s.sweep.readsDuring.p99Ms)} ms vs ${ms(s.sweep.readsWithout.p99Ms)} ms without (${ratio(s.sweep.p99Ratio)}; max ${ms(s.sweep.readsDuring.maxMs)} ms; ${s.sweep.readers} readers)`);
    }
  } finally {
    await stopAll();
    worker.close();
    await closeAll();
    await stack.stop();
    await pgServer.stop().catch(() => {});
  }

  results.machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  progress("goals of issue 13, each a ratio from this run:");
  for (const g of goals(results)) figure(`goal ${g.goal} · ${g.what}: ${g.measured} (target ${g.target}): ${g.met === undefined ? "not measured" : g.met ? "met" : "NOT met"}`);
  const files = writeReport(results, outDir);
  progress(`done in ${clock()}; wrote ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
}

function addFlow(results: Results, store: StoreLabel, shape: FlowRow["shape"], hashCost: number, result: LoadResult) {
  results.flows.push({ store, shape, hashCost, result });
  const shapeTitle = { "next-1": "Next ×1 (nginx)", "next-2": "Next ×2 (nginx)", "next-1-cost17": "Next ×1 (nginx)", "node-1": "node:http ×1" }[shape];
  figure(`sign-up flows/s · ${STORE_TITLE[store]} · ${shapeTitle} · hash cost ${hashCost}: ${rate(result.perSecond)} flows/s (${result.iterations} flows, C=${result.concurrency}, ${cpuNote(result)} app CPU per flow) — ${endpointLine(result)}${errorsNote(result)}`);
}

function endpointFigures(title: string, server: string, set: EndpointSet) {
  for (const [name, r] of Object.entries({ "GET /api/ping": set.ping, "GET /api/me (logged in)": set.me, "GET /api/captcha": set.captcha, "GET /hello": set.hello })) {
    if (!r) continue;
    const s = r.iteration;
    figure(`${name} · ${title} · ${server}: ${rate(r.perSecond)} req/s, p50 ${ms(s.p50Ms)} ms, p95 ${ms(s.p95Ms)} ms, p99 ${ms(s.p99Ms)} ms, ${cpuNote(r)} server CPU/req${errorsNote(r)}`);
  }
}

function ratioFigures(title: string, next: EndpointSet, node: EndpointSet) {
  const q = (a?: LoadResult, b?: LoadResult) => (a && b ? a.perSecond / b.perSecond : NaN);
  const captchaFloor = q(next.captcha, next.ping);
  figure(`session overhead · ${title} · Next: /api/me ÷ /api/ping throughput ${ratio(q(next.me, next.ping))}, p50 latency ${ratio((next.me?.iteration.p50Ms ?? NaN) / (next.ping?.iteration.p50Ms ?? NaN))}`);
  const cpu = (r?: LoadResult) => r?.serverCpuMsPerIteration ?? NaN;
  figure(`captcha route ÷ Next floor (/api/ping) · ${title}: ${ratio(captchaFloor)} (target ≥ 0.60: ${captchaFloor >= 0.6 ? "met" : "NOT met"}); by server CPU per request ${ratio(cpu(next.ping) / cpu(next.captcha))}`);
  figure(`captcha route, Next ÷ node:http (same lib) · ${title}: ${ratio(q(next.captcha, node.captcha))}; /api/me Next ÷ node:http: ${ratio(q(next.me, node.me))}`);
}

/** The figures of bench/captcha.ts (another engineer's renderer comparison), from its newest results file. */
function newestCaptchaBench(dir: string): Results["captchaBench"] {
  try {
    const file = readdirSync(dir).filter((f) => /^captcha-\d{4}-\d{2}-\d{2}\.json$/.test(f)).sort().at(-1);
    if (!file) return undefined;
    const data = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { results: { renderer: string; perSecond: number; p50Ms: number; meanBytes: number }[] };
    return { file, results: data.results.map((r) => ({ renderer: r.renderer, perSecond: r.perSecond, p50Ms: r.p50Ms, meanBytes: r.meanBytes })) };
  } catch {
    return undefined;
  }
}

async function profile(results: Results, stack: Stack, worker: LoadWorker, load: (server: Running, base: string, scenario: LoadSpec["scenario"], seconds: number, warmup?: number) => Promise<LoadResult>) {
  const single = results.flows.filter((f) => f.shape === "next-1" && f.result.iterations > 0);
  const chosen = option("--profile-store") as StoreLabel | undefined;
  if (chosen && !STORES.includes(chosen)) throw new Error(`bench: --profile-store takes one of ${STORES.join(", ")}`);
  // Slowest by the app's CPU per flow, which the machine's other load moves far less than flows/s.
  const cost = (f: FlowRow) => f.result.serverCpuMsPerIteration ?? 1000 / f.result.perSecond;
  const slowest = chosen ?? single.sort((a, b) => cost(b) - cost(a))[0]?.store ?? "redis-rest";
  const scenarioName = option("--profile-scenario") ?? "flow";
  const scenario: LoadSpec["scenario"] =
    scenarioName === "captcha" ? { kind: "get", path: "/api/captcha" } : scenarioName === "me" ? { kind: "me" } : { kind: "flow" };
  const what = scenarioName === "flow" ? "sign-up flows" : scenario.kind === "me" ? "GET /api/me" : "GET /api/captcha";
  const dir = path.join(tmpdir(), "holdfast-bench", `profile-${Date.now()}`);
  progress(`profile: ${STORE_TITLE[slowest]}${chosen ? "" : " (the single-instance store with the most app CPU per flow)"}, ${what} against the built app under node --cpu-prof`);
  const spawned = Date.now();
  // The compiled server, as production and the cluster run it: no TypeScript loader in the profile.
  const server = await startProcess("dist/server.mjs", storeEnv(stack, slowest), path.join(logDir, slowest, "profile"), dir);
  let result: LoadResult;
  const warmup = 1;
  let from = 0;
  try {
    await worker.run({ base: server.url, scenario, concurrency: 4, durationMs: 1, warmupMs: 1_500 });
    from = Date.now() + warmup * 1000 - spawned;
    result = await load(server, server.url, scenario, T.profile, warmup);
  } finally {
    await server.stop();
  }
  const to = Date.now() - spawned;
  // The main thread's profile is the big one; the captcha pool's drawing thread writes its own.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort((a, b) => statSync(path.join(dir, b)).size - statSync(path.join(dir, a)).size)[0];
  if (!file) {
    results.errors.push("profile: node --cpu-prof wrote no profile");
    return;
  }
  // Only the measured window: start-up (module loading, compilation) is not what a request costs.
  const summary = summarizeProfile(path.join(dir, file), { top: 25, fromMs: from, toMs: to });
  results.profile = { store: slowest, scenario: what, server: "Next ×1 (dist/server.mjs, no proxy)", file: path.join(dir, file), perSecond: result.perSecond, summary };
  figure(`profile · ${STORE_TITLE[slowest]} · ${what}: ${rate(result.perSecond)}/s under the profiler; busy ${Math.round(summary.busyMs)} ms: ${summary.byOwner.slice(0, 5).map((o) => `${o.owner} ${o.percent}%`).join(", ")}`);
  for (const f of summary.top.slice(0, 10)) figure(`profile self time ${f.percent}% ${f.function} ${f.location} [${f.owner}]${f.calledFrom ? ` ← ${f.calledFrom}` : ""}`);
  for (const f of summary.oursInclusive.slice(0, 8)) figure(`profile inclusive (ours) ${f.percent}% ${f.function} ${f.location}`);
}

main().catch((error) => {
  console.error(`[bench] failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
