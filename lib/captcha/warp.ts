/**
 * Geometry for the hardened captcha: svg-captcha's own glyph outlines (its bundled Comismsh
 * font, read through the opentype font object svg-captcha loads), flattened to polygons,
 * distorted point by point, cut into fragments and re-encoded with randomised path syntax.
 *
 * Randomness here only shapes the drawing; the answer itself always comes from captchaText().
 */
import svgCaptcha from "svg-captcha";

/** A closed polygon as flat x,y pairs (the closing edge is implicit). */
export type Ring = number[];
/** Rings that must be filled together under the nonzero rule (a glyph and its counters). */
export type Shape = Ring[];

interface OpenTypeCommand {
  type: string;
  x?: number;
  y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
}
interface OpenTypeFont {
  charToGlyph(ch: string): { getPath(x: number, y: number, size: number): { commands: OpenTypeCommand[] } };
}

const font = (svgCaptcha.options as unknown as { font: OpenTypeFont }).font;

export const rand = (min: number, max: number): number => min + Math.random() * (max - min);
export const randInt = (min: number, max: number): number => Math.floor(rand(min, max + 1));
export const chance = (p: number): boolean => Math.random() < p;

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
  return items;
}

/** Font commands at a reference size, centred on the glyph's bounding box. */
interface Outline {
  cmds: OpenTypeCommand[];
  w: number;
  h: number;
}
export const OUTLINE_SIZE = 60;
const outlines = new Map<string, Outline>();

export function outline(ch: string): Outline {
  let o = outlines.get(ch);
  if (o) return o;
  const cmds = font.charToGlyph(ch).getPath(0, 0, OUTLINE_SIZE).commands.map((c) => ({ ...c }));
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const c of cmds) {
    if (c.x === undefined || c.y === undefined) continue;
    x0 = Math.min(x0, c.x); x1 = Math.max(x1, c.x); y0 = Math.min(y0, c.y); y1 = Math.max(y1, c.y);
  }
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  for (const c of cmds) {
    if (c.x !== undefined) c.x -= cx;
    if (c.y !== undefined) c.y -= cy;
    if (c.x1 !== undefined) c.x1 -= cx;
    if (c.y1 !== undefined) c.y1 -= cy;
    if (c.x2 !== undefined) c.x2 -= cx;
    if (c.y2 !== undefined) c.y2 -= cy;
  }
  o = { cmds, w: x1 - x0, h: y1 - y0 };
  outlines.set(ch, o);
  return o;
}

/**
 * Flattens a glyph's outline to polygons (scaled by `scale`), with a random number of segments
 * per curve and randomly dropped near-duplicate points, so vertex counts differ every time.
 */
export function flatten(o: Outline, scale: number): Shape {
  const shape: Shape = [];
  let ring: Ring = [];
  let px = 0, py = 0;
  const push = (x: number, y: number) => {
    const n = ring.length;
    if (n >= 2) {
      const dx = x - (ring[n - 2] as number), dy = y - (ring[n - 1] as number);
      if (dx * dx + dy * dy < 0.25 && chance(0.8)) return;
    }
    ring.push(x, y);
  };
  const close = () => {
    if (ring.length >= 6) shape.push(ring);
    ring = [];
  };
  for (const c of o.cmds) {
    const x = (c.x ?? 0) * scale, y = (c.y ?? 0) * scale;
    switch (c.type) {
      case "M":
        close();
        ring.push(x, y);
        break;
      case "L":
        push(x, y);
        break;
      case "Q": {
        const qx = (c.x1 ?? 0) * scale, qy = (c.y1 ?? 0) * scale;
        const len = Math.hypot(qx - px, qy - py) + Math.hypot(x - qx, y - qy);
        const n = Math.max(1, Math.min(4, Math.round(len / rand(3, 7))));
        for (let k = 1; k <= n; k++) {
          const t = k / n, u = 1 - t;
          push(u * u * px + 2 * u * t * qx + t * t * x, u * u * py + 2 * u * t * qy + t * t * y);
        }
        break;
      }
      case "C": {
        const ax = (c.x1 ?? 0) * scale, ay = (c.y1 ?? 0) * scale, bx = (c.x2 ?? 0) * scale, by = (c.y2 ?? 0) * scale;
        const n = randInt(2, 4);
        for (let k = 1; k <= n; k++) {
          const t = k / n, u = 1 - t;
          push(u * u * u * px + 3 * u * u * t * ax + 3 * u * t * t * bx + t * t * t * x,
            u * u * u * py + 3 * u * u * t * ay + 3 * u * t * t * by + t * t * t * y);
        }
        break;
      }
      case "Z":
        close();
        break;
    }
    px = x;
    py = y;
  }
  close();
  return shape;
}

