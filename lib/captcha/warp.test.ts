import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Ring, encode } from "./warp";

/** The on-curve points path data reaches, in absolute coordinates (M, L, Q, Z; either case). */
function endpoints(d: string): [number, number][] {
  const need: Record<string, number> = { m: 2, l: 2, q: 4, z: 0 };
  const out: [number, number][] = [];
  let cmd = "", args: number[] = [], x = 0, y = 0, sx = 0, sy = 0;
  for (const m of d.matchAll(/([MmLlQqZz])|(-?(?:\d+\.?\d*|\.\d+))/g)) {
    if (m[1]) {
      cmd = m[1];
      args = [];
      if (cmd === "Z" || cmd === "z") [x, y] = [sx, sy];
      continue;
    }
    args.push(Number(m[2]));
    const lower = cmd.toLowerCase();
    if (args.length < (need[lower] ?? 0)) continue;
    const rel = cmd === lower;
    const [ex, ey] = lower === "q" ? [args[2]!, args[3]!] : [args[0]!, args[1]!];
    x = (rel ? x : 0) + ex;
    y = (rel ? y : 0) + ey;
    if (lower === "m") [sx, sy, cmd] = [x, y, rel ? "l" : "L"];
    out.push([x, y]);
    args = [];
  }
  return out;
}

/** A wobbly closed ring of n vertices round (cx, cy). */
function wobbly(n: number, cx: number, cy: number): Ring {
  const ring: Ring = [];
  for (let k = 0; k < n; k++) {
    const a = (k / n) * 2 * Math.PI, r = 20 + 3 * Math.sin(7 * a) + Math.random();
    ring.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  return ring;
}

describe("encoding rings as path data", () => {
  it("puts every point it writes within rounding of a vertex, with no drift along relative runs", () => {
    for (let round = 0; round < 30; round++) {
      const rings = [wobbly(400, 60, 40), wobbly(250, 170, 40)];
      const points = endpoints(encode(rings));
      // Quadratic re-fits skip the middle vertex, so at least half of the vertices are reached.
      assert.ok(points.length >= 325, `${points.length} points`);
      for (const [x, y] of points) {
        let best = Infinity;
        for (const r of rings) {
          for (let i = 0; i < r.length; i += 2) best = Math.min(best, Math.hypot(x - r[i]!, y - r[i + 1]!));
        }
        // One decimal at worst: 0.05 in each coordinate.
        assert.ok(best <= 0.0708, `a point ${best.toFixed(3)} from the nearest vertex`);
      }
    }
  });
});
