import svgCaptcha from "svg-captcha";

export const CAPTCHA_WIDTH = 180;
export const CAPTCHA_HEIGHT = 60;

/** Draws the given text as an SVG image. The text itself always comes from captchaText(). */
export function renderCaptcha(text: string): string {
  return svgCaptcha(text, {
    width: CAPTCHA_WIDTH,
    height: CAPTCHA_HEIGHT,
    fontSize: 56,
    noise: 2,
    color: true,
    background: "#f4f6fb",
  });
}
