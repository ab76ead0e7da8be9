/**
 * Structure attacker: reads a captcha from its SVG markup alone, the way public svg-captcha
 * solvers do. It trains on captchas it generates itself (known answers) and learns, for every
 * path unit, signatures that survive coordinate jitter: the command-letter sequence, the token
 * count, the length of the path data and the bounding box, at several granularities. Reading
 * assigns each unit to a character slot by position and lets every unit vote (naive-Bayes
 * log-likelihood ratios with back-off from exact to coarse signatures).
 *
 * Four variants run side by side: units = whole <path> elements or subpaths, and slots = the
 * fixed svg-captcha layout or an even split of the inked extent. The reported rate is the best
 * variant's.
 */
import { CAPTCHA_WIDTH } from "../../lib/captcha/render";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH } from "../../lib/captcha/text";
import { type Unit, svgUnits } from "./svgpath";

const LABELS = CAPTCHA_ALPHABET.length + 1;
const NOISE = CAPTCHA_ALPHABET.length;
const W = CAPTCHA_WIDTH;

type Level = "element" | "subpath";
type Slots = "fixed" | "extent";
export interface Variant {
  level: Level;
  slots: Slots;
}
export const VARIANTS: Variant[] = [
  { level: "element", slots: "fixed" },
  { level: "element", slots: "extent" },
  { level: "subpath", slots: "fixed" },
  { level: "subpath", slots: "extent" },
];
export const variantName = (v: Variant): string => `${v.level}/${v.slots}`;

