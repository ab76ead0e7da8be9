/**
 * Union of everything drawn, by rasterising the rings (nonzero rule) on a fine grid and tracing
 * the ink boundary back out (marching squares, then Douglas–Peucker). After this a noise stroke
 * that crosses a letter is the same ring as the letter: no subpath belongs to noise alone, so an
 * attacker cannot drop the noise by classifying rings. The markup describes the ink, nothing more.
 */
import type { Ring } from "./warp";

export interface Mask {
  /** Samples per row and rows, padding included. */
  gw: number;
  gh: number;
  scale: number;
  /** Row r's samples start at r·stride: gw rounded up to a multiple of 4, so rows are word-aligned. */
  stride: number;
  /** 1 for ink, row by row; the columns from gw to the stride stay 0. */
  m: Uint8Array;
  /** 1 for a row with any ink. */
  inked: Uint8Array;
}

/**
 * Samples the rings at cell centres on a grid of `scale` cells per pixel, one empty cell of
 * padding all round (so every traced contour closes). Ink outside the canvas is dropped.
 */
export function rasterise(rings: Ring[], w: number, h: number, scale: number): Mask {
  const gw = Math.ceil(w * scale) + 2, gh = Math.ceil(h * scale) + 2;
  const stride = (gw + 3) & ~3;
  const m = new Uint8Array(stride * gh), inked = new Uint8Array(gh);
  // Row r samples y = r - 0.5 (grid units); an edge spanning [ya, yb) covers rows
  // ceil(ya + 0.5) .. ceil(yb + 0.5) - 1. Bucket the crossings by row (counting sort).
  const count = new Int32Array(gh + 1);
  const each = (fn: (xa: number, ya: number, xb: number, yb: number, r0: number, r1: number) => void) => {
    for (const r of rings) {
      const len = r.length;
      for (let i = 0; i < len; i += 2) {
        const j = i + 2 === len ? 0 : i + 2;
        const xa = (r[i] as number) * scale, ya = (r[i + 1] as number) * scale;
        const xb = (r[j] as number) * scale, yb = (r[j + 1] as number) * scale;
        if (ya === yb) continue;
        const lo = Math.min(ya, yb), hi = Math.max(ya, yb);
        const r0 = Math.max(1, Math.ceil(lo + 0.5)), r1 = Math.min(gh - 2, Math.ceil(hi + 0.5) - 1);
        if (r0 <= r1) fn(xa, ya, xb, yb, r0, r1);
      }
    }
  };
  each((_xa, _ya, _xb, _yb, r0, r1) => {
    for (let row = r0; row <= r1; row++) (count[row + 1] as number)++;
  });
  for (let row = 1; row <= gh; row++) count[row] = (count[row] as number) + (count[row - 1] as number);
  const total = count[gh] as number;
  const xs = new Float64Array(total), ds = new Int8Array(total), fillAt = count.slice();
  each((xa, ya, xb, yb, r0, r1) => {
    const slope = (xb - xa) / (yb - ya), dir = yb > ya ? 1 : -1;
    for (let row = r0; row <= r1; row++) {
      const k = (fillAt[row] as number)++;
      xs[k] = xa + (row - 0.5 - ya) * slope;
      ds[k] = dir;
    }
  });
  for (let row = 1; row < gh - 1; row++) {
    const k0 = count[row] as number, k1 = count[row + 1] as number;
    if (k1 - k0 < 2) continue;
    // Insertion sort of this row's crossings by x (rows hold a few dozen at most).
    for (let a = k0 + 1; a < k1; a++) {
      const x = xs[a] as number, d = ds[a] as number;
      let b = a - 1;
      while (b >= k0 && (xs[b] as number) > x) {
        xs[b + 1] = xs[b] as number;
        ds[b + 1] = ds[b] as number;
        b--;
      }
      xs[b + 1] = x;
      ds[b + 1] = d;
    }
    let wind = 0;
    for (let t = k0; t < k1 - 1; t++) {
      wind += ds[t] as number;
      if (wind === 0) continue;
      // Cells whose centre (col - 0.5) lies in [xa, xb).
      const c0 = Math.max(1, Math.ceil((xs[t] as number) + 0.5));
      const c1 = Math.min(gw - 2, Math.ceil((xs[t + 1] as number) + 0.5) - 1);
      if (c0 > c1) continue;
      m.fill(1, row * stride + c0, row * stride + c1 + 1);
      inked[row] = 1;
    }
  }
  return { gw, gh, scale, stride, m, inked };
}

