import svgCaptcha from "svg-captcha";
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH } from "../../lib/captcha/render";

type SvgCaptchaDraw = (text: string, options: Record<string, unknown>) => string;

/**
 * The renderer as it was before hardening: plain svg-captcha, one <path> per glyph. Kept only
 * so the attackers and the bench can show what they do against the original output.
 */
export function renderBaselineCaptcha(text: string): string {
  return (svgCaptcha as unknown as SvgCaptchaDraw)(text, {
    width: CAPTCHA_WIDTH,
    height: CAPTCHA_HEIGHT,
    fontSize: 56,
    noise: 2,
    color: true,
    background: "#f4f6fb",
  });
}
