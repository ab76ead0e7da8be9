/**
 * Captcha strength check: runs our own attackers against freshly issued captchas.
 *
 *   tsx testing/captcha-strength/run.ts [--sample N] [--train M] [--skip-baseline] [--skip-ocr] [--json FILE]
 *
 * Defaults: N = 500 fresh captchas per attacker, M = 20,000 training captchas for the structure
 * attacker. Each attacker is also run against the original svg-captcha output (the baseline),
 * which shows the attacker works. Exits 1 if, on the hardened renderer, the structure attacker
 * solves more than 1% or the OCR attacker more than 5%.
 */
import { writeFileSync } from "node:fs";
import { renderCaptcha } from "../../lib/captcha/render";
import { CAPTCHA_LENGTH, captchaText } from "../../lib/captcha/text";
import { renderBaselineCaptcha } from "./baseline";
import { attackOcr, type OcrResult } from "./ocr";
import { attackStructure, type StructureResult } from "./structure";

const STRUCTURE_LIMIT = 0.01;
const OCR_LIMIT = 0.05;

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function count(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} wants a positive integer, got ${v}`);
  return n;
}

const N = count("--sample", 500);
const M = count("--train", 20000);
const withBaseline = !process.argv.includes("--skip-baseline");
const withOcr = !process.argv.includes("--skip-ocr");

const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(2)}%`;
const rate = (r: { solved: number; n: number }) => `${r.solved}/${r.n} solved (${pct(r.solved, r.n)})`;
const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)}s`;

async function main(): Promise<number> {
  if (N < 500) console.log(`note: sample N=${N} is below 500; use the default for a release decision`);
  console.log(`captcha strength: N=${N} fresh captchas per attacker, structure attacker trained on M=${M}`);

  let t0 = performance.now();
  const structure = attackStructure(renderCaptcha, captchaText, M, N);
  console.log(`  structure/hardened done in ${secs(t0)}: ${structure.perVariant.map((v) => `${v.name} ${v.solved}`).join(", ")}; chars ${pct(structure.chars, CAPTCHA_LENGTH * N)}`);
  let structureBase: StructureResult | undefined;
  if (withBaseline) {
    t0 = performance.now();
    structureBase = attackStructure(renderBaselineCaptcha, captchaText, M, N);
    console.log(`  structure/baseline done in ${secs(t0)}: ${structureBase.perVariant.map((v) => `${v.name} ${v.solved}`).join(", ")}`);
  }

  let ocr: OcrResult | undefined, ocrBase: OcrResult | undefined;
  if (withOcr) {
    t0 = performance.now();
    ocr = await attackOcr(renderCaptcha, captchaText, N);
    console.log(`  ocr/hardened done in ${secs(t0)}: ${ocr.perVariant.map((v) => `${v.name} ${v.solved}`).join(", ")}`);
    if (withBaseline) {
      t0 = performance.now();
      ocrBase = await attackOcr(renderBaselineCaptcha, captchaText, N);
      console.log(`  ocr/baseline done in ${secs(t0)}: ${ocrBase.perVariant.map((v) => `${v.name} ${v.solved}`).join(", ")}`);
    }
  }

  const base = (r: { solved: number; n: number } | undefined) => (r ? `, baseline ${rate(r)}` : "");
  console.log(`structure attacker: ${rate(structure)} [best variant ${structure.best}]${base(structureBase)}`);
  if (ocr) console.log(`OCR attacker: ${rate(ocr)} [best variant ${ocr.best}]${base(ocrBase)}`);
  else console.log("OCR attacker: skipped (--skip-ocr)");

  const json = flag("--json");
  if (json) writeFileSync(json, JSON.stringify({ N, M, structure, structureBase, ocr, ocrBase }, null, 2) + "\n");

  let failed = false;
  if (structure.solved / N > STRUCTURE_LIMIT) {
    console.log(`FAIL: structure attacker solves ${pct(structure.solved, N)} > ${STRUCTURE_LIMIT * 100}%`);
    failed = true;
  }
  if (ocr && ocr.solved / N > OCR_LIMIT) {
    console.log(`FAIL: OCR attacker solves ${pct(ocr.solved, N)} > ${OCR_LIMIT * 100}%`);
    failed = true;
  }
  if (!failed) console.log("OK: hardened renderer within limits (structure ≤ 1%, OCR ≤ 5%)");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
