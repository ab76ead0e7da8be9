import { healthRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const GET = healthRoute;
