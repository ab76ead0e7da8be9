/**
 * Captcha drawing. svg-captcha's own output names each character by its path data (one <path>
 * per glyph from one font: its length, token count or command letters identify the glyph), so
 * public solvers read it without looking at pixels. This renderer keeps svg-captcha's glyph
 * outlines (its bundled font, via the opentype object it loads) but post-processes them so the
 * markup carries no per-character structure, and so a person reads the answer at first sight
 * at the size the page shows (240×80 CSS px):
 *
 * - glyphs are large (36-40 px cap height, digits scaled up to the letters' height) and stand
 *   apart, now and then just touching; each is flattened with a random number of segments,
 *   gently wobbled, scaled and sheared, and rotated 11-22° one way or the other;
 * - the glyphs sit on a zigzag, every other one high and the rest low. The zigzag and the
 *   rotations are what defeat line OCR (see the strength check) and cost a reader little;
 * - noise never looks like a character: two or three thin smooth arcs (1.3-1.8 px, a third of
 *   a letter stroke or less) that run right across the picture, and light speckle (specks
 *   about 1-2 px across). No glyph pieces, no strokes of letter thickness;
 * - the whole picture is rotated and warped non-linearly by moving the coordinates themselves
 *   (there is no transform attribute);
 * - letters and noise are merged into one ink outline (rasterised finely and traced back, see
 *   trace.ts), so an arc crossing a letter is part of the letter's ring and cannot be dropped by
 *   classifying subpaths;
 * - that outline is cut along random lines into 16-26 fragments, dealt out over 3-6 <path>
 *   elements with identical attributes, and re-encoded with random absolute/relative commands,
 *   curve re-fitting and rounding.
 *
 * `lib/captcha/strength/run.ts` measures what structure and OCR attackers get out of it;
 * `bench/panel/` renders PNGs at display size for a reading panel and scores the readings.
 */
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
  rand,
  randInt,
  ribbon,
  shuffle,
  solidify,
  subdivide,
} from "./warp";
import { rasterise, simplify, trace } from "./trace";

/** Display size in CSS pixels; the page shows the image at this size (or scaled down to fit). */
export const CAPTCHA_WIDTH = 240;
export const CAPTCHA_HEIGHT = 80;

