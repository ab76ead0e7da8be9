/**
 * An attacker that learns: trains a small CNN on fresh captchas from the production renderer,
 * measures how often it reads a fresh one, and turns that into the attacker's cost per account.
 *
 *   npx tsx bench/attacker/run.ts [--train 20000] [--test 1000] [--minutes 40] [--out bench/results]
 *                                 [--threads 2] [--workers N] [--data DIR] [--keep] [--solves 20]
 *                                 [--python /usr/bin/python3] [--train-args "--batch 32 ..."]
 *   npm run bench -- --attacker [same options]
 *
 * 1. bench/attacker/dataset.ts renders --train and, separately, --test fresh captchas (display
 *    size, grayscale) into --data (default: a folder in the system's temp dir, removed at the end
 *    unless --keep).
 * 2. bench/attacker/train.py trains for --minutes of training time and evaluates on the test set.
 *    Python: --python, else $ATTACKER_PYTHON, else the first of python3, /usr/bin/python3 that
 *    imports torch and numpy.
 * 3. Proof of work: --solves challenges (default 20) issued by lib/pow at the production cost
 *    (POW_MAX_NUMBER.normal) on a memory ledger, solved with solveInNode and verified; CPU seconds
 *    per solve.
 * 4. Cost per account: with p the share of whole answers read right, 1/p captcha attempts,
 *    (PoW CPU-s per attempt)/p CPU seconds and 1/(limit × p) address-hours at the register limit
 *    (RATE_LIMIT_REGISTER's default, read from lib/env.ts). Beside it, a person, and the path
 *    without the image (no captcha, POW_MAX_NUMBER.accessible, RATE_LIMIT_REGISTER_ACCESSIBLE).
 *
 * Writes <out>/attacker-<YYYY-MM-DD>.json and .md. For `npm run bench` only, never in CI: it takes
 * about as long as --minutes plus the rendering (see the .md for the rate) on a 2-core machine.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH } from "../../lib/captcha/render";
import * as answers from "../../lib/captcha/text";
import { checkProof, issueChallenge, POW_MAX_NUMBER, POW_TTL_MS } from "../../lib/pow/pow";
import { solveInNode, type ChallengeJson } from "../../lib/pow/solve";
import { memoryLedger } from "../../lib/captcha/ledgers/memory";
import { makeDataset, type DatasetMeta } from "./dataset";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");
const args = process.argv.slice(2);
const log = (line: string) => console.log(`[attacker] ${line}`);

function option(name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || (v.startsWith("--") && name !== "--train-args")) throw new Error(`${name} wants a value`);
  return v;
}
function number(name: string, fallback: number, integer = true): number {
  const v = option(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`${name} wants a positive ${integer ? "integer" : "number"}, got ${v}`);
  return n;
}

const TRAIN = number("--train", 20_000);
const TEST = number("--test", 1000);
const MINUTES = number("--minutes", 40, false);
const THREADS = number("--threads", 2);
const WORKERS = number("--workers", availableParallelism());
const SOLVES = number("--solves", 20);
const OUT = path.resolve(REPO, option("--out") ?? "bench/results");
const KEEP = args.includes("--keep");
const DATA = path.resolve(option("--data") ?? path.join(tmpdir(), `holdfast-attacker-${process.pid}`));
const TRAIN_ARGS = (option("--train-args") ?? "").split(/\s+/).filter(Boolean);
const HMAC_KEY = "bench-attacker-key-0123456789-0123456789";

/** A Python that has torch and numpy; Debian's python3-torch lives in /usr/bin/python3, not in a pyenv. */
function findPython(): { python: string; torch: string; numpy: string } {
  const candidates = [option("--python"), process.env.ATTACKER_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch, numpy; print(torch.__version__, numpy.__version__)"], { encoding: "utf8" });
    if (r.status === 0) {
      const [torch = "?", numpy = "?"] = r.stdout.trim().split(" ");
      return { python, torch, numpy };
    }
  }
  throw new Error(`attacker: no Python with torch and numpy among ${candidates.join(", ")} (Debian: apt-get install python3-torch python3-numpy; or --python PATH)`);
}

