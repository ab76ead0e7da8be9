/**
 * `npm test` (through scripts/test-all.ts): every test, once. Starts the services
 * (testing/stack.ts), runs the static checks, the unit and integration tests, builds the app
 * once, then for every store configuration of testing/stores.ts runs the browser and HTTP
 * suites against three instances of that one build behind nginx, the cross-instance flow and
 * kill tests, and the security suite (testing/security/), which counts its requests, 5xx and
 * unexpected accepts; then the example app's browser test. Ends with each failed test and the first
 * lines of its error (testing/reports.ts), then one line: "N passed, N failed".
 *
 * `npm test -- --only static` (type-check and lint), `--only unit`, `--only captcha` or `--only e2e` runs a part; `--stores cookie,database` narrows e2e;
 * `--reuse-build` keeps an existing .next build (for iterating on tests, never in CI).
 */
import { spawn } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runStoreSecurity } from "./security/store-run";
import { missingTools, missingToolsMessage } from "./prerequisites";
import { startCluster } from "./cluster";
import { runExampleE2E } from "./example";
import { firstLines, playwrightFailures, tapFailures } from "./reports";
import { startStack, type Stack } from "./stack";
import { E2E_STORES, storeConfig } from "./stores";

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
/** Each failed test with the start of its error, printed again last: CI keeps only the log's tail. */
const failures: string[] = [];
/** One check that counts as one test. */
const check = (ok: boolean, name: string) => {
  totals[ok ? "passed" : "failed"] += 1;
  if (!ok) failures.push(name);
};
/** The folders the layering rules look at. */
const LAYERED = ["app", "lib", "packages/session/src", "testing", "scripts", "bench", "examples"];

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
  const files = [...testFiles("app"), ...testFiles("lib"), ...testFiles("testing"), ...testFiles("packages")].sort();
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
  if (count("pass") === 0) {
    totals.failed += 1;
    failures.push("unit: no test passed (see artifacts/unit.tap)");
  }
  failures.push(...tapFailures(text).map((f) => `unit: ${f}`));
}

/**
 * `npm ci` accepts the lock file: package.json and package-lock.json alone, copied to a clean
 * folder, install with `npm ci` (scripts off: the install is what is tested, not our postinstall).
 */