function hsl(h: number, s: number, l: number): string {
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** Glyph height in px before rotation (cap height: letters and digits alike). */
const GLYPH_HEIGHT: [number, number] = [36, 40];

/**
 * One glyph at the given height, its shape varied: gentle wobble, stroke weight, scale, shear,
 * and a rotation of 11-22° to the side given (-1 or 1).
 */
function glyph(ch: string, height: number, side: number): Shape {
  const o = outline(ch);
  const solid = solidify(flatten(o, height / o.h));
  embolden(solid, rand(0.1, 0.5));
  const shape = subdivide(solid, rand(4, 6));
  const ax = rand(0.3, 0.8), ay = rand(0.3, 0.8), kx = rand(0.08, 0.16), ky = rand(0.08, 0.16);
  const px = rand(0, 6.3), py = rand(0, 6.3);
  const sx = rand(0.92, 1.08), sy = rand(0.94, 1.06), sh = rand(-0.12, 0.12);
  const th = side * rand(0.2, 0.38);
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

/** A speck: a small irregular closed polygon (positively wound, like every ring we draw). */
function speck(cx: number, cy: number, r: number): Ring {
  const n = randInt(5, 7), ring: Ring = [];
  const a0 = rand(0, Math.PI * 2), ex = rand(0.75, 1.3);
  for (let k = 0; k < n; k++) {
    const a = a0 + (k / n) * Math.PI * 2, rr = r * rand(0.8, 1.15);
    ring.push(cx + rr * ex * Math.cos(a), cy + (rr / ex) * Math.sin(a));
  }
  return ring;
}

/** Size of a fragment, for choosing which to cut next: its bounding box's longer side. */
function extent(shape: Shape): number {
  const [x0, y0, x1, y1] = bbox(shape);
  return Math.max(x1 - x0, y1 - y0);
}

/** Grid cells per pixel for the union (0.4 px cells: finer costs time and bytes, not looks). */
const RASTER_SCALE = 2.5;

/** Served size limit; output is ASCII, so length = bytes. */
const MAX_BYTES = 24_000;

/** Draws the given text as an SVG image. The text itself always comes from captchaText(). */
export function renderCaptcha(text: string): string {
  let svg = draw(text);
  for (let i = 0; i < 3 && svg.length > MAX_BYTES; i++) svg = draw(text);
  return svg;
}

/** The picture before the union: glyphs (in text order) and noise, in image coordinates. */
export interface Composition {
  glyphs: Shape[];
  noise: Shape[];
}

/**
 * Lays out, distorts and adds noise: everything but the union, cutting and encoding. Exported
 * for the tests, which check what a reader is shown (glyph size and placement, noise thinness);
 * the markup never tells glyphs from noise.
 */
export function compose(text: string): Composition {
  const W = CAPTCHA_WIDTH, H = CAPTCHA_HEIGHT;
  const height = rand(GLYPH_HEIGHT[0], GLYPH_HEIGHT[1]);
  const glyphs = [...text].map((ch) => glyph(ch, height * rand(0.95, 1.05), chance(0.5) ? 1 : -1));

  // Lay the glyphs out left to right, now and then just touching, on a zigzag: every other
  // glyph sits high, the others low, by a random amount up to 15 px.
  const boxes = glyphs.map(bbox);
  const widths = boxes.map(([x0, , x1]) => x1 - x0);
  const gaps = glyphs.map(() => rand(-1, 3));
  let total = widths.reduce((a, b) => a + b, 0) + gaps.slice(1).reduce((a, b) => a + b, 0);
  const squeeze = Math.min(1, (W - 16) / total);
  total *= squeeze;
  let x = (W - total) / 2 + rand(-3, 3);
  const first = chance(0.5) ? 1 : -1;
  glyphs.forEach((g, i) => {
    const [x0, y0, x1, y1] = boxes[i] as [number, number, number, number];
    if (i > 0) x += (gaps[i] as number) * squeeze;
    const room = Math.max(0, (H - 8 - (y1 - y0) * squeeze) / 2);
    const cy = H / 2 + (i % 2 ? -first : first) * rand(0.5, 1) * Math.min(room, 15);
    const ox = x - x0 * squeeze, oy = cy - ((y0 + y1) / 2) * squeeze;
    mapShape(g, (gx, gy, p) => ((p[0] = gx * squeeze + ox), (p[1] = gy * squeeze + oy)));
    x += (x1 - x0) * squeeze;
  });

  // Noise that cannot be taken for a character: thin smooth arcs right across the picture
  // (a third of a letter stroke or less) and light speckle.
  const noise: Shape[] = [];
  for (let i = randInt(2, 3); i > 0; i--) {
    const ya = rand(16, H - 16), yb = rand(16, H - 16);
    const xa = rand(-6, 20), xb = rand(W - 20, W + 6);
    noise.push(subdivide([ribbon(xa, ya, xb, yb, rand(10, 22), rand(1.3, 1.8), rand(0, 3))], 6));
  }
  for (let i = randInt(14, 24); i > 0; i--) noise.push([speck(rand(2, W - 2), rand(2, H - 2), rand(0.55, 0.9))]);

  // Whole-image distortion applied to the coordinates: slight rotation, a long slow wave.
  const th = rand(-0.025, 0.025), cos = Math.cos(th), sin = Math.sin(th);
  const ax = rand(0.8, 1.6), lx = rand(0.05, 0.09), fx = rand(0, 6.3);
  const ay = rand(2, 3.5), ly = rand(0.018, 0.03), fy = rand(0, 6.3);
  const warp = (x0: number, y0: number, p: number[]) => {
    const x = x0 - W / 2, y = y0 - H / 2;
    let u = x * cos - y * sin, v = x * sin + y * cos;
    u += ax * Math.sin(lx * v + fx);
    v += ay * Math.sin(ly * u + fy);
    p[0] = u + W / 2;
    p[1] = v + H / 2;
  };
  const pieces = [...glyphs, ...noise];
  for (const piece of pieces) mapShape(piece, warp);

  // The warp can push a glyph at the top or bottom of the zigzag over the edge: move (or, if
  // need be, shrink) the whole picture so every glyph stays 2 px inside.
  let gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
  for (const g of glyphs) {
    const [a, b, c, d] = bbox(g);
    gx0 = Math.min(gx0, a); gy0 = Math.min(gy0, b); gx1 = Math.max(gx1, c); gy1 = Math.max(gy1, d);
  }
  // A moved picture lands 2.5 px inside, so rounding can never leave it a hair short of 2.
  const fit = (lo: number, hi: number, size: number): [number, number] => {
    if (lo >= 2 && hi <= size - 2) return [1, 0];
    if (hi - lo > size - 5) return [(size - 5) / (hi - lo), 2.5 - (lo * (size - 5)) / (hi - lo)];
    return [1, lo < 2 ? 2.5 - lo : size - 2.5 - hi];
  };
  const [kx, dx] = fit(gx0, gx1, W), [ky, dy] = fit(gy0, gy1, H);
  if (kx !== 1 || dx !== 0 || ky !== 1 || dy !== 0) {
    for (const piece of pieces) mapShape(piece, (px, py, p) => ((p[0] = px * kx + dx), (p[1] = py * ky + dy)));
  }
  return { glyphs, noise };
}

function draw(text: string): string {
  const W = CAPTCHA_WIDTH, H = CAPTCHA_HEIGHT;
  const { glyphs, noise } = compose(text);
  const warped: Ring[] = [];
  for (const piece of glyphs) warped.push(...piece);
  for (const piece of noise) warped.push(...piece);

  // Union of letters and noise: rasterise finely and trace the ink outline back out, so an
  // arc crossing a letter becomes part of the letter's own ring.
  const ink = trace(rasterise(warped, W, H, RASTER_SCALE)).map((r) => simplify(r, rand(0.16, 0.26)));

  // Cut the ink along random lines into 16-26 fragments (each keeps its holes with it), and deal
  // the fragments out over 3-6 path elements with identical attributes.
  const fragments: Shape[] = [ink];
  const extents = [extent(ink)];
  const target = randInt(16, 26);
  while (fragments.length < target) {
    let big = 0;
    extents.forEach((e, i) => {
      if (e > (extents[big] as number)) big = i;
    });
    const halves = cut(fragments[big] as Shape, true);
    if (halves.length < 2) break;
    fragments.splice(big, 1, ...halves);
    extents.splice(big, 1, ...halves.map(extent));
  }
  const k = randInt(3, 6);
  const groups: Ring[][] = Array.from({ length: k }, () => []);
  shuffle(fragments).forEach((s, i) => (groups[i % k] as Ring[]).push(...s));
  // Dark ink on a pale ground: at most 24% lightness keeps every hue at 4.7:1 contrast or more.
  const fill = hsl(rand(0, 360), rand(0.5, 0.75), rand(0.16, 0.24));
  const bg = hsl(rand(0, 360), rand(0.2, 0.5), rand(0.95, 0.98));
  let body = "";
  for (const g of groups) if (g.length) body += `<path fill="${fill}" d="${encode(shuffle(g))}"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<rect width="100%" height="100%" fill="${bg}"/>${body}</svg>`
  );
}
