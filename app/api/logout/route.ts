import { logout } from "@/lib/api/logout";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const POST = sessionRoute(logout);
