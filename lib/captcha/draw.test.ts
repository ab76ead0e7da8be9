import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { drawCaptcha } from "./draw";
import { CAPTCHA_ALPHABET, CAPTCHA_LENGTH } from "./text";

describe("drawing a captcha", () => {
  it("draws an answer from the alphabet and a picture that does not spell it", () => {
    const { answer, svg } = drawCaptcha();
    assert.match(answer, new RegExp(`^[${CAPTCHA_ALPHABET}]{${CAPTCHA_LENGTH}}$`));
    assert.match(svg, /^<svg /);
    assert.ok(!svg.includes(answer));
  });
});
