/**
 * The captcha renderer of an earlier commit against this working tree's, in one process:
 *
 *   tsx bench/captcha-ab.ts <commit> [--count N] [--rounds R]   (defaults: 2000 captchas, 5 rounds)
 *
 * 1. Same pictures? Both draw the same answers with Math.random replaced by one seeded generator,
 *    restarted for each renderer; the SHA-256 of all their SVGs must match for a change that
 *    was meant to cost less and draw the same.
 * 2. Cost: rounds alternate (before, after, before, …) so the shared machine's load hits both
 *    alike; each round draws N captchas with the real Math.random and records the CPU time and
 *    wall time per captcha. Medians of the rounds, and their ratio.
 *
 * The earlier renderer is `git archive <commit> lib/captcha` unpacked into a temporary folder
 * (outside the repo, with this repo's node_modules linked in for svg-captcha). Writes
 * bench/results/captcha-ab-<date>.md.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH, captchaText } from "../lib/captcha/text";
import { median } from "./stats";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} wants a positive integer`);
  return value;
};
const commit = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
if (!commit) throw new Error("usage: tsx bench/captcha-ab.ts <commit> [--count N] [--rounds R]");
const COUNT = option("--count", 2000);
const ROUNDS = option("--rounds", 5);
const repo = path.resolve(import.meta.dirname, "..");
const rev = execFileSync("git", ["rev-parse", "--short", commit], { cwd: repo, encoding: "utf8" }).trim();
const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
const dirty = execFileSync("git", ["status", "--porcelain", "--", "lib/captcha"], { cwd: repo, encoding: "utf8" }).trim() !== "";

type Render = (text: string) => string;

const work = mkdtempSync(path.join(tmpdir(), "holdfast-captcha-ab-"));
let before: Render, after: Render;
try {
  const archive = execFileSync("git", ["archive", "--format=tar", rev, "lib/captcha"], { cwd: repo, maxBuffer: 64 << 20 });
  execFileSync("tar", ["-x", "-C", work], { input: archive });
  symlinkSync(path.join(repo, "node_modules"), path.join(work, "node_modules"), "dir");
  writeFileSync(path.join(work, "package.json"), JSON.stringify({ type: "module" }));
  before = ((await import(pathToFileURL(path.join(work, "lib/captcha/render.ts")).href)) as { renderCaptcha: Render }).renderCaptcha;
  after = ((await import("../lib/captcha/render")) as { renderCaptcha: Render }).renderCaptcha;
} finally {
  // Node has the modules loaded; the copy is not needed any more.
  rmSync(work, { recursive: true, force: true });
}

/** mulberry32: a small seeded generator, so both renderers see the very same random numbers. */
function seeded(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const texts = Array.from({ length: 1000 }, (_, i) =>
  Array.from({ length: CAPTCHA_LENGTH }, (_, k) => CAPTCHA_ALPHABET[(i * 7 + k * 5 + (i >> 3)) % CAPTCHA_ALPHABET.length]).join(""),
);
const random = Math.random;
function fingerprint(render: Render): string {
  Math.random = seeded(12345);
  try {
    const hash = createHash("sha256");
    for (const text of texts) hash.update(render(text));
    return hash.digest("hex");
  } finally {
    Math.random = random;
  }
}
const [fpBefore, fpAfter] = [fingerprint(before), fingerprint(after)];
const same = fpBefore === fpAfter;

interface Round {
  cpuMs: number;
  wallMs: number;
}
function round(render: Render): Round {
  const answers = Array.from({ length: COUNT }, () => captchaText());
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  for (const answer of answers) render(answer);
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000 / COUNT, wallMs: (performance.now() - t0) / COUNT };
}
for (let i = 0; i < 200; i++) {
  before(captchaText());
  after(captchaText());
}
const rounds: { before: Round[]; after: Round[] } = { before: [], after: [] };
for (let r = 0; r < ROUNDS; r++) {
  rounds.before.push(round(before));
  rounds.after.push(round(after));
}
const cpu = { before: median(rounds.before.map((r) => r.cpuMs)), after: median(rounds.after.map((r) => r.cpuMs)) };
const wall = { before: median(rounds.before.map((r) => r.wallMs)), after: median(rounds.after.map((r) => r.wallMs)) };
const list = (rs: Round[]) => rs.map((r) => r.cpuMs.toFixed(3)).join(", ");
const afterName = `${head}${dirty ? " + working tree" : ""}`;

const lines = [
  `same pictures from the same random numbers (${texts.length} captchas): ${same ? "yes" : "NO"} (sha256 ${fpBefore.slice(0, 16)}… against ${fpAfter.slice(0, 16)}…)`,
  `CPU per captcha: ${rev} ${cpu.before.toFixed(3)} ms, ${afterName} ${cpu.after.toFixed(3)} ms: ${(cpu.after / cpu.before).toFixed(2)}× (medians of ${ROUNDS} alternating rounds of ${COUNT}; rounds ${list(rounds.before)} against ${list(rounds.after)})`,
  `wall time per captcha: ${wall.before.toFixed(3)} ms against ${wall.after.toFixed(3)} ms: ${(wall.after / wall.before).toFixed(2)}×`,
];
for (const line of lines) console.log(`[captcha-ab] ${line}`);
const date = new Date().toISOString().slice(0, 10);
mkdirSync(path.join(repo, "bench/results"), { recursive: true });
writeFileSync(
  path.join(repo, `bench/results/captcha-ab-${date}.md`),
  [`# Captcha renderer: ${rev} against ${afterName} (${date})`, "", "`tsx bench/captcha-ab.ts " + `${commit} --count ${COUNT} --rounds ${ROUNDS}` + "`, one process, one thread.", "", ...lines.map((l) => `- ${l}`), ""].join("\n"),
);