export function signedArea(r: Ring): number {
  let a = 0;
  const n = r.length;
  for (let i = 0; i < n; i += 2) {
    const j = (i + 2) % n;
    a += (r[i] as number) * (r[j + 1] as number) - (r[j] as number) * (r[i + 1] as number);
  }
  return a / 2;
}

function inside(r: Ring, x: number, y: number): boolean {
  let ins = false;
  const n = r.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const yi = r[i + 1] as number, yj = r[j + 1] as number;
    if (yi > y !== yj > y) {
      const xi = r[i] as number, xj = r[j] as number;
      if (x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) ins = !ins;
    }
  }
  return ins;
}

/**
 * Comismsh draws every stroke as an outline with a thinner hollow inside it (a ring of the
 * opposite winding), which leaves the letters faint. Dropping the hollows (rings wound against
 * the glyph's largest ring) and orienting what is left (outlines one way, counters the other)
 * gives solid strokes with the holes of A, P, R, 4, 6, 9 still open.
 */
export function solidify(shape: Shape): Shape {
  const areas = shape.map(signedArea);
  let big = 0;
  areas.forEach((a, k) => {
    if (Math.abs(a) > Math.abs(areas[big] as number)) big = k;
  });
  const sign = Math.sign(areas[big] as number);
  const kept = shape.filter((_, k) => Math.sign(areas[k] as number) === sign);
  const abs = kept.map((r) => Math.abs(signedArea(r)));
  return kept.map((r, k) => {
    let counter = false;
    for (let m = 0; m < kept.length && !counter; m++) {
      if (m === k || (abs[m] as number) <= (abs[k] as number)) continue;
      let hits = 0, total = 0;
      for (let i = 0; i < r.length; i += 2, total++) if (inside(kept[m] as Ring, r[i] as number, r[i + 1] as number)) hits++;
      counter = hits >= 0.8 * total;
    }
    return counter === sign > 0 ? reverse(r) : r;
  });
}

/** Moves every vertex along its ring's outward normal: strokes get bolder (d > 0) or thinner. */
export function embolden(shape: Shape, d: number): void {
  for (const r of shape) {
    const s = Math.sign(signedArea(r)) * d;
    const n = r.length;
    const src = r.slice();
    for (let i = 0; i < n; i += 2) {
      const ip = (i - 2 + n) % n, inx = (i + 2) % n;
      const tx = (src[inx] as number) - (src[ip] as number), ty = (src[inx + 1] as number) - (src[ip + 1] as number);
      const l = Math.hypot(tx, ty) || 1;
      r[i] = (src[i] as number) + (s * ty) / l;
      r[i + 1] = (src[i + 1] as number) - (s * tx) / l;
    }
  }
}

/** Applies a point map to every vertex in place. */
export function mapShape(shape: Shape, f: (x: number, y: number, out: number[]) => void): void {
  const p = [0, 0];
  for (const r of shape) {
    for (let i = 0; i < r.length; i += 2) {
      f(r[i] as number, r[i + 1] as number, p);
      r[i] = p[0] as number;
      r[i + 1] = p[1] as number;
    }
  }
}

/** Inserts vertices so no edge is longer than `max`, letting a non-linear warp bend straight strokes. */
export function subdivide(shape: Shape, max: number): Shape {
  return shape.map((r) => {
    const out: Ring = [];
    const n = r.length;
    for (let i = 0; i < n; i += 2) {
      const x = r[i] as number, y = r[i + 1] as number;
      const j = (i + 2) % n;
      const dx = (r[j] as number) - x, dy = (r[j + 1] as number) - y;
      out.push(x, y);
      const k = Math.floor(Math.hypot(dx, dy) / max);
      for (let s = 1; s <= k; s++) out.push(x + (dx * s) / (k + 1), y + (dy * s) / (k + 1));
    }
    return out;
  });
}

