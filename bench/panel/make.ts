/**
 * Captchas for a reading panel: renders fresh captchas with the production renderer and answer
 * generator, as PNG at the size the page shows them.
 *
 *   npx tsx bench/panel/make.ts --n 100 --out DIR [--scale 1] [--force]
 *
 * Writes DIR/001.png … DIR/100.png and, separately, DIR/answers.json ({"001": "ACEHM", …}).
 * The answers are never in an image's name or metadata: hand readers the PNGs only. `--scale`
 * is the zoom over CSS display size (1 = as the page shows it, CAPTCHA_WIDTH × CAPTCHA_HEIGHT;
 * 2 = a 2× device-pixel-ratio screen). Transparent pixels (there are none today) come out white.
 * DIR/meta.json records the count, size, scale and alphabet (keep it from readers too: knowing
 * which characters can occur makes reading easier than it is for a user). Refuses to write
 * into a folder that already holds a panel unless --force is given (old and new images would
 * mix).
 *
 * Score the readings with bench/panel/score.ts.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH, renderCaptcha } from "../../lib/captcha/render";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH, captchaText } from "../../lib/captcha/text";

function usage(message: string): never {
  console.error(`${message}\nusage: npx tsx bench/panel/make.ts --n 100 --out DIR [--scale 1] [--force]`);
  process.exit(2);
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) usage(`${name} wants a value`);
  return v;
}

const n = Number(flag("--n") ?? 100);
if (!Number.isInteger(n) || n < 1 || n > 99_999) usage("--n wants an integer from 1 to 99999");
const out = flag("--out") ?? usage("--out DIR is required");
const scale = Number(flag("--scale") ?? 1);
if (!Number.isFinite(scale) || scale <= 0 || scale > 8) usage("--scale wants a number above 0, at most 8");
const force = process.argv.includes("--force");

mkdirSync(out, { recursive: true });
const old = readdirSync(out).filter((f) => /^\d+\.png$/.test(f) || f === "answers.json" || f === "meta.json");
if (old.length) {
  if (!force) usage(`${out} already holds a panel (${old.length} files); use another folder or --force`);
  for (const f of old) rmSync(join(out, f));
}

const digits = Math.max(3, String(n).length);
const answers: Record<string, string> = {};
for (let i = 1; i <= n; i++) {
  const id = String(i).padStart(digits, "0");
  const text = captchaText();
  const svg = renderCaptcha(text);
  const png = new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, background: "white" }).render().asPng();
  writeFileSync(join(out, `${id}.png`), png);
  answers[id] = text;
}
writeFileSync(join(out, "answers.json"), JSON.stringify(answers, null, 2) + "\n");
const meta = {
  n,
  scale,
  cssWidth: CAPTCHA_WIDTH,
  cssHeight: CAPTCHA_HEIGHT,
  pngWidth: Math.round(CAPTCHA_WIDTH * scale),
  pngHeight: Math.round(CAPTCHA_HEIGHT * scale),
  length: CAPTCHA_LENGTH,
  alphabet: CAPTCHA_ALPHABET,
  created: new Date().toISOString(),
};
writeFileSync(join(out, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
console.log(
  `wrote ${n} PNGs (${meta.pngWidth}×${meta.pngHeight}, scale ${scale}) to ${out}/${"0".repeat(digits - 1)}1.png…; ` +
    `answers in ${join(out, "answers.json")}`,
);
