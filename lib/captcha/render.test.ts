import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH, compose, renderCaptcha } from "./render";
import { renderBaselineCaptcha } from "../../testing/captcha-strength/baseline";
import { StructureAttacker } from "../../testing/captcha-strength/structure";
import { pathElements, subpathUnits } from "../../testing/captcha-strength/svgpath";
import { CAPTCHA_LENGTH, captchaText } from "./text";
import { type Shape, bbox, signedArea } from "./warp";

const MAX_BYTES = 24_000;

/** Mean stroke thickness of a filled shape: twice its (net) area over its outline's length. */
function thickness(shape: Shape): number {
  let area = 0, perimeter = 0;
  for (const r of shape) {
    area += signedArea(r);
    for (let i = 0; i < r.length; i += 2) {
      const j = (i + 2) % r.length;
      perimeter += Math.hypot((r[j] as number) - (r[i] as number), (r[j + 1] as number) - (r[i + 1] as number));
    }
  }
  return (2 * Math.abs(area)) / perimeter;
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe("renderCaptcha", () => {
  it("is an SVG of the advertised size that a real renderer accepts", () => {
    for (let i = 0; i < 20; i++) {
      const svg = renderCaptcha(captchaText());
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*>.*<\/svg>$/s);
      assert.match(svg, new RegExp(`^<svg[^>]* width="${CAPTCHA_WIDTH}" height="${CAPTCHA_HEIGHT}"`));
      assert.match(svg, new RegExp(`viewBox="0 0 ${CAPTCHA_WIDTH} ${CAPTCHA_HEIGHT}"`));
      // Only the elements we mean to emit, each closed.
      assert.deepEqual(
        [...new Set([...svg.matchAll(/<(\/?)(\w+)/g)].map((m) => m[2]))].sort(),
        ["path", "rect", "svg"],
      );
      assert.equal((svg.match(/<path /g) ?? []).length, (svg.match(/"\/>/g) ?? []).length - 1);
      const img = new Resvg(svg).render();
      assert.equal(img.width, CAPTCHA_WIDTH);
      assert.equal(img.height, CAPTCHA_HEIGHT);
    }
  });

  it("has no transform attributes and no per-element styling that could tell noise from letters", () => {
    for (let i = 0; i < 50; i++) {
      const svg = renderCaptcha(captchaText());
      assert.doesNotMatch(svg, /transform/i);
      const attrs = new Set(pathElements(svg).map((p) => p.attrs));
      assert.equal(attrs.size, 1, "every <path> carries the same attributes");
    }
  });

  it("draws dark ink on a pale ground, at least 4.5:1 contrast", () => {
    let worst = Infinity;
    for (let i = 0; i < 500; i++) {
      const svg = renderCaptcha(captchaText());
      const bg = /<rect [^>]*fill="(#[0-9a-f]{6})"/.exec(svg)?.[1];
      const ink = /<path fill="(#[0-9a-f]{6})"/.exec(svg)?.[1];
      assert.ok(bg && ink, "background and ink colours are plain #rrggbb");
      worst = Math.min(worst, contrast(bg, ink));
    }
    assert.ok(worst >= 4.5, `contrast down to ${worst.toFixed(2)}:1`);
  });

  it("draws large glyphs in reading order, well apart and wholly inside the image", () => {
    for (let i = 0; i < 300; i++) {
      const { glyphs } = compose(captchaText());
      assert.equal(glyphs.length, CAPTCHA_LENGTH);
      let last = -Infinity;
      for (const g of glyphs) {
        const [x0, y0, x1, y1] = bbox(g);
        // Cap height 36-40 px before rotation (measured: at least 30 px tall after it).
        assert.ok(y1 - y0 >= 28, `glyph only ${(y1 - y0).toFixed(1)} px tall`);
        assert.ok(x0 >= 2 && y0 >= 2 && x1 <= CAPTCHA_WIDTH - 2 && y1 <= CAPTCHA_HEIGHT - 2, "glyph cut off by the edge");
        const cx = (x0 + x1) / 2;
        // Centres at least ~22 px apart (measured): no glyph sits on top of another.
        assert.ok(cx - last >= 18, `glyph centres ${(cx - last).toFixed(1)} px apart`);
        last = cx;
      }
    }
  });

  it("draws noise that cannot be taken for a character: thin long arcs and tiny specks", () => {
    for (let i = 0; i < 300; i++) {
      const { glyphs, noise } = compose(captchaText());
      const thinnestGlyph = Math.min(...glyphs.map(thickness));
      assert.ok(thinnestGlyph >= 3.5, `a glyph's strokes average ${thinnestGlyph.toFixed(2)} px`);
      for (const n of noise) {
        // Letter strokes average 4-6 px; noise is at most ~1.8 px, under half the thinnest glyph.
        assert.ok(thickness(n) <= 0.5 * thinnestGlyph, `noise ${thickness(n).toFixed(2)} px thick`);
        const [x0, , x1] = bbox(n);
        const area = Math.abs(n.reduce((a, r) => a + signedArea(r), 0));
        // Either an arc across most of the picture or a speck of a few px²: nothing glyph-sized.
        assert.ok(x1 - x0 >= 0.75 * CAPTCHA_WIDTH || area <= 4, `noise ${(x1 - x0).toFixed(0)} px wide, ${area.toFixed(1)} px²`);
      }
    }
  });

  it("does not draw one path per glyph: fragments are spread over shared elements", () => {
    let elements = 0, narrow = 0;
    for (let i = 0; i < 100; i++) {
      const svg = renderCaptcha(captchaText());
      const paths = pathElements(svg);
      const subpaths = paths.flatMap(subpathUnits);
      // Each glyph is cut into at least two fragments, plus noise: far more subpaths than letters.
      assert.ok(subpaths.length >= 3 * CAPTCHA_LENGTH, `${subpaths.length} subpaths`);
      for (const p of paths) {
        const units = subpathUnits(p);
        const x0 = Math.min(...units.map((u) => u.x0)), x1 = Math.max(...units.map((u) => u.x1));
        elements++;
        // A glyph is at most ~60 px wide (a rotated W); an element mixing fragments of several spans more.
        if (x1 - x0 < 60) narrow++;
      }
    }
    // ~1.0% measured over 300 captchas (plain svg-captcha, at its 45 px glyph width: ~71%).
    assert.ok(narrow / elements < 0.05, `${narrow} of ${elements} elements look like a single glyph`);
  });

  it("draws the same text differently every time", () => {
    const text = captchaText();
    const a = renderCaptcha(text), b = renderCaptcha(text);
    assert.notEqual(a, b);
    const letters = (svg: string) => pathElements(svg).map((p) => p.d.replace(/[^A-Za-z]/g, "")).sort().join("|");
    assert.notEqual(letters(a), letters(b), "command-letter sequences differ too");
  });

  it(`stays under ${MAX_BYTES} bytes`, () => {
    let max = 0;
    for (let i = 0; i < 300; i++) max = Math.max(max, Buffer.byteLength(renderCaptcha(captchaText())));
    assert.ok(max <= MAX_BYTES, `largest was ${max} bytes`);
  });

  it("defeats a structure attacker that reads the original svg-captcha output", () => {
    const attack = (render: (t: string) => string) => {
      const attacker = new StructureAttacker();
      for (let i = 0; i < 300; i++) {
        const t = captchaText();
        attacker.train(render(t), t);
      }
      let best = 0;
      const solved = attacker.variants.map(() => 0);
      for (let i = 0; i < 100; i++) {
        const t = captchaText();
        attacker.read(render(t)).forEach((guess, v) => {
          if (guess === t) solved[v] = (solved[v] as number) + 1;
        });
      }
      for (const s of solved) best = Math.max(best, s);
      return best;
    };
    // The check bites: the same mini attacker reads plain svg-captcha almost perfectly...
    const baseline = attack(renderBaselineCaptcha);
    assert.ok(baseline >= 90, `baseline read ${baseline}/100`);
    // ...and gets (next to) nothing from the hardened renderer.
    const hardened = attack(renderCaptcha);
    assert.ok(hardened < 5, `hardened read ${hardened}/100`);
  });
});