/**
 * Marching-squares segments per cell code (bit 0 top-left, 1 top-right, 2 bottom-right,
 * 3 bottom-left), as (entry edge, exit edge) pairs; edges 0..3 = top, right, bottom, left.
 * Going clockwise round the cell (corner q sits between edges q-1 and q), an edge crossed from
 * paper into ink is an entry and joins the next exit clockwise, so the ink is on the left.
 */
const SEGMENTS: number[][] = Array.from({ length: 16 }, (_, code) => {
  const corner = (q: number) => (code >> (q % 4)) & 1;
  const pairs: number[] = [];
  for (let q = 0; q < 4; q++) {
    if (corner(q + 3) === 0 && corner(q) === 1) {
      for (let t = 0; t < 4; t++) {
        if (corner(q + t) === 1 && corner(q + t + 1) === 0) {
          pairs.push((q + 3) % 4, (q + t) % 4);
          break;
        }
      }
    }
  }
  return pairs;
});

/** Boundary links, reused between calls (tracing consumes every link, leaving it all zero). */
let links = new Int32Array(0);

/**
 * Marching squares over the mask. Every boundary segment runs with the ink on its left, so
 * outlines and holes come out with opposite windings and fill correctly under the nonzero rule.
 * Diagonal-only contacts are kept apart. Points are edge midpoints, in pixel coordinates.
 */
export function trace(mask: Mask): Ring[] {
  const { gw, gh, scale, stride, m, inked } = mask;
  // Boundary points live on grid edges: key 2·(j·stride + i) for the edge from sample (i,j) to
  // (i+1,j), 2·(j·stride + i) + 1 for the edge from (i,j) to (i,j+1).
  // next[key] = following boundary point + 1 (0: none); starts lists every key that was set.
  if (links.length < 2 * stride * gh) links = new Int32Array(2 * stride * gh);
  const next = links;
  const starts: number[] = [];
  // Cell edges 0..3 = top, right, bottom, left.
  const edgeKey = (e: number, i: number, j: number) =>
    e === 0 ? 2 * (j * stride + i) : e === 1 ? 2 * (j * stride + i + 1) + 1 : e === 2 ? 2 * ((j + 1) * stride + i) : 2 * (j * stride + i) + 1;
  // Four samples at a time: most of the picture is paper, or ink well inside a stroke.
  const words = new Uint32Array(m.buffer, m.byteOffset, (stride * gh) >> 2);
  const ALL_INK = 0x01010101;
  for (let j = 0; j < gh - 1; j++) {
    // Rows with no ink at all (the padding, the margins) are skipped in pairs.
    if (!inked[j] && !inked[j + 1]) continue;
    const row = j * stride, below = row + stride;
    // Sliding 2×2 window: the left column's samples carry over from the previous cell.
    let tl = m[row] as number, bl = m[below] as number;
    for (let i = 0; i < gw - 1; i++) {
      // Cells i..i+3 all alike (all paper or all ink) when columns i..i+4 of both rows hold
      // the same sample: skip them, the window's left column stays what it was.
      while ((i & 3) === 0 && i + 4 < gw && tl === bl) {
        const word = words[(row + i) >> 2] as number;
        if (word !== words[(below + i) >> 2] || word !== (tl ? ALL_INK : 0) || m[row + i + 4] !== tl || m[below + i + 4] !== tl) break;
        i += 4;
      }
      if (i >= gw - 1) break;
      const tr = m[row + i + 1] as number, br = m[below + i + 1] as number;
      const code = tl | (tr << 1) | (br << 2) | (bl << 3);
      tl = tr;
      bl = br;
      if (code === 0 || code === 15) continue;
      const pairs = SEGMENTS[code] as number[];
      for (let s = 0; s < pairs.length; s += 2) {
        const from = edgeKey(pairs[s] as number, i, j);
        next[from] = edgeKey(pairs[s + 1] as number, i, j) + 1;
        starts.push(from);
      }
    }
  }
  const rings: Ring[] = [];
  const half = 0.5 / scale;
  for (const k of starts) {
    if (next[k] === 0) continue;
    const ring: Ring = [];
    let cur = k;
    // Points in half grid units (exact integers); a point that carries on in the direction of
    // the last step replaces the previous one, so straight runs keep only their ends.
    let px = NaN, py = NaN, dx = NaN, dy = NaN;
    while (next[cur] !== 0) {
      // Sample (i,j) sits at pixel ((i - 1 + 0.5) / scale, (j - 1 + 0.5) / scale); the point is
      // the midpoint of the edge from it to the right (even key) or downwards (odd key).
      const cell = cur >> 1, i = cell % stride, j = (cell - i) / stride;
      const odd = cur & 1;
      const hx = 2 * i - 1 + (odd ? 0 : 1), hy = 2 * j - 1 + (odd ? 1 : 0);
      const sx = hx - px, sy = hy - py;
      if (sx === dx && sy === dy) {
        ring[ring.length - 2] = hx * half;
        ring[ring.length - 1] = hy * half;
      } else {
        ring.push(hx * half, hy * half);
        dx = sx;
        dy = sy;
      }
      px = hx;
      py = hy;
      const nx = (next[cur] as number) - 1;
      next[cur] = 0;
      cur = nx;
    }
    // Outlines wind negative (ink on the left), holes positive; holes under 2.5 px² are dropped.
    const area = signedAreaOf(ring);
    if (ring.length >= 6 && (area < 0 || area >= 2.5)) rings.push(ring);
  }
  for (const k of starts) next[k] = 0; // already zero when every contour closed; cheap insurance
  return rings;
}