/** Sutherland–Hodgman: the part of a ring where a·x + b·y ≤ c. */
function clipRing(r: Ring, a: number, b: number, c: number): Ring {
  const out: Ring = [];
  const n = r.length;
  let px = r[n - 2] as number, py = r[n - 1] as number;
  let pd = a * px + b * py - c;
  for (let i = 0; i < n; i += 2) {
    const x = r[i] as number, y = r[i + 1] as number;
    const d = a * x + b * y - c;
    if ((d <= 0) !== (pd <= 0)) {
      const t = pd / (pd - d);
      out.push(px + (x - px) * t, py + (y - py) * t);
    }
    if (d <= 0) out.push(x, y);
    px = x;
    py = y;
    pd = d;
  }
  return out;
}

/** Sutherland–Hodgman per ring (pieces joined by zero-width bridges); fine for overlapping rings. */
function clipShape(shape: Shape, a: number, b: number, c: number): Shape {
  const out: Shape = [];
  for (const r of shape) {
    const q = clipRing(r, a, b, c);
    if (q.length >= 6 && Math.abs(signedArea(q)) > 0.3) out.push(q);
  }
  return out;
}

export function bbox(shape: Shape): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const r of shape) {
    for (let i = 0; i < r.length; i += 2) {
      const x = r[i] as number, y = r[i + 1] as number;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return [x0, y0, x1, y1];
}

/** clipSimple's per-vertex distances, reused between calls. */
let distances = new Float64Array(1024);

/**
 * Clips a set of simple, non-crossing rings (ink on a consistent side, as traced) to
 * a·x + b·y ≤ c, closing every piece along the cut line properly: the inside stretches of the
 * rings are re-joined across the line interval by interval, so there are no zero-width bridges
 * (which would betray the cut and, once rounded, show as hairlines).
 */
function clipSimple(shape: Shape, a: number, b: number, c: number): Shape {
  const out: Shape = [];
  const chains: number[][] = [];
  for (const r of shape) {
    const n = r.length / 2;
    // Signed distance of each vertex from the line, computed once (every edge reads two).
    if (distances.length < n) distances = new Float64Array(2 * n);
    const d = distances;
    let start = -1;
    for (let k = 0; k < n; k++) {
      const dk = a * (r[2 * k] as number) + b * (r[2 * k + 1] as number) - c;
      d[k] = dk;
      if (start < 0 && dk > 0) start = k;
    }
    if (start < 0) {
      out.push(r);
      continue;
    }
    let chain: number[] | undefined;
    for (let step = 0, k = start, k1 = 0; step < n; step++, k = k1) {
      k1 = k + 1 === n ? 0 : k + 1;
      const d0 = d[k] as number, d1 = d[k1] as number;
      const x0 = r[2 * k] as number, y0 = r[2 * k + 1] as number;
      const x1 = r[2 * k1] as number, y1 = r[2 * k1 + 1] as number;
      if ((d0 > 0) !== (d1 > 0)) {
        const t = d0 / (d0 - d1);
        const ix = x0 + (x1 - x0) * t, iy = y0 + (y1 - y0) * t;
        if (d0 > 0) chain = [ix, iy];
        else if (chain) {
          chain.push(ix, iy);
          chains.push(chain);
          chain = undefined;
        }
      }
      if (d1 <= 0 && chain) chain.push(x1, y1);
    }
  }
  if (chains.length) {
    // Along the cut line the ink covers alternate intervals between the sorted crossing points;
    // each interval runs from a chain's end to another chain's start.
    const along = (x: number, y: number) => -b * x + a * y;
    const ends = chains.flatMap((ch, i) => [
      { t: along(ch[0] as number, ch[1] as number), chain: i, start: true },
      { t: along(ch[ch.length - 2] as number, ch[ch.length - 1] as number), chain: i, start: false },
    ]);
    ends.sort((p, q) => p.t - q.t);
    const next = new Int32Array(chains.length).fill(-1);
    for (let k = 0; k + 1 < ends.length; k += 2) {
      const p = ends[k] as (typeof ends)[number], q = ends[k + 1] as (typeof ends)[number];
      if (p.start === q.start) return clipShape(shape, a, b, c); // not simple: fall back
      if (p.start) next[q.chain] = p.chain;
      else next[p.chain] = q.chain;
    }
    const used = new Uint8Array(chains.length);
    for (let i = 0; i < chains.length; i++) {
      if (used[i]) continue;
      const ring: Ring = [];
      for (let j = i; j >= 0 && !used[j]; j = next[j] as number) {
        used[j] = 1;
        for (const v of chains[j] as number[]) ring.push(v);
      }
      out.push(ring);
    }
  }
  return out.filter((q) => q.length >= 6 && Math.abs(signedArea(q)) > 0.3);
}

/**
 * Cuts a shape along a random line into two pieces that overlap by a hair (no visible seam),
 * so no element or subpath holds a whole glyph. `simple` promises non-crossing rings (traced
 * ink), which get clean closures; overlapping rings are clipped with bridges.
 */
export function cut(shape: Shape, simple = false): Shape[] {
  const [x0, y0, x1, y1] = bbox(shape);
  const mx = rand(x0 + 0.3 * (x1 - x0), x1 - 0.3 * (x1 - x0));
  const my = rand(y0 + 0.3 * (y1 - y0), y1 - 0.3 * (y1 - y0));
  const th = rand(0, Math.PI);
  const a = Math.cos(th), b = Math.sin(th), c = a * mx + b * my;
  const e = 0.7;
  const clip = simple ? clipSimple : clipShape;
  return [clip(shape, a, b, c + e), clip(shape, -a, -b, -c + e)].filter((s) => s.length > 0);
}

/** A stroke of roughly glyph-stroke thickness along a cubic (optionally wavy), as a positively wound filled ring. */
export function ribbon(x0: number, y0: number, x1: number, y1: number, bend: number, width: number, wave = 0): Ring {
  const dx = x1 - x0, dy = y1 - y0, len = Math.hypot(dx, dy);
  const nx = -dy / len, ny = dx / len;
  const b1 = bend * rand(-1, 1), b2 = bend * rand(-1, 1);
  const ax = x0 + dx / 3 + nx * b1, ay = y0 + dy / 3 + ny * b1;
  const bx = x0 + (2 * dx) / 3 + nx * b2, by = y0 + (2 * dy) / 3 + ny * b2;
  const steps = Math.max(3, Math.round(len / rand(4, 7)));
  const left: number[] = [], right: number[] = [];
  const w0 = width * rand(0.8, 1.15), w1 = width * rand(0.8, 1.15);
  const period = rand(36, 60), phase = rand(0, 2 * Math.PI);
  let lx = x0, ly = y0;
  for (let k = 0; k <= steps; k++) {
    const t = k / steps, u = 1 - t;
    const wv = wave * Math.sin((2 * Math.PI * t * len) / period + phase);
    const x = u * u * u * x0 + 3 * u * u * t * ax + 3 * u * t * t * bx + t * t * t * x1 + nx * wv;
    const y = u * u * u * y0 + 3 * u * u * t * ay + 3 * u * t * t * by + t * t * t * y1 + ny * wv;
    const tx = k === 0 ? ax - x0 : x - lx, ty = k === 0 ? ay - y0 : y - ly;
    const l = Math.hypot(tx, ty) || 1;
    const taper = Math.min(1, 0.45 + 2.5 * Math.min(t, u));
    const hw = ((w0 * u + w1 * t) / 2) * taper;
    left.push(x - (ty / l) * hw, y + (tx / l) * hw);
    right.push(x + (ty / l) * hw, y - (tx / l) * hw);
    lx = x;
    ly = y;
  }
  const ring: Ring = left;
  for (let i = right.length - 2; i >= 0; i -= 2) ring.push(right[i] as number, right[i + 1] as number);
  return signedArea(ring) < 0 ? reverse(ring) : ring;
}

export function reverse(r: Ring): Ring {
  const out: Ring = [];
  for (let i = r.length - 2; i >= 0; i -= 2) out.push(r[i] as number, r[i + 1] as number);
  return out;
}

/** Formats a coordinate with 1 or 2 decimals, minified the way SVG optimisers do ("-.5", "3"). */
function num(v: number, dec: number): string {
  const p = dec === 1 ? 10 : 100;
  let n = Math.round(v * p);
  if (n === 0) return "0";
  const neg = n < 0;
  if (neg) n = -n;
  const ip = Math.floor(n / p);
  let fp = n - ip * p;
  let s = ip === 0 ? "" : String(ip);
  if (fp) {
    let digits = dec;
    while (fp % 10 === 0) {
      fp /= 10;
      digits--;
    }
    s += "." + String(fp).padStart(digits, "0");
  }
  return neg ? "-" + s : s;
}

/** The value num(v, dec) writes, without parsing it back: the same double as Number(num(v, dec)). */
function rounded(v: number, dec: number): number {
  const p = dec === 1 ? 10 : 100;
  const n = Math.round(v * p);
  return n === 0 ? 0 : n / p;
}

/**
 * Encodes rings as path data: absolute and relative commands mixed at random, implicit
 * repeats, runs re-fitted as quadratic curves through the middle vertex, random rounding and
 * separators, optional Z. The same polygon never gives the same string or command sequence.
 */
export function encode(rings: Ring[]): string {
  let out = "";
  let cx = 0, cy = 0; // current point, as emitted
  let last = "";
  const decs = chance(0.5) ? [1, 1, 1, 2] : [1, 2, 2, 2];
  const n2 = (a: number, b: number, rel: boolean): [string, number, number] => {
    const da = decs[randInt(0, decs.length - 1)] as number;
    const db = decs[randInt(0, decs.length - 1)] as number;
    const va = rel ? a - cx : a, vb = rel ? b - cy : b;
    const sa = num(va, da), sb = num(vb, db);
    const na = rounded(va, da), nb = rounded(vb, db);
    return [sa + (sb.startsWith("-") || (sb.startsWith(".") && sa.includes(".")) ? "" : chance(0.5) ? " " : ",") + sb,
      rel ? cx + na : na, rel ? cy + nb : nb];
  };
  const emit = (cmd: string, body: string) => {
    if (cmd === last && chance(0.7) && cmd !== "M" && cmd !== "m") out += body.startsWith("-") ? body : " " + body;
    else out += cmd + (chance(0.15) ? " " : "") + body;
    last = cmd;
  };
  for (const r of rings) {
    const n = r.length / 2;
    const start = randInt(0, n - 1);
    const at = (k: number): [number, number] => {
      const i = ((start + k) % n) * 2;
      return [r[i] as number, r[i + 1] as number];
    };
    let [x, y] = at(0);
    const relM = out !== "" && chance(0.5);
    let [s, nx, ny] = n2(x, y, relM);
    emit(relM ? "m" : "M", s);
    cx = nx; cy = ny;
    const sx = cx, sy = cy;
    for (let k = 1; k < n; k++) {
      [x, y] = at(k);
      const rel = chance(0.5);
      if (k + 1 < n && chance(0.35)) {
        const [x2, y2] = at(k + 1);
        const ex = x - (cx + x2) / 2, ey = y - (cy + y2) / 2;
        if (ex * ex + ey * ey < 0.3) {
          const [c, , ] = n2(2 * x - (cx + x2) / 2, 2 * y - (cy + y2) / 2, rel);
          [s, nx, ny] = n2(x2, y2, rel);
          emit(rel ? "q" : "Q", c + (s.startsWith("-") ? "" : " ") + s);
          cx = nx; cy = ny;
          k++;
          continue;
        }
      }
      [s, nx, ny] = n2(x, y, rel);
      emit(rel ? "l" : "L", s);
      cx = nx; cy = ny;
    }
    if (chance(0.6)) {
      out += chance(0.5) ? "Z" : "z";
      last = "Z";
      cx = sx; cy = sy;
    }
  }
  return out;
}
