import { password } from "@/lib/api/password";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const POST = sessionRoute(password);
