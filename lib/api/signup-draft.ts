import { isSameOrigin, readBody } from "../http/request";
import { client, failure, keepDraft, limited, seeOther, type RequestContext } from "./context";
import { SIGNUP_DRAFT_FIELDS } from "./register";

/**
 * POST /api/signup/draft: the sign-up page's "New captcha" without JavaScript. The form posts
 * here so what was typed survives the reload that brings a new captcha; it lands back on
 * /signup with nothing of it in the URL.
 */
export async function saveSignupDraft(ctx: RequestContext): Promise<Response> {
  const { req, services } = ctx;
  if (!isSameOrigin(req, services.config.proxyHops)) return failure(ctx, "cross_origin");
  const refused = await limited(ctx, "captcha", client(ctx));
  if (refused) return refused;
  const parsed = await readBody(req);
  if (!parsed.ok) return failure(ctx, parsed.code, parsed.fields);
  await keepDraft(ctx, "signup", parsed.body, SIGNUP_DRAFT_FIELDS);
  return seeOther("/signup?captcha=new");
}
