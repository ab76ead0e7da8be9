/**
 * Training or test data for the learning attacker: N fresh captchas from the production renderer
 * and answer generator, rasterised with resvg at display size (1×, CAPTCHA_WIDTH × CAPTCHA_HEIGHT
 * as render.ts exports them at run time) and stored as 8-bit grayscale.
 *
 *   npx tsx bench/attacker/dataset.ts --n 20000 --out DIR [--workers 2]
 *
 * Writes DIR/images.npy (uint8, shape N × H × W, ink dark on a light background; numpy.load reads
 * it) and DIR/meta.json ({ n, width, height, alphabet, length, labels: [answer, …], … }). There is
 * no seed: fresh randomness is the point, so two runs never share a captcha. The work is split
 * over `--workers` child processes (default: one per core), each writing a shard that is then
 * joined. Refuses to overwrite DIR/images.npy unless --force is given.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH, renderCaptcha } from "../../lib/captcha/render";
import * as answers from "../../lib/captcha/text";

const { CAPTCHA_ALPHABET, captchaText } = answers;
/** Read loosely: the length may become a range or vary per captcha; the answers drawn decide. */
const CAPTCHA_LENGTH: unknown = (answers as Record<string, unknown>).CAPTCHA_LENGTH;

const SELF = fileURLToPath(import.meta.url);

export interface DatasetMeta {
  n: number;
  width: number;
  height: number;
  /** As text.ts exports them when the data was made. */
  alphabet: string;
  length: unknown;
  /** Shortest and longest answer actually drawn. */
  minLength: number;
  maxLength: number;
  labels: string[];
  workers: number;
  wallSeconds: number;
  /** Wall seconds per 1,000 images (render + rasterise + grayscale), all workers together. */
  secondsPer1000: number;
  /** CPU seconds per 1,000 images summed over workers (what one core would need). */
  cpuSecondsPer1000: number;
  created: string;
}

/** One captcha as grayscale bytes (ITU-R BT.601 luma) at display size; transparent comes out white. */
export function rasterGray(svg: string): Uint8Array {
  const image = new Resvg(svg, { fitTo: { mode: "original" }, background: "white" }).render();
  if (image.width !== CAPTCHA_WIDTH || image.height !== CAPTCHA_HEIGHT) {
    throw new Error(`resvg drew ${image.width}×${image.height}, expected ${CAPTCHA_WIDTH}×${CAPTCHA_HEIGHT}`);
  }
  const rgba = image.pixels;
  const gray = new Uint8Array(image.width * image.height);
  for (let i = 0, j = 0; i < gray.length; i++, j += 4) {
    gray[i] = Math.round(0.299 * (rgba[j] as number) + 0.587 * (rgba[j + 1] as number) + 0.114 * (rgba[j + 2] as number));
  }
  return gray;
}

/** Child process: renders `count` captchas into `file` (raw bytes) and `file.json` (answers, CPU time). */
function shard(count: number, file: string): void {
  const cpu0 = process.cpuUsage();
  const fd = openSync(file, "w");
  const labels: string[] = [];
  for (let k = 0; k < count; k++) {
    const text = captchaText();
    writeSync(fd, rasterGray(renderCaptcha(text)));
    labels.push(text);
  }
  closeSync(fd);
  const cpu = process.cpuUsage(cpu0);
  writeFileSync(`${file}.json`, JSON.stringify({ labels, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
}

/** A .npy (format 1.0) header for a C-ordered uint8 array. */
function npyHeader(shape: number[]): Buffer {
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const unpadded = 10 + dict.length + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const header = Buffer.alloc(padded, 0x20);
  header.write("\x93NUMPY", 0, "latin1");
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(padded - 10, 8);
  header.write(dict, 10, "latin1");
  header[padded - 1] = 0x0a;
  return header;
}

function runShard(count: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", SELF, "--shard", file, "--n", String(count)], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`dataset shard ${file} exited with ${code}`))));
  });
}

/** Renders n fresh captchas into out/ (images.npy + meta.json) using `workers` processes. */
export async function makeDataset(n: number, out: string, workers = availableParallelism(), force = false): Promise<DatasetMeta> {
  if (!Number.isInteger(n) || n < 1) throw new Error("dataset: n must be a positive integer");
  mkdirSync(out, { recursive: true });
  const npy = path.join(out, "images.npy");
  if (existsSync(npy) && !force) throw new Error(`dataset: ${npy} exists; use another folder or --force`);
  workers = Math.max(1, Math.min(workers, n));
  const counts = Array.from({ length: workers }, (_, i) => Math.floor(n / workers) + (i < n % workers ? 1 : 0));
  const files = counts.map((_, i) => path.join(out, `shard-${i}.u8`));
  const t0 = performance.now();
  await Promise.all(counts.map((c, i) => runShard(c, files[i] as string)));
  const wallSeconds = (performance.now() - t0) / 1000;

  const W = CAPTCHA_WIDTH, H = CAPTCHA_HEIGHT;
  const fd = openSync(npy, "w");
  writeSync(fd, npyHeader([n, H, W]));
  const labels: string[] = [];
  let cpuSeconds = 0;
  files.forEach((file, i) => {
    const bytes = readFileSync(file);
    if (bytes.length !== (counts[i] as number) * W * H) throw new Error(`dataset: shard ${file} has ${bytes.length} bytes`);
    writeSync(fd, bytes);
    const info = JSON.parse(readFileSync(`${file}.json`, "utf8")) as { labels: string[]; cpuSeconds: number };
    labels.push(...info.labels);
    cpuSeconds += info.cpuSeconds;
    rmSync(file);
    rmSync(`${file}.json`);
  });
  closeSync(fd);
  const lengths = labels.map((l) => [...l].length);
  const meta: DatasetMeta = {
    n,
    width: W,
    height: H,
    alphabet: CAPTCHA_ALPHABET,
    length: CAPTCHA_LENGTH,
    minLength: lengths.reduce((a, b) => Math.min(a, b), Infinity),
    maxLength: lengths.reduce((a, b) => Math.max(a, b), 0),
    labels,
    workers,
    wallSeconds,
    secondsPer1000: (wallSeconds / n) * 1000,
    cpuSecondsPer1000: (cpuSeconds / n) * 1000,
    created: new Date().toISOString(),
  };
  writeFileSync(path.join(out, "meta.json"), JSON.stringify(meta) + "\n");
  return meta;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`${name} wants a value`);
  return v;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const n = Number(flag("--n") ?? 1000);
  if (!Number.isInteger(n) || n < 1) throw new Error("--n wants a positive integer");
  const shardFile = flag("--shard");
  if (shardFile) {
    shard(n, shardFile);
  } else {
    const out = flag("--out");
    if (!out) {
      console.error("usage: npx tsx bench/attacker/dataset.ts --n 20000 --out DIR [--workers 2] [--force]");
      process.exit(2);
    }
    const workers = Number(flag("--workers") ?? availableParallelism());
    if (!Number.isInteger(workers) || workers < 1) throw new Error("--workers wants a positive integer");
    const meta = await makeDataset(n, out, workers, process.argv.includes("--force"));
    console.log(
      `wrote ${n} captchas (${meta.width}×${meta.height}, alphabet ${meta.alphabet}, length ${meta.minLength}-${meta.maxLength}) to ${out} ` +
        `in ${meta.wallSeconds.toFixed(1)} s with ${meta.workers} workers: ${meta.secondsPer1000.toFixed(1)} s wall and ` +
        `${meta.cpuSecondsPer1000.toFixed(1)} CPU-s per 1,000`,
    );
  }
}
