import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import net, { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { tracked } from "./children";
import { rawRequest } from "./raw-http";
import { required } from "./services";
import { freePort } from "./stack";

/**
 * server.ts as `npm start` and `npm run dev` run it: where it listens (PORT, HOSTNAME), what it
 * says when it cannot, and X-Holdfast-Instance on every response. No build is needed: a wrong
 * setting or a taken port stops it before Next prepares, and the headers are read from Next in
 * development mode (the production build is checked the same way by the e2e suites).
 */
const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  // Only what each case sets: not the test stack's stores (npm test exports REDIS_URL and a
  // cluster's nodes together, which the configuration refuses as a pair), nor its rate limits.
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(PORT|HOSTNAME|INSTANCE_NAME|NODE_ENV|SESSION_STORE|REDIS_.*|UPSTASH_.*|CAPTCHA_TEST_MODE|TRUST_PROXY|RATE_LIMIT_.*)$/.test(key)),
  );
  return { ...clean, SESSION_SECRET: "s".repeat(40), DATABASE_URL: required("DATABASE_URL"), NODE_ENV: "production", ...extra };
};
const serverTs = (args: string[], extra: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", "server.ts", ...args], { env: env(extra), encoding: "utf8", timeout: 60_000 });

/** One `[holdfast] …` line per sentence, and nothing that looks like a stack trace. */
function sentencesOnly(stderr: string): string[] {
  assert.doesNotMatch(stderr, /^\s+at /m, stderr);
  const lines = stderr.split("\n").filter(Boolean);
  for (const line of lines) assert.match(line, /^\[holdfast\] [^\n]+\.$/, stderr);
  return lines;
}

describe("server.ts: where it listens", () => {
  it("a wrong PORT or HOSTNAME stops it with one sentence each and exit code 1", () => {
    for (const [port, hostname] of [["abc", "http://0.0.0.0"], ["0", "a b"], ["65536", "127.0.0.1/8"], ["3000.5", "-"]] as const) {
      const run = serverTs([], { PORT: port, HOSTNAME: hostname });
      assert.equal(run.status, 1, run.stderr);
      // Refused before Next was even created.
      assert.equal(run.stdout, "");
      const lines = sentencesOnly(run.stderr);
      assert.equal(lines.length, hostname === "-" ? 1 : 2, run.stderr);
      assert.match(lines[0]!, /^\[holdfast\] PORT is not valid: use a whole number from 1 to 65535/);
      if (lines[1]) assert.match(lines[1], /^\[holdfast\] HOSTNAME is not valid: use the host name or IP address to listen on/);
    }
  });

  it("npm start and npm run dev say the same sentence for a wrong PORT, before starting anything", () => {
    for (const mode of ["start", "dev"]) {
      // Each with the NODE_ENV it runs (another one is refused, first).
      const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/launch.ts", mode], { env: env({ PORT: "abc", NODE_ENV: mode === "start" ? "production" : "development" }), encoding: "utf8", timeout: 60_000 });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.deepEqual(sentencesOnly(run.stderr), ["[holdfast] PORT is not valid: use a whole number from 1 to 65535 (the port the server listens on; 3000 is the default)."]);
    }
  });

  it("reads the .env files Next reads for the app: a PORT in .env.production.local is checked as one in the environment", () => {
    // Started from a folder of its own, whose .env file says PORT=abc; nothing in the environment does.
    const dir = mkdtempSync(path.join(tmpdir(), "holdfast-dotenv-"));
    try {
      writeFileSync(path.join(dir, ".env.production.local"), "PORT=abc\n");
      const run = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve("server.ts")], { cwd: dir, env: env({}), encoding: "utf8", timeout: 60_000 });
      assert.equal(run.status, 1, run.stderr);
      assert.deepEqual(sentencesOnly(run.stderr), ["[holdfast] PORT is not valid: use a whole number from 1 to 65535 (the port the server listens on; 3000 is the default)."]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a port already in use: one sentence naming it and the fix, and exit code 1", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    try {
      const { port } = taken.address() as AddressInfo;
      const run = serverTs([], { PORT: String(port), HOSTNAME: "127.0.0.1" });
      assert.equal(run.status, 1, run.stderr);
      assert.deepEqual(sentencesOnly(run.stderr), [`[holdfast] Port ${port} on 127.0.0.1 is already in use by another process: stop that process, or set PORT to a free port.`]);
    } finally {
      taken.close();
    }
  });

  it("a HOSTNAME that names no address: one sentence naming it, and exit code 1", () => {
    // `.invalid` never resolves (RFC 2606), on any machine, online or not.
    const run = serverTs([], { PORT: "3999", HOSTNAME: "holdfast-test.invalid" });
    assert.equal(run.status, 1, run.stderr);
    assert.deepEqual(sentencesOnly(run.stderr), ["[holdfast] HOSTNAME=holdfast-test.invalid does not resolve to an address: set HOSTNAME to an IP address of this machine, to 0.0.0.0 for every interface, or leave it unset for 127.0.0.1."]);
  });
});

