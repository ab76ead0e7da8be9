/**
 * `npm test`: every test, once. Starts the services (testing/stack.ts), runs the unit and
 * integration tests, builds the app once, then runs the browser tests against that one build
 * for every store configuration. Ends with one line: "N passed, N failed".
 *
 * `npm test -- --only unit` or `--only e2e` runs a part; `--stores cookie,database` narrows e2e.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, createWriteStream } from "node:fs";
import path from "node:path";
import { freePort, startStack, waitForPort, type Stack } from "../testing/stack";
import { E2E_STORES, type E2EStore } from "../testing/stores";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const only = option("--only");
const storeFilter = option("--stores")?.split(",");
const log = (line: string) => console.log(`[test] ${line}`);
const ARTIFACTS = path.resolve("artifacts");
const totals = { passed: 0, failed: 0 };

function missingTools(): string[] {
  const missing: string[] = [];
  const onPath = (bin: string) => (process.env.PATH ?? "").split(":").some((dir) => existsSync(path.join(dir, bin)));
  if (!onPath("redis-server")) missing.push("redis-server");
  if (!existsSync("/usr/bin/chromium")) missing.push("chromium");
  return missing;
}

function run(command: string, argv: string[], env: Record<string, string>, logFile?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: logFile ? ["ignore", "pipe", "pipe"] : "inherit" });
    if (logFile) {
      const out = createWriteStream(logFile);
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
    }
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === "generated" || name === "node_modules" ? [] : testFiles(full);
    return name.endsWith(".test.ts") ? [full] : [];
  });
}

async function unit(stack: Stack) {
  const tap = path.join(ARTIFACTS, "unit.tap");
  const files = [...testFiles("lib"), ...testFiles("scripts")].sort();
  log(`unit and integration tests: ${files.length} files`);
  await run(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files],
    { ...stack.env, NODE_ENV: "test" },
  );
  const text = readFileSync(tap, "utf8");
  const count = (key: string) => Number(new RegExp(`^# ${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  totals.passed += count("pass");
  totals.failed += count("fail") + count("cancelled");
  if (count("pass") === 0) totals.failed += 1;
}

async function startServer(store: E2EStore, stack: Stack): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const logFile = path.join(ARTIFACTS, "logs", `server-${store.name}.log`);
  const child = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(port), "-H", "127.0.0.1"], {
    env: { ...process.env, ...stack.env, ...store.env(stack), NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = createWriteStream(logFile);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  await waitForPort(port, 60_000);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

async function e2e(stack: Stack) {
  mkdirSync(path.join(ARTIFACTS, "logs"), { recursive: true });
  log("building the app once for every store");
  if ((await run("npx", ["next", "build"], { NEXT_TELEMETRY_DISABLED: "1" })) !== 0) {
    totals.failed += 1;
    log("build failed");
    return;
  }
  for (const store of E2E_STORES.filter((s) => !storeFilter || storeFilter.includes(s.name))) {
    log(`browser tests with the ${store.name} store`);
    const server = await startServer(store, stack);
    const report = path.join(ARTIFACTS, `e2e-${store.name}.json`);
    try {
      await run("npx", ["playwright", "test", "--reporter=list,json"], {
        BASE_URL: server.url,
        E2E_STORE: store.name,
        PLAYWRIGHT_JSON_OUTPUT_NAME: report,
      });
    } finally {
      await server.stop();
    }
    const stats = existsSync(report) ? JSON.parse(readFileSync(report, "utf8")).stats : undefined;
    const passed = (stats?.expected ?? 0) + (stats?.flaky ?? 0);
    totals.passed += passed;
    totals.failed += (stats?.unexpected ?? 1) + (stats?.skipped ?? 0) + (passed === 0 ? 1 : 0);
  }
}

async function main() {
  const missing = missingTools();
  if (missing.length) {
    console.error(`[test] missing ${missing.join(", ")}: install with \`sudo apt-get install -y redis-server chromium\`.`);
    process.exit(1);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const stack = await startStack(log);
  try {
    if (!only || only === "unit") await unit(stack);
    if (!only || only === "e2e") await e2e(stack);
  } finally {
    await stack.stop();
  }
  console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed`);
  process.exit(totals.failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