/** Signatures from exact to coarse; reading uses the first one seen often enough in training. */
function keys(u: Unit): string[] {
  const w = u.x1 - u.x0, h = u.y1 - u.y0;
  return [
    `0|${u.style}|${u.letters}`,
    `1|${u.letters.toUpperCase()}`,
    `2|${u.tokens}|${Math.round(w)}|${Math.round(h)}`,
    `3|${Math.round(u.len / 8)}|${Math.round(w / 2)}|${Math.round(h / 2)}`,
    `4|${Math.round(u.tokens / 5)}|${Math.round(w / 3)}|${Math.round(h / 3)}`,
    `5|${u.nsub}|${Math.round(w / 3)}|${Math.round(h / 3)}`,
    `6|${Math.round(w / 4)}|${Math.round(h / 4)}`,
  ];
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Label counts per signature. Most signatures of hardened output are seen once, so a
 * singleton is stored as just its label; a second sighting moves it to a pooled count row.
 */
class CountTable {
  private map = new Map<number, number>();
  private pool = new Uint32Array(LABELS * 1024);
  private rows = 0;

  add(key: string, label: number): void {
    const k = hash(key);
    const v = this.map.get(k);
    if (v === undefined) {
      this.map.set(k, label);
      return;
    }
    let row: number;
    if (v >= 0) {
      row = this.rows++;
      if ((row + 1) * LABELS > this.pool.length) {
        const bigger = new Uint32Array(this.pool.length * 2);
        bigger.set(this.pool);
        this.pool = bigger;
      }
      this.pool[row * LABELS + v] = 1;
      this.map.set(k, -(row + 1));
    } else row = -v - 1;
    (this.pool[row * LABELS + label] as number)++;
  }

  /** Counts per label (and total), or undefined if never seen. */
  get(key: string): { counts: ArrayLike<number>; total: number } | undefined {
    const v = this.map.get(hash(key));
    if (v === undefined) return undefined;
    if (v >= 0) {
      const counts = new Uint32Array(LABELS);
      counts[v] = 1;
      return { counts, total: 1 };
    }
    const row = -v - 1;
    const counts = this.pool.subarray(row * LABELS, (row + 1) * LABELS);
    let total = 0;
    for (let i = 0; i < LABELS; i++) total += counts[i] as number;
    return { counts, total };
  }
}

const SLOT_CENTRES = Array.from({ length: CAPTCHA_LENGTH }, (_, i) => ((W - 2) / (CAPTCHA_LENGTH + 1)) * (i + 1));
const isLong = (u: Unit) => u.x1 - u.x0 > 0.5 * W;

/** Slot index per unit, -1 for units that span the image (noise lines). */
function slotsOf(units: Unit[], method: Slots): number[] {
  if (method === "fixed") {
    return units.map((u) => {
      if (isLong(u)) return -1;
      const cx = (u.x0 + u.x1) / 2;
      let best = 0;
      SLOT_CENTRES.forEach((c, i) => {
        if (Math.abs(cx - c) < Math.abs(cx - (SLOT_CENTRES[best] as number))) best = i;
      });
      return best;
    });
  }
  let lo = Infinity, hi = -Infinity;
  for (const u of units) {
    if (isLong(u)) continue;
    lo = Math.min(lo, (u.x0 + u.x1) / 2);
    hi = Math.max(hi, (u.x0 + u.x1) / 2);
  }
  const span = Math.max(1, hi - lo);
  return units.map((u) =>
    isLong(u) ? -1 : Math.min(CAPTCHA_LENGTH - 1, Math.max(0, Math.floor((((u.x0 + u.x1) / 2 - lo) / span) * CAPTCHA_LENGTH))),
  );
}

class Model {
  readonly table = new CountTable();
  readonly prior = new Float64Array(LABELS).fill(1);
  constructor(readonly variant: Variant) {}

  train(units: Unit[], text: string): void {
    const slots = slotsOf(units, this.variant.slots);
    units.forEach((u, i) => {
      const s = slots[i] as number;
      const label = s < 0 ? NOISE : CAPTCHA_ALPHABET.indexOf(text[s] as string);
      (this.prior[label] as number)++;
      for (const k of keys(u)) this.table.add(k, label);
    });
  }

  read(units: Unit[]): string {
    const slots = slotsOf(units, this.variant.slots);
    let sum = 0;
    for (let c = 0; c < LABELS; c++) sum += this.prior[c] as number;
    const scores = Array.from({ length: CAPTCHA_LENGTH }, () => new Float64Array(LABELS));
    units.forEach((u, i) => {
      const s = slots[i] as number;
      if (s < 0) return;
      for (const k of keys(u)) {
        const hit = this.table.get(k);
        if (!hit || hit.total < 2) continue;
        if ((hit.counts[NOISE] as number) > 0.7 * hit.total) return;
        const row = scores[s] as Float64Array;
        for (let c = 0; c < NOISE; c++) {
          const p = ((hit.counts[c] as number) + 0.5) / (hit.total + 0.5 * LABELS);
          row[c] = (row[c] as number) + Math.log(p) - Math.log((this.prior[c] as number) / sum);
        }
        return;
      }
    });
    return scores
      .map((row) => {
        let best = 0;
        for (let c = 1; c < NOISE; c++) if ((row[c] as number) > (row[best] as number)) best = c;
        return CAPTCHA_ALPHABET[best] as string;
      })
      .join("");
  }
}

export class StructureAttacker {
  private models: Model[];
  constructor(variants: Variant[] = VARIANTS) {
    this.models = variants.map((v) => new Model(v));
  }

  train(svg: string, text: string): void {
    const units = svgUnits(svg);
    for (const m of this.models) m.train(units[m.variant.level], text);
  }

  /** One guess per variant. */
  read(svg: string): string[] {
    const units = svgUnits(svg);
    return this.models.map((m) => m.read(units[m.variant.level]));
  }

  get variants(): Variant[] {
    return this.models.map((m) => m.variant);
  }
}

export interface StructureResult {
  n: number;
  /** Solved count per variant, in VARIANTS order. */
  perVariant: { name: string; solved: number }[];
  /** Best variant's solved count. */
  solved: number;
  best: string;
  /** Characters read correctly by the best variant, out of n × length. */
  chars: number;
}

/**
 * Trains on `train` captchas from `render`, then reads `sample` fresh ones.
 * `text` supplies answers (captchaText in production use).
 */
export function attackStructure(
  render: (text: string) => string,
  text: () => string,
  train: number,
  sample: number,
): StructureResult {
  const attacker = new StructureAttacker();
  for (let i = 0; i < train; i++) {
    const t = text();
    attacker.train(render(t), t);
  }
  const solved = VARIANTS.map(() => 0);
  const chars = VARIANTS.map(() => 0);
  for (let i = 0; i < sample; i++) {
    const t = text();
    attacker.read(render(t)).forEach((guess, v) => {
      if (guess === t) solved[v] = (solved[v] as number) + 1;
      for (let k = 0; k < t.length; k++) if (guess[k] === t[k]) chars[v] = (chars[v] as number) + 1;
    });
  }
  let best = 0;
  solved.forEach((s, v) => {
    if (s > (solved[best] as number) || (s === solved[best] && (chars[v] as number) > (chars[best] as number))) best = v;
  });
  return {
    n: sample,
    perVariant: VARIANTS.map((v, i) => ({ name: variantName(v), solved: solved[i] as number })),
    solved: solved[best] as number,
    best: variantName(VARIANTS[best] as Variant),
    chars: chars[best] as number,
  };
}