describe("server.ts in development mode", () => {
  it("an empty HOSTNAME listens on 127.0.0.1 only, and every response names its instance", { timeout: 300_000 }, async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const dev = tracked(
      spawn(process.execPath, ["--import", "tsx", "server.ts", "--dev"], {
        env: env({ NODE_ENV: "development", PORT: String(port), HOSTNAME: "", INSTANCE_NAME: "i7", NEXT_TELEMETRY_DISABLED: "1" }),
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    let output = "";
    dev.stdout!.on("data", (c) => (output += c));
    dev.stderr!.on("data", (c) => (output += c));
    try {
      const deadline = Date.now() + 120_000;
      while (!/serving on/.test(output) && dev.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      // The address the socket is bound to, as the server reads it back: not every interface.
      assert.match(output, new RegExp(`\\[holdfast\\] serving on http://127\\.0\\.0\\.1:${port}\\n`), output);

      const instance = async (path: string, init?: RequestInit) => {
        const response = await fetch(`${base}${path}`, { redirect: "manual", ...init, signal: AbortSignal.timeout(120_000) });
        const body = await response.text();
        return { status: response.status, instance: response.headers.get("x-holdfast-instance"), body };
      };
      const signup = await instance("/signup");
      assert.deepEqual({ ...signup, body: undefined }, { status: 200, instance: "i7", body: undefined });
      const chunk = /\/_next\/static\/[^"]+\.js/.exec(signup.body)?.[0];
      assert.ok(chunk, "the sign-up page names a script of its own");
      const answers: Record<string, { status: number; instance: string | null }> = {};
      for (const path of ["/login", "/welcome", "/api/ping", "/api/nope", "/no-such-page", "/pow-worker.js", chunk, "/api/%ff"]) {
        const { status, instance: name } = await instance(path);
        answers[path] = { status, instance: name };
      }
      const head = await instance("/signup", { method: "HEAD" });
      answers["HEAD /signup"] = { status: head.status, instance: head.instance };
      assert.deepEqual(answers, {
        "/login": { status: 200, instance: "i7" },
        "/welcome": { status: 307, instance: "i7" },
        "/api/ping": { status: 200, instance: "i7" },
        "/api/nope": { status: 404, instance: "i7" },
        "/no-such-page": { status: 404, instance: "i7" },
        "/pow-worker.js": { status: 200, instance: "i7" },
        [chunk]: { status: 200, instance: "i7" },
        "/api/%ff": { status: 404, instance: "i7" },
        "HEAD /signup": { status: 200, instance: "i7" },
      });
      // Next's own redirect for a trailing slash carries the security headers every response does.
      const slash = await fetch(`${base}/api/ping/`, { redirect: "manual" });
      assert.equal(slash.status, 308);
      assert.deepEqual([slash.headers.get("x-frame-options"), slash.headers.get("content-security-policy"), slash.headers.get("referrer-policy")], ["DENY", "frame-ancestors 'none'", "same-origin"]);
      // CONNECT, which node:http hands no request handler, is a plain 405 rather than a closed connection.
      const connect = await rawRequest(base, ["CONNECT 127.0.0.1:1 HTTP/1.1"]);
      assert.equal(connect.status, 405);
      assert.match(connect.headers, /^allow: get, head$/m);
      assert.match(connect.headers, /^x-frame-options: deny$/m);
      assert.match(connect.headers, /^x-holdfast-instance: i7$/m);
      // What node:http refuses before any handler carries the same headers, with node's own status.
      const refused: Record<string, number> = {};
      for (const [label, lines] of [
        ["headers too large", ["GET /signup HTTP/1.1", `X-Big: ${"a".repeat(20_000)}`]],
        ["a request line it cannot parse", ["GET /signup HTTP/9 nonsense"]],
        ["an unknown expectation", ["POST /api/login HTTP/1.1", "Expect: something-else", "Content-Length: 2"]],
        ["HTTP/1.1 without a Host", ["GET /api/ping HTTP/1.1"]],
      ] as const) {
        const answer = await rawRequest(base, [...lines], { host: label !== "HTTP/1.1 without a Host" });
        refused[label] = answer.status;
        assert.match(answer.headers, /^x-frame-options: deny$/m, label);
        assert.match(answer.headers, /^content-security-policy: frame-ancestors 'none'$/m, label);
        assert.match(answer.headers, /^x-holdfast-instance: i7$/m, label);
      }
      assert.deepEqual(refused, { "headers too large": 431, "a request line it cannot parse": 400, "an unknown expectation": 417, "HTTP/1.1 without a Host": 400 });
      // A body the client stops sending partway, to an endpoint: the contract's invalid_json.
      const cut = await rawRequest(base, ["POST /api/login HTTP/1.1", "Content-Type: application/json", "Content-Length: 100"], { cutBody: '{"login":"abc"' });
      assert.equal(cut.status, 400);
      assert.match(cut.headers, /^x-frame-options: deny$/m);
      assert.match(cut.headers, /^x-holdfast-instance: i7$/m);
      assert.equal((JSON.parse(cut.body) as { error: { code: string } }).error.code, "invalid_json");
      // A plain form post cut off goes back to its page, as every failed form post does.
      const cutForm = await rawRequest(base, ["POST /api/login HTTP/1.1", "Content-Type: application/x-www-form-urlencoded", "Content-Length: 100"], { cutBody: "login=abc" });
      assert.equal(cutForm.status, 303);
      assert.match(cutForm.headers, /^location: \/login\?error=invalid_json$/m);
      // The login form's `next`, in its action's query, is kept as on every refused try.
      const cutNext = await rawRequest(base, ["POST /api/login?next=%2Fpassword HTTP/1.1", "Content-Type: application/x-www-form-urlencoded", "Content-Length: 100"], { cutBody: "login=abc" });
      assert.equal(cutNext.status, 303);
      assert.match(cutNext.headers, /^location: \/login\?error=invalid_json&next=%2fpassword$/m);
      // A request that never finishes arriving (headers that never end; a body sent a byte every
      // few seconds) is answered 408 once 30 s have passed, as the README says, not a check later.
      const stalled = (head: string, trickle: boolean) =>
        new Promise<{ status: number; ms: number }>((resolve, reject) => {
          const started = Date.now();
          let text = "";
          const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(head));
          const drip = trickle ? setInterval(() => socket.write(" "), 3_000) : undefined;
          socket.setTimeout(90_000, () => socket.destroy(new Error("no answer in 90 s")));
          socket.on("data", (c: Buffer) => (text += c.toString()));
          socket.on("error", reject);
          socket.on("close", () => {
            clearInterval(drip);
            resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), ms: Date.now() - started });
          });
        });
      const [headers, body] = await Promise.all([
        stalled(`GET /api/ping HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`, false),
        stalled(`POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"login":`, true),
      ]);
      for (const [label, answer] of [["headers", headers], ["body", body]] as const) {
        assert.equal(answer.status, 408, label);
        assert.ok(answer.ms >= 29_000 && answer.ms < 36_000, `${label}: 408 after ${answer.ms} ms`);
      }
    } finally {
      dev.kill("SIGTERM");
      if (dev.exitCode === null) await once(dev, "exit");
    }
  });
});
