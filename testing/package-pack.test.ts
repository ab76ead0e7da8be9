import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { required } from "./services";

/**
 * The package as a stranger gets it: `npm pack` of packages/session, the tarball installed with
 * the drivers from the registry into a fresh Next app in a temporary folder (outside this repo,
 * with nothing of it in reach), and the package's own conformance suite run there under plain
 * `node --test` for the memory, cookie and redis stores (TCP, and REST through fetch and through undici).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = path.join(ROOT, "packages/session");
const ROOT_DEPENDENCIES: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies;
/** What the app installs from the registry, at the ranges this repo uses. */
const REGISTRY_DEPENDENCIES = ["next", "react", "react-dom", "@hapi/iron", "redis", "@upstash/redis", "undici"];
/** What a tarball may hold: the built code, the database schema and migration, the README and the manifest. */
const SHIPPED = /^(dist\/.+\.(js|d\.ts)|sql\/.+\.sql|prisma\/.+\.prisma|README\.md|package\.json)$/;
const STORES = ["memory", "cookie", "redis over tcp", "redis over rest", "redis over rest (undici)"];
/** The conformance suite has this many cases today; fewer means a store's suite did not really run. */
const MIN_CASES_PER_STORE = 16;

/** The npm settings an `npm test` run puts in the environment belong to this repo, not to the stranger's app. */
function strangerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_/i.test(key) || /^npm_config_(local_prefix|prefix|workspaces?|global|include_workspace_root)$/i.test(key)) delete env[key];
  }
  // NODE_TEST_CONTEXT is how node:test tells its own child processes apart: a nested `node --test`
  // that inherits it reports in the runner's binary protocol instead of TAP.
  for (const key of ["NODE_OPTIONS", "NODE_PATH", "INIT_CWD", "NODE_TEST_CONTEXT"]) delete env[key];
  return env;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function must(ran: Ran, what: string): Ran {
  assert.equal(ran.code, 0, `${what} failed (exit ${ran.code}):\n${ran.stdout.slice(-4000)}\n${ran.stderr.slice(-4000)}`);
  return ran;
}

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, base) : [path.relative(base, full).split(path.sep).join("/")];
  });
}

/** The conformance run: it imports only the package's testing entry and the store subpaths. */
const CONFORMANCE = `import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { storeConformance } from "@holdfast/session/testing";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { createCookieStore } from "@holdfast/session/stores/cookie";
import { createRedisStore } from "@holdfast/session/stores/redis";
import { tcpTransport } from "@holdfast/session/redis/tcp";
import { restTransport } from "@holdfast/session/redis/rest";
import { nodeRestTransport } from "@holdfast/session/redis/rest-node";

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(name + " is not set");
  return value;
}

const tcp = tcpTransport(env("REDIS_URL"));
const rest = restTransport(env("UPSTASH_REDIS_REST_URL"), env("UPSTASH_REDIS_REST_TOKEN"));
const restNode = nodeRestTransport(env("UPSTASH_REDIS_REST_URL"), env("UPSTASH_REDIS_REST_TOKEN"));
const prefixes = [];

/** A store on a key prefix of its own, so the shared test Redis keeps other suites' keys apart. */
function redisFixture(transport) {
  const prefix = "pack-" + transport.kind + "-" + randomUUID();
  prefixes.push([transport, prefix]);
  const store = createRedisStore(transport, { prefix });
  return { store, countSessions: async () => (await transport.send(["KEYS", prefix + ":sess:*"])).length };
}

after(async () => {
  for (const [transport, prefix] of prefixes) {
    const keys = await transport.send(["KEYS", prefix + ":*"]);
    for (const key of keys) await transport.send(["DEL", key]);
  }
  await tcp.close();
  await rest.close();
  await restNode.close();
});

storeConformance("memory", () => {
  const store = createMemoryStore();
  return { store, countSessions: async () => store.size() };
});
storeConformance("cookie", () => ({
  store: createCookieStore({ secrets: ["package-pack-test-secret-0123456789abcdef"], cookieName: "sid", ttlSeconds: 3600 }),
}));
storeConformance("redis over tcp", () => redisFixture(tcp));
storeConformance("redis over rest", () => redisFixture(rest));
storeConformance("redis over rest (undici)", () => redisFixture(restNode));
`;

