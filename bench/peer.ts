/**
 * Holdfast against the Django peer (../shared/peers/django-signup, read-only): the same load
 * client, the peer's own `loadclient.mjs`, drives both sides with the same flow (GET /api/captcha
 * → POST /api/register → GET /api/me, a fresh cookie jar per flow, 16 virtual users), in one
 * run, every target started up front and the rounds alternating (A B …, … B A, A B …), so a burst
 * of someone else's load on the shared machine hits both sides alike.
 *
 * - Django: the peer's `serve.sh` (gunicorn, 4 sync workers), SQLite in WAL mode at SQLite's
 *   default `synchronous=FULL` (every commit reaches the disk, as Postgres's does on the Holdfast
 *   side), its default single-use captcha row (`CAPTCHA_STORE=db`), a fresh database in a VAR_DIR
 *   under /tmp, `CAPTCHA_TEST_MODE=1`. Backends `signed_cookies` and `db`, the two best in the
 *   peer's own RESULTS.md.
 * - Holdfast: the built app, 2 instances behind nginx (testing/cluster.ts), each store of the
 *   test stack, `CAPTCHA_TEST_MODE=1`, limits out of the way, and `BENCHMARK=1 POW_OPTIONAL=1`:
 *   the peer's client knows nothing of the proof of work, so registrations without one are
 *   accepted (lib/env.ts refuses the setting without BENCHMARK=1). The proof is a browser's cost
 *   on the client; on the server it is one challenge request and one ledger take, which this
 *   comparison leaves out, and says so.
 *
 * Two settings: `fast` (Django's MD5 hasher through BENCH_FAST_HASH=1; Holdfast
 * PASSWORD_HASH_COST=1, Argon2id at 1 MiB, the lowest it allows) and `default` (Django's PBKDF2;
 * Holdfast's default Argon2id, 19 MiB, t = 2).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Stack } from "../testing/stack";
import { freePort, waitForPort } from "../testing/stack";
import { BENCH_HASH_COST, cpuMs, startNext, storeEnv, STORE_TITLE, type StoreLabel } from "./servers";
import { ms, rate, ratio } from "./stats";

export type PeerSetting = "fast" | "default";
export const DJANGO_BACKENDS = ["signed_cookies", "db"] as const;
export type DjangoBackend = (typeof DJANGO_BACKENDS)[number];

/** What one run of loadclient.mjs --json reports (the fields used here). */
interface ClientJson {
  attempted: number;
  succeeded: number;
  wall_s: number;
  succeeded_per_s: number;
  captcha_rejected_by_code: Record<string, number>;
  other_errors: Record<string, number>;
  latency_ms: Record<string, { n: number; p50: number | null; p95: number | null; p99: number | null; mean: number | null; max: number | null }>;
  status: Record<string, Record<string, number>>;
}

export interface PeerRun {
  round: number;
  attempted: number;
  succeeded: number;
  timeouts: number;
  /** Every outcome but `ok`, by the client's name for it. */
  failures: Record<string, number>;
  wallSeconds: number;
  /** Succeeded flows per second of the run's wall time. */
  perSecond: number;
  latency: ClientJson["latency_ms"];
  /** Runs of the client that failed without a result before this one (see runClientRetrying). */
  clientRetries?: number;
  /** CPU time of the server's processes over the run (all threads), per succeeded flow; nginx not included. */
  serverCpuMsPerFlow?: number;
}

export interface PeerTarget {
  side: "django" | "holdfast";
  key: DjangoBackend | StoreLabel;
  title: string;
  shape: string;
  runs: PeerRun[];
  /** Median over the rounds of succeeded flows/s. */
  medianPerSecond: number;
}

export interface PeerComparison {
  setting: PeerSetting;
  hash: { django: string; holdfast: string };
  flows: number;
  rounds: number;
  warmupFlows: number;
  concurrency: number;
  timeoutMs: number;
  client: string;
  /** The order of the targets in round 1; even rounds run it backwards. */
  order: string[];
  targets: PeerTarget[];
  errors: string[];
}

