import { register } from "@/lib/api/register";
import { endpoint } from "@/lib/http/route";
import { sessionRoute } from "../../../lib/next/session";

export const dynamic = "force-dynamic";
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = endpoint({ POST: sessionRoute(register, { formPage: "/signup" }) });
