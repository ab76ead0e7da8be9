/**
 * What compressing the captcha costs the server, and what it saves on the wire, as a browser
 * meets it:
 *
 *   tsx bench/encoding.ts [--store cookie] [--rounds 5] [--seconds 6]
 *
 * The built app (HEAD, copied and built as production builds it: bench/snapshot.ts; dist/server.mjs,
 * one instance, no proxy) serves GET /api/captcha to 16 virtual users in alternating rounds:
 * with `Accept-Encoding: gzip, deflate, br, zstd` as Chromium sends it (Next gzips the SVG; the
 * load generator decodes it), and with no Accept-Encoding (the SVG goes out plain, as the other
 * benchmarks fetch it). Reported: medians of captchas per second and of the server's CPU (all
 * threads) per captcha, and the response body's bytes on the wire per captcha. Writes
 * bench/results/encoding-<date>-<rev>-<store>.md.
 *
 * Why it exists: a captcha drawn ahead could be gzipped by the drawing thread too, but Next drops
 * a route handler's own Content-Encoding (FORBIDDEN_HEADERS in next/dist/server/send-response.js)
 * and compresses the body on the request path itself. This measures what that costs.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { startStack, type Stack } from "../testing/stack";
import { startLoadWorker } from "./load";
import { cliOptions } from "./args";
import { cpuMs, startProcess, storeEnv, type Running } from "./servers";
import { buildApp, copyApp } from "./snapshot";
import { median, ms } from "./stats";

const args = process.argv.slice(2);
const { positive, store: storeOption } = cliOptions(args);
const store = storeOption();
const ROUNDS = positive("--rounds", 5);
const SECONDS = positive("--seconds", 6);
const BROWSER = "gzip, deflate, br, zstd";

const repo = path.resolve(import.meta.dirname, "..");
const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
const log = (line: string) => console.log(`[encoding] ${line}`);

/** Bytes on the wire for one captcha, and the encoding it came in. */
function wireBytes(base: string, acceptEncoding: string | undefined): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}/api/captcha`, { headers: acceptEncoding ? { "accept-encoding": acceptEncoding } : {} }, (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => resolve({ bytes, encoding: res.headers["content-encoding"] ?? "none" }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

const dir = path.join(tmpdir(), `holdfast-bench-encoding-${process.pid}`);
/** Outside the copy, which is removed at the end: a failed build leaves its log behind. */
const logDir = path.join(tmpdir(), `holdfast-bench-encoding-logs-${process.pid}`);
let stack: Stack | undefined;
let server: Running | undefined;
const worker = startLoadWorker();
try {
  log(`building HEAD ${rev} in ${dir}: a few minutes`);
  copyApp(repo, dir, { commit: "HEAD" });
  buildApp(dir, logDir);
  stack = await startStack(log);
  server = await startProcess("dist/server.mjs", storeEnv(stack, store), logDir, undefined, dir);
  const running = server;
  const sides = { browser: BROWSER, plain: undefined } as const;
  const per = { browser: { rate: [] as number[], cpu: [] as number[] }, plain: { rate: [] as number[], cpu: [] as number[] } };
  const run = async (side: keyof typeof sides, measured: boolean) => {
    const cpu0 = cpuMs(running.pids);
    const result = await worker.run({
      base: running.url,
      scenario: { kind: "get", path: "/api/captcha" },
      concurrency: 16,
      durationMs: measured ? SECONDS * 1000 : 2000,
      warmupMs: measured ? 1500 : 0,
      acceptEncoding: sides[side],
    });
    if (result.errors) throw new Error(`encoding: ${result.errors} errors, e.g. ${result.errorSamples[0]}`);
    if (!measured) return;
    const rate = result.iterations / (result.windowMs / 1000);
    const cpu = (cpuMs(running.pids) - cpu0) / result.completed;
    per[side].rate.push(rate);
    per[side].cpu.push(cpu);
    log(`${side}: ${rate.toFixed(0)} captchas/s, ${ms(cpu)} ms server CPU per captcha`);
  };
  await run("plain", false);
  await run("browser", false);
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? (["browser", "plain"] as const) : (["plain", "browser"] as const)) await run(side, true);
  }
  const bytes = { browser: [] as number[], plain: [] as number[] };
  const encodings = new Set<string>();
  for (let i = 0; i < 20; i++) {
    for (const side of ["browser", "plain"] as const) {
      const got = await wireBytes(running.url, sides[side]);
      bytes[side].push(got.bytes);
      if (side === "browser") encodings.add(got.encoding);
    }
  }
  const rate = { browser: median(per.browser.rate), plain: median(per.plain.rate) };
  const cpu = { browser: median(per.browser.cpu), plain: median(per.plain.cpu) };
  const size = { browser: median(bytes.browser), plain: median(bytes.plain) };
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# GET /api/captcha as a browser fetches it, ${store} store, ${rev} (${date})`,
    "",
    `\`tsx bench/encoding.ts --store ${store} --rounds ${ROUNDS} --seconds ${SECONDS}\`: the built app (dist/server.mjs, one instance, no proxy), 16 virtual users, ${ROUNDS} alternating rounds of ${SECONDS} s (medians); body bytes (as sent, before any decoding) are the medians of 20 captchas each.`,
    "",
    `| | no Accept-Encoding (plain) | \`Accept-Encoding: ${BROWSER}\` (${[...encodings].join(", ")}) | browser ÷ plain |`,
    "|---|---:|---:|---:|",
    `| captchas/s | ${rate.plain.toFixed(0)} | ${rate.browser.toFixed(0)} | ${(rate.browser / rate.plain).toFixed(2)}× |`,
    `| server CPU ms per captcha | ${ms(cpu.plain)} | ${ms(cpu.browser)} | ${(cpu.browser / cpu.plain).toFixed(2)}× |`,
    `| body bytes on the wire per captcha | ${size.plain} | ${size.browser} | ${(size.browser / size.plain).toFixed(2)}× |`,
    "",
    `Per round, captchas/s: plain ${per.plain.rate.map((r) => r.toFixed(0)).join(", ")}; browser ${per.browser.rate.map((r) => r.toFixed(0)).join(", ")}.`,
    "",
  ];
  const out = path.join(repo, "bench/results");
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `encoding-${date}-${rev}-${store}.md`);
  writeFileSync(file, lines.join("\n"));
  console.log(lines.join("\n"));
  log(`wrote ${path.relative(repo, file)}`);
} finally {
  worker.close();
  await server?.stop();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
}
