import { getCaptcha } from "@/lib/api/captcha";
import { endpoint, headWithoutIssuing } from "@/lib/http/route";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ GET: sessionRoute(getCaptcha), HEAD: headWithoutIssuing("image/svg+xml; charset=utf-8") });
