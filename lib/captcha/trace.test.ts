import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Mask, rasterise, simplify, trace } from "./trace";
import { type Ring, cut, reverse, signedArea } from "./warp";

const W = 240, H = 80, SCALE = 2.5;

/** A rectangle of the given size, turned by `angle` about its centre, wound positively. */
function box(cx: number, cy: number, w: number, h: number, angle: number): Ring {
  const c = Math.cos(angle), s = Math.sin(angle);
  const ring: Ring = [];
  for (const [x, y] of [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]] as const) {
    ring.push(cx + x * c - y * s, cy + x * s + y * c);
  }
  return signedArea(ring) < 0 ? reverse(ring) : ring;
}

/** Differing samples of two masks of the same grid (padding columns included, stride excluded). */
function differences(a: Mask, b: Mask): number {
  assert.equal(a.gw, b.gw);
  assert.equal(a.gh, b.gh);
  let n = 0;
  for (let j = 0; j < a.gh; j++) {
    for (let i = 0; i < a.gw; i++) if (a.m[j * a.stride + i] !== b.m[j * b.stride + i]) n++;
  }
  return n;
}

/** Boxes in random places, sizes and angles, one per sixth of the canvas (neighbours may touch). */
function scene(seed: number): Ring[] {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rings: Ring[] = [];
  // One column of the canvas per shape: 6 columns of 40 px.
  for (let k = 0; k < 6; k++) {
    const w = 4 + random() * 30, h = 4 + random() * 60;
    rings.push(box(20 + 40 * k + (random() - 0.5) * 4, 40 + (random() - 0.5) * 8, w, h, random() * Math.PI));
  }
  return rings;
}

describe("rasterise and trace", () => {
  it("traces an outline that rasterises back to the very same samples", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const mask = rasterise(scene(seed), W, H, SCALE);
      const rings = trace(mask);
      assert.ok(rings.length >= 1, `seed ${seed}: no ring`);
      assert.equal(differences(rasterise(rings, W, H, SCALE), mask), 0, `seed ${seed}`);
    }
  });

  it("keeps a large hole, wound against its outline, and skips across solid ink and paper", () => {
    // A slab across nearly the whole picture with a window cut out: long runs of ink and of
    // paper in every row, on both sides of the window.
    const outer = box(W / 2, H / 2, W - 10, H - 10, 0);
    const hole = reverse(box(W / 2 + 3.3, H / 2, 61.7, 30.1, 0));
    const mask = rasterise([outer, hole], W, H, SCALE);
    const rings = trace(mask);
    assert.equal(rings.length, 2);
    const areas = rings.map(signedArea).sort((a, b) => a - b);
    // Outlines wind negative, holes positive; sizes within a sample's width all round.
    assert.ok(Math.abs(areas[0]! + (W - 10) * (H - 10)) < 2 * (W + H) * 0.4, `outline ${areas[0]}`);
    assert.ok(Math.abs(areas[1]! - 61.7 * 30.1) < 2 * (62 + 30) * 0.4, `hole ${areas[1]}`);
    assert.equal(differences(rasterise(rings, W, H, SCALE), mask), 0);
    // Rows outside the slab have no ink; the mask says so.
    assert.equal(mask.inked[1], 0);
    assert.equal(mask.inked[Math.round(H * SCALE / 2)], 1);
  });

  it("reuses its buffers: tracing twice gives the same rings", () => {
    const mask = rasterise(scene(7), W, H, SCALE);
    assert.deepEqual(trace(mask), trace(mask));
  });

  it("simplifies within the tolerance and keeps every ring closed", () => {
    const rings = trace(rasterise(scene(3), W, H, SCALE));
    for (const r of rings) {
      const s = simplify(r, 0.25);
      assert.ok(s.length >= 6 && s.length <= r.length);
      assert.ok(Math.abs(signedArea(s) - signedArea(r)) < 0.25 * 2 * r.length, "area kept");
    }
  });
});

describe("cutting traced ink", () => {
  it("splits it along a line into two smaller pieces that together cover exactly the ink", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const mask = rasterise(scene(seed), W, H, SCALE);
      const ink = trace(mask);
      const whole = ink.reduce((a, r) => a + signedArea(r), 0);
      const pieces = cut(ink, true);
      assert.equal(pieces.length, 2, `seed ${seed}`);
      // Traced outlines wind negative; each piece is a part of the ink, not all of it.
      for (const piece of pieces) {
        const area = piece.reduce((a, r) => a + signedArea(r), 0);
        assert.ok(area < 0 && area > whole, `seed ${seed}: ${area} against ${whole}`);
      }
      // Drawn together (they overlap by a hair along the cut), they cover the same samples.
      assert.equal(differences(rasterise([...pieces[0]!, ...pieces[1]!], W, H, SCALE), mask), 0, `seed ${seed}`);
    }
  });
});
