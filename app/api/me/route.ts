import { me } from "@/lib/api/me";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const GET = sessionRoute(me);
