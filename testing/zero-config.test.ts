import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";
import { rawRequest } from "./raw-http";
import { freePort } from "./stack";
import { describe, it } from "node:test";

/**
 * The zero-configuration default, as a new user meets it: nothing set. `npm run doctor` checks
 * the embedded database that `npm run dev` uses (never "DATABASE_URL is not set"), names a
 * missing migration with its fix, and finds nothing once `npm run db:migrate` ran.
 */
const bare = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(DATABASE_URL|SESSION_SECRET|SESSION_STORE|REDIS_URL|UPSTASH_.*|CAPTCHA_TEST_MODE|NODE_ENV|TRUST_PROXY|RATE_LIMIT_.*|HOSTNAME)$/.test(key)),
);
const run = (script: string) => spawnSync(process.execPath, ["--import", "tsx", script], { env: bare as NodeJS.ProcessEnv, encoding: "utf8", timeout: 180_000 });

describe("zero configuration", () => {
  it("npm run doctor checks the embedded database, and db:migrate migrates it", () => {
    const first = run("scripts/doctor.ts");
    const before = first.stdout + first.stderr;
    assert.doesNotMatch(before, /DATABASE_URL is not set/);
    assert.match(before, /embedded PostgreSQL/);
    // A fresh checkout's embedded database is not migrated until something migrates it.
    if (first.status !== 0) assert.match(before, /\[database-not-migrated\][\s\S]*npm run db:migrate/, before);

    const migrated = run("scripts/migrate.ts");
    assert.equal(migrated.status, 0, migrated.stdout + migrated.stderr);
    assert.match(migrated.stdout, /\d+ applied, \d+ already applied/);

    const second = run("scripts/doctor.ts");
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /doctor: no problems found/);

    // sessions:clear finds the same database, not "DATABASE_URL is not set".
    const cleared = run("scripts/sessions-clear.ts");
    assert.equal(cleared.status, 0, cleared.stdout + cleared.stderr);
    assert.match(cleared.stdout, /embedded PostgreSQL[\s\S]*removed \d+ expired sessions and \d+ expired captchas/);
  });

  it("npm start with another NODE_ENV is refused in one sentence, not silently run as production", () => {
    const started = spawnSync(process.execPath, ["--import", "tsx", "scripts/launch.ts", "start"], { env: { ...bare, NODE_ENV: "staging" } as unknown as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 });
    assert.equal(started.status, 1);
    assert.match(started.stderr, /^\[holdfast\] NODE_ENV=staging, but `npm start` runs production: unset NODE_ENV, or set it to production\.$/m);
  });
});

describe("npm run dev, as the README's first command starts it", () => {
  it("serves a sign-up page that hydrates, opened as 127.0.0.1 as well as localhost, and answers a client as production does", { timeout: 300_000 }, async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A short captcha window, so the probe below leaves little limit behind in the checkout's
    // database: 6 at once, then one per 5 s.
    const env = { ...bare, PORT: String(port), RATE_LIMIT_CAPTCHA: "6/30s" };
    // The command itself, so its stop is what a person or a process manager meets.
    const dev = spawn("npm", ["run", "dev"], { env: env as unknown as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    dev.stdout!.on("data", (c) => (output += c));
    dev.stderr!.on("data", (c) => (output += c));
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    try {
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline) {
        const status = await fetch(`http://127.0.0.1:${port}/signup`).then((r) => r.status, () => 0);
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      for (const host of ["127.0.0.1", "localhost"]) {
        const page = await browser.newPage();
        await page.goto(`http://${host}:${port}/signup`);
        // Rendered by React in the browser only: present once the page hydrated.
        await page.getByRole("button", { name: /Can't read it/ }).waitFor({ timeout: 120_000 });
        await page.close();
      }
      const health = await fetch(`${base}/api/health`);
      assert.equal(health.status, 200, output);

      // Development runs server.ts as production does: its gate answers what Next would answer
      // with a 500, and the rate limits count the socket's address, not a header a client wrote.
      const trace = await rawRequest(base, ["TRACE /api/me HTTP/1.1"]);
      assert.equal(trace.status, 405, trace.body);
      assert.match(trace.body, /"code":"method_not_allowed"/);
      const broken = await fetch(`${base}/api/%ff`);
      assert.equal(broken.status, 404);
      assert.equal(((await broken.json()) as { error: { code: string } }).error.code, "not_found");
      const absolute = await rawRequest(base, ["GET http://evil.example/signup HTTP/1.1"]);
      assert.equal(absolute.status, 200);
      assert.doesNotMatch(absolute.headers, /evil\.example/);
      // Sent together, so all reach the limit within its 5 s however slow the machine.
      const statuses = await Promise.all(
        Array.from({ length: 7 }, async (_, i) => {
          const captcha = await fetch(`${base}/api/captcha`, { headers: { "x-forwarded-for": `203.0.113.${i + 1}` } });
          await captcha.arrayBuffer();
          return captcha.status;
        }),
      );
      assert.ok(statuses.includes(429), `7 captchas, each with an X-Forwarded-For of its own, and none refused: ${statuses.join(" ")}`);

      // An edit of .env.local while it runs (Next reads the files again) leaves it serving.
      // A variable nothing reads, added to whatever the checkout's file holds, and taken out again.
      const file = path.resolve(".env.local");
      const before = existsSync(file) ? readFileSync(file, "utf8") : null;
      try {
        writeFileSync(file, `${before ?? ""}\nHOLDFAST_ENV_RELOAD_PROBE=1\n`);
        const reloaded = Date.now() + 60_000;
        while (!/Reload env: \.env\.local/.test(output) && Date.now() < reloaded) await new Promise((r) => setTimeout(r, 250));
        assert.match(output, /Reload env: \.env\.local/);
        for (const route of ["/api/health", "/signup"]) {
          const after = await fetch(`${base}${route}`);
          assert.equal(after.status, 200, `${route} after an edit of .env.local: ${after.status}\n${output.slice(-2000)}`);
        }
      } finally {
        if (before === null) rmSync(file, { force: true });
        else writeFileSync(file, before);
      }

      // SIGTERM to npm alone, as a process manager sends it: npm passes it on, and the command
      // stops what it started (its script used to run under a shell that let the server live on).
      const exited = new Promise((r) => dev.once("exit", r));
      process.kill(dev.pid!, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      assert.notEqual(dev.exitCode ?? dev.signalCode, null, "npm run dev still runs 30 s after its SIGTERM");
      const answered = await fetch(`${base}/api/ping`).then(() => true, () => false);
      assert.equal(answered, false, "the server still answers after npm run dev stopped");
    } finally {
      await browser.close();
      // Whatever is left of the process group, had the test failed before its stop.
      try {
        process.kill(-dev.pid!, "SIGTERM");
      } catch {
        // Nothing is left.
      }
      if (dev.exitCode === null && dev.signalCode === null) await new Promise((r) => dev.once("exit", r));
    }
  });
});
