import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Resvg } from "@resvg/resvg-js";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH, renderCaptcha } from "./render";
import { renderBaselineCaptcha } from "./strength/baseline";
import { StructureAttacker } from "./strength/structure";
import { pathElements, subpathUnits } from "./strength/svgpath";
import { CAPTCHA_LENGTH, captchaText } from "./text";

const MAX_BYTES = 25_000;

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
        // A glyph is at most ~45 px wide; an element mixing fragments of several spans more.
        if (x1 - x0 < 45) narrow++;
      }
    }
    // ~2.3% measured over 5,000 captchas (plain svg-captcha: ~71%).
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
