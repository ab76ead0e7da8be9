import { login } from "@/lib/api/login";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const POST = sessionRoute(login);
