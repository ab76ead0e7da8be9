/**
 * OCR attacker: rasterises the SVG with resvg, cleans the bitmap the way captcha-breaking
 * scripts do (drop elements with noise-like attributes, threshold against the background,
 * close hollow strokes, open away thin lines, drop small specks, crop the margins) and hands it to Tesseract with
 * the captcha alphabet whitelisted. Every cleaning × page-segmentation variant is run on every
 * sample, plus two ways of combining them into a single answer (first full-length read in a
 * fixed order; per-position vote). The best of these on the sample is reported, so the number is
 * an upper bound for this pipeline rather than one lucky configuration.
 *
 * Needs the `tesseract` binary (Debian: tesseract-ocr, which pulls in tesseract-ocr-eng).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH } from "../../lib/captcha/text";

const ZOOM = 2;
const PAD = 16;

export interface Cleaning {
  name: string;
  /** Closing radius (px at ZOOM): fills hollow or broken strokes. */
  close: number;
  /** Opening radius: removes lines thinner than about 2r + 1 px. */
  open: number;
  /** Drop the top and bottom margins where no letter body sits. */
  crop: boolean;
  /** Remove connected specks smaller than this many pixels (at ZOOM); 0 = keep all. */
  speck?: number;
}

export const CLEANINGS: Cleaning[] = [
  { name: "threshold", close: 0, open: 0, crop: false },
  { name: "close", close: 2, open: 0, crop: false },
  { name: "close+open", close: 2, open: 2, crop: false },
  { name: "close+open+crop", close: 2, open: 2, crop: true },
  { name: "open2+crop", close: 1, open: 2, crop: true },
  { name: "open3+crop", close: 1, open: 3, crop: true },
  { name: "open4+crop", close: 1, open: 4, crop: true },
  { name: "despeckle+crop", close: 1, open: 0, crop: true, speck: 80 },
  { name: "open2+despeckle+crop", close: 1, open: 2, crop: true, speck: 80 },
];
/** Tesseract page-segmentation modes tried per cleaning: 7 = one text line, 8 = one word. */
const PSMS: Record<string, number[]> = {
  threshold: [7],
  close: [7, 8],
  "close+open": [7],
  "close+open+crop": [7],
  "open2+crop": [7],
  "open3+crop": [7],
  "open4+crop": [7],
  "despeckle+crop": [7],
  "open2+despeckle+crop": [7],
};

export interface Bitmap {
  w: number;
  h: number;
  px: Uint8Array;
}

/** Removes stroke-only elements (fill="none"): how svg-captcha's noise lines are told apart. */
export function stripNoiseAttributes(svg: string): string {
  return svg.replace(/<path\b[^>]*\bfill="none"[^>]*\/?>/g, "");
}

/** 1 where the pixel differs clearly from the background colour (the most common one). */
function inkMask(svg: string): Bitmap {
  const img = new Resvg(stripNoiseAttributes(svg), { fitTo: { mode: "zoom", value: ZOOM } }).render();
  const { width: w, height: h } = img;
  const rgba = img.pixels;
  const freq = new Map<number, number>();
  for (let i = 0; i < w * h * 4; i += 4 * 7) {
    const k = ((rgba[i] as number) << 16) | ((rgba[i + 1] as number) << 8) | (rgba[i + 2] as number);
    freq.set(k, (freq.get(k) ?? 0) + 1);
  }
  let bg = 0xffffff, top = 0;
  for (const [k, n] of freq) if (n > top) [bg, top] = [k, n];
  const br = bg >> 16, bgc = (bg >> 8) & 255, bb = bg & 255;
  const px = new Uint8Array(w * h);
  for (let p = 0, i = 0; p < w * h; p++, i += 4) {
    const d = Math.abs((rgba[i] as number) - br) + Math.abs((rgba[i + 1] as number) - bgc) + Math.abs((rgba[i + 2] as number) - bb);
    px[p] = d > 110 ? 1 : 0;
  }
  return { w, h, px };
}

