import { register } from "@/lib/api/register";
import { sessionRoute } from "@/lib/session/next";

export const dynamic = "force-dynamic";
export const POST = sessionRoute(register);