/** Every public entry point loads in the app, and what is resolvable there is the app's own. */
const PROBE = `import { createRequire } from "node:module";
import { lstatSync, readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

const manifest = JSON.parse(readFileSync(new URL("./node_modules/@holdfast/session/package.json", import.meta.url), "utf8"));
const entries = {};
for (const subpath of Object.keys(manifest.exports)) {
  const specifier = "@holdfast/session" + subpath.slice(1);
  const resolved = realpathSync(fileURLToPath(import.meta.resolve(specifier)));
  entries[specifier] = { resolved, exports: Object.keys(await import(specifier)).sort() };
}
const require = createRequire(import.meta.url);
const unresolvable = {};
for (const name of JSON.parse(process.argv[2])) {
  try {
    unresolvable[name] = require.resolve(name);
  } catch {
    unresolvable[name] = null;
  }
}
const installed = "./node_modules/@holdfast/session";
console.log(JSON.stringify({ entries, unresolvable, symlink: lstatSync(installed).isSymbolicLink(), installedAt: realpathSync(installed) }));
`;

describe("the packed @holdfast/session in a fresh Next app outside this repo", { timeout: 600_000 }, () => {
  const work = realpathSync(mkdtempSync(path.join(tmpdir(), "holdfast-pack-")));
  const app = path.join(work, "app");
  const timings: Record<string, number> = {};
  let packed: { filename: string; files: { path: string }[] };

  before(async () => {
    const pack = must(await run("npm", ["pack", "--json", "--pack-destination", work], PACKAGE, strangerEnv(), 180_000), "npm pack");
    timings["npm pack (with prepack build)"] = pack.seconds;
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")));

    mkdirSync(app);
    const dependencies = Object.fromEntries(REGISTRY_DEPENDENCIES.map((name) => [name, ROOT_DEPENDENCIES[name]!]));
    writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "stranger-app", private: true, type: "module", scripts: { build: "next build" }, dependencies: { ...dependencies, "@holdfast/session": `file:../${packed.filename}` } }, null, 2),
    );
    mkdirSync(path.join(app, "app"));
    writeFileSync(path.join(app, "app/page.js"), "export default function Page() {\n  return null;\n}\n");
    writeFileSync(path.join(app, "conformance.test.mjs"), CONFORMANCE);
    writeFileSync(path.join(app, "probe.mjs"), PROBE);
    const install = must(
      await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"], app, strangerEnv(), 300_000),
      "npm install in the fresh app",
    );
    timings["npm install (registry and tarball)"] = install.seconds;
  });

  after(() => {
    console.log(`package-pack timings: ${Object.entries(timings).map(([step, s]) => `${step} ${s.toFixed(1)} s`).join(", ")}`);
    rmSync(work, { recursive: true, force: true });
  });

  it("the tarball holds only dist/, sql/, prisma/, README.md and package.json, and dist matches src one to one", () => {
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files.filter((f) => !SHIPPED.test(f)), [], "files the tarball should not ship");
    assert.ok(files.includes("package.json") && files.includes("dist/index.js") && files.includes("dist/index.d.ts"));
    assert.ok(files.some((f) => f.startsWith("sql/")) && files.some((f) => f.startsWith("prisma/")), "the database store's schema and migration ship");
    const sources = filesUnder(path.join(PACKAGE, "src"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => `dist/${f.replace(/\.ts$/, ".js")}`)
      .sort();
    assert.deepEqual(
      files.filter((f) => f.endsWith(".js")),
      sources,
      "every shipped module has a source and every source is shipped (no stale dist/ files)",
    );
  });

  it("the tarball ships the package's README", () => {
    assert.ok(packed.files.some((f) => f.path === "README.md"), "packages/session/README.md is missing, so the tarball has no README");
  });

  it("nothing from this repo is resolvable in the app; every public export loads from the installed tarball", async () => {
    assert.ok(path.relative(ROOT, app).startsWith(".."), "the app is outside the repo");
    for (let dir = work; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      assert.ok(!existsSync(path.join(dir, "node_modules")), `${dir}/node_modules would be in the app's reach`);
    }
    const repoOnly = ["holdfast", "holdfast-example-minimal", "tsx", "@playwright/test", "@prisma/client", "pg", "zod"];
    const probe = must(await run(process.execPath, ["probe.mjs", JSON.stringify(repoOnly)], app, strangerEnv(), 60_000), "the probe");
    const result = JSON.parse(probe.stdout) as {
      entries: Record<string, { resolved: string; exports: string[] }>;
      unresolvable: Record<string, string | null>;
      symlink: boolean;
      installedAt: string;
    };
    assert.equal(result.symlink, false, "the package is a copy from the tarball, not a link into the repo");
    assert.equal(result.installedAt, path.join(app, "node_modules/@holdfast/session"));
    assert.deepEqual(result.unresolvable, Object.fromEntries(repoOnly.map((name) => [name, null])));
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE, "package.json"), "utf8")) as { exports: Record<string, unknown> };
    assert.equal(Object.keys(result.entries).length, Object.keys(manifest.exports).length);
    for (const [specifier, entry] of Object.entries(result.entries)) {
      assert.ok(entry.resolved.startsWith(path.join(app, "node_modules/@holdfast/session/dist/")), `${specifier} resolves to ${entry.resolved}`);
      assert.ok(entry.exports.length > 0, `${specifier} exports something`);
    }
    const has = (specifier: string, names: string[]) => assert.deepEqual(names.filter((n) => !result.entries[specifier]?.exports.includes(n)), [], specifier);
    has("@holdfast/session", ["createSessions", "Session", "StoreUnavailableError", "SessionTooLargeError", "consoleLogger", "silentLogger"]);
    has("@holdfast/session/next", ["nextSessions"]);
    has("@holdfast/session/testing", ["storeConformance", "countingStore"]);
    has("@holdfast/session/stores/redis", ["createRedisStore"]);
    has("@holdfast/session/redis/tcp", ["tcpTransport"]);
    has("@holdfast/session/redis/rest", ["restTransport"]);
    has("@holdfast/session/redis/rest-node", ["nodeRestTransport", "RedisReplyError"]);
    for (const file of filesUnder(path.join(app, "node_modules/@holdfast/session"))) {
      const text = readFileSync(path.join(app, "node_modules/@holdfast/session", file), "utf8");
      assert.ok(!text.includes(ROOT), `${file} names this repo's folder`);
    }
    assert.ok(!lstatSync(path.join(app, "node_modules/next")).isSymbolicLink());
  });

  it("the conformance suite passes in the app for memory, cookie, redis over TCP and redis over REST (fetch and undici), every case of every store run", async () => {
    const env = strangerEnv({
      REDIS_URL: required("REDIS_URL"),
      UPSTASH_REDIS_REST_URL: required("UPSTASH_REDIS_REST_URL"),
      UPSTASH_REDIS_REST_TOKEN: required("UPSTASH_REDIS_REST_TOKEN"),
    });
    const ran = await run(process.execPath, ["--test", "--test-reporter=tap", "conformance.test.mjs"], app, env, 180_000);
    timings["conformance under node --test"] = ran.seconds;
    const tap = ran.stdout;
    assert.equal(ran.code, 0, `node --test failed:\n${tap.slice(-6000)}\n${ran.stderr.slice(-2000)}`);

    const counts: Record<string, { passed: number; failed: number; skipped: number }> = {};
    let current: { passed: number; failed: number; skipped: number } | undefined;
    for (const line of tap.split("\n")) {
      const suite = /^# Subtest: session store conformance: (.+)$/.exec(line);
      if (suite) {
        current = counts[suite[1]!] = { passed: 0, failed: 0, skipped: 0 };
        continue;
      }
      if (/^(not )?ok \d+ - /.test(line)) current = undefined;
      const result = /^ {4}(not )?ok \d+ - .*?( # (SKIP|TODO)\b.*)?$/.exec(line);
      if (current && result) {
        if (result[2]) current.skipped++;
        else if (result[1]) current.failed++;
        else current.passed++;
      }
    }
    assert.deepEqual(Object.keys(counts).sort(), [...STORES].sort(), "one conformance suite per store");
    for (const store of STORES) {
      const count = counts[store]!;
      assert.equal(count.failed, 0, `${store}: failures`);
      assert.equal(count.skipped, 0, `${store}: skipped cases`);
      assert.ok(count.passed >= MIN_CASES_PER_STORE, `${store}: only ${count.passed} cases ran`);
      assert.equal(count.passed, counts.memory!.passed, `${store} ran as many cases as memory`);
    }
    const total = Number(/^# pass (\d+)$/m.exec(tap)?.[1]);
    assert.equal(total, STORES.length * counts.memory!.passed, "the summary counts every case");
    assert.match(tap, /^# fail 0$/m);
  });
});