export interface PeerOptions {
  peerDir: string;
  stack: Stack;
  stores: readonly StoreLabel[];
  setting: PeerSetting;
  flows: number;
  rounds: number;
  warmupFlows: number;
  concurrency: number;
  timeoutMs: number;
  logDir: string;
  progress(line: string): void;
  figure(line: string): void;
}

interface Server {
  url: string;
  pids(): number[];
  stop(): Promise<void>;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

export const DJANGO_TITLE: Record<DjangoBackend, string> = { signed_cookies: "Django signed_cookies", db: "Django db (SQLite WAL)" };

/** Why the peer cannot run here, or undefined when it can. */
export function peerMissing(peerDir: string): string | undefined {
  for (const f of ["serve.sh", "loadclient.mjs", "manage.py"]) if (!existsSync(path.join(peerDir, f))) return `no ${f} in ${peerDir}`;
  for (const f of ["/usr/bin/python3", "/usr/bin/gunicorn"]) if (!existsSync(f)) return `${f} is missing (apt-get install python3-django gunicorn python3-pil fonts-dejavu-core)`;
  return undefined;
}

/** Every process under a gunicorn master (its workers), the master included. */
function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [pid];
  }
}

async function startDjango(peerDir: string, backend: DjangoBackend, setting: PeerSetting, logDir: string): Promise<Server> {
  const port = await freePort();
  mkdirSync(logDir, { recursive: true });
  const varDir = path.join(tmpdir(), "holdfast-bench", "peer", `${backend}-${setting}-${port}`);
  // A clean environment: the bench's own DATABASE_URL or REDIS_URL would switch the peer to them.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    LANG: "C.UTF-8",
    SESSION_BACKEND: backend,
    SQLITE_JOURNAL_MODE: "wal",
    CAPTCHA_TEST_MODE: "1",
    ...(setting === "fast" ? { BENCH_FAST_HASH: "1" } : {}),
    WORKERS: "4",
    PORT: String(port),
    RESET_DB: "1",
    VAR_DIR: varDir,
  };
  // serve.sh runs the migrations, then execs gunicorn: the child's pid is the gunicorn master.
  const child: ChildProcess = spawn(path.join(peerDir, "serve.sh"), [], { cwd: peerDir, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(path.join(logDir, `django-${backend}-${setting}.log`), { flags: "a" });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(port, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, pids: () => processTree(child.pid!), stop };
}

async function startHoldfast(stack: Stack, store: StoreLabel, setting: PeerSetting, logDir: string): Promise<Server> {
  const env = { ...storeEnv(stack, store, { realHashCost: setting === "default" }), POW_OPTIONAL: "1" };
  const running = await startNext(env, 2, path.join(logDir, `holdfast-${store}-${setting}`));
  return { url: running.url, pids: () => running.pids, stop: () => running.stop() };
}

/** One run of the peer's client against one server. */
function runClient(client: string, server: Server, flows: number, concurrency: number, timeoutMs: number): Promise<{ json: ClientJson; cpuMs: number }> {
  const before = cpuMs(server.pids());
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [client, server.url, "-c", String(concurrency), "-n", String(flows), "--timeout", String(timeoutMs), "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => {
      const used = cpuMs(server.pids()) - before;
      if (code !== 0) return reject(new Error(`loadclient.mjs exited with ${code}: ${err.slice(0, 400)}`));
      try {
        resolve({ json: JSON.parse(out) as ClientJson, cpuMs: used });
      } catch {
        reject(new Error(`loadclient.mjs printed no JSON: ${out.slice(0, 200)} ${err.slice(0, 200)}`));
      }
    });
  });
}

/**
 * runClient, again when the client itself fails (no JSON: on this machine loadclient.mjs once
 * ended with exit code 13, an unsettled top-level await, with nothing in the server logs). Up to
 * two retries; each is counted in the run, and a run that never completes is an error.
 */
