import { captchaKeys, issueCaptcha } from "../captcha/captcha";
import { captchaPool } from "../captcha/pool";
import { client, failure, limited, type RequestContext } from "./context";

/** GET /api/captcha: a new pending captcha in the session, drawn as SVG (ahead of time when the pool has one). */
export async function getCaptcha(ctx: RequestContext): Promise<Response> {
  // Issuing replaces the session's pending captcha, so another site may not make a visitor's
  // browser ask for one (a link, an image, a form with SameSite=Lax carrying the cookie): the
  // image on this site's own page would then fail as replaced. Browsers say so in Sec-Fetch-Site.
  if (ctx.req.headers.get("sec-fetch-site") === "cross-site") return failure(ctx, "cross_origin");
  const refused = await limited(ctx, "captcha", client(ctx));
  if (refused) return refused;
  const { session, services } = ctx;
  const { config, captchas } = services;
  const { svg, answer } = await issueCaptcha(session, captchas, { ttlMs: config.captchaTtlMs, keys: captchaKeys(config.secrets), draw: () => captchaPool(config.captchaPoolSize).take() });
  const headers: Record<string, string> = { "content-type": "image/svg+xml; charset=utf-8" };
  if (config.captchaTestMode) headers["x-captcha-answer"] = answer;
  return new Response(svg, { status: 200, headers });
}
