import { issueCaptcha } from "../captcha/captcha";
import type { RequestContext } from "./context";

/** GET /api/captcha: a new pending captcha in the session, drawn as SVG. */
export async function getCaptcha({ session, services }: RequestContext): Promise<Response> {
  const { config, captchas } = services;
  const { svg, answer } = await issueCaptcha(session, captchas, { ttlMs: config.captchaTtlMs });
  const headers: Record<string, string> = { "content-type": "image/svg+xml; charset=utf-8" };
  if (config.captchaTestMode) headers["x-captcha-answer"] = answer;
  return new Response(svg, { status: 200, headers });
}
