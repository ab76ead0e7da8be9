/**
 * Captcha drawing. svg-captcha's own output names each character by its path data (one <path>
 * per glyph from one font: its length, token count or command letters identify the glyph), so
 * public solvers read it without looking at pixels. This renderer keeps svg-captcha's glyph
 * outlines (its bundled font, via the opentype object it loads) but post-processes them so the
 * markup carries no per-character structure:
 *
 * - each glyph is flattened with a random number of segments, thinned, wobbled, scaled,
 *   sheared and rotated on its own, so no two captchas draw a letter alike;
 * - noise is drawn with the same fill as the letters: a stroke of about letter thickness across
 *   three or four letters, short strokes and shards of other glyphs in the margins, blobs;
 * - the whole picture is rotated, sheared and warped non-linearly by moving the coordinates
 *   themselves (there is no transform attribute);
 * - letters and noise are merged into one ink outline (rasterised finely and traced back, see
 *   trace.ts), so noise crossing a letter is part of the letter's ring and cannot be dropped by
 *   classifying subpaths;
 * - that outline is cut along random lines into 14-24 fragments, dealt out over 3-6 <path>
 *   elements with identical attributes, and re-encoded with random absolute/relative commands,
 *   curve re-fitting and rounding.
 *
 * `lib/captcha/strength/run.ts` measures what structure and OCR attackers get out of it.
 */
import { CAPTCHA_ALPHABET } from "./text";
import {
  type Ring,
  type Shape,
  bbox,
  chance,
  cut,
  embolden,
  encode,
  flatten,
  mapShape,
  outline,
  OUTLINE_SIZE,
  rand,
  randInt,
  ribbon,
  shuffle,
  solidify,
  subdivide,
} from "./warp";
import { rasterise, simplify, trace } from "./trace";

export const CAPTCHA_WIDTH = 180;
export const CAPTCHA_HEIGHT = 60;

/** Letter strokes come out roughly 3.5-5 px thick (Comismsh at ~61 px, thinned); noise strokes are close. */
const stroke = () => rand(3, 4.2);
const NOISE_CHARS = CAPTCHA_ALPHABET + "BGSUVZ258";

