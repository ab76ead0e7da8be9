import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { InstanceExited, startCluster } from "./cluster";
import { freePort } from "./stack";

/**
 * `npm run cluster` and its harness when an instance cannot start. No build is needed: each runs
 * in a folder of its own whose `dist/server.mjs` loads this checkout's server.ts through tsx (what
 * `npm run build` compiles), and a wrong setting stops server.ts before Next prepares. The
 * folder's `.next/BUILD_ID` only keeps the script from building.
 */
let app: string;
/** A folder with no build at all. */
let bare: string;

before(() => {
  bare = mkdtempSync(path.join(tmpdir(), "holdfast-cluster-bare-"));
  app = mkdtempSync(path.join(tmpdir(), "holdfast-cluster-"));
  mkdirSync(path.join(app, "dist"));
  writeFileSync(path.join(app, "dist", "server.mjs"), `import ${JSON.stringify(import.meta.resolve("tsx"))};\nawait import(${JSON.stringify(pathToFileURL(path.resolve("server.ts")).href)});\n`);
  mkdirSync(path.join(app, ".next"));
  writeFileSync(path.join(app, ".next", "BUILD_ID"), "not-a-build\n");
});

after(() => {
  for (const dir of [app, bare]) rmSync(dir, { recursive: true, force: true });
});

/**
 * Only what each case sets: not the test stack's stores (npm test exports REDIS_URL and a
 * cluster's nodes together, which the configuration refuses as a pair). DATABASE_URL is set, so
 * the script starts no embedded database; nothing connects to it, as the instance stops first.
 */
function env(extra: Record<string, string>): Record<string, string> & { NODE_ENV: "production" } {
  const clean = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && !/^(PORT|HOSTNAME|INSTANCE_NAME|NODE_ENV|SESSION_.*|DATABASE_URL|REDIS_.*|UPSTASH_.*|CAPTCHA_TEST_MODE|TRUST_PROXY|RATE_LIMIT_.*)$/.test(entry[0]),
  );
  return { ...Object.fromEntries(clean), SESSION_SECRET: "s".repeat(40), DATABASE_URL: "postgres://holdfast@127.0.0.1:1/unused", NEXT_TELEMETRY_DISABLED: "1", ...extra, NODE_ENV: "production" };
}

/** `npm run cluster -- …args` from the app's folder; the timeout is under the harness's 40 s wait for one instance. */
function cluster(args: string[], extra: Record<string, string> = {}) {
  const started = Date.now();
  const run = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve("scripts/cluster.ts"), ...args], { cwd: app, env: env(extra), encoding: "utf8", timeout: 30_000 });
  return { ...run, ms: Date.now() - started };
}

describe("npm run cluster with a wrong setting", () => {
  it("stops as soon as the instance exits, printing the instance's own sentence, with exit code 1 and no stack trace", async () => {
    const run = cluster(["--instances", "1", "--port", String(await freePort())], { SESSION_STORE: "bogus" });
    assert.equal(run.status, 1, `${run.stdout}${run.stderr} (after ${run.ms} ms)`);
    assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
    assert.deepEqual(run.stderr.split("\n").filter(Boolean), [
      `[cluster] i1 stopped before it listened (exit code 1); its log, ${path.join("artifacts", "logs", "cluster", "i1.log")}, says:`,
      "[holdfast] SESSION_STORE is not valid: use one of cookie, database, redis, cached or memory.",
    ]);
  });

  it("refuses an --instances or --port that is not a whole number in range, in one sentence each, before building anything", () => {
    const cases: [string[], string][] = [
      [["--instances", "abc"], "[cluster] --instances abc is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instances", "0"], "[cluster] --instances 0 is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instances", "17"], "[cluster] --instances 17 is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instances", "2.5"], "[cluster] --instances 2.5 is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instances"], "[cluster] --instances is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--port", "70000"], "[cluster] --port 70000 is not valid: use a whole number from 1 to 65535 (the port the proxy listens on; 8080 is the default)."],
      [["--instances=abc"], "[cluster] --instances abc is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instances", "--port", "8080"], "[cluster] --instances is not valid: use a whole number from 1 to 16 (how many instances to start behind the proxy; 3 is the default)."],
      [["--instance", "3"], "[cluster] --instance is not an option: use --instances N (1 to 16) and --port N (1 to 65535), as `npm run cluster -- --instances 3 --port 8080`."],
      [["3"], "[cluster] that argument is not an option: use --instances N (1 to 16) and --port N (1 to 65535), as `npm run cluster -- --instances 3 --port 8080`."],
    ];
    for (const [args, sentence] of cases) {
      // From a folder with no build: a refusal said after the build check would start `npm run build`.
      const run = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve("scripts/cluster.ts"), ...args], { cwd: bare, env: env({}), encoding: "utf8", timeout: 30_000 });
      assert.equal(run.status, 1, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stdout, "", args.join(" "));
      assert.deepEqual(run.stderr.split("\n").filter(Boolean), [sentence], args.join(" "));
    }
  });
});

