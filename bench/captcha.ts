/**
 * Cost of drawing a captcha: the original svg-captcha renderer against the hardened one.
 *
 *   tsx bench/captcha.ts [--count N]      (default N = 5000 per renderer, after 300 warm-up)
 *
 * One process, one thread: the numbers are per core. Prints a line per renderer and writes
 * bench/results/captcha-<YYYY-MM-DD>.json and .md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { renderCaptcha } from "../lib/captcha/render";
import { renderBaselineCaptcha } from "../testing/captcha-strength/baseline";
import { captchaText } from "../lib/captcha/text";

const i = process.argv.indexOf("--count");
const COUNT = i >= 0 ? Number(process.argv[i + 1]) : 5000;
if (!Number.isInteger(COUNT) || COUNT < 100) throw new Error("--count wants an integer ≥ 100");
const WARMUP = 300;

interface Result {
  renderer: string;
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
  /** CPU time (user + system) per captcha: unaffected by other processes taking the core. */
  cpuMs: number;
  meanBytes: number;
  maxBytes: number;
}

function measure(name: string, render: (text: string) => string): Result {
  for (let k = 0; k < WARMUP; k++) render(captchaText());
  // Answers are drawn up front so the timings cover drawing only.
  const texts = Array.from({ length: COUNT }, () => captchaText());
  const times = new Float64Array(COUNT);
  let bytes = 0, maxBytes = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let k = 0; k < COUNT; k++) {
    const t0 = performance.now();
    const svg = render(texts[k] as string);
    times[k] = performance.now() - t0;
    const n = Buffer.byteLength(svg);
    bytes += n;
    if (n > maxBytes) maxBytes = n;
  }
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  times.sort();
  const q = (p: number) => times[Math.min(COUNT - 1, Math.floor(p * COUNT))] as number;
  return {
    renderer: name,
    count: COUNT,
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
    maxMs: times[COUNT - 1] as number,
    perSecond: (COUNT / total) * 1000,
    cpuMs: (cpu.user + cpu.system) / 1000 / COUNT,
    meanBytes: bytes / COUNT,
    maxBytes,
  };
}

const results = [measure("baseline svg-captcha", renderBaselineCaptcha), measure("hardened", renderCaptcha)];
const f = (n: number, d = 3) => n.toFixed(d);
for (const r of results) {
  console.log(
    `${r.renderer.padEnd(21)} p50 ${f(r.p50Ms)} ms  p99 ${f(r.p99Ms)} ms  cpu ${f(r.cpuMs)} ms/captcha  ${f(r.perSecond, 0)} captchas/s/core  ` +
      `size mean ${f(r.meanBytes, 0)} B, max ${r.maxBytes} B  (n=${r.count})`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const env = { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, loadavg1m: loadavg()[0], date };
mkdirSync("bench/results", { recursive: true });
writeFileSync(`bench/results/captcha-${date}.json`, JSON.stringify({ env, warmup: WARMUP, results }, null, 2) + "\n");
const md = [
  `# Captcha rendering cost, ${date}`,
  "",
  `Node ${env.node}, ${env.cpu} (${env.cores} cores, load average ${env.loadavg1m?.toFixed(1)} at the end), one thread; ` +
    `${COUNT} captchas per renderer after ${WARMUP} warm-up. Command: \`tsx bench/captcha.ts\`.`,
  "",
  "| renderer | p50 ms | p90 ms | p99 ms | CPU ms/captcha | captchas/s/core | mean bytes | max bytes |",
  "|---|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.renderer} | ${f(r.p50Ms)} | ${f(r.p90Ms)} | ${f(r.p99Ms)} | ${f(r.cpuMs)} | ${f(r.perSecond, 0)} | ${f(r.meanBytes, 0)} | ${r.maxBytes} |`,
  ),
  "",
  "Targets for the hardened renderer: p50 ≤ 5 ms on one core, served SVG ≤ 24 KB (larger draws are redrawn).",
  "Wall-clock percentiles include time the core spent on other processes (the machine is shared);",
  "CPU ms/captcha is user + system time over the whole loop (it includes GC helper threads).",
  "",
].join("\n");
writeFileSync(`bench/results/captcha-${date}.md`, md);
console.log(`wrote bench/results/captcha-${date}.json and .md`);