async function runClientRetrying(client: string, server: Server, flows: number, concurrency: number, timeoutMs: number, note: (line: string) => void): Promise<{ json: ClientJson; cpuMs: number; retries: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { ...(await runClient(client, server, flows, concurrency, timeoutMs)), retries: attempt };
    } catch (error) {
      if (attempt >= 2) throw error;
      note(`the load client failed (${(error as Error).message.trim()}); running it again`);
    }
  }
}

function failuresOf(json: ClientJson): Record<string, number> {
  return { ...json.captcha_rejected_by_code, ...json.other_errors };
}

const describeFailures = (f: Record<string, number>) =>
  Object.keys(f).length ? Object.entries(f).map(([k, v]) => `${v} ${k}`).join(", ") : "none";

export function runLine(t: PeerTarget, r: PeerRun): string {
  const reg = r.latency.register;
  return `${t.title} · round ${r.round}: ${rate(r.perSecond)} flows/s (${r.succeeded}/${r.attempted} ok, ${r.timeouts} timeouts; failures: ${describeFailures(r.failures)}); register p50 ${reg?.p50 ?? "–"} ms, p99 ${reg?.p99 ?? "–"} ms; server CPU ${r.serverCpuMsPerFlow === undefined ? "?" : ms(r.serverCpuMsPerFlow)} ms/flow`;
}

/** Holdfast's best-case reference: Django's best backend by median flows/s. */
export function djangoBest(c: PeerComparison): PeerTarget | undefined {
  return c.targets.filter((t) => t.side === "django" && t.runs.length).sort((a, b) => b.medianPerSecond - a.medianPerSecond)[0];
}

/** Per round, Holdfast's flows/s ÷ the best Django backend's in that same round: the spread of the paired ratio. */
export function pairedRatios(c: PeerComparison, target: PeerTarget): number[] {
  const django = c.targets.filter((t) => t.side === "django");
  return target.runs.flatMap((r) => {
    const best = Math.max(...django.map((d) => d.runs.find((x) => x.round === r.round)?.perSecond ?? 0));
    return best > 0 ? [r.perSecond / best] : [];
  });
}

/** Register p99 ÷ p50 per round (the client's own percentiles of that run). */
export function registerTail(t: PeerTarget): number[] {
  return t.runs.flatMap((r) => {
    const reg = r.latency.register;
    return reg?.p50 && reg.p99 ? [reg.p99 / reg.p50] : [];
  });
}