/** Square max (dilate) or min (erode) filter of radius r, done as two 1-D passes. */
function morph(b: Bitmap, r: number, dilate: boolean): Bitmap {
  const { w, h } = b;
  // Running count of ink in the window: dilate = any ink, erode = all ink (outside counts as paper).
  const pass = (src: Uint8Array, horizontal: boolean) => {
    const out = new Uint8Array(w * h);
    const lines = horizontal ? h : w, len = horizontal ? w : h;
    const step = horizontal ? 1 : w;
    const full = 2 * r + 1;
    for (let l = 0; l < lines; l++) {
      const base = horizontal ? l * w : l;
      let sum = 0;
      for (let k = 0; k < Math.min(r, len); k++) sum += src[base + k * step] as number;
      for (let i = 0; i < len; i++) {
        if (i + r < len) sum += src[base + (i + r) * step] as number;
        if (i - r - 1 >= 0) sum -= src[base + (i - r - 1) * step] as number;
        out[base + i * step] = dilate ? (sum > 0 ? 1 : 0) : sum === full ? 1 : 0;
      }
    }
    return out;
  };
  return { w, h, px: pass(pass(b.px, true), false) };
}

/** Drops 8-connected ink components smaller than `min` pixels (dots, blobs, loose shards). */
function despeckle(b: Bitmap, min: number): Bitmap {
  const { w, h } = b;
  const px = b.px.slice();
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  const comp: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!px[start] || seen[start]) continue;
    comp.length = 0;
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop() as number;
      comp.push(p);
      const x = p % w, y = (p - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const q = yy * w + xx;
          if (px[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    if (comp.length < min) for (const p of comp) px[p] = 0;
  }
  return { w, h, px };
}

function clean(mask: Bitmap, c: Cleaning): Bitmap {
  let b = mask;
  if (c.close) b = morph(morph(b, c.close, true), c.close, false);
  if (c.open) b = morph(morph(b, c.open, false), c.open, true);
  if (c.speck) b = despeckle(b, c.speck);
  return b;
}

/** The bitmap Tesseract is given for one cleaning (ink = 1), for looking at. */
export function cleanedBitmap(svg: string, c: Cleaning): Bitmap {
  const b = clean(inkMask(svg), c);
  if (!c.crop) return b;
  const y0 = Math.round(b.h * 0.14), y1 = Math.round(b.h * 0.86);
  return { w: b.w, h: y1 - y0, px: b.px.slice(y0 * b.w, y1 * b.w) };
}

/** Black ink on white as binary PGM, padded, optionally without the margins. */
function pgm(b: Bitmap, crop: boolean): Buffer {
  const y0 = crop ? Math.round(b.h * 0.14) : 0, y1 = crop ? Math.round(b.h * 0.86) : b.h;
  const w = b.w + 2 * PAD, h = y1 - y0 + 2 * PAD;
  const header = Buffer.from(`P5\n${w} ${h}\n255\n`);
  const body = Buffer.alloc(w * h, 255);
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < b.w; x++) if (b.px[y * b.w + x]) body[(y - y0 + PAD) * w + x + PAD] = 0;
  }
  return Buffer.concat([header, body]);
}

/** Runs one Tesseract process over a list of images; returns one answer per image. */
function tesseractOnce(files: string[], list: string, psm: number): Promise<string[]> {
  writeFileSync(list, files.join("\n") + "\n");
  return new Promise((resolve, reject) => {
    const args = [list, "stdout", "--psm", String(psm), "-c", `tessedit_char_whitelist=${CAPTCHA_ALPHABET}`,
      "-c", "classify_enable_learning=0", "-c", "page_separator=#"];
    const p = spawn("tesseract", args, { env: { ...process.env, OMP_THREAD_LIMIT: "1" } });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code, signal) => {
      if (code !== 0) return reject(new Error(`tesseract exited ${code ?? signal}: ${err.slice(-500)}`));
      const pages = out.split("#").map((s) => s.replace(/[^A-Z0-9]/g, ""));
      if (pages.length !== files.length) return reject(new Error(`tesseract gave ${pages.length} pages for ${files.length}`));
      resolve(pages);
    });
  });
}

/**
 * Tesseract occasionally dies on an odd bitmap; rather than lose the batch, split it and retry,
 * down to single images (an image it cannot read at all counts as an empty, wrong answer).
 */
async function tesseract(files: string[], list: string, psm: number): Promise<string[]> {
  try {
    return await tesseractOnce(files, list, psm);
  } catch (err) {
    if (files.length === 1) {
      console.error(`tesseract failed on one image, counted as unread: ${String(err).slice(0, 200)}`);
      return [""];
    }
    const half = Math.ceil(files.length / 2);
    return [...(await tesseract(files.slice(0, half), list, psm)), ...(await tesseract(files.slice(half), list, psm))];
  }
}