/** RATE_LIMIT_REGISTER / _ACCESSIBLE defaults as lib/env.ts declares them, in attempts per hour. */
function registerLimits(): { perHour: number; accessiblePerHour: number; source: string } {
  const perHour = (name: string, fallback: number): [number, boolean] => {
    try {
      const text = readFileSync(path.join(REPO, "lib/env.ts"), "utf8");
      const m = new RegExp(`${name}:\\s*rate\\("(\\d+)/(\\d*)([smh])"\\)`).exec(text);
      if (m) {
        const seconds = Number(m[2] || 1) * { s: 1, m: 60, h: 3600 }[m[3] as "s" | "m" | "h"];
        return [(Number(m[1]) * 3600) / seconds, true];
      }
    } catch {
      /* fall through */
    }
    return [fallback, false];
  };
  const [a, fromEnvA] = perHour("RATE_LIMIT_REGISTER", 20);
  const [b, fromEnvB] = perHour("RATE_LIMIT_REGISTER_ACCESSIBLE", 5);
  return { perHour: a, accessiblePerHour: b, source: fromEnvA && fromEnvB ? "lib/env.ts defaults" : "assumed (20/h, 5/h): not found in lib/env.ts" };
}

/** Solves `count` production-cost challenges; CPU and wall seconds per solve. */
async function measurePow(count: number) {
  const captchas = memoryLedger();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < count; i++) {
    const challenge = (await issueChallenge(captchas, { hmacKey: HMAC_KEY, maxNumber: POW_MAX_NUMBER.normal, ttlMs: POW_TTL_MS })) as ChallengeJson;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const solved = solveInNode(challenge);
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    if (!solved) throw new Error("attacker: a challenge had no solution");
    const check = await checkProof(captchas, solved.payload, { hmacKey: HMAC_KEY });
    if (check.verdict !== "ok") throw new Error(`attacker: a solved challenge was refused (${check.reason})`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sorted = [...cpu].sort((a, b) => a - b);
  return {
    solves: count,
    maxNumber: POW_MAX_NUMBER.normal,
    meanCpuSeconds: mean(cpu),
    medianCpuSeconds: sorted[Math.floor(count / 2)] as number,
    maxCpuSeconds: sorted[count - 1] as number,
    meanWallSeconds: mean(wall),
  };
}

/** Wilson score interval, 95%. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.96, p = k / n, d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function runPython(python: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, argv, { stdio: "inherit", env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? "PASSIVE" } });
    const stop = () => child.kill("SIGTERM");
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    child.on("error", reject);
    child.on("exit", (code) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (code === 0) resolve();
      else reject(new Error(`attacker: train.py exited with ${code}`));
    });
  });
}

interface TrainResult {
  accuracy: number;
  correct: number;
  testImages: number;
  charAccuracy: number;
  perPosition: number[];
  confusions: { answer: string; read: string; count: number }[];
  trainImages: number;
  trainSeconds: number;
  epochs: number;
  params: number;
  architecture: string;
  inferenceCpuMsPerImage: number;
  curve: { epochs: number; trainSeconds: number; testAccuracy: number; testCharAccuracy: number }[];
  torch: string;
  threads: number;
  [key: string]: unknown;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "∞");
const pct = (p: number) => `${(100 * p).toFixed(1)}%`;

async function main() {
  const started = new Date();
  const load0 = loadavg();
  const { python, torch, numpy } = findPython();
  const limits = registerLimits();
  const alphabet = answers.CAPTCHA_ALPHABET;
  const length: unknown = (answers as Record<string, unknown>).CAPTCHA_LENGTH;
  const machine = {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    python,
    torch,
    numpy,
    loadavgStart: load0,
  };
  log(`${machine.nproc}× ${machine.cpu}, node ${machine.node}, torch ${torch} (${python}), load ${load0.map((l) => l.toFixed(2)).join(" ")}`);
  log(`captcha ${CAPTCHA_WIDTH}×${CAPTCHA_HEIGHT}, alphabet ${alphabet} (${alphabet.length}), length ${String(length)}`);

  if (existsSync(path.join(DATA, "train/images.npy")) || existsSync(path.join(DATA, "test/images.npy"))) {
    throw new Error(`attacker: ${DATA} already holds a dataset; pass another --data (old captchas are not fresh)`);
  }
  mkdirSync(DATA, { recursive: true });
  let trainMeta: DatasetMeta, testMeta: DatasetMeta, result: TrainResult;
  try {
    log(`rendering ${TRAIN} training captchas with ${WORKERS} workers into ${DATA}/train`);
    trainMeta = await makeDataset(TRAIN, path.join(DATA, "train"), WORKERS);
    log(`  ${fmt(trainMeta.wallSeconds, 1)} s: ${fmt(trainMeta.secondsPer1000, 1)} s wall, ${fmt(trainMeta.cpuSecondsPer1000, 1)} CPU-s per 1,000`);
    log(`rendering ${TEST} fresh test captchas into ${DATA}/test`);
    testMeta = await makeDataset(TEST, path.join(DATA, "test"), WORKERS);
    log(`  ${fmt(testMeta.wallSeconds, 1)} s`);

    const resultFile = path.join(DATA, "result.json");
    const trainArgv = [
      path.join(HERE, "train.py"),
      "--train", path.join(DATA, "train"),
      "--test", path.join(DATA, "test"),
      "--minutes", String(MINUTES),
      "--threads", String(THREADS),
      "--json", resultFile,
      ...TRAIN_ARGS,
    ];
    log(`training for ${MINUTES} min: ${python} ${trainArgv.join(" ")}`);
    await runPython(python, trainArgv);
    result = JSON.parse(readFileSync(resultFile, "utf8")) as TrainResult;
  } finally {
    if (!KEEP) rmSync(DATA, { recursive: true, force: true });
    else log(`kept the data in ${DATA}`);
  }

  log(`proof of work: ${SOLVES} solves at maxNumber ${POW_MAX_NUMBER.normal.toLocaleString("en-US")}`);
  const pow = await measurePow(SOLVES);
  log(`  ${fmt(pow.meanCpuSeconds, 3)} CPU-s per solve (median ${fmt(pow.medianCpuSeconds, 3)}, max ${fmt(pow.maxCpuSeconds, 3)})`);

  const p = result.accuracy;
  const [lo, hi] = wilson(result.correct, result.testImages);
  const accessibleFactor = POW_MAX_NUMBER.accessible / POW_MAX_NUMBER.normal;
  const perAccount = (q: number) => ({
    captchaAttempts: 1 / q,
    powCpuSeconds: pow.meanCpuSeconds / q,
    addressHours: 1 / (limits.perHour * q),
    inferenceCpuSeconds: result.inferenceCpuMsPerImage / 1000 / q,
  });
  const cost = {
    p,
    p95: [lo, hi],
    powCpuSecondsPerAttempt: pow.meanCpuSeconds,
    attacker: perAccount(p),
    /** Bounds from the 95% interval of p: the upper cost from the lower p. */
    attackerAtP95Low: perAccount(lo),
    attackerAtP95High: perAccount(hi),
    person: {
      captchaAttempts: 1,
      powCpuSeconds: pow.meanCpuSeconds,
      extraWallSeconds: 0,
      note: "the browser solves the proof of work in the background while the person types; about one attempt",
    },
    accessiblePath: {
      captchaAttempts: 0,
      powCpuSeconds: pow.meanCpuSeconds * accessibleFactor,
      addressHours: 1 / limits.accessiblePerHour,
      note: `no image: POW_MAX_NUMBER.accessible (${accessibleFactor}× the work, scaled from the measured solves, not measured) and ${limits.accessiblePerHour}/h per address`,
    },
    limits,
  };
  const a = cost.attacker;
  log(
    `attacker reads ${result.correct}/${result.testImages} (${pct(p)}, 95% ${pct(lo)}–${pct(hi)}), ${pct(result.charAccuracy)} per character, ` +
      `after ${fmt(result.epochs)} epochs / ${fmt(result.trainSeconds, 0)} s on ${result.trainImages} images`,
  );
  log(
    `per account: ${fmt(a.captchaAttempts, 1)} captcha attempts, ${fmt(a.powCpuSeconds, 1)} PoW CPU-s, ${fmt(a.addressHours, 3)} address-hours at ${limits.perHour}/h ` +
      `(a person: 1 attempt, ${fmt(pow.meanCpuSeconds, 2)} CPU-s in the background, no extra time)`,
  );
  log(
    `the path without the image: ${fmt(cost.accessiblePath.powCpuSeconds, 1)} PoW CPU-s and ${fmt(cost.accessiblePath.addressHours, 2)} address-hours per account, no captcha`,
  );

  const date = started.toISOString().slice(0, 10);
  const command = `npx tsx bench/attacker/run.ts${args.length ? " " + args.join(" ") : ""}`;
  const finished = { loadavgEnd: loadavg(), wallMinutes: (Date.now() - started.getTime()) / 60000 };
  const report = {
    date,
    command,
    machine: { ...machine, ...finished, note: "shared machine: other work ran at the same time; timings are upper bounds" },
    captcha: { width: CAPTCHA_WIDTH, height: CAPTCHA_HEIGHT, alphabet, length, answerLengths: [trainMeta.minLength, trainMeta.maxLength] },
    datasets: {
      train: { n: trainMeta.n, workers: trainMeta.workers, wallSeconds: trainMeta.wallSeconds, secondsPer1000: trainMeta.secondsPer1000, cpuSecondsPer1000: trainMeta.cpuSecondsPer1000 },
      test: { n: testMeta.n, wallSeconds: testMeta.wallSeconds, secondsPer1000: testMeta.secondsPer1000 },
    },
    model: result,
    pow,
    cost,
  };
  mkdirSync(OUT, { recursive: true });
  const jsonFile = path.join(OUT, `attacker-${date}.json`);
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + "\n");

  const lowP = cost.attackerAtP95Low, highP = cost.attackerAtP95High;
  const range = (k: keyof typeof a, d: number) => `${fmt(a[k], d)} (${fmt(highP[k], d)}–${fmt(lowP[k], d)})`;
  const md = [
    `# Learning attacker, ${date}`,
    "",
    `Command: \`${command}\` (or \`npm run bench -- --attacker\` with the same options).`,
    "",
    `Machine: \`nproc\` ${machine.nproc} (${machine.cpu}), Node ${machine.node}, Python torch ${torch} / numpy ${numpy} (${python}), ` +
      `${result.threads} torch threads; load average ${load0[0]?.toFixed(2)} at the start, ${finished.loadavgEnd[0]?.toFixed(2)} at the end; ` +
      `${fmt(finished.wallMinutes, 1)} min in all. **The machine was shared**: other work ran at the same time, so the timings are upper ` +
      "bounds and the training got fewer epochs in its time budget than a dedicated machine would give it.",
    "",
    `Captcha: ${CAPTCHA_WIDTH}×${CAPTCHA_HEIGHT}, alphabet \`${alphabet}\` (${alphabet.length}), length ${String(length)}; ` +
      `rendered by \`renderCaptcha(captchaText())\` and rasterised with resvg at display size (1×), grayscale.`,
    "",
    `Data: ${trainMeta.n.toLocaleString("en-US")} training and ${testMeta.n.toLocaleString("en-US")} separate fresh test captchas; rendering took ` +
      `${fmt(trainMeta.secondsPer1000, 1)} s wall per 1,000 with ${trainMeta.workers} workers (${fmt(trainMeta.cpuSecondsPer1000, 1)} CPU-s per 1,000).`,
    "",
    `Model: ${result.architecture}; ${result.params.toLocaleString("en-US")} parameters; ${fmt(result.epochs)} epochs in ` +
      `${fmt(result.trainSeconds, 0)} s of training (budget ${MINUTES} min); ${fmt(result.inferenceCpuMsPerImage, 2)} CPU-ms to read one captcha.`,
    "",
    "| result | value |",
    "|---|---:|",
    `| whole answers read right (p) | ${result.correct}/${result.testImages} = ${pct(p)} (95%: ${pct(lo)}–${pct(hi)}) |`,
    `| characters read right | ${pct(result.charAccuracy)} |`,
    `| per position | ${result.perPosition.map(pct).join(", ")} |`,
    `| most frequent confusions (answer→read) | ${result.confusions.slice(0, 8).map((c) => `${c.answer}→${c.read} ${c.count}`).join(", ") || "none"} |`,
    `| PoW CPU-s per attempt (${pow.solves} solves, maxNumber ${POW_MAX_NUMBER.normal.toLocaleString("en-US")}) | ${fmt(pow.meanCpuSeconds, 3)} (median ${fmt(pow.medianCpuSeconds, 3)}, max ${fmt(pow.maxCpuSeconds, 3)}) |`,
    "",
    `Cost per created account (ranges from the 95% interval of p; register limit ${limits.perHour}/h per address, ${limits.source}):`,
    "",
    "| per account | this attacker | a person | the path without the image |",
    "|---|---:|---:|---:|",
    `| captcha attempts | ${range("captchaAttempts", 1)} | ~1 | 0 |`,
    `| PoW CPU-seconds | ${range("powCpuSeconds", 1)} | ${fmt(pow.meanCpuSeconds, 2)}, solved in the background while typing: no extra time | ${fmt(cost.accessiblePath.powCpuSeconds, 1)} (${accessibleFactor}×, scaled) |`,
    `| address-hours | ${range("addressHours", 3)} | — | ${fmt(cost.accessiblePath.addressHours, 2)} (${limits.accessiblePerHour}/h) |`,
    `| model CPU-seconds | ${fmt(a.inferenceCpuSeconds, 4)} | — | — |`,
    "",
    `Learning curve (test set, evaluated only): ${result.curve.map((c) => `${fmt(c.epochs, 1)} ep ${pct(c.testAccuracy)}`).join(", ")}.`,
    "",
    "The PoW figure is `solveInNode` (one node:crypto hash call per counter, the per-call overhead dominates): what a " +
      "script costs, an upper bound for an attacker, who can hash natively (SHA extensions, GPUs) at many times that rate. " +
      "With p = 0 the costs are ∞ (null in the JSON); the bracket then shows the bound from the upper end of p's interval.",
    "",
  ].join("\n");
  const mdFile = path.join(OUT, `attacker-${date}.md`);
  writeFileSync(mdFile, md);
  log(`wrote ${path.relative(REPO, jsonFile)} and ${path.relative(REPO, mdFile)}`);
}

await main();
