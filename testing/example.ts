/**
 * The second app that proves the package: builds examples/minimal once, starts it with
 * `next start` on a spare port over a private redis-server, runs its Playwright test
 * (examples/minimal/e2e) against it and stops everything. `npm test` calls `runExampleE2E`;
 * `npx tsx testing/example.ts` runs it alone (`--reuse-build` keeps an existing build).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort, startRedisServer, waitForPort } from "./stack";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLE = path.join(ROOT, "examples/minimal");
const ARTIFACTS = path.join(ROOT, "artifacts");
const NEXT_BIN = path.join(ROOT, "node_modules/next/dist/bin/next");
const PLAYWRIGHT_CLI = path.join(ROOT, "node_modules/@playwright/test/cli.js");
/** No Next.js telemetry, in the build and at run time alike. */
const QUIET = { NEXT_TELEMETRY_DISABLED: "1" };

export interface ExampleOptions {
  /** Keep an existing examples/minimal/.next build (for iterating on the test, never in CI). */
  reuseBuild?: boolean;
}

/** Runs a program to its end with its output in a log file; resolves to its exit code. */
function runLogged(argv: string[], options: { cwd: string; env: Record<string, string>; logFile: string; echo?: boolean }): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    const out = createWriteStream(options.logFile);
    for (const stream of [child.stdout, child.stderr]) {
      stream.pipe(out, { end: false });
      if (options.echo) stream.pipe(process.stdout, { end: false });
    }
    child.on("error", () => resolve(1));
    child.on("close", (code) => {
      out.end();
      resolve(code ?? 1);
    });
  });
}

/** `next start` of the built example, in a process group of its own so stopping it stops all of it. */
async function startExample(env: Record<string, string>, logFile: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const out = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [NEXT_BIN, "start", "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: EXAMPLE,
    env: { ...process.env, ...QUIET, NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForPort(port, 60_000),
      exited.then(() => {
        throw new Error(`next start of the example exited early; see ${logFile}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

interface PlaywrightStats {
  expected?: number;
  unexpected?: number;
  flaky?: number;
  skipped?: number;
}

/** Builds, starts and tests the example; every Playwright test counts, and so does a build or start that fails. */
export async function runExampleE2E(log: (line: string) => void, options: ExampleOptions = {}): Promise<{ passed: number; failed: number }> {
  const logs = path.join(ARTIFACTS, "logs", "example-minimal");
  mkdirSync(logs, { recursive: true });
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

  if (options.reuseBuild && existsSync(path.join(EXAMPLE, ".next/BUILD_ID"))) {
    log("example: reusing the existing examples/minimal build (--reuse-build)");
  } else {
    log("example: building examples/minimal (next build)");
    const buildLog = path.join(logs, "build.log");
    if ((await runLogged([NEXT_BIN, "build"], { cwd: EXAMPLE, env: QUIET, logFile: buildLog })) !== 0) {
      log(`example: the build failed; see ${buildLog}`);
      return { passed: 0, failed: 1 };
    }
    log(`example: built in ${seconds()}`);
  }

  const redis = await startRedisServer();
  let server: { url: string; stop(): Promise<void> } | undefined;
  try {
    try {
      server = await startExample({ REDIS_URL: redis.url }, path.join(logs, "server.log"));
    } catch (error) {
      log(`example: ${(error as Error).message}`);
      return { passed: 0, failed: 1 };
    }
    log(`example: next start at ${server.url}, redis at ${redis.url}; running its Playwright test`);
    const report = path.join(ARTIFACTS, "e2e-example-minimal.json");
    rmSync(report, { force: true });
    await runLogged([PLAYWRIGHT_CLI, "test", "--config", path.join(EXAMPLE, "playwright.config.ts"), "--reporter=list,json"], {
      cwd: ROOT,
      env: {
        BASE_URL: server.url,
        REDIS_URL: redis.url,
        PLAYWRIGHT_JSON_OUTPUT_NAME: report,
        EXAMPLE_OUTPUT_DIR: path.join(ARTIFACTS, "playwright-example-minimal"),
      },
      logFile: path.join(logs, "playwright.log"),
      echo: true,
    });
    const stats: PlaywrightStats | undefined = existsSync(report) ? JSON.parse(readFileSync(report, "utf8")).stats : undefined;
    if (!stats) log(`example: Playwright wrote no report; see ${path.join(logs, "playwright.log")}`);
    const passed = (stats?.expected ?? 0) + (stats?.flaky ?? 0);
    const failed = (stats?.unexpected ?? 1) + (stats?.skipped ?? 0) + (passed === 0 ? 1 : 0);
    log(`example: ${passed} passed, ${failed} failed in ${seconds()}`);
    return { passed, failed };
  } finally {
    await server?.stop();
    await redis.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runExampleE2E((line) => console.log(`[example] ${line}`), { reuseBuild: process.argv.includes("--reuse-build") }).then(
    ({ passed, failed }) => {
      console.log(`\nexample: ${passed} passed, ${failed} failed`);
      process.exit(failed === 0 ? 0 : 1);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
