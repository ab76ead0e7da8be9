import { getCaptcha } from "@/lib/api/captcha";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const GET = sessionRoute(getCaptcha);
