/** The servers under test: the built Next app (through testing/cluster.ts) and bench/node-server.ts. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { startCluster, type Cluster } from "../testing/cluster";
import type { Stack } from "../testing/stack";
import { freePort, waitForPort } from "../testing/stack";
import { E2E_STORES } from "../testing/stores";

export const STORES = ["cookie", "database", "redis-tcp", "redis-rest"] as const;
export type StoreLabel = (typeof STORES)[number];

export const STORE_TITLE: Record<StoreLabel, string> = {
  cookie: "cookie",
  database: "database",
  "redis-tcp": "redis over TCP",
  "redis-rest": "redis over REST",
};

/** The cheap hash the benchmark runs with; production refuses it unless BENCHMARK=1. */
export const BENCH_HASH_COST = 1;

/** Every server's environment for one store: the test suites' store settings, limits out of the way. */
export function storeEnv(stack: Stack, store: StoreLabel, options: { realHashCost?: boolean } = {}): Record<string, string> {
  const config = E2E_STORES.find((s) => s.name === store);
  if (!config) throw new Error(`bench: no store configuration named ${store} in testing/stores.ts`);
  return {
    ...config.env(stack),
    DATABASE_URL: stack.env.DATABASE_URL,
    RATE_LIMIT_MULTIPLIER: "1000000",
    CAPTCHA_TEST_MODE: "1",
    // Empty means unset: the default cost (17) applies.
    PASSWORD_HASH_COST: options.realHashCost ? "" : String(BENCH_HASH_COST),
    BENCHMARK: "1",
  };
}

export interface Running {
  /** Where the load goes: the proxy for a cluster, the process itself otherwise. */
  url: string;
  /** The one instance's own address, bypassing the proxy (single-instance shapes only). */
  directUrl?: string;
  /** The app's processes (not the proxy's), for their CPU time. */
  pids: number[];
  stop(): Promise<void>;
}

export async function startNext(env: Record<string, string>, instances: number, logDir: string): Promise<Running> {
  const cluster: Cluster = await startCluster({ env, instances, logDir });
  const only = cluster.instances.length === 1 ? cluster.instances[0] : undefined;
  return {
    url: cluster.url,
    directUrl: only ? `http://127.0.0.1:${only.port}` : undefined,
    pids: cluster.instances.map((i) => i.process.pid!),
    stop: () => cluster.stop(),
  };
}

/**
 * One process of a script, with no proxy in front: bench/node-server.ts, or dist/server.mjs (the
 * compiled Next server) when a profile is wanted (`--cpu-prof` is refused in NODE_OPTIONS, so it goes on the
 * command line here).
 */
export async function startProcess(
  script: "server.ts" | "dist/server.mjs" | "bench/node-server.ts",
  env: Record<string, string>,
  logDir: string,
  cpuProfDir?: string,
  /** Another copy of the app to run the script in (bench/flows-ab.ts); this one by default. */
  cwd?: string,
): Promise<Running> {
  const port = await freePort();
  mkdirSync(logDir, { recursive: true });
  const profiling = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const loader = script.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child: ChildProcess = spawn(process.execPath, [...profiling, ...loader, script], {
    cwd,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", TRUST_PROXY: "1", ...env, PORT: String(port), HOSTNAME: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(path.join(logDir, `${path.basename(script, ".ts")}.log`), { flags: "a" });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  try {
    await waitForPort(port, 60_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    directUrl: url,
    pids: [child.pid!],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      // A server that does not close within 10 s is killed: the run must go on.
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TICKS_PER_SECOND = 100;

/**
 * CPU time of processes, all threads, user and system, in ms (from /proc/<pid>/stat, 10 ms
 * resolution). On a machine shared with other work, CPU per request moves much less than
 * requests per second do.
 */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name may hold spaces; the fields after its closing parenthesis do not.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // A process that is gone has nothing more to count.
    }
  }
  return (ticks / TICKS_PER_SECOND) * 1000;
}