async function lockFile() {
  log("npm ci from the lock file in a clean copy");
  const dir = mkdtempSync(path.join(tmpdir(), "holdfast-npm-ci-"));
  try {
    // The workspaces' package.json files too, so the install is the whole workspace's.
    for (const file of ["package.json", "package-lock.json", "packages/session/package.json", "examples/minimal/package.json"]) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      copyFileSync(file, path.join(dir, file));
    }
    const code = await run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", dir], {}, path.join(ARTIFACTS, "npm-ci.log"));
    const ok = code === 0 && existsSync(path.join(dir, "node_modules/next/package.json"));
    if (!ok) log(`npm ci refused the lock file; see ${path.join(ARTIFACTS, "npm-ci.log")}`);
    check(ok, "npm ci from the lock file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Type-check (with unused locals and parameters refused; the app, then the package on its own
 * settings), lint (Next's rules, no warning) and the layering rules (.dependency-cruiser.cjs):
 * each counts as one test.
 */
async function staticChecks() {
  log("type-check (tsc --noEmit, app and package), lint (eslint --max-warnings 0), layering (depcruise)");
  check((await run("npx", ["tsc", "--noEmit"], {})) === 0, "type-check of the app");
  check((await run("npx", ["tsc", "--noEmit", "-p", "packages/session/tsconfig.json"], {})) === 0, "type-check of packages/session");
  check((await run("npx", ["eslint", "--max-warnings", "0", "."], {})) === 0, "lint");
  check((await run("npx", ["depcruise", ...LAYERED, "--config", ".dependency-cruiser.cjs"], {})) === 0, "layering rules");
}

/** The captcha against our own attackers, on the smaller CI sample (500 captchas, 2,000 to learn from). */
async function captchaStrength() {
  log("captcha strength: structure and OCR attackers on 500 fresh captchas");
  const code = await run(process.execPath, ["--import", "tsx", "testing/captcha-strength/run.ts", "--sample", "500", "--train", "2000"], {});
  check(code === 0, "captcha strength");
}

async function playwright(label: string, files: string[], env: Record<string, string>) {
  const report = path.join(ARTIFACTS, `e2e-${label}.json`);
  await run("npx", ["playwright", "test", ...files, "--reporter=list,json"], { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: report });
  const json = existsSync(report) ? JSON.parse(readFileSync(report, "utf8")) : undefined;
  const stats = json?.stats;
  failures.push(...playwrightFailures(json).map((f) => `${label}: ${f}`));
  const passed = (stats?.expected ?? 0) + (stats?.flaky ?? 0);
  totals.passed += passed;
  totals.failed += (stats?.unexpected ?? 1) + (stats?.skipped ?? 0) + (passed === 0 ? 1 : 0);
  if (!json) failures.push(`${label}: Playwright wrote no report`);
  else if (passed === 0) failures.push(`${label}: no test passed`);
}

async function e2e(stack: Stack) {
  if (args.includes("--reuse-build") && existsSync(".next/BUILD_ID")) log("reusing the existing build (--reuse-build)");
  else log("building the app once for every store");
  const buildLog = path.join(ARTIFACTS, "build.log");
  if (!(args.includes("--reuse-build") && existsSync(".next/BUILD_ID")) && (await run("npm", ["run", "build"], { NEXT_TELEMETRY_DISABLED: "" }, buildLog)) !== 0) {
    check(false, `build (see ${buildLog})`);
    log("build failed");
    return;
  }
  // `npm run build` itself turns telemetry off: its output never carries Next's telemetry notice.
  if (existsSync(buildLog)) {
    const quiet = !/anonymous telemetry|nextjs\.org\/telemetry/i.test(readFileSync(buildLog, "utf8"));
    if (!quiet) log(`the build printed Next's telemetry notice; see ${buildLog}`);
    check(quiet, "the build prints no telemetry notice");
  }
  for (const store of E2E_STORES.filter((s) => !storeFilter || storeFilter.includes(s.name))) {
    const env = { ...stack.env, ...store.env(stack) };
    log(`browser and HTTP suites with the ${store.name} store, behind nginx in front of three instances`);
    const cluster = await startCluster({ env, logDir: path.join(ARTIFACTS, "logs", store.name) });
    try {
      await playwright(store.name, [], { BASE_URL: cluster.url, E2E_STORE: store.name });
    } finally {
      await cluster.stop();
    }
    log(`cross-instance flows with the ${store.name} store`);
    const files = ["e2e/cluster/flows.spec.ts", "e2e/cluster/edges.spec.ts", ...(store.serverless ? ["e2e/cluster/serverless.spec.ts"] : [])];
    await playwright(`${store.name}-cluster`, files, { E2E_SUITE: "cluster", E2E_STORE: store.name, CLUSTER_ENV: JSON.stringify(env) });
    log(`security suite with the ${store.name} store`);
    const report = await runStoreSecurity(stack, store, log);
    console.log(`security [${store.name}]: requests ${report.requests}, 5xx ${report.fiveXx}, unexpected accepts ${report.unexpectedAccepts}`);
    for (const failure of report.failures) console.log(`  - ${failure}`);
    const clean = report.fiveXx === 0 && report.unexpectedAccepts === 0 && report.failures.length === 0;
    check(clean, `security suite with the ${store.name} store${report.failures.length ? ` — ${firstLines(report.failures.join("\n"))}` : ""}`);
  }
  if (!storeFilter || storeFilter.includes("redis-cluster")) {
    log("a Redis Cluster primary killed under load, with and without REDIS_WAIT_REPLICAS");
    const env = { ...stack.env, ...storeConfig("redis-cluster").env(stack) };
    await playwright("redis-failover", ["e2e/cluster/failover.spec.ts"], { E2E_SUITE: "cluster", E2E_STORE: "redis-cluster", CLUSTER_ENV: JSON.stringify(env) });
  }
  if (!storeFilter || storeFilter.includes("cookie")) {
    log("the proof of work at its production cost, solved in Chromium");
    const env = { ...stack.env, ...storeConfig("cookie").env(stack) };
    await playwright("pow-cost", ["e2e/cluster/pow-cost.spec.ts"], { E2E_SUITE: "cluster", E2E_STORE: "cookie", CLUSTER_ENV: JSON.stringify(env) });
  }
  if (!storeFilter || storeFilter.includes("memory")) {
    log("two memory-store instances behind the proxy, and the doctor's diagnosis from live signals");
    const env = { ...stack.env, ...storeConfig("cookie").env(stack) };
    await playwright("memory-cluster", ["e2e/cluster/memory.spec.ts", "e2e/cluster/signals.spec.ts"], { E2E_SUITE: "cluster", E2E_STORE: "memory", CLUSTER_ENV: JSON.stringify(env) });
  }
  if (!storeFilter || storeFilter.includes("database")) {
    log("twelve instances through PgBouncer (transaction pooling, at most 10 server connections): 600 sign-ups");
    const env = { ...stack.env, ...storeConfig("database").env(stack) };
    await playwright("pgbouncer", ["e2e/cluster/pgbouncer.spec.ts"], { E2E_SUITE: "cluster", E2E_STORE: "database", CLUSTER_ENV: JSON.stringify(env) });
  }
}

/** The second app: examples/minimal on the package alone (it starts its own Redis). */
async function example() {
  log("the second app: examples/minimal on @holdfast/session, redis store over TCP");
  const result = await runExampleE2E(log, { reuseBuild: args.includes("--reuse-build") });
  totals.passed += result.passed;
  totals.failed += result.failed + (result.passed === 0 ? 1 : 0);
  if (result.failed > 0 || result.passed === 0) failures.push(`example app: ${result.passed} passed, ${result.failed} failed`);
}

async function main() {
  const missing = missingTools();
  if (missing.length) {
    console.error(`[test] ${missingToolsMessage(missing)}`);
    process.exit(1);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const stack = await startStack(log);
  try {
    if (!only || only === "static") await staticChecks();
    if (!only || only === "static") await lockFile();
    if (!only || only === "unit") await unit(stack);
    if (!only || only === "captcha") await captchaStrength();
    if (!only || only === "e2e") await e2e(stack);
    if (!only || only === "e2e") await example();
  } finally {
    await stack.stop();
  }
  if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed`);
  process.exit(totals.failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