describe("npm run cluster once it serves", () => {
  it("reads --instances=N, names an instance that stops later, and stops when none is left", async () => {
    // Instances that listen, name themselves, and exit with code 3 when asked to.
    const fake = mkdtempSync(path.join(tmpdir(), "holdfast-cluster-fake-"));
    mkdirSync(path.join(fake, "dist"));
    writeFileSync(
      path.join(fake, "dist", "server.mjs"),
      `import http from "node:http";\nhttp.createServer((req, res) => { res.setHeader("x-holdfast-instance", process.env.INSTANCE_NAME); res.end("ok"); if (req.url === "/exit") setTimeout(() => process.exit(3), 50); }).listen(Number(process.env.PORT), "127.0.0.1");\n`,
    );
    mkdirSync(path.join(fake, ".next"));
    writeFileSync(path.join(fake, ".next", "BUILD_ID"), "not-a-build\n");
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve("scripts/cluster.ts"), "--instances=2", `--port=${await freePort()}`], { cwd: fake, env: env({}) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const ended = once(child, "exit");
    try {
      const deadline = Date.now() + 20_000;
      while (!/\[cluster\] (http:\S+) → i1 on :\d+, i2 on :\d+ /.test(stdout)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /\[cluster\] (http:\S+) → /.exec(stdout)![1];
      const first = (await fetch(`${url}/exit`)).headers.get("x-holdfast-instance");
      await new Promise((r) => setTimeout(r, 500));
      const second = (await fetch(`${url}/exit`)).headers.get("x-holdfast-instance");
      assert.deepEqual([first, second].sort(), ["i1", "i2"]);
      const [code] = await Promise.race([ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running 15 s after both instances stopped: ${stderr}`)), 15_000).unref())]);
      assert.equal(code, 1);
      const log = (name: string | null) => path.join("artifacts", "logs", "cluster", `${name}.log`);
      assert.deepEqual(stderr.split("\n").filter(Boolean), [
        `[cluster] ${first} stopped (exit code 3); its log is ${log(first)}. nginx sends its requests to the other instance.`,
        `[cluster] ${second} stopped (exit code 3); its log is ${log(second)}. No instance is left: stopping.`,
      ]);
    } finally {
      child.kill("SIGKILL");
      rmSync(fake, { recursive: true, force: true });
    }
  });
});

describe("the cluster harness when an instance cannot start", () => {
  it("rejects at once with InstanceExited, carrying the instance's sentences from its log", async () => {
    const logDir = path.join(app, "logs");
    const started = Date.now();
    const error = await startCluster({ env: env({ SESSION_STORE: "bogus" }), instances: 2, appDir: app, logDir }).then(
      () => assert.fail("expected the cluster to refuse"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof InstanceExited, String(error));
    assert.match(error.instance, /^i[12]$/);
    assert.equal(error.how, "exit code 1");
    // The harness hands instances this process's environment too (under npm test, the test
    // stack's stores, which may add a sentence of their own): the wrong setting's is among them.
    assert.ok(error.sentences.includes("[holdfast] SESSION_STORE is not valid: use one of cookie, database, redis, cached or memory."), error.sentences.join("\n"));
    assert.ok(error.sentences.every((line) => line.startsWith("[holdfast] ")), error.sentences.join("\n"));
    assert.equal(error.logFile, path.join(logDir, `${error.instance}.log`));
    // Not the 50 s the harness waits for two instances to listen.
    assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
  });
});