function hsl(h: number, s: number, l: number): string {
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** One glyph, its shape varied: local wobble, stroke weight, scale, shear, rotation. */
function glyph(ch: string, size: number): Shape {
  const o = outline(ch);
  const solid = solidify(flatten(o, size / OUTLINE_SIZE));
  embolden(solid, rand(-0.7, -0.1));
  const shape = subdivide(solid, rand(4, 7));
  const ax = rand(0.6, 1.4), ay = rand(0.6, 1.4), kx = rand(0.15, 0.35), ky = rand(0.15, 0.35);
  const px = rand(0, 6.3), py = rand(0, 6.3);
  const sx = rand(0.85, 1.12), sy = rand(0.9, 1.1), sh = rand(-0.08, 0.08), th = rand(-0.08, 0.08);
  const cos = Math.cos(th), sin = Math.sin(th);
  mapShape(shape, (x, y, p) => {
    const wx = (x + ax * Math.sin(ky * y + px)) * sx;
    const wy = (y + ay * Math.sin(kx * x + py)) * sy;
    const hx = wx + sh * wy;
    p[0] = hx * cos - wy * sin;
    p[1] = hx * sin + wy * cos;
  });
  return shape;
}

/** A small piece of some other glyph at letter size and thickness: glyph-like clutter. */
function shard(): Shape {
  const ch = NOISE_CHARS[randInt(0, NOISE_CHARS.length - 1)] as string;
  let piece = glyph(ch, rand(56, 64));
  for (let i = 0; i < 4; i++) {
    const [x0, y0, x1, y1] = bbox(piece);
    if (x1 - x0 <= 16 && y1 - y0 <= 12) break;
    const pieces = cut(piece);
    piece = pieces[randInt(0, pieces.length - 1)] ?? piece;
  }
  return piece;
}

/** A small irregular closed blob (positively wound, like every ring we draw). */
function blob(cx: number, cy: number, r: number): Ring {
  const n = randInt(5, 8), ring: Ring = [];
  const a0 = rand(0, Math.PI * 2), ex = rand(0.7, 1.4);
  for (let k = 0; k < n; k++) {
    const a = a0 + (k / n) * Math.PI * 2, rr = r * rand(0.75, 1.2);
    ring.push(cx + rr * ex * Math.cos(a), cy + (rr / ex) * Math.sin(a));
  }
  return ring;
}

/** Size of a fragment, for choosing which to cut next: its bounding box's longer side. */
function extent(shape: Shape): number {
  const [x0, y0, x1, y1] = bbox(shape);
  return Math.max(x1 - x0, y1 - y0);
}

function translate(shape: Shape, dx: number, dy: number): void {
  mapShape(shape, (x, y, p) => {
    p[0] = x + dx;
    p[1] = y + dy;
  });
}

/** Served size limit; output is ASCII, so length = bytes. Typical output is 6-16 KB. */
const MAX_BYTES = 24_000;

/** Draws the given text as an SVG image. The text itself always comes from captchaText(). */
export function renderCaptcha(text: string): string {
  let svg = draw(text);
  // Never seen to happen (largest of 20,000 was 16 KB), but the size limit is a promise.
  for (let i = 0; i < 3 && svg.length > MAX_BYTES; i++) svg = draw(text);
  return svg;
}

function draw(text: string): string {
  const W = CAPTCHA_WIDTH, H = CAPTCHA_HEIGHT;
  const size = rand(58, 64);
  const glyphs = [...text].map((ch) => glyph(ch, size));

  // Lay the glyphs out left to right, close enough to touch now and then, baselines jittered.
  const boxes = glyphs.map(bbox);
  const widths = boxes.map(([x0, , x1]) => x1 - x0);
  const gaps = glyphs.map(() => rand(-1.5, 2));
  let total = widths.reduce((a, b) => a + b, 0) + gaps.slice(1).reduce((a, b) => a + b, 0);
  const squeeze = Math.min(1, (W - 14) / total);
  total *= squeeze;
  let x = (W - total) / 2 + rand(-4, 4);
  const pieces: Shape[] = [];
  glyphs.forEach((g, i) => {
    const [x0, y0, x1, y1] = boxes[i] as [number, number, number, number];
    if (squeeze < 1) mapShape(g, (gx, gy, p) => ((p[0] = gx * squeeze), (p[1] = gy)));
    if (i > 0) x += (gaps[i] as number) * squeeze;
    translate(g, x - x0 * squeeze, H / 2 - (y0 + y1) / 2 + rand(-3, 3));
    x += (x1 - x0) * squeeze;
    pieces.push(g);
  });

  // Noise drawn exactly like the letters: strokes of letter thickness, glyph shards.
  const noise: Shape[] = [];
  const lines = chance(0.85) ? 1 : 2;
  for (let i = 0; i < lines; i++) {
    // Slanted across three or four letters, so it does not read as the crossbar of an A, E or H.
    const [ya, yb] = chance(0.5) ? [rand(12, 22), rand(38, 48)] : [rand(38, 48), rand(12, 22)];
    const span = rand(0.6, 0.8) * W, xa = rand(-4, W + 4 - span);
    const r = ribbon(xa, ya, xa + span, yb, 10, stroke(), rand(0, 1.5));
    noise.push(subdivide([r], 6));
  }
  // Short strokes, mostly in the margins above and below the text.
  for (let i = randInt(1, 3); i > 0; i--) {
    const len = rand(6, 12), a = rand(0, Math.PI * 2);
    const cx = rand(8, W - 8), cy = chance(0.5) ? rand(2, 8) : rand(H - 8, H - 2);
    noise.push([ribbon(cx, cy, cx + len * Math.cos(a), cy + len * Math.sin(a) * 0.5, 4, stroke())]);
  }
  for (let i = randInt(2, 3); i > 0; i--) {
    const s = shard();
    if (!s.length) continue;
    const [x0, y0, x1, y1] = bbox(s);
    const top = chance(0.5);
    translate(s, rand(4, W - 4) - (x0 + x1) / 2, top ? rand(-4, 1) - y0 : rand(H - 1, H + 4) - y1);
    noise.push(s);
  }
  // Blobs about a stroke wide among the letters: easy to look past, but they stick to letters.
  for (let i = randInt(5, 9); i > 0; i--) noise.push([blob(rand(6, W - 6), rand(14, H - 14), rand(1.8, 2.8))]);
  pieces.push(...noise);

  // Whole-image distortion applied to the coordinates: rotation, shear, smooth non-linear warp.
  const th = rand(-0.06, 0.06), cos = Math.cos(th), sin = Math.sin(th), sk = rand(-0.1, 0.1);
  const ax = rand(1, 2.2), lx = rand(0.12, 0.25), fx = rand(0, 6.3);
  const ay = rand(1.5, 3), ly = rand(0.035, 0.07), fy = rand(0, 6.3);
  const by = rand(0.5, 1.5), my = rand(0.12, 0.2), gy = rand(0, 6.3);
  const warp = (x0: number, y0: number, p: number[]) => {
    const x = x0 - W / 2, y = y0 - H / 2;
    let u = x * cos - y * sin + sk * y, v = x * sin + y * cos;
    u += ax * Math.sin(lx * v + fx);
    v += ay * Math.sin(ly * u + fy) + by * Math.sin(my * u + gy);
    p[0] = u + W / 2;
    p[1] = v + H / 2;
  };
  const warped: Ring[] = [];
  for (const piece of pieces) {
    const s = subdivide(piece, 5);
    mapShape(s, warp);
    warped.push(...s);
  }

  // Union of letters and noise: rasterise finely and trace the ink outline back out, so a
  // stroke crossing a letter becomes part of the letter's own ring.
  const ink = trace(rasterise(warped, W, H, 3)).map((r) => simplify(r, rand(0.12, 0.22)));

  // Cut the ink along random lines into 14-24 fragments (each keeps its holes with it), and deal
  // the fragments out over 3-6 path elements with identical attributes.
  const fragments: Shape[] = [ink];
  const target = randInt(14, 24);
  while (fragments.length < target) {
    let big = 0;
    fragments.forEach((f, i) => {
      if (extent(f) > extent(fragments[big] as Shape)) big = i;
    });
    const halves = cut(fragments[big] as Shape, true);
    if (halves.length < 2) break;
    fragments.splice(big, 1, ...halves);
  }
  const k = randInt(3, 6);
  const groups: Ring[][] = Array.from({ length: k }, () => []);
  shuffle(fragments).forEach((s, i) => (groups[i % k] as Ring[]).push(...s));
  const fill = hsl(rand(0, 360), rand(0.45, 0.75), rand(0.25, 0.4));
  const bg = hsl(rand(0, 360), rand(0.2, 0.5), rand(0.94, 0.97));
  let body = "";
  for (const g of groups) if (g.length) body += `<path fill="${fill}" d="${encode(shuffle(g))}"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<rect width="100%" height="100%" fill="${bg}"/>${body}</svg>`
  );
}