export interface OcrResult {
  n: number;
  perVariant: { name: string; solved: number; chars: number }[];
  solved: number;
  best: string;
}

/** Cascade order: the first variant in this list that returns exactly CAPTCHA_LENGTH characters answers. */
const CASCADE = [
  "open2+despeckle+crop/psm7", "despeckle+crop/psm7", "open2+crop/psm7", "close+open+crop/psm7", "open3+crop/psm7", "close+open/psm7",
  "close/psm7", "threshold/psm7", "close/psm8",
];

/** Rasterises, cleans and OCRs `sample` captchas, at most `parallel` Tesseract processes at a time. */
export async function attackOcr(
  render: (text: string) => string,
  text: () => string,
  sample: number,
  parallel = 2,
  length = CAPTCHA_LENGTH,
): Promise<OcrResult> {
  const dir = mkdtempSync(join(tmpdir(), "captcha-ocr-"));
  const variants = CLEANINGS.flatMap((c) => (PSMS[c.name] ?? [7]).map((psm) => ({ c, psm, name: `${c.name}/psm${psm}`, solved: 0, chars: 0 })));
  // Two ways of combining the variants into one answer, as an attacker with one try would.
  const combined = [
    { name: "cascade", solved: 0, chars: 0 },
    { name: "vote", solved: 0, chars: 0 },
  ];
  const score = (v: { solved: number; chars: number }, guess: string, t: string) => {
    if (guess === t) v.solved++;
    for (let k = 0; k < t.length; k++) if (guess[k] === t[k]) v.chars++;
  };
  try {
    const batch = 100;
    for (let start = 0; start < sample; start += batch) {
      const n = Math.min(batch, sample - start);
      const answers: string[] = [];
      // Per cleaning: the files to read and, for each sample, its index in that list (-1: the
      // bitmap is nearly blank, which Tesseract can crash on; it counts as an empty answer).
      const files = CLEANINGS.map(() => [] as string[]);
      const slot = CLEANINGS.map(() => [] as number[]);
      for (let i = 0; i < n; i++) {
        const t = text();
        answers.push(t);
        const mask = inkMask(render(t));
        CLEANINGS.forEach((c, ci) => {
          const b = clean(mask, c);
          let ink = 0;
          for (const v of b.px) ink += v;
          if (ink < 40) {
            (slot[ci] as number[]).push(-1);
            return;
          }
          const f = join(dir, `${ci}-${i}.pgm`);
          writeFileSync(f, pgm(b, c.crop));
          (slot[ci] as number[]).push((files[ci] as string[]).length);
          (files[ci] as string[]).push(f);
        });
      }
      // One job per (cleaning, psm); run them `parallel` at a time.
      const guesses = new Map<string, string[]>();
      const jobs = variants.map((v, vi) => async () => {
        const ci = CLEANINGS.indexOf(v.c);
        const list = files[ci] as string[];
        const pages = list.length ? await tesseract(list, join(dir, `list-${vi}.txt`), v.psm) : [];
        const read = (slot[ci] as number[]).map((k) => (k < 0 ? "" : (pages[k] ?? "")));
        guesses.set(v.name, read);
        read.forEach((guess, i) => score(v, guess, answers[i] as string));
      });
      let next = 0;
      await Promise.all(Array.from({ length: parallel }, async () => {
        while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
      }));
      answers.forEach((t, i) => {
        const reads = variants.map((v) => guesses.get(v.name)?.[i] ?? "");
        const full = reads.filter((g) => g.length === length);
        const cascade = CASCADE.map((name) => guesses.get(name)?.[i] ?? "").find((g) => g.length === length) ?? "";
        score(combined[0] as { solved: number; chars: number }, cascade, t);
        let vote = "";
        for (let k = 0; k < length; k++) {
          const tally = new Map<string, number>();
          for (const g of full) tally.set(g[k] as string, (tally.get(g[k] as string) ?? 0) + 1);
          vote += [...tally].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
        }
        score(combined[1] as { solved: number; chars: number }, vote, t);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const all = [...variants, ...combined];
  const best = all.reduce((a, b) => (b.solved > a.solved || (b.solved === a.solved && b.chars > a.chars) ? b : a));
  return {
    n: sample,
    perVariant: all.map(({ name, solved, chars }) => ({ name, solved, chars })),
    solved: best.solved,
    best: best.name,
  };
}
