import { getChallenge } from "@/lib/api/challenge";
import { endpoint, headWithoutIssuing } from "@/lib/http/route";
import { powSettings } from "@/lib/pow/pow";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({
  GET: sessionRoute((ctx) => getChallenge(ctx, powSettings(ctx.services.config))),
  HEAD: headWithoutIssuing("application/json"),
});
