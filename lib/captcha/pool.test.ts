import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { Session } from "@holdfast/session";
import { createMemoryStore } from "@holdfast/session/stores/memory";
import { memoryLedger } from "./ledgers/memory";
import { checkCaptcha, issueCaptcha } from "./captcha";
import { CaptchaPool } from "./pool";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH } from "./text";

const KEYS = ["captcha-test-key"];

const answerPattern = new RegExp(`^[${CAPTCHA_ALPHABET}]{${CAPTCHA_LENGTH}}$`);

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the pool");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A thread that answers every request with one fixed captcha, or dies at once. */
function fakeThread(behaviour: "answer" | "exit"): Worker {
  const code =
    behaviour === "exit"
      ? "process.exit(3)"
      : `const { parentPort } = require("node:worker_threads");
         parentPort.on("message", (n) => { for (let i = 0; i < n; i++) parentPort.postMessage({ answer: "ACE" + i, svg: "<svg/>" }); });`;
  return new Worker(code, { eval: true });
}

describe("captcha pool", () => {
  it("the drawing thread fills the pool; each captcha is handed out once, then the pool draws inline", async () => {
    const pool = new CaptchaPool({ size: 4 });
    try {
      assert.equal(pool.available, 0);
      // The first take finds the pool empty: it draws inline and starts the thread.
      const first = pool.take();
      assert.match(first.answer, answerPattern);
      assert.match(first.svg, /^<svg /);
      await until(() => pool.available === 4);
      assert.ok(pool.running);
      const drawn = [pool.takeReady(), pool.takeReady(), pool.takeReady(), pool.takeReady()];
      for (const d of drawn) {
        assert.ok(d);
        assert.match(d.answer, answerPattern);
        assert.match(d.svg, /^<svg [^>]*width="240" height="80"/);
        assert.ok(d.svg.length < 24_000);
      }
      assert.equal(new Set(drawn.map((d) => d!.svg)).size, 4, "no picture is handed out twice");
      // Taking asked for more: the thread tops the pool up again.
      await until(() => pool.available === 4);
    } finally {
      await pool.close();
    }
    assert.equal(pool.running, false);
    assert.equal(pool.available, 0);
    assert.match(pool.take().answer, answerPattern, "a closed pool draws inline");
  });

  it("on Linux the drawing thread runs at the niceness asked for", { skip: !existsSync("/proc/thread-self") }, async () => {
    const niceOfThreads = () =>
      readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        // Field 19 of stat is the nice value; fields after the ")" start at field 3.
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
      });
    const pool = new CaptchaPool({ size: 1, nice: 7 });
    try {
      pool.fill();
      await until(() => pool.available === 1);
      assert.ok(niceOfThreads().includes(7), `one thread at nice 7: ${niceOfThreads().join(" ")}`);
    } finally {
      await pool.close();
    }
  });

  it("never holds more than its size, however often it is asked to fill", async () => {
    const pool = new CaptchaPool({ size: 3, spawn: () => fakeThread("answer") });
    try {
      for (let i = 0; i < 10; i++) pool.fill();
      await until(() => pool.available === 3);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(pool.available, 3);
    } finally {
      await pool.close();
    }
  });

  it("a process whose pool has a running thread still exits on its own when its work is done", () => {
    const script = `import { CaptchaPool } from "./lib/captcha/pool.ts";
const pool = new CaptchaPool({ size: 4 });
pool.take();
await new Promise((r) => setTimeout(r, 1500));
console.log(pool.take().answer.length);`;
    const started = Date.now();
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ""} after ${Date.now() - started} ms: ${run.stderr}`);
    assert.equal(run.stdout.trim(), String(CAPTCHA_LENGTH));
  });

  it("size 0 starts no thread and draws every captcha inline", () => {
    const pool = new CaptchaPool({
      size: 0,
      spawn: () => {
        throw new Error("must not start");
      },
    });
    assert.equal(pool.takeReady(), undefined);
    assert.match(pool.take().answer, answerPattern);
    assert.equal(pool.running, false);
  });

  it("a thread that cannot start, or dies, turns the pool off once and every take still gets a captcha", async () => {
    const errors: unknown[] = [];
    const refused = new CaptchaPool({
      size: 4,
      spawn: () => {
        throw new Error("no threads here");
      },
      onError: (e) => errors.push(e),
    });
    assert.match(refused.take().answer, answerPattern);
    assert.match(refused.take().answer, answerPattern);
    assert.equal(errors.length, 1);

    const dying = new CaptchaPool({ size: 4, spawn: () => fakeThread("exit"), onError: (e) => errors.push(e) });
    assert.match(dying.take().answer, answerPattern);
    await until(() => errors.length === 2);
    assert.equal(dying.running, false);
    assert.match(dying.take().answer, answerPattern);
    assert.equal(errors.length, 2);
  });

  it("issueCaptcha records the hash of the drawn answer, so the pool's answer solves it", async () => {
    const store = createMemoryStore();
    const captchas = memoryLedger();
    const session = new Session(store, undefined, { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 });
    const { svg, answer } = await issueCaptcha(session, captchas, { ttlMs: 60_000, keys: KEYS, draw: () => ({ answer: "ACEHM", svg: "<svg/>" }) });
    assert.equal(answer, "ACEHM");
    assert.equal(svg, "<svg/>");
    const token = ((await session.commit()) as { value: string }).value;
    const next = new Session(store, token, { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000 });
    assert.equal(await checkCaptcha(next, captchas, "acehm", { keys: KEYS }), "ok");
  });
});