export async function comparePeer(o: PeerOptions): Promise<PeerComparison> {
  const client = path.join(o.peerDir, "loadclient.mjs");
  const result: PeerComparison = {
    setting: o.setting,
    hash:
      o.setting === "fast"
        ? { django: "MD5PasswordHasher (BENCH_FAST_HASH=1)", holdfast: `Argon2id ${BENCH_HASH_COST} MiB, t = 2 (BENCHMARK=1 PASSWORD_HASH_COST=${BENCH_HASH_COST}, the lowest allowed)` }
        : { django: "PBKDF2 (Django 3.2 default, 260,000 iterations)", holdfast: "Argon2id 19 MiB, t = 2, p = 1 (the default)" },
    flows: o.flows,
    rounds: o.rounds,
    warmupFlows: o.warmupFlows,
    concurrency: o.concurrency,
    timeoutMs: o.timeoutMs,
    client: `node ${client} <url> -c ${o.concurrency} -n ${o.flows} --timeout ${o.timeoutMs} --json`,
    order: [],
    targets: [],
    errors: [],
  };
  // Interleaved, so neither side has its servers all at one end of a round.
  const plan: { side: "django" | "holdfast"; key: DjangoBackend | StoreLabel }[] = [];
  const holdfast = [...o.stores];
  for (const backend of DJANGO_BACKENDS) {
    plan.push({ side: "django", key: backend });
    plan.push(...holdfast.splice(0, Math.ceil(o.stores.length / DJANGO_BACKENDS.length)).map((s) => ({ side: "holdfast" as const, key: s })));
  }
  const servers = new Map<PeerTarget, Server>();
  try {
    for (const p of plan) {
      const title = p.side === "django" ? DJANGO_TITLE[p.key as DjangoBackend] : `Holdfast ${STORE_TITLE[p.key as StoreLabel]}`;
      o.progress(`peer (${o.setting} hash): starting ${title}`);
      try {
        const server = p.side === "django" ? await startDjango(o.peerDir, p.key as DjangoBackend, o.setting, o.logDir) : await startHoldfast(o.stack, p.key as StoreLabel, o.setting, o.logDir);
        const target: PeerTarget = {
          side: p.side,
          key: p.key,
          title,
          shape: p.side === "django" ? "gunicorn, 4 sync workers" : "2 instances behind nginx",
          runs: [],
          medianPerSecond: NaN,
        };
        servers.set(target, server);
        result.targets.push(target);
        // Untimed warm-up: first requests load code; its outcome still tells a misconfigured target.
        const warm = await runClientRetrying(client, server, o.warmupFlows, o.concurrency, o.timeoutMs, (line) => o.progress(`peer (${o.setting} hash): ${title}, warm-up: ${line}`));
        if (warm.json.succeeded === 0) {
          const why = describeFailures(failuresOf(warm.json));
          const hint = /altcha|invalid_input/.test(why) ? " (the measured build predates POW_OPTIONAL: run with `--with lib/env.ts,lib/api/register.ts` until it is committed)" : "";
          throw new Error(`no flow of the warm-up succeeded: ${why}${hint}`);
        }
      } catch (error) {
        result.errors.push(`${title}: ${(error as Error).message}`);
        o.progress(`peer (${o.setting} hash): ${title} failed: ${(error as Error).message}`);
        const last = result.targets.at(-1);
        if (last?.title === title) {
          await servers.get(last)?.stop().catch(() => {});
          servers.delete(last);
          result.targets.pop();
        }
      }
    }
    result.order = result.targets.map((t) => t.title);
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? result.targets : [...result.targets].reverse();
      for (const target of order) {
        try {
          const { json, cpuMs: used, retries } = await runClientRetrying(client, servers.get(target)!, o.flows, o.concurrency, o.timeoutMs, (line) => {
            result.errors.push(`${target.title}, round ${round}: ${line}`);
            o.progress(`peer (${o.setting} hash): ${target.title}, round ${round}: ${line}`);
          });
          const run: PeerRun = {
            round,
            attempted: json.attempted,
            succeeded: json.succeeded,
            timeouts: json.other_errors.timeout ?? 0,
            failures: failuresOf(json),
            wallSeconds: json.wall_s,
            perSecond: json.succeeded_per_s,
            latency: json.latency_ms,
            ...(retries ? { clientRetries: retries } : {}),
            ...(json.succeeded > 0 ? { serverCpuMsPerFlow: used / json.succeeded } : {}),
          };
          target.runs.push(run);
          o.figure(`peer · ${o.setting} hash · ${runLine(target, run)}`);
        } catch (error) {
          result.errors.push(`${target.title}, round ${round}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop().catch(() => {});
  }
  for (const t of result.targets) t.medianPerSecond = median(t.runs.map((r) => r.perSecond));
  const best = djangoBest(result);
  const goal = o.setting === "fast" ? 3 : 10;
  for (const t of result.targets) {
    const q = best ? t.medianPerSecond / best.medianPerSecond : NaN;
    const paired = t.side === "holdfast" ? pairedRatios(result, t) : [];
    const timeouts = t.runs.reduce((n, r) => n + r.timeouts, 0);
    const ok = t.runs.reduce((n, r) => n + r.succeeded, 0);
    const attempted = t.runs.reduce((n, r) => n + r.attempted, 0);
    const tail = registerTail(t);
    o.figure(
      `peer · ${o.setting} hash · ${t.title}: median ${rate(t.medianPerSecond)} flows/s over ${t.runs.length} rounds, ${ratio(q)} Django's best${t.side === "holdfast" ? ` (target ≥ ${goal}×: ${q >= goal ? "met" : "NOT met"}; per round ${paired.map(ratio).join(" ")})` : ""}; ${ok}/${attempted} ok, ${timeouts} timeouts; register p99 ÷ p50 per round ${tail.map(ratio).join(" ")}`,
    );
  }
  return result;
}
