import { issueChallenge, POW_LEVELS, type PowLevel, type PowSettings } from "../pow/pow";
import { client, failure, limited, type RequestContext } from "./context";

/**
 * GET /api/challenge[?level=accessible]: a proof-of-work challenge in ALTCHA's format, HMAC-signed,
 * expiring, and recorded in the ledger for single use. Touches no session: the proof stands on
 * its own, so fetching one sets no cookie.
 */
export async function getChallenge(ctx: RequestContext, settings: PowSettings): Promise<Response> {
  const level = new URL(ctx.req.url).searchParams.get("level") ?? "normal";
  if (!(POW_LEVELS as readonly string[]).includes(level)) return failure(ctx, "invalid_input", { level: "invalid_format" });
  // Counted apart from the captcha images, at the same limit: a sign-up page asks for one of each.
  const refused = await limited(ctx, "captcha", `pow:${client(ctx)}`);
  if (refused) return refused;
  const challenge = await issueChallenge(ctx.services.captchas, {
    hmacKey: settings.hmacKeys[0]!,
    maxNumber: settings.maxNumber[level as PowLevel],
    ttlMs: settings.ttlMs,
    level: level as PowLevel,
  });
  return Response.json(challenge, { status: 200, headers: { "cache-control": "no-store" } });
}