function signedAreaOf(r: Ring): number {
  let a = 0;
  for (let i = 0; i < r.length; i += 2) {
    const j = (i + 2) % r.length;
    a += (r[i] as number) * (r[j + 1] as number) - (r[j] as number) * (r[i + 1] as number);
  }
  return a / 2;
}

function dpRun(r: Ring, first: number, last: number, tol2: number, keep: Uint8Array): void {
  // Iterative Douglas–Peucker between vertex indices first and last (last may wrap).
  const n = r.length / 2;
  const stack = [first, last];
  while (stack.length) {
    const hi = stack.pop() as number, lo = stack.pop() as number;
    const ax = r[2 * (lo % n)] as number, ay = r[2 * (lo % n) + 1] as number;
    const bx = r[2 * (hi % n)] as number, by = r[2 * (hi % n) + 1] as number;
    const dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy || 1e-12;
    let best = -1, far = 0;
    // lo + 1 .. hi - 1 never wrap (only hi can be n).
    for (let k = lo + 1; k < hi; k++) {
      const px = (r[2 * k] as number) - ax, py = (r[2 * k + 1] as number) - ay;
      const cross = px * dy - py * dx;
      const d2 = (cross * cross) / l2;
      if (d2 > far) {
        far = d2;
        best = k;
      }
    }
    if (best >= 0 && far > tol2) {
      keep[best % n] = 1;
      stack.push(lo, best, best, hi);
    }
  }
}

/** Douglas–Peucker on a closed ring, split at vertex 0 and the vertex farthest from it. */
export function simplify(r: Ring, tol: number): Ring {
  const n = r.length / 2;
  if (n < 8) return r;
  let far = 0, fi = 0;
  for (let k = 1; k < n; k++) {
    const d = ((r[2 * k] as number) - (r[0] as number)) ** 2 + ((r[2 * k + 1] as number) - (r[1] as number)) ** 2;
    if (d > far) {
      far = d;
      fi = k;
    }
  }
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[fi] = 1;
  dpRun(r, 0, fi, tol * tol, keep);
  dpRun(r, fi, n, tol * tol, keep);
  const out: Ring = [];
  for (let k = 0; k < n; k++) if (keep[k]) out.push(r[2 * k] as number, r[2 * k + 1] as number);
  return out.length >= 6 ? out : r;
}
